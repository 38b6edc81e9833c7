/**
 * POST /passwordless/verify: one atomic check-count-consume in the store, then a session
 * login. Wrong, expired and never-sent codes take the same path and get the same answer.
 */
import type { Request, Response } from 'express';
import { ErrorCodes, badRequest, tooManyAttempts, wrongCode } from '../errors';
import { logEvent } from '../log';
import { codeHash, codeKey } from '../otp';
import type { Config, ResolvedClient } from '../options';
import { guarded, storeContext, type Runtime } from '../runtime';
import { logIn, type PasswordlessUser } from '../session';
import { resolveUser } from '../users';
import { authenticateClient, field, readBody, readPhone } from './request';

const FIELDS = ['client_id', 'connection', 'phone_number', 'verification_code', 'client_secret'] as const;

/** Codes longer than any valid one are cut before hashing; they can never match anyway. */
const MAX_CODE_INPUT = 32;

export interface Redeemed {
  user: PasswordlessUser;
  /** What the start stored with the code (the `authParams.nonce`). */
  nonce: string | undefined;
}

/**
 * The shared core of every way to redeem a code (this route and the token grant): limits,
 * the store's atomic verify, the answer for each outcome, and the user hooks.
 */
export async function redeemCode(
  { config, limits }: Runtime,
  req: Request,
  client: ResolvedClient,
  phone: string,
  code: string,
): Promise<Redeemed> {
  const now = config.now();
  // Hashed before anything else can fail, so every outcome costs the same HMAC.
  const hash = codeHash(config.secret, phone, client.clientId, code.slice(0, MAX_CODE_INPUT));
  try {
    await limits.checkVerify(phone);
  } catch (err) {
    logEvent(config.logger, 'rate_limited', { phone, clientId: client.clientId, reason: 'verify' });
    throw err;
  }
  const key = codeKey(config.secret, phone, client.clientId);
  const { outcome, data } = await guarded(config, () => config.store.verify(key, hash, storeContext(config, req, now)));
  if (outcome !== 'ok') {
    logEvent(config.logger, 'login_failed', { phone, clientId: client.clientId, reason: outcome === 'exhausted' ? 'too_many_attempts' : 'invalid_code' });
    throw outcome === 'exhausted' ? tooManyAttempts() : wrongCode();
  }
  await limits.succeededVerify(phone);
  const user = await guarded(config, () => resolveUser(config.secret, config.users, config.disableSignup, phone, { clientId: client.clientId, request: req }));
  if (!user) {
    // Sign-up is off and the number has no user: the same answer as a wrong code.
    logEvent(config.logger, 'login_failed', { phone, clientId: client.clientId, reason: 'unknown_user' });
    throw wrongCode();
  }
  return { user, nonce: data };
}

export function readCode(value: unknown, parameter: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw badRequest(ErrorCodes.badVerificationCode, `Missing required parameter: ${parameter}`);
  }
  return value.trim();
}

export function verifyRoute(runtime: Runtime) {
  const config: Config = runtime.config;
  return async function verify(req: Request, res: Response): Promise<void> {
    const body = readBody(req, FIELDS);
    const client = authenticateClient(config, body);
    const phone = readPhone(config, field(body, 'phone_number'), false).e164;
    const code = readCode(field(body, 'verification_code'), 'verification_code');
    const { user } = await redeemCode(runtime, req, client, phone, code);
    await logIn(req, user);
    logEvent(config.logger, 'login', { phone, clientId: client.clientId });
    res.status(200).json({ user });
  };
}
