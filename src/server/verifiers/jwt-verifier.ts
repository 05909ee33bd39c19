/**
 * `createJWTVerifier()`: RFC 9068 JWT access-token validation for resource servers that run apart
 * from the issuer, with jose's remote JWKS cache and a verified-token cache.
 *
 * @module
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwksCache as joseJWKSCache, jwtVerify } from 'jose'
import type { ExportedJWKSCache, JSONWebKeySet, JWSHeaderParameters, JWTPayload, RemoteJWKSet } from 'jose'
import * as z from 'zod/mini'
import { invalidArgument } from '../../shared/lib/args.js'
import { accessTokenClaimsSchema, authorizationServerMetadataSchema } from '../../shared/schemas.js'
import type { AccessTokenClaims, ClaimsSchema } from '../../shared/schemas.js'
import { LRU } from '../lib/lru.js'
import { MAX_LEEWAY } from '../validation/options.js'
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
import { GatepassError } from '../../shared/errors.js'
import {
  ExpiredTokenError,
  InvalidTokenError,
  NoMatchingKeyError,
  TokenClaimError,
  TokenHeaderError,
  TokenNotYetValidError,
  VerifierUnavailableError,
} from './errors.js'

/** Asymmetric JWS algorithms a verifier may be configured with (never `none`, never HMAC). */
const SUPPORTED_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'])
const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA']
/** The longest finite JWKS `cacheMaxAge`, ms (a day; `Infinity` is accepted too). */
const MAX_JWKS_CACHE_AGE = 86_400_000
/** The longest `cooldownDuration`, ms: beyond an hour, tokens signed with a newly rotated key are refused too long. */
const MAX_COOLDOWN = 3_600_000
/** Header parameters that embed or point at a key: the key must come from the issuer's JWKS only. */
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const

/**
 * A JWKS cache to seed a verifier with and to persist after it fetched (for serverless runtimes
 * that start cold): jose's `{ jwks, uat }` shape, or `{}` to be filled on the first fetch. With
 * `metadataUrl`, the `jwks_uri` it named is kept too (`jwksUri`, with `issuer`), so a seeded cold
 * start needs neither the metadata nor the JWKS endpoint.
 *
 * > [!WARNING]
 * > Its keys are trusted for signature verification: only trusted code may write it.
 *
 * @group Validation
 */
export type JWKSCache = (ExportedJWKSCache & { /** The `jwks_uri` read from `metadataUrl` (gatepass adds it). */ jwksUri?: string; /** The issuer it was read for. */ issuer?: string }) | Record<string, never>

/**
 * Options of {@link createJWTVerifier}.
 *
 * @typeParam C Claims type, typed through `defineClaims()`.
 * @group Validation
 */
export interface JWTVerifierOptions<C extends AccessTokenClaims = AccessTokenClaims> {
  /** The expected `iss`, exactly. */
  issuer: string
  /** The issuer's JWKS URL. Give this or `metadataUrl`. */
  jwksUri?: string | URL
  /**
   * RFC 8414 metadata URL (e.g. `https://as.example/.well-known/oauth-authorization-server`): fetched
   * once (one request for concurrent callers; after a failure, retried at most once per
   * `min(cooldownDuration, 5 s)`), or not at all when `jwksCache` was exported after reading it; its
   * `issuer` must equal `issuer` and its `jwks_uri` is used. Give this or `jwksUri`.
   */
  metadataUrl?: string | URL
  /** This resource server's audience(s): the token's `aud` must contain at least one. */
  audience: string | string[]
  /** Accepted algorithms (asymmetric only). Default: `['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[]
  /** Clock leeway for `exp`, `nbf` and `iat`, in seconds, from 0 to 3,600 (the token service's limit). Default: `30`. */
  leeway?: number
  /** Scopes every token must carry; a token missing one gets 403 `insufficient_scope`. Default: none. */
  requiredScopes?: string[]
  /** Schema the claims are parsed with. Default: `accessTokenClaimsSchema`. */
  claims?: ClaimsSchema<C>
  /** `realm` of the `WWW-Authenticate` challenges. Default: the first audience. */
  realm?: string
  /** Maximum age of the cached JWKS, in ms, from 0 to 86,400,000 (a day), or `Infinity` (never stale). Default: `600_000` (10 minutes). */
  cacheMaxAge?: number
  /** Minimum time between a JWKS fetch and a refetch caused by an unknown `kid`, in ms, from 0 to 3,600,000 (an hour). Default: `30_000`. */
  cooldownDuration?: number
  /** Timeout of each JWKS or metadata request, in ms: an integer from 1 to 2,147,483,647 (`setTimeout`'s limit). Default: `5_000`. */
  timeoutDuration?: number
  /**
   * Seed and export object of the JWKS cache, updated in place after every fetch (persist it and
   * pass it back after a cold start to skip the first fetch). Default: an internal object.
   */
  jwksCache?: JWKSCache
  /** Maximum entries of the verified-token cache, an integer from 0 to 10,000,000 (`0` disables it). Default: `10_000`. */
  tokenCacheMaxEntries?: number
  /** Fetch implementation for JWKS and metadata requests. Default: the global `fetch`. */
  fetch?: FetchLike
  /** Told of every JWKS and metadata request (status, failure, duration), for metrics. Default: none. */
  onFetch?: (event: VerifierFetchEvent) => void
}

