/**
 * Send and verify limits on rate-limiter-flexible: in memory by default, in Redis when the
 * store is a redisStore, so that every instance shares the same buckets. Phone numbers are
 * keyed by an HMAC, so the limiter's keys do not list the numbers in clear.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ErrorCodes, PasswordlessError, clientError, storeUnavailable } from './errors';
import type { ResolvedRateLimits } from './options';
import { limiterKey } from './otp';
import { withTimeout } from './timeout';

/** A limiter whose Redis does not answer in this time fails closed with 503. */
const LIMITER_TIMEOUT_MS = 2000;

/** A Redis client the limiter can share with the store, and which library made it. */
export interface LimiterRedis {
  client: unknown;
  kind: 'node-redis' | 'ioredis';
  prefix: string;
}

/** The Redis a store lends to the limiter (redisStore, or a sessionStore with a Redis ledger). */
export function limiterRedisOf(store: unknown): LimiterRedis | undefined {
  const shared = (store as { limiterRedis?: LimiterRedis } | undefined)?.limiterRedis;
  return shared && typeof shared === 'object' ? shared : undefined;
}

export interface Limits {
  /** Throws 429 `too_many_requests` when any send limit is exceeded; otherwise counts one send. */
  checkStart(input: { ip: string; phone: string; clientId: string }): Promise<void>;
  /** Counts one verification; throws 429 `too_many_attempts` once the number's failures are over the limit. */
  checkVerify(phone: string): Promise<void>;
  succeededVerify(phone: string): Promise<void>;
}

const HOUR = 3600;
const DAY = 86_400;

function retryAfterSeconds(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}

function tooMany(code: string, message: string, res: RateLimiterRes): PasswordlessError {
  const seconds = retryAfterSeconds(res);
  return clientError(code, 429, message.replace('{s}', String(seconds)), { 'Retry-After': String(seconds) });
}

/** Limiter errors that are not "over the limit" mean the backing Redis failed: 503, fail closed. */
function limiterFailure(err: unknown): PasswordlessError {
  return err instanceof PasswordlessError ? err : storeUnavailable();
}

export const NO_LIMITS: Limits = {
  async checkStart() {},
  async checkVerify() {},
  async succeededVerify() {},
};

export function createLimits(settings: ResolvedRateLimits | false, secret: string, redis: LimiterRedis | undefined): Limits {
  if (settings === false) return NO_LIMITS;
  const make = (name: string, points: number, duration: number): RateLimiterAbstract | undefined => {
    if (points <= 0 || duration <= 0) return undefined;
    if (redis) {
      return new RateLimiterRedis({
        storeClient: redis.client,
        useRedisPackage: redis.kind === 'node-redis',
        keyPrefix: `${redis.prefix}rl:${name}`,
        points,
        duration,
      });
    }
    return new RateLimiterMemory({ keyPrefix: name, points, duration });
  };
  const cooldown = make('cool', 1, settings.resendCooldownSeconds);
  // [limiter, key of the request it counts, what the person is told]
  const phoneHour = make('ph', settings.sendsPerPhonePerHour, HOUR);
  const phoneDay = make('pd', settings.sendsPerPhonePerDay, DAY);
  const ipHour = make('ip', settings.startsPerIpPerHour, HOUR);
  const clientDay = make('cd', settings.sendsPerClientPerDay, DAY);
  const allDay = make('all', settings.sendsPerDay, DAY);
  const prefixHour = make('pre', settings.sendsPerPrefixPerHour, HOUR);
  const failed = make('fv', settings.failedVerifiesPerPhonePerHour, HOUR);

  const hashed = (value: string): string => limiterKey(secret, value);

  async function consume(limiter: RateLimiterAbstract | undefined, key: string, message: string): Promise<void> {
    if (!limiter) return;
    try {
      await withTimeout(limiter.consume(key), LIMITER_TIMEOUT_MS, storeUnavailable);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooMany(ErrorCodes.tooManyRequests, message, err);
      throw limiterFailure(err);
    }
  }

  return {
    async checkStart({ ip, phone, clientId }) {
      const phoneKey = hashed(phone);
      // The cooldown goes first so that a too-early resend spends nothing from the hourly buckets.
      await consume(cooldown, phoneKey, 'A code was just sent to this number. Try again in {s} seconds.');
      await consume(ipHour, ip, 'Too many login attempts from this network. Try again in {s} seconds.');
      await consume(phoneHour, phoneKey, 'Too many codes were sent to this number. Try again in {s} seconds.');
      await consume(phoneDay, phoneKey, 'Too many codes were sent to this number today. Try again in {s} seconds.');
      // The number without its last 4 digits: SMS pumping walks through consecutive numbers.
      await consume(prefixHour, hashed(phone.slice(0, -4)), 'Too many codes were sent to numbers like this one. Try again in {s} seconds.');
      await consume(clientDay, clientId, 'This application has sent its daily number of codes. Try again in {s} seconds.');
      await consume(allDay, 'all', 'The daily number of codes has been sent. Try again in {s} seconds.');
    },
    async checkVerify(phone) {
      // Counted before the code is checked, so that a burst of concurrent guesses cannot all
      // pass the check before any of them is counted; a success resets the count.
      if (!failed) return;
      try {
        await withTimeout(failed.consume(hashed(phone)), LIMITER_TIMEOUT_MS, storeUnavailable);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw tooMany(ErrorCodes.tooManyAttempts, 'Too many wrong codes were entered for this number. Try again in {s} seconds.', err);
        }
        throw limiterFailure(err);
      }
    },
    async succeededVerify(phone) {
      if (!failed) return;
      try {
        await withTimeout(failed.delete(hashed(phone)), LIMITER_TIMEOUT_MS, storeUnavailable);
      } catch (err) {
        throw limiterFailure(err);
      }
    },
  };
}
