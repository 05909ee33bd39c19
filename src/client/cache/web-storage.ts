/**
 * `sessionStorage` / `localStorage` token cache.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import { assertString, booleanOption, hasMethods, objectOption } from '../lib/options.js'
import { isEntry } from './entry.js'
import type { TokenCache, TokenCacheEntry } from './types.js'

/**
 * Options of {@link webStorageCache}.
 *
 * @group Caches
 */
export interface WebStorageCacheOptions {
  /** Prefix of the storage keys. Default `'gatepass:'`. */
  prefix?: string
  /**
   * Keep refresh tokens out of storage (they stay in memory for this page only). After a reload
   * the client then obtains a new grant instead of refreshing. A page's refresh token is used only
   * with the access token it came with: once another tab has stored a newer one (with
   * `localStorage`), this page obtains a new grant rather than present a refresh token the other
   * tab may have spent. Default `false`.
   */
  omitRefreshToken?: boolean
}

/**
 * A token cache in a Web Storage area (`sessionStorage` or `localStorage`), so tokens survive a
 * reload (`sessionStorage`: per tab; `localStorage`: shared by every tab of the origin). Opt-in;
 * the default cache is in memory.
 *
 * Entries are JSON under `prefix` + an opaque SHA-256 key; a client secret or a password is never
 * written. Unreadable entries are removed and treated as missing.
 *
 * Available from `'gatepass/client'`.
 *
 * > [!WARNING]
 * > Anything in Web Storage can be read by any script running on the origin: one XSS flaw leaks
 * > every stored access token (and refresh token, unless `omitRefreshToken` is set). Prefer the
 * > memory cache with the cross-tab coordination of {@link createTokenClient} when you can.
 *
 * @param storage `sessionStorage`, `localStorage` or any object with `getItem`, `setItem` and
 *   `removeItem` (checked at once).
 * @param options Key prefix and refresh-token handling.
 * @returns A cache to pass as `cache`.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE`) when `storage` lacks one of those methods or an
 *   option has the wrong type (`omitRefreshToken` must be a boolean).
 * @example Survive reloads within one tab
 *
 * ```ts
 * import { createTokenClient, none, webStorageCache } from 'gatepass/client'
 *
 * let username!: string
 * let password!: string
 * const tokens = createTokenClient({
 *   tokenEndpoint: 'https://id.example.com/auth/token',
 *   clientId: 'web',
 *   clientAuth: none(),
 *   grant: { type: 'password', username, password },
 *   cache: webStorageCache(sessionStorage, { omitRefreshToken: true }),
 * })
 * ```
 *
 * @group Caches
 */
/* @__NO_SIDE_EFFECTS__ */
export function webStorageCache(storage: Storage, options?: WebStorageCacheOptions): TokenCache {
  if (!hasMethods(storage, 'getItem', 'setItem', 'removeItem')) {
    throw invalidArgument('"storage" must implement getItem, setItem and removeItem', 'ERR_INVALID_ARG_TYPE')
  }
  const opts = objectOption(options, 'options')
  const prefix = opts.prefix ?? 'gatepass:'
  assertString(prefix, 'options.prefix')
  const omitRefreshToken = booleanOption(opts.omitRefreshToken, 'options.omitRefreshToken', false)
  // refresh tokens kept out of storage, per key, for this page only
  /** This page's refresh tokens, each with the `uat` of the entry it came with. */
  const refreshTokens = new Map<string, { token: string; uat: number }>()

  return {
    get(key) {
      const raw = storage.getItem(prefix + key)
      if (raw === null) return undefined
      let value: unknown
      try {
        value = JSON.parse(raw)
      } catch {
        value = undefined
      }
      if (!isEntry(value)) {
        storage.removeItem(prefix + key)
        return undefined
      }
      if (omitRefreshToken) {
        // only with the access token it was issued with: another tab may have refreshed since,
        // spending it (rotation), and presenting a spent refresh token looks like token theft
        const refresh = refreshTokens.get(key)
        if (refresh !== undefined && refresh.uat === value.uat) return { ...value, refresh_token: refresh.token }
      }
      return value
    },
    set(key, entry) {
      let stored: TokenCacheEntry = entry
      if (omitRefreshToken) {
        const { refresh_token, ...rest } = entry
        if (refresh_token !== undefined) refreshTokens.set(key, { token: refresh_token, uat: entry.uat })
        else refreshTokens.delete(key)
        stored = rest as TokenCacheEntry
      }
      storage.setItem(prefix + key, JSON.stringify(stored))
    },
    delete(key) {
      refreshTokens.delete(key)
      storage.removeItem(prefix + key)
    },
  }
}
