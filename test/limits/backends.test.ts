/**
 * What every limits backend (memoryLimits, and redisLimits on each Redis client) must do with a
 * give-back: undo its request's count, whatever order the requests reached the backend in, so
 * that a failed send never leaves a user in a cooldown.
 */
import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { memoryLimits, redisLimits } from '../../lib';
import type { Bucket, FraudCheck, LimitBackend } from '../../lib/limits/types';
import { ioredis, nodeRedis, redisOnPrefix, requireRedis, type NodeRedisClient } from '../helpers/redis';

const T0 = 1_700_000_000_000;
const WINDOW = 60_000;
const BUCKET: Bucket = Object.freeze({
  name: 'startsPerIpPerHour',
  group: 'address',
  key: 'test-address',
  limit: 2,
  windowMs: WINDOW,
  refusal: 'startsPerAddress',
});

/** A fraud-guard prefix with small settings: 3 sends judged, half must be used, 1 s windows, 10 s pauses. */
const FRAUD: FraudCheck = Object.freeze({
  key: 'test-prefix',
  prefix: '141555',
  settings: { prefixDigits: 6, minSends: 3, minConversion: 0.5, windowMs: 1000, blockMs: 10_000, allowPrefixes: [] },
  counts: true,
});

interface Subject {
  backend(): Promise<LimitBackend>;
  /** How many entries (memory) or keys (Redis) the last backend holds. */
  held(): Promise<number>;
  done(): Promise<void>;
}

function onRedis(connect: () => Promise<NodeRedisClient | Redis>): Subject {
  const redis = redisOnPrefix(connect);
  let opened: { client: NodeRedisClient | Redis; prefix: string } | undefined;
  return {
    async backend() {
      opened = await redis.open();
      return redisLimits(opened);
    },
    async held() {
      const { client, prefix } = opened as NonNullable<typeof opened>;
      return (await client.keys(`${prefix}*`)).length;
    },
    done: redis.done,
  };
}

function inMemory(): Subject {
  let last: ReturnType<typeof memoryLimits> | undefined;
  return {
    backend: async () => (last = memoryLimits()),
    held: async () => (last as ReturnType<typeof memoryLimits>).size(),
    done: async () => undefined,
  };
}

const SUBJECTS: Record<string, Subject> = {
  memoryLimits: inMemory(),
  'redisLimits (node-redis)': onRedis(nodeRedis),
  'redisLimits (ioredis)': onRedis(ioredis),
};

