import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import twilio from 'twilio';
import { passwordless, sessionStore, twilioSender, PasswordlessError } from '../../lib';
import { outcomeUnknown } from '../../lib/errors';
import {
  ACCOUNT_SID,
  API_KEY,
  API_SECRET,
  AUTH_TOKEN,
  SERVICE_SID,
  useTwilioEmulator,
  type TwilioEmulator,
} from '../helpers/twilio-emulator';
import { CLIENT, PHONE, SECRET, makeApp, startBody, verifyBody } from '../helpers/app';

describe('twilioSender against the Twilio emulator', () => {
  const emulatorOf = useTwilioEmulator();
  let emulator: TwilioEmulator;
  beforeEach(() => {
    emulator = emulatorOf();
  });

  function appWith(sender: ReturnType<typeof twilioSender>) {
    const pl = passwordless({ secret: SECRET, sender, clients: [CLIENT], rateLimits: false });
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use(pl.router);
    return app;
  }

  /** Through the emulator's Messaging Service; `timeoutMs` when given. */
  const viaService = (timeoutMs?: number) =>
    twilioSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: SERVICE_SID,
      httpClient: emulator.httpClient(),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });

  it('sends through the Messages API with Basic auth, To, Body and MessagingServiceSid', async () => {
    const before = emulator.received.length;
    const res = await request(appWith(viaService()))
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+1 415 555 0123' }));
    assert.equal(res.status, 200);
    const sent = emulator.received[before];
    assert.ok(sent);
    assert.equal(sent.path, `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    assert.equal(sent.username, ACCOUNT_SID);
    assert.equal(sent.form.To, PHONE);
    assert.equal(sent.form.MessagingServiceSid, SERVICE_SID);
    assert.equal(sent.form.From, undefined);
    assert.match(sent.form.Body ?? '', /^Your verification code is: \d{6}$/);
  });

  it('sends From when configured with a sender number, and authenticates with an API key', async () => {
    const sender = twilioSender({
      accountSid: ACCOUNT_SID,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      from: '+14155550100',
      httpClient: emulator.httpClient(),
    });
    const result = await sender.send({
      to: PHONE,
      body: 'hello 123456',
      clientId: 'x',
      language: '',
      request: { ip: '127.0.0.1', userAgent: 'test' },
    });
    assert.match(result.id ?? '', /^SM[0-9a-f]{32}$/);
    const sent = emulator.received.at(-1);
    assert.equal(sent?.username, API_KEY);
    assert.equal(sent?.form.From, '+14155550100');
    assert.equal(sent?.form.MessagingServiceSid, undefined);
  });

  for (const code of [21211, 21408, 21610, 21612, 21614]) {
    it(`maps Twilio ${code} (destination refused) to 400 sms_provider_error with the code`, async () => {
      const to = `+1415555${String(code).slice(-4)}`;
      emulator.behave(to, { twilioError: code });
      const res = await request(appWith(viaService()))
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'sms_provider_error');
      assert.match(res.body.error_description, new RegExp(`\\(Code: ${code}\\)$`));
    });
  }

  for (const [label, behaviour, to] of [
    ['20003 (authentication)', { twilioError: 20003 }, '+14155552003'],
    ['20429 (too many requests)', { twilioError: 20429 }, '+14155552429'],
    ['an HTML 500', { status: 500 }, '+14155552500'],
    ['a 503', { status: 503 }, '+14155552503'],
  ] as const) {
    it(`maps ${label} to 502 sms_provider_error and leaves no pending code`, async () => {
      emulator.behave(to, behaviour);
      const app = appWith(viaService());
      const before = emulator.received.length;
      const res = await request(app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
      assert.equal(res.status, 502);
      assert.equal(res.body.error, 'sms_provider_error');
      // The code that was handed to Twilio (the emulator saw the request) is not pending: it does not log in.
      const attempts = emulator.received.slice(before).filter((r) => r.form.To === to);
      assert.equal(attempts.length, 1);
      const sent = /^Your verification code is: (\d{6})$/.exec(attempts[0]?.form.Body ?? '')?.[1];
      assert.ok(sent, `no code in ${attempts[0]?.form.Body}`);
      const verify = await request(app)
        .post('/passwordless/verify')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: to, verification_code: sent });
      assert.equal(verify.status, 403);
      assert.equal(verify.body.error, 'invalid_grant');
    });
  }

  it('answers 502 when Twilio is slower than timeoutMs, and does not retry', async () => {
    const to = '+14155557777';
    emulator.behave(to, { delayMs: 1500 });
    const sender = twilioSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: SERVICE_SID,
      timeoutMs: 200,
      httpClient: emulator.httpClient(),
    });
    const before = emulator.received.filter((m) => m.form.To === to).length;
    const res = await request(appWith(sender))
      .post('/passwordless/start')
      .send(startBody({ phone_number: to }));
    assert.equal(res.status, 502);
    assert.equal(res.body.error, 'sms_provider_error');
    // Causal, not timed: the emulator had not yet accepted the message when the answer came.
    assert.equal(emulator.lastMessage(to), undefined, 'answered before the slow reply arrived');
    // Once the slow reply is out, the emulator still saw exactly one request: no retry.
    while (!emulator.lastMessage(to)) await new Promise((r) => setTimeout(r, 50));
    assert.equal(emulator.received.filter((m) => m.form.To === to).length - before, 1, 'sent exactly once');
  });

  it('counts a send that timed out but was delivered late as a send: its code works, and the limits hold a slow provider to them', async () => {
    const to = '+14155557778';
    emulator.behave(to, { delayMs: 250 });
    const sender = viaService(150);
    // The default limits: a 30 s cooldown and 5 sends per number per hour.
    const t = makeApp({ logger: false, sender, rateLimits: undefined, fraudGuard: false });
    const start = () =>
      request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
    const timedOut = await start();
    assert.equal(timedOut.status, 502);
    assert.match(timedOut.body.error_description, /did not answer within 150 ms\. The SMS may still arrive/);
    // The slow reply comes, the SMS with it: its code logs in.
    while (!emulator.lastMessage(to)) await new Promise((r) => setTimeout(r, 50));
    const code = /\d{6}/.exec(emulator.lastMessage(to)?.body ?? '')?.[0] ?? '';
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { phone_number: to }))
      .expect(200);
    // It counted: the cooldown holds, and the hour's five sends are all a slow provider gets.
    assert.equal((await start()).status, 429);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      t.clock.advance(31_000);
      statuses.push((await start()).status);
    }
    assert.deepEqual(statuses, [502, 502, 502, 502, 429]);
    await t.pl.close();
  });

  it('counts a send reset after its request went out (its sender cannot learn more) as a send, code kept, until the grace passes', async () => {
    const reset = {
      name: 'reset',
      async send(): Promise<{ id?: string }> {
        throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'The SMS provider gave no answer.'));
      },
    };
    const t = makeApp({ logger: false, sender: reset, rateLimits: undefined, fraudGuard: false });
    const start = () => request(t.app).post('/passwordless/start').send(startBody());
    assert.equal((await start()).status, 502);
    assert.equal((await start()).status, 429, 'the cooldown holds: it may have gone out');
  });

  it('undoes a send of unknown outcome once its sender learns it did not go out: no code, and the limits given back', async () => {
    let wentOut: (went: boolean) => void = () => {};
    const codes: string[] = [];
    const hanging = {
      name: 'hanging',
      async send(message: { body: string }): Promise<{ id?: string }> {
        codes.push(/\d{6}/.exec(message.body)?.[0] ?? '');
        const late = new Promise<boolean>((resolve) => (wentOut = resolve));
        throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'The SMS provider did not answer.'), late);
      },
    };
    const t = makeApp({ logger: false, sender: hanging, rateLimits: undefined, fraudGuard: false });
    const start = () => request(t.app).post('/passwordless/start').send(startBody());
    assert.equal((await start()).status, 502);
    // Until the late outcome is known, it counts: the cooldown holds.
    assert.equal((await start()).status, 429);
    wentOut(false);
    await new Promise((r) => setTimeout(r, 50));
    // Known not to have gone out: its code is gone (no SMS carries it)...
    await request(t.app)
      .post('/passwordless/verify')
      .send(verifyBody(codes[0] as string))
      .expect(403);
    // ...and the limits given back, so the user can ask again at once.
    assert.equal((await start()).status, 502);
  });

  it("keeps a timed-out send's code for the browser that asked with sessionStore: its late SMS logs that browser in", async () => {
    const to = '+14155557780';
    emulator.behave(to, { delayMs: 250 });
    const sender = viaService(150);
    const t = makeApp({ logger: false, sender, store: sessionStore() });
    const browser = request.agent(t.app);
    assert.equal((await browser.post('/passwordless/start').send(startBody({ phone_number: to }))).status, 502);
    while (!emulator.lastMessage(to)) await new Promise((r) => setTimeout(r, 50));
    const code = /\d{6}/.exec(emulator.lastMessage(to)?.body ?? '')?.[0] ?? '';
    await browser
      .post('/passwordless/verify')
      .send(verifyBody(code, { phone_number: to }))
      .expect(200);
  });

  it('leaves no code and no cooldown when Twilio answered with a failure (the SMS did not go)', async () => {
    const to = '+14155557779';
    emulator.behave(to, { status: 503 });
    const t = makeApp({ sender: viaService(), rateLimits: undefined, fraudGuard: false });
    const start = () =>
      request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
    assert.equal((await start()).status, 502);
    assert.equal((await start()).status, 502, 'no cooldown after a send that certainly failed');
  });

  it("takes the SDK's network errors after the request went out (reset, timeouts) as sends that may still arrive, and a refused connection as none", async () => {
    const failing = (code: string) =>
      twilioSender({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        messagingServiceSid: SERVICE_SID,
        httpClient: { request: () => Promise.reject(Object.assign(new Error('socket trouble'), { code })) } as never,
      });
    for (const [code, mayArrive] of [
      ['ECONNRESET', true],
      ['ETIMEDOUT', true],
      ['ECONNABORTED', true],
      ['ESOCKETTIMEDOUT', true],
      ['ECONNREFUSED', false],
    ] as const) {
      const t = makeApp({ logger: false, sender: failing(code), rateLimits: undefined, fraudGuard: false });
      const start = () => request(t.app).post('/passwordless/start').send(startBody());
      const first = await start();
      assert.equal(first.status, 502, code);
      assert.equal(/may still arrive/.test(first.body.error_description), mayArrive, `${code}: ${first.body.error_description}`);
      // A send that may have gone out counts (the cooldown holds); one that certainly did not, does not.
      assert.equal((await start()).status, mayArrive ? 429 : 502, code);
      await t.pl.close();
    }
  });

  it("logs what Twilio said (its error code) with send_failed, unless the code's digits are in it", async () => {
    const events: Array<Record<string, unknown>> = [];
    const logger = { info: () => {}, warn: () => {}, error: (e: Record<string, unknown>) => void events.push(e) };
    // A Twilio-compatible API (or a proxy) that answers with an error code, honest or echoing the message's digits.
    const answering = (code: (body: string) => number) => ({
      messages: {
        create: async (params: { body: string }) => {
          throw Object.assign(new Error('refused'), { code: code(params.body), status: 400 });
        },
      },
    });
    const echoing = (body: string) => Number(/\d{5}$/.exec(body)?.[0]);
    for (const [client, logged] of [
      [answering(() => 30007), '30007'],
      [answering(echoing), undefined],
    ] as const) {
      events.length = 0;
      const t = makeApp({ logger, sender: twilioSender({ client: client as never, messagingServiceSid: SERVICE_SID }) });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(502);
      const failed = events.find((e) => e.event === 'send_failed');
      assert.ok(failed, JSON.stringify(events));
      assert.equal(failed.providerCode, logged);
    }
  });

  it('answers 502 when Twilio cannot be reached', async () => {
    const deadClient = new twilio.RequestClient({ autoRetry: false });
    const original = deadClient.request.bind(deadClient);
    // Port 9 (discard) has no listener here: the connection is refused.
    deadClient.request = ((opts: Parameters<typeof original>[0]) =>
      original({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, 'http://127.0.0.1:9') })) as typeof deadClient.request;
    const sender = twilioSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: SERVICE_SID,
      httpClient: deadClient,
    });
    await assert.rejects(
      sender.send({ to: PHONE, body: 'x', clientId: 'c', language: '', request: { ip: '127.0.0.1', userAgent: 'test' } }),
      (err: unknown) => err instanceof PasswordlessError && err.status === 502,
    );
  });

  it('refuses wrong credentials with 502 (Twilio 20003)', async () => {
    const sender = twilioSender({
      accountSid: ACCOUNT_SID,
      authToken: 'wrong',
      messagingServiceSid: SERVICE_SID,
      httpClient: emulator.httpClient(),
    });
    await assert.rejects(
      sender.send({ to: PHONE, body: 'x', clientId: 'c', language: '', request: { ip: '127.0.0.1', userAgent: 'test' } }),
      (err: unknown) => err instanceof PasswordlessError && err.status === 502 && /20003/.test(err.message),
    );
  });

  describe('validation at construction', () => {
    const base = { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, messagingServiceSid: SERVICE_SID };
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a malformed account SID', { ...base, accountSid: 'AC123' }, /accountSid.*"AC" followed by 32 hex/],
      ['a malformed messaging service SID', { ...base, messagingServiceSid: 'MG12' }, /messagingServiceSid.*"MG"/],
      [
        'a malformed API key',
        { accountSid: ACCOUNT_SID, apiKey: 'SKxyz', apiSecret: 's', messagingServiceSid: SERVICE_SID },
        /apiKey.*"SK"/,
      ],
      ['no auth token', { accountSid: ACCOUNT_SID, messagingServiceSid: SERVICE_SID }, /authToken.*required/],
      ['both from and messagingServiceSid', { ...base, from: '+14155550100' }, /exactly one/],
      ['neither from nor messagingServiceSid', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }, /exactly one/],
      ['an invalid from', { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: 'not a valid sender id' }, /from.*E\.164/],
      ['an unknown option', { ...base, acountSid: 'x' }, /acountSid.*not an option/],
      ['a timeout out of range', { ...base, timeoutMs: 5 }, /timeoutMs/],
      ['a statusCallback that is not a URL', { ...base, statusCallback: 'ftp:x' }, /statusCallback/],
    ];
    for (const [label, options, message] of cases) {
      it(`throws for ${label}`, () => {
        assert.throws(
          () => twilioSender(options as never),
          (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && message.test(err.message),
        );
      });
    }
    it('accepts an alphanumeric sender ID and a ready client, and sends with them', async () => {
      const message = { to: PHONE, body: 'code 123456', clientId: 'x', language: '', request: { ip: '127.0.0.1', userAgent: 'test' } };
      const alpha = twilioSender({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: 'ACME', httpClient: emulator.httpClient() });
      await alpha.send(message);
      assert.equal(emulator.received.at(-1)?.form.From, 'ACME');
      const calls: Array<Record<string, unknown>> = [];
      const client = { messages: { create: async (params: Record<string, unknown>) => (calls.push(params), { sid: 'SM1' }) } };
      const result = await twilioSender({ client: client as never, messagingServiceSid: SERVICE_SID }).send(message);
      assert.equal(result.id, 'SM1');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.to, PHONE);
      assert.equal(calls[0]?.messagingServiceSid, SERVICE_SID);
    });
  });
});
