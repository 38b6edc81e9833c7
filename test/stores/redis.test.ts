import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import {
  DEFAULTS,
  memoryStore,
  outboxSender,
  passwordless,
  redisLimits,
  redisStore,
  PasswordlessError,
  type CodeStore,
  type PasswordlessOptions,
} from '../../lib';
import { CLIENT, PHONE, SECRET, lastCode, startBody, verifyBody } from '../helpers/app';
import { createKeyring } from '../../lib/core/crypto';
import { createClient, createClientPool, createCluster } from 'redis';
import { createClient as createClient4 } from 'redis4';
import { deleteKeys, ioredis, nodeRedis, ownRedis, requireRedis, uniquePrefix } from '../helpers/redis';
import IORedis from 'ioredis';
import { recorder } from '../helpers/log';

/** An app with express-session and the router of passwordless({ secret, sender, clients: [CLIENT], ...options }). */
function sessionApp(options: Partial<PasswordlessOptions> & Pick<PasswordlessOptions, 'store'>) {
  const pl = passwordless({ secret: SECRET, sender: outboxSender(), clients: [CLIENT], ...options } as PasswordlessOptions);
  const app = express()
    .use(session({ secret: 's', resave: false, saveUninitialized: false }))
    .use(pl.router);
  return { pl, app };
}

