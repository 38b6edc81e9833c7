/**
 * The limits of a request, planned: which buckets a start, a verify or a client
 * authentication touches, keyed by hashed numbers and addresses, in the order they are
 * checked (address and global first, then the number), on the configured backend.
 */
import type { Keyring } from '../core/crypto';
import { boundedMemo } from '../core/memo';
import type { Bucket, FraudCheck, FraudSettings, LimitBackend, LimitName } from './types';
import type { ErrorName } from '../errors';

export type { Bucket, FraudCheck, FraudSettings, LimitBackend, LimitName, Refusal, TakeResult } from './types';

/** Each a count (0 turns that limit off); `ipv6Subnet` is a prefix length. */
export interface ResolvedRateLimits {
  readonly resendCooldownSeconds: number;
  readonly sendsPerPhonePerHour: number;
  readonly sendsPerPhonePerDay: number;
  readonly startsPerIpPerHour: number;
  readonly failedVerifiesPerPhonePerHour: number;
  readonly failedVerifiesPerIpPerHour: number;
  readonly failedClientAuthPerIpPerHour: number;
  readonly sendsPerClientPerDay: number;
  readonly sendsPerDay: number;
  readonly sendsPerPrefixPerHour: number;
  readonly ipv6Subnet: number;
}

const HOUR = 3_600_000;
/** Fraud-guard prefix keys kept (about 80 bytes each). */
const MAX_CACHED_FRAUD_KEYS = 10_000;
/** Client keys kept: clients are configured, so this bound is never met by a working app. */
const MAX_CACHED_CLIENT_KEYS = 1_000;
const DAY = 86_400_000;

export interface StartPlan {
  readonly buckets: readonly Bucket[];
  readonly fraud: FraudCheck | undefined;
}

export interface VerifyPlan {
  readonly address: Bucket | undefined;
  readonly phone: Bucket | undefined;
  readonly fraud: FraudCheck | undefined;
}

export interface Limits {
  readonly backend: LimitBackend;
  readonly fraud: FraudSettings | undefined;
  /** `numberKey` is the number's hashed key when the caller has it already (`limitKey('phone:' + phone)`). */
  start(address: string, phone: string, clientId: string, numberKey?: string, sends?: boolean): StartPlan;
  /** `redeems`: a login counts as a redemption for the fraud guard (not a test number's, which had no SMS). */
  verify(address: string, phone: string, numberKey?: string, redeems?: boolean): VerifyPlan;
  /** Wrong secrets for one client from one address. */
  clientAuth(address: string, clientId: string): Bucket | undefined;
  /** The buckets a failed send gives back: all but the address's. */
  refundable(plan: StartPlan): readonly Bucket[];
}

/**
 * The fraud guard's prefix of a number: its first digits after `+`, unless the operator trusts
 * it. Trusted prefixes are kept without their `+` and compared with the whole number, whatever
 * their length.
 */
export function fraudPrefix(phone: string, settings: FraudSettings): string | undefined {
  const digits = phone.slice(1);
  return settings.allowPrefixes.some((p) => digits.startsWith(p)) ? undefined : digits.slice(0, settings.prefixDigits);
}

/**
 * A prefix as logs show it: never within four digits of the whole number. A short number (7 or
 * 8 digits, as in Niue or the Falklands) or a long `prefixDigits` would otherwise log most of
 * a number, which a masked line's last digits complete.
 */
export function loggedPrefix(phone: string, prefix: string): string {
  return prefix.slice(0, Math.max(0, phone.length - 1 - 4));
}

