// One benchmark server per process: `node bench/server.js MODE [SEED] [PREFIX]` prints "ready PORT".
// MODE is baseline, session-login[-redis] (a reference login without the package, below), or
// ROUTE[-limits][-session|-redis]:
//   ROUTE    start | verify-wrong | verify-right (verify rows get SEED codes seeded first)
//   -limits  the default rate limits and fraud guard on (else rateLimits: false)
//   -session sessionStore() (codes bound to the session; SEED sessions seeded too)
//   -redis   redisStore on the bench's Redis (bench/common.js redisUrl(); node-redis, keys under PREFIX); with -limits the
//            limits are counted in the store's Redis (the lent backend: one script per request)
// Requests come through `trust proxy: 'loopback'`, each with its own X-Forwarded-For, so the
// per-address limits count one request per address. GET /__bench/redis answers the Redis
// calls this process made (counted at the client), for round trips per request.
'use strict';
const express = require('express');
const session = require('express-session');
const { passwordless, memoryStore, sessionStore, redisStore } = require('..');
const { createKeyring, newId } = require('../dist/core/crypto');
const { phoneAt } = require('./phones');
const { SECRET, SESSION_SECRET, CLIENT, codeAt, sessionIdAt, bindingAt, redisUrl } = require('./common');

const mode = process.argv[2] || 'baseline';
const seedCount = Number(process.argv[3] || 0);
const prefix = process.argv[4] || `pwl-bench:${process.pid}:`;

/** Counts the calls the package makes on the client: each is one round trip. */
function countCalls(client, counts) {
  for (const name of ['evalSha', 'eval', 'del']) {
    const original = client[name];
    if (typeof original !== 'function') continue;
    client[name] = function counted(...args) {
      counts[name] = (counts[name] || 0) + 1;
      return original.apply(this, args);
    };
  }
}

/** The bench's Redis (`redisUrl()`), through node-redis (required only by the -redis rows). */
async function connectRedis() {
  const { createClient } = require('redis');
  const client = createClient({ url: redisUrl() });
  await client.connect();
  return client;
}

async function main() {
  const app = express();
  app.set('trust proxy', 'loopback');
  const sessions = new session.MemoryStore();
  const sessionMiddleware = session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false, store: sessions });
  if (mode.startsWith('session-login')) {
    // A reference, not the package: a login as express-session's own documentation writes it
    // (regenerate, set the user, save, answer), with one Redis round trip (a PING) first in
    // session-login-redis. What any login with express-session and a Redis costs, whoever writes it.
    app.use(express.json());
    app.use(sessionMiddleware);
    let ping = async () => undefined;
    const calls = { ping: 0 };
    if (mode.endsWith('-redis')) {
      const client = await connectRedis();
      ping = () => {
        calls.ping += 1;
        return client.sendCommand(['PING']);
      };
    }
    app.get('/__bench/redis', (req, res) => res.json(calls));
    app.post('/passwordless/verify', (req, res, next) => {
      ping().then(() => {
        req.session.regenerate((err) => {
          if (err) return next(err);
          req.session.user = { user_id: 'sms|reference', phone_number: req.body.phone_number, phone_verified: true };
          req.session.save((saveErr) => (saveErr ? next(saveErr) : res.status(200).json({ ok: true })));
        });
      }, next);
    });
  } else if (mode === 'baseline') {
    app.use(express.json());
    app.use(sessionMiddleware);
    app.post('/baseline', (req, res) => res.status(200).json({ ok: true, received: Boolean(req.body) }));
  } else {
    const limitsOn = mode.includes('-limits');
    const bound = mode.includes('-session');
    const calls = {};
    let client;
    let store;
    if (mode.endsWith('-redis')) {
      client = await connectRedis();
      countCalls(client, calls);
      store = redisStore({ client, prefix });
    } else {
      // The default store, as users get it (100 000 codes); the seeded rows stay below that.
      store = bound ? sessionStore() : memoryStore();
    }
    const pl = passwordless({
      secret: SECRET,
      // A sender that resolves at once: the row measures the middleware, not a provider.
      sender: { send: async () => ({ id: 'SM0' }) },
      clients: [CLIENT],
      store,
      // The defaults, untouched (limitStore left out: memoryLimits(), or the redisStore's Redis).
      ...(limitsOn ? {} : { rateLimits: false }),
      logger: false,
    });
    app.get('/__bench/redis', (req, res) => res.json(calls));
    app.use(sessionMiddleware);
    app.use(pl.router);
    if (mode.startsWith('verify-')) await seed(store, bound, sessions);
  }
  if (process.env.BENCH_CPU_PROFILE) await startProfile(process.env.BENCH_CPU_PROFILE);
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
}

/** bench/profile.js: a CPU profile of the requests only (after seeding), written on SIGTERM. */
async function startProfile(file) {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 250 });
  await post('Profiler.start');
  stopHooks.push(async () => {
    const { profile } = await post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
  });
}

/**
 * Pending codes for numbers 0..SEED-1, written straight into the store under the key the core
 * computes (lib/core/login.ts storeKey): `${limitKey('phone:' + phone)}.${codeKey(client, binding)}`.
 * Code i is the last 6 digits of i; with sessionStore, number i is bound to session i.
 */
async function seed(store, bound, sessions) {
  const keyring = createKeyring([SECRET], SECRET);
  const keys = keyring.current;
  const now = Date.now();
  const ctx = { now, ttlMs: 600_000, maxAttempts: 3, deadline: now + 60_000 };
  const one = (i) => {
    const phone = phoneAt(i);
    const binding = bound ? bindingAt(i) : '';
    const key = `${keyring.limitKey(`phone:${phone}`)}.${keys.codeKey(CLIENT.clientId, binding)}`;
    const record = { id: newId(), hash: keys.codeHash(phone, CLIENT.clientId, binding, codeAt(i)), expiresAt: now + 600_000 };
    if (bound) {
      sessions.set(
        sessionIdAt(i),
        { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, passwordlessBinding: bindingAt(i) },
        () => undefined,
      );
    }
    return store.save(key, record, ctx);
  };
  // In batches, so that Redis seeding is pipelined rather than one round trip at a time.
  for (let i = 0; i < seedCount; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, seedCount - i) }, (_, j) => one(i + j)));
  }
}

// A clean exit on a signal lets a CPU profile be written.
const stopHooks = [];
const stop = () => Promise.all(stopHooks.map((f) => f())).finally(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
