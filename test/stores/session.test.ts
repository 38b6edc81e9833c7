import assert from 'node:assert/strict';
import request from 'supertest';
import { sessionStore } from '../../lib';
import { lastCode, makeApp, startBody, verifyBody, wrongCodeFor } from '../helpers/app';

describe('sessionStore through the routes', () => {
  async function startedInBrowser() {
    const t = makeApp({ store: sessionStore(), otp: { maxAttempts: 3 } });
    const browser = request.agent(t.app);
    await browser.post('/passwordless/start').send(startBody()).expect(200);
    return { ...t, browser, code: lastCode(t.outbox) };
  }

  it('lets only the browser that started the login finish it', async () => {
    const { app, browser, code } = await startedInBrowser();
    await request.agent(app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
    await browser.post('/passwordless/verify').send(verifyBody(code)).expect(200);
    await browser.get('/me').expect(200);
  });

  it('logs in exactly one of two concurrent right-code verifies on one cookie', async () => {
    const { browser, code } = await startedInBrowser();
    const results = await Promise.all([0, 1].map(() => browser.post('/passwordless/verify').send(verifyBody(code))));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 403]);
  });

  it('counts 20 concurrent wrong guesses on one cookie atomically: the code is then void', async () => {
    const { browser, code } = await startedInBrowser();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => browser.post('/passwordless/verify').send(verifyBody(wrongCodeFor(code)))),
    );
    assert.equal(results.filter((r) => r.status === 403).length, 3);
    assert.equal(results.filter((r) => r.status === 429).length, 17);
    const res = await browser.post('/passwordless/verify').send(verifyBody(code));
    assert.equal(res.status, 429);
  });

  it('replaces the pending code on a new start in the same browser', async () => {
    const { browser, outbox, code } = await startedInBrowser();
    await browser.post('/passwordless/start').send(startBody()).expect(200);
    const second = lastCode(outbox);
    if (second !== code) await browser.post('/passwordless/verify').send(verifyBody(code)).expect(403);
    await browser.post('/passwordless/verify').send(verifyBody(second)).expect(200);
  });
});
