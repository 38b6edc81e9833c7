/**
 * One suite, every CodeStore: the same cases against memoryStore, sessionStore (with a
 * memory and a Redis ledger) and redisStore with node-redis and with ioredis.
 */
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { memoryStore, redisStore, sessionStore, type CodeStore, type StoreContext } from '../../lib';
import { codeHash, codeKey } from '../../lib/otp';
import { ioredis, nodeRedis, requireRedis, uniquePrefix, type NodeRedisClient } from '../helpers/redis';
import type Redis from 'ioredis';

const SECRET = 'conformance-secret-0123456789abcdef';
const PHONE = '+14155550123';
const CLIENT_ID = 'app';
const TTL = 180_000;
const MAX = 3;
const T0 = 1_800_000_000_000;

/** How one store is driven: session stores get a fresh copy of the session per call, as express-session does. */
interface Fixture {
  store: CodeStore;
  context(now: number): StoreContext;
  /** Everything the store keeps, as text, to prove the code is not in it. */
  raw(key: string): Promise<string>;
  close(): Promise<void>;
}

function sessionFixture(ledger: CodeStore, rawLedger: (id: string) => Promise<string>): Fixture {
  let saved: Record<string, unknown> = {};
  const store = sessionStore({ ledger });
  return {
    store,
    context(now) {
      // Each request works on its own copy; the last write wins (express-session's behaviour).
      const session = structuredClone(saved);
      const request = { session } as unknown as Request;
      return {
        now,
        ttlMs: TTL,
        maxAttempts: MAX,
        // Touching the session marks this copy as the one saved at the end of the request.
        request: new Proxy(request, {
          get(target, prop) {
            if (prop === 'session') saved = session;
            return Reflect.get(target, prop);
          },
        }),
      };
    },
    async raw() {
      const pending = saved.passwordlessPending as Record<string, { id: string }> | undefined;
      const ids = Object.values(pending ?? {}).map((p) => p.id);
      return JSON.stringify(saved) + (await Promise.all(ids.map(rawLedger))).join('');
    },
    async close() {},
  };
}

function plainFixture(store: CodeStore, raw: (key: string) => Promise<string>, close: () => Promise<void> = async () => {}): Fixture {
  return { store, context: (now) => ({ now, ttlMs: TTL, maxAttempts: MAX }), raw, close };
}

async function redisRaw(client: NodeRedisClient | Redis, key: string): Promise<string> {
  const value = 'hGetAll' in client ? await client.hGetAll(key) : await client.hgetall(key);
  return JSON.stringify(value);
}

async function redisFixture(connect: () => Promise<NodeRedisClient | Redis>): Promise<Fixture> {
  const client = await connect();
  const prefix = uniquePrefix();
  return plainFixture(redisStore({ client, prefix }), (key) => redisRaw(client, `${prefix}code:${key}`), async () => void (await client.quit()));
}

const fixtures: Array<{ name: string; needsRedis: boolean; make(): Promise<Fixture> }> = [
  {
    name: 'memoryStore',
    needsRedis: false,
    async make() {
      // The memory store's contents are not reachable from outside; what reaches it is recorded instead.
      const seen: string[] = [];
      const inner = memoryStore();
      const store: CodeStore = {
        save: (k, r, c) => (seen.push(JSON.stringify([k, r])), inner.save(k, r, c)),
        verify: (k, h, c) => inner.verify(k, h, c),
        remove: (k, c) => inner.remove(k, c),
      };
      return plainFixture(store, async () => seen.join(''));
    },
  },
  {
    name: 'sessionStore (memory ledger)',
    needsRedis: false,
    async make() {
      return sessionFixture(memoryStore(), async () => '');
    },
  },
  { name: 'redisStore (node-redis)', needsRedis: true, make: () => redisFixture(nodeRedis) },
  { name: 'redisStore (ioredis)', needsRedis: true, make: () => redisFixture(ioredis) },
  {
    name: 'sessionStore (Redis ledger, node-redis)',
    needsRedis: true,
    async make() {
      const client = await nodeRedis();
      const prefix = uniquePrefix();
      const fixture = sessionFixture(redisStore({ client, prefix }), (id) => redisRaw(client, `${prefix}code:${id}`));
      return { ...fixture, close: async () => void (await client.quit()) };
    },
  },
];

const hashOf = (code: string, phone = PHONE, clientId = CLIENT_ID) => codeHash(SECRET, phone, clientId, code);
const keyOf = (phone = PHONE, clientId = CLIENT_ID) => codeKey(SECRET, phone, clientId);
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

    it('hands back the record\'s data on success only', async () => {
      await f.store.save(keyOf(), { ...record('123456', 'id1'), data: 'nonce-abc' }, f.context(T0));
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('000000'), f.context(T0)), { outcome: 'invalid' });
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0)), { outcome: 'ok', data: 'nonce-abc' });
      await f.store.save(keyOf(), record('123456', 'id2'), f.context(T0));
      assert.deepEqual(await f.store.verify(keyOf(), hashOf('123456'), f.context(T0)), { outcome: 'ok' });
    });

    it('removes a pending code', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      await f.store.remove(keyOf(), f.context(T0));
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'invalid');
    });

    it('logs in exactly one of 50 concurrent right-code verifies', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => f.store.verify(keyOf(), hashOf('123456'), f.context(T0))));
      assert.equal(outcomes.filter((o) => o.outcome === 'ok').length, 1);
    });

    it('counts at most maxAttempts of 50 concurrent wrong guesses, then the code is void', async () => {
      await f.store.save(keyOf(), record('123456', 'id1'), f.context(T0));
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => f.store.verify(keyOf(), hashOf(String(i).padStart(6, '9')), f.context(T0))));
      assert.equal(outcomes.filter((o) => o.outcome === 'invalid').length, MAX);
      assert.equal(outcomes.filter((o) => o.outcome === 'exhausted').length, 50 - MAX);
      assert.equal((await f.store.verify(keyOf(), hashOf('123456'), f.context(T0))).outcome, 'exhausted');
    });

    it('never keeps the code itself', async () => {
      await f.store.save(keyOf(), record('487213', 'id1'), f.context(T0));
      await f.store.verify(keyOf(), hashOf('000000'), f.context(T0));
      const raw = await f.raw(keyOf());
      assert.ok(raw.length > 10, 'something was stored');
      assert.ok(!raw.includes('487213'), raw);
    });
  });
}
