/**
 * Internal helpers shared by the remote verifiers: option checks, Bearer extraction, the mapping
 * of errors to RFC 6750 responses, principal building. Not exported from `'gatepass/server'`.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import type { AccessTokenClaims, ClaimsSchema } from '../../shared/schemas.js'
import { bearerChallenge } from '../lib/bearer-challenge.js'
import { json } from '../lib/responses.js'
import type { GuardResult, Principal } from '../principal.js'
export { freezePrincipal } from '../principal.js'
import { InsufficientScopeError, InvalidTokenError, VerifierUnavailableError } from './errors.js'

/**
 * A Fetch implementation the verifiers call instead of the global `fetch` (for tests, proxies or
 * instrumentation).
 *
 * Available from `'gatepass/server'`.
 *
 * @group Validation
 */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * One request a verifier made to the authorization server, for metrics and logs: what it
 * fetched, how it ended and how long it took. Holds no token and no credential.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Count JWKS fetches and their failures
 *
 * ```ts
 * import { createJWTVerifier, type VerifierFetchEvent } from 'gatepass/server'
 *
 * const counts = { ok: 0, failed: 0 }
 * const onFetch = (event: VerifierFetchEvent) => void (event.status === 200 ? counts.ok++ : counts.failed++)
 * export const verifier = createJWTVerifier({ issuer: 'https://id.example.com', jwksUri: 'https://id.example.com/jwks', audience: 'orders', onFetch })
 * ```
 *
 * @group Validation
 */
export interface VerifierFetchEvent {
  /** What was fetched: the key set, the RFC 8414 metadata, or an RFC 7662 introspection. */
  kind: 'jwks' | 'metadata' | 'introspection'
  /** The URL requested. */
  url: string
  /** The HTTP status, when a response arrived. */
  status?: number
  /** Why no response arrived (a network error, a timeout). */
  error?: unknown
  /** From the request to its response headers (or its failure), ms. */
  durationMs: number
}

/**
 * `fetchImpl` (or the global `fetch`, looked up at call time) reporting each request to
 * `onFetch`; `fetchImpl` itself when there is no `onFetch`. A listener that throws is ignored: it
 * must not fail a verification.
 */
export function observedFetch(fetchImpl: FetchLike | undefined, kind: VerifierFetchEvent['kind'], onFetch: ((event: VerifierFetchEvent) => void) | undefined): FetchLike | undefined {
  if (onFetch === undefined) return fetchImpl
  const report = (event: VerifierFetchEvent) => {
    try {
      onFetch(event)
    } catch {
      // an observer's bug is not the issuer's outage
    }
  }
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const started = performance.now()
    try {
      const response = await (fetchImpl ?? fetch)(input, init)
      report({ kind, url, status: response.status, durationMs: performance.now() - started })
      return response
    } catch (error) {
      report({ kind, url, error, durationMs: performance.now() - started })
      throw error
    }
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgument(`"${name}" must be a non-empty string`, 'ERR_INVALID_ARG_TYPE')
  if (value.length === 0) throw invalidArgument(`"${name}" must be a non-empty string`)
  return value
}

