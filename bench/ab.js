// Two builds side by side: `node bench/ab.js --a DIR [--b DIR] --mode MODE [--rounds N]`.
//
// Each DIR is a checkout of this repository with its `dist/` built (`npm run build`); --b
// defaults to this one. MODE is a bench/server.js mode (start-limits, verify-wrong-limits,
// verify-right-limits-redis, …). It starts four servers, two of each build, in the order A, B,
// B, A, all pinned to core 1 (as `npm run bench` pins its servers), warms each with a second of
// load, then loads them one at a time in 1-s windows, the four in turn and in reverse order
// every other round, and prints each build's server CPU per request and B's cost as a share of
// A's. Only the CPU time over the windows counts (from /proc), so both builds see the same
// moments of a shared machine. Two copies of one build measure 1.00–1.01× here; a version with
// one server per build favoured the one started second by 2–3 %, which the A, B, B, A order
// cancels. The full bench's rows move by ±0.05 between runs: this is the tool for a change
// of a few per cent.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { phoneAt } = require('./phones');
const { codeAt, wrongCodeAt, cpuMicros, deleteKeysUnder, loadPosts, spawnServer, CLIENT, SEED, WARMUP_OFFSET } = require('./common');

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: path.resolve(__dirname, '..') },
    mode: { type: 'string' },
    rounds: { type: 'string', default: '12' },
  },
});
if (!values.a || !values.mode) {
  process.stderr.write('usage: node bench/ab.js --a DIR [--b DIR] --mode MODE [--rounds N]\n');
  process.exit(2);
}
const mode = values.mode;
const rounds = Number(values.rounds);
const RUN = `pwl-ab:${Date.now().toString(36)}${process.pid}:`;

const BODY = { client_id: CLIENT.clientId, connection: 'sms' };
const route = mode.startsWith('verify-') ? '/passwordless/verify' : mode === 'baseline' ? '/baseline' : '/passwordless/start';
/** The body of request i: a wrong code, a right one, or a start, each for its own number. */
function bodyAt(i) {
  if (mode.startsWith('verify-wrong')) return { ...BODY, phone_number: phoneAt(i), verification_code: wrongCodeAt(i) };
  if (mode.startsWith('verify-right')) return { ...BODY, phone_number: phoneAt(i), verification_code: codeAt(i) };
  return { ...BODY, phone_number: phoneAt(i) };
}

let started = 0;
/** One server of the build in `root`, with its own Redis prefix (each counts its own limits). */
async function startServer(root) {
  started += 1;
  const seed = mode.startsWith('verify-') ? SEED : 0;
  return { ...(await spawnServer({ mode, seed, prefix: `${RUN}${started}:`, root })), next: { i: 0 } };
}

function load(server, seconds, next) {
  return loadPosts({ url: server.url, path: route, seconds, next, body: bodyAt, cookie: mode.includes('-session') });
}

async function main() {
  const servers = [];
  try {
    for (const [build, root] of [
      ['A', values.a],
      ['B', values.b],
      ['B', values.b],
      ['A', values.a],
    ])
      servers.push({ build, ...(await startServer(path.resolve(root))) });
    for (const s of servers) await load(s, 1, { i: WARMUP_OFFSET });
    const totals = { A: { cpu: 0, requests: 0, unexpected: 0 }, B: { cpu: 0, requests: 0, unexpected: 0 } };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const before = cpuMicros(s.child.pid);
        const result = await load(s, 1, s.next);
        const t = totals[s.build];
        t.cpu += cpuMicros(s.child.pid) - before;
        t.requests += result.requests.total;
        // A wrong guess is a 403; anything else off 2xx means the row measures refusals.
        if (!mode.startsWith('verify-wrong')) t.unexpected += result.non2xx;
      }
    }
    const a = totals.A.cpu / totals.A.requests;
    const b = totals.B.cpu / totals.B.requests;
    process.stdout.write(
      `${mode}: A ${a.toFixed(1)} µs/request (${totals.A.requests}), B ${b.toFixed(1)} µs/request (${totals.B.requests}), B/A ${(b / a).toFixed(3)}\n`,
    );
    if (totals.A.unexpected + totals.B.unexpected > 0)
      process.stdout.write(`warning: ${totals.A.unexpected + totals.B.unexpected} answers were not 2xx\n`);
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    if (mode.includes('redis')) await deleteKeysUnder(RUN);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
