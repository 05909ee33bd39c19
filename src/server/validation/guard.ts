/**
 * The guard: decides whether a request may reach a protected API proxy.
 *
 * @module
 */
import { jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import * as z from 'zod'
import * as zm from 'zod/mini'
import { accessTokenClaimsSchema, type AccessTokenClaims, type ClaimsSchema } from '../../shared/schemas.js'
import type { ProxyConfig } from '../config/schema.js'
import { bearerChallenge } from '../lib/bearer-challenge.js'
import { sha256 } from '../lib/crypto.js'
import { LRU } from '../lib/lru.js'
import { OAuthError } from '../lib/responses.js'
import { freezePrincipal, type Principal, type GuardResult } from '../principal.js'
import type { LoadedKey } from '../keys.js'
import type { ServiceContext } from '../token-endpoint/context.js'
import { issuerFor } from '../token-endpoint/mint.js'
import { ipAllowed } from '../token-endpoint/grants.js'
import type { AccessTokenRecord } from '../store/types.js'
import { StoreUnavailableError } from '../../shared/errors.js'
import { invalidArgument } from '../../shared/lib/args.js'
import type { RevocationBus, RevocationEvent, SharedCache } from '../cache/types.js'
import { aclRefusal } from './acl.js'
import { optionalBoolean } from '../service-options.js'
import { claimsSchemaOption, nonEmptyString } from '../verifiers/common.js'
import { extractBearerToken, isB64Token } from './extract-token.js'

/**
 * Options of `service.guard()`.
 *
 * @typeParam C Claims type of JWTs, from `defineClaims()`.
 * @group Validation
 */
export interface GuardOptions<C extends AccessTokenClaims = AccessTokenClaims> {
  /** Scopes every request must carry (403 `insufficient_scope` otherwise). */
  scopes?: string[]
  /** Accept the RFC 6750 §2.3 `access_token` query parameter (discouraged). Default `false`. */
  allowQueryToken?: boolean
  /** Schema the JWT claims are parsed with. Default: the RFC 9068 claims schema. */
  claims?: ClaimsSchema<C>
  /** `realm` of the challenges. Default: the proxy's name. */
  realm?: string
}

/**
 * Options of the validation caches, shared by every guard of a service.
 *
 * @group Validation
 */
export interface ValidationOptions {
  /** Clock tolerance for `exp`/`nbf`/`iat`, seconds (0 to 3,600). Default 30. */
  leeway?: number
  /** Verified-JWT cache entries (skips the signature check for a token seen before), an integer up to 10,000,000. Default 10,000; 0 disables it. */
  verifiedJWTCacheSize?: number
  /** Opaque-token cache entries, an integer up to 10,000,000. Default 10,000; 0 disables it. */
  opaqueCacheSize?: number
  /** Opaque-token cache byte bound (estimated), an integer. Default 16 MiB. */
  opaqueCacheBytes?: number
  /**
   * How long an opaque lookup is trusted before the store is asked again, ms (0 to 3,600,000).
   * Default 5,000. Entries in the shared cache live at most 60 s whatever this says, so revocation
   * markers (which live 60 s) outlive them on every instance.
   */
  opaqueCacheMaxAge?: number
  /** How long an unknown opaque token is remembered as unknown, ms (0 to 3,600,000). Default 1,000. */
  negativeCacheMaxAge?: number
  /**
   * When the store is down, keep accepting an opaque token that was valid when last looked up
   * within this many ms (up to 86,400,000, a day). Default 0: fail closed (503).
   */
  storeOutageGrace?: number
  /** Second-level cache shared by every instance (e.g. `createRedisCache()` from `'gatepass/server/redis'`). */
  sharedCache?: SharedCache
  /** Revocation fan-out to every instance's in-process cache. */
  revocationBus?: RevocationBus
}

/** A check that passed: who, and what to re-check on each request. */
interface Verified {
  principal: Principal<AccessTokenClaims>
  mode: 'policy' | 'acl'
  kid?: string
}

/** An entry of the verified-JWT cache: the check's outcome and the whole token it is for. */
interface CachedJWT extends Verified {
  token: string
}

/**
 * How long an entry or a revocation marker lives in the shared cache at most, ms, whatever an
 * instance's `opaqueCacheMaxAge`: every marker outlives every entry it must cover, on instances
 * configured differently too.
 */
const SHARED_MAX_AGE = 60_000

/** How many characters of a JWT's end (its signature) key the verified-JWT cache. */
const JWT_CACHE_KEY_CHARS = 32

/** The validation state of a service: caches and key lookups, shared by all of its guards. */
export interface Validator {
  /**
   * `clientIP` is resolved only when an IP allow-list needs it; `failure` answers anything that
   * is not a verdict on the token (a store outage: 503, a bug: 500), so the check never rejects.
   */
  guard<C extends AccessTokenClaims = AccessTokenClaims>(proxy: ProxyConfig, options: GuardOptions<C> | undefined, failure: (error: unknown) => Response): (request: Request, clientIP: () => string | undefined) => Promise<GuardResult<C>>
  /** Drops cached entries of an opaque token (by digest) or of a whole family, on every instance. */
  forget(what: RevocationEvent): Promise<void>
  /** Drops the cached tokens of a client + subject + binding issued up to `at` (`deletePrevious`), on every instance. */
  forgetPrevious(of: { clientId: string; subject: string; binding: { kind: string; name: string } }, at: number): Promise<void>
  /** Empties the verified-JWT cache (after a key rotation). */
  clearJWT(): void
  /** Stops listening to the revocation bus (the service is closing). */
  close(): void
  /** Cache statistics. */
  stats(): { jwt: { size: number; hits: number; misses: number }; opaque: { size: number; bytes: number; hits: number; misses: number } }
}

const NEGATIVE = Symbol('unknown token')

/** A cached opaque token: its record, and the frozen principal made from it on first use. */
interface OpaqueEntry {
  record: AccessTokenRecord
  principal?: Principal<AccessTokenClaims>
}

/** Algorithms a key of ours may have; each key pins its own. */
/**
 * The shared claims schema as a classic zod object: the same members and checks, but parsed by
 * zod's compiled object parser where the runtime allows it (`zod/mini` never compiles, to stay
 * small and CSP-safe in browsers): 0.5 µs instead of 1.2–2 µs per cold check here.
 */
const verifiedClaimsSchema = z.looseObject(accessTokenClaimsSchema.shape)

const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA']

/** The public key for a token header naming `found` with `alg`: refused unless it is a key of ours and its own algorithm. */
function acceptKey(found: LoadedKey | undefined, alg: unknown): CryptoKey {
  if (!found) throw new OAuthError('invalid_token', 'the access token is not signed by a known key', 401)
  if (alg !== found.alg) throw new OAuthError('invalid_token', 'the access token is not signed with the algorithm of its key', 401)
  return found.publicKey
}

/**
 * What a shared-cache (`at:`) entry must hold to be used: an access-token record of this digest.
 * Anything else (corrupt, truncated, another shape) is a miss that the store answers.
 */
const sharedRecordSchema = z.object({
  digest: z.string(),
  environment: z.string(),
  clientId: z.string(),
  subject: z.string(),
  username: z.string().nullable(),
  scope: z.string(),
  audience: z.array(z.string()),
  binding: z.object({ kind: z.enum(['proxy', 'group', 'credential']), name: z.string() }),
  issuedAt: z.number(),
  expiresAt: z.number().nullable(),
  familyId: z.string().nullable(),
  revokedAt: z.number().nullable(),
  extra: z.optional(z.record(z.string(), z.unknown())),
})

function sharedRecord(text: string, digest: string): AccessTokenRecord | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  const parsed = sharedRecordSchema.safeParse(value)
  return parsed.success && parsed.data.digest === digest ? (parsed.data as AccessTokenRecord) : null
}

