/**
 * Signing keys for ID and access tokens: loaded synchronously at construction from PEM or
 * JWK, checked against their algorithm, and published (public part only) as a JWKS.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * A JSON Web Key, written here rather than imported: `node:crypto` stopped exporting its
 * `JsonWebKey` type in @types/node 25, and the published types must compile with any version.
 */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  [member: string]: unknown;
}
import { checkObject, keysOf, optionError } from '../config/validate';

export type AsymmetricAlg = 'RS256' | 'ES256';

export interface SigningKeyOptions {
  /** A PKCS#8 / PKCS#1 / SEC1 PEM string, or a private JWK object. */
  privateKey: string | Jwk;
  /** `RS256` (RSA, 2048 bits or more) or `ES256` (EC P-256). Default: from the key type. */
  alg?: AsymmetricAlg;
  /** Key id published in the JWKS and set as `kid`. Default: the RFC 7638 thumbprint. */
  kid?: string;
}

export interface SigningKey {
  readonly alg: AsymmetricAlg;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicJwk: Readonly<Record<string, unknown>>;
}

const KEY_OPTIONS = keysOf<SigningKeyOptions>()(['privateKey', 'alg', 'kid']);

/** RFC 7638: SHA-256 over the required members, in lexicographic order. */
function thumbprint(jwk: Jwk): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export function loadSigningKey(input: unknown, path: string): SigningKey {
  const { privateKey, alg, kid } = checkObject<SigningKeyOptions>(
    input,
    path,
    KEY_OPTIONS,
    '{ privateKey: "-----BEGIN PRIVATE KEY-----...", alg: "RS256" }',
    false,
  );
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : createPrivateKey({ key: privateKey as never, format: 'jwk' }); // a Jwk is node's JWK shape;
  } catch (err) {
    throw optionError(
      `${path}.privateKey`,
      `is not a private key in PEM or JWK form (${(err as Error).message}). Generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`,
    );
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const inferred: AsymmetricAlg | undefined =
    type === 'rsa' ? 'RS256' : type === 'ec' && details.namedCurve === 'prime256v1' ? 'ES256' : undefined;
  if (alg !== undefined && alg !== 'RS256' && alg !== 'ES256')
    throw optionError(`${path}.alg`, `must be 'RS256' or 'ES256' (got ${JSON.stringify(alg)}).`);
  const chosen = alg ?? inferred;
  if (!chosen || chosen !== inferred) {
    throw optionError(
      `${path}.privateKey`,
      `is a ${type}${details.namedCurve ? ` ${details.namedCurve}` : ''} key, which cannot sign ${chosen ?? 'RS256 or ES256'}. Use an RSA key for RS256 or an EC P-256 key for ES256.`,
    );
  }
  if (chosen === 'RS256' && (details.modulusLength ?? 0) < 2048)
    throw optionError(`${path}.privateKey`, 'is an RSA key shorter than 2048 bits; use 2048 or more.');
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) throw optionError(`${path}.kid`, 'must be a non-empty string.');
  const publicKey = createPublicKey(key);
  const jwk = publicKey.export({ format: 'jwk' });
  const id = kid ?? thumbprint(jwk);
  return Object.freeze({
    alg: chosen,
    kid: id,
    privateKey: key,
    publicKey,
    publicJwk: Object.freeze({ ...jwk, kid: id, alg: chosen, use: 'sig' }),
  });
}
