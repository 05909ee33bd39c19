/**
 * The Redis second-level cache and revocation fan-out, on `ioredis` v5 (an optional peer
 * dependency): a {@link SharedCache} for opaque-token and credential lookups shared by every
 * gateway instance, and a {@link RevocationBus} on pub/sub so a revocation on one instance drops
 * the entry from every instance's in-process cache. Node only.
 *
 * When Redis is down the cache answers misses, the bus keeps delivering locally, `onError` is
 * called once per outage, and both recover by themselves when Redis is back.
 *
 * @module
 */
import type { Redis } from 'ioredis'
import { invalidArgument } from '../../shared/lib/args.js'
import type { RevocationBus, RevocationEvent, SharedCache } from '../cache/types.js'
import { importRedis, loadDriver } from './driver.js'
import type { CacheUnavailableError } from './errors.js'
import { createHealth } from './health.js'
import { createRevocationBus } from './revocation-bus.js'
import { createSharedCache } from './shared-cache.js'
import { createRateLimitStore } from './rate-limits.js'
import type { RateLimitStore } from '../rate-limit/types.js'

export { loadDriver } from './driver.js'
export { CacheDriverError, CacheUnavailableError } from './errors.js'
export type { RevocationBus, RevocationEvent, SharedCache, RateLimitStore }

/** Longest wait of `createRedisCache()` for the first connection and subscription. */
const STARTUP_WAIT = 2000

/**
 * Options of {@link createRedisCache}: where Redis is, the key prefix and channel, the outage
 * hooks and the command timeout. Every option has a default.
 *
 * Available from `'gatepass/server/redis'`.
 *
 * @example A prefix per environment, outages to the service's logger
 *
 * ```ts
 * import { createRedisCache, type RedisCacheOptions } from 'gatepass/server/redis'
 *
 * let logger!: { warn(message: string): void }
 * let dropLocalCache!: () => void
 * const options: RedisCacheOptions = {
 *   url: 'redis://cache.internal:6379/2',
 *   prefix: 'gatepass:staging:',
 *   commandTimeout: 100,
 *   onError: (err) => logger.warn(err.message),
 *   onResubscribe: dropLocalCache,
 * }
 * export const redis = await createRedisCache(options)
 * ```
 *
 * @group Caches
 */
export interface RedisCacheOptions {
  /**
   * Redis URL (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS). Default
   * `'redis://127.0.0.1:6379'`. Ignored when `client` is given.
   */
  url?: string | undefined
  /**
   * An `ioredis` client to use instead of connecting to `url`. It is not closed by `close()`;
   * the subscriber connection is made with its `duplicate()`. Create it with
   * `enableOfflineQueue: false` and `maxRetriesPerRequest: 1` so commands fail fast during an
   * outage (each call is bounded by `commandTimeout` anyway).
   */
  client?: Redis | undefined
  /** Prepended to every cache key. Default `'gatepass:'`. */
  prefix?: string | undefined
  /** Pub/sub channel of the revocations. Default `` `${prefix}revocations` ``. */
  channel?: string | undefined
  /**
   * Called with the first error of each outage (a {@link CacheUnavailableError}, the client's
   * error as `cause`); called again only after Redis has been reachable in between. Default: one
   * `console.warn` line per outage.
   */
  onError?: ((err: CacheUnavailableError) => void) | undefined
  /**
   * Called when the revocation subscription is back after it was lost (Redis restart, network
   * cut). Revocations published in between were missed. A token service using this bus needs
   * nothing here: its listeners get `{ missed: true }` at the loss and again at this moment, and it
   * drops its in-process token caches and re-reads its signing keys. Use this for caches of your own.
   */
  onResubscribe?: (() => void) | undefined
  /** Longest wait for one Redis command, in ms (at most 2,147,483,647); a slower command counts as a miss. Default `200`. */
  commandTimeout?: number | undefined
  /** Loads the `ioredis` module instead of `import('ioredis')`. */
  [loadDriver]?: (() => Promise<unknown>) | undefined
}

