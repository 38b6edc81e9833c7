/**
 * The limits as users meet them, with the default memory backend: nobody can be locked out
 * by someone else's requests or by a provider outage, the injected clock ends every wait,
 * IPv6 counts per network, and memory stays bounded.
 */
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import request from 'supertest';
import { memoryLimits, redisStore, type Logger, type SmsSender } from '../../lib';
import { PasswordlessError } from '../../lib';
import { outboxSender } from '../../lib';
import { resolveOptions } from '../../lib/config/options';
import { createKeyring } from '../../lib/core/crypto';
import { createLimits, type ResolvedRateLimits } from '../../lib/limits';
import type { Bucket } from '../../lib/limits/types';
import { CLIENT, CONFIDENTIAL, PHONE, SECRET, lastCode, makeApp, wrongCodeFor } from '../helpers/app';
import { expect429, only, start, verify } from '../helpers/limits';

const HOUR = 3_600_000;

function trusting(options: Parameters<typeof makeApp>[0]) {
  return makeApp({ logger: false, ...options }, (app) => app.set('trust proxy', 1));
}

describe('limits (memory backend)', () => {
  describe('nobody locks a user out', () => {
    it("does not spend a victim's cooldown when the attacker's own address is over its limit", async () => {
      const t = trusting({ rateLimits: only({ startsPerIpPerHour: 1, resendCooldownSeconds: 30 }) });
      await start(t.app, '+14155550199', '203.0.113.9').expect(200);
      const refused = await start(t.app, PHONE, '203.0.113.9');
      assert.equal(refused.status, 429);
      assert.match(refused.body.error_description, /from this network/);
      assert.equal(t.outbox.messages.length, 1);
      // The victim, from their own address, is not in any cooldown: nothing was sent to them.
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      assert.equal(t.outbox.last()?.to, PHONE);
    });

    it("gives the number's buckets back when the provider fails, and keeps the address's spent", async () => {
      let down = true;
      const sent: string[] = [];
      const sender: SmsSender = {
        async send(m) {
          if (down) throw new PasswordlessError('sms_provider_error', 502, 'provider down');
          sent.push(m.body);
          return { id: 'SM1' };
        },
      };
      const t = trusting({
        sender,
        rateLimits: only({ resendCooldownSeconds: 30, sendsPerPhonePerHour: 2, sendsPerPhonePerDay: 3, startsPerIpPerHour: 6 }),
      });
      for (let i = 0; i < 5; i += 1) {
        const res = await start(t.app, PHONE, '198.51.100.7');
        assert.equal(res.status, 502, `failed send ${i}: ${JSON.stringify(res.body)}`);
      }
      down = false;
      // Right after the outage: no cooldown, no hourly or daily count from the failed sends.
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      assert.equal(sent.length, 1);
      // The address paid for all six attempts.
      const seventh = await start(t.app, '+14155550100', '198.51.100.7');
      assert.equal(seventh.status, 429);
      assert.match(seventh.body.error_description, /from this network/);
    });

    it('does not count wrong codes for a number that has no code pending', async () => {
      const t = trusting({ rateLimits: only({ failedVerifiesPerPhonePerHour: 10 }) });
      for (let i = 0; i < 15; i += 1) {
        await verify(t.app, '000000').expect(403);
      }
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      await verify(t.app, lastCode(t.outbox)).expect(200);
    });

    it('counts wrong codes against a pending code, per number, and a login resets the count', async () => {
      const t = trusting({ rateLimits: only({ failedVerifiesPerPhonePerHour: 2 }), otp: { maxAttempts: 10 } });
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      const code = lastCode(t.outbox);
      await verify(t.app, wrongCodeFor(code)).expect(403);
      await verify(t.app, wrongCodeFor(code)).expect(403);
      const locked = await verify(t.app, code);
      assert.equal(locked.status, 429);
      assert.equal(locked.body.error, 'too_many_attempts');
      assert.ok(Number(locked.headers['retry-after']) > 0);
      t.clock.advance(HOUR);
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      await verify(t.app, lastCode(t.outbox)).expect(200);
    });

    it('refuses an address after failedVerifiesPerIpPerHour wrong codes, checked before anything per number', async () => {
      const t = trusting({ rateLimits: only({ failedVerifiesPerIpPerHour: 2 }), otp: { maxAttempts: 10 } });
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      const code = lastCode(t.outbox);
      const wrong = () => verify(t.app, wrongCodeFor(code), PHONE, '203.0.113.9');
      await wrong().expect(403);
      await wrong().expect(403);
      const refused = await wrong();
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error, 'too_many_requests');
      // The owner, from another address, still logs in.
      await verify(t.app, code, PHONE, '198.51.100.7').expect(200);
    });
  });

  describe('follow the injected clock', () => {
    it('ends the cooldown when the clock passes it', async () => {
      const t = trusting({ rateLimits: only({ resendCooldownSeconds: 30 }) });
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      await start(t.app, PHONE, '198.51.100.7').expect(429);
      t.clock.advance(30_000);
      await start(t.app, PHONE, '198.51.100.7').expect(200);
    });

    it('says how long to wait in Retry-After, on the injected clock', async () => {
      const t = trusting({ rateLimits: only({ sendsPerPhonePerHour: 1 }) });
      await start(t.app, PHONE, '198.51.100.7').expect(200);
      t.clock.advance(HOUR - 90_000);
      const res = await start(t.app, PHONE, '198.51.100.7');
      assert.equal(res.headers['retry-after'], '90');
    });
  });

  describe('addresses', () => {
    it('counts IPv6 clients per /64, and other /64s apart', async () => {
      const t = trusting({ rateLimits: only({ startsPerIpPerHour: 2 }) });
      await start(t.app, '+14155550101', '2001:db8:1:2::1').expect(200);
      await start(t.app, '+14155550102', '2001:db8:1:2:ffff:ffff:ffff:fffe').expect(200);
      await start(t.app, '+14155550103', '2001:db8:1:2:abcd::9').expect(429);
      await start(t.app, '+14155550104', '2001:db8:1:3::1').expect(200);
    });

    it('takes the IPv6 prefix length from rateLimits.ipv6Subnet', async () => {
      const t = trusting({ rateLimits: only({ startsPerIpPerHour: 1, ipv6Subnet: 128 }) });
      await start(t.app, '+14155550101', '2001:db8::1').expect(200);
      await start(t.app, '+14155550102', '2001:db8::2').expect(200);
      await start(t.app, '+14155550103', '2001:db8::2').expect(429);
    });

    it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
      const t = trusting({ rateLimits: only({ startsPerIpPerHour: 1 }) });
      await start(t.app, '+14155550101', '192.0.2.1').expect(200);
      await start(t.app, '+14155550102', '::ffff:192.0.2.1').expect(429);
    });
  });

  describe('one entry per key', () => {
    // Buckets under one key share one entry (a number's cooldown, hour and day; an address's
    // starts, wrong codes and wrong client secrets), each at its own place in it. Every bucket the
    // limits make, with every limit on, for one address, number and client: those that share a
    // key must count apart, or one limit would spend another's allowance.
    const config = resolveOptions({
      secret: SECRET,
      sender: outboxSender(),
      clients: [CLIENT],
      logger: false,
      rateLimits: { sendsPerClientPerDay: 1000, sendsPerDay: 10000, sendsPerPrefixPerHour: 100 },
    });
    const limits = createLimits(config.rateLimits as ResolvedRateLimits, undefined, memoryLimits(), createKeyring([SECRET], SECRET));
    const address = '203.0.113.7';
    const verifyPlan = limits.verify(address, PHONE);
    const all = [
      ...limits.start(address, PHONE, CLIENT.clientId).buckets,
      verifyPlan.address,
      verifyPlan.phone,
      limits.clientAuth(address, CLIENT.clientId),
    ];
    const byEntry = new Map<string, Bucket[]>();
    for (const b of all) {
      if (!b) continue;
      const entry = `${b.group} ${b.key} ${b.sub ?? ''}`;
      const list = byEntry.get(entry) ?? [];
      if (!list.some((o) => o.name === b.name)) byEntry.set(entry, [...list, b]);
    }
    const shared = [...byEntry.values()].filter((list) => list.length > 1);

    it('counts apart the buckets that share a key', async () => {
      // The two known sharers are among them, so the check below is not vacuous.
      const names = shared.map((list) => list.map((b) => b.name).sort()).sort();
      assert.deepEqual(names, [
        ['failedVerifiesPerIpPerHour', 'startsPerIpPerHour'],
        ['failedVerifiesPerPhonePerHour', 'sendsPerPhonePerDay'],
        ['resendCooldownSeconds', 'sendsPerPhonePerHour'],
      ]);
      for (const list of shared) {
        const backend = memoryLimits();
        const one = list.map((b) => ({ ...b, limit: 1 }));
        for (const b of one) assert.deepEqual(await backend.take([b], undefined, 0, Infinity), {}, `${b.name} was full`);
        for (const b of one) assert.equal((await backend.take([b], undefined, 0, Infinity)).refused?.bucket, b.name);
        // Giving one back frees that one only.
        await backend.give([one[1] as Bucket], undefined, 0, Infinity);
        assert.equal(await backend.peek([one[1] as Bucket], 0, Infinity), undefined);
        assert.equal((await backend.peek([one[0] as Bucket], 0, Infinity))?.bucket, one[0]?.name);
      }
    });

    it('keeps every window on a clock that reads below 0 (an injected now)', async () => {
      const backend = memoryLimits();
      const number = shared.find((list) => list[0]?.group === 'number') as Bucket[];
      const plan = number.map((b) => ({ ...b, limit: 1 }));
      assert.deepEqual(await backend.take(plan, undefined, -1000, Infinity), {});
      // Past the cooldown, the hour is still running: its window began at -1000, not at 0.
      assert.equal((await backend.take(plan, undefined, 31_000, Infinity)).refused?.bucket, 'sendsPerPhonePerHour');
    });
  });

  describe('bounded memory', () => {
    it('tracks at most maxKeys keys per group, dropping the least recently used', async () => {
      const limitStore = memoryLimits({ maxKeys: 100 });
      const t = trusting({ limitStore, fraudGuard: false, rateLimits: only({ startsPerIpPerHour: 5 }) });
      for (let i = 0; i < 300; i += 1) await start(t.app, '+14155550101', `10.0.${i >> 8}.${i & 255}`);
      assert.ok(limitStore.size() <= 100, `tracked ${limitStore.size()} keys`);
      assert.ok(limitStore.size() >= 90, `tracked ${limitStore.size()} keys`);
    });

    it('tracks nothing for logins once their failure counts are given back', async () => {
      const limitStore = memoryLimits();
      const limits = only({ failedVerifiesPerIpPerHour: 5, failedVerifiesPerPhonePerHour: 5 });
      const t = trusting({ limitStore, fraudGuard: false, rateLimits: limits });
      for (let i = 0; i < 20; i += 1) {
        const phone = `+1415555${String(1000 + i)}`;
        const address = `10.1.0.${i}`;
        await start(t.app, phone, address).expect(200);
        await verify(t.app, lastCode(t.outbox, phone), phone, address).expect(200);
      }
      // At most the last entry of each group lingers (lru-cache clears every array when its last entry goes).
      assert.ok(limitStore.size() <= 2, `tracked ${limitStore.size()} keys after 20 logins`);
    });

    it('keeps the count of a wrong guess when another guess from the address is given back', async () => {
      const limitStore = memoryLimits();
      const t = trusting({ limitStore, fraudGuard: false, rateLimits: only({ failedVerifiesPerIpPerHour: 2 }) });
      const other = '+14155551001';
      await start(t.app, PHONE, '10.2.0.1').expect(200);
      await start(t.app, other, '10.2.0.2').expect(200);
      await verify(t.app, wrongCodeFor(lastCode(t.outbox, PHONE)), PHONE, '10.2.0.1').expect(403);
      // A login from the same address gives its own count back, not the wrong guess's.
      await verify(t.app, lastCode(t.outbox, other), other, '10.2.0.1').expect(200);
      await start(t.app, PHONE, '10.2.0.3').expect(200);
      await verify(t.app, '000000', PHONE, '10.2.0.1').expect(403);
      expect429(await verify(t.app, lastCode(t.outbox, PHONE), PHONE, '10.2.0.1'));
    });

    it('warns at construction when codes are shared in Redis but the limits are per process', () => {
      const events: Array<Record<string, unknown>> = [];
      // A real client, never connected: construction makes no Redis call.
      const client = createClient({ url: 'redis://127.0.0.1:6379' });
      makeApp({
        rateLimits: {},
        store: redisStore({ client }),
        limitStore: memoryLimits(),
        logger: { info() {}, warn: (e) => void events.push(e), error() {} },
      });
      assert.ok(events.some((e) => e.event === 'config_warning' && /every instance counts its own limits/.test(String(e.message))));
    });

    it('refuses a maxKeys below 100 at construction', () => {
      assert.throws(() => memoryLimits({ maxKeys: 5 }), /memoryLimits\.maxKeys` must be an integer from 100/);
    });
  });

  describe('failed client authentication', () => {
    it('limits wrong client secrets per address, on start and on verify', async () => {
      const events: Array<Record<string, unknown>> = [];
      const logger: Logger = { info: () => {}, warn: (e) => void events.push(e), error: () => {} };
      const t = makeApp({ logger, rateLimits: only({ failedClientAuthPerIpPerHour: 2 }) }, (app) => app.set('trust proxy', 1));
      const confidential = { client_id: 'app-backend', connection: 'sms', phone_number: PHONE, client_secret: 'wrong' };
      await request(t.app).post('/passwordless/start').set('x-forwarded-for', '203.0.113.9').send(confidential).expect(401);
      await request(t.app)
        .post('/passwordless/verify')
        .set('x-forwarded-for', '203.0.113.9')
        .send({ ...confidential, verification_code: '123456' })
        .expect(401);
      const refused = await request(t.app).post('/passwordless/start').set('x-forwarded-for', '203.0.113.9').send(confidential);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error, 'too_many_requests');
      assert.equal(events.filter((e) => e.event === 'client_auth_failed').length, 2);
      // Another address is not affected.
      await request(t.app).post('/passwordless/start').set('x-forwarded-for', '198.51.100.7').send(confidential).expect(401);
    });

    it('cannot be used by a neighbour to lock a backend out: its long secret still passes, other clients count apart, and no secret counts nothing', async () => {
      const short = { clientId: 'app-short', name: 'Short', secret: 'short-secret-0123456' };
      // Long, but no random secret: guessable, so it keeps the refusal.
      const repeated = { clientId: 'app-repeated', name: 'Repeated', secret: 'x'.repeat(40) };
      const word = { clientId: 'app-word', name: 'Word', secret: 'abcdefghijklmnop'.repeat(2) };
      // Generated hex (openssl rand -hex 16): 128 bits, though of 16 symbols at most.
      const hex = { clientId: 'app-hex', name: 'Hex', secret: '3f9a0c17be42d685e1f07a9c3b5d2e84' };
      // Generated base64 (openssl rand -base64 32).
      const generated = { clientId: 'app-generated', name: 'Generated', secret: 'kU8q2mV1zP0sR7tW4yX6aB9cD3eF5gH1jK2lM4nO6pQ=' };
      // Long and mixed, but a phrase a person typed: refused alike.
      const phrase = { clientId: 'app-phrase', name: 'Phrase', secret: 'MyCompanyBackendSecret2024Production' };
      // A phrase that counts up at its end.
      const counting = { ...CONFIDENTIAL, secret: 'backend-secret-value-0123456789abcdef' };
      const t = makeApp(
        {
          logger: false,
          rateLimits: only({ failedClientAuthPerIpPerHour: 2 }),
          clients: [CLIENT, counting, short, repeated, word, hex, generated, phrase],
        },
        (app) => app.set('trust proxy', 1),
      );
      const startAs = (clientId: string, secret: string | undefined, phone = PHONE) =>
        request(t.app)
          .post('/passwordless/start')
          .set('x-forwarded-for', '203.0.113.9')
          .send({
            client_id: clientId,
            connection: 'sms',
            phone_number: phone,
            ...(secret === undefined ? {} : { client_secret: secret }),
          });
      // Requests without a secret are no guesses: however many, they spend nothing.
      for (let i = 0; i < 5; i += 1) assert.equal((await startAs(generated.clientId, undefined)).status, 401);
      assert.equal((await startAs(generated.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(generated.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(generated.clientId, 'wrong')).status, 429);
      // The backend behind the same address still logs in with its generated secret.
      assert.equal((await startAs(generated.clientId, generated.secret)).status, 200);
      // Another client's count is its own; a short secret, which guessing could find, is
      // refused like a wrong one once its count is full, so the answer tells nothing.
      assert.equal((await startAs(short.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(short.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(short.clientId, short.secret, '+14155550124')).status, 429);
      assert.equal((await startAs(repeated.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(repeated.clientId, 'wrong')).status, 401);
      assert.equal((await startAs(repeated.clientId, repeated.secret, '+14155550125')).status, 429);
      for (const [client, phone, passes] of [
        [word, '+14155550126', false],
        [hex, '+14155550127', true],
        [phrase, '+14155550128', false],
        [counting, '+14155550129', false],
      ] as const) {
        assert.equal((await startAs(client.clientId, 'wrong')).status, 401);
        assert.equal((await startAs(client.clientId, 'wrong')).status, 401);
        assert.equal((await startAs(client.clientId, client.secret, phone)).status, passes ? 200 : 429, client.clientId);
      }
    });
  });
});