describe('redisStore on a real Redis', function () {
  before(async function () {
    await requireRedis(this);
  });

  it('keeps only the HMAC, with a Redis expiry matching the code, under the prefix', async () => {
    const client = await nodeRedis();
    const prefix = uniquePrefix();
    const outbox = outboxSender();
    const { app } = sessionApp({ sender: outbox, store: redisStore({ client, prefix }), rateLimits: false, otp: { ttlSeconds: 120 } });
    try {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(outbox);
      const ring = createKeyring([SECRET], SECRET);
      const key = `${prefix}{n:${ring.limitKey(`phone:${PHONE}`)}}:code:${ring.current.codeKey(CLIENT.clientId, '')}`;
      assert.equal(await client.exists(key), 1);
      // What lib wrote (read back from Redis, not the key computed above) holds neither the number nor the code.
      const written: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*` })) written.push(...(Array.isArray(batch) ? batch : [batch]));
      assert.deepEqual(written, [key]);
      for (const k of written) {
        assert.ok(!k.includes('4155550123'), `the key holds the number: ${k}`);
        assert.ok(!k.includes(code), `the key holds the code: ${k}`);
      }
      const ttl = await client.pTTL(key);
      assert.ok(ttl > 115_000 && ttl <= 120_000, `ttl ${ttl}`);
      const value = await client.hGetAll(key);
      assert.ok(!JSON.stringify(value).includes(code));
      // A wrong guess neither removes nor extends the key's expiry.
      await new Promise((r) => setTimeout(r, 50));
      await request(app)
        .post('/passwordless/verify')
        .send(verifyBody(code === '000000' ? '111111' : '000000'))
        .expect(403);
      const after = await client.pTTL(key);
      assert.ok(after > 0 && after < ttl, `ttl after a wrong guess ${after} < ${ttl}`);
      assert.equal((await client.hGetAll(key)).a, '1');
      await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(200);
      // The code is gone; the login's mark of its own call stays a second past its deadline at most.
      assert.equal((await client.hGetAll(key)).h || undefined, undefined);
      const mark = await client.pTTL(key);
      assert.ok(mark > 0 && mark <= DEFAULTS.redisTimeoutMs + 1000, `mark ttl ${mark}`);
    } finally {
      await deleteKeys(client, prefix);
      await client.quit();
    }
  });

  it("redeems a code under a deadline in fractional or far-off milliseconds, and a login's mark lasts a minute at most", async () => {
    const client = await nodeRedis();
    const prefix = uniquePrefix();
    const store = redisStore({ client, prefix });
    try {
      for (const [later, most] of [
        [1500.5, 2500],
        [1e12, 61_000],
        [1e22, 61_000],
      ] as const) {
        const now = Date.now();
        const ctx = { now, ttlMs: 60_000, maxAttempts: 3 };
        await store.save('number', { id: `id-${later}`, hash: 'H', expiresAt: now + 60_000, data: 'nonce' }, ctx);
        assert.deepEqual(await store.verify('number', 'H', { ...ctx, deadline: Date.now() + later }), { outcome: 'ok', data: 'nonce' });
        const [key] = await client.keys(`${prefix}*`);
        const mark = await client.pTTL(key as string);
        assert.ok(mark > 0 && mark <= most, `deadline +${later}: mark ttl ${mark}`);
        // The number's next code is whole: no mark of the earlier login rides along on it.
        await store.save('number', { id: 'next', hash: 'H2', expiresAt: now + 60_000 }, ctx);
        assert.deepEqual(await client.hGet(key as string, 'x'), '');
        await store.remove('number', ctx);
      }
    } finally {
      await deleteKeys(client, prefix);
      await client.quit();
    }
  });

  it("starts the store's deadline after a slow users hook: a slow user database is not answered as a Redis outage", async () => {
    const client = await nodeRedis();
    const prefix = uniquePrefix();
    const outbox = outboxSender();
    const r = recorder();
    const pl = passwordless({
      secret: SECRET,
      sender: outbox,
      clients: [CLIENT],
      store: redisStore({ client, prefix, timeoutMs: 300 }),
      disableSignup: true,
      users: { find: async () => new Promise((resolve) => setTimeout(() => resolve({ user_id: 'db|1' }), 500)) },
      logger: r.logger,
    });
    const app = express()
      .use(session({ secret: 's', resave: false, saveUninitialized: false }))
      .use(pl.router);
    try {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      assert.equal(outbox.messages.length, 1);
      assert.deepEqual(
        r.events.filter((e) => e.event === 'store_error'),
        [],
      );
    } finally {
      await pl.close();
      await deleteKeys(client, prefix);
      client.destroy();
    }
  });

  it('refuses a client that is neither node-redis nor ioredis', () => {
    assert.throws(
      () => redisStore({ client: {} }),
      (err: unknown) => err instanceof PasswordlessError && /redisStore\.client/.test(err.message),
    );
  });

  it("refuses a prefix with braces at construction, which would move every key to the prefix's Cluster slot", () => {
    const client = createClient({ url: 'redis://127.0.0.1:6379' });
    for (const factory of [redisStore, redisLimits])
      assert.throws(() => factory({ client, prefix: 'app{1}:' }), /\.prefix` must be a string without braces/);
  });

  it('refuses a node-redis 4 client in legacyMode at construction, naming the fix', () => {
    const legacy = createClient4({ url: 'redis://127.0.0.1:6379', legacyMode: true });
    assert.throws(
      () => redisStore({ client: legacy }),
      /`redisStore\.client` is a node-redis client created with legacyMode: true.*without legacyMode/,
    );
    assert.throws(() => redisLimits({ client: legacy }), /legacyMode: true/);
  });

  it('refuses a node-redis client pool at construction, naming the clients it takes', () => {
    assert.throws(
      () => redisStore({ client: createClientPool({ url: 'redis://127.0.0.1:6379' }) }),
      /`redisStore\.client` is a node-redis client pool \(createClientPool\).*createClient.*createCluster/,
    );
  });

  it("warns at construction about a node-redis client without an 'error' listener, which a dropped connection would crash", () => {
    const build = (extra: Partial<PasswordlessOptions>) => {
      const r = recorder();
      passwordless({ secret: SECRET, sender: outboxSender(), clients: [CLIENT], logger: r.logger, ...extra });
      return r.events.filter((e) => e.event === 'config_warning').map((e) => String(e.message));
    };
    const bare = createClient({ url: 'redis://127.0.0.1:6379' });
    assert.deepEqual(build({ store: redisStore({ client: bare }) }).filter((m) => /'error' listener/.test(m)).length, 1);
    assert.match(build({ limitStore: redisLimits({ client: bare }) }).join('\n'), /'error' listener.*client\.on\('error'/);
    const listened = createClient({ url: 'redis://127.0.0.1:6379' });
    listened.on('error', () => {});
    assert.deepEqual(build({ store: redisStore({ client: listened }) }), []);
    // A node-redis cluster too: a node-redis 4 cluster emits 'error' when a node goes.
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:6379' }] });
    assert.equal(build({ store: redisStore({ client: cluster }) }).filter((m) => /'error' listener/.test(m)).length, 1);
    cluster.on('error', () => {});
    assert.deepEqual(build({ store: redisStore({ client: cluster }) }), []);
    // Two bare clients: one line each, telling which option holds which; one client, one line.
    const other = createClient({ url: 'redis://127.0.0.1:6379' });
    const two = build({ store: redisStore({ client: bare }), limitStore: redisLimits({ client: other }) }).filter((m) =>
      /'error' listener/.test(m),
    );
    assert.deepEqual(
      two.map((m) => /^The node-redis client of (.*?) has/.exec(m)?.[1]),
      ['`store`', '`limitStore`'],
    );
    const shared = build({ store: redisStore({ client: bare }), limitStore: redisLimits({ client: bare }) }).filter((m) =>
      /'error' listener/.test(m),
    );
    assert.deepEqual(
      shared.map((m) => /^The node-redis client of (.*?) has/.exec(m)?.[1]),
      ['`store` and `limitStore`'],
    );
  });

  it('warns when the limits are shared in Redis but the codes are kept in this process', () => {
    const client = createClient({ url: 'redis://127.0.0.1:6379' });
    client.on('error', () => {});
    const r = recorder();
    passwordless({ secret: SECRET, sender: outboxSender(), clients: [CLIENT], logger: r.logger, limitStore: redisLimits({ client }) });
    const warnings = r.events.filter((e) => e.event === 'config_warning').map((e) => String(e.message));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0] as string,
      /redisLimits\(\), shared by every instance, while codes are kept in this process.*store: redisStore/,
    ); // A store of the app's own (a database, say) may well be shared: no warning.
    const memory = memoryStore();
    const own: CodeStore = { save: memory.save, verify: memory.verify, remove: memory.remove };
    const r2 = recorder();
    passwordless({
      secret: SECRET,
      sender: outboxSender(),
      clients: [CLIENT],
      logger: r2.logger,
      store: own,
      limitStore: redisLimits({ client }),
    });
    assert.deepEqual(
      r2.events.filter((e) => e.event === 'config_warning'),
      [],
    );
  });

  it('answers 503 with a client that was never connected, and the log says to connect it', async () => {
    const client = createClient({ url: 'redis://127.0.0.1:6379' });
    const r = recorder();
    const { app } = sessionApp({ store: redisStore({ client }), logger: r.logger });
    const res = await request(app).post('/passwordless/start').send(startBody());
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'temporarily_unavailable');
    const logged = r.events.filter((e) => e.event === 'store_error').map((e) => String(e.message));
    assert.equal(logged.length, 1, JSON.stringify(r.events));
    assert.match(logged[0] as string, /not connected.*client\.connect\(\)/);
  });

  it("answers 503 when Redis's clock is ahead of this host's, and the log says to sync the clocks, not that Redis was slow", async () => {
    const client = await nodeRedis();
    const prefix = uniquePrefix();
    const r = recorder();
    const { pl, app } = sessionApp({ store: redisStore({ client, prefix }), logger: r.logger });
    const realNow = Date.now;
    try {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      // This host 3 s behind Redis: every deadline it sends is already past on Redis's clock.
      Date.now = () => realNow() - 3000;
      const res = await request(app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550124' }));
      Date.now = realNow;
      assert.equal(res.status, 503);
      const logged = r.events.filter((e) => e.event === 'store_error').map((e) => String(e.message));
      assert.equal(logged.length, 1, JSON.stringify(r.events));
      assert.match(logged[0] as string, /Redis judged the call late on its own clock .* Sync this host and Redis with NTP/);
    } finally {
      Date.now = realNow;
      await pl.close();
      await deleteKeys(client, prefix);
      await client.quit();
    }
  });

  for (const [kind, connect] of [
    ['node-redis', nodeRedis],
    ['ioredis', ioredis],
  ] as const) {
    it(`warns when this host's clock runs ahead of Redis's, which no request would show (${kind})`, async () => {
      const client = await connect();
      const prefix = uniquePrefix();
      const r = recorder();
      const realNow = Date.now;
      // This host 5 s ahead of Redis from the start: requests still work, but a 503'd call could run later.
      Date.now = () => realNow() + 5000;
      const { pl, app } = sessionApp({ store: redisStore({ client, prefix }), logger: r.logger });
      try {
        await request(app).post('/passwordless/start').send(startBody()).expect(200);
        const warned = () => r.events.filter((e) => e.event === 'config_warning').map((e) => String(e.message));
        for (let i = 0; i < 50 && warned().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(warned().length, 1, JSON.stringify(r.events));
        const [, ms] =
          /This host's clock is (\d+) ms ahead of Redis's .* Sync this host and Redis with NTP/.exec(warned()[0] as string) ?? [];
        assert.ok(Math.abs(Number(ms) - 5000) < 300, warned()[0]);
      } finally {
        Date.now = realNow;
        await pl.close();
        await deleteKeys(client, prefix);
        if (kind === 'ioredis') (client as IORedis).disconnect();
        else await (client as Awaited<ReturnType<typeof nodeRedis>>).quit();
      }
    });
  }

  it('says nothing of clocks that agree', async () => {
    const client = await nodeRedis();
    const prefix = uniquePrefix();
    const r = recorder();
    const { pl, app } = sessionApp({ store: redisStore({ client, prefix }), logger: r.logger });
    try {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(
        r.events.filter((e) => e.event === 'config_warning'),
        [],
      );
    } finally {
      await pl.close();
      await deleteKeys(client, prefix);
      await client.quit();
    }
  });

  it('connects an ioredis client made with lazyConnect on its first request (ioredis connects on a first command, which a client not ready never gets)', async () => {
    const client = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    const prefix = uniquePrefix();
    const { pl, app } = sessionApp({ store: redisStore({ client, prefix }), logger: false });
    try {
      // The first request finds it not connected (503, fast) and starts the connection...
      assert.equal((await request(app).post('/passwordless/start').send(startBody())).status, 503);
      while (client.status !== 'ready') await new Promise((r) => setTimeout(r, 20));
      // ...and the next ones are served.
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
    } finally {
      await pl.close();
      await deleteKeys(client, prefix);
      client.disconnect();
    }
  });

  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`answers 503 while Redis is down and works again when it is back (${kind})`, async function () {
      this.timeout(30_000);
      const server = ownRedis(16_380 + (kind === 'ioredis' ? 1 : 0) + Math.floor(Math.random() * 500) * 2);
      await server.start();
      const client = kind === 'node-redis' ? await nodeRedis(server.port) : await ioredis(server.port);
      const outbox = outboxSender();
      const { app } = sessionApp({ sender: outbox, store: redisStore({ client, timeoutMs: 300 }) });
      try {
        await request(app).post('/passwordless/start').send(startBody()).expect(200);
        const code = lastCode(outbox);
        await server.stop();
        for (const res of [
          await request(app)
            .post('/passwordless/start')
            .send(startBody({ phone_number: '+14155550999' })),
          await request(app).post('/passwordless/verify').send(verifyBody(code)),
        ]) {
          assert.equal(res.status, 503);
          assert.equal(res.body.error, 'temporarily_unavailable');
          assert.match(res.body.error_description, /temporarily unavailable/);
          assert.equal(res.headers['set-cookie'], undefined, 'nobody was logged in');
        }
        await server.start();
        let status = 0;
        for (let i = 0; i < 100 && status !== 200; i += 1) {
          await new Promise((r) => setTimeout(r, 100));
          status = (await request(app).post('/passwordless/start').send(startBody())).status;
        }
        assert.equal(status, 200, 'start works again');
        await request(app)
          .post('/passwordless/verify')
          .send(verifyBody(lastCode(outbox, PHONE)))
          .expect(200);
      } finally {
        if ('disconnect' in client && typeof client.disconnect === 'function') client.disconnect();
        else await (client as { quit(): Promise<unknown> }).quit().catch(() => {});
        await server.stop();
      }
    });
  }

  for (const kind of ['node-redis', 'ioredis'] as const) {
    it(`keeps the rate limits in the store's Redis, shared by instances (${kind})`, async () => {
      const client = kind === 'node-redis' ? await nodeRedis() : await ioredis();
      const prefix = uniquePrefix();
      const instance = () => {
        const outbox = outboxSender();
        const pl = passwordless({
          secret: SECRET,
          sender: outbox,
          clients: [CLIENT],
          store: redisStore({ client, prefix }),
          rateLimits: { resendCooldownSeconds: 30, failedVerifiesPerPhonePerHour: 2 },
          otp: { maxAttempts: 5 },
        });
        return {
          outbox,
          app: express()
            .use(session({ secret: 's', resave: false, saveUninitialized: false }))
            .use(pl.router),
        };
      };
      const [a, b] = [instance(), instance()];
      try {
        await request(a.app).post('/passwordless/start').send(startBody()).expect(200);
        const cooled = await request(b.app).post('/passwordless/start').send(startBody());
        assert.equal(cooled.status, 429);
        assert.ok(Number(cooled.headers['retry-after']) > 0);
        const code = lastCode(a.outbox);
        const wrong = code === '000000' ? '111111' : '000000';
        await request(a.app).post('/passwordless/verify').send(verifyBody(wrong)).expect(403);
        await request(b.app).post('/passwordless/verify').send(verifyBody(wrong)).expect(403);
        const limited = await request(a.app).post('/passwordless/verify').send(verifyBody(code));
        assert.equal(limited.status, 429);
        assert.equal(limited.body.error, 'too_many_attempts');
      } finally {
        await deleteKeys(client, prefix);
        await (client as { quit(): Promise<unknown> }).quit();
      }
    });
  }

  describe('two instances on one Redis', () => {
    const children: ChildProcess[] = [];
    const prefixes: string[] = [];
    after(async () => {
      children.forEach((c) => c.kill('SIGTERM'));
      // Nothing of this run stays in the developer's Redis.
      const client = await nodeRedis();
      for (const prefix of prefixes) await deleteKeys(client, prefix);
      await client.quit();
    });

    function instance(name: string, prefix: string): Promise<string> {
      const script = path.join(__dirname, '..', 'fixtures', 'instance.js');
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, INSTANCE: name, PWL_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      return new Promise((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(d.toString());
          if (m) resolve(`http://127.0.0.1:${m[1]}`);
        });
        child.once('exit', (code) => reject(new Error(`instance ${name} exited with ${code}`)));
      });
    }

    it('starts on A, verifies on B, is logged in on both, and logs out on both from B', async function () {
      this.timeout(20_000);
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const [a, b] = await Promise.all([instance('A', prefix), instance('B', prefix)]);
      await request(a).post('/passwordless/start').send({ client_id: 'app', connection: 'sms', phone_number: PHONE }).expect(200);
      const { code } = (await request(a).get('/test/last-code')).body as { code: string };
      const login = await request(b)
        .post('/passwordless/verify')
        .send({ client_id: 'app', connection: 'sms', phone_number: PHONE, verification_code: code })
        .expect(200);
      const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
      const onA = await request(a).get('/me').set('cookie', cookie).expect(200);
      const onB = await request(b).get('/me').set('cookie', cookie).expect(200);
      assert.equal(onA.body.instance, 'A');
      assert.equal(onB.body.instance, 'B');
      assert.deepEqual(onA.body.user, login.body.user);
      // The code was consumed in the shared store: it does not work on A either.
      await request(a)
        .post('/passwordless/verify')
        .send({ client_id: 'app', connection: 'sms', phone_number: PHONE, verification_code: code })
        .expect(403);
      // The cooldown is shared: a resend on B right after a send on A is refused.
      await request(b).post('/passwordless/start').send({ client_id: 'app', connection: 'sms', phone_number: PHONE }).expect(429);
      await request(b).post('/passwordless/logout').set('cookie', cookie).expect(204);
      await request(a).get('/me').set('cookie', cookie).expect(401);
    });
  });
});