/**
 * What {@link createRedisCache} returns: the shared cache, the revocation bus and their
 * lifecycle.
 *
 * Available from `'gatepass/server/redis'`.
 *
 * @example Report the cache in a health check
 *
 * ```ts
 * import type { RedisCache } from 'gatepass/server/redis'
 *
 * let redis!: RedisCache
 * export const health = (): Response => Response.json({ redis: redis.status() })
 * ```
 *
 * @group Caches
 */
export interface RedisCache {
  /** GET / SET with a PX TTL / DEL under `prefix`; never throws, answers `null` during an outage. */
  readonly cache: SharedCache
  /**
   * Revocations over pub/sub. `publish()` calls this instance's listeners at once (even when
   * Redis is down), then publishes; the echo of its own messages is skipped, so every listener
   * sees each revocation once. Revocations that could not be published are sent again when
   * Redis is back (up to 1000, oldest dropped first). Malformed messages are ignored.
   */
  readonly bus: RevocationBus
  /**
   * Failure counters of the token endpoints' brute-force protection, shared by every instance
   * (pass as `rateLimit.store`). One Lua script per request; keys under `prefix`, each expiring
   * with its window. During an outage calls reject, and the service counts in process.
   */
  readonly rateLimits: RateLimitStore
  /** Closes the connections this cache opened (never a `client` passed in). Idempotent. */
  close(): Promise<void>
  /** `'ready'` when the command and subscriber connections both work, else `'degraded'`. */
  status(): 'ready' | 'degraded'
}

function defaultOnError(err: CacheUnavailableError): void {
  console.warn(`gatepass: ${err.message}; falling back to the in-process cache and the store`)
}

function onListenerError(err: unknown): void {
  console.error('gatepass: a revocation listener threw', err)
}

async function shutdown(connection: Redis): Promise<void> {
  if (connection.status === 'end') return
  if (connection.status === 'ready') {
    try {
      await Promise.race([connection.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())])
      return
    } catch {
      // fall through: drop the connection
    }
  }
  connection.disconnect()
}

function validate(options: RedisCacheOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  const { url, client, prefix, channel, onError, onResubscribe, commandTimeout } = options
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) throw invalidArgument('"url" must be a redis:// or rediss:// URL')
  if (client !== undefined && (typeof client !== 'object' || client === null || typeof client.duplicate !== 'function')) {
    throw invalidArgument('"client" must be an ioredis client', 'ERR_INVALID_ARG_TYPE')
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw invalidArgument('"prefix" must be a string', 'ERR_INVALID_ARG_TYPE')
  if (channel !== undefined && (typeof channel !== 'string' || channel === '')) throw invalidArgument('"channel" must be a non-empty string')
  if (onError !== undefined && typeof onError !== 'function') throw invalidArgument('"onError" must be a function', 'ERR_INVALID_ARG_TYPE')
  if (onResubscribe !== undefined && typeof onResubscribe !== 'function') throw invalidArgument('"onResubscribe" must be a function', 'ERR_INVALID_ARG_TYPE')
  if (commandTimeout !== undefined && (typeof commandTimeout !== 'number' || !Number.isFinite(commandTimeout) || commandTimeout <= 0 || commandTimeout > 2_147_483_647)) {
    throw invalidArgument('"commandTimeout" must be a positive number of milliseconds, at most 2,147,483,647 (the timer limit)')
  }
}

/**
 * Connects to Redis and returns the shared cache and the revocation bus of one gateway instance.
 * Resolves even when Redis is down (after at most 2 s): the cache then answers misses and
 * recovers by itself when Redis is back.
 *
 * Available from `'gatepass/server/redis'` (Node only; needs the `ioredis` v5 package).
 *
 * > [!WARNING]
 * > Pub/sub is fire-and-forget: an instance whose subscription was down misses the revocations
 * > published meanwhile. Drop the in-process cache in `onResubscribe`, and keep its entries short
 * > while `status()` is `'degraded'`.
 *
 * @param options Where Redis is (`url` or `client`), the key `prefix`, the `channel`, `onError`,
 *   `onResubscribe` and `commandTimeout`.
 * @returns The cache and the bus (pass them to the token service), `status()`, and `close()` to
 *   call on shutdown.
 * @throws `CacheDriverError` when `ioredis` is not installed (and no `client` is given),
 *   `TypeError` when an option is invalid.
 * @example Share the cache and revocations between gateway instances
 *
 * ```ts
 * import { createRedisCache } from 'gatepass/server/redis'
 *
 * const redis = await createRedisCache({ url: 'redis://127.0.0.1:6379', prefix: 'gatepass:prod:' })
 * const stop = redis.bus.subscribe((event) => console.log('revoked', event.digest ?? event.familyId))
 * await redis.cache.set('token:abc', '{"active":true}', 60_000)
 * await redis.bus.publish({ digest: 'abc' })
 * stop()
 * await redis.close()
 * ```
 *
 * @example Bring your own ioredis client
 *
 * ```ts
 * import Redis from 'ioredis'
 * import { createRedisCache } from 'gatepass/server/redis'
 *
 * const client = new Redis('redis://cache.internal:6379', { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
 * const redis = await createRedisCache({ client })
 * await redis.close() // closes the subscriber connection only; `client` stays open
 * ```
 *
 * @group Caches
 */
