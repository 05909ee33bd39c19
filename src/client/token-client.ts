/**
 * The stateful token client: obtains, caches and refreshes access tokens by itself.
 *
 * @module
 */
import { ResponseBodyError, WWWAuthenticateChallengeError } from '../shared/errors.js'
import { authorizationServerMetadataSchema } from '../shared/schemas.js'
import { invalidArgument } from '../shared/lib/args.js'
import { clientSecretBasic, none } from './client-auth.js'
import type { Client, ClientAuth } from './client-auth.js'
import { AbortedError, DiscoveryError, TokenExpiredError, TokenRequestError, UnexpectedResponseError } from './errors.js'
import { memoryCache } from './cache/memory.js'
import { tokenCacheKey } from './cache/key.js'
import type { TokenCache, TokenCacheEntry } from './cache/types.js'
import { createCrossTab } from './cross-tab.js'
import type { CrossTab } from './cross-tab.js'
import { errorFromResponse, readJSON, retryAfterMs, statusOf, toIssues } from './lib/http.js'
import { clientCredentialsGrantRequest, passwordGrantRequest, refreshTokenGrantRequest, resourceList, scopeString } from './requests.js'
import type { AuthorizationServer, TokenRequestOptions } from './requests.js'
import { processTokenResponse, resolveLenient } from './responses.js'
import { assertFunction, assertNonEmptyString, assertObject, assertSignal, assertString, booleanOption, hasMethods, numberOption, objectOption, urlString } from './lib/options.js'
import type { LenientOptions, TokenEndpointResult } from './responses.js'
import * as z from 'zod/mini'

/**
 * Option key of a custom `fetch` implementation (e.g. one that adds tracing, or a mock). The
 * function receives a `Request` and must return a `Response`. Default: the global `fetch`, looked
 * up on every request (so mocks installed later apply).
 *
 * @example Trace token requests
 *
 * ```ts
 * import { createTokenClient, customFetch } from 'gatepass/client'
 *
 * const tokens = createTokenClient({
 *   tokenEndpoint: 'https://id.example.com/auth/token',
 *   clientId: 'billing',
 *   clientSecret: 'secret',
 *   grant: 'client_credentials',
 *   [customFetch]: async (request) => {
 *     console.time(request.url)
 *     try {
 *       return await fetch(request)
 *     } finally {
 *       console.timeEnd(request.url)
 *     }
 *   },
 * })
 * ```
 *
 * @group Token Client
 */
export const customFetch: unique symbol = Symbol('gatepass.customFetch')

/**
 * A `fetch`-compatible function.
 *
 * @group Token Client
 */
export type FetchLike = (input: Request) => Promise<Response>

/**
 * The resource owner password credentials grant (RFC 6749 §4.3).
 *
 * @group Token Client
 */
export interface PasswordGrant {
  /** Grant type. */
  type: 'password'
  /** The user's name; part of the cache key (hashed). */
  username: string
  /** The user's password: held in memory only, never cached. */
  password: string
}

/**
 * How the token client obtains tokens when it has none to refresh.
 *
 * @group Token Client
 */
export type Grant = 'client_credentials' | PasswordGrant

/**
 * Retry policy for transient failures (network errors, 408, 429, 5xx except 501/505).
 *
 * @group Token Client
 */
export interface RetryOptions {
  /** Retries after the first attempt: an integer from 0 to 2_147_483_647. Default `2`. */
  limit?: number
  /** First backoff delay in ms (0 to 2_147_483_647); doubles each retry (with jitter). Default `300`. */
  baseDelay?: number
  /** Cap of one backoff delay in ms (0 to 2_147_483_647). Default `10_000`. */
  maxDelay?: number
  /**
   * A `Retry-After` longer than this (ms, 0 to 2_147_483_647) fails at once instead of waiting.
   * Default `60_000`.
   */
  maxRetryAfter?: number
}

/**
 * Options of {@link createTokenClient}.
 *
 * @group Token Client
 */
