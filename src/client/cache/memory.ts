/**
 * The default in-memory token cache.
 *
 * @module
 */
import type { TokenCache, TokenCacheEntry } from './types.js'

/**
 * An in-memory token cache: the default of {@link createTokenClient}. Tokens live as long as the
 * page or process; nothing touches storage.
 *
 * Available from `'gatepass/client'`.
 *
 * @param seed Entries to start with (e.g. restored from your own storage), by cache key.
 * @returns A cache; pass it as `cache`, or share one between token clients.
 * @example Share one cache between two clients
 *
 * ```ts
 * import { createTokenClient, memoryCache } from 'gatepass/client'
 *
 * const cache = memoryCache()
 * const a = createTokenClient({ tokenEndpoint: 'https://id.example.com/auth/token', clientId: 'a', grant: 'client_credentials', cache })
 * const b = createTokenClient({ tokenEndpoint: 'https://id.example.com/auth/token', clientId: 'b', grant: 'client_credentials', cache })
 * ```
 *
 * @group Caches
 */
/* @__NO_SIDE_EFFECTS__ */
export function memoryCache(seed?: Iterable<readonly [string, TokenCacheEntry]>): TokenCache {
  const entries = new Map<string, TokenCacheEntry>(seed)
  return {
    get: (key) => entries.get(key),
    set: (key, entry) => {
      entries.set(key, entry)
    },
    delete: (key) => {
      entries.delete(key)
    },
  }
}
