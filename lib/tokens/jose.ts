/**
 * `jose`, loaded the first time a token is signed or verified: apps without `tokens` or the
 * gateway sender never pay for it on start-up.
 */
import type * as Jose from 'jose';

let jose: typeof Jose | undefined;

export function loadJose(): typeof Jose {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand on purpose
  jose ??= require('jose') as typeof Jose;
  return jose;
}
