/**
 * The router users mount: its routes answer at every spelling Express matches (another case, a
 * trailing slash, a query string), at the root or under a prefix, and it stays an Express Router
 * that takes middleware of its own.
 */
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
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

  for (const path of ['/passwordless/start', '/passwordless/start/']) {
    it(`sets req.route to the route and req.params to its own (none) at ${path}, as Express does`, async () => {
      const outbox = outboxSender();
      const pl = passwordless({ secret: SECRET, sender: outbox, clients: [CLIENT], rateLimits: false, logger: false });
      const app = express();
      let seen: { route?: unknown; params?: unknown } = {};
      // What metrics and logging middleware read once the answer is written: the route's path.
      app.use((req, res, next) => {
        res.on('finish', () => (seen = { route: (req.route as { path?: unknown } | undefined)?.path, params: { ...req.params } }));
        next();
      });
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.use('/t/:tenant', pl.router);
      await request(app).post(`/t/acme${path}`).send(startBody()).expect(200);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, { route: '/passwordless/start', params: {} });
    });
  }

  it("is seen by tracing that subscribes to Express's router channel, layer by layer, at every spelling", async () => {
    const { app } = mounted('/');
    const layers: string[] = [];
    const channel = tracingChannel<object, { layer?: { route?: { path?: string }; name?: string } }>('express.router.request');
    const start = (ctx: { layer?: { route?: { path?: string }; name?: string } }) =>
      void layers.push(ctx.layer?.route?.path ?? ctx.layer?.name ?? '?');
    const handlers = { start, end: () => undefined, asyncStart: () => undefined, asyncEnd: () => undefined, error: () => undefined };
    channel.subscribe(handlers);
    try {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
    } finally {
      channel.unsubscribe(handlers);
    }
    // Express 4 publishes nothing there; Express 5's router publishes the route's handler.
    if (Number(process.env.EXPRESS_MAJOR ?? 5) >= 5) assert.ok(layers.includes('passwordlessRoute'), layers.join(', '));
    else assert.deepEqual(layers, []);
  });

  it("dispatches through the route's layer when an instrumentation has wrapped it (as OpenTelemetry's Express instrumentation does)", async () => {
    const { app, pl } = mounted('/');
    const stack = (pl.router as unknown as { stack: Array<{ route?: { path?: string }; handle: (...args: unknown[]) => unknown }> }).stack;
    const layer = stack.find((l) => l.route?.path === '/passwordless/start');
    assert.ok(layer);
    const seen: string[] = [];
    const original = layer.handle;
    layer.handle = function instrumented(this: unknown, ...args: unknown[]) {
      seen.push('span: /passwordless/start');
      return original.apply(this, args);
    };
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    assert.deepEqual(seen, ['span: /passwordless/start']);
  });

  it('dispatches through Express when an instrumentation wrapped the routes as the router was built, keeping their names (as dd-trace does)', async () => {
    // Express 5's routers come from the router package; Express 4's keep their methods on express.Router.
    const proto = (Number(process.env.EXPRESS_MAJOR ?? 5) >= 5 ? express.Router.prototype : express.Router) as {
      route: (this: { stack: Layer[] }, path: string) => Route;
    };
    type Handle = (...args: unknown[]) => unknown;
    interface Layer {
      handle: Handle;
    }
    interface Route {
      stack: Layer[];
      post: (...args: unknown[]) => Route;
    }
    const spans: string[] = [];
    /** A wrapper that copies the wrapped function's own properties, its name among them. */
    const wrap = (original: Handle, span: string): Handle => {
      const wrapped = function (this: unknown, ...args: unknown[]) {
        spans.push(span);
        return original.apply(this, args);
      };
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(original))) {
        try {
          Object.defineProperty(wrapped, key, d);
        } catch {
          // a property the copy cannot take
        }
      }
      return wrapped;
    };
    const route = proto.route;
    proto.route = function instrumentedRoute(this: { stack: Layer[] }, path: string) {
      const made = route.call(this, path);
      const layer = this.stack[this.stack.length - 1] as Layer;
      layer.handle = wrap(layer.handle, `router ${path}`);
      const post = made.post;
      made.post = function instrumentedPost(this: Route, ...args: unknown[]) {
        const r = post.apply(this, args);
        const inner = this.stack[this.stack.length - 1] as Layer;
        inner.handle = wrap(inner.handle, `handler ${path}`);
        return r;
      };
      return made;
    };
    let app: express.Express;
    try {
      app = mounted('/').app;
    } finally {
      proto.route = route;
    }
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    assert.deepEqual(spans, ['router /passwordless/start', 'handler /passwordless/start']);
  });

  it("answers what a route throws as the package's JSON error, as Express would, at every spelling", async () => {
    for (const path of ['/passwordless/start', '/passwordless/start/']) {
      const { app } = mounted('/', { withSession: false });
      // A trust proxy function that throws: the route's body middleware calls it synchronously.
      app.set('trust proxy', () => {
        throw new Error('trust function failed');
      });
      app.use(
        (err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) =>
          void res.status(500).type('text').send(`app: ${err.message}`),
      );
      const res = await request(app).post(path).set('x-forwarded-for', '203.0.113.7').send(startBody());
      assert.deepEqual([res.status, res.body], [500, { error: 'server_error', error_description: 'Internal error.' }], path);
    }
  });

  it("stays an Express Router: middleware added to it runs for the app's other paths", async () => {
    const { app, pl } = mounted('/');
    pl.router.get('/extra', (_req, res) => void res.json({ extra: true }));
    const res = await request(app).get('/extra').expect(200);
    assert.deepEqual(res.body, { extra: true });
  });
});
