/**
 * The shape check of a token cache entry. Internal: not exported from the package entry.
 *
 * @module
 */
import type { TokenCacheEntry } from './types.js'

/** Whether `value` has the members of a `TokenCacheEntry` the token client relies on. */
export function isEntry(value: unknown): value is TokenCacheEntry {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.access_token === 'string' &&
    typeof v.token_type === 'string' &&
    typeof v.uat === 'number' &&
    (v.expiresAt === null || typeof v.expiresAt === 'number')
  )
}
