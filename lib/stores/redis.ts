/**
 * Pending codes in Redis, shared by every instance. Save is one script call and verify is
 * one script call: expiry check, comparison, attempt count and consumption happen inside
 * Redis as one atomic step (never GET then DEL from Node, where two verifies could both win).
 * A `redisStore` also lends its client to the limits (unless `limitStore` says otherwise),
 * and then a request's limits and code are one script call.
 */
import { checkObject, integerIn, keysOf, optionError } from '../config/validate';
import { RedisBackend } from '../redis/backend';
import type { CodeStore } from '../types';

export interface RedisStoreOptions {
  /** A connected `redis` (node-redis 4, 5 or 6: `createClient` or `createCluster`) or `ioredis` (5 or 6: `Redis` or `Cluster`) client. */
  client: unknown;
  /** Prefix of every key this package writes. Default `'pwl:'`. */
  prefix?: string;
  /** The deadline for all Redis work of one request, in ms; past it the answer is 503. Default 2000. */
  timeoutMs?: number;
}

const OPTIONS = keysOf<RedisStoreOptions>()(['client', 'prefix', 'timeoutMs']);

/** A code store on Redis, whose backend the limits can share. */
export interface RedisCodeStore extends CodeStore {
  readonly redis: RedisBackend;
}

export function redisBackendOptions(options: unknown, name: string): RedisBackend {
  const o = checkObject<RedisStoreOptions>(options, `${name}(options)`, OPTIONS, '{ client }', false);
  const prefix = o.prefix ?? 'pwl:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix))
    throw optionError(
      `${name}.prefix`,
      'must be a string without braces, such as "pwl:" (braces would change the Redis Cluster hash slot of every key).',
    );
  const timeoutMs = integerIn(`${name}.timeoutMs`, o.timeoutMs, 10, 60_000, 2000);
  return new RedisBackend({ client: o.client, prefix, timeoutMs, option: `${name}.client` });
}

export function redisStore(options: RedisStoreOptions): RedisCodeStore {
  const redis = redisBackendOptions(options, 'redisStore');
  return {
    redis,
    save: (key, record, ctx) => redis.saveCode(key, record, ctx),
    verify: (key, hash, ctx) => redis.verifyCode(key, hash, ctx),
    remove: (key, ctx, code) => redis.removeCode(key, ctx, code?.id),
  };
}
