/**
 * The login core's rules as users meet them through the routes: test numbers, the trusted
 * auth0-forwarded-for, disableSignup without enumeration, secret rotation with stable user
 * ids, background sends, and the core called directly without Express.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Express } from 'express';
import { memoryLimits, memoryStore, outboxSender, PasswordlessError, type SmsSender } from '../../lib';
import { resolveOptions } from '../../lib/config/options';
import { createLogin } from '../../lib/core/login';
import {
  CONFIDENTIAL,
  OTHER_PHONE,
  PHONE,
  SECRET,
  lastCode,
  loggedInAgent,
  makeApp,
  startBody,
  verifyBody,
  wrongCodeFor,
  backendBody,
  otpGrant,
  type TestApp,
} from '../helpers/app';
import { only } from '../helpers/limits';
import { recorder } from '../helpers/log';

const TEST_NUMBER = '+15005550006';

describe('login core', () => {
  describe('testNumbers', () => {
    /** A start and a verify of the test number through the routes. */
    const startTest = (t: TestApp) =>
      request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: TEST_NUMBER }));
    const verifyTest = (t: TestApp, code: string) =>
      request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(code, { phone_number: TEST_NUMBER }));

    it('sends no SMS, logs in with the fixed code, and logs test_number_used', async () => {
      const r = recorder();
      const t = makeApp({ logger: r.logger, testNumbers: { '+1 500 555 0006': '424242' } });
      await startTest(t).expect(200);
      assert.equal(t.outbox.messages.length, 0);
      const res = await verifyTest(t, '424242').expect(200);
      assert.equal(res.body.user.phone_number, TEST_NUMBER);
      assert.equal(r.events.filter((e) => e.event === 'test_number_used').length, 1);
    });

    it('is a decoy like any unknown number under disableSignup when users.find does not know it: logged as unknown_user, its code refused', async () => {
      const r = recorder();
      const users = { find: async () => null };
      const t = makeApp({ logger: r.logger, disableSignup: true, users, testNumbers: { [TEST_NUMBER]: '424242' } });
      await startTest(t).expect(200);
      await verifyTest(t, '424242').expect(403);
      assert.deepEqual(
        r.events.filter((e) => e.event === 'test_number_used' || e.reason === 'unknown_user').map((e) => e.event),
        ['login_failed'],
      );
    });

    it('keeps the limits: the cooldown and the attempt limit apply', async () => {
      const t = makeApp({ logger: false, rateLimits: { resendCooldownSeconds: 30 }, testNumbers: { [TEST_NUMBER]: '424242' } });
      await startTest(t).expect(200);
      await startTest(t).expect(429);
      for (let i = 0; i < 3; i += 1) await verifyTest(t, '111111').expect(403);
      await verifyTest(t, '424242').expect(429);
    });

    it('works on the token grant too', async () => {
      const t = makeApp({ logger: false, testNumbers: { [TEST_NUMBER]: '424242' }, tokens: { issuer: 'https://auth.example.com/' } });
      await request(t.app)
        .post('/passwordless/start')
        .send(backendBody({ phone_number: TEST_NUMBER }))
        .expect(200);
      const res = await request(t.app).post('/oauth/token').send(otpGrant('424242', TEST_NUMBER));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.id_token);
    });

    it('refuses a fixed code of the wrong length, and warns under NODE_ENV=production', () => {
      assert.throws(() => makeApp({ testNumbers: { [TEST_NUMBER]: '4242' } }), /testNumbers\.\+15005550006` must be a string of 6 digits/);
      const r = recorder();
      const previous = process.env.NODE_ENV;
      process.env.NODE_ENV = 'production';
      try {
        makeApp({
          logger: r.logger,
          secret: 'kU8q2mV1zP0sR7tW4yX6aB9cD3eF5gH1jK2lM4nO',
          clients: [{ clientId: 'app-public', name: 'Acme Web' }],
          testNumbers: { [TEST_NUMBER]: '424242' },
        });
      } finally {
        process.env.NODE_ENV = previous;
      }
      assert.ok(r.events.some((e) => e.event === 'config_warning' && /testNumbers/.test(String(e.message))));
    });
  });

  describe('auth0-forwarded-for', () => {
    const forwarded = (_ip: string, extra: Record<string, unknown> = {}) => ({
      client_id: CONFIDENTIAL.clientId,
      client_secret: CONFIDENTIAL.secret,
      connection: 'sms',
      ...extra,
    });
    /** A start from the confidential client, naming the end user's address in `auth0-forwarded-for`. */
    const startFor = (app: Express, value: string, phone: string) =>
      request(app)
        .post('/passwordless/start')
        .set('auth0-forwarded-for', value)
        .send({ ...forwarded(value), phone_number: phone });

    it("counts a confidential client's starts per end-user address, and hands it to the sender", async () => {
      const seen: string[] = [];
      const outbox = outboxSender();
      const sender: SmsSender = {
        async send(m) {
          seen.push(m.request.ip);
          return outbox.send(m);
        },
      };
      const t = makeApp({ logger: false, sender, rateLimits: { startsPerIpPerHour: 1, resendCooldownSeconds: 0 } });
      await startFor(t.app, '203.0.113.1', '+14155550101').expect(200);
      await startFor(t.app, '203.0.113.2', '+14155550102').expect(200);
      await startFor(t.app, '203.0.113.1', '+14155550103').expect(429);
      assert.deepEqual(seen, ['203.0.113.1', '203.0.113.2']);
    });

    it('is ignored from a public client and from a wrong secret', async () => {
      const t = makeApp({ logger: false, rateLimits: { startsPerIpPerHour: 1, resendCooldownSeconds: 0 } });
      await request(t.app)
        .post('/passwordless/start')
        .set('auth0-forwarded-for', '203.0.113.1')
        .send(startBody({ phone_number: '+14155550101' }))
        .expect(200);
      await request(t.app)
        .post('/passwordless/start')
        .set('auth0-forwarded-for', '203.0.113.2')
        .send(startBody({ phone_number: '+14155550102' }))
        .expect(429);
      const wrong = await request(t.app)
        .post('/passwordless/start')
        .set('auth0-forwarded-for', '203.0.113.3')
        .send({ ...forwarded('x'), client_secret: 'nope', phone_number: '+14155550103' });
      assert.equal(wrong.status, 401);
    });

    it('is ignored when it is not an IP address', async () => {
      const t = makeApp({ logger: false, rateLimits: { startsPerIpPerHour: 1, resendCooldownSeconds: 0 } });
      await startFor(t.app, 'not-an-ip', '+14155550101').expect(200);
      await startFor(t.app, 'also not', '+14155550102').expect(429);
    });
  });

  describe('disableSignup', () => {
    const known = new Set([PHONE]);
    const users = { find: (phone: string) => (known.has(phone) ? { user_id: `db|${phone}` } : null) };

    it('answers an unknown number exactly as a registered one, through the attempt limit', async () => {
      const transcript = async (phone: string) => {
        const t = makeApp({ logger: false, users, disableSignup: true });
        const start = await request(t.app)
          .post('/passwordless/start')
          .send(startBody({ phone_number: phone }));
        const answers = [{ status: start.status, keys: Object.keys(start.body).sort() }];
        for (let i = 0; i < 4; i += 1) {
          const res = await request(t.app)
            .post('/passwordless/verify')
            .send(verifyBody('000000', { phone_number: phone }));
          answers.push({ status: res.status, keys: [res.body.error, res.body.error_description] });
        }
        return { answers, sent: t.outbox.messages.length };
      };
      const registered = await transcript(PHONE);
      const unknown = await transcript('+14155550199');
      assert.deepEqual(unknown.answers, registered.answers);
      assert.deepEqual(
        registered.answers.map((a) => a.status),
        [200, 403, 403, 403, 429],
      );
      assert.equal(registered.sent, 1);
      assert.equal(unknown.sent, 0);
    });

    it('answers a right code for a user removed since the start exactly as a wrong code', async () => {
      const present = new Set([PHONE]);
      const t = makeApp({
        logger: false,
        disableSignup: true,
        users: { find: (phone: string) => (present.has(phone) ? { name: 'Known' } : null) },
      });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(t.outbox);
      const wrong = await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(code)));
      present.delete(PHONE);
      const removed = await request(t.app).post('/passwordless/verify').send(verifyBody(code));
      assert.deepEqual({ status: removed.status, body: removed.body }, { status: wrong.status, body: wrong.body });
      assert.equal(removed.headers['set-cookie'], undefined, 'nobody was logged in');
    });

    it("makes an unknown number's start wait about as long as recent real sends took", async () => {
      const slow: SmsSender = {
        async send() {
          await new Promise((r) => setTimeout(r, 120));
          return { id: 'SM1' };
        },
      };
      const t = makeApp({ logger: false, sender: slow, users, disableSignup: true });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      const began = Date.now();
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550199' }))
        .expect(200);
      // Not a performance threshold: the unknown path must not answer in a fraction of the send.
      assert.ok(Date.now() - began >= 80, `answered in ${Date.now() - began} ms`);
    });
  });

  describe('sendInBackground', () => {
    it("keeps a registered number's failed send counted under disableSignup, as a decoy's is: a retry tells nothing", async () => {
      const sender: SmsSender = {
        async send() {
          throw new PasswordlessError('sms_provider_error', 502, 'down');
        },
      };
      const t = makeApp({
        logger: false,
        sender,
        sendInBackground: true,
        disableSignup: true,
        users: { find: (phone: string) => (phone === PHONE ? { name: 'Known' } : null) },
        rateLimits: { resendCooldownSeconds: 30 },
      });
      const startAs = (phone: string) =>
        request(t.app)
          .post('/passwordless/start')
          .send(startBody({ phone_number: phone }));
      const statuses: number[] = [];
      for (const phone of [PHONE, '+14155550199']) {
        statuses.push((await startAs(phone)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
        statuses.push((await startAs(phone)).status);
      }
      assert.deepEqual(statuses, [200, 429, 200, 429]);
      await t.pl.close();
    });

    it('answers before the provider does, and a failure gives the limits back and leaves no code', async () => {
      const r = recorder();
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      const sender: SmsSender = {
        async send() {
          await gate;
          throw new PasswordlessError('sms_provider_error', 502, 'down');
        },
      };
      const t = makeApp({ logger: r.logger, sender, sendInBackground: true, rateLimits: { resendCooldownSeconds: 30 } });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      release();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(r.events.some((e) => e.event === 'send_failed'));
      // The cooldown was given back: a new start is accepted at once.
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    });
  });

  describe('sendInBackground and close()', () => {
    it('waits in close() for a start still storing its code, and the send it then makes', async () => {
      const delivered: string[] = [];
      const sender: SmsSender = {
        async send(message) {
          delivered.push(message.to);
          return { id: 'SM1' };
        },
      };
      const store = memoryStore();
      const save = store.save.bind(store);
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      store.save = async (key, record, ctx) => {
        await held;
        return save(key, record, ctx);
      };
      const t = makeApp({ logger: false, sender, sendInBackground: true, store });
      const started = request(t.app)
        .post('/passwordless/start')
        .send(startBody())
        .then((res) => res.status);
      await new Promise((resolve) => setTimeout(resolve, 20));
      let closed = false;
      const closing = t.pl.close().then(() => (closed = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(closed, false, 'close() resolved while a start was storing its code');
      release();
      await closing;
      assert.equal(await started, 200);
      assert.deepEqual(delivered, [PHONE]);
    });

    it('leaves an injected store and limit store open in close(): another instance sharing them keeps its codes and counts', async () => {
      const store = memoryStore();
      const limitStore = memoryLimits();
      const shared = { logger: false as const, store, limitStore, rateLimits: only({ resendCooldownSeconds: 30 }) };
      const a = makeApp(shared);
      const b = makeApp(shared);
      await request(b.app).post('/passwordless/start').send(startBody()).expect(200);
      await a.pl.close();
      // The cooldown counted by b still holds, and b's code still logs in.
      await request(b.app).post('/passwordless/start').send(startBody()).expect(429);
      await request(b.app)
        .post('/passwordless/verify')
        .send(verifyBody(lastCode(b.outbox)))
        .expect(200);
    });

    it('waits in close() for the sends still in flight, those started while it waits too', async () => {
      const gates: Array<() => void> = [];
      const delivered: string[] = [];
      const sender: SmsSender = {
        async send(message) {
          await new Promise<void>((resolve) => gates.push(resolve));
          delivered.push(message.to);
          return { id: 'SM1' };
        },
      };
      const t = makeApp({ logger: false, sender, sendInBackground: true });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      let closed = false;
      const closing = t.pl.close().then(() => (closed = true));
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: OTHER_PHONE }))
        .expect(200);
      gates[0]?.();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(closed, false, 'close() resolved while a send started during it was in flight');
      gates[1]?.();
      await closing;
      assert.deepEqual(delivered, [PHONE, OTHER_PHONE]);
    });
  });

  describe('secret rotation', () => {
    it('accepts codes pending under the previous secret and keeps user ids', async () => {
      const store = memoryStore();
      const before = makeApp({ logger: false, secret: SECRET, store });
      await request(before.app).post('/passwordless/start').send(startBody()).expect(200);
      const pendingCode = lastCode(before.outbox);
      const first = await request(before.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550150' }));
      assert.equal(first.status, 200);
      const idBefore = (
        await request(before.app)
          .post('/passwordless/verify')
          .send(verifyBody(lastCode(before.outbox), { phone_number: '+14155550150' }))
      ).body.user.user_id;

      const after = makeApp({ logger: false, secret: ['a-brand-new-secret-0123456789abcdefgh', SECRET], store });
      await request(after.app).post('/passwordless/verify').send(verifyBody(pendingCode)).expect(200);
      await request(after.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550150' }))
        .expect(200);
      const idAfter = (
        await request(after.app)
          .post('/passwordless/verify')
          .send(verifyBody(lastCode(after.outbox), { phone_number: '+14155550150' }))
      ).body.user.user_id;
      assert.equal(idAfter, idBefore);
    });

    it('counts wrong codes against a code pending under the previous secret, like any other', async () => {
      const store = memoryStore();
      const limitStore = memoryLimits();
      const rateLimits = only({ failedVerifiesPerPhonePerHour: 2 });
      const before = makeApp({ logger: false, secret: SECRET, store, limitStore, rateLimits, otp: { maxAttempts: 10 } });
      await request(before.app).post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(before.outbox);
      const after = makeApp({
        logger: false,
        secret: ['a-brand-new-secret-0123456789abcdefgh', SECRET],
        store,
        limitStore,
        rateLimits,
        otp: { maxAttempts: 10 },
      });
      await request(after.app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(code)))
        .expect(403);
      await request(after.app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(code)))
        .expect(403);
      await request(after.app).post('/passwordless/verify').send(verifyBody(code)).expect(429);
    });

    it('signs new codes with the first secret only', async () => {
      const store = memoryStore();
      const rotated = makeApp({ logger: false, secret: ['a-brand-new-secret-0123456789abcdefgh', SECRET], store });
      await request(rotated.app).post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(rotated.outbox);
      const old = makeApp({ logger: false, secret: SECRET, store });
      await request(old.app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
    });

    it('keeps user ids when userIdSecret names the original secret after it left the list', async () => {
      const a = makeApp({ logger: false, secret: SECRET });
      await request(a.app).post('/passwordless/start').send(startBody()).expect(200);
      const id = (
        await request(a.app)
          .post('/passwordless/verify')
          .send(verifyBody(lastCode(a.outbox)))
      ).body.user.user_id;
      const b = makeApp({ logger: false, secret: 'a-brand-new-secret-0123456789abcdefgh', userIdSecret: SECRET });
      await request(b.app).post('/passwordless/start').send(startBody()).expect(200);
      assert.equal(
        (
          await request(b.app)
            .post('/passwordless/verify')
            .send(verifyBody(lastCode(b.outbox)))
        ).body.user.user_id,
        id,
      );
    });
  });

  it('says in the log when close() stops waiting for a send that never settles, instead of dropping it silently', async () => {
    const r = recorder();
    const never = { name: 'never', send: () => new Promise<{ id?: string }>(() => {}) };
    const login = createLogin(
      resolveOptions({
        secret: SECRET,
        sender: never,
        clients: [{ clientId: 'cli', name: 'CLI' }],
        logger: r.logger,
        sendInBackground: true,
      }),
    );
    const request = { ip: '192.0.2.1', userAgent: 'test', headers: {} };
    await login.start({ clientId: 'cli', connection: 'sms', phoneNumber: PHONE, request });
    await login.close(50);
    const said = r.events.filter((e) => e.event === 'internal_error').map((e) => String(e.message));
    assert.equal(said.length, 1, JSON.stringify(r.events));
    assert.match(said[0] as string, /close\(\) stopped waiting after 0\.05 s with 1 background send\(s\) still in flight/);
  });

  describe('without Express', () => {
    it('starts and redeems through createLogin with plain inputs', async () => {
      const outbox = outboxSender();
      const login = createLogin(
        resolveOptions({ secret: SECRET, sender: outbox, clients: [{ clientId: 'cli', name: 'CLI' }], logger: false }),
      );
      const request = { ip: '192.0.2.1', userAgent: 'test', headers: { requestLanguage: 'en' } };
      const started = await login.start({ clientId: 'cli', connection: 'sms', phoneNumber: PHONE, request });
      assert.equal(started.phoneNumber, PHONE);
      const client = await login.authenticate({ clientId: 'cli', connection: 'sms' }, request.ip);
      const code = lastCode(outbox);
      await assert.rejects(
        login.redeem({ client, phone: PHONE, code: wrongCodeFor(code), request }),
        (e: unknown) => e instanceof PasswordlessError && e.status === 403,
      );
      const { user } = await login.redeem({ client, phone: PHONE, code, request });
      assert.match(user.user_id, /^sms\|[0-9a-f]{24}$/);
    });
  });
});

describe('a custom CodeStore written in JavaScript', () => {
  /** memoryStore's answers, but given as plain values, or a call that throws before any promise. */
  function jsStore(throwOn?: 'save' | 'verify') {
    const inner = memoryStore();
    return {
      save(...args: Parameters<typeof inner.save>) {
        if (throwOn === 'save') throw new Error('disk full');
        void inner.save(...args);
        return undefined as unknown as Promise<void>;
      },
      verify(...args: Parameters<typeof inner.verify>) {
        if (throwOn === 'verify') throw new Error('connection reset');
        return inner.verify(...args);
      },
      remove: (...args: Parameters<typeof inner.remove>) => inner.remove(...args),
    };
  }

  it('works when it answers with plain values instead of promises', async () => {
    const agent = await loggedInAgent(makeApp({ store: jsStore() }));
    const me = await agent.get('/me').expect(200);
    assert.equal(me.body.user.phone_number, PHONE);
  });

  for (const where of ['save', 'verify'] as const) {
    it(`answers 503, logged as store_error, when its ${where} throws before returning a promise`, async () => {
      const { logger, events } = recorder();
      const t = makeApp({ store: jsStore(where), logger });
      const res = await request(t.app)
        .post(`/passwordless/${where === 'save' ? 'start' : 'verify'}`)
        .send(where === 'save' ? startBody() : verifyBody('123456'));
      assert.equal(res.status, 503);
      assert.ok(events.some((e) => e.event === 'store_error' && /disk full|connection reset/.test(String(e.message))));
    });
  }
});
