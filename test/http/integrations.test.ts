/**
 * Features wired through `passwordless()` as an app uses them: Twilio delivery reports on
 * the statusCallback's path (also inside a failover sender), metrics in a prom-client
 * registry, and /userinfo verifying access tokens with the public key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { Registry } from 'prom-client';
import request from 'supertest';
import twilio from 'twilio';
import { PasswordlessError, fallbackSender, memoryStore, outboxSender, passwordless, twilioSender, type DeliveryReport } from '../../lib';
import { ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, startTwilioEmulator, type TwilioEmulator } from '../helpers/twilio-emulator';
import { createKeyring } from '../../lib/core/crypto';
import { resolveTokens } from '../../lib/tokens/config';
import { signAccessToken, verifyAccessToken } from '../../lib/tokens/sign';
import { CLIENT, PHONE, SECRET, lastCode, makeApp, startBody, verifyBody, wrongCodeFor, backendBody, otpGrant } from '../helpers/app';
import { recorder } from '../helpers/log';
import { outcomeUnknown } from '../../lib/errors';

const STATUS_URL = 'https://login.example.com/hooks/twilio-status';

describe('wired through passwordless()', () => {
  describe('Twilio delivery reports', () => {
    let emulator: TwilioEmulator;
    before(async () => {
      emulator = await startTwilioEmulator();
    });
    after(async () => {
      await emulator.close();
    });

    function appWith(sender: ReturnType<typeof twilioSender> | ReturnType<typeof fallbackSender>) {
      const r = recorder();
      const reports: DeliveryReport[] = [];
      const pl = passwordless({
        secret: SECRET,
        sender,
        clients: [CLIENT],
        rateLimits: false,
        logger: r.logger,
        onDeliveryStatus: (report) => void reports.push(report),
      });
      const app = express()
        .use(session({ secret: 's', resave: false, saveUninitialized: false }))
        .use(pl.router);
      return { app, reports, ...r };
    }

    /** A Twilio sender through the emulator that asks for delivery reports on STATUS_URL. */
    function reportingSender() {
      return twilioSender({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        messagingServiceSid: SERVICE_SID,
        statusCallback: STATUS_URL,
        httpClient: emulator.httpClient(),
      });
    }

    const params = {
      AccountSid: ACCOUNT_SID,
      MessageSid: `SM${'e5'.repeat(16)}`,
      MessageStatus: 'undelivered',
      ErrorCode: '30003',
      To: PHONE,
    };

    it('answers the statusCallback path: 204 to a signed report (hook called, event logged), 403 to a forged one', async () => {
      const sender = reportingSender();
      const t = appWith(sender);
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, STATUS_URL, params);
      await request(t.app).post('/hooks/twilio-status').type('form').set('x-twilio-signature', signature).send(params).expect(204);
      assert.equal(t.reports.length, 1);
      assert.equal(t.reports[0]?.status, 'undelivered');
      assert.ok(t.events.some((e) => e.event === 'delivery_status' && e.phone === '+1********23'));
      const forged = twilio.getExpectedTwilioSignature('not-the-auth-token', STATUS_URL, params);
      await request(t.app).post('/hooks/twilio-status').type('form').set('x-twilio-signature', forged).send(params).expect(403);
      await request(t.app).post('/hooks/twilio-status').type('form').send(params).expect(403);
      assert.equal(t.reports.length, 1);
    });

    it('answers the path of a Twilio sender inside fallbackSender too', async () => {
      const primary = reportingSender();
      const t = appWith(fallbackSender([primary, outboxSender()]));
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, STATUS_URL, params);
      await request(t.app).post('/hooks/twilio-status').type('form').set('x-twilio-signature', signature).send(params).expect(204);
      assert.equal(t.reports.length, 1);
    });
  });

  describe("the app's JSON settings", () => {
    it("answers as res.json would under json spaces, json replacer and json escape: a profile's markup is not sniffable", async () => {
      const t = makeApp({ users: { find: () => ({ name: '<img src=x onerror=alert(1)> & co' }) } }, (app) => {
        app.set('json spaces', 2);
        app.set('json escape', true);
        app.set('json replacer', (key: string, value: unknown) => (key === 'request_language' ? undefined : value));
      });
      const agent = request.agent(t.app);
      const started = await agent.post('/passwordless/start').send(startBody()).expect(200);
      assert.equal(started.text, JSON.stringify({ _id: started.body._id, phone_number: PHONE }, null, 2));
      const wrong = await agent
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(lastCode(t.outbox))))
        .expect(403);
      assert.equal(wrong.text, JSON.stringify(wrong.body, null, 2));
      const login = await agent
        .post('/passwordless/verify')
        .send(verifyBody(lastCode(t.outbox)))
        .expect(200);
      assert.equal(login.body.user.name, '<img src=x onerror=alert(1)> & co');
      assert.doesNotMatch(login.text, /[<>&]/);
      assert.match(login.text, /\\u003cimg src=x onerror=alert\(1\)\\u003e \\u0026 co/);
      assert.match(login.text, /^{\n {2}"user": {\n/);
    });
  });

  describe("the app's JSON settings, broken", () => {
    for (const [label, replacer] of [
      [
        'throws',
        () => {
          throw new Error('replacer bug');
        },
      ],
      ['drops the whole body', (key: string, value: unknown) => (key === '' ? undefined : value)],
    ] as const) {
      it(`answers as the contract writes it when the app's json replacer ${label}, and the process lives on`, async () => {
        const t = makeApp({}, (app) => app.set('json replacer', replacer));
        const agent = request.agent(t.app);
        const started = await agent.post('/passwordless/start').send(startBody()).expect(200);
        assert.equal(started.body.phone_number, PHONE);
        const unknown = await agent.post('/passwordless/start').send(startBody({ client_id: 'nobody' }));
        assert.equal(unknown.status, 400, unknown.text);
        assert.equal(unknown.body.error, 'bad.client_id');
        await agent
          .post('/passwordless/verify')
          .send(verifyBody(lastCode(t.outbox)))
          .expect(200);
      });
    }
  });

  describe('metrics', () => {
    async function values(registry: Registry, name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return (metric?.values ?? []) as Array<{ labels: Record<string, unknown>; value: number }>;
    }

    it('counts starts, sends by provider, verifies by outcome and limit refusals, with no number in a label', async () => {
      const registry = new Registry();
      const t = makeApp({ logger: false, metrics: { registry }, rateLimits: { resendCooldownSeconds: 30 } });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      await request(t.app).post('/passwordless/start').send(startBody()).expect(429);
      await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(lastCode(t.outbox))))
        .expect(403);
      await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(lastCode(t.outbox)))
        .expect(200);
      const sends = await values(registry, 'passwordless_sms_sends_total');
      assert.deepEqual(
        sends.filter((v) => v.value > 0).map((v) => [v.labels.provider, v.labels.outcome, v.labels.country_code, v.value]),
        [['outbox', 'ok', '1', 1]],
      );
      const verifies = Object.fromEntries((await values(registry, 'passwordless_verifies_total')).map((v) => [v.labels.outcome, v.value]));
      assert.equal(verifies.ok, 1);
      assert.equal(verifies.invalid, 1);
      const starts = Object.fromEntries((await values(registry, 'passwordless_starts_total')).map((v) => [v.labels.outcome, v.value]));
      assert.deepEqual(starts, { sent: 1, refused: 1, error: 0 });
      const refusals = await values(registry, 'passwordless_limit_refusals_total');
      assert.deepEqual(
        refusals.map((v) => [v.labels.limit, v.value]),
        [['resendCooldownSeconds', 1]],
      );
      assert.doesNotMatch(await registry.metrics(), /4155550123/);
    });

    it('counts a send with no answer in time as unknown (it may still arrive), apart from one that failed', async () => {
      const registry = new Registry();
      let unsure = true;
      const flaky = {
        name: 'flaky',
        async send(): Promise<{ id?: string }> {
          const err = new PasswordlessError('sms_provider_error', 502, 'The SMS provider did not answer.');
          throw unsure ? outcomeUnknown(err, Promise.resolve(true)) : err;
        },
      };
      const t = makeApp({ logger: false, metrics: { registry }, sender: flaky, rateLimits: false, fraudGuard: false });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(502);
      unsure = false;
      await request(t.app).post('/passwordless/start').send(startBody()).expect(502);
      const sends = await values(registry, 'passwordless_sms_sends_total');
      assert.deepEqual(sends.map((v) => [v.labels.provider, v.labels.outcome, v.value]).sort(), [
        ['flaky', 'failed', 1],
        ['flaky', 'unknown', 1],
      ]);
      await t.pl.close();
    });
  });

  it('counts a verify answered 503 as an error, and every store failure', async () => {
    const registry = new Registry();
    const store = memoryStore();
    const t = makeApp({ logger: false, metrics: { registry }, store });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    store.verify = () => Promise.reject(new Error('ECONNRESET'));
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(lastCode(t.outbox)))
      .expect(503);
    // A store that gives up at its deadline answers with the 503 itself.
    store.verify = () => Promise.reject(new PasswordlessError('temporarily_unavailable', 503, 'timed out'));
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(lastCode(t.outbox)))
      .expect(503);
    const text = await registry.metrics();
    assert.match(text, /^passwordless_verifies_total\{outcome="error"\} 2$/m);
    assert.match(text, /^passwordless_store_errors_total 2$/m);
  });

  describe('/userinfo', () => {
    it('verifies access tokens with the public key, and logs what is not a token problem', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const r = recorder();
      const t = makeApp({
        logger: r.logger,
        tokens: {
          issuer: 'https://auth.example.com/',
          signingKeys: [{ privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), kid: 'k1' }],
        },
      });
      await request(t.app).post('/passwordless/start').send(backendBody()).expect(200);
      const token = await request(t.app)
        .post('/oauth/token')
        .send(otpGrant(lastCode(t.outbox)));
      assert.equal(token.status, 200, token.text);
      const info = await request(t.app).get('/userinfo').set('authorization', `Bearer ${token.body.access_token}`);
      assert.equal(info.status, 200);
      assert.equal(info.body.phone_number, PHONE);
      // A garbled token is the client's problem: 401, nothing logged.
      await request(t.app).get('/userinfo').set('authorization', 'Bearer abc.def.ghi').expect(401);
      assert.equal(r.events.filter((e) => e.event === 'internal_error').length, 0);
    });

    it('needs only the public key to verify (the private key is never used for it)', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const tokens = resolveTokens(
        {
          issuer: 'https://auth.example.com/',
          signingKeys: [{ privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), kid: 'k1' }],
        },
        createKeyring([SECRET], SECRET),
      );
      assert.ok(tokens);
      const client = {
        clientId: 'c',
        name: 'C',
        secret: undefined,
        enabled: true,
        idTokenAlg: 'ES256' as const,
        otpGrant: true,
        guessproofSecret: false,
      };
      const now = Date.now();
      const token = await signAccessToken(
        tokens,
        client,
        { user_id: 'sms|1', phone_number: PHONE, phone_verified: true },
        undefined,
        'openid',
        now,
      );
      const publicOnly = { ...tokens, keys: tokens.keys.map((k) => ({ ...k, privateKey: undefined as never })) };
      const claims = await verifyAccessToken(publicOnly, token, now);
      assert.equal(claims.sub, 'sms|1');
    });
  });
});
