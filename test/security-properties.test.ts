/**
 * Mutation guards: one test per security property, each written so that it fails when the
 * property is taken out of lib (the report of the audit names the mutation each was checked
 * against). Time is the injected clock; nothing here depends on how fast the machine is.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { PasswordlessError, memoryStore, type CodeRecord, type CodeStore, type Logger, type SmsSender, type StoreContext } from '../lib';
import { OTHER_PHONE, PHONE, lastCode, makeApp, startBody, verifyBody, wrongCodeFor } from './helpers/app';

const SECOND_SECRET = 'another-secret-that-is-long-enough-9876543210';
const UNKNOWN = '+14155550999';
const UNKNOWN_NEVER_STARTED = '+14155550998';

const verify = (app: Parameters<typeof request>[0], code: string, phone = PHONE) =>
  request(app)
    .post('/passwordless/verify')
    .send(verifyBody(code, { phone_number: phone }));
const start = (app: Parameters<typeof request>[0], phone = PHONE) =>
  request(app)
    .post('/passwordless/start')
    .send(startBody({ phone_number: phone }));

/** A memoryStore that also remembers what it was asked to save, as lib handed it over. */
function recordingStore(): CodeStore & { saved: Array<{ key: string; record: CodeRecord; ctx: StoreContext }>; inner: CodeStore } {
  const inner = memoryStore();
  const saved: Array<{ key: string; record: CodeRecord; ctx: StoreContext }> = [];
  return {
    saved,
    inner,
    async save(key, record, ctx) {
      saved.push({ key, record: { ...record }, ctx });
      await inner.save(key, record, ctx);
    },
    verify: (key, hash, ctx) => inner.verify(key, hash, ctx),
    remove: (key, ctx) => inner.remove(key, ctx),
  };
}

/** Everything about an answer a client can observe, except the Date header. */
function observable(res: request.Response): string {
  const headers = Object.entries(res.headers)
    .filter(([name]) => name !== 'date')
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify({ status: res.status, headers, body: res.text });
}