export interface TokenClientOptions {
  /** The token endpoint URL (`http:` or `https:`). Give this or `issuer`. */
  tokenEndpoint?: string | URL
  /**
   * The issuer URL (`http:` or `https:`); the token endpoint is discovered from
   * `{issuer}/.well-known/oauth-authorization-server` (then the RFC 8414 form
   * `{origin}/.well-known/oauth-authorization-server{path}` on a 404). Give this or `tokenEndpoint`.
   */
  issuer?: string | URL
  /** The client id. */
  clientId: string
  /** How the client authenticates. Default: `clientSecretBasic(clientSecret)`, or `none()` without a secret. */
  clientAuth?: ClientAuth
  /** Shorthand for `clientAuth: clientSecretBasic(clientSecret)`. Never cached. */
  clientSecret?: string
  /** `'client_credentials'` or `{ type: 'password', username, password }`. */
  grant: Grant
  /**
   * Requested scope: a space-delimited string or a list of scope tokens (RFC 6749 §3.3: printable
   * ASCII except space, double quote and backslash; a list item must be one non-empty token).
   */
  scope?: string | readonly string[]
  /** RFC 8707 resource indicator(s): absolute URLs without a fragment. */
  resource?: string | readonly string[]
  /** Where tokens are kept. Default: a new {@link memoryCache}. */
  cache?: TokenCache
  /**
   * Refresh this many ms before expiry (0 to 2_147_483_647). Default `30_000`. Capped at half the
   * token's lifetime, so short-lived tokens are not refreshed on every call.
   */
  refreshSkew?: number
  /**
   * Up to this many extra ms (random, per token; 0 to 2_147_483_647) added to `refreshSkew`, so
   * fleets do not refresh in step. Default `5_000`.
   */
  jitter?: number
  /**
   * When a token is inside the refresh window but not expired, return it at once and refresh in the
   * background. Default `false` (callers wait for the refresh; if it fails they still get the
   * unexpired token).
   */
  backgroundRefresh?: boolean
  /** Retry policy for transient failures. */
  retry?: RetryOptions
  /**
   * Abort one attempt of a request to the authorization server after this many ms (it then counts
   * as a network failure and is retried): 0 to 2_147_483_647, the longest `setTimeout` delay. `0`
   * disables the timeout. Default `30_000`.
   */
  timeoutDuration?: number
  /** Lenient parsing of token responses for legacy servers. Default: strict. */
  lenient?: boolean | LenientOptions
  /**
   * Use the JWT `exp` (server clock) when the token response tells no lifetime (no `expires_in`).
   * It never overrides `expires_in`, so a skewed device clock does not make tokens look expired.
   * Default `true`.
   */
  jwtExpFallback?: boolean
  /**
   * Coordinate tabs of one origin: Web Locks (one tab refreshes at a time) and BroadcastChannel
   * (the others adopt its token). Each half is used only where it exists. Default `true`.
   */
  crossTab?: boolean
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number
  /** Custom `fetch`; see {@link customFetch}. */
  [customFetch]?: FetchLike
}

/**
 * A token as {@link TokenClient.getToken} returns it: the token response members in wire spelling
 * (without `refresh_token`, which the client keeps to itself) and `expiresAt`. Deeply frozen, and a
 * copy: nested members (e.g. `authorization_details`) are not shared with the cached entry.
 *
 * @group Token Client
 */
export interface TokenResult {
  /** The access token; send it as `Authorization: Bearer …`. */
  readonly access_token: string
  /** The token type, usually `Bearer`. */
  readonly token_type: string
  /** When it expires (epoch ms), or `null` when it does not. */
  readonly expiresAt: number | null
  /** Lifetime as the server sent it. */
  readonly expires_in?: number
  /** Granted scope, when the server sent it. */
  readonly scope?: string
  /** Extra members of the token response. */
  readonly [parameter: string]: unknown
}

/**
 * Why the client went to the token endpoint.
 *
 * - `missing`: no cached token; `expired`: the cached token expired; `expiring`: proactive refresh
 *   inside the skew window; `invalidated`: {@link TokenClient.invalidate}; `broadcast`: another tab
 *   published the token (no request was made).
 *
 * @group Token Client
 */
export type TokenReason = 'missing' | 'expired' | 'expiring' | 'invalidated' | 'broadcast'

