import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import express, { type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import type { Logger } from '../../lib';
import { CONFIDENTIAL, OTHER_PHONE, PHONE, lastCode, makeApp, startBody, verifyBody, wrongCodeFor, type TestApp } from '../helpers/app';

/** The session id in an express-session cookie (`sid=s%3A<id>.<signature>`). */
function sessionIdOf(cookie: string): string {
  return decodeURIComponent(cookie.replace(/^sid=/, '')).slice(2).split('.')[0] as string;
}

/**
 * An app around an existing login with an express-session store of the test's own; `between`
 * adds the app's own middleware after the session and before the package's router.
 */
function appWithSessions(pl: TestApp['pl'], store: session.Store, between?: (app: Express) => void): Express {
  const app = express();
  app.use(session({ store, secret: 'session-secret', resave: false, saveUninitialized: false, name: 'sid' }));
  between?.(app);
  app.use(pl.router);
  app.get('/me', pl.requireAuth, (req, res) => {
    res.json({ user: req.user });
  });
  return app;
}

/** An express-session MemoryStore that lists the session ids it is asked to write. */
function countingStore(): { store: session.Store; writes: string[] } {
  const writes: string[] = [];
  class CountingStore extends session.MemoryStore {
    override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
      writes.push(sid);
      super.set(sid, sess, cb);
    }
  }
  return { store: new CountingStore(), writes };
}

async function started(options: Parameters<typeof makeApp>[0] = {}) {
  const t = makeApp(options);
  await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
  return { ...t, code: lastCode(t.outbox) };
}

