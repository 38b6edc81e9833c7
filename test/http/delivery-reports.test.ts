import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import twilio from 'twilio';
import session from 'express-session';
import { PasswordlessError, fallbackSender, passwordless, twilioSender, type DeliveryReport } from '../../lib';
import { CLIENT, SECRET } from '../helpers/app';
import { deliveryReportHandler, deliveryReportPath, signable, signedBy } from '../../lib/http/delivery-reports';
import {
  ACCOUNT_SID,
  API_KEY,
  API_SECRET,
  AUTH_TOKEN,
  SERVICE_SID,
  useTwilioEmulator,
  type TwilioEmulator,
} from '../helpers/twilio-emulator';

const URL_ = 'https://example.com/twilio/status';
const TO = '+14155550123';
const SID = `SM${'d4'.repeat(16)}`;

interface Entry {
  level: 'info' | 'warn' | 'error';
  event: Record<string, unknown>;
}

/** A logger that keeps what it is given, to read the events back. */
function recordingLogger() {
  const entries: Entry[] = [];
  const record = (level: Entry['level']) => (event: Record<string, unknown>) => {
    entries.push({ level, event });
  };
  return { entries, logger: { info: record('info'), warn: record('warn'), error: record('error') } };
}

/** What Twilio posts for a message status change. */
function statusParams(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    From: '+14155550100',
    MessageSid: SID,
    MessageStatus: 'delivered',
    SmsSid: SID,
    SmsStatus: 'delivered',
    To: TO,
    ...extra,
  };
}

