/**
 * Codes bound to the browser that asked for them. The HTTP layer keeps a random binding id
 * in the visitor's session and folds it into the code's key and HMAC, so a code only works
 * from the browser (session) that started the login. The codes themselves, their attempt
 * count and their single use live in the ledger, a store like any other: express-session
 * loads a separate copy of the session per request and the last save wins, so nothing that
 * must be atomic can live in the session itself.
 */
import { checkObject, keysOf, optionError } from '../config/validate';
import type { CodeStore } from '../types';
import { memoryStore } from './memory';

export interface SessionStoreOptions {
  /**
   * Where the HMAC and the attempt counter live. Default: a `memoryStore()` in this process;
   * pass a `redisStore()` when several processes share the sessions.
   */
  ledger?: CodeStore;
  /** The session property that holds the browser's binding id. Default `'passwordlessBinding'`. */
  sessionKey?: string;
}

const OPTIONS = keysOf<SessionStoreOptions>()(['ledger', 'sessionKey']);

/** A store whose codes the HTTP layer binds to the session. */
export interface SessionCodeStore extends CodeStore {
  readonly sessionBinding: { readonly sessionKey: string };
  readonly ledger: CodeStore;
}

export function isSessionBound(store: CodeStore): store is SessionCodeStore {
  return typeof (store as Partial<SessionCodeStore>).sessionBinding === 'object';
}

export function sessionStore(options?: SessionStoreOptions): SessionCodeStore {
  const o = checkObject<SessionStoreOptions>(options, 'sessionStore(options)', OPTIONS, '{ ledger: redisStore({ client }) }');
  const ledger = o.ledger ?? memoryStore();
  if (!ledger || typeof ledger.verify !== 'function' || typeof ledger.save !== 'function' || typeof ledger.remove !== 'function') {
    throw optionError('sessionStore.ledger', 'must be a CodeStore such as memoryStore() or redisStore({ client }).');
  }
  const sessionKey = o.sessionKey ?? 'passwordlessBinding';
  if (typeof sessionKey !== 'string' || sessionKey === '') throw optionError('sessionStore.sessionKey', 'must be a non-empty string.');
  return {
    sessionBinding: Object.freeze({ sessionKey }),
    ledger,
    // A Redis ledger lends its backend to the limits, so limits are shared as codes are.
    ...('redis' in ledger ? { redis: (ledger as { redis: unknown }).redis } : {}),
    save: (key, record, ctx) => ledger.save(key, record, ctx),
    verify: (key, hash, ctx) => ledger.verify(key, hash, ctx),
    remove: (key, ctx, code) => ledger.remove(key, ctx, code),
    close: () => ledger.close?.(),
  };
}
