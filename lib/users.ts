/**
 * The user behind a verified number: the default `sms|<id>` user, extended by the app's
 * optional `users.find` / `users.create` hooks (and refused by `disableSignup`).
 */
import type { Request } from 'express';
import { userIdFor } from './otp';
import type { PasswordlessUser } from './session';

/** What the hooks receive besides the E.164 number. */
export interface UserHookContext {
  clientId: string;
  request: Request;
}

/** What a hook may return: claims merged into the session user and the ID token. */
export type UserProfile = Record<string, unknown> & { user_id?: string };

export interface UserHooks {
  /** The existing user of this number, or null/undefined when there is none. */
  find?(phone: string, ctx: UserHookContext): Promise<UserProfile | null | undefined> | UserProfile | null | undefined;
  /** Called on the first login of a number that `find` did not return (never with `disableSignup`). */
  create?(phone: string, ctx: UserHookContext): Promise<UserProfile | void> | UserProfile | void;
}

/** Claims a hook cannot set: they are the token's own or prove the phone number. */
const RESERVED = new Set(['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'azp', 'nonce', 'auth_time', 'phone_number', 'phone_number_verified', 'phone_verified', '__proto__', 'constructor', 'prototype']);

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

export function defaultUser(secret: string, phone: string): PasswordlessUser {
  return { user_id: userIdFor(secret, phone), phone_number: phone, phone_verified: true };
}

/** The user for a verified number, or `undefined` when sign-up is disabled and `find` knows no one. */
export async function resolveUser(
  secret: string,
  hooks: UserHooks | undefined,
  disableSignup: boolean,
  phone: string,
  ctx: UserHookContext,
): Promise<PasswordlessUser | undefined> {
  const base = defaultUser(secret, phone);
  if (!hooks) return base;
  const found = hooks.find ? await hooks.find(phone, ctx) : undefined;
  if (found) return mergeProfile(base, found);
  if (disableSignup) return undefined;
  const created = hooks.create ? await hooks.create(phone, ctx) : undefined;
  return mergeProfile(base, created);
}
