/**
 * `createIntrospectionVerifier()`: RFC 7662 token introspection for resource servers that run
 * apart from the issuer, with a bounded cache that never outlives a token's `exp`.
 *
 * @module
 */
import { decodeProtectedHeader } from 'jose'
import * as z from 'zod/mini'
import { invalidArgument } from '../../shared/lib/args.js'
import { accessTokenClaimsSchema, introspectionResponseSchema } from '../../shared/schemas.js'
import type { AccessTokenClaims, ClaimsSchema, IntrospectionResponse } from '../../shared/schemas.js'
import { LRU } from '../lib/lru.js'
import { MAX_OPAQUE_CACHE_AGE } from '../validation/options.js'
import type { GuardResult, Principal } from '../principal.js'
import {
  audienceList,
  canShareInFlight,
  checkRequest,
  claimsSchemaOption,
  duration,
  freezePrincipal,
  httpURL,
  isObject,
  MAX_CACHE_ENTRIES,
  MAX_TIMER_DELAY,
  nonEmptyString,
  optionalFunction,
  parseScope,
  requireScopes,
  stringList,
} from './common.js'
import { observedFetch, type FetchLike, type VerifierFetchEvent } from './common.js'
import { digestKey } from './digest.js'
import { InactiveTokenError, TokenClaimError, VerifierUnavailableError } from './errors.js'

/** How long an `"active": false` answer is cached, at most (ms). */
const INACTIVE_CACHE_MAX_AGE = 5_000

/**
 * Options of {@link createIntrospectionVerifier}.
 *
 * @typeParam C Claims type, typed through `defineClaims()`.
 * @group Validation
 */
export interface IntrospectionVerifierOptions<C extends AccessTokenClaims = AccessTokenClaims> {
  /** The RFC 7662 introspection endpoint, e.g. `https://as.example/auth/introspect`. */
  endpoint: string | URL
  /** This resource server's client id at the authorization server (HTTP Basic). */
  clientId: string
  /** Its client secret (HTTP Basic). */
  clientSecret: string
  /** When set, the response's `aud` must contain at least one of these. Default: not checked. */
  audience?: string | string[]
  /** Scopes every token must carry; a token missing one gets 403 `insufficient_scope`. Default: none. */
  requiredScopes?: string[]
  /** Schema the response is parsed with to fill `principal.claims` (`null` when it does not parse). Default: `accessTokenClaimsSchema`. */
  claims?: ClaimsSchema<C>
  /**
   * How long an active answer is cached, in ms, from 0 to 3,600,000 (an hour, as the token
   * service's `opaqueCacheMaxAge`: a revocation must not go unseen longer); never past the token's
   * `exp`. `"active": false` is cached for at most 5 s. `0` disables the cache. Default: `30_000`.
   */
  cacheMaxAge?: number
  /** Maximum cache entries (LRU), an integer from 0 to 10,000,000 (`0` disables the cache). Default: `10_000`. */
  cacheMaxEntries?: number
  /** Timeout of each introspection request, in ms: an integer from 1 to 2,147,483,647 (`setTimeout`'s limit). Default: `5_000`. */
  timeoutDuration?: number
  /** Fetch implementation. Default: the global `fetch`. */
  fetch?: FetchLike
  /** Told of every introspection request (status, failure, duration), for metrics. Default: none. */
  onFetch?: (event: VerifierFetchEvent) => void
  /** `realm` of the `WWW-Authenticate` challenges. Default: the first audience, else `'api'`. */
  realm?: string
}

/**
 * A verifier made by {@link createIntrospectionVerifier}.
 *
 * @typeParam C Claims type.
 * @group Validation
 */
export interface IntrospectionVerifier<C extends AccessTokenClaims = AccessTokenClaims> {
  /**
   * Verifies an access token (opaque or JWT) with the introspection endpoint.
   *
   * @param token The access token, without the `Bearer ` prefix.
   * @returns The principal; throws an `InvalidTokenError` (401), an `InsufficientScopeError` (403) or a `VerifierUnavailableError` (503).
   */
  verify(token: string): Promise<Principal<C>>
  /**
   * Checks the `Authorization: Bearer` token of a request.
   *
   * @param request The incoming request.
   * @returns `{ ok: true, principal }`, or `{ ok: false, response }` with the RFC 6750 (or 503) response to send as is.
   */
  check(request: Request): Promise<GuardResult<C>>
}

