/**
 * The default in-memory token cache.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import { isEntry } from './entry.js'
import type { TokenCache, TokenCacheEntry } from './types.js'

/**
 * An in-memory token cache: the default of {@link createTokenClient}. Tokens live as long as the
 * page or process; nothing touches storage.
 *
 * Available from `'gatepass/client'`.
 *
 * @param seed Entries to start with (e.g. restored from your own storage): an iterable (an array,
 *   a `Map`) of `[key, entry]` pairs, checked at once.
 * @returns A cache; pass it as `cache`, or share one between token clients.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE`) when `seed` is not an iterable of pairs of a string
 *   and a {@link TokenCacheEntry}.
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
  const entries = new Map<string, TokenCacheEntry>()
  const invalid = () => invalidArgument('"seed" must be an iterable of [key, entry] pairs', 'ERR_INVALID_ARG_TYPE')
  if (seed !== undefined && (typeof seed !== 'object' || seed === null || !(Symbol.iterator in seed))) throw invalid()
  for (const pair of (seed ?? []) as Iterable<unknown>) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !isEntry(pair[1])) throw invalid()
    entries.set(pair[0], pair[1])
  }
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
