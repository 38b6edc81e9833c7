// Heap and resident bytes per pending code in memoryStore: `node --expose-gc bench/memory.js COUNT`.
'use strict';
const { memoryStore } = require('..');
const { createKeyring, newId } = require('../dist/core/crypto');
const { phoneAt } = require('./phones');
const { SECRET, CLIENT, settle } = require('./common');

const count = Number(process.argv[2] || 100_000);

async function main() {
  const keyring = createKeyring([SECRET], SECRET);
  const keys = keyring.current;
  const now = Date.now();
  const ctx = { now, ttlMs: 180_000, maxAttempts: 3 };
  // Built after the baseline: the LRU's arrays, sized by `max`, are part of the cost. Keys and
  // records are made as the core makes them (the key is lib/core/login.ts storeKey:
  // `<number tag>.<code key>`) and handed over; what the store keeps of them is what counts.
  const before = settle();
  const store = memoryStore({ max: count });
  let first;
  for (let i = 0; i < count; i += 1) {
    const phone = phoneAt(i);
    const key = `${keyring.limitKey(`phone:${phone}`)}.${keys.codeKey(CLIENT.clientId, '')}`;
    first ??= key;
    await store.save(
      key,
      { id: newId(), hash: keys.codeHash(phone, CLIENT.clientId, '', String(i % 1e6).padStart(6, '0')), expiresAt: now + 180_000 },
      ctx,
    );
  }
  const after = settle();
  // Touch the store after measuring, or V8 may collect it (and its entries) before `after`.
  if ((await store.verify(first, 'x', ctx)).outcome === 'ok') throw new Error('unreachable');
  process.stdout.write(
    JSON.stringify({
      count,
      keyLength: first.length,
      heapBytesPerCode: Math.round((after.heapUsed - before.heapUsed) / count),
      rssBytesPerCode: Math.round((after.rss - before.rss) / count),
    }) + '\n',
  );
}

main();
