/**
 * The token service: one environment's token endpoints as a Fetch handler.
 *
 * @module
 */
import { StoreUnavailableError } from '../shared/errors.js'
import { invalidArgument } from '../shared/lib/args.js'
import { resolveConfig, type ResolvedConfig } from './config/resolve.js'
import type { GatepassConfigInput } from './config/schema.js'
import { createKeyManager, type KeyManager } from './keys.js'
import { errorResponse, json, OAuthError, safeDescription } from './lib/responses.js'
import { pathnameOf } from './lib/url-path.js'
import { hashPassword } from './secrets.js'
import { createMemoryStore } from './store/memory.js'
import { guardStore } from './store/guarded.js'
import type { TokenStore } from './store/types.js'
import { CredentialsRefused, invalidClient, readClientCredentials } from './token-endpoint/client-auth.js'
import type { IdentitySource, ServiceContext } from './token-endpoint/context.js'
import { readParameters } from './token-endpoint/form.js'
import { authenticateClient, clientCredentialsGrant, issue, passwordGrant, refreshTokenGrant, regenerateJWT, ReuseDetected, type GrantNote } from './token-endpoint/grants.js'
import type { FetchHandler, RequestContext } from './types.js'
import { base64url } from 'jose'
import type { AccessTokenClaims } from '../shared/schemas.js'
import { checkCleanupOptions, runCleanup, startCleanup, type CleanupOptions } from './cleanup.js'
import { createEdge } from './edge.js'
import type { GuardResult, Principal } from './principal.js'
import { introspect, revoke } from './token-endpoint/introspect.js'
import { createValidator, type GuardOptions, type ValidationOptions } from './validation/guard.js'
import { checkValidationOptions } from './validation/options.js'
import { checkServiceOptions, optionalBoolean } from './service-options.js'
import { optionsObject } from './verifiers/common.js'
import { auditEvent, type AuditEvent, type AuditNotes } from './audit.js'
import { checkRateLimitOptions, createRateLimiter, type Attempt } from './rate-limit/limiter.js'
import type { RateLimitOptions } from './rate-limit/types.js'
import { createForwarder, type ProxyHandlerOptions } from './validation/proxy-handler.js'

/**
 * Options of {@link createTokenService}.
 *
 * @group Token Service
 */
export interface TokenServiceOptions {
  /** Where tokens, refresh families and keys live. Default: a new in-memory store. */
  store?: TokenStore
  /** Environment variables for `{"env": "NAME"}` secret references (pass `process.env` on Node). */
  env?: Record<string, string | undefined>
  /** Verifies username/password for the password grant instead of the configured `users`. */
  identitySource?: IdentitySource
  /** Clock, epoch ms (tests). Default `Date.now`. */
  now?: () => number
  /** Called with unexpected errors (never with secrets); default: none. */
  onError?: (error: unknown) => void
  /**
   * Called with the audit event of every token-endpoint request (issued, refreshed, refused and
   * why, revoked, refresh-token reuse), after the answer is ready and without waiting for it.
   * Events carry no secret or token. Default: none.
   */
  onAudit?: (event: AuditEvent) => void | Promise<void>
  /** Validation caches and clock leeway. */
  validation?: ValidationOptions
  /** Delete expired tokens periodically (started by `ready()`, stopped by `close()`); `false` to disable. Default: every 60 s. */
  cleanup?: CleanupOptions | false
  /**
   * Brute-force protection of the token endpoints: failed authentications counted per client IP,
   * client id and user, `429 slow_down` once a limit is reached. On by default (30 per IP, 100
   * per client, 10 per user, per minute, counted in process); `false` turns it off. When not
   * given, the configuration's `rateLimit` applies.
   */
  rateLimit?: RateLimitOptions | false
}

/**
 * A handler behind `protect()`: gets the request, the verified principal and the adapter context.
 *
 * @group Validation
 */
export type ProtectedHandler<C extends AccessTokenClaims = AccessTokenClaims> = (request: Request, principal: Principal<C>, context: RequestContext) => Response | Promise<Response>

/**
 * A running token service.
 *
 * @group Token Service
 */
