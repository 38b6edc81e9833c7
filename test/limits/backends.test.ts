/**
 * What every limits backend (memoryLimits, and redisLimits on each Redis client) must do with a
 * give-back that arrives late: it undoes the count of its own request's window, never a count of
 * a window begun after it.
 */
import assert from 'node:assert/strict';
import type Redis from 'ioredis';
import { memoryLimits, redisLimits } from '../../lib';
import type { Bucket, LimitBackend } from '../../lib/limits/types';
import { deleteKeys, ioredis, nodeRedis, requireRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis';

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

interface Subject {
  backend(): Promise<LimitBackend>;
  done(): Promise<void>;
}

function onRedis(connect: () => Promise<NodeRedisClient | Redis>, close: (c: NodeRedisClient | Redis) => void): Subject {
  let client: NodeRedisClient | Redis | undefined;
  let prefix = '';
  return {
    async backend() {
      client = await connect();
      prefix = uniquePrefix();
      return redisLimits({ client, prefix });
    },
    async done() {
      if (!client) return;
      await deleteKeys(client, prefix);
      close(client);
    },
  };
}

const SUBJECTS: Record<string, Subject> = {
  memoryLimits: { backend: async () => memoryLimits(), done: async () => undefined },
  'redisLimits (node-redis)': onRedis(nodeRedis, (c) => void (c as NodeRedisClient).destroy()),
  'redisLimits (ioredis)': onRedis(ioredis, (c) => (c as Redis).disconnect()),
};

for (const [name, subject] of Object.entries(SUBJECTS)) {
  describe(`limits backend: ${name}`, function () {
    before(async function () {
      if (name.startsWith('redis')) await requireRedis(this);
    });
    afterEach(() => subject.done());

    it("gives back a late count to its own window only, never to a window begun after its request's clock reading", async () => {
      const backend = await subject.backend();
      const deadline = () => Date.now() + 2000;
      assert.deepEqual(await backend.take([BUCKET], undefined, T0, deadline()), {});
      // The window rolls over; a new request counts in the new one.
      assert.deepEqual(await backend.take([BUCKET], undefined, T0 + WINDOW + 1, deadline()), {});
      // The first request's give-back arrives now (a failed send, an unawaited follow-up).
      await backend.give([BUCKET], undefined, T0, deadline());
      assert.deepEqual(await backend.take([BUCKET], undefined, T0 + WINDOW + 2, deadline()), {});
      const third = await backend.take([BUCKET], undefined, T0 + WINDOW + 3, deadline());
      assert.equal(third.refused?.bucket, 'startsPerIpPerHour');
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
