/**
 * The SMS pumping guard with the memory backend: a prefix whose codes are sent but never
 * used is paused, a prefix whose users log in is not, a pause ends on the injected clock,
 * and the events say what happened without a full number.
 */
import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import request from 'supertest';
import { PasswordlessError, memoryStore, redisLimits, redisStore, type PasswordlessOptions } from '../../lib';
import { outcomeUnknown } from '../../lib/errors';
import { lastCode, makeApp, startBody, verifyBody } from '../helpers/app';
import { recorder } from '../helpers/log';
import { heldFailingSender } from '../helpers/limits';
import { deleteKeys, ioredis, nodeRedis, requireRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis';

const GUARD = { prefixDigits: 6, minSends: 5, minConversion: 0.5, windowSeconds: 3600, blockSeconds: 600 };

/** Numbers of one prefix (+1415555…), distinct so no per-number limit trips. */
const pumped = (i: number) => `+1415555${String(1000 + i)}`;
const other = (i: number) => `+1212555${String(1000 + i)}`;

function guarded(extra: Parameters<typeof makeApp>[0] = {}) {
  const r = recorder();
  const t = makeApp({ logger: r.logger, rateLimits: { startsPerIpPerHour: 0 }, fraudGuard: GUARD, ...extra });
  return { ...t, ...r };
}

const start = (t: ReturnType<typeof guarded>, phone: string) =>
  request(t.app)
    .post('/passwordless/start')
    .send(startBody({ phone_number: phone }));

describe('fraud guard (memory backend)', () => {
  it('pauses a prefix after minSends codes nobody used, sending nothing more to it', async () => {
    const t = guarded();
    for (let i = 0; i < GUARD.minSends; i += 1) await start(t, pumped(i)).expect(200);
    const refused = await start(t, pumped(99));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'too_many_requests');
    assert.equal(refused.headers['retry-after'], String(GUARD.blockSeconds));
    assert.equal(t.outbox.messages.length, GUARD.minSends);
    // Other prefixes are not affected.
    await start(t, other(1)).expect(200);
  });

  it("does not count a test number's starts as sends: an uptime probe cannot pause its prefix for real users", async () => {
    const probe = pumped(500);
    const t = guarded({
      testNumbers: { [probe]: '246810' },
      rateLimits: { startsPerIpPerHour: 0, resendCooldownSeconds: 0, sendsPerPhonePerHour: 0, sendsPerPhonePerDay: 0 },
    });
    for (let i = 0; i < GUARD.minSends * 2; i += 1) await start(t, probe).expect(200);
    await start(t, pumped(1)).expect(200);
    assert.equal(t.outbox.messages.length, 1, 'the real number got its SMS');
  });

  it("does not count a test number's logins as redemptions: an uptime probe cannot keep a pumped prefix unpaused", async () => {
    const probe = pumped(500);
    const t = guarded({
      testNumbers: { [probe]: '246810' },
      rateLimits: { startsPerIpPerHour: 0, resendCooldownSeconds: 0, sendsPerPhonePerHour: 0, sendsPerPhonePerDay: 0 },
    });
    for (let i = 0; i < 3; i += 1) {
      await start(t, probe).expect(200);
      await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody('246810', { phone_number: probe }))
        .expect(200);
    }
    for (let i = 0; i < GUARD.minSends * 3; i += 1) await start(t, pumped(i));
    assert.equal(t.outbox.messages.length, GUARD.minSends, 'sent to the pumped prefix until minSends, as without the probe');
  });

  it('logs sms_pumping_suspected once per pause with the prefix, sends and redemptions, and no full number', async () => {
    const t = guarded();
    for (let i = 0; i < GUARD.minSends + 3; i += 1) await start(t, pumped(i));
    const suspected = t.events.filter((e) => e.event === 'sms_pumping_suspected');
    assert.equal(suspected.length, 1);
    assert.deepEqual(
      { prefix: suspected[0]?.prefix, sends: suspected[0]?.sends, redemptions: suspected[0]?.redemptions },
      { prefix: '141555', sends: GUARD.minSends, redemptions: 0 },
    );
    const blocked = t.events.filter((e) => e.event === 'sms_pumping_blocked');
    assert.equal(blocked.length, 1, 'refusals are rate-limited in the log');
    assert.ok(!JSON.stringify(t.events.filter((e) => String(e.event).startsWith('sms_pumping'))).includes('14155551'), 'no full number');
  });

  it('logs no more of a number than all but its last four digits, however long prefixDigits is', async () => {
    // One number is its own 12-digit prefix: its own limits are off so that only the guard counts.
    const rateLimits = { startsPerIpPerHour: 0, resendCooldownSeconds: 0, sendsPerPhonePerHour: 0, sendsPerPhonePerDay: 0 };
    const t = guarded({ rateLimits, fraudGuard: { ...GUARD, prefixDigits: 12 } });
    for (let i = 0; i < GUARD.minSends + 2; i += 1) await start(t, '+14155551000');
    const prefixes = t.events.filter((e) => String(e.event).startsWith('sms_pumping')).map((e) => e.prefix);
    assert.deepEqual(prefixes, ['1415555', '1415555']);
  });

  for (const [label, rateLimits] of [
    ['the default limits', { startsPerIpPerHour: 0 }],
    ['the failed-verify limits off', { startsPerIpPerHour: 0, failedVerifiesPerIpPerHour: 0, failedVerifiesPerPhonePerHour: 0 }],
  ] as const) {
    it(`never pauses a prefix whose users log in (${label})`, async () => {
      const t = guarded({ rateLimits });
      for (let i = 0; i < GUARD.minSends * 4; i += 1) {
        await start(t, pumped(i)).expect(200);
        if (i % 2 === 0)
          await request(t.app)
            .post('/passwordless/verify')
            .send(verifyBody(lastCode(t.outbox), { phone_number: pumped(i) }))
            .expect(200);
      }
      assert.equal(t.events.filter((e) => e.event === 'sms_pumping_suspected').length, 0);
    });
  }

  it('ends a pause on the injected clock', async () => {
    const t = guarded();
    for (let i = 0; i < GUARD.minSends; i += 1) await start(t, pumped(i));
    await start(t, pumped(50)).expect(429);
    t.clock.advance(GUARD.blockSeconds * 1000);
    // The window still holds the unused sends, so the guard judges again: a real user's login clears it.
    const after = await start(t, pumped(51));
    assert.equal(after.status, 429, 'the same unconverted window pauses again');
    t.clock.advance(2 * 3_600_000);
    await start(t, pumped(52)).expect(200);
  });

  // Shorter and longer than prefixDigits (6), with and without the +.
  for (const allowed of ['+1415', '1415', '+1415555', '1415555']) {
    it(`exempts allowPrefixes ${allowed}`, async () => {
      const t = guarded({ fraudGuard: { ...GUARD, allowPrefixes: [allowed] } });
      for (let i = 0; i < GUARD.minSends * 2; i += 1) await start(t, pumped(i)).expect(200);
    });
  }

  it('is off with fraudGuard: false and with rateLimits: false', async () => {
    for (const options of [{ fraudGuard: false as const }, { rateLimits: false as const, fraudGuard: GUARD }]) {
      const t = makeApp({ logger: false, ...options });
      for (let i = 0; i < GUARD.minSends * 2; i += 1) await start(t as ReturnType<typeof guarded>, pumped(i)).expect(200);
    }
  });

  it('is on by default with 100 sends and a 10 % conversion', async () => {
    const t = makeApp({ logger: false, rateLimits: { startsPerIpPerHour: 0, sendsPerPrefixPerHour: 0 } });
    for (let i = 0; i < 100; i += 1) await start(t as ReturnType<typeof guarded>, pumped(i)).expect(200);
    await start(t as ReturnType<typeof guarded>, pumped(100)).expect(429);
  });

  it('refuses impossible settings at construction', () => {
    assert.throws(() => makeApp({ fraudGuard: { minConversion: 2 } }), /fraudGuard\.minConversion` must be a number from 0 to 1/);
    assert.throws(() => makeApp({ fraudGuard: { allowPrefixes: ['abc'] } }), /fraudGuard\.allowPrefixes/);
    assert.throws(() => makeApp({ fraudGuard: { minSend: 3 } as never }), /Did you mean `fraudGuard\.minSends`/);
  });
});

type Client = NodeRedisClient | Redis;
const BACKENDS: Record<string, (() => Promise<{ options: Partial<PasswordlessOptions>; done: () => Promise<void> }>) | undefined> = {
  memory: undefined,
  'redisStore (node-redis)': async () => {
    const client: Client = await nodeRedis();
    const prefix = uniquePrefix();
    return {
      options: { store: redisStore({ client, prefix }) },
      done: async () => (await deleteKeys(client, prefix), void client.destroy()),
    };
  },
  'redisLimits (ioredis)': async () => {
    const client: Client = await ioredis();
    const prefix = uniquePrefix();
    return {
      options: { store: memoryStore(), limitStore: redisLimits({ client, prefix }) },
      done: async () => (await deleteKeys(client, prefix), void client.disconnect()),
    };
  },
};

describe('fraud guard and sends that fail', () => {
  for (const [name, connect] of Object.entries(BACKENDS)) {
    describe(name, () => {
      let done: () => Promise<void> = async () => undefined;
      let options: Partial<PasswordlessOptions> = {};
      beforeEach(async function () {
        if (!connect) return;
        await requireRedis(this);
        ({ options, done } = await connect());
      });
      afterEach(() => done());

      it("does not judge a prefix on sends whose outcome is unknown (a provider's brownout), and counts those that went out once it knows", async () => {
        const outcomes: Array<(went: boolean) => void> = [];
        const slow = {
          name: 'slow',
          async send(): Promise<{ id?: string }> {
            const late = new Promise<boolean>((resolve) => outcomes.push(resolve));
            throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'The SMS provider did not answer.'), late);
          },
        };
        const t = guarded({ ...options, sender: slow });
        // Twice minSends sends that timed out: none of them pauses the prefix while nobody knows.
        const statuses: number[] = [];
        for (let i = 0; i < GUARD.minSends * 2; i += 1) statuses.push((await start(t, pumped(i))).status);
        assert.deepEqual(statuses, Array(GUARD.minSends * 2).fill(502));
        // They went out after all: counted, and the prefix, never used, is paused.
        for (const went of outcomes) went(true);
        await new Promise((r) => setTimeout(r, 20));
        assert.equal((await start(t, pumped(99))).status, 429);
        assert.equal(t.events.filter((e) => e.event === 'sms_pumping_suspected').length, 1);
      });

      it('lifts a pause judged on sends still in flight once they fail: no prefix is paused for SMS nobody paid for', async () => {
        const held = heldFailingSender();
        const t = guarded({ ...options, sender: held.sender });
        // An attacker's minSends starts to numbers the provider refuses, all in flight at once…
        const failing = Promise.all(Array.from({ length: GUARD.minSends }, (_, i) => start(t, pumped(i)).then((r) => r)));
        await held.heldAtLeast(GUARD.minSends);
        // …make the next start look like pumping: the prefix is paused.
        await start(t, pumped(50)).expect(429);
        assert.equal(t.events.filter((e) => e.event === 'sms_pumping_suspected').length, 1);
        held.fail();
        for (const res of await failing) assert.equal(res.body.error, 'sms_provider_error', JSON.stringify(res.body));
        // Not one SMS went out: a real user of the prefix gets a code at once.
        assert.equal(held.outbox.messages.length, 0);
        await start(t, '+14155550123').expect(200);
        assert.equal(held.outbox.messages.length, 1);
      });

      it('logs sms_pumping_suspected once a minute per prefix, however often sends in flight pause it', async () => {
        const held = heldFailingSender();
        const t = guarded({ ...options, sender: held.sender });
        const round = async (r: number) => {
          const failing = Promise.all(Array.from({ length: GUARD.minSends }, (_, i) => start(t, pumped(r * 10 + i)).then((res) => res)));
          await held.heldAtLeast((r + 1) * GUARD.minSends);
          await start(t, pumped(90 + r)).expect(429);
          held.fail();
          await failing;
        };
        const suspected = () => t.events.filter((e) => e.event === 'sms_pumping_suspected').length;
        for (let r = 0; r < 3; r += 1) await round(r);
        assert.equal(suspected(), 1);
        t.clock.advance(60_000);
        await round(3);
        assert.equal(suspected(), 2);
      });

      it('keeps the pause when the sends that went out still look pumped', async () => {
        const held = heldFailingSender();
        // A 5-digit prefix, 14155: numbers +1415556… get their SMS, +1415555… are held and fail.
        const t = guarded({ ...options, sender: held.sender, fraudGuard: { ...GUARD, prefixDigits: 5 } });
        const delivered = (i: number) => `+1415556${String(1000 + i)}`;
        for (let i = 0; i < GUARD.minSends - 1; i += 1) await start(t, delivered(i)).expect(200);
        // One more start is in flight when the prefix is judged, and fails after the pause…
        const failing = start(t, pumped(0)).then((r) => r);
        await held.heldAtLeast(1);
        await start(t, delivered(50)).expect(429);
        held.fail();
        assert.equal((await failing).body.error, 'sms_provider_error');
        // …which leaves minSends - 1 SMS sent and none used: below minSends, the pause is lifted.
        await start(t, delivered(51)).expect(200);
        // minSends SMS sent, none used: paused again, and it stays.
        await start(t, delivered(52)).expect(429);
        await start(t, delivered(53)).expect(429);
        assert.equal(held.outbox.messages.length, GUARD.minSends);
      });
    });
  }
});
