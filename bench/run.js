// `npm run bench`: throughput and latency of each route against a bare Express baseline
// measured in the same run, Redis commands per request, memory per pending code and
// template render cost. Prints a table, writes bench/results/*.json and the README table.
//
// Options: --connections N (default 10), --duration S (default 5), --no-redis, --no-readme.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { phoneAt } = require('./phones');

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    'no-redis': { type: 'boolean', default: false },
    'no-readme': { type: 'boolean', default: false },
  },
});
const connections = Number(values.connections);
const warmup = Number(values.warmup);
/** Warm-up requests use numbers from here on, so the measured run starts on fresh ones. */
const WARMUP_OFFSET = 60_000;
const duration = Number(values.duration);
const root = path.resolve(__dirname, '..');
const CLIENT = { client_id: 'bench', connection: 'sms' };

function startServer(mode, seed = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js'), mode, String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`bench server ${mode} exited with ${code}`)));
  });
}

/**
 * Redis's own counters: `trips` are the commands a client sent (here only script calls:
 * EVALSHA/EVAL/SCRIPT), `all` adds the commands those scripts ran inside Redis.
 */
function redisCommandCalls() {
  const info = execFileSync('redis-cli', ['-h', '127.0.0.1', 'INFO', 'commandstats'], { encoding: 'utf8' });
  const counts = { trips: 0, all: 0 };
  for (const m of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    counts.all += Number(m[2]);
    if (/^(evalsha|eval|script)/.test(m[1])) counts.trips += Number(m[2]);
  }
  return counts;
}

/** CPU time (user + system) a process has used, in µs, from /proc (Linux). */
function cpuMicros(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / 100);
}

/** Runs a load and reports, besides autocannon's numbers, the server's CPU µs per request. */
async function measure(server, row, seconds, offset) {
  const cpu = cpuMicros(server.child.pid);
  const result = await run(server.url, row.path, row.body, seconds, offset);
  result.cpuPerRequest = (cpuMicros(server.child.pid) - cpu) / Math.max(1, result.requests.total);
  return result;
}

function run(url, pathName, bodyAt, seconds = duration, offset = 0) {
  let i = offset;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: pathName,
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: JSON.stringify(bodyAt(i++)) }),
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

// The baseline gets the same request bodies as the start row, so the load generator (which
// shares the machine's two cores) does the same work per request in every row.
const BASELINE = { name: 'baseline: express.json + express-session, 200 JSON', mode: 'baseline', path: '/baseline', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i) }) };
const ROWS = [
  { name: 'POST /passwordless/start (limits off)', mode: 'start', path: '/passwordless/start', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i) }) },
  { name: 'POST /passwordless/start (limits on)', mode: 'start-limits', path: '/passwordless/start', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i) }) },
  { name: 'POST /passwordless/verify, wrong code (limits on)', mode: 'verify-wrong-limits', path: '/passwordless/verify', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i), verification_code: '000000' }) },
  { name: 'POST /passwordless/verify, right code (session regenerated)', mode: 'verify-right', seed: 90_000, path: '/passwordless/verify', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i), verification_code: String(i % 1e6).padStart(6, '0') }) },
  { name: 'start, redisStore (limits off)', mode: 'start-redis', redis: true, path: '/passwordless/start', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i) }) },
  { name: 'start, redisStore (limits on, in Redis)', mode: 'start-limits-redis', redis: true, path: '/passwordless/start', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i) }) },
  { name: 'verify wrong code, redisStore (limits off)', mode: 'verify-wrong-redis', redis: true, path: '/passwordless/verify', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i), verification_code: '000000' }) },
  { name: 'verify right code, redisStore (limits off)', mode: 'verify-right-redis', seed: 90_000, redis: true, path: '/passwordless/verify', body: (i) => ({ ...CLIENT, phone_number: phoneAt(i), verification_code: String(i % 1e6).padStart(6, '0') }) },
];

