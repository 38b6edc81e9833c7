import assert from 'node:assert/strict';
import request from 'supertest';
import { gatewaySender, PasswordlessError, type GatewaySenderOptions, type SmsMessage } from '../../lib';
import { isOutcomeUnknown, lateOutcomeOf } from '../../lib/errors';
import { closedPortUrl, startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';
import { PHONE, makeApp, startBody } from '../helpers/app';

const SECRET = 'gateway-shared-secret-0123456789abcdef';
const AUDIENCE = 'urn:MySmsGateway';
const SUBJECT = 'urn:Auth0';
const key = (s: string) => new TextEncoder().encode(s);

function message(extra: Partial<SmsMessage> = {}): SmsMessage {
  return {
    to: PHONE,
    body: 'Your verification code is: 493817',
    clientId: 'app',
    language: 'en',
    request: { ip: '203.0.113.9', userAgent: 'TestBrowser/1.0' },
    ...extra,
  };
}

function isProviderError(status: number, text: RegExp) {
  return (err: unknown) =>
    err instanceof PasswordlessError && err.code === 'sms_provider_error' && err.status === status && text.test(err.message);
}

describe('gatewaySender (Auth0 custom SMS gateway protocol)', () => {
  let gateway: SmsGateway;
  let open: SmsGateway;
  const bearer = (extra: Partial<NonNullable<GatewaySenderOptions['authentication']>> = {}): GatewaySenderOptions['authentication'] => ({
    method: 'bearer',
    subject: SUBJECT,
    audience: AUDIENCE,
    secret: SECRET,
    ...extra,
  });

  before(async () => {
    gateway = await startSmsGateway({ key: key(SECRET), audience: AUDIENCE, subject: SUBJECT });
    open = await startSmsGateway();
  });
  after(async () => {
    await gateway.close();
    await open.close();
  });

  it('posts recipient, body and sender as JSON with a Bearer HS256 JWT the gateway verifies (aud, sub, iat, exp within a minute)', async () => {
    const sender = gatewaySender({ url: gateway.url, from: '+14155550100', authentication: bearer() });
    const before = gateway.received.length;
    await sender.send(message());
    const got = gateway.received[before];
    assert.ok(got, `the gateway refused: ${gateway.refused.join(', ')}`);
    assert.equal(got.path, '/sms');
    assert.deepEqual(got.body, { recipient: PHONE, body: 'Your verification code is: 493817', sender: '+14155550100' });
    assert.equal(got.claims?.aud, AUDIENCE);
    assert.equal(got.claims?.sub, SUBJECT);
    const { iat, exp } = got.claims as { iat: number; exp: number };
    assert.ok(Math.abs(iat - Date.now() / 1000) < 5, 'iat is now');
    assert.ok(exp > iat && exp - iat <= 60, `exp is short (${exp - iat} s)`);
  });

  it('leaves out sender without `from`, req without forwardRequestInfo, and Authorization without authentication', async () => {
    await gatewaySender({ url: open.url }).send(message());
    const got = open.received.at(-1);
    assert.deepEqual(got?.body, { recipient: PHONE, body: 'Your verification code is: 493817' });
    assert.equal(got?.headers.authorization, undefined);
  });

  it("forwards the end user's ip and user agent as req with forwardRequestInfo", async () => {
    await gatewaySender({ url: open.url, forwardRequestInfo: true }).send(message());
    assert.deepEqual(open.received.at(-1)?.body.req, { ip: '203.0.113.9', 'user-agent': 'TestBrowser/1.0' });
  });

  it('leaves out sub when no subject is configured', async () => {
    const noSubject = await startSmsGateway({ key: key(SECRET), audience: AUDIENCE });
    try {
      await gatewaySender({ url: noSubject.url, authentication: { method: 'bearer', audience: AUDIENCE, secret: SECRET } }).send(message());
      assert.equal(noSubject.received.length, 1);
      assert.equal(noSubject.received[0]?.claims?.sub, undefined);
    } finally {
      await noSubject.close();
    }
  });

  describe('with a base64-encoded secret', () => {
    // 0xfb 0xff encode as "+/" in base64 and "-_" in base64url, so both spellings are exercised.
    const bytes = new Uint8Array([
      0xfb, 0xff, 0xbe, 0x10, 0x20, 0x30, 0xfb, 0xef, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
      0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
    ]);
    const base64 = Buffer.from(bytes).toString('base64');
    const base64url = Buffer.from(bytes).toString('base64url');
    let decoded: SmsGateway;
    before(async () => {
      assert.match(base64, /[+/]/);
      decoded = await startSmsGateway({ key: bytes, audience: AUDIENCE, subject: SUBJECT });
    });
    after(() => decoded.close());

    for (const [label, secret] of [
      ['base64', base64],
      ['base64url', base64url],
    ] as const) {
      it(`signs with the decoded key bytes of a ${label} secret`, async () => {
        const before = decoded.received.length;
        await gatewaySender({ url: decoded.url, authentication: bearer({ secret, secretBase64Encoded: true }) }).send(message());
        assert.equal(decoded.received.length, before + 1, `refused: ${decoded.refused.join(', ')}`);
      });
    }

    it('signs with the text itself when secretBase64Encoded is not set (the gateway refuses it)', async () => {
      const sender = gatewaySender({ url: decoded.url, authentication: bearer({ secret: base64 }) });
      await assert.rejects(sender.send(message()), isProviderError(502, /^Authentication failed while calling the SMS gateway: 401$/));
    });
  });

  describe("the gateway's message id", () => {
    const answers: Array<[string, string, string | undefined]> = [
      ['its id', JSON.stringify({ id: 'abc-1' }), 'abc-1'],
      ['its sid', JSON.stringify({ sid: 'SM42' }), 'SM42'],
      ['a numeric id', JSON.stringify({ id: 42 }), '42'],
      ['nothing for an answer without one', JSON.stringify({ ok: true }), undefined],
      ['nothing for a non-JSON answer', 'OK', undefined],
    ];
    for (const [label, answer, id] of answers) {
      it(`resolves ${label}`, async () => {
        const to = `+1415555${String(1000 + answers.findIndex((a) => a[0] === label))}`;
        open.behave(to, { answer });
        const result = await gatewaySender({ url: open.url }).send(message({ to }));
        assert.equal(result.id, id);
      });
    }
  });

  describe('failures, all 502 sms_provider_error without the message body', () => {
    const body = 'Your verification code is: 493817';
    const noBody = (err: unknown) => !(err as Error).message.includes('493817') && !(err as Error).message.includes(PHONE);

    for (const status of [500, 503, 400, 404]) {
      it(`rejects a ${status} answer with "Unexpected response while calling the SMS gateway: ${status}"`, async () => {
        const to = `+1415556${status}`;
        open.behave(to, { status });
        const rejected = gatewaySender({ url: open.url }).send(message({ to, body }));
        await assert.rejects(
          rejected,
          (err) => isProviderError(502, new RegExp(`^Unexpected response while calling the SMS gateway: ${status}$`))(err) && noBody(err),
        );
      });
    }

    it('rejects a 401 (token refused: wrong audience) with "Authentication failed while calling the SMS gateway: 401"', async () => {
      const sender = gatewaySender({ url: gateway.url, authentication: bearer({ audience: 'urn:SomeoneElse' }) });
      await assert.rejects(sender.send(message()), isProviderError(502, /^Authentication failed while calling the SMS gateway: 401$/));
      assert.equal(gateway.refused.at(-1), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('gives up on a gateway slower than timeoutMs, before its answer arrives, and aborts it after a grace as long again', async () => {
      const to = '+14155557001';
      open.behave(to, { delayMs: 2000 });
      const started = Date.now();
      let thrown: unknown;
      await assert.rejects(gatewaySender({ url: open.url, timeoutMs: 200 }).send(message({ to, body })), (err) => {
        thrown = err;
        // Marked as a send that may still go out: the login keeps its code and counts it.
        return isProviderError(502, /did not answer within 200 ms/)(err) && noBody(err) && isOutcomeUnknown(err);
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 1500, `gave up after ${elapsed} ms`);
      // No answer within the grace: aborted, and taken for a send that did not go out.
      assert.equal(await lateOutcomeOf(thrown), false);
    });

    it('learns from a late answer within the grace that a send that timed out went out after all', async () => {
      const to = '+14155557002';
      open.behave(to, { delayMs: 300 });
      let thrown: unknown;
      await assert.rejects(gatewaySender({ url: open.url, timeoutMs: 200 }).send(message({ to, body })), (err) => {
        thrown = err;
        return isOutcomeUnknown(err);
      });
      assert.equal(await lateOutcomeOf(thrown), true);
    });

    it('rejects when the gateway cannot be reached (connection refused), a send that certainly did not go', async () => {
      const sender = gatewaySender({ url: await closedPortUrl() });
      await assert.rejects(
        sender.send(message({ body })),
        (err) => isProviderError(502, /could not be reached \(ECONNREFUSED\)/)(err) && noBody(err) && !isOutcomeUnknown(err),
      );
    });
  });

  describe('through passwordless()', () => {
    it('sends the rendered message of a start request to the gateway, with the request info', async () => {
      const { app } = makeApp({
        sender: gatewaySender({ url: gateway.url, from: 'Acme', forwardRequestInfo: true, authentication: bearer() }),
      });
      const before = gateway.received.length;
      const res = await request(app).post('/passwordless/start').set('user-agent', 'E2E/2.0').send(startBody());
      assert.equal(res.status, 200);
      const got = gateway.received[before];
      assert.ok(got, `the gateway refused: ${gateway.refused.join(', ')}`);
      assert.equal(got.body.recipient, PHONE);
      assert.equal(got.body.sender, 'Acme');
      assert.match(String(got.body.body), /^Your verification code is: \d{6}$/);
      assert.deepEqual(Object.keys(got.body.req as object), ['ip', 'user-agent']);
      assert.equal((got.body.req as Record<string, string>)['user-agent'], 'E2E/2.0');
    });

    it("answers the client 502 sms_provider_error with Auth0's text when the gateway answers 500", async () => {
      const to = '+14155558500';
      open.behave(to, { status: 500 });
      const { app } = makeApp({ sender: gatewaySender({ url: open.url }) });
      const res = await request(app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
      assert.equal(res.status, 502);
      assert.deepEqual(res.body, {
        error: 'sms_provider_error',
        error_description: 'Unexpected response while calling the SMS gateway: 500',
      });
    });

    it('answers the client 502 with the authentication text when the gateway answers 401', async () => {
      const { app } = makeApp({ sender: gatewaySender({ url: gateway.url, authentication: bearer({ secret: 'not-the-shared-secret' }) }) });
      const res = await request(app).post('/passwordless/start').send(startBody());
      assert.equal(res.status, 502);
      assert.deepEqual(res.body, {
        error: 'sms_provider_error',
        error_description: 'Authentication failed while calling the SMS gateway: 401',
      });
    });
  });

  describe('validation at construction', () => {
    const url = 'http://127.0.0.1:1/sms';
    const cases: Array<[string, unknown, RegExp]> = [
      ['no options', undefined, /gatewaySender\(options\)/],
      ['an unknown option', { url, timeout: 5 }, /`gatewaySender\.timeout` is not an option/],
      ['a missing url', {}, /gatewaySender\.url.*absolute http\(s\) URL/],
      ['a relative url', { url: '/sms' }, /gatewaySender\.url/],
      ['a non-http url', { url: 'ftp://127.0.0.1/sms' }, /gatewaySender\.url/],
      ['a timeout below 100 ms', { url, timeoutMs: 99 }, /gatewaySender\.timeoutMs.*100 to 120000/],
      ['a timeout above 120 s', { url, timeoutMs: 120_001 }, /gatewaySender\.timeoutMs/],
      ['a fractional timeout', { url, timeoutMs: 1000.5 }, /gatewaySender\.timeoutMs/],
      ['an empty from', { url, from: '' }, /gatewaySender\.from/],
      ['a non-boolean forwardRequestInfo', { url, forwardRequestInfo: 'yes' }, /gatewaySender\.forwardRequestInfo/],
      [
        'an authentication method other than bearer',
        { url, authentication: { method: 'basic', audience: AUDIENCE, secret: SECRET } },
        /authentication\.method.*'bearer'/,
      ],
      ['an authentication without audience', { url, authentication: { method: 'bearer', secret: SECRET } }, /authentication\.audience/],
      ['an authentication without secret', { url, authentication: { method: 'bearer', audience: AUDIENCE } }, /authentication\.secret/],
      [
        'an unknown authentication key',
        { url, authentication: { method: 'bearer', audience: AUDIENCE, secret: SECRET, secret_base64_encoded: true } },
        /`gatewaySender\.authentication\.secret_base64_encoded` is not an option/,
      ],
      [
        'a secret that is not base64 although said to be',
        { url, authentication: { method: 'bearer', audience: AUDIENCE, secret: 'not base64!', secretBase64Encoded: true } },
        /authentication\.secret.*not base64/,
      ],
    ];
    for (const [label, options, text] of cases) {
      it(`throws invalid_option for ${label}`, () => {
        assert.throws(
          () => gatewaySender(options as GatewaySenderOptions),
          (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && text.test(err.message),
        );
      });
    }

    it('never quotes the secret in its errors', () => {
      const secret = 'sup3r$ecret value';
      assert.throws(
        () => gatewaySender({ url, authentication: { method: 'bearer', audience: AUDIENCE, secret, secretBase64Encoded: true } }),
        (err: unknown) => err instanceof PasswordlessError && !err.message.includes(secret),
      );
    });

    it('accepts the bounds of timeoutMs', () => {
      assert.equal(gatewaySender({ url, timeoutMs: 100 }).name, 'sms_gateway');
      assert.equal(gatewaySender({ url: 'https://sms.example.com/send', timeoutMs: 120_000 }).name, 'sms_gateway');
    });
  });
});
