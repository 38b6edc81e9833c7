// Where a request's CPU goes: `node bench/profile.js [MODE...] [--seconds S]` runs a bench
// server with the V8 CPU profiler on (what `node --cpu-prof` runs, started after the verify
// rows' seeding, 250 µs sampling), loads it like `npm run bench` does (own address and number
// per request, ~1 s warm-up), and attributes the profile's samples to components: a sample is
// charged to the innermost frame that is package code (dist/…) or a dependency the package
// calls (libphonenumber-js, liquidjs, lru-cache, negotiator, jose), unless an Express, HTTP or
// stream frame comes first (writing the answer, parsing the body: work the baseline does too).
// Node's own crypto and builtins are charged to the package frame that called them. Prints µs per request by component and writes bench/results/profile-*.json.
// MODE is a bench row's (bench/server.js): verify-right-* rows redeem their seeded codes, the
// other verify rows send a wrong one, -session rows send each request's session cookie, and
// `baseline` profiles the bare Express app. KEEP_PROFILE=/some/dir/MODE.cpuprofile keeps each
// raw profile (MODE replaced), for Chrome DevTools or a finer breakdown.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { phoneAt } = require('./phones');
const { codeAt, wrongCodeAt, deleteKeysUnder, loadPosts, spawnServer, CLIENT, SEED, WARMUP_OFFSET } = require('./common');

const args = process.argv.slice(2);
const si = args.indexOf('--seconds');
const seconds = si >= 0 ? Number(args.splice(si, 2)[1]) : 8;
const modes = args.length > 0 ? args : ['start-limits', 'verify-wrong-limits'];
const DEPENDENCIES = ['libphonenumber-js', 'liquidjs', 'lru-cache', 'negotiator', 'jose'];

function load(url, pathName, body, duration, offset, cookie = false) {
  return loadPosts({ url, path: pathName, seconds: duration, next: { i: offset }, body, cookie });
}

const SHARED = 'shared with the baseline (Node HTTP, Express, body parser, express-session, answer writing, GC)';
/** Frames of work any Express app does: HTTP, streams, Express and its middleware. */
const SHARED_URL =
  /node_modules\/(?!(libphonenumber-js|liquidjs|lru-cache|negotiator|jose)\/)|node:_http|node:net|node:internal\/(streams|http|stream_base)|node:events|node:internal\/timers/;

/** The component a frame belongs to, SHARED, or undefined for a neutral frame (crypto, builtins). */
function componentOf(frame) {
  const url = frame.callFrame.url || '';
  if (SHARED_URL.test(url)) return SHARED;
  const dep = DEPENDENCIES.find((d) => url.includes(`/node_modules/${d}/`));
  if (dep) return dep;
  const m = /[/\\]dist[/\\](.+)\.js$/.exec(url);
  if (m) return `${m[1]} ${frame.callFrame.functionName || '(anonymous)'}`;
  return undefined;
}

function attribute(profile, requests) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const cache = new Map();
  const labelOf = (id) => {
    if (cache.has(id)) return cache.get(id);
    let label;
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      label = componentOf(byId.get(cur));
      if (label) break;
    }
    cache.set(id, label ?? null);
    return label ?? null;
  };
  const totals = new Map();
  let busy = 0;
  profile.samples.forEach((id, k) => {
    const dt = profile.timeDeltas[k + 1] ?? 0;
    const name = byId.get(id).callFrame.functionName;
    // Idle time is the server waiting for the load generator: not part of a request's cost.
    if (name === '(idle)') return;
    busy += dt;
    const label = labelOf(id) ?? SHARED;
    totals.set(label, (totals.get(label) || 0) + dt);
  });
  const rows = [...totals.entries()]
    .map(([component, us]) => ({ component, usPerRequest: us / requests }))
    .sort((a, b) => b.usPerRequest - a.usPerRequest);
  return { busyUsPerRequest: busy / requests, rows };
}

async function profileMode(mode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-prof-'));
  const file = path.join(dir, 'server.cpuprofile');
  const prefix = `pwl-profile:${Date.now().toString(36)}${process.pid}:`;
  const { child, url } = await spawnServer({
    mode,
    seed: mode.startsWith('verify-') ? SEED : 0,
    prefix,
    env: { ...process.env, BENCH_CPU_PROFILE: file },
  });
  // The reference logins (session-login*) answer at the verify path, as the package's login does.
  const [pathName, body] =
    mode.startsWith('verify-') || mode.startsWith('session-login')
      ? [
          '/passwordless/verify',
          (i) => ({
            client_id: CLIENT.clientId,
            connection: 'sms',
            phone_number: phoneAt(i),
            verification_code: (mode.startsWith('verify-right') ? codeAt : wrongCodeAt)(i),
          }),
        ]
      : [
          // The baseline server answers its one route; any other path would profile a 404.
          mode === 'baseline' ? '/baseline' : '/passwordless/start',
          (i) => ({ client_id: CLIENT.clientId, connection: 'sms', phone_number: phoneAt(i) }),
        ];
  const cookie = mode.includes('-session');
  const warm = await load(url, pathName, body, 1, WARMUP_OFFSET, cookie);
  const r = await load(url, pathName, body, seconds, 0, cookie);
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  // The -redis rows write codes and limits to the local Redis: left behind, they would pile up.
  if (mode.endsWith('-redis')) await deleteKeysUnder(prefix);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (process.env.KEEP_PROFILE) fs.copyFileSync(file, process.env.KEEP_PROFILE.replace('MODE', mode));
  fs.rmSync(dir, { recursive: true, force: true });
  // The whole profile, warm-up included: requests counted over both loads.
  const requests = warm.requests.total + r.requests.total;
  return { mode, requests, ...attribute(profile, requests) };
}

async function main() {
  const results = [];
  for (const mode of modes) {
    const p = await profileMode(mode);
    results.push(p);
    process.stdout.write(`\n${mode}: ${p.busyUsPerRequest.toFixed(0)} µs busy per request\n`);
    for (const row of p.rows.slice(0, 18)) process.stdout.write(`  ${row.usPerRequest.toFixed(1).padStart(7)}  ${row.component}\n`);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  fs.writeFileSync(
    path.join(__dirname, 'results', `profile-${stamp}.json`),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds, results }, null, 2),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