/** Whether a token has the three dot-separated segments of a compact JWS (without splitting it). */
function hasThreeSegments(token: string): boolean {
  const first = token.indexOf('.')
  const second = first === -1 ? -1 : token.indexOf('.', first + 1)
  return second !== -1 && token.indexOf('.', second + 1) === -1
}

function toPrincipalFromRecord(record: AccessTokenRecord): Principal<AccessTokenClaims> {
  return {
    subject: record.subject,
    clientId: record.clientId,
    scopes: record.scope === '' ? [] : record.scope.split(' '),
    audience: [...record.audience],
    kind: 'opaque',
    expiresAt: record.expiresAt,
    username: record.username,
    claims: null,
  }
}

/**
 * What a proxy accepts, from the configuration (computed once per guard): the audiences of the
 * proxy and its group, the management modes of their policies, and whether a policy issues
 * never-expiring tokens.
 */
function whatProxyAccepts(ctx: ServiceContext, proxy: ProxyConfig): { audiences: string[]; modes: Array<'policy' | 'acl'>; neverExpires: boolean } {
  const audiences = [ctx.resolved.audiences.proxies.get(proxy.name)!]
  const modes = [proxy.tokenPolicy.management]
  let neverExpires = proxy.tokenPolicy.neverExpires
  const group = proxy.group === undefined ? undefined : ctx.resolved.config.groups.find((g) => g.name === proxy.group)
  if (group) {
    audiences.push(ctx.resolved.audiences.groups.get(group.name)!)
    modes.push(group.tokenPolicy.management)
    neverExpires ||= group.tokenPolicy.neverExpires
  }
  return { audiences, modes, neverExpires }
}

