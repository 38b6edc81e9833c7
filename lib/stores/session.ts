/**
 * Codes bound to the browser that asked for them. The session holds only a random id per
 * pending login; the HMAC, the attempt count and the single use live in a ledger store
 * keyed by that id. express-session loads a separate copy of the session for every request
 * and the last save wins, so nothing that must be atomic can live in the session itself.
 */
import type { Request } from 'express';
import { PasswordlessError, ErrorCodes, optionError } from '../errors';
import type { CodeStore, StoreContext } from '../types';
import { limiterRedisOf } from '../limits';
import { memoryStore } from './memory';

export interface SessionStoreOptions {
  /**
   * Where the HMAC and the attempt counter live, keyed by a random id only the session
   * knows. Default: a `memoryStore()` in this process; pass a `redisStore()` when several
   * processes share the sessions.
   */
  ledger?: CodeStore;
  /** The session property that holds pending logins. Default `'passwordlessPending'`. */
  sessionKey?: string;
}

type Pending = Record<string, { id: string; expiresAt: number }>;

function sessionOf(ctx: StoreContext): Request['session'] & Record<string, unknown> {
  const session = ctx.request?.session;
  if (!session) {
    throw new PasswordlessError(ErrorCodes.serverError, 500, 'sessionStore needs express-session: mount it before the passwordless router.');
  }
  return session as Request['session'] & Record<string, unknown>;
}

export function sessionStore(options: SessionStoreOptions = {}): CodeStore {
  if (options === null || typeof options !== 'object') throw optionError('sessionStore(options)', 'must be an object.');
  for (const key of Object.keys(options)) {
    if (key !== 'ledger' && key !== 'sessionKey') throw optionError(`sessionStore.${key}`, 'is not an option of sessionStore. Options: `ledger`, `sessionKey`.');
  }
  const ledger = options.ledger ?? memoryStore();
  if (typeof ledger.verify !== 'function' || typeof ledger.save !== 'function') {
    throw optionError('sessionStore.ledger', 'must be a CodeStore such as memoryStore() or redisStore({ client }).');
  }
  const sessionKey = options.sessionKey ?? 'passwordlessPending';
  if (typeof sessionKey !== 'string' || sessionKey === '') throw optionError('sessionStore.sessionKey', 'must be a non-empty string.');

  function pendingOf(ctx: StoreContext): Pending {
    const session = sessionOf(ctx);
    const value = session[sessionKey];
    if (value && typeof value === 'object') return value as Pending;
    const fresh: Pending = Object.create(null);
    session[sessionKey] = fresh;
    return fresh;
  }

  const limiterRedis = limiterRedisOf(ledger);
  return {
    // A Redis ledger lends its client to the rate limiter too, so limits are shared as codes are.
    ...(limiterRedis ? { limiterRedis } : {}),
    async save(key, record, ctx) {
      const pending = pendingOf(ctx);
      const previous = pending[key];
      if (previous) await ledger.remove(previous.id, ctx);
      await ledger.save(record.id, record, ctx);
      // Expired entries of other logins are dropped so the session cannot grow without bound.
      for (const [k, v] of Object.entries(pending)) if (v.expiresAt <= ctx.now) delete pending[k];
      pending[key] = { id: record.id, expiresAt: record.expiresAt };
    },
    async verify(key, hash, ctx) {
      const pending = pendingOf(ctx);
      const entry = Object.hasOwn(pending, key) ? pending[key] : undefined;
      // Without an entry the ledger is still asked (under a key that cannot exist), so a
      // foreign browser costs the same as a wrong code.
      const result = await ledger.verify(entry ? entry.id : `absent:${key}`, hash, ctx);
      if (entry && (result.outcome === 'ok' || entry.expiresAt <= ctx.now)) delete pending[key];
      return result;
    },
    async remove(key, ctx) {
      const pending = pendingOf(ctx);
      const entry = pending[key];
      if (entry) {
        delete pending[key];
        await ledger.remove(entry.id, ctx);
      }
    },
    close() {
      return ledger.close?.();
    },
  };
}