for (const [name, subject] of Object.entries(SUBJECTS)) {
  describe(`limits backend: ${name}`, function () {
    before(async function () {
      if (name.startsWith('redis')) await requireRedis(this);
    });
    afterEach(() => subject.done());

    it("undoes a failed send's count even when its take reached the backend after a later request's (no lockout)", async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      const cooldown: Bucket = { ...BUCKET, name: 'resendCooldownSeconds', limit: 1, windowMs: 30_000, refusal: 'cooldown' };
      // Request B read the clock later but reached the backend first; its send failed and was refunded.
      assert.deepEqual(await backend.take([cooldown], undefined, T0 + 1000, deadline()), {});
      await backend.give([cooldown], undefined, T0 + 1000, deadline());
      // Request A (an earlier clock reading, held up by a slow hook) counts in B's window, fails, is refunded.
      assert.deepEqual(await backend.take([cooldown], undefined, T0, deadline()), {});
      await backend.give([cooldown], undefined, T0, deadline());
      // Two failed sends leave no cooldown: the user can ask again at once.
      assert.deepEqual(await backend.take([cooldown], undefined, T0 + 2000, deadline()), {});
    });

    it('gives a late give-back to the window its take counted in, never to one a newer request opened after it', async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      const cooldown: Bucket = { ...BUCKET, name: 'resendCooldownSeconds', limit: 1, windowMs: 30_000, refusal: 'cooldown' };
      // A's take reached the backend after B's (B read the clock later), answered at T0 + 1500: B's window is A's.
      assert.deepEqual(await backend.take([cooldown], undefined, T0 + 1000, deadline()), {});
      await backend.give([cooldown], undefined, T0 + 1000, deadline(), T0 + 1000);
      assert.deepEqual(await backend.take([cooldown], undefined, T0, deadline()), {});
      await backend.give([cooldown], undefined, T0, deadline(), T0 + 1500);
      assert.deepEqual(await backend.take([cooldown], undefined, T0 + 2000, deadline()), {}, 'A gave its count back');
      // C counted at T0 + 2000 and its send hangs; the window runs out and D opens a new one.
      assert.deepEqual(await backend.take([cooldown], undefined, T0 + 40_000, deadline()), {});
      // C is given up on later, on its own clock: D's window opened after C's take, and keeps D's count.
      await backend.give([cooldown], undefined, T0 + 2000, deadline(), T0 + 2000);
      assert.equal((await backend.take([cooldown], undefined, T0 + 41_000, deadline())).refused?.bucket, 'resendCooldownSeconds');
    });

    it('keeps a fraud-guard pause when a failed send leaves the prefix still looking pumped, and lifts it once it does not', async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      const fraud = FRAUD;
      // A converting first window, then sends nobody uses until the prefix is paused.
      for (let i = 0; i < 10; i += 1) {
        assert.deepEqual(await backend.take([], fraud, T0 + i, deadline()), {});
        await backend.succeeded([], fraud, T0 + i, deadline());
      }
      let pausedAt = 0;
      for (let i = 0; i < 40 && pausedAt === 0; i += 1) {
        if ((await backend.take([], fraud, T0 + 1000 + i, deadline())).paused) pausedAt = T0 + 1000 + i;
      }
      assert.ok(pausedAt > 0, 'the prefix was paused');
      // One of those sends fails: what went out still looks pumped, so the pause and its end stay.
      await backend.give([], fraud, T0 + 1500, deadline());
      assert.deepEqual((await backend.take([], fraud, T0 + 1501, deadline())).refused, {
        bucket: 'fraudGuard',
        refusal: 'fraudPause',
        retryAfterMs: pausedAt + 10_000 - (T0 + 1501),
      });
      // Enough of them fail that what went out no longer looks pumped: lifted.
      for (let i = 0; i < 6; i += 1) await backend.give([], fraud, T0 + 1500, deadline());
      assert.deepEqual(await backend.take([], fraud, T0 + 1502, deadline()), {});
    });

    it('lifts a pause judged on a send that fails later, even after a paused start in the next window', async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      const fraud = FRAUD;
      for (let i = 0; i < 3; i += 1) assert.deepEqual(await backend.take([], fraud, T0 + i, deadline()), {});
      assert.ok((await backend.take([], fraud, T0 + 999, deadline())).paused);
      // Refused in the next window: the record is not moved on by a refusal, on any backend.
      assert.equal((await backend.take([], fraud, T0 + 1100, deadline())).refused?.bucket, 'fraudGuard');
      // The send taken at T0 + 2 was still in flight, and fails: two sent, under minSends.
      await backend.give([], fraud, T0 + 2, deadline());
      assert.deepEqual(await backend.take([], fraud, T0 + 1101, deadline()), {});
    });

    it('keeps nothing for a start that sends nothing (a decoy) to a prefix it has no record of', async () => {
      const backend = await subject.backend();
      const decoy = { ...FRAUD, counts: false };
      for (let i = 0; i < 5; i++) assert.deepEqual(await backend.take([], { ...decoy, key: `fresh-${i}` }, T0 + i, Date.now() + 2000), {});
      assert.equal(await subject.held(), 0);
      // A prefix with a record still has it judged: three unused sends pause it, for a decoy's start too.
      for (let i = 0; i < 3; i++) await backend.take([], FRAUD, T0 + 10 + i, Date.now() + 2000);
      assert.equal((await backend.take([], decoy, T0 + 20, Date.now() + 2000)).refused?.bucket, 'fraudGuard');
    });

    it('gives back a count within its own window', async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      await backend.take([BUCKET], undefined, T0, deadline());
      await backend.take([BUCKET], undefined, T0 + 1, deadline());
      assert.equal((await backend.take([BUCKET], undefined, T0 + 2, deadline())).refused?.bucket, 'startsPerIpPerHour');
      await backend.give([BUCKET], undefined, T0 + 1, deadline());
      assert.deepEqual(await backend.take([BUCKET], undefined, T0 + 3, deadline()), {});
    });
  });
}
