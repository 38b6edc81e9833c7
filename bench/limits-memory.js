// Heap bytes per tracked key in memoryLimits: `node --expose-gc bench/limits-memory.js STARTS`.
// Each start, from its own address to its own number, goes through the backend's take() with
// the default limits and fraud guard, planned as the core plans them (lib/limits createLimits):
// one address key and three number keys (cooldown, per hour, per day), plus the fraud record
// of each new prefix. Bytes per key = heapUsed delta after gc / the backend's size().
'use strict';
const { memoryLimits, DEFAULTS } = require('..');
const { createKeyring } = require('../dist/core/crypto');
const { createLimits } = require('../dist/limits');
const { phoneAt, addressAt } = require('./phones');
const { SECRET, CLIENT, settle } = require('./common');

const starts = Number(process.argv[2] || 50_000);

async function main() {
  const keyring = createKeyring([SECRET], SECRET);
  const d = DEFAULTS.fraudGuard;
  const fraud = {
    prefixDigits: d.prefixDigits,
    minSends: d.minSends,
    minConversion: d.minConversion,
    windowMs: d.windowSeconds * 1000,
    blockMs: d.blockSeconds * 1000,
    allowPrefixes: [],
  };
  // Room for every key (the number group holds three per number): nothing is evicted.
  const maxKeys = Math.max(100_000, starts * 4);
  const now = Date.now();
  const before = settle();
  // Built after the baseline: the LRUs' arrays, sized by maxKeys, are part of the cost.
  const backend = memoryLimits({ maxKeys });
  const limits = createLimits({ ...DEFAULTS.rateLimits }, fraud, backend, keyring);
  let refused = 0;
  for (let i = 0; i < starts; i += 1) {
    const plan = limits.start(addressAt(i), phoneAt(i), CLIENT.clientId);
    const result = await backend.take(plan.buckets, plan.fraud, now + i, now + i + 2000);
    if (result.refused) refused += 1;
  }
  const after = settle();
  const keys = backend.size();
  process.stdout.write(
    JSON.stringify({
      starts,
      refused,
      keys,
      maxKeys,
      heapBytesPerKey: Math.round((after.heapUsed - before.heapUsed) / keys),
      heapBytesPerStart: Math.round((after.heapUsed - before.heapUsed) / starts),
    }) + '\n',
  );
  backend.close();
}

main();
