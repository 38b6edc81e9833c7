import assert from 'node:assert/strict';
import path from 'node:path';
import request from 'supertest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readConfig } = require(path.resolve(__dirname, '../../../example-app/config.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require(path.resolve(__dirname, '../../../example-app/app.js'));

describe('example app form routes', () => {
  it("logs out on the form's post from its own pages, and not on another site's (a sibling subdomain included)", async () => {
    const printed: string[] = [];
    const { app, close } = await createApp(
      readConfig({}, () => {}),
      { print: (l: string) => printed.push(l) },
    );
    try {
      const agent = request.agent(app);
      const body = { client_id: 'example-web', connection: 'sms', phone_number: '+14155550123' };
      await agent.post('/passwordless/start').send(body).expect(200);
      const code = /code is (\d{6})/.exec(printed.at(-1) ?? '')?.[1] as string;
      await agent
        .post('/passwordless/verify')
        .send({ ...body, verification_code: code })
        .expect(200);
      await agent.post('/logout').set('origin', 'https://evil.example.com').set('sec-fetch-site', 'same-site').expect(403);
      await agent.get('/api/me').expect(200);
      const out = await agent.post('/logout').set('origin', `http://127.0.0.1`).set('host', '127.0.0.1').expect(303);
      assert.equal(out.headers.location, '/');
      await agent.get('/api/me').expect(401);
    } finally {
      await close();
    }
  });
});
