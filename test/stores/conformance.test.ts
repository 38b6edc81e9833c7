/**
 * One suite, every CodeStore: the same cases against memoryStore, sessionStore (with a
 * memory and a Redis ledger) and redisStore with node-redis and with ioredis.
 */
import assert from 'node:assert/strict';
import { memoryStore, redisStore, sessionStore, type CodeStore, type StoreContext } from '../../lib';
import { createKeyring } from '../../lib/core/crypto';
import {
  deleteKeys,
  ioredis,
  ioredis6,
  nodeRedis,
  nodeRedis4,
  nodeRedis6,
  requireRedis,
  uniquePrefix,
  type NodeRedisClient,
} from '../helpers/redis';
import type Redis from 'ioredis';

const SECRET = 'conformance-secret-0123456789abcdef';
const PHONE = '+14155550123';
const CLIENT_ID = 'app';
const TTL = 180_000;
const MAX = 3;
const T0 = 1_800_000_000_000;

/** How one store is driven. */
interface Fixture {
  store: CodeStore;
  context(now: number): StoreContext;
  /** Everything the store keeps under a key, as text, read from the backing service (undefined: not reachable). */
  raw?(key: string): Promise<string>;
  close(): Promise<void>;
}

function plainFixture(store: CodeStore, raw?: (key: string) => Promise<string>, close: () => Promise<void> = async () => {}): Fixture {
  return { store, context: (now) => ({ now, ttlMs: TTL, maxAttempts: MAX }), ...(raw ? { raw } : {}), close };
}

async function redisRaw(client: RedisLike, pattern: string): Promise<string> {
  const keys = 'scanIterator' in client ? await collect(client, pattern) : await client.keys(pattern);
  const values = await Promise.all(keys.map((k) => ('hGetAll' in client ? client.hGetAll(k) : client.hgetall(k))));
  return JSON.stringify(values);
}

async function collect(client: NodeRedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: pattern })) keys.push(...(Array.isArray(batch) ? batch : [batch]));
  return keys;
}

type RedisLike = NodeRedisClient | Redis;

async function redisFixture(connect: () => Promise<RedisLike>, wrap: (store: CodeStore) => CodeStore = (s) => s): Promise<Fixture> {
  const client = await connect();
  const prefix = uniquePrefix();
  return plainFixture(
    wrap(redisStore({ client, prefix })),
    () => redisRaw(client, `${prefix}*`),
    async () => {
      await deleteKeys(client, prefix);
      await client.quit();
    },
  );
}

const fixtures: Array<{ name: string; needsRedis: boolean; make(): Promise<Fixture> }> = [
  // The memory store's contents are not reachable from outside, so it has no `raw`.
  { name: 'memoryStore', needsRedis: false, make: async () => plainFixture(memoryStore()) },
  { name: 'sessionStore (memory ledger)', needsRedis: false, make: async () => plainFixture(sessionStore({ ledger: memoryStore() })) },
  { name: 'redisStore (node-redis)', needsRedis: true, make: () => redisFixture(nodeRedis) },
  { name: 'redisStore (node-redis 4)', needsRedis: true, make: () => redisFixture(nodeRedis4) },
  { name: 'redisStore (node-redis 6)', needsRedis: true, make: () => redisFixture(nodeRedis6) },
  { name: 'redisStore (ioredis)', needsRedis: true, make: () => redisFixture(ioredis) },
  { name: 'redisStore (ioredis 6)', needsRedis: true, make: () => redisFixture(ioredis6) },
  {
    name: 'sessionStore (Redis ledger, node-redis)',
    needsRedis: true,
    make: () => redisFixture(nodeRedis, (ledger) => sessionStore({ ledger })),
  },
];

const ring = createKeyring([SECRET], SECRET);
const keys = ring.current;
const hashOf = (code: string, phone = PHONE, clientId = CLIENT_ID) => keys.codeHash(phone, clientId, '', code);
/** A store key as the login core makes it: the number's hashed key, then the client's slot. */
const keyOf = (phone = PHONE, clientId = CLIENT_ID) => `${ring.limitKey(`phone:${phone}`)}.${keys.codeKey(clientId, '')}`;
const record = (code: string, id: string, now = T0) => ({ id, hash: hashOf(code), expiresAt: now + TTL });

