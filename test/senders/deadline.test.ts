import assert from 'node:assert/strict';
import request from 'supertest';
import { fallbackSender, outboxSender, type SmsMessage, type SmsSender } from '../../lib';
import { makeApp, startBody, verifyBody } from '../helpers/app';

/** A custom sender that never answers while `hanging` is set, and sends as an outbox otherwise. */
function flakySender(timeoutMs?: number) {
  const outbox = outboxSender();
  const sender = {
    name: 'acme',
    hanging: true,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    send(message: SmsMessage) {
      return sender.hanging ? new Promise<never>(() => {}) : outbox.send(message);
    },
  };
  return { sender, outbox };
}

/** Starts until one is answered 200, for at most `ms`: what a user retrying after an outage sees. */
async function startsAgainWithin(app: Parameters<typeof request>[0], ms: number): Promise<request.Response> {
  const until = Date.now() + ms;
  for (;;) {
    const res = await request(app).post('/passwordless/start').send(startBody());
    if (res.status === 200 || Date.now() > until) return res;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('custom senders that hang', () => {
  it('answers 502 after the sender’s timeoutMs, then gives the number its budget back once the send never came', async () => {
    const { sender, outbox } = flakySender(100);
    // The default limits: a send left counted would hold the number in its cooldown.
    const t = makeApp({ sender, rateLimits: {}, logger: false });
    const began = Date.now();
    const res = await request(t.app).post('/passwordless/start').send(startBody()).timeout(3000);
    assert.equal(res.status, 502);
    assert.equal(res.body.error, 'sms_provider_error');
    assert.match(res.body.error_description, /did not answer within 100 ms/);
    assert.ok(Date.now() - began < 2000, 'answered at its timeout, not left hanging');
    sender.hanging = false;
    // Same clock reading: only a given-back cooldown lets this start through.
    const again = await startsAgainWithin(t.app, 2000);
    assert.equal(again.status, 200, again.text);
    assert.equal(outbox.messages.length, 1);
  });

  it('keeps the number’s budget spent when its code was guessed at while the send hung or failed: no send buys more guesses', async () => {
    for (const failing of [true, false]) {
      const sender: SmsSender = {
        timeoutMs: 100,
        // A provider that fails after 150 ms, or one that never answers (timed out at 100 ms).
        send: () => (failing ? new Promise((_, reject) => setTimeout(() => reject(new Error('down')), 150)) : new Promise<never>(() => {})),
      };
      const t = makeApp({ sender: failing ? { ...sender, timeoutMs: 1000 } : sender, rateLimits: {}, logger: false });
      // Sent now (supertest sends on then()), answered later.
      const started = request(t.app)
        .post('/passwordless/start')
        .send(startBody())
        .timeout(3000)
        .then((res) => res);
      // A guess lands on the pending code while its send is in flight (or of unknown outcome).
      await new Promise((r) => setTimeout(r, 50));
      await request(t.app).post('/passwordless/verify').send(verifyBody('000000')).expect(403);
      assert.equal((await started).status, 502);
      await new Promise((r) => setTimeout(r, 400));
      const again = await request(t.app).post('/passwordless/start').send(startBody());
      assert.equal(again.status, 429, `${failing ? 'failed' : 'hung'} send: ${again.text}`);
    }
  });

  it('gives the budget back for sends that failed or hung while a resend replaced their code: an outage spends no sends', async () => {
    for (const failing of [true, false]) {
      const sender: SmsSender = {
        timeoutMs: failing ? 1000 : 100,
        send: () => (failing ? new Promise((_, reject) => setTimeout(() => reject(new Error('down')), 150)) : new Promise<never>(() => {})),
      };
      const t = makeApp({ sender, rateLimits: { resendCooldownSeconds: 0, sendsPerPhonePerHour: 2 }, logger: false });
      const statuses: number[] = [];
      for (let round = 0; round < 3; round++) {
        // "Resend" pressed while the first send is still out: the second code replaces the first.
        const first = request(t.app)
          .post('/passwordless/start')
          .send(startBody())
          .then((res) => res);
        await new Promise((r) => setTimeout(r, 50));
        statuses.push((await request(t.app).post('/passwordless/start').send(startBody())).status, (await first).status);
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.deepEqual(statuses, Array(6).fill(502), failing ? 'failed sends' : 'hung sends');
    }
  });

  it('keeps the code of a send that resolves after the timeout, within its grace', async () => {
    let release: () => void = () => {};
    const bodies: string[] = [];
    const sender: SmsSender = {
      timeoutMs: 100,
      async send(message) {
        bodies.push(message.body);
        await new Promise<void>((r) => (release = r));
        return { id: 'SM1' };
      },
    };
    const t = makeApp({ sender, logger: false });
    const res = await request(t.app).post('/passwordless/start').send(startBody()).timeout(3000);
    assert.equal(res.status, 502);
    release();
    await new Promise((r) => setTimeout(r, 50));
    const code = /(\d{6})/.exec(bodies[0] as string)?.[1] as string;
    await request(t.app).post('/passwordless/verify').send(verifyBody(code)).expect(200);
  });

  it('fails a hanging member of fallbackSender over to the next one', async () => {
    const { sender } = flakySender(100);
    const backup = outboxSender();
    const t = makeApp({ sender: fallbackSender([sender, backup]), logger: false });
    await request(t.app).post('/passwordless/start').send(startBody()).timeout(3000).expect(200);
    assert.equal(backup.messages.length, 1);
  });

  it('refuses a timeoutMs that is no number of milliseconds, naming where the sender was given', () => {
    for (const timeoutMs of [0, -5, 1.5, '100', Number.NaN]) {
      const sender = { timeoutMs, send: async () => ({}) } as unknown as SmsSender;
      assert.throws(() => makeApp({ sender }), /`sender\.timeoutMs` must be an integer/);
      assert.throws(() => fallbackSender([outboxSender(), sender]), /`fallbackSender\(senders\)\[1\]\.timeoutMs` must be an integer/);
    }
    // A built-in sender times its own sends: a timeoutMs set on it would be ignored, so it is refused.
    const fallback = Object.assign(fallbackSender([outboxSender()]), { timeoutMs: 500 });
    assert.throws(() => makeApp({ sender: fallback }), /`sender\.timeoutMs` is set on a built-in sender/);
  });
});
