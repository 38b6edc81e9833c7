/**
 * Limits in this process: one bounded LRU per key group, so a flood of addresses cannot
 * evict the counts of numbers (and the other way round), and one entry per key holding all of
 * its buckets (a number's cooldown, hour and day), so a start touches each key once. No timer
 * per key: each count holds its own expiry on the injected clock and is treated as empty once
 * past it; the LRU's bound, not time, is what frees memory.
 */
import { LRUCache } from 'lru-cache';
import { checkObject, integerIn, keysOf } from '../config/validate';
import { estimate, freshFraudRecord, looksPumped, rotate, type FraudRecord } from './fraud';
import type { Bucket, BucketGroup, FraudCheck, LimitBackend, LimitName, Refusal, TakeResult } from './types';

export interface MemoryLimitsOptions {
  /** Most keys tracked per group (numbers, addresses, prefixes, global). Default 100 000. */
  maxKeys?: number;
}

const OPTIONS = keysOf<MemoryLimitsOptions>()(['maxKeys']);

export interface MemoryLimitBackend extends LimitBackend {
  readonly kind: 'memory';
  /** Keys tracked now (numbers, addresses, prefixes, global), over all groups: the bench's memory-per-key figure. */
  size(): number;
}

/**
 * The counts of one number, address, prefix or global key: one cache entry holds all its
 * buckets, each a pair of doubles at `2 × SLOT[name]`: the count `c`, then the end of its window
 * `e` on the injected clock (-Infinity for none, so that no clock reading, not even one below 0
 * as an injected clock may give, finds a window there). One array of doubles instead of an
 * object per count and a boxed double per end: 4 objects per start instead of 10 for the
 * collector, and about 110 bytes less per number tracked.
 */
type Entity = number[];

/**
 * Where each bucket's pair sits in its entity. The buckets that share an entity (a number's
 * cooldown and hour; an address's starts and failed verifies; a number's sends today and wrong
 * codes from one address) have distinct slots; the others are alone in theirs (a prefix, a
 * client, every send, a client's wrong secrets from one address).
 */
const SLOT: Readonly<Record<LimitName, number>> = {
  resendCooldownSeconds: 0,
  sendsPerPhonePerHour: 1,
  startsPerIpPerHour: 0,
  failedVerifiesPerIpPerHour: 1,
  failedClientAuthPerIpPerHour: 0,
  failedVerifiesPerPhonePerHour: 0,
  sendsPerPhonePerDay: 1,
  sendsPerPrefixPerHour: 0,
  sendsPerClientPerDay: 0,
  sendsPerDay: 0,
  fraudGuard: 0,
};

/** A new entity with room for every slot of `b`'s group (an array literal gets exactly this capacity). */
function newEntity(b: Bucket): Entity {
  // A client's wrong secrets from an address are alone in their (address, client) entity.
  if (b.group === 'global' || b.name === 'failedClientAuthPerIpPerHour') return [0, -Infinity];
  return [0, -Infinity, 0, -Infinity];
}

/** The index of `b`'s count in its entity (its window's end is next). */
function at(b: Bucket): number {
  return SLOT[b.name] * 2;
}

function sameKey(a: Bucket, b: Bucket): boolean {
  return a.group === b.group && a.key === b.key && a.sub === b.sub;
}

/** The key of a bucket's entity in its group's cache. */
function entityKey(b: Bucket): string {
  return b.sub === undefined ? b.key : `${b.key}:${b.sub}`;
}