/**
 * A verifier made by {@link createJWTVerifier}.
 *
 * @typeParam C Claims type.
 * @group Validation
 */
export interface JWTVerifier<C extends AccessTokenClaims = AccessTokenClaims> {
  /**
   * Verifies a JWT access token.
   *
   * @param token The compact JWT, without the `Bearer ` prefix.
   * @returns The principal; throws an {@link InvalidTokenError} (401), an `InsufficientScopeError` (403) or a `VerifierUnavailableError` (503).
   */
  verify(token: string): Promise<Principal<C>>
  /**
   * Checks the `Authorization: Bearer` token of a request.
   *
   * @param request The incoming request.
   * @returns `{ ok: true, principal }`, or `{ ok: false, response }` with the RFC 6750 response to send as is.
   */
  check(request: Request): Promise<GuardResult<C>>
  /** Whether the cached JWKS is within `cacheMaxAge` (`false` before the first fetch). */
  readonly fresh: boolean
  /** Whether a JWKS fetch is in flight. */
  readonly reloading: boolean
}

interface CachedVerification {
  principal: Principal<AccessTokenClaims>
  kid: string | null
}

/**
 * Creates a verifier of RFC 9068 JWT access tokens for a resource server that runs apart from the
 * issuer (any Fetch runtime).
 *
 * Available from `'gatepass/server'`.
 *
 * Checks, in order: the protected header (`typ` is `at+jwt` or `application/at+jwt`; `alg` is one
 * of `algorithms`, so never `none` or HMAC; no `jwk`, `jku`, `x5u` or `x5c`; no `crit`), the
 * signature with the issuer's key chosen by `kid` (a key whose JWK has `alg` verifies only that
 * algorithm; one without `alg` verifies those of `algorithms` that fit its key type and curve),
 * `iss`, `aud`, `exp`/`nbf`/`iat` with `leeway`, the claims schema, then `requiredScopes`.
 *
 * The JWKS is jose's remote key set: cached for `cacheMaxAge`, refetched on an unknown `kid` at most
 * once per `cooldownDuration`, one request for any number of concurrent callers, seedable through
 * `jwksCache`. A token verified once is kept (by SHA-256 digest, up to `tokenCacheMaxEntries`, LRU)
 * until its `exp`, and later verified without signature work; such entries are dropped when a JWKS
 * fetch shows their `kid` is gone, and a stale JWKS is refetched before an entry is used. The
 * principal is deeply frozen (it is shared between callers).
 *
 * When the JWKS or metadata endpoint fails, nothing is fetched again for `min(cooldownDuration,
 * 5 s)`, and the keys of the last successful JWKS fetch keep verifying for up to an hour past
 * their `cacheMaxAge` (a token naming a key they lack gets a 401); with no such keys, checks
 * answer 503 until a fetch succeeds. JWKS keys named by https metadata must come over https.
 *
 * > [!WARNING]
 * > Option errors throw a `TypeError` with `code` `ERR_INVALID_ARG_TYPE` or `ERR_INVALID_ARG_VALUE`
 * > at creation, not on the first request.
 *
 * @param options Issuer, key source and audience; see {@link JWTVerifierOptions}.
 * @returns A {@link JWTVerifier}: call `check(request)` in a handler, or `verify(token)` directly.
 * @example Protect a Fetch handler
 *
 * ```ts
 * import { createJWTVerifier } from 'gatepass/server'
 *
 * const verifier = createJWTVerifier({
 *   issuer: 'https://as.example/auth',
 *   jwksUri: 'https://as.example/auth/jwks',
 *   audience: 'orders-api',
 *   requiredScopes: ['orders:read'],
 * })
 *
 * export async function orders(request: Request): Promise<Response> {
 *   const result = await verifier.check(request)
 *   if (!result.ok) return result.response
 *   return Response.json({ subject: result.principal.subject })
 * }
 * ```
 *
 * @example Verify a token taken from elsewhere (a WebSocket message, a queue)
 *
 * ```ts
 * import { createJWTVerifier } from 'gatepass/server'
 * import { isGatepassError } from 'gatepass/shared'
 *
 * let token!: string
 * const verifier = createJWTVerifier({ issuer: 'https://as.example/auth', metadataUrl: 'https://as.example/.well-known/oauth-authorization-server/auth', audience: 'orders-api' })
 * try {
 *   const principal = await verifier.verify(token)
 *   console.log(principal.clientId, principal.scopes)
 * } catch (err) {
 *   if (isGatepassError(err)) console.warn(err.code) // e.g. ERR_ACCESS_TOKEN_EXPIRED
 *   else throw err
 * }
 * ```
 *
 * @example Seed the JWKS cache on a serverless cold start
 *
 * ```ts
 * import { createJWTVerifier } from 'gatepass/server'
 * import type { JWKSCache } from 'gatepass/server'
 *
 * let stored!: JWKSCache
 * let persist!: (cache: JWKSCache) => Promise<void>
 * const jwksCache = stored ?? {}
 * const verifier = createJWTVerifier({ issuer: 'https://as.example/auth', jwksUri: 'https://as.example/auth/jwks', audience: 'orders-api', jwksCache })
 * // … after handling requests:
 * await persist(jwksCache)
 * ```
 *
 * @see [RFC 9068 §4](https://www.rfc-editor.org/rfc/rfc9068#section-4)
 * @see [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725)
 * @group Validation
 */