describe('security properties (mutation guards)', () => {
  it('a code logs in once: the second use of the right code is refused', async () => {
    const t = makeApp({ logger: false });
    await start(t.app).expect(200);
    const code = lastCode(t.outbox);
    const first = await verify(t.app, code);
    assert.equal(first.status, 200);
    const again = await request.agent(t.app).post('/passwordless/verify').send(verifyBody(code));
    assert.equal(again.status, 403);
    assert.equal(again.body.error, 'invalid_grant');
  });

  it('a code expires on the injected clock: it works at ttl - 1 s and not at ttl + 1 s', async () => {
    const ttlMs = 60_000;
    const early = makeApp({ logger: false, otp: { ttlSeconds: 60 } });
    await start(early.app).expect(200);
    early.clock.advance(ttlMs - 1000);
    assert.equal((await verify(early.app, lastCode(early.outbox))).status, 200, 'the code works until its ttl');

    const late = makeApp({ logger: false, otp: { ttlSeconds: 60 } });
    await start(late.app).expect(200);
    late.clock.advance(ttlMs + 1000);
    const res = await verify(late.app, lastCode(late.outbox));
    assert.equal(res.status, 403, 'the code is refused after its ttl');
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('a code is void after otp.maxAttempts wrong entries, and not one entry sooner', async () => {
    const maxAttempts = 3;
    const almost = makeApp({ logger: false, otp: { maxAttempts } });
    await start(almost.app).expect(200);
    const code = lastCode(almost.outbox);
    for (let i = 0; i < maxAttempts - 1; i += 1) assert.equal((await verify(almost.app, wrongCodeFor(code))).status, 403);
    assert.equal((await verify(almost.app, code)).status, 200, 'maxAttempts - 1 wrong entries leave the code usable');

    const spent = makeApp({ logger: false, otp: { maxAttempts } });
    await start(spent.app).expect(200);
    const spentCode = lastCode(spent.outbox);
    for (let i = 0; i < maxAttempts; i += 1) assert.equal((await verify(spent.app, wrongCodeFor(spentCode))).status, 403);
    const res = await verify(spent.app, spentCode);
    assert.equal(res.status, 429, 'the right code after maxAttempts wrong entries');
    assert.equal(res.body.error, 'too_many_attempts');
  });

  it('wrong, expired and never-sent codes get byte-identical answers for registered and unknown numbers', async () => {
    // disableSignup: PHONE and OTHER_PHONE are users, UNKNOWN and UNKNOWN_NEVER_STARTED are not.
    const users = { find: async (phone: string) => ([PHONE, OTHER_PHONE].includes(phone) ? { name: 'Known' } : null) };
    const t = makeApp({ logger: false, disableSignup: true, users, otp: { maxAttempts: 3 } });
    await start(t.app, PHONE).expect(200);
    await start(t.app, UNKNOWN).expect(200);
    const code = lastCode(t.outbox, PHONE);
    assert.equal(t.outbox.messages.length, 1, 'only the registered number got an SMS');

    const answers: Record<string, string> = {
      'wrong, registered': observable(await verify(t.app, wrongCodeFor(code), PHONE)),
      'wrong, unknown': observable(await verify(t.app, wrongCodeFor(code), UNKNOWN)),
      'never sent, registered': observable(await verify(t.app, code, OTHER_PHONE)),
      'never sent, unknown': observable(await verify(t.app, code, UNKNOWN_NEVER_STARTED)),
    };
    t.clock.advance(181_000);
    answers['expired, registered'] = observable(await verify(t.app, code, PHONE));
    answers['expired, unknown'] = observable(await verify(t.app, code, UNKNOWN));
    const reference = answers['wrong, registered'] as string;
    assert.match(reference, /"status":403/);
    assert.match(reference, /Wrong phone number or verification code/);
    for (const [label, answer] of Object.entries(answers)) assert.equal(answer, reference, label);

    // Spending a code: a registered number's code and an unknown number's (a decoy) run out alike.
    const u = makeApp({ logger: false, disableSignup: true, users, otp: { maxAttempts: 3 } });
    await start(u.app, PHONE).expect(200);
    await start(u.app, UNKNOWN).expect(200);
    const registered: string[] = [];
    const unknown: string[] = [];
    const guess = wrongCodeFor(lastCode(u.outbox, PHONE));
    for (let i = 0; i < 4; i += 1) {
      registered.push(observable(await verify(u.app, guess, PHONE)));
      unknown.push(observable(await verify(u.app, guess, UNKNOWN)));
    }
    assert.match(registered[3] as string, /"status":429/, 'the registered code is spent');
    assert.deepEqual(unknown, registered);
  });

  for (const [label, outcome, settleMs] of [
    ['fails', () => Promise.reject(new PasswordlessError('sms_provider_error', 502, 'down')), 20],
    ['never answers (its timeoutMs passes)', () => new Promise<never>(() => undefined), 400],
  ] as const) {
    it(`under disableSignup with sendInBackground, a registered number whose send ${label} runs out its code as a decoy does`, async () => {
      const users = { find: async (phone: string) => (phone === PHONE ? { name: 'Known' } : null) };
      const bodies: string[] = [];
      const sender = {
        send: (m: { body: string }) => {
          bodies.push(m.body);
          return outcome();
        },
        timeoutMs: 100,
      };
      const t = makeApp({ logger: false, disableSignup: true, sendInBackground: true, users, sender, otp: { maxAttempts: 3 } });
      await start(t.app, PHONE).expect(200);
      await start(t.app, UNKNOWN).expect(200);
      // The background send has failed, or timed out and been given up on, by now.
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const registered: string[] = [];
      const unknown: string[] = [];
      const guess = wrongCodeFor(/\d{6}/.exec(bodies[0] ?? '')?.[0] ?? '');
      for (let i = 0; i < 4; i += 1) {
        registered.push(observable(await verify(t.app, guess, PHONE)));
        unknown.push(observable(await verify(t.app, guess, UNKNOWN)));
      }
      assert.equal(bodies.length, 1, 'only the registered number was sent to');
      assert.match(unknown[3] as string, /"status":429/, 'the decoy ran out');
      assert.deepEqual(registered, unknown);
      await t.pl.close();
    });
  }

  it('never puts a code in a response body, a response header or a log line', async () => {
    const lines: string[] = [];
    const capture = (event: Record<string, unknown>, message?: string) => void lines.push(`${JSON.stringify(event)} ${message ?? ''}`);
    const logger: Logger = { info: capture, warn: capture, error: capture };
    const codes: string[] = [];
    let failWith: ((body: string) => Error) | undefined;
    const sender: SmsSender = {
      async send(message) {
        codes.push((/\d{10}/.exec(message.body) ?? [''])[0]);
        if (failWith) throw failWith(message.body);
        return { id: 'SM1' };
      },
    };
    // Ten digits: no id, ETag or date can hold one by chance.
    const t = makeApp({ logger, sender, otp: { length: 10, maxAttempts: 3 } });
    const responses: request.Response[] = [];
    const agent = request.agent(t.app);
    responses.push(await agent.post('/passwordless/start').send(startBody()));
    const code = codes[0] as string;
    responses.push(await agent.post('/passwordless/verify').send(verifyBody(wrongCodeFor(code))));
    responses.push(await agent.post('/passwordless/verify').send(verifyBody(code)));
    responses.push(await agent.post('/passwordless/verify').send(verifyBody(code)));
    // Providers that quote the message (and so the code) in their errors.
    failWith = (body) => new PasswordlessError('sms_provider_error', 400, `cannot deliver "${body}"`);
    responses.push(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: OTHER_PHONE })),
    );
    failWith = (body) => new Error(`socket hang up while sending "${body}"`);
    responses.push(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: UNKNOWN })),
    );
    // A custom sender that builds its error's code and headers from the message.
    failWith = (body) =>
      new PasswordlessError(`rejected_${body.replace(/\D/g, '')}`, 400, 'The provider rejected the message.', { 'X-Provider-Echo': body });
    responses.push(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550177' })),
    );

    // Split up, or as a Retry-After (whose digits are the message's).
    failWith = (body) => {
      const digits = body.replace(/\D/g, '');
      return new PasswordlessError(`otp_${digits.replace(/(\d\d)/g, '$1_')}`, 429, 'Slow down.', { 'Retry-After': digits });
    };
    responses.push(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550178' })),
    );

    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 403, 200, 403, 400, 502, 400, 429],
    );
    assert.equal(responses[7]?.body.error, 'sms_provider_error');
    assert.equal(responses[7]?.headers['retry-after'], undefined);
    assert.equal(responses[6]?.body.error, 'sms_provider_error', 'a code built from the message is not answered');
    assert.equal(responses[6]?.headers['x-provider-echo'], undefined, "the error's other headers are not answered");
    assert.equal(codes.length, 5);
    for (const c of codes) assert.match(c, /^\d{10}$/);
    assert.ok(lines.some((l) => l.includes('code_sent')) && lines.some((l) => l.includes('send_failed')), 'the logger saw the sends');
    for (const c of codes) {
      for (const res of responses) {
        assert.ok(!res.text.includes(c), `code in a response body: ${res.text}`);
        for (const [name, value] of Object.entries(res.headers))
          assert.ok(!String(value).includes(c), `code in the ${name} header: ${String(value)}`);
      }
      for (const line of lines) assert.ok(!line.includes(c), `code in a log line: ${line}`);
    }
  });

  it('regenerates the session id on login: the cookie value changes and the old one is not logged in', async () => {
    const t = makeApp({ logger: false });
    t.app.get('/touch', (req, res) => {
      (req.session as unknown as Record<string, unknown>).seen = true;
      res.end();
    });
    await start(t.app).expect(200);
    const agent = request.agent(t.app);
    const before = String((await agent.get('/touch')).headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
    assert.match(before, /^sid=.+/);
    const login = await agent.post('/passwordless/verify').send(verifyBody(lastCode(t.outbox)));
    assert.equal(login.status, 200);
    const after = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
    assert.match(after, /^sid=.+/, 'the login sets a session cookie');
    assert.notEqual(after, before);
    await request(t.app).get('/me').set('cookie', before).expect(401);
    await request(t.app).get('/me').set('cookie', after).expect(200);
  });

  it('keeps only an HMAC under the secret at rest: another secret cannot verify the saved record', async () => {
    const storeA = recordingStore();
    const a = makeApp({ logger: false, store: storeA, otp: { length: 10 } });
    await start(a.app).expect(200);
    const codeA = lastCode(a.outbox);
    const savedA = storeA.saved[0];
    assert.ok(savedA, 'the start saved a record');
    const atRest = JSON.stringify(savedA.key) + JSON.stringify(savedA.record);
    assert.ok(!atRest.includes(codeA), `the code is at rest in clear: ${atRest}`);
    assert.ok(!atRest.includes('4155550123'), `the number is at rest in clear: ${atRest}`);

    // The same record moved into an instance with another secret, under that instance's own key.
    const storeB = recordingStore();
    const b = makeApp({ logger: false, store: storeB, secret: SECOND_SECRET, otp: { length: 10 } });
    await start(b.app).expect(200);
    const keyB = storeB.saved[0]?.key as string;
    await storeB.inner.save(keyB, savedA.record, savedA.ctx);
    const res = await verify(b.app, codeA);
    assert.equal(res.status, 403, 'another secret verified the record');

    // Control: the same move into an instance with A's secret does log in, so the secret alone made the difference.
    const storeC = recordingStore();
    const c = makeApp({ logger: false, store: storeC, otp: { length: 10 } });
    await start(c.app).expect(200);
    await storeC.inner.save(storeC.saved[0]?.key as string, savedA.record, savedA.ctx);
    assert.equal((await verify(c.app, codeA)).status, 200);
  });

  it('makes codes strings of exactly otp.length digits, leading zeros kept and required', async () => {
    const t = makeApp({ logger: false, template: '{{ code }}', otp: { length: 4 } });
    // P(no leading zero in 200 draws of 4 digits) = 0.9^200 < 1e-9.
    let withZero: string | undefined;
    for (let i = 0; i < 200 && withZero === undefined; i += 1) {
      await start(t.app).expect(200);
      const body = t.outbox.last()?.body ?? '';
      assert.match(body, /^\d{4}$/, `start ${i} sent ${JSON.stringify(body)}`);
      if (body.startsWith('0')) withZero = body;
    }
    assert.ok(withZero, 'no code with a leading zero in 200 starts');
    assert.equal((await verify(t.app, withZero.replace(/^0+/, '') || '0')).status, 403, 'the code without its zeros');
    assert.equal((await verify(t.app, withZero)).status, 200);
  });
});
