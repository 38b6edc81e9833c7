import assert from 'node:assert/strict';
import request from 'supertest';
import { memoryLimits, type Logger } from '../../lib';
import { CONFIDENTIAL, PHONE, lastCode, loggedInAgent, makeApp, startBody, wrongCodeFor } from '../helpers/app';
import { expect429, only, start, verify } from '../helpers/limits';

describe('rate limits', () => {
  it('applies the defaults of the contract when rateLimits is left out', async () => {
    const t = makeApp({ rateLimits: undefined });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const retryAfter = expect429(await request(t.app).post('/passwordless/start').send(startBody()));
    assert.ok(retryAfter <= 30);
    assert.equal(t.outbox.messages.length, 1);
  });

  it('shares one cooldown bucket between formatting variants of a number', async () => {
    const t = makeApp({ rateLimits: only({ resendCooldownSeconds: 30 }) });
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+1 (415) 555-0123' }))
      .expect(200);
    expect429(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550123' })),
    );
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550124' }))
      .expect(200);
  });

  it('sends exactly one SMS for 10 concurrent starts to one number within the cooldown', async () => {
    const t = makeApp({ rateLimits: only({ resendCooldownSeconds: 30 }) });
    const results = await Promise.all(Array.from({ length: 10 }, () => request(t.app).post('/passwordless/start').send(startBody())));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.equal(results.filter((r) => r.status === 429).length, 9);
    assert.equal(t.outbox.messages.length, 1);
  });

  for (const [name, limit] of [
    ['sendsPerPhonePerHour', 2],
    ['sendsPerPhonePerDay', 2],
  ] as const) {
    it(`limits ${name}`, async () => {
      const t = makeApp({ rateLimits: only({ [name]: limit }) });
      for (let i = 0; i < limit; i += 1) await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      expect429(await request(t.app).post('/passwordless/start').send(startBody()));
      assert.equal(t.outbox.messages.length, limit);
    });
  }

  it("keeps a newer start's cooldown when a send that timed out is given up on later, and gives back its hour's count", async () => {
    let sends = 0;
    const sender = {
      timeoutMs: 100,
      send: async () => {
        sends += 1;
        return sends === 1 ? new Promise<never>(() => undefined) : { id: `SM${sends}` };
      },
    };
    const t = makeApp({ logger: false, sender, rateLimits: only({ resendCooldownSeconds: 30, sendsPerPhonePerHour: 2 }) });
    const begin = () => request(t.app).post('/passwordless/start').send(startBody());
    await begin().expect(502);
    t.clock.advance(31_000);
    await begin().expect(200);
    await begin().expect(429);
    // The first send is given up on (its timeout again as grace), and its limits given back.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect429(await begin());
    t.clock.advance(31_000);
    await begin().expect(200);
    assert.equal(sends, 3);
  });

  for (const late of ['times out and is given up on', 'fails after a newer start has sent'] as const) {
    it(`keeps a newer start's cooldown when a retry that counted in an earlier window ${late}`, async () => {
      let retrySent!: () => void;
      const retrying = new Promise<void>((resolve) => (retrySent = resolve));
      let failRetry!: (err: Error) => void;
      const outcomes: Array<() => Promise<{ id: string }>> = [
        async () => ({ id: 'SM1' }),
        async () => Promise.reject(new Error('down')),
        () => {
          retrySent();
          return new Promise<never>((_resolve, reject) => (failRetry = reject));
        },
        async () => ({ id: 'SM4' }),
      ];
      let sends = 0;
      const timeoutMs = late.startsWith('times') ? 100 : 10_000;
      const sender = { timeoutMs, send: () => (outcomes[sends++] as () => Promise<{ id: string }>)() };
      const t = makeApp({ logger: false, sender, rateLimits: only({ resendCooldownSeconds: 30 }) });
      const begin = () =>
        request(t.app)
          .post('/passwordless/start')
          .send(startBody())
          .then((r) => r);
      assert.equal((await begin()).status, 200); // sent at 0 s
      t.clock.advance(40_000);
      assert.equal((await begin()).status, 502); // failed at 40 s: its count given back, its window (to 70 s) left
      t.clock.advance(5_000);
      const retry = begin(); // at 45 s: counted in the window that ends at 70 s
      await retrying;
      if (late.startsWith('times')) assert.equal((await retry).status, 502);
      t.clock.advance(26_000);
      assert.equal((await begin()).status, 200, 'a newer start at 71 s, in a window of its own');
      if (!late.startsWith('times')) {
        failRetry(new Error('down'));
        assert.equal((await retry).status, 502);
      }
      // Given up on (the timeout again as grace), or failed: its count is given back, not into 71 s's window.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect429(await begin());
      assert.equal(sends, 4);
    });
  }

  it("gives a failed send's counts back though the clock stepped back during its start (no cooldown left behind)", async () => {
    let sends = 0;
    const sender = { send: async () => (++sends === 1 ? Promise.reject(new Error('down')) : { id: `SM${sends}` }) };
    const users = {
      find: async () => {
        if (sends === 0) t.clock.advance(-1_000); // an NTP step between the start's clock reading and its count
        return { name: 'Known' };
      },
    };
    const t = makeApp({ logger: false, sender, disableSignup: true, users, rateLimits: only({ resendCooldownSeconds: 30 }) });
    const begin = () => request(t.app).post('/passwordless/start').send(startBody());
    await begin().expect(502);
    t.clock.advance(1_500);
    await begin().expect(200);
  });

  it("gives a failed send's hour count back though the clock stepped back seconds after its window opened", async () => {
    let sends = 0;
    const sender = { send: async () => (++sends <= 2 ? Promise.reject(new Error('down')) : { id: `SM${sends}` }) };
    const t = makeApp({ logger: false, sender, rateLimits: only({ sendsPerPhonePerHour: 2 }) });
    const begin = () => request(t.app).post('/passwordless/start').send(startBody());
    await begin().expect(502);
    t.clock.advance(-3_000); // an NTP step back
    await begin().expect(502);
    // Neither failed send spent the hour's two sends.
    await begin().expect(200);
    await begin().expect(200);
  });

  it('gives a failed send its count back in a window another instance opened on a clock a little ahead', async () => {
    const shared = memoryLimits();
    const ahead = makeApp({ logger: false, limitStore: shared, rateLimits: only({ sendsPerPhonePerHour: 2 }) });
    ahead.clock.advance(200);
    let sends = 0;
    const sender = { send: async () => (++sends === 1 ? Promise.reject(new Error('down')) : { id: `SM${sends}` }) };
    const behind = makeApp({ logger: false, sender, limitStore: shared, rateLimits: only({ sendsPerPhonePerHour: 2 }) });
    behind.clock.advance(20);
    await request(ahead.app).post('/passwordless/start').send(startBody()).expect(200);
    await request(behind.app).post('/passwordless/start').send(startBody()).expect(502);
    behind.clock.advance(60_000);
    await request(behind.app).post('/passwordless/start').send(startBody()).expect(200);
  });

  it('limits startsPerIpPerHour by req.ip, ignoring X-Forwarded-For unless the app trusts a proxy', async () => {
    const t = makeApp({ rateLimits: only({ startsPerIpPerHour: 2 }) });
    for (const n of ['+14155550101', '+14155550102']) await start(t.app, n, n.slice(-3) + '.0.0.1').expect(200);
    expect429(await start(t.app, '+14155550103', '9.9.9.9'));
  });

  it('follows trust proxy, and warns once when it is `true`', async () => {
    const warnings: unknown[] = [];
    const logger: Logger = { info() {}, warn: (e) => warnings.push(e), error() {} };
    const t = makeApp({ rateLimits: only({ startsPerIpPerHour: 1 }), logger }, (app) => app.set('trust proxy', true));
    await start(t.app, '+14155550101', '1.1.1.1').expect(200);
    await start(t.app, '+14155550102', '2.2.2.2').expect(200);
    expect429(await start(t.app, '+14155550103', '2.2.2.2'));
    const trustWarnings = warnings.filter((w) => JSON.stringify(w).includes('trust proxy'));
    assert.equal(trustWarnings.length, 1);
  });

  it('caps sendsPerClientPerDay per client and sendsPerDay overall', async () => {
    const perClient = makeApp({ rateLimits: only({ sendsPerClientPerDay: 1 }) });
    await request(perClient.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550101' }))
      .expect(200);
    expect429(
      await request(perClient.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550102' })),
    );
    await request(perClient.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550103', client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret }))
      .expect(200);

    const overall = makeApp({ rateLimits: only({ sendsPerDay: 1 }) });
    await request(overall.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550101' }))
      .expect(200);
    expect429(
      await request(overall.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550103', client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret })),
    );
  });

  it('limits sendsPerPrefixPerHour: numbers that differ only in their last 4 digits share a bucket', async () => {
    const t = makeApp({ rateLimits: only({ sendsPerPrefixPerHour: 2 }) });
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550101' }))
      .expect(200);
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550102' }))
      .expect(200);
    expect429(
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155559999' })),
    );
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14165550101' }))
      .expect(200);
  });

  describe('failedVerifiesPerPhonePerHour', () => {
    it('refuses verification for the number once failures pass the limit, across codes; a session stays logged in', async () => {
      const t = makeApp({ rateLimits: only({ failedVerifiesPerPhonePerHour: 3 }), otp: { maxAttempts: 2 } });
      // A logged-in session first.
      const agent = await loggedInAgent(t);
      // Two codes, three failures between them.
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      const first = lastCode(t.outbox);
      await verify(t.app, wrongCodeFor(first)).expect(403);
      await verify(t.app, wrongCodeFor(first)).expect(403);
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      const second = lastCode(t.outbox);
      await verify(t.app, wrongCodeFor(second)).expect(403);
      expect429(await verify(t.app, second), 'too_many_attempts');
      await agent.get('/me').expect(200);
    });

    it('is reset by a success', async () => {
      const t = makeApp({ rateLimits: only({ failedVerifiesPerPhonePerHour: 3 }), otp: { maxAttempts: 5 } });
      for (let round = 0; round < 3; round += 1) {
        await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
        const code = lastCode(t.outbox);
        await verify(t.app, wrongCodeFor(code)).expect(403);
        await verify(t.app, wrongCodeFor(code)).expect(403);
        await verify(t.app, code).expect(200);
      }
    });

    it('counts concurrent guesses atomically', async () => {
      const t = makeApp({ rateLimits: only({ failedVerifiesPerPhonePerHour: 4 }), otp: { maxAttempts: 10 } });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      const code = lastCode(t.outbox);
      const results = await Promise.all(Array.from({ length: 20 }, () => verify(t.app, wrongCodeFor(code))));
      assert.equal(results.filter((r) => r.status === 403).length, 4);
      assert.equal(results.filter((r) => r.status === 429).length, 16);
    });
  });
});

describe('SMS pumping defences', () => {
  it('refuses destinations outside allowedCountries before the sender is called', async () => {
    const t = makeApp({ allowedCountries: ['US', 'CA'] });
    const res = await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+33612345678' }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'bad.phone_number');
    assert.equal(t.outbox.messages.length, 0);
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
  });

  for (const [label, number] of [
    ['US premium rate', '+19002530000'],
    ['UK premium rate', '+448712345678'],
    ['French premium rate', '+33899123456'],
    ['US toll free', '+18002530000'],
  ]) {
    it(`refuses a ${label} number by default`, async () => {
      const t = makeApp();
      const res = await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: number }));
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'bad.phone_number');
      assert.equal(t.outbox.messages.length, 0);
    });
  }

  it('lets blockedNumberTypes change what is refused', async () => {
    const t = makeApp({ blockedNumberTypes: ['PREMIUM_RATE', 'FIXED_LINE'] });
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+18002530000' }))
      .expect(200);
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+4930123456' }))
      .expect(400);
  });
});

describe('enumeration safety', () => {
  it('answers start with the same status and body shape for every valid, allowed number', async () => {
    const t = makeApp();
    const shapes = new Set<string>();
    for (const number of ['+14155550123', '+33612345678', '+31612345678', '+447400123456']) {
      const res = await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: number }));
      shapes.add(`${res.status} ${Object.keys(res.body).sort().join(',')} ${res.body._id.length}`);
    }
    assert.equal(shapes.size, 1);
  });
});

describe('logging', () => {
  it('sends the documented events with masked numbers', async () => {
    const events: Array<Record<string, unknown>> = [];
    const logger: Logger = { info: (e) => events.push(e), warn: (e) => events.push(e), error: (e) => events.push(e) };
    const failing = {
      fail: false,
      async send() {
        if (failing.fail) throw new Error('down');
        return {};
      },
    };
    const t = makeApp({ logger, sender: failing, rateLimits: only({ resendCooldownSeconds: 30 }) });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    await request(t.app).post('/passwordless/start').send(startBody()).expect(429);
    failing.fail = true;
    await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550124' }))
      .expect(502);
    assert.deepEqual(
      events.map((e) => e.event),
      ['code_sent', 'rate_limited', 'send_failed'],
    );
    for (const e of events) {
      assert.match(String(e.phone), /^\+1\*{8}2[34]$/);
      assert.ok(!JSON.stringify(e).includes(PHONE));
    }
  });
});
