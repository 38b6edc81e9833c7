// What the bench runner and the bench servers must agree on: secrets, the client, the codes
// seeded for verify rows, the session cookies of the sessionStore row, and the clean-up of
// the keys a run leaves in Redis; and what the runners share: starting a server, reading its
// CPU time, loading it.
'use strict';
const { spawn } = require('node:child_process');
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const SECRET = 'benchmark-secret-0123456789abcdef-0123';
const SESSION_SECRET = 's';
const CLIENT = { clientId: 'bench', name: 'Bench' };

/**
 * Request numbers (each its own phone number, address and seeded code): the measured windows
 * count up from 0, the warm-up from WARMUP_OFFSET, and the verify rows get codes seeded for
 * both, SEED in all (under memoryStore's default bound of 100,000). A run that reaches the
 * next range stops, rather than measure cooldowns and spent codes.
 */
const WARMUP_OFFSET = 80_000;
const WARMUP_SPAN = 12_000;
const SEED = WARMUP_OFFSET + WARMUP_SPAN;

/** The code seeded for number i (its last 6 digits), and a code that is never it. */
const codeAt = (i) => String(i % 1e6).padStart(6, '0');
const wrongCodeAt = (i) => String((i + 1) % 1e6).padStart(6, '0');

/** The express-session id and sessionStore binding seeded for request i (sessionStore rows). */
const sessionIdAt = (i) => `bench-session-${i}`;
const bindingAt = (i) => `bench-binding-${i}`;

/** express-session's signed cookie (cookie-signature: HMAC-SHA256, base64 without padding). */
function cookieAt(i) {
  const sid = sessionIdAt(i);
  const signature = createHmac('sha256', SESSION_SECRET).update(sid).digest('base64').replace(/=+$/, '');
  return `connect.sid=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

/** Heap figures after three full collections: what is still referenced, not garbage waiting. */
function settle() {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i += 1) global.gc();
  return process.memoryUsage();
}

/**
 * The Redis the -redis rows use: the one `npm run bench` starts for the run (pinned to the load
 * generator's core, handed to its servers in BENCH_REDIS_URL), else the local one.
 */
function redisUrl() {
  return process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
}

/** Deletes the keys a run's servers wrote under `prefix` in the bench's Redis (unique per run). */
async function deleteKeysUnder(prefix) {
  const { createClient } = require('redis');
  const client = createClient({ url: redisUrl() });
  await client.connect();
  let deleted = 0;
  try {
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      const keys = Array.isArray(batch) ? batch : [batch];
      if (keys.length > 0) deleted += await client.del(keys);
    }
  } finally {
    await client.quit();
  }
  return deleted;
}

/**
 * autocannon's load of POST `path` for `seconds`: request n (counted on `next.i`, which the
 * caller's windows share, so no two requests reuse a number or an address) has its own
 * X-Forwarded-For (the servers trust loopback), the body `body(n)`, and with `cookie` the
 * session cookie seeded for it (sessionStore rows: the browser's session holds the code's binding).
 */
function loadPosts({ url, path, seconds, next, body, cookie = false, connections = 10 }) {
  // Required here: the bench servers load this module too, and never autocannon.
  const autocannon = require('autocannon');
  const { addressAt } = require('./phones');
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path,
            setupRequest: (req) => {
              const n = next.i++;
              const headers = { 'content-type': 'application/json', 'x-forwarded-for': addressAt(n) };
              if (cookie) headers.cookie = cookieAt(n);
              return { ...req, headers, body: JSON.stringify(body(n)) };
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

/**
 * A bench server (`bench/server.js` of the checkout at `root`, this one by default) for `mode`,
 * once it prints its port; pinned to core 1 (`taskset`) unless `pin` is false. Its seeded codes
 * (`seed`) and Redis keys (`prefix`) are its own.
 */
function spawnServer({ mode, seed = 0, prefix, root = path.resolve(__dirname, '..'), pin = true, env = process.env }) {
  const args = [path.join(root, 'bench/server.js'), mode, String(seed), prefix];
  const options = { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] };
  return new Promise((resolve, reject) => {
    const child = pin ? spawn('taskset', ['-c', '1', process.execPath, ...args], options) : spawn(process.execPath, args, options);
    child.stdout.on('data', (d) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}`, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`bench server ${mode} of ${root} exited with ${code}`)));
  });
}

/** CPU time (user + system) a process has used, in µs, from /proc (Linux). */
function cpuMicros(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / 100);
}

module.exports = {
  cpuMicros,
  loadPosts,
  spawnServer,
  redisUrl,
  WARMUP_OFFSET,
  WARMUP_SPAN,
  SEED,
  settle,
  deleteKeysUnder,
  SECRET,
  SESSION_SECRET,
  CLIENT,
  codeAt,
  wrongCodeAt,
  sessionIdAt,
  bindingAt,
  cookieAt,
};
