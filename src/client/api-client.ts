/**
 * Authorized HTTP: a `ky` instance and a plain `fetch` wrapper that add the access token and
 * recover once from a 401 `invalid_token`.
 *
 * @module
 */
import ky from 'ky'
import type { BeforeRequestHook, KyInstance, Options as KyOptions } from 'ky'
import { invalidArgument } from '../shared/lib/args.js'
import { bearerChallenge } from './lib/www-authenticate.js'
import { assertFunction, assertObject, hasMethods, numberOption, objectOption } from './lib/options.js'
import type { TokenClient } from './token-client.js'

/**
 * What the API clients need from a token client: {@link createTokenClient} returns one, and a test
 * double is two functions.
 *
 * @group API Client
 */
export type TokenSource = Pick<TokenClient, 'getToken' | 'invalidate'>

/**
 * Options of {@link createAPIClient}: every `ky` option, plus `tokens`.
 *
 * {@link createAPIClient} checks these `ky` options at once: `fetch` must be a function, each of
 * `hooks.beforeRequest`, `hooks.beforeRetry`, `hooks.afterResponse` and `hooks.beforeError` an
 * array of functions, `prefixUrl` a string or a `URL`, and `timeout` `false` or an integer from 1
 * to 2_147_483_647 (ms, the longest `setTimeout` delay).
 *
 * @group API Client
 */
export interface APIClientOptions extends KyOptions {
  /** Where access tokens come from. */
  tokens: TokenSource
}

function assertTokens(tokens: unknown): asserts tokens is TokenSource {
  if (!hasMethods(tokens, 'getToken', 'invalidate')) throw invalidArgument('"tokens" must have getToken and invalidate functions', 'ERR_INVALID_ARG_TYPE')
}

const HOOKS = ['beforeRequest', 'beforeRetry', 'afterResponse', 'beforeError'] as const

/** Checks the `ky` options that would otherwise fail late (on a request) or silently. */
function checkKyOptions(options: KyOptions): void {
  if (options.fetch !== undefined) assertFunction(options.fetch, 'fetch')
  const hooks = objectOption(options.hooks, 'hooks')
  for (const name of HOOKS) {
    const list: unknown = hooks[name]
    if (list !== undefined && !(Array.isArray(list) && list.every((hook) => typeof hook === 'function'))) {
      throw invalidArgument(`"hooks.${name}" must be an array of functions`, 'ERR_INVALID_ARG_TYPE')
    }
  }
  const { prefixUrl, timeout } = options
  if (prefixUrl !== undefined && typeof prefixUrl !== 'string' && !(prefixUrl instanceof URL)) {
    throw invalidArgument('"prefixUrl" must be a string or a URL', 'ERR_INVALID_ARG_TYPE')
  }
  if (timeout !== false) numberOption(timeout, 'timeout', 0, { min: 1, integer: true })
}

/** The bearer token of an `Authorization` header, or `undefined`. */
function sentToken(request: Request): string | undefined {
  const header = request.headers.get('authorization')
  const match = header ? /^bearer +(\S+)\s*$/i.exec(header) : null
  return match?.[1]
}

/** Is this a 401 with a Bearer challenge carrying `error="invalid_token"` (RFC 6750 §3.1)? */
function isInvalidToken(response: Response): boolean {
  return response.status === 401 && bearerChallenge(response)?.parameters.error === 'invalid_token'
}

/**
 * Creates a `ky` instance that sends `Authorization: Bearer <token>` on every request. When an API
 * answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`, it calls
 * `tokens.invalidate(rejectedToken)` (which refreshes only if that token is still the current one,
 * so a late 401 for an old token just picks up the current token) and retries the request once with
 * the new token (inside the same `timeout`). It never retries twice for a 401; other statuses follow
 * your `ky` `retry` options.
 *
 * Your own `hooks` run after the gatepass ones (`beforeRequest`: after the header is set;
 * `afterResponse`: on the retried response).
 *
 * Available from `'gatepass/client'`.
 *
 * @param options `tokens` plus any `ky` options (`prefixUrl`, `timeout`, `retry`, `hooks`, `fetch`, …).
 * @returns A `ky` instance; use it as `api.get('invoices').json()`.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`) when `tokens` is missing
 *   or a checked `ky` option is invalid (see {@link APIClientOptions}). Requests reject with
 *   `ky`'s `HTTPError` for error statuses (a 401 that persists after the one retry included), and
 *   with the token client's error (e.g. `ResponseBodyError` `invalid_client`) when no token can be
 *   obtained.
 * @example Call a protected API
 *
 * ```ts
 * import { createAPIClient, createTokenClient } from 'gatepass/client'
 *
 * let secret!: string
 * const tokens = createTokenClient({ tokenEndpoint: 'https://id.example.com/auth/token', clientId: 'billing', clientSecret: secret, grant: 'client_credentials' })
 * const api = createAPIClient({ prefixUrl: 'https://api.example.com/v1', tokens })
 * const invoices = await api.get('invoices').json<{ id: string }[]>()
 * ```
 *
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)
 * @group API Client
 */
