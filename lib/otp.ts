/**
 * The cryptography of codes and ids. Codes are strings from `crypto.randomInt` (leading
 * zeros kept); at rest only an HMAC under the configured secret exists, so a leaked store
 * cannot be reversed by trying the million possible codes.
 */
import { createHmac, createSecretKey, randomBytes, randomInt, timingSafeEqual, type KeyObject } from 'node:crypto';

/** A uniformly random decimal code of `length` digits, as a string. */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length).toString().padStart(length, '0');
}

/** The secret as a key object, made once per secret rather than once per HMAC. */
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

/** HMAC-SHA256 over the parts, JSON-encoded so that no two part lists share a message. */
function mac(secret: string, parts: readonly string[]): Buffer {
  return createHmac('sha256', keyOf(secret)).update(JSON.stringify(parts)).digest();
}

/** The store key of the pending code for one number and client (no phone number in clear). */
export function codeKey(secret: string, phone: string, clientId: string): string {
  return mac(secret, ['key', clientId, phone]).subarray(0, 16).toString('base64url');
}

/** The stored form of a code: bound to number and client, so it opens nothing else. */
export function codeHash(secret: string, phone: string, clientId: string, code: string): string {
  return mac(secret, ['code', clientId, phone, code]).toString('base64url');
}

/** The rate limiter's key for a number or prefix: limiter keys do not list numbers in clear. */
export function limiterKey(secret: string, value: string): string {
  return mac(secret, ['limit', value]).subarray(0, 16).toString('base64url');
}

/** `sms|` + a stable id: the same on every login of a number, and not the number itself. */
export function userIdFor(secret: string, phone: string): string {
  return `sms|${mac(secret, ['user', phone]).subarray(0, 12).toString('hex')}`;
}

/** Random bytes drawn in blocks: one call into the CSPRNG serves 128 ids. */
const ID_BYTES = 12;
let pool = Buffer.alloc(0);
let offset = 0;

/** An opaque random id, 24 hex characters like Auth0's (the session store's unguessable ledger key). */
export function newId(): string {
  if (offset + ID_BYTES > pool.length) {
    pool = randomBytes(ID_BYTES * 128);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + ID_BYTES);
  // Zeroed once used, so an id's bytes never linger in the pool for a heap dump to find.
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}

/** Constant-time string equality; unequal lengths still cost one comparison. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
