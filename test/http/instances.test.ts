/**
 * Two `passwordless()` instances in one app (a customers connection and a staff one, as an app
 * with two Auth0 connections has): a login of one is no login of the other, and a code one sent
 * opens nothing on the other, even on a shared store and secret with a client in both.
 */
import assert from 'node:assert/strict';
import express, { type Express, type Request } from 'express';
import session from 'express-session';
import request from 'supertest';
import { memoryStore, outboxSender, passwordless, type CodeStore, type Passwordless, type PasswordlessOptions } from '../../lib';
import { createKeyring } from '../../lib/core/crypto';
import { CLIENT, PHONE, SECRET, lastCode } from '../helpers/app';

const STAFF_PHONE = '+14155550999';
const ISSUER = 'https://auth.example.com/';
const GRANT = 'http://auth0.com/oauth/grant-type/passwordless/otp';
const SIGNING = { idTokenSigningAlg: 'HS256' as const, secret: '4f0c2b8e9d7a6153c1e0f9a8b7c6d5e4' };

interface TwoConnections {
  app: Express;
  customers: Passwordless;
  staff: Passwordless;
  outbox: ReturnType<typeof outboxSender>;
}

/** customers (self sign-up) under /customers, staff (known numbers only) under /staff, each a `requireAuth` page. */
function twoConnections(shared: Partial<PasswordlessOptions> = {}, staffOptions: Partial<PasswordlessOptions> = {}): TwoConnections {
  const outbox = outboxSender();
  const base = { secret: SECRET, sender: outbox, clients: [CLIENT], rateLimits: false as const, ...shared };
  const customers = passwordless({ ...base, connection: 'customers' } as PasswordlessOptions);
  const staff = passwordless({
    ...base,
    connection: 'staff',
    disableSignup: true,
    users: { find: async (phone: string) => (phone === STAFF_PHONE ? { role: 'staff' } : null) },
    ...staffOptions,
  } as PasswordlessOptions);
  const app = express();
  app.use(session({ secret: 'session-secret', resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
  app.use('/customers', customers.router);
  app.use('/staff', staff.router);
  app.get('/customers/me', customers.requireAuth, (req, res) => res.json((req as Request & { user?: unknown }).user));
  app.get('/staff/me', staff.requireAuth, (req, res) => res.json((req as Request & { user?: unknown }).user));
  app.get('/staff/maybe', (req, res) => res.json({ user: staff.getUser(req) ?? null }));
  return { app, customers, staff, outbox };
}

async function customerLogin(t: TwoConnections, agent = request.agent(t.app)) {
  await agent
    .post('/customers/passwordless/start')
    .send({ client_id: CLIENT.clientId, connection: 'customers', phone_number: PHONE })
    .expect(200);
  await agent
    .post('/customers/passwordless/verify')
    .send({ client_id: CLIENT.clientId, connection: 'customers', phone_number: PHONE, verification_code: lastCode(t.outbox) })
    .expect(200);
  return agent;
}

describe('two instances in one app', () => {
  it("does not let one connection's session login through the other's requireAuth or getUser", async () => {
    const t = twoConnections();
    const agent = await customerLogin(t);
    assert.equal((await agent.get('/customers/me').expect(200)).body.phone_number, PHONE);
    await agent.get('/staff/me').expect(401);
    assert.deepEqual((await agent.get('/staff/maybe').expect(200)).body, { user: null });
  });

  it('logs a session out of requireAuth once the client that logged it in is disabled or removed', async () => {
    const store = memoryStore();
    const sessions = new session.MemoryStore();
    const outbox = outboxSender();
    const build = (clients: PasswordlessOptions['clients']) => {
      const pl = passwordless({ secret: SECRET, sender: outbox, clients, store, rateLimits: false });
      const app = express();
      app.use(session({ secret: 'session-secret', resave: false, saveUninitialized: false, store: sessions }));
      app.use(pl.router);
      app.get('/me', pl.requireAuth, (_req, res) => res.json({ ok: true }));
      return app;
    };
    const before = build([CLIENT, { clientId: 'other', name: 'Other' }]);
    const agent = request.agent(before);
    await agent.post('/passwordless/start').send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE }).expect(200);
    const login = await agent
      .post('/passwordless/verify')
      .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: lastCode(outbox) })
      .expect(200);
    const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0] as string;
    await agent.get('/me').expect(200);
    // The same sessions, served by an app whose configuration changed.
    await request(
      build([
        { ...CLIENT, enabled: false },
        { clientId: 'other', name: 'Other' },
      ]),
    )
      .get('/me')
      .set('cookie', cookie)
      .expect(401);
    await request(build([{ clientId: 'other', name: 'Other' }]))
      .get('/me')
      .set('cookie', cookie)
      .expect(401);
    await request(build([CLIENT]))
      .get('/me')
      .set('cookie', cookie)
      .expect(200);
  });

  it('takes a session an earlier release logged in (no record of its login) where its user_id is the one this instance gives', async () => {
    const outbox = outboxSender();
    const app = express();
    app.use(session({ secret: 'session-secret', resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
    // What an earlier release left in the session: the user alone, its id from the customers' secret.
    const userId = createKeyring([SECRET], SECRET).userId(PHONE);
    app.post('/earlier-release-login', (req, res) => {
      (req.session as unknown as Record<string, unknown>).passwordlessUser = { user_id: userId, phone_number: PHONE, phone_verified: true };
      res.json({});
    });
    const instances: Array<[string, string]> = [
      ['customers', SECRET],
      ['staff', `${SECRET}-staff`],
    ];
    for (const [connection, secret] of instances) {
      const pl = passwordless({ secret, sender: outbox, clients: [CLIENT], connection, rateLimits: false });
      app.get(`/${connection}/me`, pl.requireAuth, (_req, res) => res.json({ ok: true }));
    }
    const agent = request.agent(app);
    await agent.post('/earlier-release-login').expect(200);
    await agent.get('/customers/me').expect(200);
    await agent.get('/staff/me').expect(401);
  });

  describe('a code sent for one connection, with a shared store, secret and client', () => {
    let store: CodeStore;
    let t: TwoConnections;
    beforeEach(() => {
      store = memoryStore();
      const client = { ...CLIENT, ...SIGNING };
      t = twoConnections({ store, clients: [client], tokens: { issuer: ISSUER } }, { disableSignup: false, users: undefined });
    });

    async function customersCode(): Promise<string> {
      await request(t.app)
        .post('/customers/passwordless/start')
        .send({ client_id: CLIENT.clientId, client_secret: SIGNING.secret, connection: 'customers', phone_number: PHONE })
        .expect(200);
      return lastCode(t.outbox);
    }

    it("is wrong on the other connection's verify and token grant, and still right on its own", async () => {
      const code = await customersCode();
      const verify = await request(t.app).post('/staff/passwordless/verify').send({
        client_id: CLIENT.clientId,
        client_secret: SIGNING.secret,
        connection: 'staff',
        phone_number: PHONE,
        verification_code: code,
      });
      assert.equal(verify.status, 403, verify.text);
      assert.equal(verify.body.error, 'invalid_grant');
      const token = await request(t.app).post('/staff/oauth/token').send({
        grant_type: GRANT,
        client_id: CLIENT.clientId,
        client_secret: SIGNING.secret,
        username: PHONE,
        otp: code,
        realm: 'staff',
      });
      assert.equal(token.status, 403, token.text);
      assert.equal(token.body.error, 'invalid_grant');
      await request(t.app)
        .post('/customers/oauth/token')
        .send({
          grant_type: GRANT,
          client_id: CLIENT.clientId,
          client_secret: SIGNING.secret,
          username: PHONE,
          otp: code,
          realm: 'customers',
        })
        .expect(200);
    });
  });
});
