/**
 * What every route shares: the resolved configuration, the limits, and the guarded store
 * calls (a store that throws means the backing service failed: 503, never a login).
 */
import type { Request } from 'express';
import { PasswordlessError, storeUnavailable } from './errors';
import type { Limits } from './limits';
import { logEvent } from './log';
import type { Config } from './options';
import type { StoreContext } from './types';

export interface Runtime {
  readonly config: Config;
  readonly limits: Limits;
}

export function storeContext(config: Config, req: Request, now: number): StoreContext {
  return { now, ttlMs: config.otp.ttlMs, maxAttempts: config.otp.maxAttempts, request: req };
}

/** Runs a store operation; any failure that is not already a PasswordlessError becomes a 503. */
export async function guarded<T>(config: Config, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof PasswordlessError) throw err;
    logEvent(config.logger, 'store_error', { message: err instanceof Error ? err.message : String(err) });
    throw storeUnavailable();
  }
}
