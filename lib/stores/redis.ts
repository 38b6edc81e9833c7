/**
 * Pending codes in Redis, shared by every instance. Save is one script call and verify is
 * one script call: expiry check, comparison, attempt count and consumption happen inside
 * Redis as one atomic step (never GET then DEL from Node, where two verifies could both win).
 * Scripts are called by SHA; a server that does not know a script yet is sent it once.
 */
import { createHash } from 'node:crypto';
import { optionError, storeUnavailable } from '../errors';
import type { LimiterRedis } from '../limits';
import { withTimeout } from '../timeout';
import type { CodeStore, VerifyResult } from '../types';

export interface RedisStoreOptions {
  /** A connected `redis` (node-redis 4/5) or `ioredis` client. */
  client: unknown;
  /** Prefix of every key this package writes. Default `'pwl:'`. */
  prefix?: string;
  /** How long to wait for Redis before answering 503, in ms. Default 2000. */
  timeoutMs?: number;
}

/** A code store that can lend its client to the rate limiter. */
export interface RedisCodeStore extends CodeStore {
  readonly limiterRedis: LimiterRedis;
}

// Fields: h = HMAC of the code, e = expiry (injected clock, ms), a = wrong attempts, i = id.
// d = the record's data (empty when none).
const SAVE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[2], 'a', 0, 'i', ARGV[4], 'd', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Returns {1, data} = ok (consumed), {0} = invalid (missing, expired or wrong: counted), {2} = exhausted.
// HINCRBY keeps the key's expiry, so a wrong guess never extends the code's life.
const VERIFY = `
local r = redis.call('HMGET', KEYS[1], 'h', 'e', 'a', 'd')
if not r[1] then return {0} end
if tonumber(r[2]) <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return {0} end
if tonumber(r[3]) >= tonumber(ARGV[3]) then return {2} end
if r[1] == ARGV[1] then redis.call('DEL', KEYS[1]) return {1, r[4] or ''} end
redis.call('HINCRBY', KEYS[1], 'a', 1)
return {0}`;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

type Run = (s: Script, keys: string[], args: string[]) => Promise<unknown>;

interface Adapter {
  kind: LimiterRedis['kind'];
  run: Run;
  del(key: string): Promise<unknown>;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && /NOSCRIPT/.test(err.message);
}

type Fn = (...args: unknown[]) => Promise<unknown>;

/** Calls a script by SHA; a server that does not know it yet (NOSCRIPT) is sent it once. */
async function bySha(s: Script, evalSha: () => Promise<unknown>, load: (source: string) => Promise<unknown>): Promise<unknown> {
  try {
    return await evalSha();
  } catch (err) {
    if (!isNoScript(err)) throw err;
    await load(s.source);
    return evalSha();
  }
}

/** node-redis and ioredis spell the same commands differently; this hides which one it is. */
function adapt(client: unknown): Adapter {
  const c = client as Record<string, unknown>;
  const call = (name: string, ...args: unknown[]) => (c[name] as Fn).apply(c, args);
  if (c && typeof c.evalSha === 'function' && typeof c.scriptLoad === 'function') {
    return {
      kind: 'node-redis',
      run: (s, keys, args) => bySha(s, () => call('evalSha', s.sha, { keys, arguments: args }), (source) => call('scriptLoad', source)),
      del: (key) => call('del', key),
    };
  }
  if (c && typeof c.evalsha === 'function' && typeof c.script === 'function') {
    return {
      kind: 'ioredis',
      run: (s, keys, args) => bySha(s, () => call('evalsha', s.sha, keys.length, ...keys, ...args), (source) => call('script', 'LOAD', source)),
      del: (key) => call('del', key),
    };
  }
  throw optionError('redisStore.client', 'must be a connected client of the `redis` package (createClient()) or of `ioredis` (new Redis()).');
}

export function redisStore(options: RedisStoreOptions): RedisCodeStore {
  if (options === null || typeof options !== 'object') throw optionError('redisStore(options)', 'must be an object like { client }.');
  for (const key of Object.keys(options)) {
    if (!['client', 'prefix', 'timeoutMs'].includes(key)) throw optionError(`redisStore.${key}`, 'is not an option of redisStore. Options: client, prefix, timeoutMs.');
  }
  const adapter = adapt(options.client);
  const prefix = options.prefix ?? 'pwl:';
  if (typeof prefix !== 'string') throw optionError('redisStore.prefix', 'must be a string such as "pwl:".');
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 60_000) {
    throw optionError('redisStore.timeoutMs', `must be an integer number of milliseconds from 10 to 60000 (got ${String(timeoutMs)}).`);
  }
  const save = script(SAVE);
  const verify = script(VERIFY);
  // A Redis that does not answer in time is a 503, never a hung request.
  const bounded = <T>(p: Promise<T>) => withTimeout(p, timeoutMs, storeUnavailable);
  const codeKey = (key: string) => `${prefix}code:${key}`;

  return {
    limiterRedis: { client: options.client, kind: adapter.kind, prefix },
    async save(key, record, ctx) {
      await bounded(adapter.run(save, [codeKey(key)], [record.hash, String(record.expiresAt), String(ctx.ttlMs), record.id, record.data ?? '']));
    },
    async verify(key, hash, ctx): Promise<VerifyResult> {
      const reply = (await bounded(adapter.run(verify, [codeKey(key)], [hash, String(ctx.now), String(ctx.maxAttempts)]))) as unknown[];
      const status = Number(reply[0]);
      if (status === 1) return reply[1] ? { outcome: 'ok', data: String(reply[1]) } : { outcome: 'ok' };
      return { outcome: status === 2 ? 'exhausted' : 'invalid' };
    },
    async remove(key) {
      await bounded(adapter.del(codeKey(key)));
    },
  };
}