function sign(params: Record<string, string>, url = URL_, token = AUTH_TOKEN): string {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

function appWith(onDeliveryStatus?: (report: DeliveryReport) => void | Promise<void>) {
  const { entries, logger } = recordingLogger();
  const app = express();
  app.post(
    deliveryReportPath(URL_),
    deliveryReportHandler({ url: URL_, authToken: AUTH_TOKEN, logger, ...(onDeliveryStatus ? { onDeliveryStatus } : {}) }),
  );
  return { app, entries };
}

function post(app: express.Express, params: Record<string, string>, signature?: string) {
  const req = request(app).post('/twilio/status').type('form');
  if (signature !== undefined) req.set('X-Twilio-Signature', signature);
  return req.send(new URLSearchParams(params).toString());
}

describe('Twilio delivery reports', () => {
  it('mounts at the path of the configured URL', () => {
    assert.equal(deliveryReportPath('https://example.com/hooks/twilio/status?x=1'), '/hooks/twilio/status');
  });

  it('answers 204 to a signed report, logs delivery_status with the number masked, and calls the hook', async () => {
    const reports: DeliveryReport[] = [];
    const { app, entries } = appWith((report) => {
      reports.push(report);
    });
    const params = statusParams();
    const res = await post(app, params, sign(params));
    assert.equal(res.status, 204);
    assert.deepEqual(entries, [
      { level: 'info', event: { event: 'delivery_status', messageSid: SID, status: 'delivered', phone: '+1********23' } },
    ]);
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0], { messageSid: SID, status: 'delivered', to: TO, params });
  });

  it('logs failed and undelivered at warn with the error code, and hands the code to the hook', async () => {
    for (const status of ['failed', 'undelivered']) {
      const reports: DeliveryReport[] = [];
      const { app, entries } = appWith((report) => {
        reports.push(report);
      });
      const params = statusParams({ MessageStatus: status, SmsStatus: status, ErrorCode: '30007' });
      const res = await post(app, params, sign(params));
      assert.equal(res.status, 204);
      assert.deepEqual(entries, [
        { level: 'warn', event: { event: 'delivery_status', messageSid: SID, status, errorCode: 30007, phone: '+1********23' } },
      ]);
      assert.equal(reports[0]?.errorCode, 30007);
    }
  });

  it('never logs the number unmasked', async () => {
    const { app, entries } = appWith(() => {
      throw new Error(`no pending login for ${TO}`);
    });
    const params = statusParams({ MessageStatus: 'undelivered', ErrorCode: '30003' });
    await post(app, params, sign(params));
    assert.ok(entries.length >= 2);
    assert.doesNotMatch(JSON.stringify(entries), /4155550123/);
  });

  const refusals: Array<[string, (params: Record<string, string>) => string | undefined, Record<string, string>?]> = [
    ['a forged signature', () => 'bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=='],
    ['a signature for another URL', (params) => sign(params, 'https://example.com/other/status')],
    ['a signature made with another auth token', (params) => sign(params, URL_, 'another-auth-token-0123456789abcd')],
    ['tampered parameters', (params) => sign({ ...params, MessageStatus: 'failed' })],
    ['no X-Twilio-Signature header', () => undefined],
  ];
  for (const [label, signatureFor] of refusals) {
    it(`refuses ${label} with 403 unauthorized and does not call the hook`, async () => {
      let called = 0;
      const { app, entries } = appWith(() => {
        called += 1;
      });
      const params = statusParams();
      const res = await post(app, params, signatureFor(params));
      assert.equal(res.status, 403);
      assert.equal(res.body.error, 'unauthorized');
      assert.match(res.body.error_description, /X-Twilio-Signature/);
      assert.equal(called, 0);
      assert.equal(entries.filter((e) => e.event.event === 'delivery_status').length, 0);
      assert.equal(entries.filter((e) => e.event.event === 'delivery_report_refused' && e.level === 'warn').length, 1);
    });
  }

  it('refuses a parameter added to a signed report', async () => {
    let called = 0;
    const { app } = appWith(() => {
      called += 1;
    });
    const params = statusParams();
    const res = await post(app, { ...params, ErrorCode: '30007' }, sign(params));
    assert.equal(res.status, 403);
    assert.equal(called, 0);
  });

  it('checks the signature over the whole configured URL, query string included', async () => {
    const url = 'https://example.com/twilio/status?tenant=acme';
    const { logger } = recordingLogger();
    const app = express();
    app.post(deliveryReportPath(url), deliveryReportHandler({ url, authToken: AUTH_TOKEN, logger }));
    const params = statusParams();
    assert.equal((await post(app, params, sign(params, url))).status, 204);
    assert.equal((await post(app, params, sign(params, URL_))).status, 403);
  });

  it('still answers 204 when the hook throws, and logs hook_error', async () => {
    const { app, entries } = appWith(async () => {
      throw new Error('database down');
    });
    const params = statusParams();
    const res = await post(app, params, sign(params));
    assert.equal(res.status, 204);
    const hookErrors = entries.filter((e) => e.event.event === 'hook_error');
    assert.deepEqual(hookErrors, [
      { level: 'error', event: { event: 'hook_error', hook: 'onDeliveryStatus', messageSid: SID, message: 'database down' } },
    ]);
  });

  it('waits for an async hook before answering', async () => {
    let done = false;
    const { app } = appWith(async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      done = true;
    });
    const params = statusParams();
    await post(app, params, sign(params));
    assert.equal(done, true);
  });

  it('answers 204 to a signed request that is not a message status, and warns instead of calling the hook', async () => {
    let called = 0;
    const { app, entries } = appWith(() => {
      called += 1;
    });
    const { MessageStatus: _dropped, ...params } = statusParams();
    const res = await post(app, params, sign(params));
    assert.equal(res.status, 204);
    assert.equal(called, 0);
    assert.deepEqual(
      entries.map((e) => [e.level, e.event.event, e.event.reason]),
      [['warn', 'delivery_report_ignored', 'not_a_message_status']],
    );
  });

  it('answers 405 to anything but POST', async () => {
    const { entries, logger } = recordingLogger();
    const app = express();
    app.all(deliveryReportPath(URL_), deliveryReportHandler({ url: URL_, authToken: AUTH_TOKEN, logger }));
    const res = await request(app).get('/twilio/status');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.equal(entries.length, 0);
  });

  it("refuses with 403, never a 500, an unsigned body the app's own parsers made objects of", async () => {
    const { entries, logger } = recordingLogger();
    const sender = twilioSender({ accountSid: ACCOUNT_SID, messagingServiceSid: SERVICE_SID, authToken: AUTH_TOKEN, statusCallback: URL_ });
    const pl = passwordless({ secret: SECRET, sender, clients: [CLIENT], logger });
    const app = express()
      .use(express.urlencoded({ extended: true }))
      .use(express.json())
      .use(pl.router);
    const answers = [
      await request(app).post('/twilio/status').set('X-Twilio-Signature', 'x').type('form').send('x[toString]=1&To=%2B14155550123'),
      await request(app).post('/twilio/status').set('X-Twilio-Signature', 'x').type('form').send('To[]=a&To[]=b'),
      await request(app)
        .post('/twilio/status')
        .set('X-Twilio-Signature', 'x')
        .send({ x: { toString: 1 }, To: TO }),
      await request(app).post('/twilio/status').set('X-Twilio-Signature', 'x').send(['To', TO]),
    ];
    assert.deepEqual(
      answers.map((r) => [r.status, r.body.error]),
      answers.map(() => [403, 'unauthorized']),
    );
    assert.deepEqual(
      entries.filter((e) => e.level === 'error').map((e) => e.event.event),
      [],
    );
  });

  it('signs only strings and lists of strings, and takes a throwing signature check for no signature', () => {
    assert.deepEqual(signable({ To: TO, Tags: ['a', 'b'] }), { To: TO, Tags: ['a', 'b'] });
    assert.deepEqual(signable(undefined), {});
    for (const body of [{ x: { toString: 1 } }, { To: [TO, 1] }, { n: 5 }, ['To', TO], 'To=x']) assert.equal(signable(body), undefined);
    const throwing = {
      validateRequest: () => {
        throw new TypeError('Cannot convert object to primitive value');
      },
    } as unknown as Parameters<typeof signedBy>[0];
    assert.equal(signedBy(throwing, { url: URL_, authToken: AUTH_TOKEN }, 'x', { To: TO }), false);
    assert.equal(signedBy(twilio, { url: URL_, authToken: AUTH_TOKEN }, sign(statusParams()), statusParams()), true);
  });

  it('refuses a body over 16 kB before checking anything', async () => {
    const { app } = appWith();
    const params = statusParams({ Body: 'x'.repeat(17 * 1024) });
    const res = await post(app, params, sign(params));
    assert.equal(res.status, 413);
  });

  describe('options', () => {
    const logger = recordingLogger().logger;
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a relative URL', { url: '/twilio/status', authToken: AUTH_TOKEN, logger }, /deliveryReportHandler\.url/],
      ['no auth token', { url: URL_, authToken: '', logger }, /deliveryReportHandler\.authToken/],
      ['a hook that is not a function', { url: URL_, authToken: AUTH_TOKEN, logger, onDeliveryStatus: 'x' }, /onDeliveryStatus/],
      ['an unknown option', { url: URL_, authToken: AUTH_TOKEN, logger, secret: 'x' }, /deliveryReportHandler\.secret/],
    ];
    for (const [label, options, message] of cases) {
      it(`throws for ${label}`, () => {
        assert.throws(
          () => deliveryReportHandler(options as never),
          (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && message.test(err.message),
        );
      });
    }
  });
});

