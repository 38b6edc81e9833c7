// Heap and resident bytes per pending code in memoryStore: `node --expose-gc bench/memory.js COUNT`.
'use strict';
const { memoryStore } = require('..');
const { codeHash, codeKey, newId } = require('../dist/otp');
const { phoneAt } = require('./phones');

const count = Number(process.argv[2] || 100_000);
const SECRET = 'benchmark-secret-0123456789abcdef-0123';

function settle() {
  for (let i = 0; i < 3; i += 1) global.gc();
  return process.memoryUsage();
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
  const now = Date.now();
  const ctx = { now, ttlMs: 180_000, maxAttempts: 3 };
  // Keys and hashes are made first and the baseline taken after, so only the store's own
  // share (its entries, the LRU's bookkeeping and the key and hash strings it keeps) counts.
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    const phone = phoneAt(i);
    entries.push([codeKey(SECRET, phone, 'bench'), { id: newId(), hash: codeHash(SECRET, phone, 'bench', String(i % 1e6).padStart(6, '0')), expiresAt: now + 180_000 }]);
  }
  const before = settle();
  // Built after the baseline: the LRU's arrays, sized by `max`, are part of the cost.
  const store = memoryStore({ max: count });
  for (const [key, record] of entries) await store.save(key, record, ctx);
  const after = settle();
  // Touch the store after measuring, or V8 may collect it (and its entries) before `after`.
  if ((await store.verify(entries[0][0], 'x', ctx)).outcome === 'ok') throw new Error('unreachable');
  // The records' ids are not kept by the store; the strings the store does keep are shared
  // with `entries`, so they are added back at their size.
  const strings = entries.reduce((n, [key, record]) => n + 16 + Math.ceil(key.length / 8) * 8 + 16 + Math.ceil(record.hash.length / 8) * 8, 0);
  process.stdout.write(JSON.stringify({
    count,
    heapBytesPerCode: Math.round((after.heapUsed - before.heapUsed + strings) / count),
    rssBytesPerCode: Math.round((after.rss - before.rss + strings) / count),
  }) + '\n');
}

main();
