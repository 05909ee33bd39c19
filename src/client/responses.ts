/**
 * Stateless response processors: each turns a `Response` into a typed result or a typed error.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { ResponseBodyError } from '../shared/errors.js'
import { introspectionResponseSchema, tokenResponseSchema } from '../shared/schemas.js'
import type { IntrospectionResponse } from '../shared/schemas.js'
import { invalidArgument } from '../shared/lib/args.js'
import { asErrorBody, assertResponse, errorFromResponse, parseOrThrow, readJSON } from './lib/http.js'
import { assertFunction, assertNonEmptyString, booleanOption, objectOption } from './lib/options.js'

/**
 * A processed token endpoint response: the RFC 6749 §5.1 members in wire spelling, any extra
 * members the server sent, and the computed `expiresAt`.
 *
 * @group Stateless
 */
export interface TokenEndpointResult {
  /** The access token. */
  access_token: string
  /** The token type, usually `Bearer`. */
  token_type: string
  /** Lifetime as the server sent it (unit per the `lenient.expiresInUnit` option). */
  expires_in?: number
  /** Refresh token, when the server issued one. */
  refresh_token?: string
  /** Granted scope, when the server sent it. */
  scope?: string
  /** When the access token expires (epoch ms, local clock), or `null` when it does not. */
  expiresAt: number | null
  /** Extra members of the response (e.g. `X-ApplicationName`). */
  [parameter: string]: unknown
}

/**
 * Knobs for legacy servers that bend RFC 6749 §5.1. Pass `true` for all defaults.
 *
 * @group Stateless
 */
export interface LenientOptions {
  /**
   * Unit of `expires_in`: `'seconds'` or `'milliseconds'` (anything else throws). Default
   * `'seconds'` (RFC 6749); legacy gateways use `'milliseconds'`.
   */
  expiresInUnit?: 'seconds' | 'milliseconds'
  /** Treat `expires_in: 0` as "never expires". Default `true`. */
  zeroExpiresInMeansNever?: boolean
  /**
   * Body member holding an absolute expiry time, honoured when present: an ISO-8601 date-time (UTC
   * when it has no offset) or an epoch number (seconds below `1e11`, milliseconds otherwise).
   * A non-empty string; default `'X-ExpiresAt'`; `false` ignores it.
   */
  expiresAtField?: string | false
  /**
   * Renamed members, wire name → the name the server uses (a non-empty string), e.g.
   * `{ access_token: 'accessToken', expires_in: 'expiresIn' }`. The member is moved: the result
   * holds it under the wire name only.
   */
  fieldNames?: Partial<Record<'access_token' | 'token_type' | 'expires_in' | 'refresh_token' | 'scope', string>>
  /** `token_type` to assume when the server omits it. Default `'Bearer'`. */
  defaultTokenType?: string
}

/**
 * Options of {@link processTokenResponse}.
 *
 * @group Stateless
 */
export interface ProcessTokenResponseOptions {
  /** Accept legacy deviations (see {@link LenientOptions}). Default: strict RFC 6749. */
  lenient?: boolean | LenientOptions
  /**
   * Read the JWT `exp` of the access token (decoded, not verified) when the response tells no
   * lifetime: no `expires_in` and, in lenient mode, no absolute expiry member. Default `true`.
   *
   * `exp` is a time on the server's clock, so it never overrides `expires_in` (relative, immune to
   * clock skew): a device clock that is off by more than the token's lifetime would otherwise make
   * every token look expired.
   */
  jwtExpFallback?: boolean
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number
}

type ResolvedLenient = Required<Omit<LenientOptions, 'fieldNames'>> & Pick<LenientOptions, 'fieldNames'>

/**
 * @internal Checks a `lenient` option (named `name` in errors) and fills in its defaults;
 * `undefined` for strict parsing. Shared with the token client.
 */
