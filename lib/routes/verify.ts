/**
 * POST /passwordless/verify: one atomic check-count-consume in the store, then a session
 * login. Wrong, expired and never-sent codes take the same path and get the same answer.
 */
import type { Request, Response } from 'express';
import { ErrorCodes, badRequest, tooManyAttempts, wrongCode } from '../errors';
import { logEvent } from '../log';
import { codeHash, codeKey, userIdFor } from '../otp';
import type { Config, ResolvedClient } from '../options';
import { guarded, storeContext, type Runtime } from '../runtime';
import { logIn, type PasswordlessUser } from '../session';
import { authenticateClient, field, readBody, readPhone } from './request';

const FIELDS = ['client_id', 'connection', 'phone_number', 'verification_code', 'client_secret'] as const;

/** Codes longer than any valid one are cut before hashing; they can never match anyway. */
const MAX_CODE_INPUT = 32;

/**
 * The shared core of every way to redeem a code (this route and the token grant): limits,
 * the store's atomic verify, and the answer for each outcome. Returns the verified user.
 */
export async function redeemCode(
  { config, limits }: Runtime,
  req: Request,
  client: ResolvedClient,
  phone: string,
  code: string,
): Promise<PasswordlessUser> {
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
  const outcome = await guarded(config, () => config.store.verify(key, hash, storeContext(config, req, now)));
  if (outcome !== 'ok') {
    logEvent(config.logger, 'login_failed', { phone, clientId: client.clientId, reason: outcome === 'exhausted' ? 'too_many_attempts' : 'invalid_code' });
    throw outcome === 'exhausted' ? tooManyAttempts() : wrongCode();
  }
  await limits.succeededVerify(phone);
  return { user_id: userIdFor(config.secret, phone), phone_number: phone, phone_verified: true };
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
    const user = await redeemCode(runtime, req, client, phone, code);
    await logIn(req, user);
    logEvent(config.logger, 'login', { phone, clientId: client.clientId });
    res.status(200).json({ user });
  };
}