export function createLimits(
  settings: ResolvedRateLimits,
  fraud: FraudSettings | undefined,
  backend: LimitBackend,
  keyring: Keyring,
): Limits {
  // The key is computed only for a limit that is on: an HMAC is most of a bucket's cost.
  const bucket = (
    name: LimitName,
    group: Bucket['group'],
    key: () => string,
    limit: number,
    windowMs: number,
    refusal: ErrorName,
    sub?: () => string,
  ): Bucket | undefined =>
    limit > 0 && windowMs > 0 ? Object.freeze({ name, group, key: key(), sub: sub?.(), limit, windowMs, refusal }) : undefined;
  const present = (list: Array<Bucket | undefined>): Bucket[] => list.filter((b): b is Bucket => b !== undefined);
  const hashed = (kind: string, value: string) => keyring.limitKey(`${kind}:${value}`);
  // A prefix's key is an HMAC like any other, but there are few prefixes and most traffic
  // shares a handful of them: kept, up to a bound.
  const fraudKey = boundedMemo(MAX_CACHED_FRAUD_KEYS, (prefix) => hashed('fraud', prefix));
  // Clients are configured, so few: their keys are kept too, one HMAC less per start.
  const clientKey = boundedMemo(MAX_CACHED_CLIENT_KEYS, (clientId) => hashed('client', clientId));

  return {
    backend,
    fraud,
    start(address, phone, clientId, numberKey, sends = true) {
      let a: string | undefined;
      let n: string | undefined = numberKey;
      const addressKey = () => (a ??= hashed('ip', address));
      const phoneKey = () => (n ??= hashed('phone', phone));
      const buckets = present([
        // Address and global first: a client over its own limit spends nothing of a number's.
        bucket('startsPerIpPerHour', 'address', addressKey, settings.startsPerIpPerHour, HOUR, 'startsPerAddress'),
        bucket('sendsPerDay', 'global', () => 'all', settings.sendsPerDay, DAY, 'sendsPerDay'),
        bucket('sendsPerClientPerDay', 'global', () => clientKey(clientId), settings.sendsPerClientPerDay, DAY, 'sendsPerClient'),
        // The number without its last 4 digits: SMS pumping walks through consecutive numbers.
        bucket(
          'sendsPerPrefixPerHour',
          'global',
          () => hashed('prefix', phone.slice(0, -4)),
          settings.sendsPerPrefixPerHour,
          HOUR,
          'sendsPerPrefix',
        ),
        bucket('resendCooldownSeconds', 'number', phoneKey, 1, settings.resendCooldownSeconds * 1000, 'cooldown'),
        bucket('sendsPerPhonePerHour', 'number', phoneKey, settings.sendsPerPhonePerHour, HOUR, 'sendsPerPhone'),
        // A number's sends today are counted per address, as its wrong codes are: a stranger who
        // spends them from one address would otherwise keep the owner from any code for a day.
        // The hour's budget stays the number's: it is what bounds SMS sent to one number.
        bucket('sendsPerPhonePerDay', 'number', phoneKey, settings.sendsPerPhonePerDay, DAY, 'sendsPerPhoneToday', addressKey),
      ]);
      const prefix = fraud ? fraudPrefix(phone, fraud) : undefined;
      return { buckets, fraud: fraud && prefix ? { key: fraudKey(prefix), prefix, settings: fraud, counts: sends } : undefined };
    },
    verify(address, phone, numberKey, redeems = true) {
      const prefix = fraud && redeems ? fraudPrefix(phone, fraud) : undefined;
      let a: string | undefined;
      const addressKey = () => (a ??= hashed('ip', address));
      return {
        address: bucket(
          'failedVerifiesPerIpPerHour',
          'address',
          addressKey,
          settings.failedVerifiesPerIpPerHour,
          HOUR,
          'verifiesPerAddress',
        ),
        // A number's failures are counted per address: wrong codes from elsewhere never lock the
        // owner out. Guessing stays bounded by otp.maxAttempts per code and the number's sends.
        phone: bucket(
          'failedVerifiesPerPhonePerHour',
          'number',
          () => numberKey ?? hashed('phone', phone),
          settings.failedVerifiesPerPhonePerHour,
          HOUR,
          'failedVerifiesPerPhone',
          addressKey,
        ),
        fraud: fraud && prefix ? { key: fraudKey(prefix), prefix, settings: fraud, counts: true } : undefined,
      };
    },
    clientAuth(address, clientId) {
      // Per address and client: a neighbour behind the same NAT or /64 who names another
      // backend's (public) client id spends only that pair's count, not every client's.
      return bucket(
        'failedClientAuthPerIpPerHour',
        'address',
        () => hashed('ip', address),
        settings.failedClientAuthPerIpPerHour,
        HOUR,
        'clientAuthPerAddress',
        () => clientKey(clientId),
      );
    },
    refundable(plan) {
      return plan.buckets.filter((b) => b.group !== 'address');
    },
  };
}
