/**
 * Error classes shared by both halves of gatepass. Every error carries a stable `code`.
 *
 * @module
 */

/**
 * Stable codes of the errors gatepass throws.
 *
 * @group Errors
 */
export type GatepassErrorCode =
  | 'ERR_GATEPASS'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_SCHEMA_VALIDATION'
  | 'ERR_RESPONSE_BODY'
  | 'ERR_WWW_AUTHENTICATE_CHALLENGE'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_CACHE_UNAVAILABLE'
  | 'ERR_JWT_DECODE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_REQUEST_FAILED'
  | 'ERR_ABORTED'
  | 'ERR_UNEXPECTED_RESPONSE'
  | 'ERR_DISCOVERY'
  | 'ERR_INVALID_TOKEN'
  | 'ERR_INVALID_TOKEN_HEADER'
  | 'ERR_INVALID_TOKEN_CLAIM'
  | 'ERR_ACCESS_TOKEN_EXPIRED'
  | 'ERR_ACCESS_TOKEN_NOT_YET_VALID'
  | 'ERR_JWKS_NO_MATCHING_KEY'
  | 'ERR_TOKEN_INACTIVE'
  | 'ERR_INSUFFICIENT_SCOPE'
  | 'ERR_VERIFIER_UNAVAILABLE'

const BRAND = Symbol.for('gatepass.error')

/**
 * Base class of every error gatepass throws (argument misuse aside, which throws `TypeError`).
 *
 * Available from `'gatepass/shared'` (also re-exported by `'gatepass/server'` and `'gatepass/client'`).
 *
 * @example Branch on the stable code
 *
 * ```ts
 * import { isGatepassError } from 'gatepass/shared'
 *
 * let err!: unknown
 * if (isGatepassError(err) && err.code === 'ERR_INVALID_CONFIG') console.error(err.message)
 * ```
 *
 * @group Errors
 */
export class GatepassError extends Error {
  /** The stable error code. */
  static code: GatepassErrorCode = 'ERR_GATEPASS'
  /** The stable error code; switch on it rather than on `message`. */
  code: GatepassErrorCode = 'ERR_GATEPASS'
  /** @internal */
  readonly [BRAND] = true

  /**
   * @param message Short lowercase description; never contains secrets or tokens.
   * @param options `cause` is passed through.
   */
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = this.constructor.name
    ;(Error as { captureStackTrace?: (target: object, ctor: unknown) => void }).captureStackTrace?.(this, this.constructor)
  }
}

/**
 * One invalid field of a configuration object, by path.
 *
 * @group Errors
 */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `proxies.0.audience`. */
  path: string
  /** What is wrong with it. */
  message: string
}

/**
 * Thrown when a configuration object is invalid. `issues` lists every bad field by path.
 *
 * @example Print every bad field
 *
 * ```ts
 * import { ConfigError } from 'gatepass/shared'
 *
 * let err!: unknown
 * if (err instanceof ConfigError) for (const issue of err.issues) console.error(issue.path, issue.message)
 * ```
 *
 * @group Errors
 */
export class ConfigError extends GatepassError {
  static override code = 'ERR_INVALID_CONFIG' as const
  override code = 'ERR_INVALID_CONFIG' as const
  /** Every invalid field. */
  readonly issues: ConfigIssue[]

  /**
   * @param issues Every invalid field, by path.
   * @param what What was being validated (`config`, `options`).
   */
  constructor(issues: ConfigIssue[], what = 'config') {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`)
    this.issues = issues
  }
}

/**
 * Thrown when a value (a server response, a token's claims) does not match its schema.
 *
 * @group Errors
 */
export class SchemaValidationError extends GatepassError {
  static override code = 'ERR_SCHEMA_VALIDATION' as const
  override code = 'ERR_SCHEMA_VALIDATION' as const
  /** Every mismatch, by path. */
  readonly issues: ConfigIssue[]

  /**
   * @param message What was being validated.
   * @param issues Every mismatch, by path.
   * @param options `cause` is passed through.
   */
  constructor(message: string, issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(message, options)
    this.issues = issues
  }
}

/**
 * Thrown when an authorization server answers with an RFC 6749 §5.2 error body.
 *
 * @example Handle an invalid_client answer
 *
 * ```ts
 * import { ResponseBodyError } from 'gatepass/shared'
 *
 * let err!: unknown
 * if (err instanceof ResponseBodyError && err.error === 'invalid_client') console.error(err.status)
 * ```
 *
 * @group Errors
 */
export class ResponseBodyError extends GatepassError {
  static override code = 'ERR_RESPONSE_BODY' as const
  override code = 'ERR_RESPONSE_BODY' as const
  /** The RFC 6749 `error` code, wire spelling. */
  readonly error: string
  /** The server's `error_description`, when sent. */
  readonly error_description: string | undefined
  /** HTTP status of the response. */
  readonly status: number
  /** The response (non-enumerable, its body already read). */
  declare readonly response: Response

  /**
   * @param body The parsed error body.
   * @param response The response it came from.
   */
  constructor(body: { error: string; error_description?: string | undefined }, response: Response) {
    super(body.error_description ? `${body.error}: ${body.error_description}` : body.error, { cause: body })
    this.error = body.error
    this.error_description = body.error_description
    this.status = response.status
    Object.defineProperty(this, 'response', { value: response, enumerable: false })
  }
}

/**
 * Thrown when a resource server answers with a `WWW-Authenticate` challenge (RFC 6750 §3).
 *
 * @group Errors
 */
export class WWWAuthenticateChallengeError extends GatepassError {
  static override code = 'ERR_WWW_AUTHENTICATE_CHALLENGE' as const
  override code = 'ERR_WWW_AUTHENTICATE_CHALLENGE' as const
  /** HTTP status of the response. */
  readonly status: number
  /** The `error` parameter of the challenge, when present. */
  readonly error: string | undefined
  /** The challenge's parameters (lowercase names). */
  readonly parameters: Record<string, string>

  /**
   * @param status HTTP status.
   * @param parameters Parsed challenge parameters.
   */
  constructor(status: number, parameters: Record<string, string>) {
    super(parameters.error ? `bearer challenge: ${parameters.error}` : 'bearer challenge')
    this.status = status
    this.error = parameters.error
    this.parameters = parameters
  }
}

/**
 * Thrown (or turned into a 503) when the token store cannot be reached.
 *
 * @group Errors
 */
export class StoreUnavailableError extends GatepassError {
  static override code = 'ERR_STORE_UNAVAILABLE' as const
  override code = 'ERR_STORE_UNAVAILABLE' as const
}

/**
 * Thrown by `decodeClaims()` when a value is not a decodable JWT.
 *
 * @group Errors
 */
export class JWTDecodeError extends GatepassError {
  static override code = 'ERR_JWT_DECODE' as const
  override code = 'ERR_JWT_DECODE' as const
}

/**
 * Cross-realm check for gatepass errors (works with duplicate installs and iframes).
 *
 * @param value Anything caught.
 * @returns `true` when `value` is a {@link GatepassError}.
 * @example
 *
 * ```ts
 * import { isGatepassError } from 'gatepass/shared'
 *
 * try {
 *   // …
 * } catch (err) {
 *   if (isGatepassError(err)) console.error(err.code)
 * }
 * ```
 *
 * @group Errors
 */
export function isGatepassError(value: unknown): value is GatepassError {
  return value instanceof GatepassError || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true)
}
