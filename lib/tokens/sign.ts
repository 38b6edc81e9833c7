/**
 * ID and access tokens (jose). ID tokens are signed per client: HS256 with the client's
 * secret (what Auth0 does for HS256 clients) or with the first configured key of the
 * client's algorithm. Access tokens are signed with the first configured key, so APIs can
 * verify them from the JWKS; without keys they only serve this server's /userinfo.
 */
import type { JWTPayload, JWTVerifyOptions } from 'jose';
import { loadJose } from './jose';
import type { ResolvedClient } from '../config/options';
import { newId } from '../core/crypto';
import type { PasswordlessUser } from '../core/users';
import type { ResolvedTokens } from './config';

/** Profile claims of the user, minus what the token states in its own claims. */
function profileClaims(user: PasswordlessUser): Record<string, unknown> {
  const { user_id: _id, phone_verified: _verified, phone_number, ...rest } = user;
  return { ...rest, phone_number, phone_number_verified: true };
}

function signingKeyFor(tokens: ResolvedTokens, alg: string) {
  return tokens.keys.find((k) => k.alg === alg);
}

export async function signIdToken(
  tokens: ResolvedTokens,
  client: ResolvedClient,
  user: PasswordlessUser,
  nonce: string | undefined,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const claims: JWTPayload = { ...profileClaims(user) };
  if (nonce !== undefined) claims.nonce = nonce;
  const jwt = new (loadJose().SignJWT)(claims)
    .setIssuer(tokens.issuer)
    .setSubject(user.user_id)
    .setAudience(client.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + tokens.idTtl);
  if (client.idTokenAlg === 'HS256') {
    return jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(client.secret as string));
  }
  const key = signingKeyFor(tokens, client.idTokenAlg ?? 'RS256') as NonNullable<ReturnType<typeof signingKeyFor>>;
  return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export async function signAccessToken(
  tokens: ResolvedTokens,
  client: ResolvedClient,
  user: PasswordlessUser,
  audience: string | undefined,
  scope: string,
  nowMs: number,
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  // RFC 9068's claims (`client_id`, `jti`) next to Auth0's (`azp`). The userinfo audience only
  // with `openid`: without it the token is for the named API alone.
  const openid = scope.split(' ').includes('openid');
  const claims = { scope, azp: client.clientId, client_id: client.clientId, phone_number: user.phone_number };
  const jwt = new (loadJose().SignJWT)(claims)
    .setJti(newId())
    .setIssuer(tokens.issuer)
    .setSubject(user.user_id)
    .setAudience(audience ? (openid ? [audience, tokens.userinfoAudience] : audience) : tokens.userinfoAudience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + tokens.accessTtl);
  const key = tokens.keys[0];
  if (key) return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
  return jwt.setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(tokens.internalKeys[0]);
}

/** The `kid` of a token's header; undefined for a header that is not a JSON object (anyone can send one). */
function headerKid(token: string): unknown {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString());
    return header !== null && typeof header === 'object' ? (header as { kid?: unknown }).kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An HS256 access token under the key of any `secret`, newest first: a token signed before a
 * rotation stays valid for its lifetime. Only a wrong signature moves on to the next key.
 */
async function verifyInternal(tokens: ResolvedTokens, token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
  const jose = loadJose();
  const keys = tokens.internalKeys;
  const last = keys.length - 1;
  for (let i = 0; i < last; i += 1) {
    try {
      return (await jose.jwtVerify(token, keys[i] as Uint8Array, { ...options, algorithms: ['HS256'] })).payload;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw err;
    }
  }
  // The last key's error, whatever it is, is the answer.
  return (await jose.jwtVerify(token, keys[last] as Uint8Array, { ...options, algorithms: ['HS256'] })).payload;
}

/** Verifies an access token for /userinfo: our issuer, our userinfo audience, our key, not expired. */
export async function verifyAccessToken(tokens: ResolvedTokens, token: string, nowMs: number): Promise<JWTPayload> {
  const options = { issuer: tokens.issuer, audience: tokens.userinfoAudience, currentDate: new Date(nowMs), typ: 'at+jwt' };
  if (tokens.keys.length === 0) return verifyInternal(tokens, token, options);
  const kid = headerKid(token);
  const key = kid === undefined ? undefined : tokens.keys.find((k) => k.kid === kid);
  if (!key) throw new Error('unknown key');
  // Verified with the public key: a private key only signs (jose 6 refuses it for verifying).
  return (await loadJose().jwtVerify(token, key.publicKey, { ...options, algorithms: [key.alg] })).payload;
}
