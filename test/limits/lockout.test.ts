/**
 * A stranger who knows a number spends what it can of the number's limits from one address
 * (every send the hour and the day allow, then wrong codes until the pending one is void):
 * its owner, elsewhere, gets a code again once the hour's window ends, not a day later, with
 * every store. The number's hourly budget is what bounds SMS sent to it, so that part is
 * shared; the day's is counted per number and address.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type Redis from 'ioredis';
import { redisStore, sessionStore, type PasswordlessOptions } from '../../lib';
import { PHONE, lastCode, makeApp, startBody, verifyBody, wrongCodeFor } from '../helpers/app';
import { trustLoopback } from '../helpers/limits';
import { ioredis, nodeRedis, redisOnPrefix, requireRedis, type NodeRedisClient } from '../helpers/redis';

const HOUR = 3_600_000;
const ATTACKER = '198.51.100.66';
const OWNER = '203.0.113.5';

interface Store {
  options(): Promise<Partial<PasswordlessOptions>>;
  done(): Promise<void>;
}

function onRedis(connect: () => Promise<NodeRedisClient | Redis>): Store {
  const redis = redisOnPrefix(connect);
  return {
    async options() {
      const { client, prefix } = await redis.open();
      return { store: redisStore({ client, prefix }) };
    },
    done: redis.done,
  };
}

const STORES: Record<string, Store> = {
  memoryStore: { options: async () => ({}), done: async () => undefined },
  sessionStore: { options: async () => ({ store: sessionStore() }), done: async () => undefined },
  'redisStore (node-redis)': onRedis(nodeRedis),
  'redisStore (ioredis)': onRedis(ioredis),
};

for (const [name, store] of Object.entries(STORES)) {
  describe(`no day-long lockout by a stranger: ${name}`, function () {
    before(async function () {
      if (name.startsWith('redis')) await requireRedis(this);
    });
    afterEach(() => store.done());

    it("gives the owner a code once the stranger's hour ends, though the stranger spent every send it could from its address", async () => {
      // The default limits: a 30 s cooldown, 5 sends per number per hour, 10 per day.
      const t = makeApp({ ...(await store.options()), rateLimits: undefined, fraudGuard: false }, trustLoopback);
      const attacker = request.agent(t.app);
      const owner = request.agent(t.app);
      const as = (agent: typeof attacker, ip: string, path: string, body: Record<string, unknown>) =>
        agent.post(path).set('x-forwarded-for', ip).send(body);
      // Five sends in the first hour, five in the next: the stranger's address has spent the day.
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1) {
        statuses.push((await as(attacker, ATTACKER, '/passwordless/start', startBody())).status);
        t.clock.advance(i === 4 ? HOUR - 4 * 31_000 : 31_000);
      }
      assert.deepEqual(statuses, Array(10).fill(200));
      const code = lastCode(t.outbox, PHONE);
      for (let i = 0; i < 3; i += 1) await as(attacker, ATTACKER, '/passwordless/verify', verifyBody(wrongCodeFor(code)));
      assert.equal((await as(attacker, ATTACKER, '/passwordless/start', startBody())).status, 429);
      // The owner waits out the hour the stranger's sends fill (as the answer's Retry-After says)...
      const refused = await as(owner, OWNER, '/passwordless/start', startBody());
      assert.equal(refused.status, 429);
      const wait = Number(refused.headers['retry-after']);
      assert.ok(wait > 0 && wait <= 3600, `Retry-After: ${wait}`);
      t.clock.advance(wait * 1000);
      // ...then gets a code and logs in, while the stranger's address stays refused for the day.
      await as(owner, OWNER, '/passwordless/start', startBody()).expect(200);
      await as(owner, OWNER, '/passwordless/verify', verifyBody(lastCode(t.outbox, PHONE))).expect(200);
      t.clock.advance(31_000);
      assert.equal((await as(attacker, ATTACKER, '/passwordless/start', startBody())).status, 429);
    });

    it('still bounds the SMS one address can have sent to a number in a day', async () => {
      const t = makeApp({ ...(await store.options()), rateLimits: undefined, fraudGuard: false }, trustLoopback);
      const sent = () => t.outbox.messages.filter((m) => m.to === PHONE).length;
      for (let hour = 0; hour < 4; hour += 1) {
        for (let i = 0; i < 6; i += 1) {
          await request(t.app).post('/passwordless/start').set('x-forwarded-for', ATTACKER).send(startBody());
          t.clock.advance(31_000);
        }
        t.clock.advance(HOUR);
      }
      assert.equal(sent(), 10);
    });
  });
}