export interface TokenService {
  /** The Fetch handler serving every token endpoint. */
  fetch: FetchHandler
  /** Validates secrets, loads or generates the signing keys. Called by `fetch` on first use. */
  ready(): Promise<void>
  /** Releases the store. */
  close(): Promise<void>
  /** What the service serves (for start-up banners and admin tools). */
  describe(): { issuer: string; environment: string; clients: Array<{ clientId: string; mode: 'policy' | 'acl'; target: string }>; proxies: Array<{ name: string; path: string; upstream: string | null }> }
  /**
   * Checks a request to an API proxy: Bearer token, signature or store lookup, audience, expiry,
   * revocation, ACL grants, client IP, required scopes.
   *
   * @param proxyName A configured proxy (an unknown name throws now).
   * @param options Required scopes, claims schema, query-token opt-in, realm.
   * @returns A function resolving to `{ ok: true, principal }` or `{ ok: false, response }` (an RFC 6750 challenge to send as is).
   */
  guard<C extends AccessTokenClaims = AccessTokenClaims>(proxyName: string, options?: GuardOptions<C>): (request: Request, context?: RequestContext) => Promise<GuardResult<C>>
  /**
   * Wraps a Fetch handler with the guard (and the proxy's CORS): the handler runs only for
   * verified requests and receives the principal.
   *
   * @param proxyName A configured proxy.
   * @param handler Your API handler.
   * @param options Guard options.
   * @returns A Fetch handler.
   */
  protect<C extends AccessTokenClaims = AccessTokenClaims>(proxyName: string, handler: ProtectedHandler<C>, options?: GuardOptions<C>): FetchHandler
  /**
   * A guarded reverse proxy to the proxy's upstream: token removed, identity headers added,
   * hop-by-hop headers and client-supplied `Forwarded` / `X-Real-IP` dropped, `X-Forwarded-For` rebuilt, 502/504 on upstream failures.
   *
   * @param proxyName A configured proxy.
   * @param options Upstream (default: the configured one), header names, timeout; guard options.
   * @returns A Fetch handler; requests are expected under the proxy's `path`.
   */
  proxy(proxyName: string, options?: ProxyHandlerOptions & GuardOptions): FetchHandler
  /**
   * Rotates the environment's signing keys: new keys sign from now on, the old ones stay in the
   * JWKS and keep verifying until the longest access-token lifetime has passed. With
   * `{ invalidate: true }` (key compromise) the old keys are deleted: every JWT issued so far
   * stops validating, never-expiring ones included. Other instances on the same store re-read the
   * keys at once when a `revocationBus` connects them (e.g. `gatepass/server/redis`), else within
   * a minute.
   *
   * @param options `invalidate` to drop the old keys at once.
   */
  rotateKeys(options?: { invalidate?: boolean }): Promise<void>
  /**
   * Brings in a signing key made elsewhere (an "upload"): a PKCS#8 PEM (`-----BEGIN PRIVATE
   * KEY-----`) or a private JWK. It becomes the active key of its algorithm at once; the key it
   * replaces is retired and keeps verifying, as with {@link TokenService.rotateKeys}. The private
   * key is stored sealed with the environment's `keyEncryptionKey` when one is configured. Other
   * instances re-read the keys at once when a `revocationBus` connects them, else within a minute.
   *
   * @param key The private key.
   * @param options `alg`: one of the algorithms the environment signs with; default the
   *   environment's `algorithm`.
   * @returns The new key's `kid` (its RFC 7638 thumbprint).
   * @throws `TypeError` (`ERR_INVALID_ARG_VALUE`) when the key is not a private key of that
   *   algorithm, is RSA under 2048 bits, encrypted, PKCS#1, or already in the key set.
   * @example Import a key from a file
   *
   * ```ts
   * import { readFile } from 'node:fs/promises'
   * import type { TokenService } from 'gatepass/server'
   *
   * let service!: TokenService
   * const kid = await service.importKey(await readFile('signing-key.pem', 'utf8'), { alg: 'RS256' })
   * console.log(`now signing with ${kid}`)
   * ```
   */
  importKey(key: string | JsonWebKey, options?: { alg?: string }): Promise<string>
  /**
   * Deletes expired tokens and exhausted refresh families now (for cron jobs and serverless, where
   * no interval runs).
   *
   * @returns How many rows were deleted.
   */
  cleanup(): Promise<number>
  /** Validation cache statistics (hits, misses, sizes). */
  stats(): ReturnType<ReturnType<typeof createValidator>['stats']>
}

/** What `fetch` learns of a request while routing it: for CORS, the brute-force limits and the audit event. */
interface RequestState extends AuditNotes {
  mode?: 'policy' | 'acl'
}