describe('POST /passwordless/verify', () => {
  it('logs in with the right code: 200 with the user, and requireAuth lets the session through', async () => {
    const { app, code } = await started();
    const agent = request.agent(app);
    const res = await agent.post('/passwordless/verify').send(verifyBody(code));
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['user']);
    assert.equal(res.body.user.phone_number, PHONE);
    assert.equal(res.body.user.phone_verified, true);
    assert.match(res.body.user.user_id, /^sms\|[0-9a-f]{24}$/);
    const me = await agent.get('/me').expect(200);
    assert.deepEqual(me.body.user, res.body.user);
  });

  it('gives the same user_id on every login of a number, and it is not the number', async () => {
    const t = makeApp();
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: i ? '+1 415-555-0123' : PHONE }))
        .expect(200);
      const res = await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(lastCode(t.outbox)))
        .expect(200);
      ids.push(res.body.user.user_id);
    }
    assert.equal(ids[0], ids[1]);
    assert.ok(!ids[0]?.includes('4155550123'));
  });

  it('accepts urlencoded bodies', async () => {
    const { app, code } = await started();
    await request(app).post('/passwordless/verify').type('form').send(verifyBody(code)).expect(200);
  });

  it('answers wrong, expired and never-sent codes identically with 403 invalid_grant', async () => {
    const { app, code, clock } = await started({ otp: { maxAttempts: 10 } });
    const wrong = await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(wrongCodeFor(code)));
    const neverSent = await request(app)
      .post('/passwordless/verify')
      .send(verifyBody('123456', { phone_number: OTHER_PHONE }));
    clock.advance(181_000);
    const expired = await request(app).post('/passwordless/verify').send(verifyBody(code));
    for (const res of [wrong, neverSent, expired]) {
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, { error: 'invalid_grant', error_description: 'Wrong phone number or verification code.' });
    }
  });

  it('accepts a code at ttl - 1 s and refuses it at ttl + 1 s (injected clock)', async () => {
    const a = await started({ otp: { ttlSeconds: 60 } });
    a.clock.advance(59_000);
    await request(a.app).post('/passwordless/verify').send(verifyBody(a.code)).expect(200);
    const b = await started({ otp: { ttlSeconds: 60 } });
    b.clock.advance(61_000);
    await request(b.app).post('/passwordless/verify').send(verifyBody(b.code)).expect(403);
  });

  it('voids the code after otp.maxAttempts wrong entries: then even the right code gets 429', async () => {
    const { app, code } = await started({ otp: { maxAttempts: 3 } });
    for (let i = 0; i < 3; i += 1) {
      await request(app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(code)))
        .expect(403);
    }
    const res = await request(app).post('/passwordless/verify').send(verifyBody(code));
    assert.equal(res.status, 429);
    assert.equal(res.body.error, 'too_many_attempts');
  });

  it('does not extend the code’s life with wrong entries', async () => {
    const { app, code, clock } = await started({ otp: { ttlSeconds: 60, maxAttempts: 5 } });
    clock.advance(50_000);
    await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(wrongCodeFor(code)))
      .expect(403);
    clock.advance(11_000);
    await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
  });

  it('lets a code work once', async () => {
    const { app, code } = await started();
    await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(200);
    await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
  });

  it('logs in exactly one of 20 concurrent requests with the right code', async () => {
    const { app, code } = await started();
    const results = await Promise.all(Array.from({ length: 20 }, () => request(app).post('/passwordless/verify').send(verifyBody(code))));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.ok(results.every((r) => r.status === 200 || r.status === 403));
  });

  it('does not let a code started for one client log into another', async () => {
    const { app, code } = await started();
    const res = await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret }));
    assert.equal(res.status, 403);
    await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(200);
  });

  it('does not let a code for one number log in another number', async () => {
    const { app, code } = await started();
    await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { phone_number: OTHER_PHONE }))
      .expect(403);
  });

  it('requires the secret of a confidential client', async () => {
    const t = makeApp();
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret }))
      .expect(200);
    const code = lastCode(t.outbox);
    const res = await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { client_id: CONFIDENTIAL.clientId, client_secret: 'nope' }));
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'unauthorized_client');
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret }))
      .expect(200);
  });

  describe('body errors as for start', () => {
    const { app } = makeApp();
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['unknown client', verifyBody('123456', { client_id: 'nope' }), 400, 'bad.client_id'],
      ['other connection', verifyBody('123456', { connection: 'email' }), 400, 'bad.connection'],
      ['disabled client', verifyBody('123456', { client_id: 'app-disabled' }), 400, 'bad.connection'],
      ['invalid number', verifyBody('123456', { phone_number: '12' }), 400, 'bad.phone_number'],
      ['missing code', verifyBody('123456', { verification_code: undefined }), 400, 'bad.verification_code'],
      ['code as a number', verifyBody('123456', { verification_code: 123456 }), 400, 'bad.verification_code'],
      ['extra property', verifyBody('123456', { send: 'code' }), 400, 'bad.request'],
    ];
    for (const [label, body, status, error] of cases) {
      it(`${status} ${error} for ${label}`, async () => {
        const res = await request(app).post('/passwordless/verify').send(body);
        assert.equal(res.status, status);
        assert.equal(res.body.error, error);
      });
    }

    it('tells a code sent as a JSON number that it must be a string, instead of calling it missing', async () => {
      const res = await request(app)
        .post('/passwordless/verify')
        .send(verifyBody('123456', { verification_code: 98765 }));
      assert.match(res.body.error_description, /verification_code must be a string of digits/);
      assert.doesNotMatch(res.body.error_description, /98765/, 'the value sent is not echoed');
      const missing = await request(app)
        .post('/passwordless/verify')
        .send(verifyBody('123456', { verification_code: undefined }));
      assert.equal(missing.body.error_description, 'Missing required parameter: verification_code');
    });
  });

  it('regenerates the session: the pre-login cookie does not log in', async () => {
    const t = await started();
    t.app.get('/touch', (req, res) => {
      (req.session as unknown as Record<string, unknown>).seen = true;
      res.end();
    });
    const agent = request.agent(t.app);
    const touched = await agent.get('/touch');
    const oldCookie = String(touched.headers['set-cookie']?.[0]).split(';')[0] as string;
    assert.match(oldCookie, /^sid=.+/, 'the pre-login request got a session cookie');
    const login = await agent.post('/passwordless/verify').send(verifyBody(t.code)).expect(200);
    const newCookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    assert.match(newCookie, /^sid=.+/, 'the login set a session cookie');
    assert.notEqual(newCookie, oldCookie);
    await request(t.app).get('/me').set('cookie', oldCookie).expect(401);
    await request(t.app).get('/me').set('cookie', newCookie).expect(200);
  });

  it('regenerates a session loaded without any cookie (an app that names sessions by ?sid= for native clients)', async () => {
    const t = await started();
    const sessions = new session.MemoryStore();
    const app = appWithSessions(t.pl, sessions, (inner) => {
      // The app's own loader: a request without cookies may name its session in the query. The
      // session it loads is an existing one, so a login must still replace its id.
      inner.use((req, _res, next) => {
        const sid = typeof req.query.sid === 'string' ? req.query.sid : undefined;
        if (!sid || req.headers.cookie !== undefined) return next();
        sessions.get(sid, (err, stored) => {
          if (err || !stored) return next(err);
          req.sessionID = sid;
          sessions.createSession(req, stored);
          next();
        });
      });
      inner.get('/cart', (req, res) => {
        (req.session as unknown as Record<string, unknown>).cart = ['x'];
        res.json({ id: req.sessionID });
      });
    });
    const planted = await request(app).get('/cart').expect(200);
    const plantedCookie = String(planted.headers['set-cookie']?.[0]).split(';')[0] as string;
    const login = await request(app)
      .post(`/passwordless/verify?sid=${encodeURIComponent(planted.body.id)}`)
      .send(verifyBody(t.code))
      .expect(200);
    assert.notEqual(sessionIdOf(String(login.headers['set-cookie']?.[0]).split(';')[0] as string), planted.body.id);
    await request(app).get('/me').set('cookie', plantedCookie).expect(401);
  });

  it('stays logged out after a logout sent as soon as the login answer is read, with a store whose writes land late', async () => {
    const t = await started();
    // A store whose writes take a while (a pooled database under load): the login's answer must
    // not be readable before express-session's own last write of the session has landed.
    const pending = new Set<Promise<void>>();
    class SlowStore extends session.MemoryStore {
      override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
        const copy = JSON.parse(JSON.stringify(sess)) as session.SessionData;
        const write = new Promise<void>((resolve) => setTimeout(resolve, 100)).then(() => {
          pending.delete(write);
          super.set(sid, copy, cb);
        });
        pending.add(write);
      }
    }
    const app = appWithSessions(t.pl, new SlowStore());
    // Any cookie: the login regenerates, after which express-session writes the session again.
    const login = await request(app).post('/passwordless/verify').set('cookie', 'theme=dark').send(verifyBody(t.code)).expect(200);
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    await request(app).post('/passwordless/logout').set('cookie', cookie).send({}).expect(204);
    while (pending.size > 0) await Promise.all(pending);
    await request(app).get('/me').set('cookie', cookie).expect(401);
  });

  it('writes the logged-in session to the session store once, before the answer, which arrives whole', async () => {
    const t = await started();
    const { store, writes } = countingStore();
    const app = appWithSessions(t.pl, store);
    // With a cookie of its own: express-session then writes a regenerated session at the answer's end.
    const login = await request(app).post('/passwordless/verify').set('cookie', 'theme=dark').send(verifyBody(t.code)).expect(200);
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    assert.deepEqual(writes, [sessionIdOf(cookie)]);
    assert.equal(login.headers['content-length'], String(Buffer.byteLength(login.text)));
    assert.equal(login.body.user.phone_number, PHONE);
    await request(app).get('/me').set('cookie', cookie).expect(200);
  });

  it('logs in behind an app middleware whose res.end wrapper sets a header, with one session write', async () => {
    const t = await started();
    const { store, writes } = countingStore();
    const app = appWithSessions(t.pl, store, (inner) => {
      inner.use(function timing(_req, res, next) {
        const end = res.end;
        res.end = function endWithHeader(this: typeof res, ...args: unknown[]) {
          res.setHeader('X-Done', '1');
          return (end as (...a: unknown[]) => typeof res).apply(this, args);
        } as typeof res.end;
        next();
      });
    });
    const login = await request(app).post('/passwordless/verify').send(verifyBody(t.code)).expect(200);
    assert.equal(login.headers['x-done'], '1');
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    assert.deepEqual(writes, [sessionIdOf(cookie)]);
    await request(app).get('/me').set('cookie', cookie).expect(200);
  });

  for (const [label, landed] of [
    ['failed', false],
    ['landed but reported a failure (a lost reply), and the next one failed', true],
  ] as const) {
    it(`does not log in a request whose session write ${label}, though express-session would save the session again`, async () => {
      const t = await started();
      let writes = 0;
      class FlakyStore extends session.MemoryStore {
        override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
          writes += 1;
          if (writes === 1 && landed) return super.set(sid, sess, () => cb?.(new Error('reply lost')));
          if (writes === 1 || landed) return cb?.(new Error('session store down'));
          super.set(sid, sess, cb);
        }
      }
      const app = appWithSessions(t.pl, new FlakyStore());
      const login = await request(app).post('/passwordless/verify').send(verifyBody(t.code));
      assert.equal(login.status, 500);
      assert.equal(login.body.error, 'server_error');
      const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
      await request(app).get('/me').set('cookie', cookie).expect(401);
    });
  }

  it('regenerates a planted session whatever the encoding of its cookie', async () => {
    const t = await started();
    t.app.get('/touch', (req, res) => {
      (req.session as unknown as Record<string, unknown>).seen = true;
      res.end();
    });
    t.app.get('/sid', (req, res) => {
      res.json({ id: req.sessionID });
    });
    const planted = String((await request(t.app).get('/touch')).headers['set-cookie']?.[0]).split(';')[0] as string;
    const plantedId = sessionIdOf(planted);
    // Every character percent-encoded: the cookie no longer contains the id as text, yet
    // express-session decodes it to the same session.
    const value = decodeURIComponent(planted.replace(/^sid=/, ''));
    const odd = `sid=${[...value].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}`;
    assert.equal((await request(t.app).get('/sid').set('cookie', odd)).body.id, plantedId, 'express-session reads the odd cookie');
    const login = await request(t.app).post('/passwordless/verify').set('cookie', odd).send(verifyBody(t.code)).expect(200);
    const after = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    assert.match(after, /^sid=.+/);
    assert.notEqual(sessionIdOf(after), plantedId, 'the login kept the planted id');
    await request(t.app).get('/me').set('cookie', planted).expect(401);
    await request(t.app).get('/me').set('cookie', after).expect(200);
  });

  it('keeps leading zeros (a forced code of 004217)', async () => {
    const original = crypto.randomInt;
    (crypto as { randomInt: unknown }).randomInt = () => 4217;
    try {
      const t = await started();
      assert.equal(t.code, '004217');
      assert.match(t.outbox.last()?.body ?? '', /: 004217$/);
      await request(t.app).post('/passwordless/verify').send(verifyBody('4217')).expect(403);
      await request(t.app).post('/passwordless/verify').send(verifyBody('004217')).expect(200);
    } finally {
      (crypto as { randomInt: unknown }).randomInt = original;
    }
  });

  it('honours otp.length', async () => {
    const t = await started({ otp: { length: 10 } });
    assert.equal(t.code.length, 10);
    await request(t.app).post('/passwordless/verify').send(verifyBody(t.code)).expect(200);
  });

  it('never lets the code reach a response or the logger', async () => {
    const logged: string[] = [];
    const logger: Logger = {
      info: (e) => logged.push(JSON.stringify(e)),
      warn: (e) => logged.push(JSON.stringify(e)),
      error: (e) => logged.push(JSON.stringify(e)),
    };
    const t = makeApp({ logger, otp: { maxAttempts: 2 } });
    const responses: string[] = [];
    const start = await request(t.app).post('/passwordless/start').send(startBody());
    const code = lastCode(t.outbox);
    responses.push(start.text);
    for (const guess of [wrongCodeFor(code), wrongCodeFor(code), code]) {
      const res = await request(t.app).post('/passwordless/verify').send(verifyBody(guess));
      responses.push(res.text);
    }
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const second = lastCode(t.outbox);
    responses.push((await request(t.app).post('/passwordless/verify').send(verifyBody(second))).text);
    for (const text of [...responses, ...logged]) {
      assert.ok(!text.includes(code) && !text.includes(second), `code leaked into: ${text}`);
    }
    const events = logged.map((l) => JSON.parse(l).event);
    assert.deepEqual(events, ['code_sent', 'login_failed', 'login_failed', 'login_failed', 'code_sent', 'login']);
    assert.ok(
      logged.every((l) => !l.includes(PHONE)),
      'phone numbers are masked',
    );
    assert.ok(logged.some((l) => l.includes('+1********23')));
  });
});

