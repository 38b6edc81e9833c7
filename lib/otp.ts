/**
 * The cryptography of codes and ids. Codes are strings from `crypto.randomInt` (leading
 * zeros kept); at rest only an HMAC under the configured secret exists, so a leaked store
 * cannot be reversed by trying the million possible codes.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** A uniformly random decimal code of `length` digits, as a string. */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length).toString().padStart(length, '0');
}

/** HMAC-SHA256 over the parts, JSON-encoded so that no two part lists share a message. */
function mac(secret: string, parts: readonly string[]): Buffer {
  return createHmac('sha256', secret).update(JSON.stringify(parts)).digest();
}

/** The store key of the pending code for one number and client (no phone number in clear). */
export function codeKey(secret: string, phone: string, clientId: string): string {
  return mac(secret, ['key', clientId, phone]).subarray(0, 16).toString('base64url');
}

/** The stored form of a code: bound to number and client, so it opens nothing else. */
export function codeHash(secret: string, phone: string, clientId: string, code: string): string {
  return mac(secret, ['code', clientId, phone, code]).toString('base64url');
}

/** `sms|` + a stable id: the same on every login of a number, and not the number itself. */
export function userIdFor(secret: string, phone: string): string {
  return `sms|${mac(secret, ['user', phone]).subarray(0, 12).toString('hex')}`;
}

/** An opaque random id, 24 hex characters like Auth0's. */
export function newId(): string {
  return randomBytes(12).toString('hex');
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