/** The answers to failures that are not OAuth refusals. */
const STORE_DOWN = { error: 'temporarily_unavailable', description: 'the token store is temporarily unavailable; retry later' } as const
const INTERNAL = { error: 'server_error', description: 'internal error' } as const

const ROUTES = /^\/(auth|credential)(\/token|\/jwt|\/jwt\/regenerate|\/introspect|\/revoke|\/\.well-known\/jwks\.json|\/\.well-known\/oauth-authorization-server)$/

/**
 * Creates the token service of one environment: a Fetch handler serving `POST {base}/token`,
 * `POST {base}/jwt`, `POST {base}/jwt/regenerate`, `GET {base}/.well-known/jwks.json` and
 * `GET {base}/.well-known/oauth-authorization-server` under `/auth` (policy mode) and
 * `/credential` (ACL mode).
 *
 * Available from `'gatepass/server'`.
 *
 * @param config The configuration, validated now: a bad config throws one `ConfigError` listing every bad field by path.
 * @param options Store, environment variables, identity source, clock.
 * @returns A service whose `fetch` you mount in any Fetch-compatible framework, or serve on Node
 *   with `serve()` from `'gatepass/server/node'`.
 * @example A client-credentials JWT issuer
 *
 * ```ts
 * import { createTokenService } from 'gatepass/server'
 *
 * const service = createTokenService({
 *   environment: { name: 'prod', issuer: 'https://gw.example.com' },
 *   proxies: [{ name: 'orders', clientId: 'orders-app', clientSecret: { env: 'ORDERS_SECRET' } }],
 * }, { env: { ORDERS_SECRET: 'a-long-random-secret' } })
 *
 * const response = await service.fetch(new Request('https://gw.example.com/auth/token', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/x-www-form-urlencoded' },
 *   body: 'grant_type=client_credentials&client_id=orders-app&client_secret=a-long-random-secret',
 * }))
 * ```
 *
 * @group Token Service
 */