function childJson(args) {
  return JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 }));
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main() {
  const results = [];
  for (const row of ROWS) {
    if (row.redis && values['no-redis']) continue;
    // A fresh baseline server with the same warm-up, measured right before each row: this
    // machine's speed drifts by ±15 % over minutes, and a long-lived baseline would keep
    // getting faster from JIT warmth alone, so each ratio compares equals that ran side by side.
    const baselineServer = await startServer(BASELINE.mode);
    let base;
    try {
      await run(baselineServer.url, BASELINE.path, BASELINE.body, warmup, WARMUP_OFFSET);
      base = await measure(baselineServer, BASELINE);
    } finally {
      baselineServer.child.kill();
    }
    const server = await startServer(row.mode, row.seed);
    const { child, url } = server;
    try {
      // A warm-up the JIT and the caches need, with request bodies the measured run won't reuse.
      await run(url, row.path, row.body, warmup, WARMUP_OFFSET);
      const before = row.redis ? redisCommandCalls() : undefined;
      const r = await measure(server, row);
      const after = row.redis ? redisCommandCalls() : undefined;
      const per = (n) => n / Math.max(1, r.requests.total);
      const commands = before && after ? { trips: per(after.trips - before.trips), all: per(after.all - before.all) } : undefined;
      const statuses = Object.fromEntries(Object.entries(r.statusCodeStats || {}).map(([k, v]) => [k, v.count]));
      results.push({
        name: row.name, mode: row.mode, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, statuses,
        errors: r.errors, redisCommandsPerRequest: commands, baselineReqPerSec: base.requests.average, ratio: r.requests.average / base.requests.average,
        cpuPerRequest: r.cpuPerRequest, baselineCpuPerRequest: base.cpuPerRequest, cpuRatio: base.cpuPerRequest / r.cpuPerRequest,
      });
      process.stderr.write(`${row.name}: ${fmt(r.requests.average)} req/s (baseline ${fmt(base.requests.average)}) ${JSON.stringify(statuses)}\n`);
    } finally {
      child.kill();
    }
  }

  const memory = [100_000, 1_000_000].map((n) => childJson(['--expose-gc', path.join(__dirname, 'memory.js'), String(n)]));
  const template = childJson([path.join(__dirname, 'template.js')]);

  const lines = [
    `Node ${process.version}, ${require('node:os').cpus().length} cores, autocannon ${connections} connections × ${duration} s per row (after ${warmup} s of warm-up), servers in their own processes on 127.0.0.1; the baseline (a bare Express app with express.json and express-session answering 200 JSON, same request bodies) runs in a fresh process with the same warm-up right before each row.`,
    '',
    '| row | req/s | p50 ms | p99 ms | baseline req/s, just before | × baseline req/s | server CPU µs / request (baseline) | × baseline by CPU | Redis round trips / request (commands incl. inside scripts) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.name} | ${fmt(r.reqPerSec)} | ${r.p50} | ${r.p99} | ${fmt(r.baselineReqPerSec)} | ${fmt(r.ratio, 2)} | ${fmt(r.cpuPerRequest)} (${fmt(r.baselineCpuPerRequest)}) | ${fmt(r.cpuRatio, 2)} | ${r.redisCommandsPerRequest === undefined ? '' : `${fmt(r.redisCommandsPerRequest.trips, 2)} (${fmt(r.redisCommandsPerRequest.all, 2)})`} |`),
    '',
    '| memoryStore, pending codes | heap bytes / code | resident bytes / code |',
    '|---|---:|---:|',
    ...memory.map((m) => `| ${fmt(m.count)} | ${fmt(m.heapBytesPerCode)} | ${fmt(m.rssBytesPerCode)} |`),
    '',
    `Template render: ${fmt(template.plainMicroseconds, 2)} µs for the plain default template, ${fmt(template.multiLanguageMicroseconds, 2)} µs for a five-language template set with negotiation (per message).`,
  ];
  const table = lines.join('\n');
  process.stdout.write(`\n${table}\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = { date: new Date().toISOString(), node: process.version, connections, duration, rows: results, memory, template };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', `${stamp}.json`), JSON.stringify(json, null, 2));
  fs.writeFileSync(path.join(__dirname, 'results', 'latest.json'), JSON.stringify(json, null, 2));

  if (!values['no-readme']) {
    const readme = path.join(root, 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const start = '<!-- bench:start -->';
    const end = '<!-- bench:end -->';
    if (text.includes(start) && text.includes(end)) {
      fs.writeFileSync(readme, text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${table}\n${end}`));
      process.stderr.write('README.md performance table updated\n');
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
