/**
 * Errors thrown by the remote verifiers' `verify()`. Their `check()` turns them into RFC 6750
 * responses: the {@link InvalidTokenError} family → 401 `invalid_token`,
 * {@link InsufficientScopeError} → 403 `insufficient_scope`, {@link VerifierUnavailableError} → 503.
 *
 * @module
 */
import { GatepassError } from '../../shared/errors.js'

/**
 * The codes of the {@link InvalidTokenError} family.
 *
 * @group Errors
 */
export type InvalidTokenCode =
  | 'ERR_INVALID_TOKEN'
  | 'ERR_INVALID_TOKEN_HEADER'
  | 'ERR_INVALID_TOKEN_CLAIM'
  | 'ERR_ACCESS_TOKEN_EXPIRED'
  | 'ERR_ACCESS_TOKEN_NOT_YET_VALID'
  | 'ERR_JWKS_NO_MATCHING_KEY'
  | 'ERR_TOKEN_INACTIVE'

/**
 * Thrown when an access token is not acceptable (malformed, bad signature, or a more specific
 * subclass). `check()` answers it with 401 `error="invalid_token"` and the message as
 * `error_description`; messages never contain the token.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Branch on the stable code
 *
 * ```ts
 * import { InvalidTokenError } from 'gatepass/server'
 *
 * let err!: unknown
 * if (err instanceof InvalidTokenError && err.code === 'ERR_ACCESS_TOKEN_EXPIRED') console.warn(err.message)
 * ```
 *
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)
 * @group Errors
 */
export class InvalidTokenError extends GatepassError {
  static override code: InvalidTokenCode = 'ERR_INVALID_TOKEN'
  override code: InvalidTokenCode = 'ERR_INVALID_TOKEN'
}

/**
 * Thrown when a JWT's protected header is refused: `typ` is not `at+jwt`, `alg` is not allowed
 * (`none`, HMAC, or outside `algorithms`), a key is embedded or referenced (`jwk`, `jku`, `x5u`,
 * `x5c`), or `crit` is present.
 *
 * Available from `'gatepass/server'`.
 *
 * @see [RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)
 * @group Errors
 */
export class TokenHeaderError extends InvalidTokenError {
  static override code = 'ERR_INVALID_TOKEN_HEADER' as const
  override code = 'ERR_INVALID_TOKEN_HEADER' as const
}

/**
 * Thrown when a claim is wrong: `iss`, `aud`, `iat` in the future, or claims that do not match the
 * claims schema.
 *
 * Available from `'gatepass/server'`.
 *
 * @group Errors
 */
export class TokenClaimError extends InvalidTokenError {
  static override code = 'ERR_INVALID_TOKEN_CLAIM' as const
  override code = 'ERR_INVALID_TOKEN_CLAIM' as const
  /** The claim that failed (`iss`, `aud`, `iat`, …; `''` for a schema mismatch). */
  readonly claim: string

  /**
   * @param message Short lowercase description.
   * @param claim The claim that failed.
   * @param options `cause` is passed through.
   */
  constructor(message: string, claim: string, options?: { cause?: unknown }) {
    super(message, options)
    this.claim = claim
  }
}

/**
 * Thrown when the token's `exp` has passed (beyond the leeway).
 *
 * Available from `'gatepass/server'`.
 *
 * @group Errors
 */
export class ExpiredTokenError extends InvalidTokenError {
  static override code = 'ERR_ACCESS_TOKEN_EXPIRED' as const
  override code = 'ERR_ACCESS_TOKEN_EXPIRED' as const
}

/**
 * Thrown when the token's `nbf` is still in the future (beyond the leeway).
 *
 * Available from `'gatepass/server'`.
 *
 * @group Errors
 */
export class TokenNotYetValidError extends InvalidTokenError {
  static override code = 'ERR_ACCESS_TOKEN_NOT_YET_VALID' as const
  override code = 'ERR_ACCESS_TOKEN_NOT_YET_VALID' as const
}

/**
 * Thrown when no key of the issuer's JWKS matches the token's `kid` and `alg`, even after the
 * one refetch the cooldown allows.
 *
 * Available from `'gatepass/server'`.
 *
 * @group Errors
 */
export class NoMatchingKeyError extends InvalidTokenError {
  static override code = 'ERR_JWKS_NO_MATCHING_KEY' as const
  override code = 'ERR_JWKS_NO_MATCHING_KEY' as const
}

/**
 * Thrown when the introspection endpoint answers `"active": false` (revoked, expired, unknown), or
 * when an active answer's `exp` has passed by the local clock.
 *
 * Available from `'gatepass/server'`.
 *
 * @see [RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2)
 * @group Errors
 */
export class InactiveTokenError extends InvalidTokenError {
  static override code = 'ERR_TOKEN_INACTIVE' as const
  override code = 'ERR_TOKEN_INACTIVE' as const
}

/**
 * Thrown when a valid token lacks one of the required scopes. `check()` answers it with 403
 * `error="insufficient_scope"` and `scope="…"` listing the required scopes.
 *
 * Available from `'gatepass/server'`.
 *
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)
 * @group Errors
 */
export class InsufficientScopeError extends GatepassError {
  static override code = 'ERR_INSUFFICIENT_SCOPE' as const
  override code = 'ERR_INSUFFICIENT_SCOPE' as const
  /** Every scope the resource requires (wire spelling of the challenge's `scope`). */
  readonly scope: string[]

  /**
   * @param scope Every required scope.
   */
  constructor(scope: string[]) {
    super('the access token lacks a required scope')
    this.scope = scope
  }
}

/**
 * Thrown when the token cannot be checked right now: the JWKS, the metadata document or the
 * introspection endpoint failed (network error, timeout, non-200, unreadable body, metadata whose
 * `issuer` does not match). `check()` fails closed with 503 `temporarily_unavailable`.
 *
 * Available from `'gatepass/server'`.
 *
 * @group Errors
 */
export class VerifierUnavailableError extends GatepassError {
  static override code = 'ERR_VERIFIER_UNAVAILABLE' as const
  override code = 'ERR_VERIFIER_UNAVAILABLE' as const
  /** HTTP status of the failed response, when there was one. */
  readonly status: number | undefined

  /**
   * @param message Short lowercase description.
   * @param options `cause` is passed through; `status` of the failed response.
   */
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options)
    this.status = options?.status
  }
}
