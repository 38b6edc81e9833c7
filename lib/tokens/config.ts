/**
 * The `tokens` option: issuer, lifetimes, signing keys and API audiences for the OAuth
 * token grant, resolved once at construction.
 */
import type { Keyring } from '../core/crypto';
import { checkObject, keysOf, optionError, shownValue } from '../config/validate';
import { loadSigningKey, type SigningKey, type SigningKeyOptions } from './keys';

export type IdTokenAlg = 'HS256' | 'RS256' | 'ES256';

export interface AudienceOptions {
  /** The API identifier clients pass as `audience`. */
  audience: string;
  /**
   * Scopes this API grants; requested scopes outside the list are dropped. Default: none but
   * the OpenID ones (`openid profile email phone`), as an Auth0 API grants only the scopes it
   * defines: every user who can receive a code gets what is listed here.
   */
  scopes?: string[];
}

export interface TokensOptions {
  /** The issuer URL, ending in `/` (Auth0: `https://YOUR_DOMAIN/`). Required. */
  issuer: string;
  /** ID token lifetime. Default 36 000 (10 hours, as Auth0). */
  idTokenTtlSeconds?: number;
  /** Access token lifetime (and `expires_in`). Default 86 400. */
  accessTokenTtlSeconds?: number;
  /** Asymmetric keys; the first of each algorithm signs, all are published at /.well-known/jwks.json. */
  signingKeys?: SigningKeyOptions[];
  /** APIs that may be named as `audience`; their access tokens are JWTs signed with the first key. */
  audiences?: Array<string | AudienceOptions>;
}

export interface ResolvedTokens {
  readonly issuer: string;
  readonly idTtl: number;
  readonly accessTtl: number;
  readonly keys: readonly SigningKey[];
  /** audience → the scopes it grants besides the OpenID ones. */
  readonly audiences: ReadonlyMap<string, ReadonlySet<string>>;
  /** The audience of access tokens issued without one: this server's /userinfo. */
  readonly userinfoAudience: string;
  /**
   * HS256 keys for /userinfo tokens when no asymmetric key is configured (only this server
   * verifies them), one per `secret`: the first signs, every one verifies.
   */
  readonly internalKeys: readonly [Uint8Array, ...Uint8Array[]];
}

const NAMES = keysOf<TokensOptions>()(['issuer', 'idTokenTtlSeconds', 'accessTokenTtlSeconds', 'signingKeys', 'audiences']);

function ttl(path: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 60 || value > 2_592_000) {
    throw optionError(path, `must be an integer number of seconds from 60 to 2592000 (got ${shownValue(value)}).`);
  }
  return value;
}

export function resolveTokens(value: unknown, keyring: Keyring): ResolvedTokens | undefined {
  if (value === undefined) return undefined;
  const t = checkObject<TokensOptions>(value, 'tokens', NAMES, '{ issuer: "https://auth.example.com/" }') as Record<string, unknown>;
  const issuer = t.issuer;
  if (typeof issuer !== 'string' || !/^https?:\/\/[^/\s]+(\/[^\s]*)?\/$/.test(issuer)) {
    throw optionError(
      'tokens.issuer',
      `must be an http(s) URL ending in "/", like "https://auth.example.com/" (got ${JSON.stringify(issuer)}).`,
    );
  }
  const rawKeys = t.signingKeys ?? [];
  if (!Array.isArray(rawKeys)) throw optionError('tokens.signingKeys', 'must be an array of { privateKey, alg?, kid? }.');
  const keys = rawKeys.map((k, i) => loadSigningKey(k, `tokens.signingKeys[${i}]`));
  const kids = new Set<string>();
  for (const k of keys) {
    if (kids.has(k.kid)) throw optionError('tokens.signingKeys', `has two keys with kid "${k.kid}"; each key needs its own kid.`);
    kids.add(k.kid);
  }
  const userinfoAudience = `${issuer}userinfo`;
  const audiences = new Map<string, ReadonlySet<string>>();
  const rawAudiences = t.audiences ?? [];
  if (!Array.isArray(rawAudiences)) throw optionError('tokens.audiences', 'must be an array of API identifiers or { audience, scopes }.');
  rawAudiences.forEach((a: unknown, i) => {
    const entry = typeof a === 'string' ? { audience: a } : (a as AudienceOptions);
    if (!entry || typeof entry.audience !== 'string' || entry.audience === '')
      throw optionError(`tokens.audiences[${i}]`, 'must be an API identifier string or { audience, scopes }.');
    if (entry.scopes !== undefined && (!Array.isArray(entry.scopes) || entry.scopes.some((s) => typeof s !== 'string'))) {
      throw optionError(`tokens.audiences[${i}].scopes`, 'must be an array of scope strings.');
    }
    // Asking for it by name is asking for no audience (the /userinfo token): its scopes here would never apply.
    if (entry.audience === userinfoAudience)
      throw optionError(
        `tokens.audiences[${i}]`,
        `is this server's own /userinfo ("${entry.audience}"), which every token is for without asking: remove it, and list your APIs' identifiers.`,
      );
    audiences.set(entry.audience, new Set(entry.scopes ?? []));
  });
  if (audiences.size > 0 && keys.length === 0) {
    throw optionError(
      'tokens.signingKeys',
      'is needed for `tokens.audiences`: APIs verify access tokens with the public keys at /.well-known/jwks.json.',
    );
  }
  return Object.freeze({
    issuer,
    idTtl: ttl('tokens.idTokenTtlSeconds', t.idTokenTtlSeconds, 36_000),
    accessTtl: ttl('tokens.accessTokenTtlSeconds', t.accessTokenTtlSeconds, 86_400),
    keys,
    audiences,
    userinfoAudience,
    internalKeys: keyring.derive('access-token-key') as [Buffer, ...Buffer[]],
  });
}

/**
 * The algorithm a client's ID tokens are signed with, checked against what can sign it, or
 * undefined for a public client that nothing can sign for (it logs in with sessions only;
 * the token grant answers it 403 `unauthorized_client`).
 */
export function resolveClientAlg(
  tokens: ResolvedTokens | undefined,
  alg: unknown,
  secret: string | undefined,
  path: string,
): IdTokenAlg | undefined {
  if (alg !== undefined && alg !== 'HS256' && alg !== 'RS256' && alg !== 'ES256') {
    throw optionError(`${path}.idTokenSigningAlg`, `must be 'HS256', 'RS256' or 'ES256' (got ${JSON.stringify(alg)}).`);
  }
  if (!tokens) return (alg as IdTokenAlg | undefined) ?? 'HS256';
  const chosen: IdTokenAlg = (alg as IdTokenAlg | undefined) ?? tokens.keys[0]?.alg ?? 'HS256';
  if (chosen === 'HS256' && !secret && alg === undefined) return undefined;
  if (chosen === 'HS256' && !secret) {
    throw optionError(
      `${path}.idTokenSigningAlg`,
      "is HS256, which signs with the client's secret, but the client has none. Give it a `secret` or configure `tokens.signingKeys` and use RS256.",
    );
  }
  if (chosen !== 'HS256' && !tokens.keys.some((k) => k.alg === chosen)) {
    throw optionError(`${path}.idTokenSigningAlg`, `is ${chosen}, but \`tokens.signingKeys\` has no ${chosen} key. Add one.`);
  }
  return chosen;
}
