/**
 * Cache keys for the token client.
 *
 * @module
 */
import { assertObject, assertString } from '../lib/options.js'
import { resourceList, scopeString } from '../requests.js'

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
  /** Requested scope, space-delimited scope tokens (as the `scope` option of the token client). */
  scope?: string | undefined
  /** Requested resource indicators (absolute URLs without a fragment). */
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
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`) when a part is invalid
 *   (the promise rejects).
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
  assertObject(parts, 'parts')
  assertString(parts.endpoint, 'parts.endpoint')
  assertString(parts.clientId, 'parts.clientId')
  if (parts.subject != null) assertString(parts.subject, 'parts.subject')
  const scope = scopeString(parts.scope, 'parts.scope')?.split(' ').sort().join(' ') ?? null
  const resource = resourceList(parts.resource, 'parts.resource').sort()
  const material = JSON.stringify(['gatepass/token/v1', parts.endpoint, parts.clientId, parts.subject, scope, resource.length > 0 ? resource : null])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(material))
  return base64url(new Uint8Array(digest))
}