/**
 * Payloads of the token client events.
 *
 * @group Token Client
 */
export interface TokenClientEvents {
  /** A new token was obtained (or adopted from another tab). */
  token: { token: TokenResult; grant: 'client_credentials' | 'password' | 'refresh_token' | null; reason: TokenReason }
  /** A new token replaced a cached one. Fires after `token`. */
  refresh: { token: TokenResult; grant: 'client_credentials' | 'password' | 'refresh_token'; reason: TokenReason }
  /**
   * Something failed. `recovered: true` when the client carried on (a rejected refresh token
   * followed by a full exchange, a cache failure, a failed background refresh while the old token
   * is still valid).
   */
  error: { error: unknown; reason: TokenReason | 'cache'; recovered: boolean }
}

/**
 * Options of {@link TokenClient.getToken} and {@link TokenClient.invalidate}.
 *
 * @group Token Client
 */
export interface GetTokenOptions {
  /** Aborts this call only (`AbortedError`); a token request shared with other callers goes on. */
  signal?: AbortSignal | null | undefined
}

/**
 * The token client returned by {@link createTokenClient}.
 *
 * @group Token Client
 */
export interface TokenClient {
  /**
   * Returns a valid token from the cache, or obtains one. Concurrent callers share one request.
   * Never returns a token it knows is expired.
   */
  getToken(options?: GetTokenOptions): Promise<TokenResult>
  /**
   * Declares a token rejected (e.g. a 401 `invalid_token` from an API) and returns a replacement.
   * Refreshes only when `token` is still the current one; otherwise returns the current token
   * without a request. Without `token`, always refreshes. If no replacement can be obtained now,
   * `getToken()` does not hand the rejected token out again: it keeps trying for a new one (until
   * the authorization server answers, even with the same token).
   */
  invalidate(token?: string, options?: GetTokenOptions): Promise<TokenResult>
  /**
   * Forgets the cached token (e.g. on logout). Makes no request. A token request already in flight
   * is discarded: its callers reject with `AbortedError` (`ERR_ABORTED`) and nothing it obtains is
   * cached or broadcast to other tabs; a token another tab obtained before the call is not
   * adopted. The next call starts afresh.
   */
  clear(): Promise<void>
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof TokenClientEvents>(event: E, listener: (payload: TokenClientEvents[E]) => void): () => void
  /** `true` while a token request is in flight. */
  readonly reloading: boolean
  /**
   * `true` when the token this client last read or wrote is outside the refresh window (a
   * `getToken()` now would make no request, unless another writer changed the cache).
   */
  readonly fresh: boolean
  /** Stops cross-tab listening and drops the listeners. The client still works, uncoordinated. */
  close(): void
}

const CURRENT: unique symbol = Symbol('current')

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505)
}

/** An `AbortSignal` that aborts after `ms`, where `AbortSignal.timeout` exists (0 = none). */
function timeoutSignal(ms: number): AbortSignal | undefined {
  return ms > 0 && typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(ms) : undefined
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function abortedError(signal: AbortSignal): AbortedError {
  return new AbortedError('the operation was aborted', { cause: signal.reason })
}

function withAbort<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(abortedError(signal))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * A deeply frozen copy of a JSON-like value, so a caller cannot change the cached entry (or what
 * the next caller gets) through a nested member such as `authorization_details`.
 */
function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  const copy = Array.isArray(value) ? value.map(frozenCopy) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, frozenCopy(v)]))
  return Object.freeze(copy) as T
}

/** Reports an exception thrown by an event listener without breaking the client. */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(error)
}

