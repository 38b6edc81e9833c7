/**
 * The router users mount: its routes answer at every spelling Express matches (another case, a
 * trailing slash, a query string), at the root or under a prefix, and it stays an Express Router
 * that takes middleware of its own.
 */
import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { memoryStore, outboxSender, passwordless, sessionStore } from '../../lib';
import { CLIENT, PHONE, SECRET, lastCode, startBody, verifyBody } from '../helpers/app';

function mounted(prefix: string, options: { store?: ReturnType<typeof memoryStore>; withSession?: boolean } = {}) {
  const outbox = outboxSender();
  const pl = passwordless({
    secret: SECRET,
    sender: outbox,
    clients: [CLIENT],
    rateLimits: false,
    store: options.store ?? memoryStore(),
    logger: false,
  });
  const app = express();
  if (options.withSession !== false) app.use(session({ secret: 'session-secret', resave: false, saveUninitialized: false }));
  app.use(prefix, pl.router);
  return { app, pl, outbox };
}

describe('the router', () => {
  const spellings = ['/passwordless/start', '/passwordless/start/', '/Passwordless/START', '/passwordless/start?via=link'];
  for (const prefix of ['/', '/auth']) {
    for (const path of spellings) {
      it(`starts and logs in at ${path} mounted at ${prefix}`, async () => {
        const { app, outbox } = mounted(prefix);
        const base = prefix === '/' ? '' : prefix;
        const agent = request.agent(app);
        const started = await agent
          .post(base + path)
          .send(startBody())
          .expect(200);
        assert.equal(started.body.phone_number, PHONE);
        const verifyPath = path.replace(/start/i, (s) => (s === 'START' ? 'VERIFY' : 'verify'));
        const verified = await agent
          .post(base + verifyPath)
          .send(verifyBody(lastCode(outbox)))
          .expect(200);
        assert.equal(verified.body.user.phone_number, PHONE);
      });
    }
  }

  it('answers nothing outside its prefix: the app gets the request', async () => {
    const { app, outbox } = mounted('/auth');
    app.use((_req, res) => void res.status(404).json({ app: true }));
    const res = await request(app).post('/passwordless/start').send(startBody()).expect(404);
    assert.deepEqual(res.body, { app: true });
    assert.equal(outbox.messages.length, 0);
  });

  for (const path of spellings) {
    it(`starts without express-session at ${path} when the store keeps nothing in the session, and not with sessionStore`, async () => {
      const free = mounted('/', { withSession: false });
      await request(free.app).post(path).send(startBody()).expect(200);
      assert.equal(free.outbox.messages.length, 1);
      const bound = mounted('/', { withSession: false, store: sessionStore() });
      const refused = await request(bound.app).post(path).send(startBody()).expect(500);
      assert.equal(refused.body.error, 'server_error');
      assert.match(refused.body.error_description, /express-session/);
      assert.equal(bound.outbox.messages.length, 0);
      // The other session routes need it whatever the store.
      await request(free.app).post(path.replace(/start/i, 'verify')).send(verifyBody('000000')).expect(500);
    });
  }

  it("stays an Express Router: middleware added to it runs for the app's other paths", async () => {
    const { app, pl } = mounted('/');
    pl.router.get('/extra', (_req, res) => void res.json({ extra: true }));
    const res = await request(app).get('/extra').expect(200);
    assert.deepEqual(res.body, { extra: true });
  });
});
