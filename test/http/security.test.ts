/**
 * What the HTTP layer refuses and how: bodies of any shape get a clear 4xx (never a 500),
 * pages of other sites cannot log a visitor in, cookie-less requests create no session, and
 * the token endpoint answers Auth0's texts for clients it cannot serve.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { passwordless, outboxSender, sessionStore, type PasswordlessOptions } from '../../lib';
import { CLIENT, PHONE, SECRET, lastCode, loggedInAgent, makeApp, startBody, verifyBody, backendBody, otpGrant } from '../helpers/app';
import { recorder } from '../helpers/log';

const OTP_GRANT = 'http://auth0.com/oauth/grant-type/passwordless/otp';

describe('HTTP layer: what it refuses', () => {
  describe('bodies', () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      it(`answers 400 bad.request, never 500, to a ${encoding} body that does not decode`, async () => {
        const r = recorder();
        const t = makeApp({ logger: r.logger });
        const res = await request(t.app)
          .post('/passwordless/start')
          .set('content-type', 'application/json')
          .set('content-encoding', encoding)
          .send(Buffer.from('not compressed at all'));
        // Express 4's body-parser does not know br at all: it refuses it as unsupported (415).
        const refusals = encoding === 'br' && process.env.EXPRESS_MAJOR === '4' ? [415] : [400];
        assert.ok(refusals.includes(res.status), `${res.status} ${res.text}`);
        assert.equal(res.body.error, 'bad.request');
        assert.equal(r.events.filter((e) => e.event === 'internal_error').length, 0);
      });
    }

    it('answers 415 to an unsupported Content-Encoding and accepts a real gzip body', async () => {
      const t = makeApp({ logger: false });
      const res = await request(t.app)
        .post('/passwordless/start')
        .set('content-type', 'application/json')
        .set('content-encoding', 'compress')
        .send('{}');
      assert.equal(res.status, 415);
      assert.equal(res.body.error, 'bad.request');
      const ok = await request(t.app)
        .post('/passwordless/start')
        .set('content-type', 'application/json')
        .set('content-encoding', 'gzip')
        .serialize((b: unknown) => b as string)
        .send(gzipSync(JSON.stringify(startBody())) as unknown as string);
      assert.equal(ok.status, 200, ok.text);
    });

    it('refuses a form with a __proto__ key as it refuses the same JSON, and sends nothing', async () => {
      const t = makeApp({ logger: false });
      const form = await request(t.app)
        .post('/passwordless/start')
        .type('form')
        .send(`__proto__[admin]=1&client_id=${CLIENT.clientId}&connection=sms&phone_number=%2B14155550123`);
      assert.equal(form.status, 400);
      assert.equal(form.body.error, 'bad.request');
      const json = await request(t.app)
        .post('/passwordless/start')
        .set('content-type', 'application/json')
        .send(`{"__proto__":{"admin":1},"client_id":"${CLIENT.clientId}","connection":"sms","phone_number":"${PHONE}"}`);
      assert.equal(json.status, 400);
      assert.equal(t.outbox.messages.length, 0);
    });

    it('says that a body looks like JSON sent without Content-Type: application/json (curl -d)', async () => {
      const t = makeApp({ logger: false });
      const res = await request(t.app).post('/passwordless/start').type('form').send(JSON.stringify(startBody()));
      assert.equal(res.status, 400);
      assert.match(res.body.error_description, /looks like JSON sent without `Content-Type: application\/json`/);
    });
  });

  describe('other sites (login CSRF)', () => {
    it('refuses a form post whose Origin is another site, even marked same-site (a sibling subdomain)', async () => {
      const t = makeApp({ logger: false });
      const res = await request(t.app)
        .post('/passwordless/verify')
        .set('origin', 'https://evil.example')
        .set('sec-fetch-site', 'same-site')
        .send(verifyBody('123456'));
      assert.equal(res.status, 403);
      assert.equal(res.body.error, 'bad.request');
    });

    it("accepts the app's own origin and the origins listed in allowedOrigins", async () => {
      const t = makeApp({ logger: false, allowedOrigins: ['https://app.example.com'] });
      const own = await request(t.app)
        .post('/passwordless/start')
        .set('host', 'login.example.com')
        .set('origin', 'http://login.example.com')
        .send(startBody());
      assert.equal(own.status, 200, own.text);
      const listed = await request(t.app)
        .post('/passwordless/start')
        .set('origin', 'https://app.example.com')
        .send(startBody({ phone_number: '+14155550100' }));
      assert.equal(listed.status, 200, listed.text);
    });

    it("accepts the app's own origin when a proxy forwards its Host with a default port or capitals", async () => {
      const t = makeApp({ logger: false });
      for (const [i, host] of ['login.example.com:80', 'LOGIN.Example.com'].entries()) {
        const res = await request(t.app)
          .post('/passwordless/start')
          .set('host', host)
          .set('origin', 'http://login.example.com')
          .send(startBody({ phone_number: `+1415555010${i}` }));
        assert.equal(res.status, 200, res.text);
      }
      // Another site's page is still refused, whatever the Host's spelling.
      await request(t.app)
        .post('/passwordless/start')
        .set('host', 'login.example.com:80')
        .set('origin', 'http://evil.example')
        .send(startBody({ phone_number: '+14155550102' }))
        .expect(403);
    });

    it('refuses an Origin that a Host holding more than a host and port would parse to (userinfo, path, query, fragment)', async () => {
      const t = makeApp({ logger: false });
      for (const [i, host] of [
        'login.example.com@evil.example',
        'evil.example/login',
        'evil.example?login',
        'evil.example#login',
      ].entries()) {
        const res = await request(t.app)
          .post('/passwordless/start')
          .set('host', host)
          .set('origin', 'http://evil.example')
          .send(startBody({ phone_number: `+1415555012${i}` }));
        assert.equal(res.status, 403, `${host}: ${res.text}`);
      }
    });

    it('refuses another site whose page fills X-Forwarded-Proto with a URL of its own (trust proxy)', async () => {
      const t = makeApp({ logger: false }, (app) => app.set('trust proxy', 1));
      for (const [i, proto] of ['https://evil.example/', 'https://evil.example#', 'https://evil.example?', 'chrome-extension'].entries()) {
        const res = await request(t.app)
          .post('/passwordless/start')
          .set('host', 'login.example.com')
          .set('x-forwarded-proto', proto)
          .set('origin', proto === 'chrome-extension' ? 'chrome-extension://abcdef' : 'https://evil.example')
          .send(startBody({ phone_number: `+1415555011${i}` }));
        assert.equal(res.status, 403, `${proto}: ${res.text}`);
      }
      // The app's own page through the same proxy is accepted, with its Host's port spelled out.
      await request(t.app)
        .post('/passwordless/start')
        .set('host', 'login.example.com:443')
        .set('x-forwarded-proto', 'https')
        .set('origin', 'https://login.example.com')
        .send(startBody({ phone_number: '+14155550119' }))
        .expect(200);
    });

    it('matches allowedOrigins written with upper case or a default port as the browser sends them', async () => {
      const t = makeApp({ logger: false, allowedOrigins: ['https://APP.example.com:443', 'http://Other.example.com:80'] });
      for (const [i, origin] of ['https://app.example.com', 'http://other.example.com'].entries()) {
        const res = await request(t.app)
          .post('/passwordless/start')
          .set('origin', origin)
          .send(startBody({ phone_number: `+1415555010${i}` }));
        assert.equal(res.status, 200, res.text);
      }
    });

    it('refuses an opaque Origin: null (sandboxed frames, data: pages)', async () => {
      const t = makeApp({ logger: false });
      await request(t.app).post('/passwordless/start').set('origin', 'null').send(startBody()).expect(403);
    });

    it('lets native apps and servers (no Origin, no Sec-Fetch-Site) through', async () => {
      const t = makeApp({ logger: false });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    });
  });

  describe('sessions', () => {
    it('creates no session for cookie-less verifies with sessionStore (saveUninitialized: false holds)', async () => {
      const t = makeApp({ store: sessionStore(), logger: false });
      for (let i = 0; i < 20; i += 1) {
        const res = await request(t.app).post('/passwordless/verify').send(verifyBody('123456'));
        assert.equal(res.status, 403);
        assert.equal(res.headers['set-cookie'], undefined);
      }
      assert.equal(await t.sessionCount(), 0);
    });

    it('binds a sessionStore code to the browser that started the login', async () => {
      const t = makeApp({ store: sessionStore(), logger: false });
      const browser = request.agent(t.app);
      await browser.post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(t.outbox);
      await request(t.app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
      await browser.post('/passwordless/verify').send(verifyBody(code)).expect(200);
    });

    it('answers requireAuth without express-session with JSON naming express-session', async () => {
      const pl = passwordless({ secret: SECRET, sender: outboxSender(), clients: [CLIENT], logger: false });
      const app = express().get('/me', pl.requireAuth, (_req, res) => res.json({}));
      const res = await request(app).get('/me');
      assert.equal(res.status, 500);
      assert.equal(res.type, 'application/json');
      assert.equal(res.body.error, 'server_error');
      assert.match(res.body.error_description, /express-session/);
    });

    it('works called like a factory (auth.requireAuth(), as cors() is) as well as mounted as it is', async () => {
      const t = makeApp({ logger: false });
      t.app.get('/called', t.pl.requireAuth(), (req, res) => res.json({ phone: req.user?.phone_number }));
      await request(t.app).get('/called').expect(401);
      const agent = await loggedInAgent(t);
      assert.equal((await agent.get('/called').expect(200)).body.phone, PHONE);
    });
  });

  describe('server-side start and verify (forms without JavaScript)', () => {
    function formApp() {
      const outbox = outboxSender();
      const pl = passwordless({
        secret: SECRET,
        sender: outbox,
        clients: [CLIENT],
        logger: false,
        rateLimits: { resendCooldownSeconds: 30 },
      });
      const app = express()
        .use(session({ secret: 's', resave: false, saveUninitialized: false }))
        .use(express.urlencoded({ extended: false }));
      app.post('/login', async (req, res) => {
        const outcome = await pl.start(req);
        res.json(outcome);
      });
      app.post('/code', async (req, res) => {
        const outcome = await pl.verify(req);
        res.json(outcome);
      });
      app.post('/logout', async (req, res) => {
        res.json(await pl.logout(req));
      });
      app.get('/me', pl.requireAuth, (req, res) => res.json({ phone: req.user?.phone_number }));
      return { app, outbox };
    }

    it("refuses another site's page on the app's own start and verify routes: no SMS, no login", async () => {
      const { app, outbox } = formApp();
      const body = { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE };
      for (const foreign of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }]) {
        const started = await request(app).post('/login').set(foreign).type('form').send(body);
        assert.deepEqual({ ok: started.body.ok, status: started.body.status }, { ok: false, status: 403 });
      }
      assert.equal(outbox.messages.length, 0);
      const agent = request.agent(app);
      assert.equal((await agent.post('/login').type('form').send(body)).body.ok, true);
      const code = lastCode(outbox);
      for (const foreign of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }]) {
        const verified = await agent
          .post('/code')
          .set(foreign)
          .type('form')
          .send({ ...body, verification_code: code });
        assert.deepEqual({ ok: verified.body.ok, status: verified.body.status }, { ok: false, status: 403 });
      }
      assert.equal((await agent.get('/me')).status, 401);
      assert.equal(
        (
          await agent
            .post('/code')
            .type('form')
            .send({ ...body, verification_code: code })
        ).body.ok,
        true,
      );
    });

    it("logs out from the app's own route only for its own site, reading no body", async () => {
      const { app, outbox } = formApp();
      const agent = request.agent(app);
      const body = { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE };
      await agent.post('/login').type('form').send(body);
      assert.equal(
        (
          await agent
            .post('/code')
            .type('form')
            .send({ ...body, verification_code: lastCode(outbox) })
        ).body.ok,
        true,
      );
      const sibling = await agent.post('/logout').set('origin', 'https://evil.example.com').set('sec-fetch-site', 'same-site');
      assert.deepEqual(
        { ok: sibling.body.ok, status: sibling.body.status, error: sibling.body.error },
        { ok: false, status: 403, error: 'bad.request' },
      );
      assert.equal((await agent.get('/me')).body.phone, PHONE);
      assert.deepEqual((await agent.post('/logout')).body, { ok: true });
      assert.equal((await agent.get('/me')).status, 401);
    });

    it('returns outcomes instead of answering, and logs the session in', async () => {
      const { app, outbox } = formApp();
      const agent = request.agent(app);
      const started = await agent.post('/login').type('form').send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE });
      assert.equal(started.body.ok, true);
      assert.equal(started.body.phone_number, PHONE);
      const again = await agent.post('/login').type('form').send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE });
      assert.deepEqual(
        { ok: again.body.ok, status: again.body.status, error: again.body.error, retryAfter: again.body.retryAfter },
        { ok: false, status: 429, error: 'too_many_requests', retryAfter: 30 },
      );
      const wrong = await agent
        .post('/code')
        .type('form')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: '000000' });
      assert.equal(wrong.body.ok, false);
      assert.equal(wrong.body.status, 403);
      const right = await agent
        .post('/code')
        .type('form')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: lastCode(outbox) });
      assert.equal(right.body.ok, true);
      assert.equal((await agent.get('/me')).body.phone, PHONE);
    });

    it("ignores the form's own fields (a CSRF token, a named button) that the routes would refuse, but not a flat authParams[nonce]", async () => {
      const { app, outbox } = formApp();
      const agent = request.agent(app);
      const own = { _csrf: 'token-of-the-app', action: 'Send code' };
      const started = await agent
        .post('/login')
        .type('form')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, ...own });
      assert.equal(started.body.ok, true, started.text);
      const right = await agent
        .post('/code')
        .type('form')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: lastCode(outbox), ...own });
      assert.equal(right.body.ok, true, right.text);
      const flat = await request(app)
        .post('/login')
        .type('form')
        .send(`client_id=${CLIENT.clientId}&connection=sms&phone_number=%2B14155550100&authParams%5Bnonce%5D=n`);
      assert.deepEqual(
        { ok: flat.body.ok, status: flat.body.status, error: flat.body.error },
        { ok: false, status: 400, error: 'bad.request' },
      );
      assert.match(flat.body.error_description, /authParams/);
      assert.equal(outbox.messages.length, 1);
      // The same flat name in JSON, to an app that parses JSON: refused too, not ignored.
      const pl = passwordless({ secret: SECRET, sender: outbox, clients: [CLIENT], logger: false });
      const jsonApp = express().use(express.json());
      jsonApp.post('/login', async (req, res) => {
        res.json(await pl.start(req));
      });
      const json = await request(jsonApp)
        .post('/login')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: '+14155550100', 'authParams[nonce]': 'n' });
      assert.deepEqual(
        { ok: json.body.ok, status: json.body.status, error: json.body.error },
        { ok: false, status: 400, error: 'bad.request' },
      );
      assert.equal(outbox.messages.length, 1);
    });

    it("answers a client's empty or odd form 400 (the parser is mounted), never the developer's 500", async () => {
      const { app } = formApp();
      for (const body of ['', '=', '&', '__proto__=1']) {
        const res = await request(app).post('/login').type('form').send(body);
        assert.deepEqual({ ok: res.body.ok, status: res.body.status }, { ok: false, status: 400 }, `${JSON.stringify(body)}: ${res.text}`);
      }
    });
  });

  it('runs auth.start(req) without express-session, as the start route does, unless the store keeps codes in the session', async () => {
    const outbox = outboxSender();
    const made = (store?: ReturnType<typeof sessionStore>) =>
      passwordless({ secret: SECRET, sender: outbox, clients: [CLIENT], logger: false, ...(store ? { store } : {}) });
    for (const [pl, ok] of [
      [made(), true],
      [made(sessionStore()), false],
    ] as const) {
      const app = express().use(express.urlencoded({ extended: false }));
      app.post('/login', async (req, res) => {
        res.json(await pl.start(req));
      });
      const res = await request(app)
        .post('/login')
        .type('form')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE });
      assert.equal(res.body.ok, ok, res.text);
    }
  });

  it('answers 415 to a body nobody parsed (a form without express.urlencoded(), JSON to a form-only app), and tells the logger once per type which parser to mount', async () => {
    const r = recorder();
    const pl = passwordless({ secret: SECRET, sender: outboxSender(), clients: [CLIENT], logger: r.logger });
    const formless = express().use(session({ secret: 's', resave: false, saveUninitialized: false }));
    const formOnly = express()
      .use(session({ secret: 's', resave: false, saveUninitialized: false }))
      .use(express.urlencoded({ extended: false }));
    for (const app of [formless, formOnly]) {
      app.post('/login', async (req, res) => {
        res.json(await pl.start(req));
      });
      app.post('/login/code', async (req, res) => {
        res.json(await pl.verify(req));
      });
    }
    const body = { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE };
    const answers = [
      await request(formless).post('/login').type('form').send(body),
      await request(formless)
        .post('/login/code')
        .type('form')
        .send({ ...body, verification_code: '123456' }),
      await request(formOnly).post('/login').type('json').send(body),
      await request(formOnly)
        .post('/login/code')
        .type('json')
        .send({ ...body, verification_code: '123456' }),
    ];
    for (const res of answers) {
      assert.deepEqual(
        { ok: res.body.ok, status: res.body.status, error: res.body.error },
        { ok: false, status: 415, error: 'bad.request' },
        res.text,
      );
      assert.match(res.body.error_description, /mount express\.urlencoded\(\)/);
    }
    const warnings = r.events.filter((e) => e.event === 'config_warning').map((e) => String(e.message));
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] as string, /body of type application\/x-www-form-urlencoded .* mount express\.urlencoded\(\)/);
    assert.match(warnings[1] as string, /body of type application\/json .* mount express\.json\(\)/);
    assert.equal(r.events.filter((e) => e.event === 'internal_error').length, 0);
    // The form-only app still logs a form in.
    const ok = await request(formOnly).post('/login').type('form').send(body);
    assert.equal(ok.body.ok, true, ok.text);
  });

  describe('token endpoint', () => {
    const ISSUER = 'https://auth.example.com/';

    it("accepts a public client next to an HS256 confidential client, and refuses it the grant with Auth0's text", async () => {
      const t = makeApp({ logger: false, tokens: { issuer: ISSUER } });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(lastCode(t.outbox)))
        .expect(200);
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550100' }))
        .expect(200);
      const res = await request(t.app)
        .post('/oauth/token')
        .send({ grant_type: OTP_GRANT, client_id: CLIENT.clientId, username: '+14155550100', otp: lastCode(t.outbox), realm: 'sms' });
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, {
        error: 'unauthorized_client',
        error_description: `Grant type '${OTP_GRANT}' not allowed for the client.`,
      });
    });

    it('refuses an HS256 client secret shorter than 32 characters at construction, naming the client', () => {
      assert.throws(
        () => makeApp({ clients: [{ clientId: 'short', name: 'Short', secret: 'k' }], tokens: { issuer: ISSUER } }),
        /`clients\[0\]\.secret` signs this client's HS256 ID tokens and is 1 characters long/,
      );
    });

    it('warns about a short client secret when no tokens are signed with it', () => {
      const r = recorder();
      makeApp({ logger: r.logger, clients: [{ clientId: 'short', name: 'Short', secret: 'k' }] });
      assert.ok(
        r.events.some(
          (e) => e.event === 'config_warning' && /`clients\[0\]\.secret` of client "short" is 1 characters long/.test(String(e.message)),
        ),
      );
    });

    it('warns about a long client secret that does not look generated (its right value is refused once neighbours fill the count), not about generated ones', () => {
      const phrase = 'correct horse battery staple and more words';
      const generated = [randomBytes(24).toString('hex'), randomUUID(), 's/OsLSqcWFWAVGgxhHmgGCgwoNWt/UK1'];
      const clients = [
        { clientId: 'phrase', name: 'Phrase', secret: phrase },
        ...generated.map((secret, i) => ({ clientId: `g${i}`, name: 'G', secret })),
      ];
      const warnedWith = (rateLimits: PasswordlessOptions['rateLimits']) => {
        const r = recorder();
        makeApp({ logger: r.logger, clients, rateLimits });
        return r.events.filter(
          (e) => e.event === 'config_warning' && /does not have the shape of a generated secret/.test(String(e.message)),
        );
      };
      const warned = warnedWith({});
      assert.equal(warned.length, 1);
      assert.match(String(warned[0]?.message), /`clients\[0\]\.secret` of client "phrase"/);
      assert.doesNotMatch(String(warned[0]?.message), new RegExp(phrase));
      // Without the limit the shape changes nothing: no warning.
      assert.equal(warnedWith(false).length, 0);
      assert.equal(warnedWith({ failedClientAuthPerIpPerHour: 0 }).length, 0);
    });

    it('keeps amr, acr, scope, sid, at_hash, c_hash, cnf and auth_time of a user hook out of the ID token', async () => {
      const reserved = {
        amr: ['pwd'],
        acr: 'x',
        scope: 'admin',
        sid: 's',
        at_hash: 'a',
        c_hash: 'c',
        cnf: { jkt: 'k' },
        auth_time: 1,
        name: 'Ada',
      };
      const t = makeApp({ logger: false, tokens: { issuer: ISSUER }, users: { find: () => reserved } });
      await request(t.app).post('/passwordless/start').send(backendBody()).expect(200);
      const res = await request(t.app)
        .post('/oauth/token')
        .send(otpGrant(lastCode(t.outbox)));
      assert.equal(res.status, 200, res.text);
      const claims = JSON.parse(Buffer.from(String(res.body.id_token).split('.')[1] as string, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      assert.equal(claims.name, 'Ada');
      for (const name of Object.keys(reserved).filter((n) => n !== 'name')) assert.equal(claims[name], undefined, name);
    });
  });
});
