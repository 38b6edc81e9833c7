// One benchmark server per process: `node bench/server.js MODE` prints "ready PORT".
// Modes: baseline | start | start-limits | verify-wrong | verify-right, each optionally
// with "-redis" (redisStore on 127.0.0.1:6379, node-redis).
'use strict';
const express = require('express');
const session = require('express-session');
const { passwordless, memoryStore, redisStore } = require('..');
const { codeHash, codeKey, newId } = require('../dist/otp');
const { phoneAt } = require('./phones');

const SECRET = 'benchmark-secret-0123456789abcdef-0123';
const CLIENT = { clientId: 'bench', name: 'Bench' };
const mode = process.argv[2] || 'baseline';
const seedCount = Number(process.argv[3] || 0);

async function main() {
  const app = express();
  if (mode === 'baseline') {
    app.use(express.json());
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.post('/baseline', (req, res) => res.status(200).json({ ok: true, received: Boolean(req.body) }));
  } else {
    // The default store, as users get it (100 000 codes); the seeded rows stay below that.
    let store = memoryStore();
    let client;
    if (mode.endsWith('-redis')) {
      const { createClient } = require('redis');
      client = createClient({ url: 'redis://127.0.0.1:6379' });
      await client.connect();
      store = redisStore({ client, prefix: `pwl-bench:${process.pid}:` });
    }
    const limitsOn = mode.includes('limits');
    const pl = passwordless({
      secret: SECRET,
      // A sender that resolves at once: the row measures the middleware, not a provider.
      sender: { send: async () => ({ id: 'SM0' }) },
      clients: [CLIENT],
      store,
      // Every request comes from 127.0.0.1, so the per-IP limit is raised; the per-number
      // limits stay at their defaults and distinct numbers keep them from tripping.
      rateLimits: limitsOn ? { startsPerIpPerHour: 1_000_000 } : false,
    });
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use(pl.router);
    if (mode.startsWith('verify-right')) {
      // Fresh codes, seeded straight into the store: code i is the last 6 digits of i.
      const now = Date.now();
      const ctx = { now, ttlMs: 600_000, maxAttempts: 3 };
      const seed = (i) => {
        const phone = phoneAt(i);
        const code = String(i % 1_000_000).padStart(6, '0');
        return store.save(codeKey(SECRET, phone, CLIENT.clientId), { id: newId(), hash: codeHash(SECRET, phone, CLIENT.clientId, code), expiresAt: now + 600_000 }, ctx);
      };
      // In batches, so that Redis seeding is pipelined rather than one round trip at a time.
      for (let i = 0; i < seedCount; i += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, seedCount - i) }, (_, j) => seed(i + j)));
      }
    }
  }
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
}

// A clean exit on a signal lets `node --cpu-prof` write its profile.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