type Introspected<C extends AccessTokenClaims> = { active: false } | { active: true; principal: Principal<C> }

/**
 * Creates a verifier that asks the authorization server about each token (RFC 7662), for
 * resource servers that accept opaque tokens or want revocation to take effect at once.
 *
 * Available from `'gatepass/server'`.
 *
 * Each request is a `POST` with HTTP Basic client authentication (id and secret
 * form-urlencoded first, RFC 6749 §2.3.1) and the body `token=…&token_type_hint=access_token`.
 * Answers are cached by the token's SHA-256 digest (LRU, `cacheMaxEntries`): active ones for
 * `cacheMaxAge` but never past the token's `exp`, inactive ones for at most 5 s. Concurrent
 * verifications of one token share one request. Then `audience` and `requiredScopes` are checked.
 * An active answer whose `token_type` names a refresh token counts as inactive. The principal is
 * deeply frozen (it is shared between callers).
 *
 * > [!WARNING]
 * > Fails closed: when the endpoint errs (network, timeout, non-200, unreadable body), `verify()`
 * > throws a `VerifierUnavailableError` and `check()` answers 503 `temporarily_unavailable`.
 * > A cached active answer is used for up to `cacheMaxAge`, so a revocation can take that long to
 * > be seen.
 *
 * @param options Endpoint and client credentials; see {@link IntrospectionVerifierOptions}.
 * @returns An {@link IntrospectionVerifier}: call `check(request)` in a handler, or `verify(token)` directly.
 * @example Protect a Fetch handler
 *
 * ```ts
 * import { createIntrospectionVerifier } from 'gatepass/server'
 *
 * let clientSecret!: string
 * const verifier = createIntrospectionVerifier({
 *   endpoint: 'https://as.example/auth/introspect',
 *   clientId: 'orders-api',
 *   clientSecret,
 *   audience: 'orders-api',
 * })
 *
 * export async function orders(request: Request): Promise<Response> {
 *   const result = await verifier.check(request)
 *   if (!result.ok) return result.response // 401, 403, or 503 when the endpoint is down
 *   return Response.json({ client: result.principal.clientId, kind: result.principal.kind })
 * }
 * ```
 *
 * @see [RFC 7662 §2](https://www.rfc-editor.org/rfc/rfc7662#section-2)
 * @group Validation
 */
