/**
 * The optional Redis second-level cache and revocation fan-out of `gatepass serve`, from the
 * `cache` field of the configuration. Internal.
 */
import type { RateLimitStore, ValidationOptions } from '../server/index.js'
import type * as RedisModule from '../server/redis/index.js'
import { CLIError } from './errors.js'

/** The `cache` field: `{ "redis": { "url": "redis://…" | { "env": "NAME" }, "prefix": "gatepass:", "commandTimeout": 200 } }`. */
export interface CacheConfig {
  redis?: { url?: string | { env: string }; prefix?: string; commandTimeout?: number }
}

/**
 * Connects the configured shared cache; returns the validation options to pass, the shared
 * counters of the brute-force limits (when Redis is configured) and a closer.
 */
export async function createCacheFromConfig(value: CacheConfig | undefined, env: Record<string, string | undefined>): Promise<{ validation: ValidationOptions; rateLimits?: RateLimitStore; close(): Promise<void> }> {
  if (!value?.redis) return { validation: {}, close: async () => {} }
  const { url, prefix, commandTimeout } = value.redis
  const resolved = typeof url === 'object' ? env[url.env] : url
  if (typeof url === 'object' && !resolved) throw new CLIError(`cache.redis.url: environment variable "${url.env}" is not set`)
  let mod: typeof RedisModule
  try {
    mod = await import('../server/redis/index.js')
  } catch (err) {
    throw new CLIError('the Redis cache module could not be loaded (is "ioredis" installed? npm install ioredis@5)', { cause: err })
  }
  const redis = await mod.createRedisCache({ ...(resolved ? { url: resolved } : {}), ...(prefix ? { prefix } : {}), ...(commandTimeout !== undefined ? { commandTimeout } : {}) })
  return { validation: { sharedCache: redis.cache, revocationBus: redis.bus }, rateLimits: redis.rateLimits, close: () => redis.close() }
}