/** Validates all options up front, throwing `TypeError` with an `ERR_INVALID_ARG_*` code. */
function checkOptions(options: TokenClientOptions) {
  assertObject(options, 'options')
  const hasEndpoint = options.tokenEndpoint !== undefined
  const hasIssuer = options.issuer !== undefined
  if (hasEndpoint === hasIssuer) throw invalidArgument('exactly one of "tokenEndpoint" and "issuer" must be given')
  const tokenEndpoint = hasEndpoint ? urlString(options.tokenEndpoint, 'tokenEndpoint', { http: true }) : undefined
  let issuer: string | undefined
  if (hasIssuer) {
    const href = urlString(options.issuer, 'issuer', { http: true })
    // a string is kept as given: discovery compares it with the metadata's `issuer`
    issuer = typeof options.issuer === 'string' ? options.issuer : href
  }
  assertNonEmptyString(options.clientId, 'clientId')
  if (options.clientAuth !== undefined && options.clientSecret !== undefined) {
    throw invalidArgument('"clientAuth" and "clientSecret" cannot both be given')
  }
  if (options.clientAuth !== undefined) assertFunction(options.clientAuth, 'clientAuth')
  const clientAuth = options.clientAuth ?? (options.clientSecret !== undefined ? clientSecretBasic(options.clientSecret) : none())
  const grant: Grant = typeof options.grant === 'object' && options.grant !== null ? { ...options.grant } : options.grant
  if (grant !== 'client_credentials') {
    if (typeof grant !== 'object' || grant === null || grant.type !== 'password') {
      throw invalidArgument('"grant" must be "client_credentials" or { type: "password", username, password }')
    }
    assertNonEmptyString(grant.username, 'grant.username')
    assertString(grant.password, 'grant.password')
  }
  if (options.cache !== undefined && !hasMethods(options.cache, 'get', 'set', 'delete')) {
    throw invalidArgument('"cache" must implement get, set and delete', 'ERR_INVALID_ARG_TYPE')
  }
  const retry = objectOption(options.retry, 'retry')
  resolveLenient(options.lenient, 'lenient')
  const fetchImpl = options[customFetch]
  if (fetchImpl !== undefined) assertFunction(fetchImpl, '[customFetch]')
  if (options.now !== undefined) assertFunction(options.now, 'now')
  return {
    tokenEndpoint,
    issuer,
    clientAuth,
    grant,
    scope: scopeString(options.scope, 'scope'),
    resource: resourceList(options.resource, 'resource'),
    cache: options.cache ?? memoryCache(),
    refreshSkew: numberOption(options.refreshSkew, 'refreshSkew', 30_000),
    timeoutDuration: numberOption(options.timeoutDuration, 'timeoutDuration', 30_000),
    jitter: numberOption(options.jitter, 'jitter', 5_000),
    backgroundRefresh: booleanOption(options.backgroundRefresh, 'backgroundRefresh', false),
    retry: {
      limit: numberOption(retry.limit, 'retry.limit', 2, { integer: true }),
      baseDelay: numberOption(retry.baseDelay, 'retry.baseDelay', 300),
      maxDelay: numberOption(retry.maxDelay, 'retry.maxDelay', 10_000),
      maxRetryAfter: numberOption(retry.maxRetryAfter, 'retry.maxRetryAfter', 60_000),
    },
    lenient: options.lenient,
    jwtExpFallback: booleanOption(options.jwtExpFallback, 'jwtExpFallback', true),
    crossTab: booleanOption(options.crossTab, 'crossTab', true),
    now: options.now ?? (() => Date.now()),
    fetch: fetchImpl ?? ((request: Request) => globalThis.fetch(request)),
  }
}

/** The `signal` of the options of `getToken()` / `invalidate()`, checked. */
function signalOption(options: GetTokenOptions | undefined): AbortSignal | null | undefined {
  const { signal } = objectOption(options, 'options')
  assertSignal(signal, 'options.signal')
  return signal
}