export function resolveLenient(lenient: unknown, name: string): ResolvedLenient | undefined {
  if (lenient === undefined || typeof lenient === 'boolean') return lenient ? resolveLenient({}, name) : undefined
  if (typeof lenient !== 'object' || lenient === null) throw invalidArgument(`"${name}" must be a boolean or an object`, 'ERR_INVALID_ARG_TYPE')
  const options = lenient as LenientOptions
  const unit = options.expiresInUnit ?? 'seconds'
  if (unit !== 'seconds' && unit !== 'milliseconds') {
    throw invalidArgument(`"${name}.expiresInUnit" must be "seconds" or "milliseconds"`, typeof unit === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE')
  }
  const expiresAtField = options.expiresAtField ?? 'X-ExpiresAt'
  if (expiresAtField !== false) assertNonEmptyString(expiresAtField, `${name}.expiresAtField`)
  for (const [wire, legacy] of Object.entries(objectOption(options.fieldNames, `${name}.fieldNames`))) {
    if (legacy !== undefined) assertNonEmptyString(legacy, `${name}.fieldNames.${wire}`)
  }
  return {
    expiresInUnit: unit,
    zeroExpiresInMeansNever: booleanOption(options.zeroExpiresInMeansNever, `${name}.zeroExpiresInMeansNever`, true),
    expiresAtField,
    fieldNames: options.fieldNames,
    defaultTokenType: options.defaultTokenType ?? 'Bearer',
  }
}

function normalizeLegacy(body: Record<string, unknown>, lenient: ResolvedLenient): Record<string, unknown> {
  const out = { ...body }
  // move, not copy: a legacy `refreshToken` left behind would reach the result, `token` events and storage
  for (const [wire, legacy] of Object.entries(lenient.fieldNames ?? {})) {
    if (!legacy || legacy === wire || !Object.hasOwn(out, legacy)) continue
    if (out[wire] === undefined) out[wire] = out[legacy]
    delete out[legacy]
  }
  if (typeof out.expires_in === 'string' && /^\d+(\.\d+)?$/.test(out.expires_in.trim())) out.expires_in = Number(out.expires_in)
  if (out.token_type === undefined || out.token_type === '') out.token_type = lenient.defaultTokenType
  return out
}

function jwtExp(token: string): number | undefined {
  if (token.split('.').length !== 3) return undefined
  try {
    const { exp } = decodeJwt(token)
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined
  } catch {
    return undefined
  }
}

/** An ISO-8601 date-time without a UTC offset (`T` or space separated), as legacy servers send it. */
const OFFSETLESS_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/

/**
 * Epoch numbers below this are seconds, others milliseconds: `1e11` s is the year 5138, `1e11` ms
 * is March 1973, so no expiry time of a token issued today is ambiguous.
 */
const EPOCH_SECONDS_BELOW = 1e11

function epochMs(value: number): number {
  return value < EPOCH_SECONDS_BELOW ? value * 1000 : value
}

/**
 * Reads an absolute expiry time: an ISO-8601 date-time (UTC when it has no offset, whatever the
 * local time zone), another `Date.parse` format, or an epoch number (or numeric string) in seconds
 * or milliseconds.
 */
function absoluteTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? epochMs(value) : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return epochMs(Number(text))
  const offsetless = OFFSETLESS_DATE_TIME.exec(text)
  const t = Date.parse(offsetless ? `${offsetless[1]}T${offsetless[2]}Z` : text)
  return Number.isNaN(t) ? undefined : t
}

/**
 * Computes `expiresAt`: from what the response declares, `expires_in` (in its unit) and, in lenient
 * mode, the absolute expiry member (the earlier of both when both are present); only when it
 * declares neither (lenient `expires_in: 0` declares nothing) from the JWT `exp`, which is on the
 * server's clock; otherwise `null`.
 */
function computeExpiresAt(
  data: { access_token: string; expires_in?: number | undefined },
  raw: Record<string, unknown>,
  lenient: ResolvedLenient | undefined,
  jwtExpFallback: boolean,
  now: number,
): number | null {
  const declared: number[] = []
  if (lenient?.expiresAtField) {
    const at = absoluteTime(raw[lenient.expiresAtField])
    if (at !== undefined) declared.push(at)
  }
  if (data.expires_in !== undefined && !(data.expires_in === 0 && lenient?.zeroExpiresInMeansNever)) {
    declared.push(now + data.expires_in * (lenient?.expiresInUnit === 'milliseconds' ? 1 : 1000))
  }
  if (declared.length > 0) return Math.min(...declared)
  return (jwtExpFallback ? jwtExp(data.access_token) : undefined) ?? null
}

