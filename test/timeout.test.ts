/**
 * withTimeout and fixedTimeout, which bound every Redis call and every send: a hanging promise
 * becomes its timeout's error on time, whatever else is pending, and a settled one holds
 * nothing open.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fixedTimeout, withTimeout } from '../lib/timeout';

const never = () => new Promise<never>(() => undefined);
const elapsed = (since: number) => performance.now() - since;

/** Both, as `(promise, ms, onTimeout)`: fixedTimeout with one bound per length. */
const kinds = {
  withTimeout,
  fixedTimeout: (() => {
    const bounds = new Map<number, ReturnType<typeof fixedTimeout>>();
    return <T>(promise: Promise<T>, ms: number, onTimeout: () => Error) => {
      if (!bounds.has(ms)) bounds.set(ms, fixedTimeout(ms));
      return (bounds.get(ms) as ReturnType<typeof fixedTimeout>)(promise, onTimeout);
    };
  })(),
};

for (const [name, bound] of Object.entries(kinds)) {
  describe(name, () => {
    it("answers with the promise's own outcome when it settles first, and never makes the timeout's error", async () => {
      let made = 0;
      const onTimeout = () => {
        made += 1;
        return new Error('late');
      };
      assert.equal(await bound(Promise.resolve('sent'), 50, onTimeout), 'sent');
      await assert.rejects(bound(Promise.reject(new Error('refused')), 50, onTimeout), /refused/);
      await new Promise((r) => setTimeout(r, 80));
      assert.equal(made, 0);
    });

    it("rejects a promise that hangs with the timeout's error, once its time has passed", async () => {
      const since = performance.now();
      await assert.rejects(
        bound(never(), 40, () => new Error('no answer')),
        /no answer/,
      );
      assert.ok(elapsed(since) >= 39, `rejected after ${elapsed(since)} ms`);
    });

    it('times each out on its own, whatever settles or hangs around it', async () => {
      const since = performance.now();
      const long = bound(never(), 2_000, () => new Error('long'));
      long.catch(() => undefined);
      await assert.rejects(
        bound(never(), 30, () => new Error('short')),
        /short/,
      );
      assert.ok(elapsed(since) < 1_500, `the short one waited behind the long one: ${elapsed(since)} ms`);
      // A hung one first, thousands settled behind it, then another hung one: each on its time.
      const first = bound(never(), 60, () => new Error('first'));
      await Promise.all(Array.from({ length: 2_000 }, (_, i) => bound(Promise.resolve(i), 60, () => new Error('settled'))));
      const second = bound(never(), 60, () => new Error('second'));
      await assert.rejects(first, /first/);
      await assert.rejects(second, /second/);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          bound(i % 3 === 0 ? never() : Promise.resolve(i), 20 + (i % 7) * 5, () => new Error(`timeout ${i}`)),
        ),
      );
      outcomes.forEach((o, i) => {
        if (i % 3 === 0) assert.deepEqual([o.status, o.status === 'rejected' && (o.reason as Error).message], ['rejected', `timeout ${i}`]);
        else assert.deepEqual(o, { status: 'fulfilled', value: i });
      });
    });

    it('passes on an error thrown while making the timeout error, as the rejection', async () => {
      await assert.rejects(
        bound(never(), 10, () => {
          throw new Error('could not describe the timeout');
        }),
        /could not describe the timeout/,
      );
    });
  });
}

describe('fixedTimeout', () => {
  it("follows the clock that drives setTimeout (a test's fake timers that leave performance.now alone)", async () => {
    const realSet = global.setTimeout;
    const realClear = global.clearTimeout;
    const queued: Array<{ at: number; fn: () => void; cleared: boolean }> = [];
    let fakeNow = 0;
    const fakeTimer = (fn: () => void, ms: number) => {
      const t = { at: fakeNow + ms, fn, cleared: false, ref: () => t, unref: () => t };
      queued.push(t);
      return t;
    };
    global.setTimeout = fakeTimer as unknown as typeof setTimeout;
    global.clearTimeout = ((t: { cleared: boolean }) => void (t.cleared = true)) as unknown as typeof clearTimeout;
    const tick = (ms: number) => {
      fakeNow += ms;
      for (let t = queued.find((q) => !q.cleared && q.at <= fakeNow); t; t = queued.find((q) => !q.cleared && q.at <= fakeNow)) {
        t.cleared = true;
        t.fn();
      }
    };
    let outcome = 'pending';
    try {
      const bounded = fixedTimeout(15_000);
      bounded(never(), () => new Error('timed out')).catch((e: Error) => (outcome = e.message));
      tick(14_000);
      await Promise.resolve();
      assert.equal(outcome, 'pending');
      tick(2_000);
    } finally {
      global.setTimeout = realSet;
      global.clearTimeout = realClear;
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(outcome, 'timed out');
  });
});

describe('fixedTimeout with what is not a promise', () => {
  it("takes a plain value or a thenable (a user-supplied client's answer) as await would", async () => {
    const bounded = fixedTimeout(1_000);
    assert.equal(await bounded(42 as unknown as Promise<number>, () => new Error('late')), 42);
    const thenable = { then: (resolve: (v: string) => void) => resolve('sent') } as unknown as Promise<string>;
    assert.equal(await bounded(thenable, () => new Error('late')), 'sent');
  });
});

describe('fixedTimeout after fake timers', () => {
  it('times sends out again once fake timers that never ran its timer are gone', async () => {
    const bounded = fixedTimeout(100);
    const realSet = global.setTimeout;
    // A fake setTimeout that never runs anything (a test's clock, uninstalled before it ticked).
    global.setTimeout = (() => ({ ref: () => undefined, unref: () => undefined })) as unknown as typeof setTimeout;
    try {
      await bounded(Promise.resolve('sent'), () => new Error('late'));
    } finally {
      global.setTimeout = realSet;
    }
    await new Promise((r) => setTimeout(r, 250));
    await assert.rejects(
      bounded(never(), () => new Error('timed out')),
      /timed out/,
    );
  });
});

describe('timeouts in a process of their own', () => {
  const timeoutModule = path.resolve(__dirname, '../lib/timeout.js');
  const run = (script: string) => {
    const since = performance.now();
    const out = execFileSync(process.execPath, ['-e', `const t = require(${JSON.stringify(timeoutModule)}); ${script}`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { out, ms: elapsed(since) };
  };
  const calls = {
    withTimeout: (promise: string, ms: number, message: string) => `t.withTimeout(${promise}, ${ms}, () => new Error('${message}'))`,
    fixedTimeout: (promise: string, ms: number, message: string) => `t.fixedTimeout(${ms})(${promise}, () => new Error('${message}'))`,
  };

  for (const [name, call] of Object.entries(calls)) {
    it(`${name}: lets the process end once its bounded promises have settled (a 60 s bound does not hold it)`, () => {
      const { out, ms } = run(`${call("Promise.resolve('sent')", 60000, 'late')}.then((v) => console.log(v));`);
      assert.equal(out.trim(), 'sent');
      assert.ok(ms < 20_000, `the process lived ${ms} ms`);
    });

    it(`${name}: keeps the process alive while a bounded promise is pending, so that its timeout comes`, () => {
      const { out } = run(`${call('new Promise(() => {})', 200, 'timed out')}.catch((e) => console.log(e.message));`);
      assert.equal(out.trim(), 'timed out');
    });
  }
});
