/**
 * Loading the optional `ioredis` package. Internal module; `loadDriver` is re-exported by
 * `gatepass/server/redis`.
 */
import type { Redis } from 'ioredis'
import { CacheDriverError } from './errors.js'

/**
 * Option key of {@link createRedisCache}: a function that loads the `ioredis` module instead of
 * the default dynamic `import('ioredis')`. For bundlers that cannot resolve the optional peer
 * dependency, and for tests. The same symbol (`Symbol.for('gatepass.loadDriver')`) as the SQLite
 * and PostgreSQL stores' `loadDriver`.
 *
 * Available from `'gatepass/server/redis'`.
 *
 * @example Hand a bundled ioredis to the cache
 *
 * ```ts
 * import Redis from 'ioredis'
 * import { createRedisCache, loadDriver } from 'gatepass/server/redis'
 *
 * const redis = await createRedisCache({ [loadDriver]: async () => Redis })
 * console.log(redis.status())
 * ```
 *
 * @group Caches
 */
export const loadDriver: unique symbol = Symbol.for('gatepass.loadDriver')

/** The package name and the install command named by the missing-package error. */
export const REDIS_PACKAGE = 'ioredis'
export const REDIS_INSTALL = 'npm install ioredis@5'

/** The `ioredis` constructor. Internal. */
export type RedisConstructor = new (url: string, options: object) => Redis

function isModuleNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  return (
    typeof e === 'object' &&
    e !== null &&
    (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(`'${REDIS_PACKAGE}'`)
  )
}

function notInstalled(cause?: unknown): CacheDriverError {
  const message = `the "${REDIS_PACKAGE}" package is not installed; install it with: ${REDIS_INSTALL}`
  return new CacheDriverError(REDIS_PACKAGE, message, cause === undefined ? undefined : { cause })
}

/**
 * Loads `ioredis` and returns its `Redis` class (the default export, or the `Redis` named
 * export). Internal.
 *
 * @param loader The default dynamic import, or the `[loadDriver]` option.
 * @returns The `Redis` constructor.
 */
export async function importRedis(loader: () => Promise<unknown>): Promise<RedisConstructor> {
  let mod: unknown
  try {
    mod = await loader()
  } catch (err) {
    if (isModuleNotFound(err)) throw notInstalled(err)
    throw new CacheDriverError(REDIS_PACKAGE, `the "${REDIS_PACKAGE}" package failed to load (try: ${REDIS_INSTALL})`, { cause: err })
  }
  if (typeof mod === 'function') return mod as RedisConstructor
  if (typeof mod === 'object' && mod !== null) {
    const { default: def, Redis } = mod as { default?: unknown; Redis?: unknown }
    if (typeof def === 'function') return def as RedisConstructor
    if (typeof Redis === 'function') return Redis as RedisConstructor
  }
  throw notInstalled()
}
