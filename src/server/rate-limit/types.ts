/**
 * The public shapes of brute-force protection on the token endpoints: the options and the
 * counter store (in-process by default, Redis across instances).
 *
 * @module
 */

/**
 * A failure counter: how many failures its window holds, and how long the window still runs.
 *
 * @group Rate limiting
 */
export interface RateLimitCounter {
  /** Failures counted in the current window. */
  count: number
  /** Milliseconds until the window ends and the counter is gone. */
  ttl: number
}

/**
 * Where failure counters live. The token service keeps them in process by default; pass
 * `createRedisCache().rateLimits` (from `'gatepass/server/redis'`) so every instance counts
 * together. A store may reject during an outage: the service then counts in process until it
 * answers again.
 *
 * @example A store over any key-value service with atomic increments
 *
 * ```ts
 * import type { RateLimitStore } from 'gatepass/server'
 *
 * let kv!: { incr(key: string, ttl: number): Promise<{ value: number; ttl: number }>; peek(key: string): Promise<{ value: number; ttl: number } | null> }
 * export const store: RateLimitStore = {
 *   get: (keys) => Promise.all(keys.map(async (key) => {
 *     const hit = await kv.peek(key)
 *     return hit && { count: hit.value, ttl: hit.ttl }
 *   })),
 *   increment: (keys, window) => Promise.all(keys.map(async (key) => {
 *     const hit = await kv.incr(key, window)
 *     return { count: hit.value, ttl: hit.ttl }
 *   })),
 * }
 * ```
 *
 * @group Rate limiting
 */
export interface RateLimitStore {
  /** The live counters of `keys`, in order; `null` where no window runs. */
  get(keys: readonly string[]): Promise<Array<RateLimitCounter | null>>
  /**
   * Adds one to each counter of `keys`; a key without a running window starts one of `window`
   * ms. Answers the counters after the increment, in order.
   */
  increment(keys: readonly string[], window: number): Promise<RateLimitCounter[]>
}

/**
 * Brute-force protection of the token endpoints (token, JWT, regenerate, introspection,
 * revocation). Failed authentications are counted per client IP, per client id (wrong client
 * secrets) and per client id + username (wrong passwords of the password grant). Once a
 * counter reaches its limit, requests it covers get `429 slow_down` with `Retry-After` until
 * its window ends, right credentials included, and no secret is checked meanwhile.
 * Each limit is a count per window; 0 turns it off.
 *
 * @example Stricter limits, counted on Redis by every instance
 *
 * ```ts
 * import { createTokenService, type RateLimitOptions } from 'gatepass/server'
 * import { createRedisCache } from 'gatepass/server/redis'
 *
 * const redis = await createRedisCache({ prefix: 'gatepass:prod:' })
 * const rateLimit: RateLimitOptions = { perIP: 20, perUser: 5, window: 300_000, store: redis.rateLimits }
 * export const service = createTokenService({
 *   environment: { name: 'prod', issuer: 'https://gw.example.com' },
 *   proxies: [{ name: 'orders', clientId: 'orders-app', clientSecret: { env: 'ORDERS_SECRET' } }],
 * }, { env: { ORDERS_SECRET: 'a-long-random-secret' }, rateLimit })
 * ```
 *
 * @group Rate limiting
 */
export interface RateLimitOptions {
  /** Length of a counting window, ms (1,000 to 86,400,000). Default 60,000. */
  window?: number
  /**
   * Failed authentications (client or user) per client IP and window. Default 30. Not counted
   * when the service cannot tell the client's address (no `remoteAddress` from the adapter).
   * Behind a proxy, set the `trustedProxies` of the client-IP settings, or every client shares
   * the proxy's address.
   */
  perIP?: number
  /**
   * Failed client authentications per client id and window, from every address. Default 100.
   * Anyone who knows a client id can hold this client off for a window at a time; client secrets
   * are long and random, so raise this (or set 0) where that matters more than a weak secret.
   */
  perClient?: number
  /** Failed password-grant logins per client id + username and window. Default 10. */
  perUser?: number
  /** Where the counters live. Default: in process (at most 100,000 counters, least recently used dropped first). */
  store?: RateLimitStore
}