export function createAPIClient(options: APIClientOptions): KyInstance {
  assertObject(options, 'options')
  const { tokens, ...kyOptions } = options
  assertTokens(tokens)
  checkKyOptions(kyOptions)
  const hooks = kyOptions.hooks ?? {}

  const addBearerToken: BeforeRequestHook = async function addBearerToken(request, normalized) {
    const token = await tokens.getToken({ signal: normalized.signal ?? undefined })
    request.headers.set('authorization', `Bearer ${token.access_token}`)
  }

  // The 401 recovery wraps ky's `fetch` rather than an afterResponse hook: ky clones every response
  // for each afterResponse hook (a tee of the body), which halved throughput for nothing.
  const baseFetch = kyOptions.fetch ?? ((input: Request, init?: RequestInit) => globalThis.fetch(input, init))
  const fetchWithRecovery = async function fetchWithRecovery(input: Request, init?: RequestInit): Promise<Response> {
    const spare = input.body !== null ? input.clone() : undefined
    const response = await baseFetch(input, init)
    if (!isInvalidToken(response)) return response
    const rejected = sentToken(input)
    if (rejected === undefined) return response
    const fresh = await tokens.invalidate(rejected, { signal: input.signal })
    // not awaited: a body teed elsewhere may keep cancel() pending
    void response.body?.cancel().catch(() => undefined)
    const retry = new Request(spare ?? input, { signal: input.signal })
    retry.headers.set('authorization', `Bearer ${fresh.access_token}`)
    return baseFetch(retry, init)
  }

  return ky.create({
    ...kyOptions,
    fetch: fetchWithRecovery as typeof fetch,
    hooks: {
      ...hooks,
      beforeRequest: [addBearerToken, ...(hooks.beforeRequest ?? [])],
    },
  })
}

/**
 * A `fetch`-compatible function for users who do not want `ky`: it adds the bearer token and, on a
 * 401 `invalid_token`, invalidates the rejected token and retries once, exactly like
 * {@link createAPIClient}. Other responses (errors included) are returned as-is.
 *
 * The request is cloned before it is sent so its body can be replayed; a streamed body is
 * therefore buffered.
 *
 * Available from `'gatepass/client'`.
 *
 * @param tokens Where access tokens come from.
 * @param fetchImpl The underlying `fetch`. Default: the global `fetch`, looked up on each call.
 * @returns A function with the signature of `fetch`. It rejects with the token client's error when
 *   no token can be obtained.
 * @example Authorized fetch
 *
 * ```ts
 * import { authFetch, createTokenClient } from 'gatepass/client'
 *
 * let secret!: string
 * const tokens = createTokenClient({ tokenEndpoint: 'https://id.example.com/auth/token', clientId: 'billing', clientSecret: secret, grant: 'client_credentials' })
 * const fetchWithToken = authFetch(tokens)
 * const response = await fetchWithToken('https://api.example.com/v1/invoices')
 * ```
 *
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)
 * @group API Client
 */
export function authFetch(
  tokens: TokenSource,
  fetchImpl?: (input: Request) => Promise<Response>,
): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> {
  assertTokens(tokens)
  if (fetchImpl !== undefined) assertFunction(fetchImpl, 'fetchImpl')
  const send = fetchImpl ?? ((request: Request) => globalThis.fetch(request))

  return async function authorizedFetch(input, init) {
    const request = new Request(input, init)
    const spare = request.clone()
    const token = await tokens.getToken({ signal: request.signal })
    request.headers.set('authorization', `Bearer ${token.access_token}`)
    const response = await send(request)
    if (!isInvalidToken(response)) {
      void spare.body?.cancel().catch(() => undefined)
      return response
    }
    const fresh = await tokens.invalidate(token.access_token, { signal: request.signal })
    void response.body?.cancel().catch(() => undefined)
    spare.headers.set('authorization', `Bearer ${fresh.access_token}`)
    return send(spare)
  }
}
