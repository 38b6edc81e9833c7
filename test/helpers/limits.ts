/** Limits for tests that look at one limit at a time. */
import { DEFAULTS, type RateLimitOptions } from '../../lib';

/** Every count limit off except the ones named: each test then sees one limit at work. */
export function only(limits: RateLimitOptions): RateLimitOptions {
  const off = Object.fromEntries(
    Object.keys(DEFAULTS.rateLimits)
      .filter((k) => k !== 'ipv6Subnet')
      .map((k) => [k, 0]),
  );
  return { ...off, ...limits };
}