/** The key naming a token's owner (client + subject + binding) in revocation events and markers. */
function ownerKey(of: { clientId: string; subject: string; binding: { kind: string; name: string } }): Promise<string> {
  return sha256(JSON.stringify([of.clientId, of.subject, of.binding.kind, of.binding.name]))
}

/** Creates the validator of a service. */
export function createValidator(getContext: () => Promise<ServiceContext>, options: ValidationOptions = {}, now: () => number = Date.now, currentContext: () => ServiceContext | undefined = () => undefined): Validator {
  const leeway = options.leeway ?? 30
  const jwtCache = new LRU<CachedJWT>({ maxEntries: options.verifiedJWTCacheSize ?? 10_000, now })
  /** `verifiedJWTCacheSize: 0` turns the cache off: no lookups at all. */
  const jwtCacheOn = (options.verifiedJWTCacheSize ?? 10_000) > 0
  const opaqueCache = new LRU<OpaqueEntry | typeof NEGATIVE>({
    maxEntries: options.opaqueCacheSize ?? 10_000,
    maxBytes: options.opaqueCacheBytes ?? 16 * 1024 * 1024,
    sizeOf: (v) => (v === NEGATIVE ? 16 : 400 + JSON.stringify((v as { record: AccessTokenRecord }).record).length),
    now,
  })
  const opaqueMaxAge = options.opaqueCacheMaxAge ?? 5_000
  const negativeMaxAge = options.negativeCacheMaxAge ?? 1_000
  const grace = options.storeOutageGrace ?? 0
  const lastKnown = new LRU<AccessTokenRecord>({ maxEntries: grace > 0 ? (options.opaqueCacheSize ?? 10_000) : 0, now })
  const shared = options.sharedCache
  const bus = options.revocationBus
  /**
   * Revocations seen here, counted, the latest kept. A lookup that started before a revocation of
   * what it read must not cache it: the store answered before the revocation, and caching it would
   * bring the token back to life for as long as the entry lives. Unrelated revocations (other
   * tokens, families, owners) leave the lookup cacheable.
   */
  let drops = 0
  const recentDrops: RevocationEvent[] = []
  const RECENT_DROPS = 256
  function revokedSince(startedAt: number, digest: string, record: AccessTokenRecord | null): boolean {
    if (drops === startedAt) return false
    if (drops - startedAt > RECENT_DROPS) return true // too many to tell apart: do not cache
    const owner = record === null ? undefined : ownerKeys.get(record)
    for (let i = startedAt; i < drops; i++) {
      const event = recentDrops[i % RECENT_DROPS]!
      if (event.missed === true || event.digest === digest) return true
      if (record !== null && record.familyId !== null && event.familyId === record.familyId) return true
      if (event.owner !== undefined && event.owner === owner) return true
    }
    return false
  }
  const dropLocal = (event: RevocationEvent) => {
    const { digest, familyId, owner } = event
    recentDrops[drops % RECENT_DROPS] = event
    drops++
    if (event.missed === true) {
      // Any entry may be one a missed revocation voided.
      opaqueCache.clear()
      lastKnown.clear()
      return
    }
    if (owner !== undefined) {
      opaqueCache.deleteWhere((v) => v !== NEGATIVE && ownerKeys.get(v.record) === owner)
      lastKnown.deleteWhere((r) => ownerKeys.get(r) === owner)
    }
    if (digest !== undefined) {
      opaqueCache.delete(digest)
      lastKnown.delete(digest)
    }
    if (familyId !== undefined) {
      opaqueCache.deleteWhere((v) => v !== NEGATIVE && v.record.familyId === familyId)
      lastKnown.deleteWhere((r) => r.familyId === familyId)
    }
  }
  // An event from another instance also clears the shared entry of a revoked token: one written
  // here from a read that raced the revocation is gone once the event arrives.
  const unsubscribe = bus?.subscribe((event) => {
    dropLocal(event)
    if (shared && event.digest !== undefined) void shared.delete(`at:${event.digest}`).catch(() => {})
  })

  /**
   * A revocation marker; one that could not be read (the cache's optional `read` rejected) counts
   * as present, so the store decides.
   */
  async function readMarker(cache: SharedCache, key: string): Promise<string | null> {
    if (cache.read === undefined) return cache.get(key)
    try {
      return await cache.read(key)
    } catch {
      return 'unknown'
    }
  }

  /** Owner keys of cached records, computed once per record. */
  const ownerKeys = new WeakMap<AccessTokenRecord, string>()
  async function remember(record: AccessTokenRecord): Promise<AccessTokenRecord> {
    ownerKeys.set(record, await ownerKey(record))
    return record
  }

  async function lookup(ctx: ServiceContext, digest: string, startedAt: number): Promise<AccessTokenRecord | null> {
    const fromShared = shared ? await shared.get(`at:${digest}`) : null
    const parsedShared = fromShared === null ? null : sharedRecord(fromShared, digest)
    if (fromShared !== null && parsedShared === null) void shared!.delete(`at:${digest}`).catch(() => {}) // unreadable: ask the store
    if (parsedShared !== null) {
      const record = await remember(parsedShared)
      // A family or an owner's earlier tokens revoked in the last SHARED_MAX_AGE (reuse detection,
      // refresh-token revocation, deletePrevious) leave a marker, and while it lives every shared
      // entry of that family or owner asks the store. Only its presence counts: the time an owner
      // marker holds is the revoking instance's clock, and the entry's is the issuer's.
      const familyMark = record.familyId === null ? null : await readMarker(shared!, `rf:${record.familyId}`)
      const stale = familyMark !== null || (await readMarker(shared!, `ro:${ownerKeys.get(record)}`)) !== null
      if (!stale) return record
    }
    let record: AccessTokenRecord | null
    try {
      record = await ctx.store.findAccessToken(digest)
    } catch (err) {
      const known = err instanceof StoreUnavailableError ? lastKnown.get(digest) : undefined
      if (known) return known
      throw err
    }
    if (record) {
      await remember(record)
      if (revokedSince(startedAt, digest, record)) return record // revoked meanwhile: use it once, cache nothing
      if (grace > 0) lastKnown.set(digest, record, ctx.now() + grace)
      if (shared) await shared.set(`at:${digest}`, JSON.stringify(record), Math.min(opaqueMaxAge, SHARED_MAX_AGE, (record.expiresAt ?? Number.POSITIVE_INFINITY) - ctx.now()))
    }
    return record
  }

  let issuers: string[] | undefined

  /**
   * The verified-JWT cache is keyed by the last {@link JWT_CACHE_KEY_CHARS} characters of the token
   * (the end of its signature) and each entry keeps the whole token, which must be equal: a lookup
   * hashes a short string instead of the whole token (V8 hashes a fresh string on every Map
   * lookup: ~0.8 µs for a 700-character RS256 token), and no other token can use the entry.
   */
  function jwtCacheKey(token: string): string {
    return token.length > JWT_CACHE_KEY_CHARS ? token.slice(-JWT_CACHE_KEY_CHARS) : token
  }

  /** The cache entry of exactly this token, if any (not yet checked against this request). */
  function lookupJWT(token: string): CachedJWT | undefined {
    return jwtCacheOn ? jwtCache.get(jwtCacheKey(token), (entry) => entry.token === token) : undefined
  }

  /** A verified JWT from the cache, still valid here; `undefined` when it must be verified again. */
  function cachedJWT(ctx: ServiceContext, cached: CachedJWT, audiences: string[]): Verified | undefined {
    if (cached.principal.expiresAt !== null && cached.principal.expiresAt + leeway * 1000 <= ctx.now()) throw new OAuthError('invalid_token', 'the access token has expired', 401)
    if (!cached.principal.audience.some((a) => audiences.includes(a))) throw new OAuthError('invalid_token', 'the access token aud claim is not valid here', 401)
    if (cached.kid !== undefined && !ctx.keys.knows(cached.kid)) {
      jwtCache.delete(jwtCacheKey(cached.token))
      return undefined
    }
    return cached
  }

  /** jose's options per set of audiences, made once: a fresh options object per check costs µs. */
  const verifyOptions = new WeakMap<string[], JWTVerifyOptions>()
  function verifyOptionsFor(ctx: ServiceContext, audiences: string[]): JWTVerifyOptions {
    let options = verifyOptions.get(audiences)
    if (options === undefined) {
      options = {
        algorithms: SIGNING_ALGORITHMS,
        typ: 'at+jwt',
        issuer: (issuers ??= [issuerFor(ctx, 'policy'), issuerFor(ctx, 'acl')]),
        audience: audiences,
        clockTolerance: leeway,
        requiredClaims: ['sub', 'iat', 'jti'],
      }
      verifyOptions.set(audiences, options)
    }
    // jose reads the real clock itself; a service with its own clock (tests, replays) passes it.
    return now === Date.now ? options : { ...options, currentDate: new Date(ctx.now()) }
  }

  /**
   * Protected headers of tokens that verified, by their encoded segment, with the key they named.
   * One segment always decodes to the same header, so its checks (no key of its own, a `kid` of
   * ours, that key's own `alg`) hold for every token that carries it, and jose can be given the
   * key itself rather than a key function. Only a verified signature adds an entry (nobody can
   * fill it with made-up headers); the `kid` is still looked up in the current key set each time.
   */
  const knownHeaders = new Map<string, { kid: string; alg: string }>()
  const KNOWN_HEADERS = 64

  /** The loaded key for a header segment seen on a verified token, still ours and of its algorithm. */
  function keyForKnownHeader(ctx: ServiceContext, segment: string): LoadedKey | undefined {
    const known = knownHeaders.get(segment)
    if (known === undefined) return undefined
    const loaded = ctx.keys.loadedKey(known.kid)
    return loaded !== undefined && loaded.alg === known.alg ? loaded : undefined
  }

  /**
   * The key function given to jose for a header not seen before, one per context (made once: a
   * closure per check costs). The key must be one of ours, found by `kid`, and the algorithm is
   * the key's own (never the token's choice). Answered at once for a loaded key; a store read
   * only for an unknown `kid`.
   */
  const keyFunctions = new WeakMap<ServiceContext, JWTVerifyGetKey>()
  function keyFunctionFor(ctx: ServiceContext): JWTVerifyGetKey {
    let keyFunction = keyFunctions.get(ctx)
    if (keyFunction === undefined) {
      keyFunction = (header) => {
        if (header.jku !== undefined || header.x5u !== undefined || header.jwk !== undefined || header.x5c !== undefined) throw new OAuthError('invalid_token', 'the access token names its own key', 401)
        if (typeof header.kid !== 'string') return acceptKey(undefined, header.alg)
        const loaded = ctx.keys.loadedKey(header.kid)
        return loaded ? acceptKey(loaded, header.alg) : ctx.keys.verificationKey(header.kid).then((found) => acceptKey(found, header.alg))
      }
      keyFunctions.set(ctx, keyFunction)
    }
    return keyFunction
  }

  async function verifyJWT(ctx: ServiceContext, token: string, audiences: string[]): Promise<Verified> {
    const segment = token.slice(0, token.indexOf('.'))
    const known = keyForKnownHeader(ctx, segment)
    let payload: JWTPayload
    let header: JWTHeaderParameters
    try {
      ;({ payload, protectedHeader: header } = await jwtVerify(token, known !== undefined ? known.publicKey : keyFunctionFor(ctx), verifyOptionsFor(ctx, audiences)))
    } catch (err) {
      if (err instanceof OAuthError || err instanceof StoreUnavailableError) throw err // a key lookup that could not reach the store: 503, not a verdict on the token
      const code = (err as { code?: string }).code
      const description =
        code === 'ERR_JWT_EXPIRED' ? 'the access token has expired'
        : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'the access token signature is invalid'
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `the access token ${(err as { claim?: string }).claim ?? 'claims'} claim is not valid here`
        : code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID' ? 'the access token is malformed'
        : 'the access token is invalid'
      throw new OAuthError('invalid_token', description, 401)
    }
    const parsed = verifiedClaimsSchema.safeParse(payload)
    if (!parsed.success) throw new OAuthError('invalid_token', 'the access token claims are malformed', 401)
    // jose checks iat only against a maximum age; a token from the future is not one we issued.
    if (parsed.data.iat * 1000 > ctx.now() + leeway * 1000) throw new OAuthError('invalid_token', 'the access token iat claim is in the future', 401)
    const claims = parsed.data
    // The key function accepted only a string `kid` of ours with its key's own `alg`.
    const kid = header.kid!
    if (known === undefined) {
      if (knownHeaders.size >= KNOWN_HEADERS) knownHeaders.clear()
      knownHeaders.set(segment, { kid, alg: header.alg })
    }
    const verified: Verified = {
      // Cached and shared by every request with the token: frozen, claims included.
      principal: freezePrincipal({
        subject: claims.sub,
        clientId: claims.client_id,
        scopes: claims.scope ? claims.scope.split(' ') : [],
        audience: Array.isArray(claims.aud) ? claims.aud : [claims.aud],
        kind: 'jwt',
        expiresAt: claims.exp === undefined ? null : claims.exp * 1000,
        username: claims.sub !== claims.client_id ? claims.sub : null,
        claims,
      }),
      mode: claims.iss === issuers?.[1] ? 'acl' : 'policy',
      kid,
    }
    if (!jwtCacheOn) return verified
    const entry: CachedJWT = { ...verified, token }
    if (verified.principal.expiresAt !== null) jwtCache.set(jwtCacheKey(token), entry, verified.principal.expiresAt + leeway * 1000)
    else jwtCache.set(jwtCacheKey(token), entry, ctx.now() + 3_600_000)
    return verified
  }

  async function verifyOpaque(ctx: ServiceContext, digest: string): Promise<Verified> {
    let entry = opaqueCache.get(digest)
    if (entry === undefined) {
      const startedAt = drops
      const record = await lookup(ctx, digest, startedAt)
      const now = ctx.now()
      const cacheable = !revokedSince(startedAt, digest, record)
      if (!record) {
        if (cacheable) opaqueCache.set(digest, NEGATIVE, now + negativeMaxAge)
        entry = NEGATIVE
      } else {
        entry = { record }
        if (cacheable) opaqueCache.set(digest, entry, Math.min(now + opaqueMaxAge, record.expiresAt ?? Number.POSITIVE_INFINITY))
      }
    }
    if (entry === NEGATIVE) throw new OAuthError('invalid_token', 'the access token is invalid', 401)
    const { record } = entry
    if (record.environment !== ctx.resolved.config.environment.name) throw new OAuthError('invalid_token', 'the access token is invalid', 401)
    if (record.revokedAt !== null) throw new OAuthError('invalid_token', 'the access token has been revoked', 401)
    if (record.expiresAt !== null && record.expiresAt <= ctx.now()) throw new OAuthError('invalid_token', 'the access token has expired', 401)
    // Made once per cached record and shared by every request with the token: frozen.
    entry.principal ??= freezePrincipal(toPrincipalFromRecord(record))
    return { principal: entry.principal, mode: record.binding.kind === 'credential' ? 'acl' : 'policy' }
  }

  function guard<C extends AccessTokenClaims = AccessTokenClaims>(proxy: ProxyConfig, guardOptions: GuardOptions<C> = {}, failure: (error: unknown) => Response) {
    // Read once: changing the options object later does not change (or weaken) this guard.
    const realm = guardOptions.realm === undefined ? proxy.name : nonEmptyString(guardOptions.realm, 'realm')
    const scopes: unknown = guardOptions.scopes ?? []
    if (!Array.isArray(scopes) || !scopes.every((s): s is string => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
      throw invalidArgument('"scopes" must be an array of scope tokens (RFC 6749 §3.3)')
    }
    const required: readonly string[] = Object.freeze([...scopes])
    const allowQuery = optionalBoolean(guardOptions.allowQueryToken, 'allowQueryToken') === true
    const claimsSchema = guardOptions.claims === undefined ? undefined : claimsSchemaOption<C>(guardOptions.claims, accessTokenClaimsSchema)

    let accepts: ReturnType<typeof whatProxyAccepts> | undefined

    return async function checkRequest(request: Request, clientIPOf: () => string | undefined): Promise<GuardResult<C>> {
      let extracted: ReturnType<typeof extractBearerToken>
      try {
        extracted = extractBearerToken(request, { allowQuery })
      } catch (err) {
        return { ok: false, response: bearerChallenge({ realm, error: 'invalid_request', description: (err as Error).message }) }
      }
      if (extracted === null) return { ok: false, response: bearerChallenge({ realm }) }
      const { token } = extracted
      const jwt = hasThreeSegments(token)
      const cached = jwt ? lookupJWT(token) : undefined
      // A token in the verified cache passed the syntax check when it was first seen.
      if (extracted.fromHeader && cached === undefined && !isB64Token(token)) {
        return { ok: false, response: bearerChallenge({ realm, error: 'invalid_request', description: 'the Authorization header is malformed' }) }
      }
      try {
        const ctx = currentContext() ?? (await getContext())
        const { audiences, modes, neverExpires } = (accepts ??= whatProxyAccepts(ctx, proxy))
        const verified = (cached && cachedJWT(ctx, cached, audiences)) || (jwt ? await verifyJWT(ctx, token, audiences) : await verifyOpaque(ctx, await sha256(token)))
        const { principal } = verified
        if (!modes.includes(verified.mode)) throw new OAuthError('invalid_token', 'the access token is not valid for this API', 401)
        if (!principal.audience.some((a) => audiences.includes(a))) throw new OAuthError('invalid_token', 'the access token is not valid for this API', 401)
        // A token without expiry is only acceptable where a policy issues such tokens.
        if (principal.expiresAt === null && !neverExpires && !(verified.mode === 'acl' && ctx.resolved.clients.get(principal.clientId)?.policy.neverExpires)) {
          throw new OAuthError('invalid_token', 'the access token has no expiry', 401)
        }
        if (verified.mode === 'acl') {
          const client = ctx.resolved.clients.get(principal.clientId)
          const refusal = aclRefusal(client?.credential ?? undefined, proxy, request.method, ctx.now())
          if (refusal) throw new OAuthError('invalid_token', refusal, 401)
          const allowList = client!.credential!.ipAllowList
          if (allowList.length > 0) {
            const clientIP = clientIPOf()
            if (clientIP === undefined || !ipAllowed(allowList, clientIP)) throw new OAuthError('invalid_token', 'the access token may not be used from this address', 401)
          }
        }
        const missing = required.filter((s) => !principal.scopes.includes(s))
        if (missing.length > 0) return { ok: false, response: bearerChallenge({ realm, error: 'insufficient_scope', description: 'the access token lacks a required scope', scope: required }) }
        if (claimsSchema && principal.claims) {
          const parsed = zm.safeParse(claimsSchema as unknown as zm.ZodMiniType<C>, principal.claims)
          if (!parsed.success) throw new OAuthError('invalid_token', 'the access token claims are not valid for this API', 401)
          return { ok: true, principal: freezePrincipal({ ...principal, claims: parsed.data }) }
        }
        return { ok: true, principal: principal as Principal<C> }
      } catch (err) {
        if (err instanceof OAuthError && err.error === 'invalid_token') return { ok: false, response: bearerChallenge({ realm, error: 'invalid_token', description: err.message }) }
        return { ok: false, response: failure(err) }
      }
    }
  }

  return {
    guard,
    close() {
      unsubscribe?.()
    },
    clearJWT() {
      jwtCache.clear()
    },
    async forgetPrevious(of, at) {
      const owner = await ownerKey(of)
      dropLocal({ owner })
      // The value (the revocation time) is for instances of earlier versions, which compare it.
      if (shared) await shared.set(`ro:${owner}`, String(at), SHARED_MAX_AGE)
      await bus?.publish({ owner })
    },
    async forget(event) {
      dropLocal(event)
      if (shared && event.digest !== undefined) await shared.delete(`at:${event.digest}`)
      // Shared entries of the family's access tokens are unknown by digest: mark the family for as
      // long as such an entry can live.
      if (shared && event.familyId !== undefined) await shared.set(`rf:${event.familyId}`, '1', SHARED_MAX_AGE)
      await bus?.publish(event)
    },
    stats() {
      return {
        jwt: { size: jwtCache.size, hits: jwtCache.hits, misses: jwtCache.misses },
        opaque: { size: opaqueCache.size, bytes: opaqueCache.bytes, hits: opaqueCache.hits, misses: opaqueCache.misses },
      }
    },
  }
}
