/**
 * The token cache interface.
 *
 * @module
 */
import type { TokenEndpointResult } from '../responses.js'

/**
 * One cached token: the processed token response (wire spelling, `refresh_token` included when
 * issued) plus `uat`, when it was stored (epoch ms). Plain JSON: seedable and serialisable. Never
 * contains a client secret or a password.
 *
 * @group Caches
 */
export interface TokenCacheEntry extends TokenEndpointResult {
  /** When the entry was stored (epoch ms, local clock of the writer). */
  uat: number
}

/**
 * Where the token client keeps tokens. Methods may be sync or async, so any key-value store fits
 * (memory, Web Storage, Redis, Workers KV). Keys are opaque SHA-256 digests built by
 * {@link tokenCacheKey}; they never contain a username.
 *
 * A failing cache never fails `getToken()`: the client reports the failure through its `error`
 * event and carries on with the token it holds.
 *
 * @example An async key-value adapter
 *
 * ```ts
 * import type { TokenCache, TokenCacheEntry } from 'gatepass/client'
 *
 * let kv!: { get(k: string): Promise<string | null>; put(k: string, v: string): Promise<void>; delete(k: string): Promise<void> }
 * const cache: TokenCache = {
 *   async get(key) {
 *     const raw = await kv.get(`gatepass:${key}`)
 *     return raw ? (JSON.parse(raw) as TokenCacheEntry) : undefined
 *   },
 *   set: (key, entry) => kv.put(`gatepass:${key}`, JSON.stringify(entry)),
 *   delete: (key) => kv.delete(`gatepass:${key}`),
 * }
 * ```
 *
 * @group Caches
 */
export interface TokenCache {
  /** The entry under `key`, or `undefined`. */
  get(key: string): TokenCacheEntry | undefined | Promise<TokenCacheEntry | undefined>
  /** Stores `entry` under `key`, replacing any earlier one. */
  set(key: string, entry: TokenCacheEntry): void | Promise<void>
  /** Removes the entry under `key`, if any. */
  delete(key: string): void | Promise<void>
}
