/**
 * withTimeout, which bounds every send and every Redis call: a hanging promise becomes its
 * timeout's error on time, whatever else is pending, and a settled one holds nothing open.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { withTimeout } from '../lib/timeout';

const never = () => new Promise<never>(() => undefined);
const elapsed = (since: number) => performance.now() - since;

describe('withTimeout', () => {
  it("answers with the promise's own outcome when it settles first, and never makes the timeout's error", async () => {
    let made = 0;
    const onTimeout = () => {
      made += 1;
      return new Error('late');
    };
    assert.equal(await withTimeout(Promise.resolve('sent'), 50, onTimeout), 'sent');
    await assert.rejects(withTimeout(Promise.reject(new Error('refused')), 50, onTimeout), /refused/);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(made, 0);
  });

  it("rejects a promise that hangs with the timeout's error, once its time has passed", async () => {
    const since = performance.now();
    await assert.rejects(
      withTimeout(never(), 40, () => new Error('no answer')),
      /no answer/,
    );
    assert.ok(elapsed(since) >= 39, `rejected after ${elapsed(since)} ms`);
  });

  it('times each out on its own: a short deadline after a long one, and many at once, each at its time', async () => {
    const since = performance.now();
    const long = withTimeout(never(), 2_000, () => new Error('long'));
    long.catch(() => undefined);
    await assert.rejects(
      withTimeout(never(), 30, () => new Error('short')),
      /short/,
    );
    assert.ok(elapsed(since) < 1_500, `the short one waited behind the long one: ${elapsed(since)} ms`);
    // Some settle, some hang, in any order: only the hanging ones time out.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        withTimeout(i % 3 === 0 ? never() : Promise.resolve(i), 20 + (i % 7) * 5, () => new Error(`timeout ${i}`)),
      ),
    );
    outcomes.forEach((o, i) => {
      if (i % 3 === 0) assert.deepEqual([o.status, o.status === 'rejected' && (o.reason as Error).message], ['rejected', `timeout ${i}`]);
      else assert.deepEqual(o, { status: 'fulfilled', value: i });
    });
  });

  it('passes on an error thrown while making the timeout error, as the rejection', async () => {
    await assert.rejects(
      withTimeout(never(), 10, () => {
        throw new Error('could not describe the timeout');
      }),
      /could not describe the timeout/,
    );
  });

  describe('in a process of its own', () => {
    const timeoutModule = path.resolve(__dirname, '../lib/timeout.js');
    const run = (script: string) => {
      const since = performance.now();
      const out = execFileSync(process.execPath, ['-e', script.replace('MODULE', JSON.stringify(timeoutModule))], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      return { out, ms: elapsed(since) };
    };

    it('lets the process end once its bounded promises have settled (a 60 s bound does not hold it)', () => {
      const { out, ms } = run(
        `require(MODULE).withTimeout(Promise.resolve('sent'), 60000, () => new Error('late')).then((v) => console.log(v));`,
      );
      assert.equal(out.trim(), 'sent');
      assert.ok(ms < 20_000, `the process lived ${ms} ms`);
    });

    it('keeps the process alive while a bounded promise is pending, so that its timeout comes', () => {
      const { out } = run(
        `require(MODULE).withTimeout(new Promise(() => {}), 200, () => new Error('timed out')).catch((e) => console.log(e.message));`,
      );
      assert.equal(out.trim(), 'timed out');
    });
  });
});