export function memoryLimits(options?: MemoryLimitsOptions): MemoryLimitBackend {
  const o = checkObject<MemoryLimitsOptions>(options, 'memoryLimits(options)', OPTIONS, '{ maxKeys: 100000 }');
  const max = integerIn('memoryLimits.maxKeys', o.maxKeys, 100, 50_000_000, 100_000);
  const groups = new Map<BucketGroup, LRUCache<string, Entity>>();
  const fraud = new LRUCache<string, FraudRecord>({ max });
  function cache(group: BucketGroup): LRUCache<string, Entity> {
    let c = groups.get(group);
    if (!c) {
      c = new LRUCache<string, Entity>({ max });
      groups.set(group, c);
    }
    return c;
  }
  const isEmpty = (entity: Entity, now: number): boolean => {
    for (let i = 0; i < entity.length; i += 2) if ((entity[i] as number) > 0 && (entity[i + 1] as number) > now) return false;
    return true;
  };
  /** Whether the window of the pair at `i` in `entity` is running at `now` (its count then counts). */
  const live = (entity: Entity | undefined, i: number, now: number): entity is Entity =>
    entity !== undefined && (entity[i + 1] ?? -Infinity) > now;
  /**
   * Each bucket's entity (undefined while it has none), each key looked up once: a number's
   * cooldown, hour and day buckets come one after another and share one entry.
   */
  function lookup(buckets: readonly Bucket[]): Array<Entity | undefined> {
    const found: Array<Entity | undefined> = [];
    let previous: Bucket | undefined;
    for (const b of buckets) {
      const same = previous !== undefined && sameKey(previous, b);
      found.push(same ? found[found.length - 1] : cache(b.group).get(entityKey(b)));
      previous = b;
    }
    return found;
  }
  function firstFull(buckets: readonly Bucket[], entities: ReadonlyArray<Entity | undefined>, now: number): Refusal | undefined {
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as Bucket;
      const entity = entities[i];
      const j = at(b);
      if (live(entity, j, now) && (entity[j] as number) >= b.limit)
        return { bucket: b.name, refusal: b.refusal, retryAfterMs: (entity[j + 1] as number) - now };
    }
    return undefined;
  }
  /**
   * Adds `delta` to each bucket; an entity created for one bucket serves the next ones of its key.
   * A give-back (`delta` < 0) with `takenBy` leaves a window that opened after it alone.
   */
  function addAll(buckets: readonly Bucket[], entities: Array<Entity | undefined>, now: number, delta: number, takenBy = Infinity): void {
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i] as Bucket;
      let entity = entities[i];
      const j = at(b);
      if (live(entity, j, now)) {
        if (delta < 0 && (entity[j + 1] as number) > takenBy + b.windowMs) continue;
        entity[j] = Math.max(0, (entity[j] as number) + delta);
        continue;
      }
      if (delta <= 0) continue;
      if (!entity) {
        entity = newEntity(b);
        cache(b.group).set(entityKey(b), entity);
        for (let k = i + 1; k < buckets.length; k++)
          if (entities[k] === undefined && sameKey(buckets[k] as Bucket, b)) entities[k] = entity;
      }
      entity[j] = delta;
      entity[j + 1] = now + b.windowMs;
    }
  }
  /**
   * Drops the entities left with no live count (a verify's failure buckets given back, a
   * login's reset): every login would otherwise leave its address and number tracked until the
   * LRU pushed them out, as many entries as logins, all kept alive for the garbage collector to
   * walk. Never the last entry of a cache: lru-cache then clears all of its arrays, a cost in
   * proportion to `maxKeys`.
   */
  function forgetEmpty(buckets: readonly Bucket[], entities: ReadonlyArray<Entity | undefined>, now: number): void {
    for (let i = 0; i < buckets.length; i++) {
      const entity = entities[i];
      if (entity === undefined || (i > 0 && entities[i - 1] === entity) || !isEmpty(entity, now)) continue;
      const b = buckets[i] as Bucket;
      const c = cache(b.group);
      if (c.size > 1) c.delete(entityKey(b));
    }
  }
  /** The prefix's record moved on to `now`, made when there is none; `kept` when the caller has read it already. */
  function fraudRecord(f: FraudCheck, now: number, kept = fraud.get(f.key)): FraudRecord {
    let r = kept;
    if (!r) {
      r = freshFraudRecord(now);
      fraud.set(f.key, r);
    }
    rotate(r, now, f.settings.windowMs);
    return r;
  }

  return {
    kind: 'memory',
    size: () => [...groups.values()].reduce((n, c) => n + c.size, fraud.size),
    async take(buckets, f, now): Promise<TakeResult> {
      // Checked in the order given: the address and global buckets come before the number's.
      const entities = lookup(buckets);
      const refused = firstFull(buckets, entities, now);
      if (refused) return { refused };
      if (f) {
        // A paused prefix's record is left unrotated, as the Redis script leaves it: a later
        // give-back then judges the same counts on either backend.
        const kept = fraud.get(f.key);
        if (kept && kept.p > now) return { refused: { bucket: 'fraudGuard', refusal: 'fraudPause', retryAfterMs: kept.p - now } };
        // A start that sends nothing (a decoy) makes no record: a fresh one cannot look pumped, and a
        // flood of them to fresh prefixes would push paused prefixes out of the LRU.
        if (kept || f.counts) {
          const r = fraudRecord(f, now, kept);
          const { sends, redemptions } = estimate(r, now, f.settings.windowMs);
          if (looksPumped(sends, redemptions, f.settings)) {
            r.p = now + f.settings.blockMs;
            return {
              refused: { bucket: 'fraudGuard', refusal: 'fraudPause', retryAfterMs: f.settings.blockMs },
              paused: { sends, redemptions },
            };
          }
          if (f.counts) r.s1 += 1;
        }
      }
      addAll(buckets, entities, now, 1);
      return {};
    },
    async give(buckets, f, now, _deadline, takenBy) {
      const entities = lookup(buckets);
      addAll(buckets, entities, now, -1, takenBy);
      forgetEmpty(buckets, entities, now);
      if (f) {
        const r = fraud.get(f.key);
        if (r && r.s1 > 0) {
          r.s1 -= 1;
          // A pause judged while this send was in flight counted an SMS that never went: lifted
          // once what remains no longer looks pumped, or failing sends would pause a prefix for free.
          if (r.p > now) {
            const { sends, redemptions } = estimate(r, now, f.settings.windowMs);
            if (!looksPumped(sends, redemptions, f.settings)) r.p = 0;
          }
        }
      }
    },
    async peek(buckets, now) {
      return firstFull(buckets, lookup(buckets), now);
    },
    async count(buckets, now) {
      addAll(buckets, lookup(buckets), now, 1);
    },
    async succeeded(buckets, f, now) {
      const entities = lookup(buckets);
      for (let i = 0; i < buckets.length; i++) {
        const entity = entities[i];
        if (entity) entity[at(buckets[i] as Bucket) + 1] = -Infinity;
      }
      forgetEmpty(buckets, entities, now);
      if (f) fraudRecord(f, now).r1 += 1;
    },
    close() {
      for (const c of groups.values()) c.clear();
      fraud.clear();
    },
  };
}