/**
 * Processes a token endpoint response (any grant) into a typed result.
 *
 * Available from `'gatepass/client'`.
 *
 * @param response The response to a grant request built by this module.
 * @param options Lenient parsing for legacy servers, JWT `exp` fallback, clock.
 * @returns The token and its computed `expiresAt` (epoch ms or `null`). Cache it until shortly
 *   before `expiresAt`, or let {@link createTokenClient} do that.
 * @throws `ResponseBodyError` for an RFC 6749 §5.2 error (switch on `.error`, e.g. `invalid_grant`),
 *   `WWWAuthenticateChallengeError` for a bare challenge, `UnexpectedResponseError` for anything
 *   else that is not a success, `SchemaValidationError` for a malformed success body, `TypeError`
 *   (`ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`) for invalid arguments, checked before the
 *   body is read (e.g. `lenient.expiresInUnit` other than `'seconds'` or `'milliseconds'`).
 * @example Legacy gateway with expires_in in milliseconds
 *
 * ```ts
 * import { processTokenResponse } from 'gatepass/client'
 *
 * let response!: Response
 * const token = await processTokenResponse(response, { lenient: { expiresInUnit: 'milliseconds' } })
 * ```
 *
 * @see [RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1)
 * @group Stateless
 */
export async function processTokenResponse(
  response: Response,
  options?: ProcessTokenResponseOptions,
): Promise<TokenEndpointResult> {
  assertResponse(response)
  const opts = objectOption(options, 'options')
  const lenient = resolveLenient(opts.lenient, 'options.lenient')
  const jwtExpFallback = booleanOption(opts.jwtExpFallback, 'options.jwtExpFallback', true)
  if (opts.now !== undefined) assertFunction(opts.now, 'options.now')
  const now = (opts.now ?? Date.now)()
  if (!response.ok) throw await errorFromResponse(response)
  const json = await readJSON(response)
  let raw = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined
  if (raw && lenient) raw = normalizeLegacy(raw, lenient)
  if (raw && raw.access_token === undefined) {
    // some legacy servers answer errors with 200
    const errorBody = asErrorBody(raw)
    if (errorBody) throw new ResponseBodyError(errorBody, response)
  }
  const data = parseOrThrow(tokenResponseSchema, raw ?? json, 'invalid token response')
  const expiresAt = computeExpiresAt(data, raw ?? {}, lenient, jwtExpFallback, now)
  return { ...data, expiresAt }
}

/**
 * Processes a token introspection response (RFC 7662 §2.2).
 *
 * Available from `'gatepass/client'`.
 *
 * @param response The response to {@link introspectionRequest}.
 * @returns The introspection result; check `active` before reading anything else.
 * @throws `ResponseBodyError`, `WWWAuthenticateChallengeError`, `UnexpectedResponseError` or
 *   `SchemaValidationError`, as {@link processTokenResponse}.
 * @example
 *
 * ```ts
 * import { processIntrospectionResponse } from 'gatepass/client'
 *
 * let response!: Response
 * const result = await processIntrospectionResponse(response)
 * if (!result.active) console.log('token is not active')
 * ```
 *
 * @see [RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2)
 * @group Stateless
 */
export async function processIntrospectionResponse(response: Response): Promise<IntrospectionResponse> {
  assertResponse(response)
  if (!response.ok) throw await errorFromResponse(response)
  return parseOrThrow(introspectionResponseSchema, await readJSON(response), 'invalid introspection response')
}

/**
 * Processes a token revocation response (RFC 7009 §2.2). Any 2xx is success (the body is ignored);
 * servers answer 200 even for unknown tokens.
 *
 * Available from `'gatepass/client'`.
 *
 * @param response The response to {@link revocationRequest}.
 * @returns Nothing; the token is revoked. On `503` with `Retry-After`, retry later.
 * @throws `ResponseBodyError` (e.g. `unsupported_token_type`), `WWWAuthenticateChallengeError` or
 *   `UnexpectedResponseError`.
 * @example
 *
 * ```ts
 * import { processRevocationResponse } from 'gatepass/client'
 *
 * let response!: Response
 * await processRevocationResponse(response)
 * ```
 *
 * @see [RFC 7009 §2.2](https://www.rfc-editor.org/rfc/rfc7009#section-2.2)
 * @group Stateless
 */
export async function processRevocationResponse(response: Response): Promise<void> {
  assertResponse(response)
  if (!response.ok) throw await errorFromResponse(response)
  void response.body?.cancel().catch(() => undefined)
}
