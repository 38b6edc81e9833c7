/**
 * Public metadata of the token issuer: the JWKS (every configured key, for rotation), the
 * OpenID configuration, and /userinfo for access tokens issued without an audience.
 */
import type { Request, Response } from 'express';
import { loadJose } from '../tokens/jose';
import { OTP_GRANT, fail } from '../errors';
import { logEvent } from '../core/log';
import type { ResolvedClient } from '../config/options';
import type { Logger } from '../types';
import { sendJson } from './respond';
import type { ResolvedTokens } from '../tokens/config';
import { verifyAccessToken } from '../tokens/sign';

/** A public, cacheable JSON document, serialised once at construction. */
function publicJson(document: unknown) {
  const body = JSON.stringify(document);
  return function publicDocument(_req: Request, res: Response): void {
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'public, max-age=600' }).type('application/json').send(body);
  };
}

export function jwksRoute(tokens: ResolvedTokens) {
  return publicJson({ keys: tokens.keys.map((k) => k.publicJwk) });
}

export function openIdConfigurationRoute(tokens: ResolvedTokens) {
  const algs = new Set(['HS256', ...tokens.keys.map((k) => k.alg)]);
  return publicJson({
    issuer: tokens.issuer,
    token_endpoint: `${tokens.issuer}oauth/token`,
    jwks_uri: `${tokens.issuer}.well-known/jwks.json`,
    userinfo_endpoint: `${tokens.issuer}userinfo`,
    grant_types_supported: [OTP_GRANT],
    response_types_supported: ['token id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...algs],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
    scopes_supported: ['openid', 'profile', 'email', 'phone'],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'nonce', 'phone_number', 'phone_number_verified'],
  });
}

/** A token that is not ours, is malformed or has expired: answered 401. Anything else is a bug and is logged. */
function isTokenProblem(err: unknown): boolean {
  return (
    err instanceof loadJose().errors.JOSEError || err instanceof SyntaxError || (err instanceof Error && err.message === 'unknown key')
  );
}

/** RFC 6750's header form; the scheme is case-insensitive (RFC 7235), one or more spaces after it. */
const BEARER = /^Bearer +([A-Za-z0-9_.~+/-]+=*)$/i;

/**
 * OpenID Connect's UserInfo, on GET and POST (OIDC Core 5.3.1), for the access tokens the token
 * grant issued: the token in the Authorization header only. A token is honoured only while its
 * client (`azp`) is still configured and enabled, and only when it was granted `openid`.
 */
export function userinfoRoute(tokens: ResolvedTokens, clients: ReadonlyMap<string, ResolvedClient>, now: () => number, logger: Logger) {
  return async function userinfo(req: Request, res: Response): Promise<void> {
    const header = req.headers.authorization;
    // No credentials at all: the bare challenge, without an error code (RFC 6750 section 3.1).
    if (header === undefined || header === '') {
      res.set('WWW-Authenticate', 'Bearer');
      throw fail('invalidToken');
    }
    const match = BEARER.exec(header);
    let claims: Record<string, unknown> | undefined;
    if (match) {
      try {
        claims = await verifyAccessToken(tokens, match[1] as string, now());
      } catch (err) {
        if (!isTokenProblem(err))
          logEvent(logger, 'internal_error', {
            message: `verifying an access token failed: ${err instanceof Error ? err.message : String(err)}`,
          });
        claims = undefined;
      }
    }
    // A client removed or disabled since takes its tokens with it.
    const client = typeof claims?.azp === 'string' ? clients.get(claims.azp) : undefined;
    if (!claims || !client || !client.enabled) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw fail('invalidToken');
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes('openid')) {
      res.set('WWW-Authenticate', 'Bearer error="insufficient_scope", scope="openid"');
      throw fail('insufficientScope');
    }
    // Personal data: no cache may keep it.
    res.set('Cache-Control', 'no-store');
    sendJson(res, 200, { sub: claims.sub, phone_number: claims.phone_number, phone_number_verified: true });
  };
}