export function createIntrospectionVerifier<C extends AccessTokenClaims = AccessTokenClaims>(options: IntrospectionVerifierOptions<C>): IntrospectionVerifier<C> {
  if (!isObject(options)) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  const endpoint = httpURL(options.endpoint, 'endpoint')
  const clientId = nonEmptyString(options.clientId, 'clientId')
  const clientSecret = nonEmptyString(options.clientSecret, 'clientSecret')
  const audience = options.audience === undefined ? null : stringList(options.audience, 'audience', { allowEmpty: false })
  const requiredScopes = options.requiredScopes === undefined ? [] : stringList(options.requiredScopes, 'requiredScopes', { allowEmpty: true, noSpaces: true })
  const claimsSchema = claimsSchemaOption<C>(options.claims, accessTokenClaimsSchema)
  const cacheMaxAge = duration(options.cacheMaxAge, 'cacheMaxAge', 30_000, { max: MAX_OPAQUE_CACHE_AGE, unit: 'ms' })
  const cacheMaxEntries = duration(options.cacheMaxEntries, 'cacheMaxEntries', 10_000, { max: MAX_CACHE_ENTRIES, integer: true })
  const timeoutDuration = duration(options.timeoutDuration, 'timeoutDuration', 5_000, { min: 1, max: MAX_TIMER_DELAY, integer: true, unit: 'ms' })
  const fetchImpl = observedFetch(optionalFunction<FetchLike>(options.fetch, 'fetch'), 'introspection', optionalFunction<(event: VerifierFetchEvent) => void>(options.onFetch, 'onFetch'))
  const realm = options.realm === undefined ? (audience?.[0] ?? 'api') : nonEmptyString(options.realm, 'realm')
  const authorization = `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`

  const cache = cacheMaxAge > 0 && cacheMaxEntries > 0 ? new LRU<Introspected<C>>({ maxEntries: cacheMaxEntries, now: () => Date.now() }) : null
  const inflight = new Map<string, Promise<Introspected<C>>>()

  async function introspect(token: string, digest: string): Promise<Introspected<C>> {
    let response: Response
    try {
      response = await (fetchImpl ?? fetch)(endpoint.href, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutDuration),
      })
    } catch (cause) {
      throw new VerifierUnavailableError('the introspection endpoint is unavailable', { cause })
    }
    if (response.status !== 200) {
      void response.body?.cancel().catch(() => undefined)
      throw new VerifierUnavailableError('the introspection endpoint is unavailable', { status: response.status })
    }
    let body: unknown
    try {
      body = await response.json()
    } catch (cause) {
      throw new VerifierUnavailableError('the introspection endpoint is unavailable', { cause })
    }
    const parsed = z.safeParse(introspectionResponseSchema, body)
    if (!parsed.success) throw new VerifierUnavailableError('the introspection response is invalid', { cause: parsed.error })
    const answer = parsed.data
    const now = Date.now()
    // A refresh token is never a bearer access token, whatever an authorization server answers.
    if (!answer.active || (typeof answer.token_type === 'string' && /refresh/i.test(answer.token_type))) {
      const result: Introspected<C> = { active: false }
      cache?.set(digest, result, now + Math.min(cacheMaxAge, INACTIVE_CACHE_MAX_AGE))
      return result
    }
    const principal = toPrincipal(answer, token)
    const result: Introspected<C> = { active: true, principal }
    cache?.set(digest, result, Math.min(now + cacheMaxAge, principal.expiresAt ?? Infinity))
    return result
  }

  function toPrincipal(answer: IntrospectionResponse, token: string): Principal<C> {
    const claims = z.safeParse(claimsSchema, answer)
    return freezePrincipal({
      subject: answer.sub ?? answer.username ?? answer.client_id ?? '',
      clientId: answer.client_id ?? '',
      scopes: parseScope(answer.scope),
      audience: audienceList(answer.aud),
      kind: looksLikeJWT(token) ? 'jwt' : 'opaque',
      expiresAt: typeof answer.exp === 'number' ? answer.exp * 1000 : null,
      username: answer.username ?? null,
      claims: claims.success ? claims.data : null,
    })
  }

  async function verify(token: string): Promise<Principal<C>> {
    if (typeof token !== 'string') throw invalidArgument('"token" must be a string', 'ERR_INVALID_ARG_TYPE')
    if (token.length === 0) throw new InactiveTokenError('the access token is not active')
    const digest = digestKey(token)
    let result = cache?.get(digest)
    if (!result) {
      let pending = canShareInFlight() ? inflight.get(digest) : undefined
      if (!pending) {
        const started: Promise<Introspected<C>> = introspect(token, digest).finally(() => {
          if (inflight.get(digest) === started) inflight.delete(digest)
        })
        inflight.set(digest, (pending = started))
      }
      result = await pending
    }
    if (!result.active) throw new InactiveTokenError('the access token is not active')
    const { principal } = result
    if (principal.expiresAt !== null && principal.expiresAt <= Date.now()) throw new InactiveTokenError('the access token is not active')
    if (audience && !principal.audience.some((a) => audience.includes(a))) throw new TokenClaimError('unexpected "aud" claim value', 'aud')
    return requireScopes(principal, requiredScopes)
  }

  async function check(request: Request): Promise<GuardResult<C>> {
    return checkRequest(request, realm, verify)
  }

  return { verify, check }
}

/** `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2)
}

function looksLikeJWT(token: string): boolean {
  if (token.split('.').length !== 3) return false
  try {
    return typeof decodeProtectedHeader(token).alg === 'string'
  } catch {
    return false
  }
}