/**
 * Creates a token client: it obtains tokens with the client credentials or password grant, caches
 * them, refreshes them before they expire (with the refresh token first, and a full exchange when
 * the refresh token is rejected), retries transient failures with capped exponential backoff, and
 * shares one request between concurrent callers (and, in browsers, between tabs).
 *
 * Options are checked at once: a bad option throws a `TypeError` with an `ERR_INVALID_ARG_*` code.
 *
 * Available from `'gatepass/client'`.
 *
 * @param options Endpoint, client, grant, cache and refresh policy.
 * @returns The client; call `getToken()` wherever you need a token, or pass it to
 *   {@link createAPIClient}.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`) for invalid options.
 * @example Machine-to-machine client
 *
 * ```ts
 * import { createTokenClient } from 'gatepass/client'
 *
 * let secret!: string
 * const tokens = createTokenClient({
 *   tokenEndpoint: 'https://id.example.com/auth/token',
 *   clientId: 'billing',
 *   clientSecret: secret,
 *   grant: 'client_credentials',
 *   scope: 'invoices:read',
 * })
 * const { access_token } = await tokens.getToken()
 * ```
 *
 * @example Discover the endpoint and watch refreshes
 *
 * ```ts
 * import { createTokenClient } from 'gatepass/client'
 *
 * let secret!: string
 * const tokens = createTokenClient({ issuer: 'https://id.example.com/auth', clientId: 'billing', clientSecret: secret, grant: 'client_credentials' })
 * const off = tokens.on('refresh', ({ grant, reason }) => console.log('refreshed', grant, reason))
 * off()
 * ```
 *
 * @see [RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4), [RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)
 * @group Token Client
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  const config = checkOptions(options)
  const { cache, clientAuth, grant, retry } = config
  const client: Client = { client_id: options.clientId }
  const grantOptions: TokenRequestOptions = {}
  if (config.scope !== undefined) grantOptions.scope = config.scope
  if (config.resource.length > 0) grantOptions.resource = config.resource
  const processOptions = { lenient: config.lenient, jwtExpFallback: config.jwtExpFallback, now: config.now }

  const listeners: { [E in keyof TokenClientEvents]: Set<(payload: TokenClientEvents[E]) => void> } = {
    token: new Set(),
    refresh: new Set(),
    error: new Set(),
  }
  function emit<E extends keyof TokenClientEvents>(event: E, payload: TokenClientEvents[E]): void {
    for (const listener of listeners[event]) {
      try {
        listener(payload)
      } catch (error) {
        reportListenerError(error)
      }
    }
  }

  // ---- cache key and cache access ----
  let key: string | undefined
  let keyPromise: Promise<string> | undefined
  let crossTab: CrossTab | undefined
  let closed = false

  async function getKey(): Promise<string> {
    keyPromise ??= tokenCacheKey({
      endpoint: config.tokenEndpoint ?? `issuer:${config.issuer}`,
      clientId: client.client_id,
      subject: grant === 'client_credentials' ? null : grant.username,
      scope: config.scope,
      resource: config.resource,
    })
    key = await keyPromise
    if (config.crossTab && !crossTab && !closed) crossTab = createCrossTab(key, adopt)
    return key
  }

  /** The last entry this client read or wrote: used when the cache fails. */
  let last: TokenCacheEntry | undefined
  /**
   * Incremented by `clear()`: a flight or an adoption that started before it must not write the
   * cache, set `last` or publish.
   */
  let generation = 0
  /** When `clear()` was last called (local clock): tokens obtained before then are not adopted. */
  let clearedAt = -Infinity

  async function readCache(k: string): Promise<TokenCacheEntry | undefined> {
    const gen = generation
    try {
      const entry = await cache.get(k)
      if (gen === generation) last = entry
      return entry
    } catch (error) {
      emit('error', { error, reason: 'cache', recovered: true })
      return last
    }
  }

  async function writeCache(k: string, entry: TokenCacheEntry): Promise<void> {
    last = entry
    try {
      await cache.set(k, entry)
    } catch (error) {
      emit('error', { error, reason: 'cache', recovered: true })
    }
  }

  async function adopt(entry: TokenCacheEntry): Promise<void> {
    const k = key
    if (k === undefined) return
    // a token obtained before clear() (a broadcast delivered late) is not adopted
    if (entry.uat <= clearedAt) return
    const gen = generation
    const current = await readCache(k)
    if (gen !== generation) return
    if (current && current.uat >= entry.uat) return
    if (entry.expiresAt !== null && entry.expiresAt <= config.now()) return
    await writeCache(k, entry)
    if (gen !== generation) return
    emit('token', { token: toResult(entry), grant: null, reason: 'broadcast' })
  }

  // ---- expiry policy ----
  const results = new WeakMap<TokenCacheEntry, TokenResult>()
  function toResult(entry: TokenCacheEntry): TokenResult {
    let result = results.get(entry)
    if (!result) {
      const { refresh_token: _refresh, uat: _uat, ...rest } = entry
      result = frozenCopy(rest) as TokenResult
      results.set(entry, result)
    }
    return result
  }

  let jitterFor: { token: string; offset: number } | undefined
  /** The last token an API rejected (`invalidate(token)`): never handed out again, whatever its expiry. */
  let rejectedByAPI: string | undefined

  function state(entry: TokenCacheEntry, now: number): 'fresh' | 'stale' | 'expired' {
    if (entry.access_token === rejectedByAPI) return 'expired'
    if (entry.expiresAt === null) return 'fresh'
    if (now >= entry.expiresAt) return 'expired'
    if (jitterFor?.token !== entry.access_token) jitterFor = { token: entry.access_token, offset: Math.random() * config.jitter }
    const lifetime = entry.expiresAt - entry.uat
    const refreshAt = Math.max(entry.expiresAt - config.refreshSkew - jitterFor.offset, entry.uat + lifetime / 2)
    return now < refreshAt ? 'fresh' : 'stale'
  }

  // ---- discovery ----
  let metadata: Promise<AuthorizationServer> | undefined
  function authorizationServer(): Promise<AuthorizationServer> {
    if (config.tokenEndpoint !== undefined) return Promise.resolve({ token_endpoint: config.tokenEndpoint })
    metadata ??= discover(config.issuer!).catch((error: unknown) => {
      metadata = undefined
      throw error
    })
    return metadata
  }

  async function discover(issuer: string): Promise<AuthorizationServer> {
    const url = new URL(issuer)
    const appended = `${issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`
    const get = (href: string) => (signal: AbortSignal | undefined) => new Request(href, signal ? { headers: { accept: 'application/json' }, signal } : { headers: { accept: 'application/json' } })
    let response = await send(get(appended), (r) => r)
    if (response.status === 404 && url.pathname !== '/') {
      void response.body?.cancel().catch(() => undefined)
      const inserted = `${url.origin}/.well-known/oauth-authorization-server${url.pathname.replace(/\/+$/, '')}`
      response = await send(get(inserted), (r) => r)
    }
    if (!response.ok) throw new DiscoveryError(`metadata request failed with status ${response.status}`, { cause: await errorFromResponse(response) })
    const body = await readJSON(response).catch((cause: unknown) => {
      throw new DiscoveryError('metadata is not JSON', { cause })
    })
    const parsed = z.safeParse(authorizationServerMetadataSchema, body)
    if (!parsed.success) throw new DiscoveryError('invalid authorization server metadata', { cause: toIssues(parsed.error) })
    const trim = (s: string) => s.replace(/\/+$/, '')
    if (trim(parsed.data.issuer) !== trim(issuer)) throw new DiscoveryError('metadata "issuer" does not match the configured issuer')
    if (!parsed.data.token_endpoint) throw new DiscoveryError('metadata has no "token_endpoint"')
    return parsed.data
  }

  // ---- HTTP with retries ----
  function backoff(attempt: number): number {
    const d = Math.min(retry.maxDelay, retry.baseDelay * 2 ** attempt)
    return d / 2 + Math.random() * (d / 2)
  }

  /**
   * Sends a request built by `build` and processes the response with `process`, retrying network
   * errors and transient statuses (honouring `Retry-After`).
   */
  async function send<T>(
    build: (signal: AbortSignal | undefined) => Request | Promise<Request>,
    process: (response: Response) => T | Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const request = await build(timeoutSignal(config.timeoutDuration))
      let response: Response
      try {
        response = await config.fetch(request)
      } catch (cause) {
        if (attempt < retry.limit) {
          await sleep(backoff(attempt))
          continue
        }
        throw new TokenRequestError('request to the authorization server failed', { cause })
      }
      if (isTransientStatus(response.status) && attempt < retry.limit) {
        const wait = retryAfterMs(response, config.now())
        if (wait === undefined || wait <= retry.maxRetryAfter) {
          void response.body?.cancel().catch(() => undefined)
          await sleep(wait ?? backoff(attempt))
          continue
        }
      }
      return process(response)
    }
  }

  async function requestToken(build: (as: AuthorizationServer, options: TokenRequestOptions) => Promise<Request>): Promise<TokenEndpointResult> {
    const as = await authorizationServer()
    return send(
      (signal) => build(as, signal ? { ...grantOptions, signal } : grantOptions),
      (response) => processTokenResponse(response, processOptions),
    )
  }

  /**
   * Whether a failed refresh request was a definitive answer about the refresh token (so a full
   * grant should follow) rather than a transient failure (network, 408, 429, 5xx) to rethrow. An
   * RFC 6749 §5.2 body of any other status counts (legacy servers answer `invalid_grant` with 200),
   * and so does a bare challenge or an unreadable answer with a 4xx status.
   */
  function isRejectedRefresh(error: unknown): boolean {
    const status = statusOf(error)
    if (status === undefined || status >= 500 || status === 429 || status === 408) return false
    if (error instanceof ResponseBodyError) return error.error !== 'server_error' && error.error !== 'temporarily_unavailable'
    return (error instanceof WWWAuthenticateChallengeError || error instanceof UnexpectedResponseError) && status >= 400
  }

  /** Drops a rejected refresh token from the cached entry (best effort), so it is not tried again. */
  async function dropRefreshToken(k: string, refreshToken: string, gen: number): Promise<void> {
    const current = await readCache(k)
    // cleared meanwhile (logout): writing the entry back would restore the old session
    if (gen !== generation || current?.refresh_token !== refreshToken) return
    const { refresh_token: _rejected, ...rest } = current
    await writeCache(k, rest)
  }

  // ---- flights ----
  let flight: Promise<TokenCacheEntry> | undefined
  /** After a failed proactive refresh, hand out the still-valid token without retrying until then. */
  let cooldownUntil = 0

  function startFlight(k: string, reason: TokenReason, rejected?: string | typeof CURRENT): Promise<TokenCacheEntry> {
    if (flight) return flight
    const promise = runFlight(k, reason, rejected).finally(() => {
      if (flight === promise) flight = undefined
    })
    flight = promise
    return promise
  }

  function clearedError(): AbortedError {
    return new AbortedError('the token client was cleared while the token request was in flight')
  }

  async function runFlight(k: string, reason: TokenReason, rejected?: string | typeof CURRENT): Promise<TokenCacheEntry> {
    const gen = generation
    const body = async (): Promise<TokenCacheEntry> => {
      const entry = await readCache(k)
      const rejectedToken = rejected === CURRENT ? entry?.access_token : rejected
      // another caller, tab or process may have refreshed in the meantime
      if (entry && entry.access_token !== rejectedToken && state(entry, config.now()) === 'fresh') return entry

      let result: TokenEndpointResult | undefined
      let used: 'client_credentials' | 'password' | 'refresh_token' = grant === 'client_credentials' ? 'client_credentials' : 'password'
      const refreshToken = entry?.refresh_token
      if (typeof refreshToken === 'string' && refreshToken.length > 0) {
        try {
          result = await requestToken((as, o) => refreshTokenGrantRequest(as, client, clientAuth, refreshToken, o))
          used = 'refresh_token'
          if (result.refresh_token === undefined) result = { ...result, refresh_token: refreshToken }
        } catch (error) {
          if (!isRejectedRefresh(error)) throw error
          emit('error', { error, reason, recovered: true })
          // only a refresh token the server called invalid is forgotten; any other refusal (a
          // misrouted 404, invalid_client) still falls back to a full grant but keeps it
          if (error instanceof ResponseBodyError && error.error === 'invalid_grant' && gen === generation) await dropRefreshToken(k, refreshToken, gen)
        }
      }
      if (!result) {
        result = await requestToken((as, o) =>
          grant === 'client_credentials'
            ? clientCredentialsGrantRequest(as, client, clientAuth, o)
            : passwordGrantRequest(as, client, clientAuth, grant.username, grant.password, o),
        )
      }
      const now = config.now()
      if (result.expiresAt !== null && result.expiresAt <= now) {
        throw new TokenExpiredError('the authorization server issued a token that is already expired')
      }
      const fresh: TokenCacheEntry = { ...result, uat: now }
      // clear() was called meanwhile: its callers get no token of the cleared session
      if (gen !== generation) throw clearedError()
      await writeCache(k, fresh)
      if (gen !== generation) throw clearedError()
      // the authorization server's latest answer decides, even if it is the rejected token again
      rejectedByAPI = undefined
      crossTab?.publish(fresh)
      const token = toResult(fresh)
      emit('token', { token, grant: used, reason })
      if (entry) emit('refresh', { token, grant: used, reason })
      return fresh
    }
    try {
      return await (crossTab ? crossTab.run(body) : body())
    } catch (error) {
      if (gen !== generation) throw error
      if (reason === 'expiring') cooldownUntil = config.now() + retry.maxDelay
      // a failed proactive refresh leaves the still-valid token in use
      emit('error', { error, reason, recovered: reason === 'expiring' })
      throw error
    }
  }

  async function getToken(getOptions?: GetTokenOptions): Promise<TokenResult> {
    const signal = signalOption(getOptions)
    if (signal?.aborted) throw abortedError(signal)
    const k = key ?? (await getKey())
    const entry = await readCache(k)
    let reason: TokenReason = 'missing'
    if (entry) {
      const now = config.now()
      const s = state(entry, now)
      if (s === 'fresh') return toResult(entry)
      if (s === 'stale' && (config.backgroundRefresh || now < cooldownUntil)) {
        if (now < cooldownUntil) return toResult(entry)
        startFlight(k, 'expiring').catch(() => undefined)
        return toResult(entry)
      }
      reason = s === 'stale' ? 'expiring' : 'expired'
    }
    try {
      return toResult(await withAbort(startFlight(k, reason), signal))
    } catch (error) {
      // a failed proactive refresh: the old token is still valid, so hand it out
      if (!(error instanceof AbortedError) && entry && state(entry, config.now()) !== 'expired') return toResult(entry)
      throw error
    }
  }

  async function invalidateToken(k: string, token: string | undefined): Promise<TokenCacheEntry> {
    // even if no replacement can be obtained now, the rejected token is not handed out again
    if (token !== undefined) rejectedByAPI = token
    // join a refresh already in flight; it settles the question unless it returned the rejected
    // token (its failure is shared by every waiting caller, as for getToken)
    for (let i = 0; i < 2 && flight; i++) {
      const entry = await flight
      if (token !== undefined && entry.access_token !== token) return entry
    }
    return startFlight(k, 'invalidated', token ?? CURRENT)
  }

  // Subscribe to other tabs from the start, so a token another tab obtains is adopted before this
  // tab asks for one.
  if (config.crossTab) void getKey().catch(() => undefined)

  return {
    getToken,
    async invalidate(token?: string, invalidateOptions?: GetTokenOptions) {
      if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
        throw invalidArgument('"token" must be a non-empty string')
      }
      const signal = signalOption(invalidateOptions)
      if (signal?.aborted) throw abortedError(signal)
      const k = key ?? (await getKey())
      return toResult(await withAbort(invalidateToken(k, token), signal))
    },
    async clear() {
      generation++
      clearedAt = config.now()
      // later callers start a new request instead of joining the discarded one
      flight = undefined
      last = undefined
      cooldownUntil = 0
      const k = key ?? (await getKey())
      try {
        await cache.delete(k)
      } catch (error) {
        emit('error', { error, reason: 'cache', recovered: true })
      }
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener> | undefined
      if (!set) throw invalidArgument('"event" must be one of "token", "refresh", "error"')
      assertFunction(listener, 'listener')
      set.add(listener)
      return () => {
        set.delete(listener)
      }
    },
    get reloading() {
      return flight !== undefined
    },
    get fresh() {
      return last !== undefined && state(last, config.now()) === 'fresh'
    },
    close() {
      closed = true
      crossTab?.close()
      crossTab = undefined
      for (const set of Object.values(listeners)) set.clear()
    },
  }
}
