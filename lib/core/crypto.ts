/**
 * The cryptography of codes and ids. Codes are strings from `crypto.randomInt` (leading
 * zeros kept); at rest only an HMAC under the configured secret exists, so a leaked store
 * cannot be reversed by trying the million possible codes.
 *
 * Secrets rotate like express-session's: the first of the list signs new codes, every one is
 * still accepted for codes that were pending when it was replaced. User ids come from a key
 * that never rotates, so a user keeps their id when the secret changes.
 */
import { createHmac, createSecretKey, randomBytes, randomInt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DEFAULTS } from '../config/defaults';
import { boundedMemo } from './memo';

const DEFAULT_CONNECTION = DEFAULTS.connection;

/** A uniformly random decimal code of `length` digits, as a string. */
export function generateCode(length: number): string {
  return randomInt(0, 10 ** length)
    .toString()
    .padStart(length, '0');
}

/**
 * HMAC-SHA256 over the parts, JSON-encoded so that no two part lists share a message. Encoded
 * by `digest` itself: a Buffer, a slice of it and its encoding cost about 1.5 µs more per MAC,
 * and a start or a verify computes up to five.
 */
function mac(key: KeyObject, parts: readonly string[], encoding: 'base64url' | 'hex'): string {
  return createHmac('sha256', key).update(JSON.stringify(parts)).digest(encoding);
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Per character code of the 22nd base64url character of a whole MAC: that character as it ends a 16-byte encoding. */
const LAST_OF_16 = (() => {
  const table: string[] = [];
  for (let i = 0; i < 64; i++) table[BASE64URL.charCodeAt(i)] = BASE64URL[i & 0b110000] as string;
  return table;
})();

/**
 * The base64url of a MAC's first 16 bytes (the form keys have always had), read off the whole
 * MAC's base64url: its first 21 characters carry 126 bits, and the 22nd carries the last 2 in
 * its high bits, where a 16-byte encoding has zeros below them.
 */
function first16Bytes(whole: string): string {
  // Joined, not concatenated: `+` would make a V8 cons string holding a slice of the whole
  // MAC (about 90 bytes more per key held in memoryLimits); join writes one flat string.
  return [whole.slice(0, 21), LAST_OF_16[whole.charCodeAt(21)]].join('');
}

/** The key of one secret: where a pending code lives and how its HMAC is made. */
export interface CodeKeys {
  /**
   * Where, among a number's keys (its hashed limit key comes first), the pending code of one
   * client and (optional) browser binding lives. The number is not part of it: the number's
   * key already is, so without a binding this is one HMAC per client, computed once.
   */
  codeKey(clientId: string, binding: string): string;
  /** The stored form of a code: bound to number, client and binding, so it opens nothing else. */
  codeHash(phone: string, clientId: string, binding: string, code: string): string;
}

/** Clients are configured, so few; the bound only guards against a caller passing anything. */
const MAX_CACHED_CLIENT_KEYS = 1_000;

/**
 * The code keys of one secret for one connection. A connection other than the default one names
 * itself in every MAC: two instances of an app (customers and staff) sharing a store, a secret
 * and a client then never reach each other's codes. The default connection's MACs are as they
 * were before connections named themselves, so its pending codes do not change key with that.
 */
function codeKeysOf(key: KeyObject, connection: string): CodeKeys {
  const [slot, codeLabel] = connection === DEFAULT_CONNECTION ? ['slot', 'code'] : [`slot@${connection}`, `code@${connection}`];
  const slotOf = (clientId: string, binding: string) =>
    first16Bytes(mac(key, binding ? [slot, clientId, binding] : [slot, clientId], 'base64url'));
  const clientSlot = boundedMemo(MAX_CACHED_CLIENT_KEYS, (clientId) => slotOf(clientId, ''));
  return {
    // A binding is a browser's own random id: never the same twice, so not kept.
    codeKey: (clientId, binding) => (binding ? slotOf(clientId, binding) : clientSlot(clientId)),
    codeHash: (phone, clientId, binding, code) =>
      mac(key, binding ? [codeLabel, clientId, phone, binding, code] : [codeLabel, clientId, phone, code], 'base64url'),
  };
}

export interface Keyring {
  /** Signs new codes (the first secret). */
  readonly current: CodeKeys;
  /** The older secrets, still accepted for codes pending when they were replaced. */
  readonly previous: readonly CodeKeys[];
  /** A rate-limit or fraud-guard key for a number, prefix or address: keys never list them in clear. */
  limitKey(value: string): string;
  /** `sms|` + a stable id: the same on every login of a number, and not the number itself. */
  userId(phone: string): string;
  /**
   * Key material for the internal access-token key (derived, never the secret itself): one per
   * secret, the first signing, all verifying, so a rotation keeps issued tokens valid.
   */
  derive(label: string): Buffer[];
}

export function createKeyring(secrets: readonly string[], userIdSecret: string, connection: string = DEFAULT_CONNECTION): Keyring {
  const keys = secrets.map((s) => createSecretKey(Buffer.from(s, 'utf8')));
  const first = keys[0] as KeyObject;
  const userKey = createSecretKey(Buffer.from(userIdSecret, 'utf8'));
  return Object.freeze({
    current: codeKeysOf(first, connection),
    previous: keys.slice(1).map((k) => codeKeysOf(k, connection)),
    // Under the key that never rotates: limits, and the Redis slot of a number's keys, survive a rotation.
    limitKey: (value: string) => first16Bytes(mac(userKey, ['limit', value], 'base64url')),
    // The message is unchanged from the first release, so ids issued then stay valid.
    userId: (phone: string) => `sms|${mac(userKey, ['user', phone], 'hex').slice(0, 24)}`,
    derive: (label: string) => keys.map((key) => createHmac('sha256', key).update(label).digest()),
  });
}

/** Random bytes drawn in blocks: one call into the CSPRNG serves 128 ids. */
const ID_BYTES = 12;
let pool = Buffer.alloc(0);
let offset = 0;

/** An opaque random id, 24 hex characters like Auth0's. */
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
