/** Limits in Redis, shared by every instance: the `limitStore` for a Redis client of its own. */
import { redisBackendOptions, type RedisStoreOptions } from '../stores/redis';
import type { RedisBackend } from '../redis/backend';

export type RedisLimitsOptions = RedisStoreOptions;

export function redisLimits(options: RedisLimitsOptions): RedisBackend {
  return redisBackendOptions(options, 'redisLimits');
}
