import assert from 'node:assert/strict';
import request from 'supertest';
import twilio from 'twilio';
import { Registry } from 'prom-client';
import {
  fallbackSender,
  gatewaySender,
  twilioSender,
  PasswordlessError,
  type FailoverEvent,
  type SmsMessage,
  type SmsSender,
} from '../../lib';
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  SERVICE_SID,
  startTwilioEmulator,
  type EmulatorBehaviour as Behaviour,
  type TwilioEmulator,
} from '../helpers/twilio-emulator';
import { closedPortUrl, startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';
import { PHONE, makeApp, startBody, verifyBody } from '../helpers/app';
import { isOutcomeUnknown, lateOutcomeOf, outcomeUnknown } from '../../lib/errors';
import { failoversOf } from '../../lib/senders/fallback';

const SECOND_SERVICE_SID = `MG${'d4'.repeat(16)}`;

function message(to: string, body = 'Your verification code is: 271828'): SmsMessage {
  return { to, body, clientId: 'app', language: 'en', request: { ip: '203.0.113.9', userAgent: 'Test/1.0' } };
}

/** The registry's sends counter, one line per provider and outcome. */
async function sendLines(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith('passwordless_sms_sends_total{'));
}

/** The sends counter after one start through a fallbackSender of each member list, each answered its status. */
async function countedSends(...starts: Array<[SmsSender[], number]>): Promise<string[]> {
  const registry = new Registry();
  for (const [members, status] of starts) {
    const t = makeApp({ logger: false, metrics: { registry }, sender: fallbackSender(members) });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(status);
  }
  return (await sendLines(registry)).sort();
}

/** An SDK httpClient whose requests go to a port where nothing listens. */
function unreachableClient(origin: string): InstanceType<typeof twilio.RequestClient> {
  const client = new twilio.RequestClient({ autoRetry: false });
  const original = client.request.bind(client);
  client.request = ((opts: Parameters<typeof original>[0]) =>
    original({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+/, origin) })) as typeof client.request;
  return client;
}

/** A sender of the test's own making: fails with `error` when given, else sends with id `id`. */
function custom(name: string | undefined, error?: unknown): SmsSender & { calls: number } {
  const sender = {
    calls: 0,
    ...(name !== undefined ? { name } : {}),
    async send() {
      sender.calls += 1;
      if (error !== undefined) throw error;
      return { id: `${name ?? 'anon'}-1` };
    },
  };
  return sender;
}

/** A member whose provider is down (503). */
function down(name: string): SmsSender {
  return custom(name, new PasswordlessError('sms_provider_error', 503, 'down'));
}

