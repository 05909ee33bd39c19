/**
 * The verified principal every validator (guard, remote verifiers) produces.
 *
 * @module
 */
import type { AccessTokenClaims } from '../shared/schemas.js'

/**
 * Who a verified access token speaks for, and what it may do.
 *
 * Principals are deeply frozen: the guard and the verifiers cache them and hand the same object
 * to every request with the same token, so nothing a handler does to one can reach another.
 * Copy it (`{ ...principal, scopes: [...principal.scopes] }`) to build a changed one.
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

/**
 * Freezes a principal deeply before it is cached and shared between callers, so no caller can
 * change what the next one gets (a handler adding a scope to its principal would otherwise grant
 * it to every later request with the same token).
 *
 * @internal
 */
export function freezePrincipal<P extends Principal<AccessTokenClaims>>(principal: P): P {
  deepFreeze(principal)
  return principal
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
}
