/**
 * Defects an attacker's review of this release found, each fixed with a test: a prefix paused
 * by decoys, a backend's users sharing its failure count, one address locking a number out,
 * sessions created by refused starts, weak secrets in production, numbers in hook errors, and
 * IPv4 clients hiding behind IPv6 prefixes.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { sessionStore } from '../lib';
import { addressKey } from '../lib/core/address';
import { CONFIDENTIAL, PHONE, lastCode, makeApp, startBody, verifyBody, wrongCodeFor } from './helpers/app';
import { only } from './helpers/limits';
import { recorder } from './helpers/log';

describe('fixes from the attacker review', () => {
  it('does not let decoy starts (disableSignup) pause a prefix: registered numbers of it still get codes', async () => {
    const users = { find: (phone: string) => (phone === PHONE ? { user_id: 'db|1' } : null) };
    const t = makeApp({ logger: false, users, disableSignup: true, rateLimits: only({}), fraudGuard: { minSends: 5, minConversion: 0.5 } });
    for (let i = 0; i < 20; i += 1) {
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: `+1415555${String(2000 + i)}` }))
        .expect(200);
    }
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    assert.equal(t.outbox.last()?.to, PHONE);
  });

  it('counts wrong codes through a confidential backend against the forwarded end-user address, on verify and on the token grant', async () => {
    const t = makeApp({
      logger: false,
      rateLimits: only({ failedVerifiesPerIpPerHour: 2 }),
      otp: { maxAttempts: 10 },
      tokens: { issuer: 'https://auth.example.com/' },
    });
    const backend = { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret, connection: 'sms' };
    await request(t.app)
      .post('/passwordless/start')
      .set('auth0-forwarded-for', '198.51.100.7')
      .send({ ...backend, phone_number: PHONE })
      .expect(200);
    const code = lastCode(t.outbox);
    const wrong = (ip: string) =>
      request(t.app)
        .post('/passwordless/verify')
        .set('auth0-forwarded-for', ip)
        .send({ ...backend, phone_number: PHONE, verification_code: wrongCodeFor(code) });
    await wrong('203.0.113.9').expect(403);
    await wrong('203.0.113.9').expect(403);
    await wrong('203.0.113.9').expect(429);
    // Another user behind the same backend is not refused.
    const grant = await request(t.app)
      .post('/oauth/token')
      .set('auth0-forwarded-for', '198.51.100.7')
      .send({ grant_type: 'http://auth0.com/oauth/grant-type/passwordless/otp', ...backend, username: PHONE, otp: code, realm: 'sms' });
    assert.equal(grant.status, 200, grant.text);
  });

  it("counts a number's failures per address: wrong codes from elsewhere never refuse the owner's right code", async () => {
    const t = makeApp({ logger: false, rateLimits: only({ failedVerifiesPerPhonePerHour: 2 }), otp: { maxAttempts: 10 } }, (app) =>
      app.set('trust proxy', 1),
    );
    await request(t.app).post('/passwordless/start').set('x-forwarded-for', '198.51.100.7').send(startBody()).expect(200);
    const code = lastCode(t.outbox);
    for (let i = 0; i < 4; i += 1) {
      await request(t.app)
        .post('/passwordless/verify')
        .set('x-forwarded-for', '203.0.113.9')
        .send(verifyBody(wrongCodeFor(code)));
    }
    await request(t.app).post('/passwordless/verify').set('x-forwarded-for', '198.51.100.7').send(verifyBody(code)).expect(200);
  });

  it('saves no session for refused starts with sessionStore', async () => {
    const t = makeApp({ store: sessionStore(), logger: false, rateLimits: only({}) });
    for (let i = 0; i < 10; i += 1)
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '12' }))
        .expect(400);
    assert.equal(await t.sessionCount(), 0);
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    assert.equal(await t.sessionCount(), 1);
  });

  it('refuses weak or documented secrets, client secrets included, under NODE_ENV=production', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const strong = 'kU8q2mV1zP0sR7tW4yX6aB9cD3eF5gH1jK2lM4nO';
      assert.throws(() => makeApp({ secret: 'x'.repeat(40) }), /`secret` has fewer than 10 distinct characters/);
      assert.throws(
        () => makeApp({ secret: strong, clients: [{ clientId: 'b', name: 'B', secret: 'a-client-secret-of-32-or-more-chars' }] }),
        /`clients\[0\]\.secret` is a placeholder from the documentation/,
      );
      assert.ok(makeApp({ secret: strong, clients: [{ clientId: 'b', name: 'B', secret: 'Zq81mW0pL5xN3rT7vB2cK9dF4gH6jS1aE8uY' }] }));
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('masks numbers quoted in a hook error', async () => {
    const r = recorder();
    const t = makeApp({
      logger: r.logger,
      users: {
        find: (phone) => {
          throw new Error(`no row for ${phone}`);
        },
      },
    });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(lastCode(t.outbox)))
      .expect(500);
    const logged = JSON.stringify(r.events.filter((e) => e.event === 'hook_error'));
    assert.match(logged, /\+1\*{8}23/);
    assert.doesNotMatch(logged, /4155550123/);
  });

  it('counts IPv4 clients seen through NAT64, 6to4 and IPv4-compatible IPv6 as their IPv4 address', () => {
    assert.equal(addressKey('64:ff9b::c000:201', 64), '192.0.2.1');
    assert.equal(addressKey('64:ff9b::192.0.2.1', 64), '192.0.2.1');
    assert.equal(addressKey('2002:c000:201::1', 64), '192.0.2.1');
    assert.equal(addressKey('2002:c000:201:ffff::1', 64), '192.0.2.1');
    assert.equal(addressKey('::192.0.2.1', 64), '192.0.2.1');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6', 64), '2001:db8:1:2:0:0:0:0/64');
  });

  it('counts the IPv4 users behind a local-use NAT64, SIIT or a Teredo relay as their IPv4 addresses, not as one /64', () => {
    assert.equal(addressKey('64:ff9b:1::c000:201', 64), '192.0.2.1');
    assert.equal(addressKey('64:ff9b:1::c000:202', 64), '192.0.2.2');
    assert.equal(addressKey('::ffff:0:c000:201', 64), '192.0.2.1');
    assert.equal(addressKey('::ffff:0:c000:202', 64), '192.0.2.2');
    // Teredo (RFC 4380): server 65.54.227.120, client 192.0.2.45 (the last 32 bits inverted).
    assert.equal(addressKey('2001:0:4136:e378:8000:63bf:3fff:fdd2', 64), '192.0.2.45');
    // Not a translator's prefix: still by /64.
    assert.equal(addressKey('64:ff9b:2::c000:201', 64), '64:ff9b:2:0:0:0:0:0/64');
  });

  it("counts a backend's auth0-forwarded-for written with a port as that end user's address, not the backend's", async () => {
    const t = makeApp({ logger: false, rateLimits: only({ startsPerIpPerHour: 1 }) });
    const backend = { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret, connection: 'sms' };
    const startAs = (forwarded: string, phone: string) =>
      request(t.app)
        .post('/passwordless/start')
        .set('auth0-forwarded-for', forwarded)
        .send({ ...backend, phone_number: phone });
    await startAs('198.51.100.7:5555', '+14155550101').expect(200);
    // The same user from another port: the same address, over its limit.
    assert.equal((await startAs('198.51.100.7:6666', '+14155550102')).status, 429);
    // Another user behind the same backend: an address of its own.
    await startAs('[2001:db8::7]:443', '+14155550103').expect(200);
  });

  it('counts an address written with its port (some proxies forward one) as the address, not as one per connection', () => {
    assert.equal(addressKey('198.51.100.7:51234', 64), '198.51.100.7');
    assert.equal(addressKey('198.51.100.7:51235', 64), '198.51.100.7');
    assert.equal(addressKey('[2001:db8:1:2::9]:443', 64), '2001:db8:1:2:0:0:0:0/64');
    assert.equal(addressKey('[2001:db8:1:2::9]', 64), '2001:db8:1:2:0:0:0:0/64');
    assert.equal(addressKey('[::ffff:198.51.100.7]:80', 64), '198.51.100.7');
    // Not an address with a port: kept as written, one key of its own.
    assert.equal(addressKey('unknown', 64), 'unknown');
    assert.equal(addressKey('999.1.1.1:80', 64), '999.1.1.1:80');
  });
});