describe('cross-site requests (login CSRF)', () => {
  it('refuses start, verify and logout that a browser marks cross-site', async () => {
    const t = await started();
    for (const [path, body] of [
      ['/passwordless/start', startBody()],
      ['/passwordless/verify', verifyBody(t.code)],
      ['/passwordless/logout', {}],
    ] as const) {
      const res = await request(t.app).post(path).set('sec-fetch-site', 'cross-site').send(body);
      assert.equal(res.status, 403, path);
      assert.equal(res.body.error, 'bad.request');
    }
    // Same-origin pages, and clients that send no such header, are unaffected.
    await request(t.app).post('/passwordless/verify').set('sec-fetch-site', 'same-origin').send(verifyBody(t.code)).expect(200);
  });

  it("takes the browser's Sec-Fetch-Site: same-origin over an Origin whose scheme a TLS proxy changed (no trust proxy)", async () => {
    const t = await started();
    const behindProxy = { host: 'auth.example.com', origin: 'https://auth.example.com' };
    await request(t.app).post('/passwordless/start').set(behindProxy).send(startBody()).expect(403);
    await request(t.app)
      .post('/passwordless/start')
      .set({ ...behindProxy, 'sec-fetch-site': 'same-origin' })
      .send(startBody())
      .expect(200);
    // Another site's page is still refused, whatever it claims in headers a page can set.
    await request(t.app)
      .post('/passwordless/start')
      .set({ host: 'auth.example.com', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })
      .send(startBody())
      .expect(403);
  });

  it('lets allowCrossSite accept them', async () => {
    const t = await started({ allowCrossSite: true });
    await request(t.app).post('/passwordless/verify').set('sec-fetch-site', 'cross-site').send(verifyBody(t.code)).expect(200);
  });
});

