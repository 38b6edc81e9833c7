/**
 * Public metadata of the token issuer: the JWKS (every configured key, for rotation), the
 * OpenID configuration, and /userinfo for access tokens issued without an audience.
 */
import type { Request, Response } from 'express';
import { loadJose } from '../tokens/jose';
import { OTP_GRANT, fail } from '../errors';
import { logEvent } from '../core/log';
import type { Logger } from '../types';
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

export function userinfoRoute(tokens: ResolvedTokens, now: () => number, logger: Logger) {
  return async function userinfo(req: Request, res: Response): Promise<void> {
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(req.headers.authorization ?? '');
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
    if (!claims) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw fail('invalidToken');
    }
    res.json({ sub: claims.sub, phone_number: claims.phone_number, phone_number_verified: true });
  };
}