describe('fallbackSender', () => {
  let primary: TwilioEmulator;
  let secondary: TwilioEmulator;
  let gateway: SmsGateway;
  const saved = { edge: process.env.TWILIO_EDGE, region: process.env.TWILIO_REGION };

  before(async () => {
    // The SDK rewrites hostnames from these; the emulators must see plain paths.
    delete process.env.TWILIO_EDGE;
    delete process.env.TWILIO_REGION;
    [primary, secondary, gateway] = await Promise.all([startTwilioEmulator(), startTwilioEmulator(), startSmsGateway()]);
  });
  after(async () => {
    await Promise.all([primary.close(), secondary.close(), gateway.close()]);
    if (saved.edge !== undefined) process.env.TWILIO_EDGE = saved.edge;
    if (saved.region !== undefined) process.env.TWILIO_REGION = saved.region;
  });

  const twilioOn = (emulator: TwilioEmulator, service: string, timeoutMs = 5000) =>
    twilioSender({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: service,
      timeoutMs,
      httpClient: emulator.httpClient(),
    });
  const sentTo = (emulator: TwilioEmulator, to: string) => emulator.received.filter((m) => m.form.To === to);

  describe('over every failure of the Twilio emulator: the primary fails, the secondary sends', () => {
    // Each with what the provider said, in the failover's reason, for operators' logs.
    const kinds: Array<[string, Behaviour | 'refused', string, string]> = [
      ['an HTML 500', { status: 500 }, '+14155551500', 'HTTP 500'],
      ['a 502', { status: 502 }, '+14155551502', 'HTTP 502'],
      ['a 503', { status: 503 }, '+14155551503', 'HTTP 503'],
      ['a timeout (slower than timeoutMs)', { delayMs: 1500 }, '+14155551001', 'timeout'],
      ['Twilio 20003 (authentication)', { twilioError: 20003 }, '+14155552003', '20003'],
      ['Twilio 20429 (too many requests)', { twilioError: 20429 }, '+14155552429', '20429'],
      ['a refused connection (closed port)', 'refused', '+14155551111', 'ECONNREFUSED'],
    ];
    for (const [label, behaviour, to, said] of kinds) {
      it(`fails over on ${label}`, async () => {
        const first =
          behaviour === 'refused'
            ? twilioSender({
                accountSid: ACCOUNT_SID,
                authToken: AUTH_TOKEN,
                messagingServiceSid: SERVICE_SID,
                httpClient: unreachableClient(new URL(await closedPortUrl()).origin),
              })
            : twilioOn(primary, SERVICE_SID, 200);
        if (behaviour !== 'refused') primary.behave(to, behaviour);
        const events: FailoverEvent[] = [];
        const sender = fallbackSender([first, twilioOn(secondary, SECOND_SERVICE_SID)], { onFailover: (e) => events.push(e) });

        const result = await sender.send(message(to));

        if (behaviour !== 'refused') assert.equal(sentTo(primary, to).length, 1, 'the primary was tried once');
        const delivered = sentTo(secondary, to);
        assert.equal(delivered.length, 1, 'the secondary sent it');
        assert.equal(delivered[0]?.form.MessagingServiceSid, SECOND_SERVICE_SID);
        assert.equal(delivered[0]?.form.Body, 'Your verification code is: 271828');
        assert.match(result.id ?? '', /^SM[0-9a-f]{32}$/);
        assert.equal(result.provider, 'twilio[1]');
        assert.deepEqual(events, [{ from: 'twilio[0]', to: 'twilio[1]', reason: `502 sms_provider_error (${said})` }]);
      });
    }
  });

  /** A start to `to` through the two emulated Twilio accounts, answered 400 with Twilio's `code`; failovers go to `events`. */
  async function assertStartRefused(to: string, code: number, events: FailoverEvent[]): Promise<void> {
    const { app } = makeApp({
      logger: false,
      sender: fallbackSender([twilioOn(primary, SERVICE_SID), twilioOn(secondary, SECOND_SERVICE_SID)], {
        onFailover: (e) => events.push(e),
      }),
    });
    const res = await request(app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: to }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'sms_provider_error');
    assert.match(res.body.error_description, new RegExp(`\\(Code: ${code}\\)$`));
  }

  for (const [code, why] of [
    [21211, 'an invalid number'],
    [21614, 'not a mobile number'],
    [21408, "the account's geographic permissions: the operator's policy, which no provider may route around"],
  ] as const) {
    it(`does not fail over Twilio ${code} (${why}): 400 to the client, the secondary untouched`, async () => {
      const to = `+1415555${String(code).slice(-4)}`;
      primary.behave(to, { twilioError: code });
      const events: FailoverEvent[] = [];
      await assertStartRefused(to, code, events);
      assert.equal(sentTo(secondary, to).length, 0);
      assert.deepEqual(events, []);
    });
  }

  for (const code of [21612]) {
    it(`fails over Twilio ${code} (this provider's route to the number is refused, not the number), and answers the last member's ${code} as a 400`, async () => {
      const to = `+1415555${String(code).slice(-4)}`;
      primary.behave(to, { twilioError: code });
      const events: FailoverEvent[] = [];
      const sender = fallbackSender([twilioOn(primary, SERVICE_SID), twilioOn(secondary, SECOND_SERVICE_SID)], {
        onFailover: (e) => events.push(e),
      });
      const result = await sender.send(message(to));
      assert.equal(sentTo(secondary, to).length, 1, 'the secondary sent it');
      assert.equal(result.provider, 'twilio[1]');
      assert.deepEqual(events, [{ from: 'twilio[0]', to: 'twilio[1]', reason: `400 sms_provider_error (${code})` }]);

      secondary.behave(to, { twilioError: code });
      await assertStartRefused(to, code, []);
      assert.equal(sentTo(secondary, to).length, 2, 'the secondary was tried again');
    });
  }

  it('logs each failover before a send that fails on every provider, then send_failed', async () => {
    const events: Array<Record<string, unknown>> = [];
    const logger = {
      info: () => {},
      warn: (e: Record<string, unknown>) => void events.push(e),
      error: (e: Record<string, unknown>) => void events.push(e),
    };
    const down = (name: string) => custom(name, new PasswordlessError('sms_provider_error', 503, 'down'));
    const { app } = makeApp({ logger, sender: fallbackSender([down('one'), down('two'), down('three')]) });
    await request(app).post('/passwordless/start').send(startBody()).expect(503);
    assert.deepEqual(
      events.map((e) => [e.event, e.from, e.to]),
      [
        ['send_failover', 'one', 'two'],
        ['send_failover', 'two', 'three'],
        ['send_failed', undefined, undefined],
      ],
    );
  });

  it("logs what each provider said (Twilio's error code, an HTTP status) with send_failover and send_failed, never its text", async () => {
    const to = '+14155552004';
    primary.behave(to, { twilioError: 20003 });
    secondary.behave(to, { status: 503 });
    const events: Array<Record<string, unknown>> = [];
    const logger = {
      info: () => {},
      warn: (e: Record<string, unknown>) => void events.push(e),
      error: (e: Record<string, unknown>) => void events.push(e),
    };
    const { app } = makeApp({ logger, sender: fallbackSender([twilioOn(primary, SERVICE_SID), twilioOn(secondary, SECOND_SERVICE_SID)]) });
    await request(app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: to }))
      .expect(502);
    assert.deepEqual(
      events.map((e) => [e.event, e.reason, e.providerCode]),
      [
        ['send_failover', '502 sms_provider_error (20003)', undefined],
        ['send_failed', '502 sms_provider_error', 'HTTP 503'],
      ],
    );
  });

  it("keeps a member's error code out of send_failover when it holds the message's digits", async () => {
    const events: Array<Record<string, unknown>> = [];
    const capture = (e: Record<string, unknown>) => void events.push(e);
    const codes: string[] = [];
    const echoing: SmsSender = {
      name: 'echoing',
      async send(m) {
        const digits = m.body.replace(/\D/g, '');
        codes.push(digits);
        throw new PasswordlessError(`bad_body_${digits}`, 503, 'down');
      },
    };
    const { app } = makeApp({
      logger: { info: capture, warn: capture, error: capture },
      sender: fallbackSender([echoing, custom('steady')]),
    });
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    const failover = events.find((e) => e.event === 'send_failover');
    assert.equal(failover?.reason, '503 sms_provider_error');
    for (const e of events) assert.ok(!JSON.stringify(e).includes(codes[0] as string), JSON.stringify(e));
    // Nor as its status, which a JavaScript sender may set to anything.
    events.length = 0;
    const statusEcho: SmsSender = {
      name: 'status-echo',
      async send(m) {
        const digits = m.body.replace(/\D/g, '');
        codes.push(digits);
        throw new PasswordlessError('down', Number(digits), 'down');
      },
    };
    const second = makeApp({
      logger: { info: capture, warn: capture, error: capture },
      sender: fallbackSender([statusEcho, custom('steady')]),
    });
    await request(second.app).post('/passwordless/start').send(startBody()).expect(200);
    assert.equal(events.find((e) => e.event === 'send_failover')?.reason, '502 down');
    for (const e of events) assert.ok(!JSON.stringify(e).includes(codes[1] as string), JSON.stringify(e));
  });

  it('counts each member that failed over as a failed send of its own, whether the send then succeeds or fails', async () => {
    const sends = await countedSends([[down('one'), custom('steady')], 200], [[down('two'), down('three')], 503]);
    assert.deepEqual(sends, [
      'passwordless_sms_sends_total{provider="one",outcome="failed",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="steady",outcome="ok",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="three",outcome="failed",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="two",outcome="failed",country_code="1"} 1',
    ]);
  });

  it('labels each member by its own outcome: the one that timed out unknown, the one that surely failed failed', async () => {
    const hanging = (name: string): SmsSender => ({ name, timeoutMs: 50, send: () => new Promise<never>(() => {}) });
    const sends = await countedSends([[hanging('slow'), down('vendor2')], 502], [[down('vendor3'), hanging('late')], 502]);
    assert.deepEqual(sends, [
      'passwordless_sms_sends_total{provider="late",outcome="unknown",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="slow",outcome="unknown",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="vendor2",outcome="failed",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="vendor3",outcome="failed",country_code="1"} 1',
    ]);
  });

  it("times each member on its own: a primary's timeout is the primary's send time, not the backup's", async () => {
    const to = '+14155556700';
    primary.behave(to, { delayMs: 1500 });
    const registry = new Registry();
    const t = makeApp({
      logger: false,
      metrics: { registry },
      sender: fallbackSender([twilioOn(primary, SERVICE_SID, 200), twilioOn(secondary, SECOND_SERVICE_SID)]),
    });
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: to }))
      .expect(200);
    const lines = (await registry.metrics()).split('\n');
    const value = (name: string) =>
      Number(
        lines
          .find((l) => l.startsWith(name))
          ?.split(' ')
          .at(-1),
      );
    // The primary's failed send is timed (it took its whole timeout), and only the primary's.
    assert.equal(value('passwordless_sms_send_duration_seconds_count{provider="twilio[0]"}'), 1);
    assert.ok(value('passwordless_sms_send_duration_seconds_sum{provider="twilio[0]"}') >= 0.19);
    assert.equal(value('passwordless_sms_send_duration_seconds_count{provider="twilio[1]"}'), 1);
  });

  it('counts a number refused by the first member under that member, not under the fallback', async () => {
    const registry = new Registry();
    const refusing = custom(
      'primary',
      new PasswordlessError('sms_provider_error', 400, 'The number is not a mobile number. (Code: 21614)'),
    );
    const t = makeApp({ logger: false, metrics: { registry }, sender: fallbackSender([refusing, custom('backup')]) });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(400);
    const sends = await sendLines(registry);
    assert.deepEqual(sends, ['passwordless_sms_sends_total{provider="primary",outcome="refused",country_code="1"} 1']);
  });

  it('labels two members of one name by their position, twilio[0] and twilio[1], not other', async () => {
    const registry = new Registry();
    const down = custom('twilio', new PasswordlessError('sms_provider_error', 503, 'down'));
    const t = makeApp({ logger: false, metrics: { registry }, sender: fallbackSender([down, custom('twilio')]) });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const sends = await sendLines(registry);
    assert.deepEqual(sends.sort(), [
      'passwordless_sms_sends_total{provider="twilio[0]",outcome="failed",country_code="1"} 1',
      'passwordless_sms_sends_total{provider="twilio[1]",outcome="ok",country_code="1"} 1',
    ]);
  });

  it('logs in through passwordless() with the code the secondary delivered while the primary answers 500', async () => {
    const to = '+14155553500';
    primary.behave(to, { status: 500 });
    const { app } = makeApp({ sender: fallbackSender([twilioOn(primary, SERVICE_SID), twilioOn(secondary, SECOND_SERVICE_SID)]) });
    await request(app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: to }))
      .expect(200);
    const code = /\d{6}/.exec(sentTo(secondary, to)[0]?.form.Body ?? '')?.[0];
    assert.ok(code);
    await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { phone_number: to }))
      .expect(200);
  });

  it("keeps the code and the cooldown when the primary timed out before the secondary failed: the primary's SMS may still arrive", async () => {
    const to = '+14155556500';
    primary.behave(to, { delayMs: 250 });
    secondary.behave(to, { status: 503 });
    const { app } = makeApp({
      logger: false,
      sender: fallbackSender([twilioOn(primary, SERVICE_SID, 150), twilioOn(secondary, SECOND_SERVICE_SID)]),
      rateLimits: undefined,
      fraudGuard: false,
    });
    const start = () =>
      request(app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: to }));
    assert.equal((await start()).status, 502);
    while (!primary.lastMessage(to)) await new Promise((r) => setTimeout(r, 50));
    const code = /\d{6}/.exec(primary.lastMessage(to)?.body ?? '')?.[0] ?? '';
    assert.equal((await start()).status, 429, 'the cooldown stayed');
    await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(code, { phone_number: to }))
      .expect(200);
  });

  describe('after a member whose send may have gone out', () => {
    const slow = (name: string, late: Promise<boolean> | undefined) => ({
      name,
      async send(): Promise<{ id?: string }> {
        throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'no answer'), late);
      },
    });

    it('takes the SMS as delivered when any of those sends went out late', async () => {
      const err = await fallbackSender([slow('one', Promise.resolve(true)), slow('two', Promise.resolve(false))])
        .send(message('+14155556610'))
        .catch((e: unknown) => e);
      assert.ok(isOutcomeUnknown(err));
      assert.equal(await lateOutcomeOf(err), true);
    });

    it('cannot tell when one of them cannot (a reset): no late outcome, so the grace decides', async () => {
      const err = await fallbackSender([slow('reset', undefined), slow('gateway', Promise.resolve(false))])
        .send(message('+14155556611'))
        .catch((e: unknown) => e);
      assert.ok(isOutcomeUnknown(err));
      assert.equal(lateOutcomeOf(err), undefined);
    });

    it("answers the next member's refusal of the number as that refusal (400), still of unknown outcome", async () => {
      const refusal = new PasswordlessError('sms_provider_error', 400, 'The number cannot receive SMS (Code: 21614)');
      const err = await fallbackSender([slow('one', Promise.resolve(false)), custom('strict', refusal)])
        .send(message('+14155556612'))
        .catch((e: unknown) => e);
      assert.ok(err instanceof PasswordlessError);
      assert.equal(err.status, 400);
      assert.equal(err.message, refusal.message);
      assert.ok(isOutcomeUnknown(err), 'the first send may still arrive');
    });
  });

  it("never marks a member's own error object: a custom sender that throws one shared error keeps it unmarked, send after send", async () => {
    const shared = new Error('down');
    const down = custom('shared', shared);
    const unsure = {
      name: 'slow',
      async send(): Promise<{ id?: string }> {
        throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'no answer'), Promise.resolve(false));
      },
    };
    // After a send that may have gone out, the failover's error is a fresh one of unknown outcome.
    const first = await fallbackSender([unsure, down])
      .send(message('+14155556600'))
      .catch((e: unknown) => e);
    assert.notEqual(first, shared);
    assert.ok(isOutcomeUnknown(first));
    assert.equal(await lateOutcomeOf(first), false);
    // The shared object was not marked: a later failure through it is a certain one.
    assert.equal(isOutcomeUnknown(shared), false);
    // Failing over onto the same shared object twice works, and each send has its failovers.
    for (let i = 0; i < 2; i += 1) {
      const err = await fallbackSender([custom('a', new PasswordlessError('sms_provider_error', 503, 'x')), down])
        .send(message('+14155556601'))
        .catch((e: unknown) => e);
      assert.equal(err, shared);
      assert.deepEqual(
        failoversOf(err).map((f) => [f.from, f.to]),
        [['a', 'shared']],
      );
    }
  });

  it('combines Twilio, the custom gateway and a custom sender: each failure moves on, in order', async () => {
    const to = '+14155554500';
    primary.behave(to, { status: 503 });
    gateway.behave(to, { status: 500 });
    const last = custom('in-house');
    const events: FailoverEvent[] = [];
    const sender = fallbackSender([twilioOn(primary, SERVICE_SID), gatewaySender({ url: gateway.url }), last], {
      onFailover: (e) => events.push(e),
    });
    const result = await sender.send(message(to));
    assert.deepEqual(result, { id: 'in-house-1', provider: 'in-house', failovers: events });
    assert.deepEqual(
      events.map((e) => [e.from, e.to]),
      [
        ['twilio', 'sms_gateway'],
        ['sms_gateway', 'in-house'],
      ],
    );
    assert.equal(gateway.received.filter((r) => r.body.recipient === to).length, 1);
    assert.deepEqual(events, [
      { from: 'twilio', to: 'sms_gateway', reason: '502 sms_provider_error (HTTP 503)' },
      { from: 'sms_gateway', to: 'in-house', reason: '502 sms_provider_error (HTTP 500)' },
    ]);
  });

  it('stops at the first sender that sends', async () => {
    const second = custom('second');
    const result = await fallbackSender([gatewaySender({ url: gateway.url }), second]).send(message('+14155554000'));
    assert.equal(result.provider, 'sms_gateway');
    assert.equal(second.calls, 0);
  });

  it('rejects with the last error when every sender fails', async () => {
    const lastError = new PasswordlessError('sms_provider_error', 502, 'second one down');
    await assert.rejects(
      fallbackSender([custom('a', new Error('first one down')), custom('b', lastError)]).send(message(PHONE)),
      (err) => err === lastError,
    );
  });

  it('fails over from a thrown non-PasswordlessError, naming only its type in the reason', async () => {
    const events: FailoverEvent[] = [];
    const secretful = new TypeError('fetch failed for +14155550123 with body Your code is 271828');
    const result = await fallbackSender([custom('flaky', secretful), custom('steady')], { onFailover: (e) => events.push(e) }).send(
      message(PHONE),
    );
    assert.equal(result.provider, 'steady');
    assert.deepEqual(events, [{ from: 'flaky', to: 'steady', reason: '502 sms_provider_error (TypeError)' }]);
  });

  it("names no error code made only of digits in the reason: it could be the message's code", async () => {
    const events: FailoverEvent[] = [];
    const quoted = Object.assign(new Error('rejected'), { code: '271828', name: 'ProviderError' });
    await fallbackSender([custom('flaky', quoted), custom('steady')], { onFailover: (e) => events.push(e) }).send(message(PHONE));
    assert.deepEqual(
      events.map((e) => e.reason),
      ['502 sms_provider_error (ProviderError)'],
    );
  });

  it('fails over from a 5xx PasswordlessError but throws a 4xx one at once', async () => {
    const refused = new PasswordlessError('sms_provider_error', 400, 'Invalid destination (Code: 3)');
    const after = custom('after');
    await assert.rejects(fallbackSender([custom('refuses', refused), after]).send(message(PHONE)), (err) => err === refused);
    assert.equal(after.calls, 0);
    const result = await fallbackSender([custom('down', new PasswordlessError('sms_provider_error', 503, 'down')), after]).send(
      message(PHONE),
    );
    assert.equal(result.provider, 'after');
  });

  it('names unnamed senders sender[i] and leaves out an id the sender did not give', async () => {
    const quiet: SmsSender = {
      async send() {
        return {};
      },
    };
    const result = await fallbackSender([custom(undefined, new Error('x')), quiet]).send(message(PHONE));
    assert.equal(result.provider, 'sender[1]');
    assert.equal('id' in result, false);
  });

  it('keeps failing over when onFailover throws', async () => {
    const result = await fallbackSender([custom('a', new Error('x')), custom('b')], {
      onFailover: () => {
        throw new Error('broken hook');
      },
    }).send(message(PHONE));
    assert.equal(result.provider, 'b');
  });

  it('closes every sender that can be closed', async () => {
    const closed: string[] = [];
    const closable = (name: string): SmsSender => ({
      name,
      async send() {
        return {};
      },
      close: () => {
        closed.push(name);
      },
    });
    await fallbackSender([closable('a'), custom('no-close'), closable('b')]).close?.();
    assert.deepEqual(closed, ['a', 'b']);
  });

  describe('validation at construction', () => {
    const one = custom('one');
    const cases: Array<[string, unknown, unknown, RegExp]> = [
      ['no array', one, undefined, /non-empty array/],
      ['an empty array', [], undefined, /non-empty array/],
      ['eleven senders', Array.from({ length: 11 }, () => one), undefined, /at most 10/],
      ['an entry without send()', [one, { name: 'x' }], undefined, /\[1\]` must be a sender/],
      ['an unknown option', [one], { onFailOver: () => {} }, /`fallbackSender\.onFailOver` is not an option/],
      ['an onFailover that is not a function', [one], { onFailover: 'log' }, /onFailover` must be a function/],
    ];
    for (const [label, senders, options, text] of cases) {
      it(`throws invalid_option for ${label}`, () => {
        assert.throws(
          () => fallbackSender(senders as SmsSender[], options as never),
          (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && text.test(err.message),
        );
      });
    }
    it('accepts ten senders', () => {
      assert.equal(fallbackSender(Array.from({ length: 10 }, () => one)).name, 'fallback');
    });
  });
});