export function createJWTVerifier<C extends AccessTokenClaims = AccessTokenClaims>(options: JWTVerifierOptions<C>): JWTVerifier<C> {
  if (!isObject(options)) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  const issuer = nonEmptyString(options.issuer, 'issuer')
  if ((options.jwksUri === undefined) === (options.metadataUrl === undefined)) throw invalidArgument('exactly one of "jwksUri" and "metadataUrl" is required')
  const jwksUri = options.jwksUri === undefined ? undefined : httpURL(options.jwksUri, 'jwksUri')
  const metadataUrl = options.metadataUrl === undefined ? undefined : httpURL(options.metadataUrl, 'metadataUrl')
  const audience = stringList(options.audience, 'audience', { allowEmpty: false })
  const algorithms = options.algorithms === undefined ? DEFAULT_ALGORITHMS : stringList(options.algorithms, 'algorithms', { allowEmpty: false })
  for (const alg of algorithms) if (!SUPPORTED_ALGORITHMS.has(alg)) throw invalidArgument(`"algorithms" must contain asymmetric JWS algorithms only, got "${alg}"`)
  const allowed = new Set(algorithms)
  const leeway = duration(options.leeway, 'leeway', 30, { max: MAX_LEEWAY, unit: 'seconds' })
  const requiredScopes = options.requiredScopes === undefined ? [] : stringList(options.requiredScopes, 'requiredScopes', { allowEmpty: true, noSpaces: true })
  const claimsSchema = claimsSchemaOption<C>(options.claims, accessTokenClaimsSchema)
  const realm = options.realm === undefined ? audience[0]! : nonEmptyString(options.realm, 'realm')
  const cacheMaxAge = duration(options.cacheMaxAge, 'cacheMaxAge', 600_000, { max: MAX_JWKS_CACHE_AGE, allowInfinity: true, unit: 'ms' })
  const cooldownDuration = duration(options.cooldownDuration, 'cooldownDuration', 30_000, { max: MAX_COOLDOWN, unit: 'ms' })
  const timeoutDuration = duration(options.timeoutDuration, 'timeoutDuration', 5_000, { min: 1, max: MAX_TIMER_DELAY, integer: true, unit: 'ms' })
  const tokenCacheMaxEntries = duration(options.tokenCacheMaxEntries, 'tokenCacheMaxEntries', 10_000, { max: MAX_CACHE_ENTRIES, integer: true })
  const onFetch = optionalFunction<(event: VerifierFetchEvent) => void>(options.onFetch, 'onFetch')
  const jwksFetch = observedFetch(optionalFunction<FetchLike>(options.fetch, 'fetch'), 'jwks', onFetch)
  const metadataFetch = observedFetch(optionalFunction<FetchLike>(options.fetch, 'fetch'), 'metadata', onFetch)
  if (options.jwksCache !== undefined && !isObject(options.jwksCache)) throw invalidArgument('"jwksCache" must be an object', 'ERR_INVALID_ARG_TYPE')
  const cacheStore = (options.jwksCache ?? {}) as Partial<ExportedJWKSCache> & { jwksUri?: unknown; issuer?: unknown }

  const tokens = tokenCacheMaxEntries > 0 ? new LRU<CachedVerification>({ maxEntries: tokenCacheMaxEntries, now: () => Date.now() }) : null
  // What the last purge saw of the JWKS cache (jose replaces `jwks` and `uat` on every fetch).
  let seenUpdate = cacheStore.uat
  let seenKeys = cacheStore.jwks
  let remote: RemoteJWKSet | undefined = jwksUri ? createRemote(jwksUri) : undefined
  let pendingMetadata: Promise<RemoteJWKSet> | undefined

  function createRemote(url: URL): RemoteJWKSet {
    return createRemoteJWKSet(url, {
      cacheMaxAge,
      cooldownDuration,
      timeoutDuration,
      [joseJWKSCache]: cacheStore as JWKSCache,
      ...(jwksFetch ? { [customFetch]: jwksFetch } : {}),
    })
  }

  /**
   * When a fetch fails (the issuer is down or slow), nothing is fetched again for
   * {@link failureBackoff} ms, and the keys of the last successful fetch keep verifying tokens for
   * up to {@link STALE_KEYS_GRACE} ms past their `cacheMaxAge`: an outage of the JWKS endpoint is
   * not passed on to every request (each one fetching again), and tokens of known keys keep
   * passing. A token naming a key the last set did not have gets a 401 meanwhile.
   */
  const failureBackoff = Math.min(cooldownDuration, 5_000)
  let jwksFailedAt: number | null = null
  let metadataFailure: { at: number; error: unknown } | null = null
  let staleSet: { jwks: JSONWebKeySet; local: ReturnType<typeof createLocalJWKSet> } | undefined

  /** The key set of the last successful fetch while it is within its grace, else `undefined`. */
  function staleKeys(): ReturnType<typeof createLocalJWKSet> | undefined {
    const { jwks, uat } = cacheStore
    if (jwks === undefined || uat === undefined || Date.now() - uat > cacheMaxAge + STALE_KEYS_GRACE) return undefined
    if (staleSet?.jwks !== jwks) staleSet = { jwks, local: createLocalJWKSet(jwks) }
    return staleSet.local
  }

  const backingOff = (since: number | null) => since !== null && Date.now() - since < failureBackoff

  async function loadMetadata(url: URL): Promise<RemoteJWKSet> {
    let response: Response
    try {
      response = await (metadataFetch ?? fetch)(url.href, { method: 'GET', headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutDuration) })
    } catch (cause) {
      throw new VerifierUnavailableError('the authorization server metadata is unavailable', { cause })
    }
    if (response.status !== 200) throw new VerifierUnavailableError('the authorization server metadata is unavailable', { status: response.status })
    let body: unknown
    try {
      body = await response.json()
    } catch (cause) {
      throw new VerifierUnavailableError('the authorization server metadata is unavailable', { cause })
    }
    const parsed = z.safeParse(authorizationServerMetadataSchema, body)
    if (!parsed.success) throw new VerifierUnavailableError('the authorization server metadata is invalid', { cause: parsed.error })
    if (parsed.data.issuer !== issuer) throw new VerifierUnavailableError('the authorization server metadata "issuer" does not match')
    if (parsed.data.jwks_uri === undefined) throw new VerifierUnavailableError('the authorization server metadata has no "jwks_uri"')
    let jwks: URL
    try {
      jwks = httpURL(parsed.data.jwks_uri, 'jwks_uri')
    } catch (cause) {
      throw new VerifierUnavailableError('the authorization server metadata "jwks_uri" is invalid', { cause })
    }
    // Metadata read over https cannot send the keys over plain http: anyone on the path could
    // then serve a key of their own and sign tokens with it.
    if (!sameSecurity(url, jwks)) throw new VerifierUnavailableError('the authorization server metadata "jwks_uri" must use https, as the metadata does')
    cacheStore.jwksUri = jwks.href
    cacheStore.issuer = issuer
    return createRemote(jwks)
  }

  /** Keys named by https metadata come over https too. */
  function sameSecurity(metadata: URL, jwks: URL): boolean {
    return metadata.protocol !== 'https:' || jwks.protocol === 'https:'
  }

  // A seed exported after reading this issuer's metadata names its `jwks_uri`: no metadata fetch.
  if (!remote && metadataUrl && typeof cacheStore.jwksUri === 'string' && cacheStore.issuer === issuer && URL.canParse(cacheStore.jwksUri)) {
    const seeded = new URL(cacheStore.jwksUri)
    if ((seeded.protocol === 'https:' || seeded.protocol === 'http:') && sameSecurity(metadataUrl, seeded)) remote = createRemote(seeded)
  }

  async function keySet(): Promise<RemoteJWKSet> {
    if (remote) return remote
    if (pendingMetadata && canShareInFlight()) return pendingMetadata
    // The metadata failed a moment ago: the same answer, without asking again.
    if (metadataFailure !== null && backingOff(metadataFailure.at)) throw metadataFailure.error
    const started: Promise<RemoteJWKSet> = loadMetadata(metadataUrl!).then(
      (set) => {
        metadataFailure = null
        return (remote ??= set)
      },
      (err: unknown) => {
        if (pendingMetadata === started) pendingMetadata = undefined
        metadataFailure = { at: Date.now(), error: err }
        throw err
      },
    )
    pendingMetadata = started
    return started
  }

  /** After a JWKS fetch, drops verified tokens whose `kid` the new set no longer has. */
  function syncRetiredKeys(): void {
    if (cacheStore.uat === seenUpdate && cacheStore.jwks === seenKeys) return
    seenUpdate = cacheStore.uat
    seenKeys = cacheStore.jwks
    if (!tokens) return
    const kids = new Set<string>()
    for (const jwk of cacheStore.jwks?.keys ?? []) if (typeof jwk.kid === 'string') kids.add(jwk.kid)
    tokens.deleteWhere((entry) => entry.kid === null || !kids.has(entry.kid))
  }

  async function resolveKey(header: JWSHeaderParameters, token: unknown): Promise<CryptoKey> {
    const set = await keySet()
    const input = token as Parameters<RemoteJWKSet>[1]
    if (backingOff(jwksFailedAt)) {
      const stale = staleKeys()
      if (stale) return stale(header, input)
      throw new VerifierUnavailableError('the key set is unavailable')
    }
    try {
      const key = await set(header, input)
      jwksFailedAt = null
      return key
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err
      jwksFailedAt = Date.now()
      const fallback = staleKeys()
      if (fallback) return fallback(header, input)
      throw new VerifierUnavailableError('the key set is unavailable', { cause: err })
    }
  }

  function checkHeader(token: string): JWSHeaderParameters {
    let header: JWSHeaderParameters
    try {
      if (token.split('.').length !== 3) throw new Error('not a compact JWS')
      header = decodeProtectedHeader(token) as JWSHeaderParameters
    } catch (cause) {
      throw new InvalidTokenError('the access token is malformed', { cause })
    }
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') throw new TokenHeaderError('the "typ" header must be "at+jwt"')
    if (typeof header.alg !== 'string' || !allowed.has(header.alg)) throw new TokenHeaderError('the "alg" header is not allowed')
    for (const name of KEY_HEADERS) if (name in header) throw new TokenHeaderError(`the "${name}" header is not allowed`)
    if ('crit' in header) throw new TokenHeaderError('the "crit" header is not supported')
    if (header.kid !== undefined && typeof header.kid !== 'string') throw new TokenHeaderError('the "kid" header must be a string')
    return header
  }

  async function verifyCold(token: string, digest: string | null): Promise<Principal<C>> {
    const header = checkHeader(token)
    const now = Date.now()
    let payload: JWTPayload
    const verifyOptions = { issuer, audience, algorithms, clockTolerance: leeway, currentDate: new Date(now) }
    try {
      ;({ payload } = await jwtVerify(token, resolveKey, verifyOptions))
    } catch (err) {
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw joseFailure(err)
      // No `kid` and several keys fit (RFC 7515 makes `kid` optional; two keys are usual during a
      // rotation): the one whose signature verifies decides.
      payload = await verifyWithCandidates(token, err, verifyOptions)
    } finally {
      syncRetiredKeys()
    }
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + leeway) throw new TokenClaimError('the "iat" claim is in the future', 'iat')
    const parsed = z.safeParse(claimsSchema, payload)
    if (!parsed.success) throw new TokenClaimError('the access token claims are invalid', '', { cause: parsed.error })
    const claims = parsed.data
    const principal: Principal<C> = freezePrincipal({
      subject: claims.sub,
      clientId: claims.client_id,
      scopes: parseScope(claims.scope),
      audience: audienceList(claims.aud),
      kind: 'jwt',
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
      username: typeof claims.username === 'string' ? claims.username : claims.sub !== claims.client_id ? claims.sub : null,
      claims,
    })
    if (tokens && digest !== null) tokens.set(digest, { principal, kid: header.kid ?? null }, principal.expiresAt ?? Infinity)
    return principal
  }

  async function verify(token: string): Promise<Principal<C>> {
    if (typeof token !== 'string') throw invalidArgument('"token" must be a string', 'ERR_INVALID_ARG_TYPE')
    if (!tokens) return requireScopes(await verifyCold(token, null), requiredScopes)
    const digest = digestKey(token)
    syncRetiredKeys()
    let hit = tokens.get(digest)
    // A verified token outlives its key set's TTL only while the set is re-read (or, the issuer
    // being down, while the last set is within its grace: it held the token's key).
    if (hit && remote && !remote.fresh) {
      if (backingOff(jwksFailedAt)) {
        if (!staleKeys()) throw new VerifierUnavailableError('the key set is unavailable')
      } else {
        try {
          await remote.reload()
          jwksFailedAt = null
        } catch (cause) {
          jwksFailedAt = Date.now()
          if (!staleKeys()) throw new VerifierUnavailableError('the key set is unavailable', { cause })
        }
        syncRetiredKeys()
        hit = tokens.get(digest)
      }
    }
    const principal = hit ? (hit.principal as Principal<C>) : await verifyCold(token, digest)
    return requireScopes(principal, requiredScopes)
  }

  async function check(request: Request): Promise<GuardResult<C>> {
    return checkRequest(request, realm, verify)
  }

  return {
    verify,
    check,
    get fresh() {
      return remote?.fresh ?? false
    },
    get reloading() {
      return remote?.reloading ?? pendingMetadata !== undefined
    },
  }
}