describe('twilioSender with statusCallback', () => {
  const base = { accountSid: ACCOUNT_SID, messagingServiceSid: SERVICE_SID };

  it('exposes where delivery reports arrive and the auth token that signs them', () => {
    const sender = twilioSender({ ...base, authToken: AUTH_TOKEN, statusCallback: URL_ });
    assert.deepEqual(sender.deliveryReports, { url: URL_, authToken: AUTH_TOKEN });
    // Not enumerable: logging the sender does not print the token.
    assert.doesNotMatch(JSON.stringify(sender), new RegExp(AUTH_TOKEN));
  });

  for (const [mount, url] of [
    ['/', 'https://example.com/twilio/status'],
    ['/auth', 'https://example.com/auth/twilio/status'],
    ['/auth', 'https://example.com/auth/hooks/(twilio)/:status*'],
  ] as const) {
    it(`answers delivery reports at the URL's own path, with the router mounted at ${mount} (${new URL(url).pathname})`, async () => {
      const sender = twilioSender({ ...base, authToken: AUTH_TOKEN, statusCallback: url });
      const pl = passwordless({ secret: SECRET, sender, clients: [CLIENT], logger: false });
      const app = express();
      app.use(session({ secret: 'session-secret', resave: false, saveUninitialized: false }));
      app.use(mount, pl.router);
      const params = statusParams();
      await request(app)
        .post(new URL(url).pathname)
        .type('form')
        .set('X-Twilio-Signature', sign(params, url))
        .send(new URLSearchParams(params).toString())
        .expect(204);
    });
  }

  it('takes reports signed by either account when two failover members share one statusCallback', async () => {
    const OTHER_TOKEN = 'another-accounts-auth-token-0123';
    const first = twilioSender({ ...base, authToken: AUTH_TOKEN, statusCallback: URL_ });
    const second = twilioSender({ ...base, authToken: OTHER_TOKEN, statusCallback: URL_ });
    const pl = passwordless({ secret: SECRET, sender: fallbackSender([first, second]), clients: [CLIENT], logger: false });
    const app = express().use(pl.router);
    const params = statusParams();
    const report = (token: string) =>
      request(app)
        .post('/twilio/status')
        .type('form')
        .set('X-Twilio-Signature', sign(params, URL_, token))
        .send(new URLSearchParams(params).toString());
    await report(AUTH_TOKEN).expect(204);
    await report(OTHER_TOKEN).expect(204);
    await report('not-either-accounts-token-012345').expect(403);
  });

  it('checks each failover account against its own statusCallback URL when they share a path', async () => {
    const OTHER_TOKEN = 'another-accounts-auth-token-0123';
    const firstUrl = `${URL_}?account=1`;
    const secondUrl = `${URL_}?account=2`;
    const first = twilioSender({ ...base, authToken: AUTH_TOKEN, statusCallback: firstUrl });
    const second = twilioSender({ ...base, authToken: OTHER_TOKEN, statusCallback: secondUrl });
    const pl = passwordless({ secret: SECRET, sender: fallbackSender([first, second]), clients: [CLIENT], logger: false });
    const app = express().use(pl.router);
    const params = statusParams();
    const report = (url: string, token: string) =>
      request(app)
        .post(new URL(url).pathname + new URL(url).search)
        .type('form')
        .set('X-Twilio-Signature', sign(params, url, token))
        .send(new URLSearchParams(params).toString());
    await report(firstUrl, AUTH_TOKEN).expect(204);
    await report(secondUrl, OTHER_TOKEN).expect(204);
    // A signature is over its own account's URL: the second token over the first URL is no report.
    await report(firstUrl, OTHER_TOKEN).expect(403);
  });

  it('has no deliveryReports without statusCallback', () => {
    assert.equal(twilioSender({ ...base, authToken: AUTH_TOKEN }).deliveryReports, undefined);
  });

  it('uses webhookAuthToken with an API key', () => {
    const sender = twilioSender({ ...base, apiKey: API_KEY, apiSecret: API_SECRET, statusCallback: URL_, webhookAuthToken: AUTH_TOKEN });
    assert.deepEqual(sender.deliveryReports, { url: URL_, authToken: AUTH_TOKEN });
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'an API key without webhookAuthToken',
      { ...base, apiKey: API_KEY, apiSecret: API_SECRET, statusCallback: URL_ },
      /webhookAuthToken.*required with `statusCallback`/,
    ],
    [
      'a ready client without webhookAuthToken',
      { client: { messages: { create: async () => ({ sid: 'SM1' }) } }, messagingServiceSid: SERVICE_SID, statusCallback: URL_ },
      /webhookAuthToken.*required/,
    ],
    ['an empty webhookAuthToken', { ...base, authToken: AUTH_TOKEN, statusCallback: URL_, webhookAuthToken: '' }, /webhookAuthToken/],
    ['a relative statusCallback', { ...base, authToken: AUTH_TOKEN, statusCallback: '/twilio/status' }, /statusCallback.*absolute/],
    ['a scheme-only statusCallback', { ...base, authToken: AUTH_TOKEN, statusCallback: 'https:example.com/x' }, /statusCallback.*absolute/],
  ];
  for (const [label, options, message] of refused) {
    it(`throws at construction for ${label}`, () => {
      assert.throws(
        () => twilioSender(options as never),
        (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && message.test(err.message),
      );
    });
  }

  describe('against the Twilio emulator', () => {
    const emulatorOf = useTwilioEmulator();
    let emulator: TwilioEmulator;
    beforeEach(() => {
      emulator = emulatorOf();
    });

    it('sends StatusCallback with each message', async () => {
      const sender = twilioSender({ ...base, authToken: AUTH_TOKEN, statusCallback: URL_, httpClient: emulator.httpClient() });
      await sender.send({ to: TO, body: 'Your code 123456', clientId: 'c', language: '', request: { ip: '127.0.0.1', userAgent: 'test' } });
      const sent = emulator.received.at(-1);
      assert.equal(sent?.form.To, TO);
      assert.equal(sent?.form.StatusCallback, URL_);
    });

    it('sends no StatusCallback without the option', async () => {
      const sender = twilioSender({ ...base, authToken: AUTH_TOKEN, httpClient: emulator.httpClient() });
      await sender.send({ to: TO, body: 'Your code 123456', clientId: 'c', language: '', request: { ip: '127.0.0.1', userAgent: 'test' } });
      assert.equal(emulator.received.at(-1)?.form.StatusCallback, undefined);
    });
  });
});
