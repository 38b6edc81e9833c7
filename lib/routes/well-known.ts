/**
 * Public metadata of the token issuer: the JWKS (every configured key, for rotation), the
 * OpenID configuration, and /userinfo for access tokens issued without an audience.
 */
import type { Request, Response } from 'express';
import { PasswordlessError } from '../errors';
import type { Runtime } from '../runtime';
import type { ResolvedTokens } from '../tokens/options';
import { verifyAccessToken } from '../tokens/sign';
import { OTP_GRANT } from './token';

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
    token_endpoint_auth_methods_supported: ['client_secret_post', 'none'],
    scopes_supported: ['openid', 'profile', 'email', 'phone'],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'nonce', 'phone_number', 'phone_number_verified'],
  });
}

export function userinfoRoute({ config }: Runtime) {
  const tokens = config.tokens as ResolvedTokens;
  return async function userinfo(req: Request, res: Response): Promise<void> {
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(req.headers.authorization ?? '');
    let claims: Record<string, unknown> | undefined;
    if (match) {
      try {
        claims = await verifyAccessToken(tokens, match[1] as string, config.now());
      } catch {
        claims = undefined;
      }
    }
    if (!claims) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new PasswordlessError('invalid_token', 401, 'The access token is missing, invalid or expired.');
    }
    res.json({ sub: claims.sub, phone_number: claims.phone_number, phone_number_verified: true });
  };
}
