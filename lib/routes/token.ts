/**
 * POST /oauth/token: Auth0's passwordless OTP grant. The code is redeemed exactly as on
 * /passwordless/verify (same store, attempt limit and single use); errors keep Auth0's shapes.
 */
import type { Request, Response } from 'express';
import { PasswordlessError, wrongCode } from '../errors';
import { safeEqual } from '../otp';
import type { ResolvedClient } from '../options';
import { parsePhone } from '../phone';
import type { Runtime } from '../runtime';
import { signAccessToken, signIdToken } from '../tokens/sign';
import type { ResolvedTokens } from '../tokens/options';
import { redeemCode } from './verify';

export const OTP_GRANT = 'http://auth0.com/oauth/grant-type/passwordless/otp';

/** Scopes an ID token can carry, granted whatever the audience. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'phone']);

function invalidRequest(message: string): PasswordlessError {
  return new PasswordlessError('invalid_request', 400, message);
}

function unauthorizedClient(message: string): PasswordlessError {
  return new PasswordlessError('unauthorized_client', 403, message);
}

/** A string parameter, or undefined; anything else is malformed. */
function param(body: Record<string, unknown>, name: string): string | undefined {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalidRequest(`The parameter ${name} must be a string.`);
  return value;
}

function required(body: Record<string, unknown>, name: string): string {
  const value = param(body, name);
  if (value === undefined) throw invalidRequest(`Missing required parameter: ${name}`);
  return value;
}

function authenticate(runtime: Runtime, body: Record<string, unknown>): ResolvedClient {
  const client = runtime.config.clients.get(required(body, 'client_id'));
  if (!client) throw unauthorizedClient('Unknown client.');
  if (client.secret !== undefined) {
    const secret = param(body, 'client_secret');
    if (secret === undefined || !safeEqual(secret, client.secret)) throw unauthorizedClient('Client authentication failed: send the right client_secret.');
  }
  if (!client.enabled) throw unauthorizedClient('Connection is disabled');
  return client;
}

function grantedScope(tokens: ResolvedTokens, requested: string[], audience: string | undefined): string[] {
  const allowed = audience ? tokens.audiences.get(audience) : undefined;
  return requested.filter((s) => OIDC_SCOPES.has(s) || (audience !== undefined && (allowed === undefined || allowed.has(s))));
}

export function tokenRoute(runtime: Runtime) {
  const tokens = runtime.config.tokens as ResolvedTokens;
  return async function token(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('Send the parameters as an urlencoded form or a JSON object.');
    const b = body as Record<string, unknown>;
    const grantType = required(b, 'grant_type');
    if (grantType !== OTP_GRANT) throw new PasswordlessError('unsupported_grant_type', 400, `Unsupported grant type: ${grantType.slice(0, 100)}`);
    const client = authenticate(runtime, b);
    const realm = required(b, 'realm');
    if (realm !== runtime.config.connection) throw invalidRequest(`The realm "${realm.slice(0, 100)}" is not this connection.`);
    const username = required(b, 'username');
    const otp = required(b, 'otp');
    const audience = param(b, 'audience');
    if (audience !== undefined && !tokens.audiences.has(audience)) {
      throw new PasswordlessError('access_denied', 403, `Service not found: ${audience.slice(0, 200)}`);
    }
    const requestNonce = param(b, 'nonce');
    const requested = (param(b, 'scope') ?? 'openid').split(/\s+/).filter(Boolean);
    const phone = parsePhone(username);
    // An unparseable username is answered like a wrong code: nothing about the number leaks.
    if (!phone) throw wrongCode();

    const { user, nonce } = await redeemCode(runtime, req, client, phone.e164, otp.trim());
    const now = runtime.config.now();
    const scope = grantedScope(tokens, requested, audience);
    const [idToken, accessToken] = await Promise.all([
      signIdToken(tokens, client, user, requestNonce ?? nonce, now),
      signAccessToken(tokens, client, user, audience, scope.join(' '), now),
    ]);
    res.set('Cache-Control', 'no-store');
    res.status(200).json({
      access_token: accessToken,
      id_token: idToken,
      ...(scope.join(' ') !== requested.join(' ') ? { scope: scope.join(' ') } : {}),
      expires_in: tokens.accessTtl,
      token_type: 'Bearer',
    });
  };
}
