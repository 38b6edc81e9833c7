/**
 * The user behind a verified number: the default `sms|<id>` user, extended by the app's
 * optional `users.find` / `users.create` hooks (and refused by `disableSignup`).
 */

/** What a logged-in session holds, what `requireAuth` puts on `req.user`, and what verify answers. */
export interface PasswordlessUser {
  user_id: string;
  phone_number: string;
  phone_verified: true;
  [claim: string]: unknown;
}

/** What the hooks receive besides the E.164 number. */
export interface UserHookContext {
  clientId: string;
  /** The end user's address and user agent. */
  request: { ip: string; userAgent: string };
}

/** What a hook may return: claims merged into the session user and the ID token. */
export type UserProfile = Record<string, unknown> & { user_id?: string };

export interface UserHooks {
  /** The existing user of this number, or null/undefined when there is none. */
  find?(phone: string, ctx: UserHookContext): Promise<UserProfile | null | undefined> | UserProfile | null | undefined;
  /** Called on the first login of a number that `find` did not return (never with `disableSignup`). */
  create?(phone: string, ctx: UserHookContext): Promise<UserProfile | void> | UserProfile | void;
}

/** Claims a hook cannot set: the token's own, what proves the number, and how the login happened. */
const RESERVED = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'azp',
  'nonce',
  'auth_time',
  'amr',
  'acr',
  'scope',
  'sid',
  'at_hash',
  'c_hash',
  'cnf',
  'phone_number',
  'phone_number_verified',
  'phone_verified',
  '__proto__',
  'constructor',
  'prototype',
]);

export function mergeProfile(base: PasswordlessUser, extra: unknown): PasswordlessUser {
  if (!extra || typeof extra !== 'object' || Array.isArray(extra)) return base;
  const user: PasswordlessUser = { ...base };
  for (const [name, value] of Object.entries(extra)) {
    if (RESERVED.has(name) || value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    if (name === 'user_id') {
      if (typeof value === 'string' && value !== '') user.user_id = value;
      continue;
    }
    user[name] = value;
  }
  return user;
}

/** A hook threw: the app's bug, answered 500 and logged as `hook_error` (never as a store outage). */
export class HookError extends Error {
  constructor(
    readonly hook: 'find' | 'create',
    override readonly cause: unknown,
  ) {
    super(`users.${hook} threw: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

async function callHook<T>(hook: 'find' | 'create', run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new HookError(hook, err);
  }
}

/** Whether `users.find` knows the number (for `disableSignup`). */
export async function isKnown(hooks: UserHooks | undefined, phone: string, ctx: UserHookContext): Promise<boolean> {
  const find = hooks?.find;
  if (!find) return false;
  return Boolean(await callHook('find', () => find.call(hooks, phone, ctx)));
}

/** The user for a verified number, or `undefined` when sign-up is disabled and `find` knows no one. */
export async function resolveUser(
  base: PasswordlessUser,
  hooks: UserHooks | undefined,
  disableSignup: boolean,
  phone: string,
  ctx: UserHookContext,
): Promise<PasswordlessUser | undefined> {
  if (!hooks) return base;
  const find = hooks.find;
  const found = find ? await callHook('find', () => find.call(hooks, phone, ctx)) : undefined;
  if (found) return mergeProfile(base, found);
  if (disableSignup) return undefined;
  const create = hooks.create;
  const created = create ? await callHook('create', () => create.call(hooks, phone, ctx)) : undefined;
  return mergeProfile(base, created);
}