for (const definition of fixtures) {
  describe(`CodeStore conformance: ${definition.name}`, function () {
    let f: Fixture;
    before(async function () {
      if (definition.needsRedis) await requireRedis(this);
    });
    beforeEach(async () => {
      f = await definition.make();
    });
    afterEach(async () => {
      await f?.close();
    });

    it('saves and consumes a code', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0 + 1000))).outcome, 'ok');
    });

    it('lets a code work once', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'ok');
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'invalid');
    });

    it('replaces the pending code on a new save', async () => {
      await f.store.save(keyOf(), record('111111', 'id1'), f.context(T0));
      await f.store.save(keyOf(), record('222222', 'id2'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('111111'), f.context(T0))).outcome, 'invalid');
      assert.equal((await f.store.verify(keyOf(), hashOf('222222'), f.context(T0))).outcome, 'ok');
    });

    it('expires a code on the injected clock', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0 + TTL))).outcome, 'invalid');
      await f.store.save(keyOf(), record('123456', 'id2'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0 + TTL - 1))).outcome, 'ok');
    });

    it('counts wrong attempts and voids the code at maxAttempts', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      for (let i = 0; i < MAX; i += 1) assert.equal((await f.store.verify(keyOf(), hashOf('000000'), f.context(T0))).outcome, 'invalid');
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'exhausted');
    });

    it('lets a new save reset a voided code', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      for (let i = 0; i < MAX; i += 1) await f.store.verify(keyOf(), hashOf('000000'), f.context(T0));
      await f.store.save(keyOf(), record('654321', 'id2'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('654321'), f.context(T0))).outcome, 'ok');
    });

    it('binds a code to its phone number and client', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      assert.equal((await f.store.verify(keyOf('+14155550124'), hashOf('123456', '+14155550124'), f.context(T0))).outcome, 'invalid');
      assert.equal((await f.store.verify(keyOf(PHONE, 'other'), hashOf('123456', PHONE, 'other'), f.context(T0))).outcome, 'invalid');
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'ok');
    });

    it("hands back the record's data on success only", async () => {
      await f.store.save(keyOf(), { ...record('123456', 'id1'), data: 'nonce-abc' }, f.context(T0));
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('000000'), f.context(T0)), { outcome: 'invalid', pending: true });
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0)), { outcome: 'ok', data: 'nonce-abc' });
      await f.store.save(keyOf(), record('123456', 'id2'), f.context(T0));
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0)), { outcome: 'ok' });
    });

    it('tells a wrong code (a code was pending) from no pending code', async () => {
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0)), { outcome: 'invalid', pending: false });
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('000000'), f.context(T0)), { outcome: 'invalid', pending: true });
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0 + TTL)), { outcome: 'invalid', pending: false });
    });

    it('removes a pending code', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      await f.store.remove(keyOf(), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'invalid');
    });

    it('removes only the code it is given (a newer save stays)', async () => {
      await f.store.save(keyOf(), record('111111', 'id1'), f.context(T0));
      await f.store.save(keyOf(), record('222222', 'id2'), f.context(T0));
      await f.store.remove(keyOf(), f.context(T0), record('111111', 'id1'));
      assert.equal((await f.store.verify(keyOf(), hashOf('222222'), f.context(T0))).outcome, 'ok');
      await f.store.save(keyOf(), record('333333', 'id3'), f.context(T0));
      await f.store.remove(keyOf(), f.context(T0), record('333333', 'id3'));
      assert.equal((await f.store.verify(keyOf(), hashOf('333333'), f.context(T0))).outcome, 'invalid');
    });

    it('tells what it removed: the wrong entries of the code, or that none such was pending', async () => {
      await f.store.save(keyOf(), record('111111', 'id1'), f.context(T0));
      assert.deepEqual(await f.store.remove(keyOf(), f.context(T0), record('111111', 'id1')), { removed: true, attempts: 0 });
      await f.store.save(keyOf(), record('222222', 'id2'), f.context(T0));
      await f.store.verify(keyOf(), hashOf('000000'), f.context(T0));
      await f.store.verify(keyOf(), hashOf('999999'), f.context(T0));
      assert.deepEqual(await f.store.remove(keyOf(), f.context(T0), record('222222', 'id2')), { removed: true, attempts: 2 });
      assert.deepEqual(await f.store.remove(keyOf(), f.context(T0), record('222222', 'id2')), { removed: false, attempts: 0 });
      // A redeemed code is no longer there to remove.
      await f.store.save(keyOf(), record('333333', 'id3'), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('333333'), f.context(T0))).outcome, 'ok');
      assert.deepEqual(await f.store.remove(keyOf(), f.context(T0), record('333333', 'id3')), { removed: false, attempts: 0 });
    });

    it('logs in exactly one of 50 concurrent right-code verifies', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => f.store.verify(keyOf(), hashOf('123456'), f.context(T0))));
      assert.equal(outcomes.filter((o) => o.outcome === 'ok').length, 1);
    });

    it('counts at most maxAttempts of 50 concurrent wrong guesses, then the code is void', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => f.store.verify(keyOf(), hashOf(String(i).padStart(6, '9')), f.context(T0))),
      );
      assert.equal(outcomes.filter((o) => o.outcome === 'invalid').length, MAX);
      assert.equal(outcomes.filter((o) => o.outcome === 'exhausted').length, 50 - MAX);
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'exhausted');
    });

    // Only where the backing service can be read from outside (Redis); memory has no outside.
    if (definition.needsRedis)
      it('keeps only the HMAC in the backing service, never the code itself', async function () {
        await f.store.save(keyOf(), record('487213', 'id1'), f.context(T0));
        await f.store.verify(keyOf(), hashOf('000000'), f.context(T0));
        const raw = await (f.raw as (key: string) => Promise<string>)(keyOf());
        assert.ok(raw.includes(hashOf('487213')), `the HMAC is what Redis holds: ${raw}`);
        assert.ok(!raw.includes('487213'), raw);
      });
  });
}
