/**
 * The verified principal every validator (guard, remote verifiers) produces.
 *
 * @module
 */
import type { AccessTokenClaims } from '../shared/schemas.js'

/**
 * Who a verified access token speaks for, and what it may do.
 *
 * @typeParam C Claims type (JWTs), typed through `defineClaims()`.
 * @group Validation
 */
export interface Principal<C extends AccessTokenClaims = AccessTokenClaims> {
  /** `sub`: the username (password grant) or the client id. */
  subject: string
  /** The client the token was issued to. */
  clientId: string
  /** Granted scopes. */
  scopes: string[]
  /** Audiences the token is valid for. */
  audience: string[]
  /** Which kind of token it was. */
  kind: 'jwt' | 'opaque'
  /** Expiry, epoch ms; `null` for never-expiring tokens. */
  expiresAt: number | null
  /** Username for password-grant tokens when known. */
  username: string | null
  /** The JWT claims parsed with the schema (JWTs, or introspection responses mapped to claims); `null` for opaque tokens validated locally. */
  claims: C | null
}

/**
 * Outcome of checking a request: a principal, or the RFC 6750 error response to send.
 *
 * @group Validation
 */
export type GuardResult<C extends AccessTokenClaims = AccessTokenClaims> =
  | { ok: true; principal: Principal<C> }
  | { ok: false; response: Response }