export async function createRedisCache(options: RedisCacheOptions = {}): Promise<RedisCache> {
  validate(options)
  const prefix = options.prefix ?? 'gatepass:'
  const channel = options.channel ?? `${prefix}revocations`
  const timeout = options.commandTimeout ?? 200
  const onError = options.onError ?? defaultOnError
  const onResubscribe = options.onResubscribe ?? (() => {})

  let client: Redis
  const ownsClient = options.client === undefined
  if (options.client) {
    client = options.client
  } else {
    const RedisClass = await importRedis(options[loadDriver] ?? (() => import('ioredis')))
    client = new RedisClass(options.url ?? 'redis://127.0.0.1:6379', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: timeout,
      autoResendUnfulfilledCommands: false,
      lazyConnect: false,
    })
  }

  const health = createHealth(onError)
  const onClientReady = (): void => health.up('command')
  const onClientClose = (): void => health.down('command')
  const onClientError = (err: unknown): void => health.fail('command', err)
  client.on('ready', onClientReady)
  client.on('close', onClientClose)
  client.on('error', onClientError)
  if (client.status === 'ready') health.up('command')
  else if (client.status === 'wait') client.connect().catch(() => {})

  // A dedicated connection: a subscribed connection cannot run GET/SET. The subscription is
  // renewed by the bus on every `ready` (not by ioredis' autoResubscribe) so it knows when it is live.
  const subscriber = client.duplicate({
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    lazyConnect: false,
  })
  const ignore = (): void => {}
  subscriber.on('error', ignore) // replaced by the bus's handler; kept after close()

  const bus = createRevocationBus({
    client,
    subscriber,
    channel,
    origin: globalThis.crypto.randomUUID(),
    timeout,
    health,
    onListenerError,
    onResubscribe,
  })
  const cache = createSharedCache(client, prefix, timeout, health)
  const rateLimits = createRateLimitStore(client, prefix, timeout, health)

  // Wait (bounded) for the first connection and subscription, so that `status()` is meaningful
  // and revocations published by other instances right after this call are not missed.
  const cleanup: Array<() => void> = []
  const settled = (connection: Redis, ready: 'ready' | Promise<void>): Promise<void> =>
    new Promise<void>((resolve) => {
      if (ready === 'ready') {
        if (connection.status === 'ready') return resolve()
        connection.once('ready', resolve)
        cleanup.push(() => connection.off('ready', resolve))
      } else {
        ready.then(resolve, resolve)
      }
      connection.once('error', resolve)
      cleanup.push(() => connection.off('error', resolve))
    })
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([
    Promise.all([settled(client, 'ready'), settled(subscriber, bus.subscribed)]),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, STARTUP_WAIT))),
  ])
  clearTimeout(timer)
  for (const off of cleanup) off()

  let closing: Promise<void> | undefined
  return {
    cache,
    bus,
    rateLimits,
    status: () => health.status(),
    close() {
      closing ??= (async () => {
        health.close()
        bus.detach()
        client.off('ready', onClientReady)
        client.off('close', onClientClose)
        client.off('error', onClientError)
        if (ownsClient) client.on('error', ignore)
        await Promise.all([shutdown(subscriber), ownsClient ? shutdown(client) : undefined])
      })()
      return closing
    },
  }
}
