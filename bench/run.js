// `npm run bench`: throughput, server CPU and latency of each route against a bare Express
// baseline measured in the same run, Redis round trips per request, memory per pending code
// and per limiter key, cold require time, template render cost and the SMS pumping
// simulation. Prints a table, writes bench/results/*.json and the README table.
//
// Options: --connections N (default 10), --duration S (default 8), --warmup S (default 1),
// --no-redis, --no-readme, --only SUBSTRING (rows whose mode contains it; the rest of the
// figures are still measured).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { phoneAt } = require('./phones');
const {
  codeAt,
  wrongCodeAt,
  cpuMicros,
  deleteKeysUnder,
  loadPosts,
  redisUrl,
  spawnServer,
  CLIENT,
  SEED,
  WARMUP_OFFSET,
} = require('./common');

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    'no-redis': { type: 'boolean', default: false },
    'no-readme': { type: 'boolean', default: false },
  },
});
const connections = Number(values.connections);
const warmup = Number(values.warmup);
const duration = Number(values.duration);
/** Each row's measured time is cut into windows of this length, alternating with its baseline's. */
const WINDOW_SECONDS = 1;
const root = path.resolve(__dirname, '..');
const RUN_ID = `${Date.now().toString(36)}${process.pid}`;
const REDIS_PREFIX = `pwl-bench:${RUN_ID}:`;
const BODY = { client_id: CLIENT.clientId, connection: 'sms' };

// Two cores: the servers get core 1, this process (autocannon) and its helpers core 0.
const PIN = os.cpus().length >= 2 && hasTaskset();
function hasTaskset() {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function startServer(mode, seed = 0) {
  return spawnServer({ mode, seed, prefix: REDIS_PREFIX, pin: PIN });
}

function stopServer(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', resolve);
    server.child.kill('SIGTERM');
  });
}

/**
 * The run's own Redis, on a spare port, pinned with this process to core 0: in production Redis
 * has its own host, and on the server's core its work (and the switches to it) would be
 * charged to the server. Its counters are then the run's alone. Without redis-server, or
 * without pinning, the rows use the local Redis on 6379.
 */