export function httpURL(value: unknown, name: string): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) throw invalidArgument(`"${name}" must be a URL string or a URL`, 'ERR_INVALID_ARG_TYPE')
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw invalidArgument(`"${name}" must be an absolute http(s) URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidArgument(`"${name}" must be an absolute http(s) URL`)
  return url
}

export function stringList(value: unknown, name: string, options: { allowEmpty: boolean; noSpaces?: boolean }): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list)) throw invalidArgument(`"${name}" must be a string or an array of strings`, 'ERR_INVALID_ARG_TYPE')
  if (!options.allowEmpty && list.length === 0) throw invalidArgument(`"${name}" must not be empty`)
  for (const item of list) {
    if (typeof item !== 'string' || item.length === 0) throw invalidArgument(`"${name}" must contain non-empty strings only`)
    if (options.noSpaces && /\s/.test(item)) throw invalidArgument(`"${name}" entries must not contain spaces`)
  }
  return [...(list as string[])]
}

/** The longest delay `setTimeout`/`setInterval` honour (a longer one fires after 1 ms), and `AbortSignal.timeout()` with them. */
export const MAX_TIMER_DELAY = 2_147_483_647

/** The largest cache entry count a factory accepts. */
export const MAX_CACHE_ENTRIES = 10_000_000

/**
 * A number option from `min` (default 0) to `max`, `fallback` when undefined; `integer` refuses
 * fractions, `allowInfinity` accepts `Infinity` beyond `max`. The message names the range (and
 * `unit`).
 */
export function duration(value: unknown, name: string, fallback: number, options: { max: number; min?: number; integer?: boolean; allowInfinity?: boolean; unit?: string }): number {
  if (value === undefined) return fallback
  const min = options.min ?? 0
  const range = `${options.integer ? 'an integer' : 'a number'} from ${min.toLocaleString('en-US')} to ${options.max.toLocaleString('en-US')}${options.unit ? ` (${options.unit})` : ''}${options.allowInfinity ? ', or Infinity' : ''}`
  if (typeof value !== 'number') throw invalidArgument(`"${name}" must be ${range}`, 'ERR_INVALID_ARG_TYPE')
  const ok = (value >= min && value <= options.max && (!options.integer || Number.isInteger(value))) || (options.allowInfinity === true && value === Infinity)
  if (!ok) throw invalidArgument(`"${name}" must be ${range}`)
  return value
}

/**
 * Checks that `value` is an object with the given methods (a driver's pool, a database handle,
 * an `AbortSignal`): a wrong object fails here, naming the option, instead of deep inside with
 * `x.y is not a function`.
 */
export function objectWithMethods<T>(value: unknown, name: string, what: string, methods: readonly string[]): T {
  if (typeof value !== 'object' || value === null) throw invalidArgument(`"${name}" must be ${what}`, 'ERR_INVALID_ARG_TYPE')
  for (const method of methods) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') throw invalidArgument(`"${name}" must be ${what} (its "${method}" is not a function)`, 'ERR_INVALID_ARG_TYPE')
  }
  return value as T
}

/** `options` of a factory whose options are optional: `undefined` gives `{}`; anything but an object throws. */
export function optionsObject<T extends object>(value: T | undefined, name = 'options'): T {
  if (value === undefined) return {} as T
  if (!isObject(value)) throw invalidArgument(`"${name}" must be an object`, 'ERR_INVALID_ARG_TYPE')
  return value as T
}

export function optionalFunction<F>(value: unknown, name: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw invalidArgument(`"${name}" must be a function`, 'ERR_INVALID_ARG_TYPE')
  return value as F
}

export function claimsSchemaOption<C extends AccessTokenClaims>(value: unknown, fallback: ClaimsSchema): ClaimsSchema<C> {
  if (value === undefined) return fallback as ClaimsSchema<C>
  if (!isObject(value) || !('_zod' in value)) throw invalidArgument('"claims" must be a zod schema', 'ERR_INVALID_ARG_TYPE')
  return value as unknown as ClaimsSchema<C>
}

/**
 * Whether a promise started for one request may be awaited by another. Not on Cloudflare Workers
 * or Vercel Edge, where I/O belongs to the request that started it (jose's remote JWKS makes the
 * same exception).
 */
export function canShareInFlight(): boolean {
  const g = globalThis as { WebSocketPair?: unknown; EdgeRuntime?: unknown; navigator?: { userAgent?: string } }
  return g.WebSocketPair === undefined && g.navigator?.userAgent !== 'Cloudflare-Workers' && g.EdgeRuntime !== 'vercel'
}

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The Bearer token of `Authorization` (RFC 6750 §2.1): the token, `null` when the request carries
 * no Bearer credentials, or `false` when the header is malformed.
 */
export function bearerToken(request: Request): string | null | false {
  const header = request.headers.get('authorization')
  if (header === null) return null
  const match = /^bearer(?: +(.*))?$/i.exec(header.trim())
  if (!match) return null
  const token = match[1]
  if (token === undefined || !B64TOKEN.test(token)) return false
  return token
}

/** Scopes of a space-delimited `scope` claim. */
export function parseScope(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter((s) => s.length > 0) : []
}

/** `aud` as an array. */
export function audienceList(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud]
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string')
  return []
}

/** Throws {@link InsufficientScopeError} unless every required scope was granted. */
export function requireScopes<C extends AccessTokenClaims>(principal: Principal<C>, required: string[]): Principal<C> {
  for (const scope of required) if (!principal.scopes.includes(scope)) throw new InsufficientScopeError(required)
  return principal
}

/** The `check()` outcome for an error thrown by `verify()`; unknown errors are rethrown. */
export function failure(err: unknown, realm: string): { ok: false; response: Response } {
  if (err instanceof InsufficientScopeError) {
    return { ok: false, response: bearerChallenge({ realm, error: 'insufficient_scope', description: err.message, scope: err.scope }) }
  }
  if (err instanceof InvalidTokenError) return { ok: false, response: bearerChallenge({ realm, error: 'invalid_token', description: err.message }) }
  if (err instanceof VerifierUnavailableError) {
    return { ok: false, response: json({ error: 'temporarily_unavailable', error_description: err.message }, 503) }
  }
  throw err
}

/** The whole `check()`: extract the token, verify it, map failures. */
export async function checkRequest<C extends AccessTokenClaims>(
  request: Request,
  realm: string,
  verify: (token: string) => Promise<Principal<C>>,
): Promise<GuardResult<C>> {
  if (!isObject(request) || !isObject(request.headers) || typeof request.headers.get !== 'function') throw invalidArgument('"request" must be a Request', 'ERR_INVALID_ARG_TYPE')
  const token = bearerToken(request)
  if (token === null) return { ok: false, response: bearerChallenge({ realm }) }
  if (token === false) return { ok: false, response: bearerChallenge({ realm, error: 'invalid_request', description: 'the Authorization header is malformed' }) }
  try {
    return { ok: true, principal: await verify(token) }
  } catch (err) {
    return failure(err, realm)
  }
}