describe('failures inside async handlers', () => {
  it('answers 503 JSON when the store rejects, on every Express version', async () => {
    const broken = { save: async () => {}, verify: async () => Promise.reject(new Error('ECONNRESET')), remove: async () => {} };
    const { app } = makeApp({ store: broken });
    const res = await request(app).post('/passwordless/verify').send(verifyBody('123456'));
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'temporarily_unavailable');
  });

  /** A login whose users.find throws `error`: its answer, and the error events logged. */
  async function loginWithFailingHook(error: Error) {
    const events: Array<Record<string, unknown>> = [];
    const logger = { info: () => {}, warn: () => {}, error: (e: Record<string, unknown>) => void events.push(e) };
    const find = () => {
      throw error;
    };
    const t = makeApp({ logger, users: { find } });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const res = await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(lastCode(t.outbox)));
    return { res, events };
  }

  it('answers 500 server_error and logs hook_error (not a store outage) when a user hook throws', async () => {
    const { res, events } = await loginWithFailingHook(new TypeError('x is undefined'));
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'server_error');
    assert.doesNotMatch(res.text, /x is undefined/);
    assert.deepEqual(
      events.map((e) => e.event),
      ['hook_error'],
    );
    assert.match(String(events[0]?.message), /users\.find threw: x is undefined/);
  });

  it("masks a number a hook's error quotes in any common notation, not only +E.164", async () => {
    const { res, events } = await loginWithFailingHook(
      new Error('duplicate key (phone)=(14155550123) / tel +1 (415) 555-0123 / +14155550123'),
    );
    assert.equal(res.status, 500);
    const message = String(events.find((e) => e.event === 'hook_error')?.message);
    assert.doesNotMatch(message.replace(/\D/g, ' '), /\d{3}/, message);
    assert.match(message, /\*23\b.*\*23\b.*\*23\b/, message);
  });

  it('keeps working when the logger throws', async () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const t = makeApp({ logger: { info: boom, warn: boom, error: boom } });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(lastCode(t.outbox)))
      .expect(200);
  });
});

describe('POST /passwordless/logout and requireAuth', () => {
  it('destroys the session with 204: the login and whatever else the app kept in it', async () => {
    const t = await started();
    t.app.post('/cart', (req, res) => {
      (req.session as unknown as Record<string, unknown>).cart = 'two books';
      res.end();
    });
    t.app.get('/cart', (req, res) => {
      res.json({ cart: (req.session as unknown as Record<string, unknown>).cart ?? null });
    });
    const agent = request.agent(t.app);
    await agent.post('/passwordless/verify').send(verifyBody(t.code)).expect(200);
    await agent.get('/me').expect(200);
    await agent.post('/cart').expect(200);
    await agent.post('/passwordless/logout').expect(204);
    const res = await agent.get('/me');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { error: 'unauthorized', error_description: 'Log in first.' });
    assert.deepEqual((await agent.get('/cart')).body, { cart: null });
  });

  it('answers 204 without a session to destroy', async () => {
    const { app } = makeApp();
    await request(app).post('/passwordless/logout').expect(204);
  });

  it('answers 401 JSON to a request that never logged in', async () => {
    const { app } = makeApp();
    const res = await request(app).get('/me');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { error: 'unauthorized', error_description: 'Log in first.' });
  });
});
