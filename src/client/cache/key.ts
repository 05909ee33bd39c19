/**
 * Cache keys for the token client.
 *
 * @module
 */

/**
 * What a cached token is bound to. Two token clients with equal parts share cached tokens.
 *
 * @group Caches
 */
export interface TokenCacheKeyParts {
  /** The token endpoint (or the issuer, when the endpoint is discovered). */
  endpoint: string
  /** The client id. */
  clientId: string
  /** The grant subject: the username of a password grant; `null` for client credentials. */
  subject: string | null
  /** Requested scope, space-delimited. */
  scope?: string | undefined
  /** Requested resource indicators. */
  resource?: readonly string[] | undefined
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * Builds the cache key of a token: the base64url SHA-256 digest of (endpoint, client id, grant
 * subject, scope, resource), so storage keys never reveal a username. Scope tokens are sorted, so
 * `"a b"` and `"b a"` share a key.
 *
 * Available from `'gatepass/client'`.
 *
 * @param parts What the token is bound to.
 * @returns A 43-character key; use it to seed or inspect a {@link TokenCache}.
 * @example Seed a cache with a token obtained elsewhere
 *
 * ```ts
 * import { memoryCache, tokenCacheKey } from 'gatepass/client'
 *
 * const key = await tokenCacheKey({ endpoint: 'https://id.example.com/auth/token', clientId: 'billing', subject: null })
 * const cache = memoryCache([[key, { access_token: 'abc', token_type: 'Bearer', expiresAt: null, uat: Date.now() }]])
 * ```
 *
 * @group Caches
 */
export async function tokenCacheKey(parts: TokenCacheKeyParts): Promise<string> {
  const scope = parts.scope ? parts.scope.split(' ').filter(Boolean).sort().join(' ') : null
  const resource = parts.resource && parts.resource.length > 0 ? [...parts.resource].sort() : null
  const material = JSON.stringify(['gatepass/token/v1', parts.endpoint, parts.clientId, parts.subject, scope, resource])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(material))
  return base64url(new Uint8Array(digest))
}
