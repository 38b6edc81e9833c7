/**
 * express-passwordless-sms/testing as a user's test suite uses it: imported by its package
 * name, an app with the real twilioSender pointed at the emulator, the code read back from
 * what the emulator received. (The packed-tarball consumer is in packaging.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { passwordless, twilioSender, type Passwordless } from 'express-passwordless-sms';
import { SERVICE_SID, emulatorSenderOptions, startTwilioEmulator, type TwilioEmulator } from 'express-passwordless-sms/testing';

const root = path.resolve(__dirname, '..', '..');
const CLIENT = { clientId: 'web', name: 'My App' };

/** Runs a script in a fresh Node, so that require.cache shows only what it loaded. */
function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

/** Lists loaded files that belong to the twilio SDK or to the testing subpath. */
const LOADED =
  "Object.keys(require.cache).filter((f) => /node_modules[\\\\/]twilio[\\\\/]|dist[\\\\/]testing[\\\\/]/.test(f)).map((f) => f.includes('testing') ? 'testing' : 'twilio')";

describe('express-passwordless-sms/testing', function () {
  this.timeout(20_000);

  describe('loading', () => {
    it('is not loaded by the package root', () => {
      assert.deepEqual(
        JSON.parse(node(['-e', `require('express-passwordless-sms'); console.log(JSON.stringify([...new Set(${LOADED})]))`])),
        [],
      );
    });

    it('loads the twilio SDK only when an httpClient is asked for', () => {
      const script = `const t = require('express-passwordless-sms/testing');
        t.startTwilioEmulator().then(async (e) => {
          const before = ${LOADED}.includes('twilio');
          e.httpClient();
          console.log(JSON.stringify([before, ${LOADED}.includes('twilio')]));
          await e.close();
        });`;
      assert.deepEqual(JSON.parse(node(['-e', script])), [false, true]);
    });

    it('works with import', () => {
      const out = node([
        '--input-type=module',
        '-e',
        "import { startTwilioEmulator, emulatorSenderOptions, ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, API_KEY, API_SECRET } from 'express-passwordless-sms/testing'; console.log(typeof startTwilioEmulator, typeof emulatorSenderOptions, [ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, API_KEY, API_SECRET].every((s) => typeof s === 'string' && s.length > 0))",
      ]);
      assert.equal(out, 'function function true');
    });
  });

  describe("in a user's test", () => {
    let emulator: TwilioEmulator;
    let pl: Passwordless;
    let app: express.Express;

    before(async () => {
      emulator = await startTwilioEmulator();
      // Default rate limits: each test uses its own number.
      pl = passwordless({
        secret: 'my-app-test-secret-0123456789abcdef',
        sender: twilioSender(emulatorSenderOptions(emulator)),
        clients: [CLIENT],
      });
      app = express();
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.use(pl.router);
    });
    after(async () => {
      await pl.close();
      await emulator.close();
    });

    async function logIn(phone: string): Promise<request.Response> {
      const agent = request.agent(app);
      const body = { client_id: CLIENT.clientId, connection: 'sms', phone_number: phone };
      await agent.post('/passwordless/start').send(body).expect(200);
      const code = /\d{6}/.exec(emulator.lastMessage(phone)?.body ?? '')?.[0];
      assert.ok(code, `no code sent to ${phone}`);
      return agent.post('/passwordless/verify').send({ ...body, verification_code: code });
    }

    it('logs in with the code read from emulator.lastMessage()', async () => {
      const res = await logIn('+14155550123');
      assert.equal(res.status, 200);
      assert.equal(res.body.user.phone_number, '+14155550123');
    });

    it('keeps each accepted message with its route, and finds the newest for a number', async () => {
      const before = emulator.messages.length;
      await request(app)
        .post('/passwordless/start')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: '+14155550124' })
        .expect(200);
      await request(app)
        .post('/passwordless/start')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: '+14155550125' })
        .expect(200);
      const added = emulator.messages.slice(before);
      assert.deepEqual(
        added.map((m) => [m.to, m.messagingServiceSid, m.from]),
        [
          ['+14155550124', SERVICE_SID, undefined],
          ['+14155550125', SERVICE_SID, undefined],
        ],
      );
      assert.match(added[0]?.sid ?? '', /^SM[0-9a-f]{32}$/);
      assert.equal(emulator.lastMessage('+14155550124'), added[0]);
      assert.equal(emulator.lastMessage(), added[1]);
      assert.equal(emulator.lastMessage('+14155550199'), undefined);
    });

    it('keeps a refused message out of messages (it is only in received)', async () => {
      emulator.behave('+14155550126', { twilioError: 21614 });
      const before = emulator.received.length;
      await request(app)
        .post('/passwordless/start')
        .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: '+14155550126' })
        .expect(400);
      assert.equal(emulator.received.length, before + 1);
      assert.equal(emulator.lastMessage('+14155550126'), undefined);
    });

    describe('with TWILIO_EDGE and TWILIO_REGION set', () => {
      const saved = { edge: process.env.TWILIO_EDGE, region: process.env.TWILIO_REGION };
      before(() => {
        process.env.TWILIO_EDGE = 'sydney';
        process.env.TWILIO_REGION = 'au1';
      });
      after(() => {
        if (saved.edge === undefined) delete process.env.TWILIO_EDGE;
        else process.env.TWILIO_EDGE = saved.edge;
        if (saved.region === undefined) delete process.env.TWILIO_REGION;
        else process.env.TWILIO_REGION = saved.region;
      });

      it('still reaches the emulator: its httpClient swaps whatever host the SDK built', async () => {
        // A sender made now, so the SDK client reads the variables.
        const sender = twilioSender(emulatorSenderOptions(emulator));
        const sent = await sender.send({
          to: '+14155550127',
          body: 'code 123456',
          clientId: CLIENT.clientId,
          language: '',
          request: { ip: '127.0.0.1', userAgent: 'test' },
        });
        assert.equal(emulator.lastMessage('+14155550127')?.sid, sent.id);
      });
    });
  });
});
