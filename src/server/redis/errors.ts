/**
 * Error classes of the Redis cache. Internal module; the classes are re-exported by
 * `gatepass/server/redis`.
 */
import { GatepassError } from '../../shared/errors.js'

/**
 * Passed to `onError` when Redis cannot be reached or a command fails: the cache answers as a
 * miss and the gateway falls back to its in-process cache and the store. `cause` is the error of
 * the Redis client.
 *
 * Available from `'gatepass/server/redis'`.
 *
 * @example Log the outage with its cause
 *
 * ```ts
 * import { createRedisCache } from 'gatepass/server/redis'
 *
 * const redis = await createRedisCache({
 *   onError: (err) => console.warn(err.message, err.cause),
 * })
 * console.log(redis.status())
 * ```
 *
 * @group Caches
 */
export class CacheUnavailableError extends GatepassError {
  static override code = 'ERR_CACHE_UNAVAILABLE' as const
  override code = 'ERR_CACHE_UNAVAILABLE' as const
}

/**
 * Thrown by `createRedisCache()` when the `ioredis` package is not installed or cannot be
 * loaded. A kind of {@link CacheUnavailableError}; `packageName` says which package to install.
 *
 * Available from `'gatepass/server/redis'`.
 *
 * @example Tell the operator what to install
 *
 * ```ts
 * import { CacheDriverError, createRedisCache } from 'gatepass/server/redis'
 *
 * try {
 *   await createRedisCache({ url: 'redis://127.0.0.1:6379' })
 * } catch (err) {
 *   if (err instanceof CacheDriverError) console.error(`npm install ${err.packageName}`)
 * }
 * ```
 *
 * @group Caches
 */
export class CacheDriverError extends CacheUnavailableError {
  /** The npm package the cache needs (`ioredis`). */
  readonly packageName: string

  /**
   * @param packageName The missing package.
   * @param message What went wrong and how to fix it.
   * @param options `cause` is the original loading error.
   */
  constructor(packageName: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.packageName = packageName
  }
}