/** How long past its `cacheMaxAge` the last fetched key set keeps verifying while fetches fail. */
const STALE_KEYS_GRACE = 3_600_000

/** The payload verified with the first of jose's candidate keys whose signature matches. */
async function verifyWithCandidates(token: string, candidates: errors.JWKSMultipleMatchingKeys, options: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
  let last: unknown
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload
    } catch (err) {
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw joseFailure(err)
      last = err
    }
  }
  throw joseFailure(last ?? new errors.JWSSignatureVerificationFailed())
}

/** Maps a jose (or our own) error thrown while verifying to the coded error to throw. */
function joseFailure(err: unknown): Error {
  if (err instanceof GatepassError) return err
  if (err instanceof errors.JWTExpired) return new ExpiredTokenError('the access token has expired', { cause: err })
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new TokenNotYetValidError('the access token is not yet valid', { cause: err })
    if (err.reason === 'missing') return new TokenClaimError(`the "${err.claim}" claim is missing`, err.claim, { cause: err })
    return new TokenClaimError(`unexpected "${err.claim}" claim value`, err.claim, { cause: err })
  }
  if (err instanceof errors.JWKSNoMatchingKey) return new NoMatchingKeyError('no key of the issuer matches the access token', { cause: err })
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new InvalidTokenError('more than one key of the issuer matches the access token', { cause: err })
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenHeaderError('the "alg" header is not allowed', { cause: err })
  if (err instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError('the access token signature is invalid', { cause: err })
  // Anything else jose throws while checking a token (a key of the issuer it refuses to use, e.g.
  // an RSA key under 2048 bits, is a TypeError) is a verdict on this token, never an exception
  // out of check(): a forged token naming such a key must get a 401.
  return new InvalidTokenError('the access token is invalid', { cause: err })
}
