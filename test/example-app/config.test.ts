import assert from 'node:assert/strict';
import path from 'node:path';
import request from 'supertest';
import { deleteKeys, nodeRedis, requireRedis, uniquePrefix } from '../helpers/redis';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readConfig } = require(path.resolve(__dirname, '../../../example-app/config.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require(path.resolve(__dirname, '../../../example-app/app.js'));

describe('example app configuration', () => {
  it('starts with no environment: memory store, development outbox, generated secrets with a warning', async () => {
    const warnings: string[] = [];
    const config = readConfig({}, (m: string) => warnings.push(m));
    assert.equal(config.twilio, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.port, 3000);
    assert.equal(warnings.length, 2);
    const printed: string[] = [];
    const { app, close } = await createApp(config, { print: (l: string) => printed.push(l) });
    await request(app)
      .post('/passwordless/start')
      .send({ client_id: 'example-web', connection: 'sms', phone_number: '+14155550123' })
      .expect(200);
    assert.match(printed[0] ?? '', /SMS to \+1\*{8}23 \(client example-web\): Example App: your verification code is \d{6}/);
    assert.doesNotMatch(printed[0] ?? '', /4155550123/, 'the number is masked');
    const outbox = await request(app).get('/dev/outbox').expect(200);
    assert.match(outbox.text, /your verification code is \d{6}/);
    await close();
  });

  it('uses Redis for codes, limits and sessions with REDIS_URL', async function () {
    await requireRedis(this);
    // A prefix of its own, so the limits this run counts in Redis never meet another run's.
    const prefix = uniquePrefix();
    const config = readConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix }, () => {});
    const { app, outbox, close } = await createApp(config, { print: () => {} });
    try {
      const agent = request.agent(app);
      const body = { client_id: 'example-web', connection: 'sms', phone_number: '+14155550177' };
      await agent.post('/passwordless/start').send(body).expect(200);
      const code = /\d{6}/.exec(outbox.last().body)?.[0];
      await agent
        .post('/passwordless/verify')
        .send({ ...body, verification_code: code })
        .expect(200);
      const me = await agent.get('/api/me').expect(200);
      assert.equal(me.body.user.phone_number, '+14155550177');
    } finally {
      await close();
      const client = await nodeRedis();
      await deleteKeys(client, prefix);
      await client.quit();
    }
  });

  it('refuses the development sender in production', () => {
    assert.throws(
      () => readConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32), PASSWORDLESS_SECRET: 'y'.repeat(32) }),
      /TWILIO_ACCOUNT_SID/,
    );
  });

  it('requires the secrets in production', () => {
    assert.throws(
      () =>
        readConfig({
          NODE_ENV: 'production',
          TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
          TWILIO_AUTH_TOKEN: 't',
          TWILIO_FROM: '+14155550100',
        }),
      /SESSION_SECRET/,
    );
  });

  it('uses Twilio when its variables are set, and has no outbox then', async () => {
    const config = readConfig(
      { TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'token', TWILIO_MESSAGING_SERVICE_SID: `MG${'2'.repeat(32)}` },
      () => {},
    );
    const { app, close } = await createApp(config);
    await request(app).get('/dev/outbox').expect(404);
    await close();
  });
});
