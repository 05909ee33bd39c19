/**
 * Error classes of the client half. Each extends {@link GatepassError} with a stable `code`.
 *
 * @module
 */
import { GatepassError } from '../shared/errors.js'
import type { JWTDecodeError, ResponseBodyError, SchemaValidationError, WWWAuthenticateChallengeError } from '../shared/errors.js'

/**
 * Thrown when an HTTP response is neither a success nor an RFC 6749 §5.2 error body nor a
 * `WWW-Authenticate` challenge (an HTML error page from a proxy, a 2xx body that is not JSON, …).
 *
 * Available from `'gatepass/client'`.
 *
 * @example Log the status of an unexpected answer
 *
 * ```ts
 * import { UnexpectedResponseError } from 'gatepass/client'
 *
 * let err!: unknown
 * if (err instanceof UnexpectedResponseError) console.error(err.status)
 * ```
 *
 * @group Errors
 */
export class UnexpectedResponseError extends GatepassError {
  static override code = 'ERR_UNEXPECTED_RESPONSE' as const
  override code = 'ERR_UNEXPECTED_RESPONSE' as const
  /** HTTP status of the response. */
  readonly status: number
  /** The response (non-enumerable; its body may have been read). */
  declare readonly response: Response

  /**
   * @param message Short lowercase description.
   * @param response The response that was not understood.
   * @param options `cause` is passed through.
   */
  constructor(message: string, response: Response, options?: { cause?: unknown }) {
    super(message, options)
    this.status = response.status
    Object.defineProperty(this, 'response', { value: response, enumerable: false })
  }
}

/**
 * Thrown by the token client when a token request could not be completed for a reason other than
 * an answer from the server: the network failed (after the configured retries; the `fetch` error is
 * the `cause`).
 *
 * Available from `'gatepass/client'`.
 *
 * @group Errors
 */
export class TokenRequestError extends GatepassError {
  static override code = 'ERR_TOKEN_REQUEST_FAILED' as const
  override code = 'ERR_TOKEN_REQUEST_FAILED' as const
}

/**
 * Thrown when the caller's `AbortSignal` aborts a call (the signal's `reason` is the `cause`), or
 * when the token client's `clear()` discards the token request a call was waiting for.
 *
 * Aborting one caller never aborts a token request that other callers share.
 *
 * Available from `'gatepass/client'`.
 *
 * @group Errors
 */
export class AbortedError extends GatepassError {
  static override code = 'ERR_ABORTED' as const
  override code = 'ERR_ABORTED' as const
}

/**
 * Thrown when the authorization server issued a token that is already expired by the local clock
 * (usually a badly skewed clock on either side). The token client never hands out such a token.
 *
 * Available from `'gatepass/client'`.
 *
 * @group Errors
 */
export class TokenExpiredError extends GatepassError {
  static override code = 'ERR_TOKEN_EXPIRED' as const
  override code = 'ERR_TOKEN_EXPIRED' as const
}

/**
 * Thrown when authorization server metadata (RFC 8414) cannot be used: wrong `issuer`, no
 * `token_endpoint`, or an unreadable document.
 *
 * Available from `'gatepass/client'`.
 *
 * @see [RFC 8414 §3.3](https://www.rfc-editor.org/rfc/rfc8414#section-3.3)
 * @group Errors
 */
export class DiscoveryError extends GatepassError {
  static override code = 'ERR_DISCOVERY' as const
  override code = 'ERR_DISCOVERY' as const
}

/**
 * Every error class the client half throws (argument misuse aside, which throws `TypeError`), as a
 * union discriminated by `code`.
 *
 * @example Exhaustive handling
 *
 * ```ts
 * import type { AnyClientError } from 'gatepass/client'
 *
 * let err!: AnyClientError
 * switch (err.code) {
 *   case 'ERR_RESPONSE_BODY':
 *     console.error(err.error, err.status)
 *     break
 *   case 'ERR_ABORTED':
 *     break
 *   default:
 *     console.error(err.code, err.message)
 * }
 * ```
 *
 * @group Errors
 */
export type AnyClientError =
  | UnexpectedResponseError
  | TokenRequestError
  | AbortedError
  | TokenExpiredError
  | DiscoveryError
  | ResponseBodyError
  | WWWAuthenticateChallengeError
  | SchemaValidationError
  | JWTDecodeError
