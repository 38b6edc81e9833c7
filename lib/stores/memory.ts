/**
 * The default store: a bounded LRU in this process. Verify is synchronous from lookup to
 * update, so it is atomic without locks; attempts are counted by mutating the entry in
 * place, so a wrong guess never touches the cache's TTL (lru-cache's `set()` on an existing
 * key would restart it and extend the code's life).
 */
import { LRUCache } from 'lru-cache';
import { checkObject, integerIn, keysOf } from '../config/validate';
import { safeEqual } from '../core/crypto';
import type { CodeStore, RemovedCode, VerifyResult } from '../types';

const OK: VerifyResult = Object.freeze({ outcome: 'ok' });
const NOT_PENDING: VerifyResult = Object.freeze({ outcome: 'invalid', pending: false });
const WRONG: VerifyResult = Object.freeze({ outcome: 'invalid', pending: true });
const EXHAUSTED: VerifyResult = Object.freeze({ outcome: 'exhausted' });
/** A remove that found no such code pending. */
const NOT_REMOVED: RemovedCode = Object.freeze({ removed: false, attempts: 0 });

/** The expiry of a removed code kept in place (see `drop`): before any clock's now. */
const SPENT = Number.NEGATIVE_INFINITY;

export interface MemoryStoreOptions {
  /** Most pending codes kept; the least recently used is dropped beyond it. Default 100 000. */
  max?: number;
}

/** Kept small on purpose (short keys, no id): this is what a million pending codes cost. */
interface Entry {
  /** HMAC of the code. */
  h: string;
  /** Expiry on the injected clock. */
  e: number;
  /** Wrong attempts so far. */
  a: number;
  /** The record's `data`, when it has any. */
  d?: string;
}

const OPTIONS = keysOf<MemoryStoreOptions>()(['max']);

/**
 * A flat copy of a key. Keys built by concatenation are V8 "cons strings" (a tree of the
 * parts), which cost about 80 bytes more each than the same characters stored flat; at a
 * million pending codes that is most of the difference between 240 and 320 bytes per code.
 */
function flat(key: string): string {
  return Buffer.from(key, 'latin1').toString('latin1');
}

/** The stores memoryStore() made: their codes live in this process only. */
const IN_PROCESS = new WeakSet<object>();

/** Whether `store` is a memoryStore(), whose codes other instances never see. */
export function isMemoryStore(store: CodeStore): boolean {
  return IN_PROCESS.has(store);
}

export function memoryStore(options?: MemoryStoreOptions): CodeStore {
  const o = checkObject<MemoryStoreOptions>(options, 'memoryStore(options)', OPTIONS, '{ max: 100000 }');
  const max = integerIn('memoryStore.max', o.max, 1, 50_000_000, 100_000);
  // An evicted code fails closed: the user asks for a new one, which the rate limits meter.
  // No cache TTL: expiry is decided by `e` on the injected clock, expired entries are dropped
  // when met and otherwise age out of the LRU, whose bound is the memory budget anyway. (A
  // TTL would cost 16 bytes and a clock read per entry, and `set()` would refresh it.)
  const cache = new LRUCache<string, Entry>({ max, updateAgeOnGet: false, updateAgeOnHas: false });

  /**
   * Removes a code. lru-cache empties every one of its arrays (O(max): about 0.3 ms at the
   * default 100 000 codes, 1.6 ms at a million) when its last entry is deleted, which on a quiet
   * server is every login; so the last entry is marked spent instead (an expiry every clock is
   * past) and goes when it is next met or pushed out. At most one such entry lingers.
   */
  function drop(key: string): void {
    if (cache.size > 1) {
      cache.delete(key);
      return;
    }
    const entry = cache.peek(key);
    if (entry) entry.e = SPENT;
  }

  const store: CodeStore = {
    async save(key, record) {
      const entry: Entry = { h: record.hash, e: record.expiresAt, a: 0 };
      if (record.data !== undefined) entry.d = record.data;
      cache.set(flat(key), entry);
    },
    async verify(key, hash, ctx) {
      const entry = cache.get(key);
      if (!entry || entry.e <= ctx.now) {
        if (entry) drop(key);
        safeEqual(hash, hash); // same work as a comparison against a live code
        return NOT_PENDING;
      }
      if (entry.a >= ctx.maxAttempts) return EXHAUSTED;
      if (safeEqual(entry.h, hash)) {
        drop(key);
        return entry.d === undefined ? OK : { outcome: 'ok', data: entry.d };
      }
      entry.a += 1;
      return WRONG;
    },
    async remove(key, ctx, code) {
      const entry = cache.peek(key);
      // No id is kept (memory per code): the hash tells the codes apart, unless both starts drew the same digits.
      if (!entry || entry.e <= ctx.now || (code !== undefined && entry.h !== code.hash)) return NOT_REMOVED;
      drop(key);
      return { removed: true, attempts: entry.a };
    },
    close() {
      cache.clear();
    },
  };
  IN_PROCESS.add(store);
  return store;
}
