// Cold `require('express-passwordless-sms')`: `node bench/cold-require.js [PACKAGE_DIR] [RUNS]`.
// Each run is a fresh node process timing require('./dist') from PACKAGE_DIR (default: this
// checkout); prints the median ms and whether the twilio SDK was loaded by the require.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const dir = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const runs = Number(process.argv[3] || 7);
const SCRIPT =
  "const t=process.hrtime.bigint(); require('./dist'); const ms=Number(process.hrtime.bigint()-t)/1e6; " +
  "console.log(JSON.stringify({ ms, twilio: Object.keys(require.cache).some((k) => k.includes('/node_modules/twilio/')), modules: Object.keys(require.cache).length }))";

const samples = [];
for (let i = 0; i < runs; i += 1) samples.push(JSON.parse(execFileSync(process.execPath, ['-e', SCRIPT], { cwd: dir, encoding: 'utf8' })));
const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({
    dir,
    runs,
    medianMs: sorted[Math.floor(sorted.length / 2)],
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
    twilioLoaded: samples.some((s) => s.twilio),
    modulesLoaded: samples[0].modules,
  }) + '\n',
);
