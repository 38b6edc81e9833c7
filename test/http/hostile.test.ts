/**
 * Hostile input: random and adversarial bodies against start, verify and logout never give
 * a 500, never crash, never log in, never send to an invalid number, and always answer with
 * an error of the contract (413 for an oversized body).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { parsePhone } from '../../lib/core/phone';
import { makeApp, startBody, verifyBody } from '../helpers/app';

const CONTRACT_ERRORS = new Set([
  'bad.client_id',
  'bad.connection',
  'bad.phone_number',
  'bad.send',
  'bad.authParams',
  'bad.request',
  'bad.verification_code',
  'unauthorized_client',
  'invalid_grant',
  'too_many_attempts',
  'too_many_requests',
  'sms_provider_error',
]);

const FIELDS = ['client_id', 'connection', 'phone_number', 'send', 'client_secret', 'authParams', 'verification_code'];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'client_id[]', 'a.b'];

const nastyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '+１４１５５５５０１２３', // full-width digits
    '+١٤١٥٥٥٥٠١٢٣', // Arabic-Indic digits
    '+1415555\u00000123',
    '+1\u202e4155550123',
    "{{ code }}{% include '/etc/passwd' %}",
    '{% for i in (1..100000000) %}x{% endfor %}',
    '+14155550123\r\nX-Injected: 1',
    'app-public',
    'sms',
    '+14155550123',
    'code',
    '123456',
    '0'.repeat(5000),
  ),
);

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string()), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const body = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS, ...HOSTILE_KEYS), fc.string()), value, { maxKeys: 8 }),
  // Mostly-valid bodies with one field replaced: these reach deeper checks.
  fc.tuple(fc.constantFrom(...FIELDS), value).map(([k, v]) => ({ ...startBody(), [k]: v })),
  fc.tuple(fc.constantFrom(...FIELDS), value).map(([k, v]) => ({ ...verifyBody('123456'), [k]: v })),
  value,
);

type Encoding = 'json' | 'form' | 'raw';

function encode(req: request.Test, encoding: Encoding, payload: unknown, contentType: string): request.Test {
  if (encoding === 'json') return req.set('content-type', 'application/json').send(JSON.stringify(payload) ?? 'null');
  if (encoding === 'form') return req.type('form').send(payload && typeof payload === 'object' ? (payload as object) : String(payload));
  return req.set('content-type', contentType).send(typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? ''));
}

function assertContractError(res: request.Response): void {
  assert.notEqual(res.status, 500, res.text);
  assert.ok(res.status < 500, `status ${res.status}: ${res.text}`);
  if (res.status === 204) return;
  assert.match(String(res.headers['content-type']), /application\/json/, res.text);
  if (res.status === 200) return;
  assert.ok(CONTRACT_ERRORS.has(res.body.error), `error ${res.body.error}`);
  assert.equal(typeof res.body.error_description, 'string');
  if (res.status === 413) assert.equal(res.body.error, 'bad.request');
}

describe('hostile input (property-based)', function () {
  this.timeout(120_000);

  for (const route of ['/passwordless/start', '/passwordless/verify', '/passwordless/logout']) {
    it(`${route}: never a 500, never a login, always a contract error, never a message to an invalid number`, async () => {
      // An app of this test's own: no other test's messages or codes are in it.
      const t = makeApp({ rateLimits: false, logger: false });
      await fc.assert(
        fc.asyncProperty(
          body,
          fc.constantFrom<Encoding>('json', 'form', 'raw'),
          fc.constantFrom(
            'text/plain',
            'application/xml',
            'application/json; charset=utf-16',
            'multipart/form-data',
            'application/x-www-form-urlencoded',
          ),
          async (payload, encoding, contentType) => {
            const newest = t.outbox.last();
            const res = await encode(request(t.app).post(route), encoding, payload, contentType);
            assertContractError(res);
            if (route === '/passwordless/verify') assert.notEqual(res.status, 200, 'no login from random input');
            const sent = t.outbox.last();
            if (res.status === 200 && route === '/passwordless/start') {
              assert.equal(parsePhone(res.body.phone_number)?.e164, res.body.phone_number);
              // The message went out, to exactly the number answered.
              assert.notEqual(sent, newest, 'a 200 start sent a message');
              assert.equal(sent?.to, res.body.phone_number);
            } else {
              assert.equal(sent, newest, `no message without a 200 start (status ${res.status})`);
            }
            // Every message that left went to a valid number in E.164.
            if (sent) assert.equal(parsePhone(sent.to)?.e164, sent.to);
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});

describe('hostile input (fixed corpus)', () => {
  const t = makeApp({ rateLimits: false });
  const post = (path: string) => request(t.app).post(path);

  const corpus: Array<[string, () => request.Test, number, string]> = [
    [
      '__proto__ as a property',
      () =>
        post('/passwordless/start')
          .set('content-type', 'application/json')
          .send('{"__proto__":{"client_id":"app-public"},"connection":"sms","phone_number":"+14155550123"}'),
      400,
      'bad.request',
    ],
    [
      'constructor.prototype pollution attempt',
      () => post('/passwordless/verify').set('content-type', 'application/json').send('{"constructor":{"prototype":{"user":"x"}}}'),
      400,
      'bad.request',
    ],
    [
      'urlencoded __proto__',
      () => post('/passwordless/start').type('form').send('__proto__[client_id]=app-public&connection=sms'),
      400,
      'bad.request',
    ],
    [
      'an array phone number',
      () => post('/passwordless/start').send(startBody({ phone_number: ['+14155550123'] })),
      400,
      'bad.phone_number',
    ],
    [
      'an object phone number',
      () => post('/passwordless/start').send(startBody({ phone_number: { toString: '+14155550123' } })),
      400,
      'bad.phone_number',
    ],
    [
      'urlencoded array phone number',
      () =>
        post('/passwordless/start')
          .type('form')
          .send('client_id=app-public&connection=sms&phone_number[]=%2B14155550123&phone_number[]=%2B14155550124'),
      400,
      'bad.phone_number',
    ],
    [
      'an array verification code',
      () => post('/passwordless/verify').send(verifyBody(['123456'] as unknown as string)),
      400,
      'bad.verification_code',
    ],
    [
      'a numeric verification code',
      () => post('/passwordless/verify').send(verifyBody(123456 as unknown as string)),
      400,
      'bad.verification_code',
    ],
    [
      'Liquid in the phone number',
      () => post('/passwordless/start').send(startBody({ phone_number: '{{ code }}' })),
      400,
      'bad.phone_number',
    ],
    [
      'a huge phone number',
      () => post('/passwordless/start').send(startBody({ phone_number: '+1'.padEnd(7000, '5') })),
      400,
      'bad.phone_number',
    ],
    [
      'control characters in the number',
      () => post('/passwordless/start').send(startBody({ phone_number: '+1415\u0000555\u00070123' })),
      400,
      'bad.phone_number',
    ],
    [
      'a body over the size limit',
      () => post('/passwordless/start').send(startBody({ client_secret: 'x'.repeat(100_000) })),
      413,
      'bad.request',
    ],
    ['a JSON string body', () => post('/passwordless/start').set('content-type', 'application/json').send('"hello"'), 400, 'bad.request'],
    ['JSON null', () => post('/passwordless/start').set('content-type', 'application/json').send('null'), 400, 'bad.request'],
    [
      'a UTF-16 charset',
      () => post('/passwordless/start').set('content-type', 'application/json; charset=utf-16').send('{}'),
      400,
      'bad.request',
    ],
    [
      'deeply nested urlencoded',
      () =>
        post('/passwordless/start')
          .type('form')
          .send('authParams[a][b][c][d][e][f]=1&client_id=app-public&connection=sms&phone_number=%2B14155550123'),
      400,
      'bad.request',
    ],
    [
      'too many urlencoded parameters',
      () =>
        post('/passwordless/start')
          .type('form')
          .send(Array.from({ length: 50 }, (_, i) => `p${i}=1`).join('&')),
      413,
      'bad.request',
    ],
    ['an empty body', () => post('/passwordless/verify'), 400, 'bad.request'],
  ];
  for (const [label, send, status, error] of corpus) {
    it(`answers ${label} with ${status}${error ? ` ${error}` : ''}`, async () => {
      const res = await send();
      assert.equal(res.status, status, res.text);
      if (error) assert.equal(res.body.error, error);
      assertContractError(res);
    });
  }

  it('tells a JSON body that is valid but not an object (a number, a string, null) to send an object, not that it is malformed', async () => {
    for (const body of ['123', '"hello"', 'null', 'true']) {
      const res = await post('/passwordless/start').set('content-type', 'application/json').send(body);
      assert.equal(res.status, 400, body);
      assert.deepEqual(res.body, {
        error: 'bad.request',
        error_description: 'Send the parameters as a JSON object or an urlencoded form.',
      });
    }
    const broken = await post('/passwordless/start').set('content-type', 'application/json').send('{"client_id":');
    assert.equal(broken.body.error_description, 'The request body is not valid JSON.');
  });

  it('is not polluted by __proto__ or constructor.prototype bodies (Object.prototype stays clean)', async () => {
    // Sends the pollution attempts itself, so it proves something when run alone.
    await post('/passwordless/start')
      .set('content-type', 'application/json')
      .send('{"__proto__":{"client_id":"app-public","polluted":1},"connection":"sms","phone_number":"+14155550123"}');
    await post('/passwordless/verify')
      .set('content-type', 'application/json')
      .send('{"constructor":{"prototype":{"user":"x","polluted":1}}}');
    await post('/passwordless/start').type('form').send('__proto__[client_id]=app-public&__proto__[polluted]=1&connection=sms');
    await post('/passwordless/verify').type('form').send('constructor[prototype][polluted]=1&client_id=app-public');
    for (const key of ['client_id', 'user', 'polluted']) assert.equal(({} as Record<string, unknown>)[key], undefined, key);
    // A clean request afterwards is judged on its own body only.
    const res = await post('/passwordless/start').send({ connection: 'sms', phone_number: '+14155550123' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'bad.client_id');
  });
});