export function createTokenService(config: GatepassConfigInput | unknown, options: TokenServiceOptions = {}): TokenService {
  if (typeof config !== 'object' || config === null) throw invalidArgument('"config" must be an object', 'ERR_INVALID_ARG_TYPE')
  checkServiceOptions(options)
  const resolved = resolveConfig(config, options.env)
  if (options.cleanup !== undefined && options.cleanup !== false) checkCleanupOptions(options.cleanup)
  checkValidationOptions(options.validation)
  const rateLimit = checkRateLimitOptions(options.rateLimit)
  const store = guardStore(options.store ?? createMemoryStore())
  const now = options.now ?? Date.now
  let keys: KeyManager | undefined
  let ctx: ServiceContext | undefined
  let starting: Promise<ServiceContext> | undefined
  let dummy: Promise<string> | undefined
  let dummyClient: Promise<string> | undefined
  let stopCleanup: (() => void) | undefined

  async function start(): Promise<ServiceContext> {
    await resolved.hashSecrets()
    const env = resolved.config.environment
    let kek: CryptoKey | null = null
    if (env.keyEncryptionKey) {
      const raw = options.env?.[env.keyEncryptionKey.env]
      const bytes = raw === undefined ? undefined : base64url.decode(raw)
      if (!bytes || bytes.byteLength !== 32) throw invalidArgument(`environment variable "${env.keyEncryptionKey.env}" must hold 32 bytes, base64url`)
      kek = await crypto.subtle.importKey('raw', bytes as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt'])
    }
    keys ??= createKeyManager({ store, environment: env.name, algorithms: resolved.algorithms, kek, now })
    await keys.ready()
    if (options.cleanup !== false && !stopCleanup) stopCleanup = startCleanup(store, now, { ...options.cleanup, onError: options.onError })
    return {
      resolved,
      store,
      keys,
      now,
      identitySource: options.identitySource,
      onError: options.onError,
      forget: (event) => validator.forget(event),
      forgetPrevious: (of, at) => validator.forgetPrevious(of, at),
      dummyPasswordHash: () => (dummy ??= hashPassword(crypto.randomUUID())),
      dummyClientSecretHash: () => (dummyClient ??= hashPassword(crypto.randomUUID(), { iterations: resolved.clientSecretIterations ?? undefined })),
    }
  }

  function ready(): Promise<ServiceContext> {
    if (ctx) return Promise.resolve(ctx)
    starting ??= start().then(
      (c) => (ctx = c),
      (err: unknown) => {
        starting = undefined
        throw err
      },
    )
    return starting
  }

  const edge = createEdge(resolved)
  const onAudit = options.onAudit
  // The options' limits, else the configuration's (which never carries a store).
  const limits = rateLimit ?? resolved.config.rateLimit
  const limiter = limits === false ? undefined : createRateLimiter(limits ?? {}, resolved.config.environment.name, now, options.onError)
  const publicClients = [...resolved.clients.values()].some((c) => c.policy.publicClients)
  const validator = createValidator(ready, options.validation, now, () => ctx)
  const bus = options.validation?.revocationBus
  // Another instance rotated the keys: re-read them now rather than at the next minutely refresh.
  // So does a bus that may have missed such an event.
  const stopKeyEvents = bus?.subscribe((event) => {
    if ((event.keys !== resolved.config.environment.name && event.missed !== true) || !keys) return
    void keys.reload().then(
      () => validator.clearJWT(),
      (err: unknown) => options.onError?.(err),
    )
  })
  const mounted = resolved.config.proxies
    .filter((p) => p.upstream !== undefined)
    .map((p) => ({ prefix: `${p.path ?? `/apigateway/${p.name}`}`.replace(/\/+$/, ''), handler: proxy(p.name) }))

  function findProxy(proxyName: string) {
    const found = resolved.config.proxies.find((p) => p.name === proxyName)
    if (!found) throw invalidArgument(`"proxyName" must name a configured proxy; "${proxyName}" is not one`)
    return found
  }

  function guard<C extends AccessTokenClaims = AccessTokenClaims>(proxyName: string, guardOptions?: GuardOptions<C>) {
    optionsObject(guardOptions)
    const target = edge.api(findProxy(proxyName))
    const check = validator.guard(findProxy(proxyName), guardOptions, failure)
    return function guardRequest(request: Request, context: RequestContext = {}): Promise<GuardResult<C>> {
      return check(request, () => target.resolveIP(request, context.remoteAddress).clientIP)
    }
  }

  function protect<C extends AccessTokenClaims = AccessTokenClaims>(proxyName: string, handler: ProtectedHandler<C>, guardOptions?: GuardOptions<C>): FetchHandler {
    if (typeof handler !== 'function') throw invalidArgument('"handler" must be a function', 'ERR_INVALID_ARG_TYPE')
    const { cors } = edge.api(findProxy(proxyName))
    const check = guard(proxyName, guardOptions)
    return async function protectedHandler(request: Request, context: RequestContext = {}): Promise<Response> {
      const preflight = cors?.preflight(request)
      if (preflight) return preflight
      const result = await check(request, context)
      const response = result.ok ? await handler(request, result.principal, context) : result.response
      return cors ? cors.apply(request, response) : response
    }
  }

  function proxy(proxyName: string, options?: ProxyHandlerOptions & GuardOptions): FetchHandler {
    const proxyOptions = optionsObject(options)
    const config = findProxy(proxyName)
    const upstream = proxyOptions.upstream ?? config.upstream
    if (upstream === undefined) throw invalidArgument(`proxy "${proxyName}" has no upstream; pass { upstream }`)
    const target = edge.api(config)
    const forward = createForwarder(`${config.path ?? `/apigateway/${config.name}`}`.replace(/\/+$/, ''), upstream, proxyOptions)
    return protect(proxyName, (request, principal, context) => {
      const { trustedChain } = target.resolveIP(request, context.remoteAddress)
      return forward(request, principal, context.remoteAddress, trustedChain)
    }, proxyOptions)
  }

  async function route(request: Request, context: ServiceContext, adapter: RequestContext, state: RequestState): Promise<Response> {
    const env = context.resolved.config.environment
    const pathname = pathnameOf(request.url)
    for (const m of mounted) {
      if (pathname === m.prefix || pathname.startsWith(`${m.prefix}/`)) return m.handler(request, adapter)
    }
    if (!pathname.startsWith(env.basePath)) return notFound()
    const match = ROUTES.exec(pathname.slice(env.basePath.length))
    if (!match) return notFound()
    const mode = match[1] === 'auth' ? 'policy' : 'acl'
    state.mode = mode
    const endpoint = match[2]!
    const preflight = edge.tokenCORS(mode, undefined, request.headers.get('origin'))?.preflight(request)
    if (preflight) return preflight
    const base = `${issuerBase(request, env)}${env.basePath}/${match[1]}`
    if (endpoint.startsWith('/.well-known/')) {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new OAuthError('invalid_request', 'the method must be GET', 405, { allow: 'GET, HEAD' })
      if (endpoint === '/.well-known/jwks.json') return json(context.keys.jwks(), 200, { 'cache-control': 'public, max-age=300' })
      return json(metadata(`${env.issuer}${env.basePath}/${match[1]}`, base), 200, { 'cache-control': 'public, max-age=300' })
    }
    state.endpoint = endpoint.slice(1) as AuditEvent['endpoint']
    const realm = `${env.issuer}${env.basePath}/${match[1]}`
    const management = endpoint === '/introspect' || endpoint === '/revoke'
    if (management && request.method === 'GET') throw new OAuthError('invalid_request', 'the method must be POST', 405, { allow: 'POST' })
    const { params, fromQuery } = await readParameters(request, env.maxBodyBytes)
    const grantType = params.get('grant_type')
    state.grantType = grantType
    const regenerate = endpoint === '/jwt/regenerate'
    const presented = readClientCredentials(request, params, realm, { basicAllowed: !regenerate })
    const clientIP = edge.token(mode, presented?.clientId).resolveIP(request, adapter.remoteAddress).clientIP
    const username = !management && !regenerate && grantType === 'password' ? params.get('username') : undefined
    state.attempt = { ip: clientIP, clientId: presented?.clientId, username }
    if (management && presented?.method !== 'client_secret_basic') throw invalidClient(realm, 'HTTP Basic client authentication is required')
    // before any secret is checked: a guess made while locked out learns nothing
    if (limiter) await limiter.check(state.attempt)
    const client = await authenticateClient(context, presented, mode, realm, regenerate || management ? undefined : grantType, clientIP)
    state.client = client
    const note: GrantNote = (grant) => (state.grant = grant)
    if (endpoint === '/introspect') return introspect(context, client, params)
    if (endpoint === '/revoke') return revoke(context, client, params, context.forget)
    if (fromQuery && !client.policy.allowUrlParameters) throw new OAuthError('invalid_request', 'parameters in the URL are not allowed for this client; send a POST form body', 405, { allow: 'POST' })
    if (regenerate) return regenerateJWT(context, client, request, note)
    if (endpoint === '/jwt' && client.policy.format !== 'jwt') throw new OAuthError('invalid_request', 'this client is issued opaque tokens; use the token endpoint')
    switch (grantType) {
      case undefined:
        throw new OAuthError('invalid_request', 'the grant_type parameter is required')
      case 'client_credentials':
      case 'password':
        if (!client.policy.grants.includes(grantType)) throw new OAuthError('unauthorized_client', `the ${grantType} grant is not enabled for this client`)
      {
        const decision = grantType === 'password' ? await passwordGrant(context, client, params) : clientCredentialsGrant(context, client, params)
        const response = await issue(context, decision)
        note(decision)
        return response
      }
      case 'refresh_token':
        return refreshTokenGrant(context, client, params, endpoint === '/jwt' ? 'jwt' : 'token', presented?.clientSecret == null, note)
      default:
        throw new OAuthError('unsupported_grant_type', 'the grant type is not supported')
    }
  }

  function issuerBase(request: Request, env: ResolvedConfig['config']['environment']): string {
    if (!env.trustForwardedHeaders) return env.issuer
    const proto = request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim()
    const host = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim()
    if (!proto || !host || !/^https?$/.test(proto) || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return env.issuer
    return `${proto}://${host}`
  }

  /** RFC 8414 metadata: `issuer` is always the configured one (the JWT `iss`); endpoint URLs may follow trusted forwarded headers. */
  function metadata(issuer: string, base: string) {
    return {
      issuer,
      token_endpoint: `${base}/token`,
      jwt_token_endpoint: `${base}/jwt`,
      introspection_endpoint: `${base}/introspect`,
      revocation_endpoint: `${base}/revoke`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', 'password', 'refresh_token'],
      token_endpoint_auth_methods_supported: publicClients ? ['client_secret_basic', 'client_secret_post', 'none'] : ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic'],
      response_types_supported: [],
    }
  }

  /** Counts a refused secret or password; a counting failure never changes the answer. */
  async function countFailure(err: CredentialsRefused, attempt: Attempt): Promise<void> {
    try {
      await (err.of === 'client' ? limiter!.clientFailed(attempt) : limiter!.userFailed(attempt))
    } catch (error) {
      options.onError?.(error)
    }
  }

  function failure(err: unknown): Response {
    if (err instanceof OAuthError) return errorResponse(err)
    options.onError?.(err)
    if (err instanceof StoreUnavailableError) return json({ error: STORE_DOWN.error, error_description: STORE_DOWN.description }, 503, { 'retry-after': '1' })
    return json({ error: INTERNAL.error, error_description: INTERNAL.description }, 500)
  }

  /** Tells `onAudit` what became of a token-endpoint request; a listener's failure goes to `onError`. */
  function audit(state: RequestState & { mode: 'policy' | 'acl'; endpoint: AuditEvent['endpoint'] }, status: number, err: unknown, started: number): void {
    const why = err === undefined ? {} : err instanceof OAuthError ? { error: err.error, description: safeDescription(err.message) } : err instanceof StoreUnavailableError ? STORE_DOWN : INTERNAL
    const reused = err instanceof ReuseDetected ? { reusedFamily: err.familyId } : {}
    const event = auditEvent(state, { status, ...why, ...reused }, resolved.config.environment.name, now(), performance.now() - started)
    try {
      void Promise.resolve(onAudit!(event)).catch((error: unknown) => options.onError?.(error))
    } catch (error) {
      options.onError?.(error)
    }
  }

  async function fetch(request: Request, adapter: RequestContext = {}): Promise<Response> {
    const state: RequestState = {}
    const started = onAudit ? performance.now() : 0
    let response: Response
    let error: unknown
    try {
      const context = await ready()
      response = await route(request, context, adapter, state)
    } catch (err) {
      if (err instanceof CredentialsRefused && limiter && state.attempt) await countFailure(err, state.attempt)
      error = err
      response = failure(err)
    }
    if (onAudit && state.mode !== undefined && state.endpoint !== undefined) audit({ ...state, mode: state.mode, endpoint: state.endpoint }, response.status, error, started)
    // Token endpoints answer browsers: CORS headers on every response, errors included.
    if (state.mode === undefined) return response
    const cors = edge.tokenCORS(state.mode, state.attempt?.clientId, request.headers.get('origin'))
    return cors ? cors.apply(request, response) : response
  }

  return {
    fetch,
    async ready() {
      await ready()
    },
    async close() {
      stopCleanup?.()
      stopKeyEvents?.()
      validator.close()
      await store.close()
    },
    async rotateKeys(options?: { invalidate?: boolean }) {
      // A key-compromise response must not quietly become a plain rotation (`invalidate: 'true'`).
      const invalidate = optionalBoolean(optionsObject(options).invalidate, 'invalidate') === true
      const context = await ready()
      const policies = [...context.resolved.clients.values()].map((c) => c.policy)
      const longest = Math.max(3600, ...policies.map((p) => (p.neverExpires ? 0 : p.accessTokenTtl)))
      await context.keys.rotate({ invalidate, retiredKeyLifetime: longest * 1000 })
      validator.clearJWT()
      await bus?.publish({ keys: resolved.config.environment.name })
    },
    async importKey(key, options?: { alg?: string }) {
      const env = resolved.config.environment
      const alg = optionsObject(options).alg ?? env.algorithm
      if (typeof alg !== 'string' || !resolved.algorithms.has(alg)) {
        throw invalidArgument(`"alg" must be one of the algorithms environment "${env.name}" signs with: ${[...resolved.algorithms].join(', ')}`)
      }
      const context = await ready()
      const kid = await context.keys.importKey(alg, key)
      await bus?.publish({ keys: env.name })
      return kid
    },
    async cleanup() {
      await ready()
      return runCleanup(store, now(), options.cleanup || {})
    },
    describe() {
      const env = resolved.config.environment
      return {
        issuer: env.issuer,
        environment: env.name,
        clients: [...resolved.clients.values()].map((c) => ({ clientId: c.clientId, mode: c.mode, target: c.binding.name })),
        proxies: resolved.config.proxies.map((p) => ({ name: p.name, path: p.path ?? `/apigateway/${p.name}`, upstream: p.upstream ?? null })),
      }
    },
    guard,
    protect,
    proxy,
    stats: () => validator.stats(),
  }
}

function notFound(): Response {
  return json({ error: 'invalid_request', error_description: 'no such endpoint' }, 404)
}
