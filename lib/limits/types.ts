/**
 * The vocabulary of the limits: buckets (a count of events per key in a window), the
 * fraud guard's per-prefix conversion record, and the backend interface that memory and
 * Redis implement. Every time is on the injected clock (`now`), so tests move time instead
 * of sleeping and limits expire when the app's clock says so.
 */
import type { ErrorName } from '../errors';

/** The names of the limits, as options, log `limit` fields and metric labels. */
export type LimitName =
  | 'resendCooldownSeconds'
  | 'sendsPerPhonePerHour'
  | 'sendsPerPhonePerDay'
  | 'startsPerIpPerHour'
  | 'sendsPerPrefixPerHour'
  | 'sendsPerClientPerDay'
  | 'sendsPerDay'
  | 'failedVerifiesPerPhonePerHour'
  | 'failedVerifiesPerIpPerHour'
  | 'failedClientAuthPerIpPerHour'
  | 'fraudGuard';

/**
 * What a bucket's key groups by. On a Redis Cluster the keys of one group and key share a hash
 * slot: a number's buckets are one script call, an address's one, and each global limit that is
 * on (all sends, a client's, a number prefix's) one of its own.
 */
export type BucketGroup = 'number' | 'address' | 'prefix' | 'global';

export interface Bucket {
  readonly name: LimitName;
  readonly group: BucketGroup;
  /** Already hashed: a key never holds a number or an address in clear. It decides the Redis Cluster slot. */
  readonly key: string;
  /** A further part of the key within the same slot (the address, for a number's failures). */
  readonly sub?: string | undefined;
  readonly limit: number;
  readonly windowMs: number;
  /** The catalogue's answer when this bucket is full. */
  readonly refusal: ErrorName;
}

export interface FraudSettings {
  readonly prefixDigits: number;
  readonly minSends: number;
  readonly minConversion: number;
  readonly windowMs: number;
  readonly blockMs: number;
  /** Trusted number prefixes, digits only (no `+`). */
  readonly allowPrefixes: readonly string[];
}

/** The fraud guard's check on one destination prefix. */
export interface FraudCheck {
  readonly key: string;
  /** The prefix digits, for the log (never the whole number). */
  readonly prefix: string;
  readonly settings: FraudSettings;
  /** False for a start that sends nothing (a decoy): the pause applies, but it is not a send. */
  readonly counts: boolean;
}

export interface Refusal {
  readonly bucket: LimitName;
  readonly refusal: ErrorName;
  readonly retryAfterMs: number;
}

/** What taking a start's buckets found. */
export interface TakeResult {
  /** Set when a bucket was full: nothing was spent. */
  readonly refused?: Refusal;
  /** Set when this start paused its prefix (the fraud guard's `sms_pumping_suspected`). */
  readonly paused?: { readonly sends: number; readonly redemptions: number };
}

/** Where the counts live. Every method is atomic on its backend. */
export interface LimitBackend {
  readonly kind: 'memory' | 'redis';
  /** Every bucket has room and the prefix is not paused: then all are counted at once. Otherwise nothing is. */
  take(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number): Promise<TakeResult>;
  /**
   * Gives back what `take` counted (a send that failed). `takenBy`, the clock once that take was
   * answered: a window that opened later is a newer request's, and keeps its count (a late
   * give-back must not empty a newer start's cooldown). Without it every live window is given to.
   */
  give(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number, takenBy?: number): Promise<void>;
  /** The first full bucket, without counting anything. */
  peek(buckets: readonly Bucket[], now: number, deadline: number): Promise<Refusal | undefined>;
  /** Counts one event in each bucket, full or not (failures). */
  count(buckets: readonly Bucket[], now: number, deadline: number): Promise<void>;
  /** Empties buckets (a login resets its number's failures) and records a redemption for the fraud guard. */
  succeeded(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number): Promise<void>;
  close?(): void | Promise<void>;
}