async function startRedis() {
  if (!PIN) return undefined;
  const port = await sparePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('taskset', ['-c', '0', 'redis-server', ...args], { stdio: 'ignore' });
  child.on('error', () => {});
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    try {
      execFileSync('redis-cli', ['-p', String(port), 'PING'], { stdio: 'ignore' });
      process.env.BENCH_REDIS_URL = `redis://127.0.0.1:${port}`;
      return { child, exited, dir };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  process.stderr.write('redis-server did not start: the Redis rows use the local Redis on 6379\n');
  return undefined;
}

async function stopRedis(redis) {
  if (!redis) return;
  redis.child.kill('SIGTERM');
  await redis.exited;
  fs.rmSync(redis.dir, { recursive: true, force: true });
  delete process.env.BENCH_REDIS_URL;
}

function sparePort() {
  return new Promise((resolve, reject) => {
    const s = require('node:net').createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Redis's own counters: script calls (EVALSHA/EVAL) and every command, those run inside scripts included. */
function redisCommandStats() {
  const url = new URL(redisUrl());
  const info = execFileSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', 'INFO', 'commandstats'], { encoding: 'utf8' });
  const counts = { scripts: 0, all: 0 };
  for (const m of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    counts.all += Number(m[2]);
    if (/^(evalsha|eval)$/.test(m[1])) counts.scripts += Number(m[2]);
  }
  return counts;
}

/** The Redis calls the server's client made (each a round trip), from its GET /__bench/redis. */
function clientCalls(server) {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.url}/__bench/redis`, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          const calls = JSON.parse(text);
          resolve(Object.values(calls).reduce((n, c) => n + c, 0));
        });
      })
      .on('error', reject);
  });
}

/** Load on one row's server for `seconds`; `next` is the row's request counter, shared by its windows. */
function run(url, pathName, row, seconds, next) {
  return loadPosts({ url, path: pathName, seconds, next, body: row.body, cookie: Boolean(row.cookie), connections });
}

/** One measured window: autocannon's numbers and the server's CPU time over it. */
async function window(server, pathName, row, next) {
  const cpu = cpuMicros(server.child.pid);
  const result = await run(server.url, pathName, row, WINDOW_SECONDS, next);
  return { result, cpu: cpuMicros(server.child.pid) - cpu };
}

/** The windows of one server summed: req/s over the measured time, CPU per request, medians of p50/p99. */
function summary(windows) {
  const requests = windows.reduce((n, w) => n + w.result.requests.total, 0);
  const cpu = windows.reduce((n, w) => n + w.cpu, 0);
  const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
  const statuses = {};
  for (const w of windows)
    for (const [code, v] of Object.entries(w.result.statusCodeStats || {})) statuses[code] = (statuses[code] || 0) + v.count;
  return {
    reqPerSec: requests / (windows.length * WINDOW_SECONDS),
    cpuPerRequest: cpu / Math.max(1, requests),
    p50: median(windows.map((w) => w.result.latency.p50)),
    p99: median(windows.map((w) => w.result.latency.p99)),
    total: requests,
    errors: windows.reduce((n, w) => n + w.result.errors, 0),
    statuses,
  };
}

const start = (i) => ({ ...BODY, phone_number: phoneAt(i) });
const wrong = (i) => ({ ...BODY, phone_number: phoneAt(i), verification_code: wrongCodeAt(i) });
const right = (i) => ({ ...BODY, phone_number: phoneAt(i), verification_code: codeAt(i) });
/** `limits`: the default rate limits and fraud guard; the number in `target` is the req/s and CPU ratio aimed at. */
const ROWS = [
  { name: 'start, memoryStore (limits off)', mode: 'start', path: '/passwordless/start', body: start },
  {
    name: 'start, memoryStore, default limits (memoryLimits)',
    mode: 'start-limits',
    path: '/passwordless/start',
    body: start,
    target: 0.8,
  },
  {
    name: 'verify wrong code, memoryStore, default limits (memoryLimits)',
    mode: 'verify-wrong-limits',
    path: '/passwordless/verify',
    body: wrong,
    target: 0.8,
  },
  { name: 'verify right code, memoryStore (limits off)', mode: 'verify-right', path: '/passwordless/verify', body: right },
  {
    name: 'verify right code, memoryStore, default limits',
    mode: 'verify-right-limits',
    path: '/passwordless/verify',
    body: right,
    target: 0.7,
  },
  {
    name: 'verify right code, sessionStore, default limits',
    mode: 'verify-right-limits-session',
    path: '/passwordless/verify',
    body: right,
    cookie: true,
    target: 0.7,
  },
  { name: 'start, redisStore (limits off)', mode: 'start-redis', redis: true, path: '/passwordless/start', body: start },
  {
    name: 'start, redisStore, default limits in Redis',
    mode: 'start-limits-redis',
    redis: true,
    path: '/passwordless/start',
    body: start,
    target: 0.7,
    trips: 1,
  },
  {
    name: 'verify wrong code, redisStore (limits off)',
    mode: 'verify-wrong-redis',
    redis: true,
    path: '/passwordless/verify',
    body: wrong,
  },
  {
    name: 'verify wrong code, redisStore, default limits in Redis',
    mode: 'verify-wrong-limits-redis',
    redis: true,
    path: '/passwordless/verify',
    body: wrong,
    target: 0.7,
    trips: 1,
  },
  {
    name: 'verify right code, redisStore, default limits in Redis',
    mode: 'verify-right-limits-redis',
    redis: true,
    path: '/passwordless/verify',
    body: right,
    target: 0.7,
    trips: 1,
  },
  // References, no package: what a login costs with express-session alone, as its documentation
  // writes one (regenerate, save, answer), and with one Redis round trip (a PING) before it.
  {
    name: 'reference: express-session login alone (regenerate, save, answer), no package',
    mode: 'session-login',
    path: '/passwordless/verify',
    body: right,
  },
  {
    name: 'reference: the same login after one Redis round trip (PING), no package',
    mode: 'session-login-redis',
    redis: true,
    path: '/passwordless/verify',
    body: right,
  },
];

function childJson(args) {
  return JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 }));
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function measureRow(row) {
  // The baseline (same warm-up, same requests: bodies, addresses, cookies) and the row's server
  // run side by side and take turns, one window each: this machine's speed drifts from second
  // to second, so each ratio compares servers that saw the same fast and slow moments.
  const baselineServer = await startServer('baseline');
  const server = await startServer(row.mode, row.mode.startsWith('verify-') ? SEED : 0);
  try {
    // About a second of load for the JIT and the caches, on numbers the measured windows won't reuse.
    const warm = [{ i: WARMUP_OFFSET }, { i: WARMUP_OFFSET }];
    await run(baselineServer.url, '/baseline', row, warmup, warm[0]);
    await run(server.url, row.path, row, warmup, warm[1]);
    const nextBase = { i: 0 };
    const next = { i: 0 };
    const baseWindows = [];
    const windows = [];
    const trips = { calls: 0, scripts: 0, all: 0 };
    for (let k = 0; k < Math.max(1, Math.round(duration / WINDOW_SECONDS)); k++) {
      baseWindows.push(await window(baselineServer, '/baseline', row, nextBase));
      const before = row.redis ? { stats: redisCommandStats(), calls: await clientCalls(server) } : undefined;
      windows.push(await window(server, row.path, row, next));
      if (before) {
        const after = { stats: redisCommandStats(), calls: await clientCalls(server) };
        trips.calls += after.calls - before.calls;
        trips.scripts += after.stats.scripts - before.stats.scripts;
        trips.all += after.stats.all - before.stats.all;
      }
    }
    // Past its range, a row would meet numbers in cooldown and codes already spent.
    if (Math.max(next.i, nextBase.i) > WARMUP_OFFSET || Math.max(...warm.map((w) => w.i)) > SEED)
      throw new Error(`${row.name}: more requests than numbers set aside; raise WARMUP_OFFSET and WARMUP_SPAN in bench/common.js`);
    const base = summary(baseWindows);
    const r = summary(windows);
    const per = (n) => n / Math.max(1, r.total);
    const redis = row.redis ? { roundTrips: per(trips.calls), scriptCalls: per(trips.scripts), commands: per(trips.all) } : undefined;
    const result = {
      name: row.name,
      mode: row.mode,
      target: row.target,
      targetTrips: row.trips,
      reqPerSec: r.reqPerSec,
      p50: r.p50,
      p99: r.p99,
      total: r.total,
      statuses: r.statuses,
      errors: r.errors,
      redis,
      baselineReqPerSec: base.reqPerSec,
      ratio: r.reqPerSec / base.reqPerSec,
      cpuPerRequest: r.cpuPerRequest,
      baselineCpuPerRequest: base.cpuPerRequest,
      cpuRatio: base.cpuPerRequest / r.cpuPerRequest,
    };
    process.stderr.write(
      `${row.name}: ${fmt(result.reqPerSec)} req/s (baseline ${fmt(result.baselineReqPerSec)}, ×${fmt(result.ratio, 2)}), CPU ${fmt(result.cpuPerRequest)} µs (baseline ${fmt(result.baselineCpuPerRequest)}, ×${fmt(result.cpuRatio, 2)}) ${JSON.stringify(r.statuses)}${redis ? ` redis ${JSON.stringify(redis)}` : ''}\n`,
    );
    return result;
  } finally {
    await Promise.all([stopServer(baselineServer), stopServer(server)]);
    // Each Redis row starts on an empty prefix, failed or not: no row runs against the codes,
    // buckets and fraud records the rows before it left (hundreds of thousands of keys by the last).
    if (row.redis) process.stderr.write(`Redis: deleted ${await deleteKeysUnder(REDIS_PREFIX)} keys under ${REDIS_PREFIX}\n`);
  }
}

/** The verdict of one target: met, or not with the figure. */
function verdict(ok) {
  return ok ? '**met**' : '**not met**';
}

function targetLines(results, memory, limiterMemory, cold, fraud) {
  const lines = ['| target | measured | status |', '|---|---|---|'];
  const row = (mode) => results.find((r) => r.mode === mode);
  const both = (r, t) => r && r.ratio >= t && r.cpuRatio >= t;
  const show = (r) => (r ? `${fmt(r.ratio, 2)}× req/s, ${fmt(r.cpuRatio, 2)}× CPU` : 'not measured');
  for (const [mode, label] of [
    ['start-limits', 'start, default limits (memory)'],
    ['verify-wrong-limits', 'wrong-code verify, default limits (memory)'],
  ]) {
    const r = row(mode);
    lines.push(`| ${label} ≥ 0.80× baseline req/s and CPU | ${show(r)} | ${verdict(both(r, 0.8))} |`);
  }
  for (const mode of ['start-limits-redis', 'verify-wrong-limits-redis', 'verify-right-limits-redis']) {
    const r = row(mode);
    const trips = r?.redis ? fmt(r.redis.roundTrips, 2) : '?';
    lines.push(
      `| ${r?.name ?? mode}: ≥ 0.70× and 1 round trip | ${show(r)}, ${trips} round trips | ${verdict(both(r, 0.7) && r.redis && r.redis.roundTrips <= 1.01)} |`,
    );
  }
  // Each login next to the reference login without the package (with a Redis round trip for
  // redisStore): the floor that express-session's own login work sets in the same run.
  for (const [mode, floor] of [
    ['verify-right-limits', 'session-login'],
    ['verify-right-limits-session', 'session-login'],
    ['verify-right-limits-redis', 'session-login-redis'],
  ]) {
    const r = row(mode);
    const f = row(floor);
    const reference = f ? `; reference login${floor.endsWith('-redis') ? ' + PING' : ''} without the package: ${show(f)}` : '';
    lines.push(`| ${r?.name ?? mode} ≥ 0.70× | ${show(r)}${reference} | ${verdict(both(r, 0.7))} |`);
  }
  const m = memory.find((x) => x.count === 1_000_000);
  if (m)
    lines.push(
      `| ≤ 300 heap bytes per pending code at 1,000,000 codes | ${fmt(m.heapBytesPerCode)} B | ${verdict(m.heapBytesPerCode <= 300)} |`,
    );
  lines.push(`| memoryLimits: bytes per tracked key (no target; reported) | ${fmt(limiterMemory.heapBytesPerKey)} B | reported |`);
  lines.push(
    `| cold require does not load the twilio SDK | ${cold.twilioLoaded ? 'loaded' : 'not loaded'}, ${fmt(cold.medianMs)} ms | ${verdict(!cold.twilioLoaded)} |`,
  );
  for (const s of fraud.scenarios) {
    lines.push(
      `| fraud guard (${s.name}): ≤ ${s.minSends} SMS per pumped prefix, 0 real logins refused | max ${s.maxSentPerPumpedPrefix} per prefix, ${s.realRefused} refused | ${verdict(s.maxSentPerPumpedPrefix <= s.minSends && s.realRefused === 0)} |`,
    );
  }
  return lines;
}

async function main() {
  const results = [];
  const rows = ROWS.filter((r) => !(r.redis && values['no-redis']) && (!values.only || r.mode.includes(values.only)));
  const redis = rows.some((r) => r.redis) ? await startRedis() : undefined;
  const ownRedis = redis !== undefined;
  try {
    for (const row of rows) results.push(await measureRow(row));
  } finally {
    await stopRedis(redis);
  }

  process.stderr.write('memory, cold require, template, fraud simulation...\n');
  const memory = [100_000, 1_000_000].map((n) => childJson(['--expose-gc', path.join(__dirname, 'memory.js'), String(n)]));
  const limiterMemory = childJson(['--expose-gc', path.join(__dirname, 'limits-memory.js'), '50000']);
  const cold = childJson([path.join(__dirname, 'cold-require.js'), root, '7']);
  const beforeFile = path.join(__dirname, 'results', 'cold-require-before.json');
  const coldBefore = fs.existsSync(beforeFile) ? JSON.parse(fs.readFileSync(beforeFile, 'utf8')) : undefined;
  const template = childJson([path.join(__dirname, 'template.js')]);
  const fraud = childJson([path.join(__dirname, 'fraud.js')]);

  const redisCell = (r) =>
    r.redis === undefined ? '' : `${fmt(r.redis.roundTrips, 2)} (${fmt(r.redis.scriptCalls, 2)} / ${fmt(r.redis.commands, 2)})`;
  const statusCell = (r) =>
    Object.entries(r.statuses)
      .map(([k, v]) => `${k}: ${fmt(v)}`)
      .join(', ');
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, ${PIN ? `each server pinned to core 1 (\`taskset -c 1\`), autocannon${ownRedis ? " and the run's own redis-server" : ''} on core 0` : 'no CPU pinning'}; autocannon ${connections} connections, ${duration} s per row in ${Math.max(1, Math.round(duration / WINDOW_SECONDS))} windows of ${WINDOW_SECONDS} s that alternate with the baseline's, after ${warmup} s of warm-up load. Every request has its own \`X-Forwarded-For\` (\`trust proxy: 'loopback'\`) and its own number, so the per-address and per-number limits count, and never refuse; verify rows redeem codes seeded under the core's store keys (wrong code: one wrong attempt on a pending code). The baseline (a bare Express app with express.json and express-session answering 200 JSON, same requests, same warm-up) runs in its own process next to each row's server, and the two take turns window by window, so both see the same moments of this shared machine; p50/p99 are the medians of the windows'.`,
    '',
    '| row | req/s | p50 ms | p99 ms | answers | baseline req/s | × baseline req/s | server CPU µs / request (baseline) | × baseline by CPU | Redis round trips / request (EVALSHA+EVAL / all commands, from INFO) |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${fmt(r.reqPerSec)} | ${r.p50} | ${r.p99} | ${statusCell(r)} | ${fmt(r.baselineReqPerSec)} | ${fmt(r.ratio, 2)} | ${fmt(r.cpuPerRequest)} (${fmt(r.baselineCpuPerRequest)}) | ${fmt(r.cpuRatio, 2)} | ${redisCell(r)} |`,
    ),
    '',
    '| memoryStore, pending codes | heap bytes / code | resident bytes / code |',
    '|---|---:|---:|',
    ...memory.map((m) => `| ${fmt(m.count)} | ${fmt(m.heapBytesPerCode)} | ${fmt(m.rssBytesPerCode)} |`),
    '',
    `memoryLimits: ${fmt(limiterMemory.heapBytesPerKey)} heap bytes per tracked key (${fmt(limiterMemory.keys)} keys from ${fmt(limiterMemory.starts)} starts through take(), each from its own address to its own number: ${fmt(limiterMemory.heapBytesPerStart)} bytes per start, maxKeys ${fmt(limiterMemory.maxKeys)}).`,
    '',
    `Cold \`require('express-passwordless-sms')\` (fresh process, median of ${cold.runs}): ${fmt(cold.medianMs)} ms, ${cold.modulesLoaded} modules, twilio SDK ${cold.twilioLoaded ? 'loaded' : 'not loaded'}${coldBefore ? `; before this round (${coldBefore.commit}): ${fmt(coldBefore.medianMs)} ms, ${coldBefore.modulesLoaded} modules, twilio SDK ${coldBefore.twilioLoaded ? 'loaded' : 'not loaded'} (measured ${coldBefore.date.slice(0, 10)} on this machine)` : ''}.`,
    '',
    `Template render: ${fmt(template.plainMicroseconds, 2)} µs for the plain default template, ${fmt(template.multiLanguageMicroseconds, 2)} µs for a five-language template set with negotiation (per message).`,
    '',
    `SMS pumping simulation (\`bench/fraud.js\`, the login core in process on an injected clock, default fraud guard: ${fraud.settings.minSends} sends, ${fraud.settings.minConversion} conversion, ${fraud.settings.prefixDigits}-digit prefixes, ${fraud.settings.windowSeconds / 3600} h window; every request from its own address, spread over one hour):`,
    '',
    '| scenario | pumped starts | SMS sent to pumped prefixes (max per prefix) | pumped starts refused | real logins | real logins refused |',
    '|---|---:|---:|---:|---:|---:|',
    ...fraud.scenarios.map(
      (s) =>
        `| ${s.name} | ${fmt(s.pumpedStarts)} over ${s.pumpedPrefixes} prefixes | ${fmt(s.pumpedSent)} (${s.maxSentPerPumpedPrefix}) | ${fmt(s.pumpedRefused)} | ${fmt(s.realLogins)} over ${s.realPrefixes} prefixes | ${s.realRefused} |`,
    ),
    '',
    'Targets (issue "Performance round 2"), from this run:',
    '',
    ...targetLines(results, memory, limiterMemory, cold, fraud),
  ];
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = {
    date: new Date().toISOString(),
    node: process.version,
    pinned: PIN,
    connections,
    duration,
    warmup,
    rows: results,
    memory,
    limiterMemory,
    coldRequire: cold,
    coldRequireBefore: coldBefore,
    template,
    fraud,
  };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  if (!values.only) {
    fs.writeFileSync(path.join(__dirname, 'results', `${stamp}.json`), JSON.stringify(json, null, 2));
    fs.writeFileSync(path.join(__dirname, 'results', 'latest.json'), JSON.stringify(json, null, 2));
  }

  if (!values['no-readme'] && !values.only) {
    const readme = path.join(root, 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const open = '<!-- bench:start -->';
    const close = '<!-- bench:end -->';
    if (text.includes(open) && text.includes(close)) {
      fs.writeFileSync(
        readme,
        text.replace(new RegExp(`${open}[\\s\\S]*?${close}`), () => `${open}\n${table}\n${close}`),
      );
      process.stderr.write('README.md performance table updated\n');
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
