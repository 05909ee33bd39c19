/**
 * Stateless request builders: each returns a `Request` for you (or the token client) to `fetch`.
 *
 * @module
 */
import { invalidArgument } from '../shared/lib/args.js'
import type { Client, ClientAuth } from './client-auth.js'
import { assertFunction, assertNonEmptyString, assertObject, assertSignal, assertString, objectOption, urlString } from './lib/options.js'

/**
 * The endpoints of an authorization server, in RFC 8414 metadata spelling. Pass the discovered
 * metadata as-is, or a literal with only the endpoint you use.
 *
 * @group Stateless
 */
export interface AuthorizationServer {
  /** The issuer identifier. */
  issuer?: string
  /** RFC 6749 token endpoint. */
  token_endpoint?: string
  /** RFC 7662 introspection endpoint. */
  introspection_endpoint?: string
  /** RFC 7009 revocation endpoint. */
  revocation_endpoint?: string
}

/**
 * Options shared by the request builders.
 *
 * @group Stateless
 */
export interface RequestOptions {
  /** Extra form parameters, string values only (they never override the ones the builder sets). */
  additionalParameters?: Record<string, string> | URLSearchParams
  /** Extra request headers. */
  headers?: HeadersInit
  /** Passed to the `Request`, so `fetch` aborts with it. */
  signal?: AbortSignal
}

/**
 * Options of the grant request builders.
 *
 * @group Stateless
 */
export interface TokenRequestOptions extends RequestOptions {
  /**
   * Requested scope: a space-delimited string or a list of scope tokens (RFC 6749 §3.3: printable
   * ASCII except space, double quote and backslash; a list item must be one non-empty token).
   */
  scope?: string | readonly string[]
  /**
   * RFC 8707 resource indicator(s): absolute URLs without a fragment; each becomes one `resource`
   * parameter.
   */
  resource?: string | readonly string[]
}

/**
 * Options of {@link introspectionRequest} and {@link revocationRequest}.
 *
 * @group Stateless
 */
export interface TokenHintOptions extends RequestOptions {
  /** `token_type_hint`: `access_token` or `refresh_token` (RFC 7009 §2.1, RFC 7662 §2.1). Non-empty. */
  token_type_hint?: string
}

type EndpointName = 'token_endpoint' | 'introspection_endpoint' | 'revocation_endpoint'

function endpointOf(as: AuthorizationServer, name: EndpointName): URL {
  if (typeof as !== 'object' || as === null) throw invalidArgument('"as" must be an object', 'ERR_INVALID_ARG_TYPE')
  const value = as[name]
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(`"as.${name}" must be a non-empty string`)
  try {
    return new URL(value)
  } catch {
    throw invalidArgument(`"as.${name}" must be an absolute URL`)
  }
}

function assertClient(client: Client): void {
  assertObject(client, 'client')
  assertNonEmptyString(client.client_id, 'client.client_id')
}

/** RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * A string-or-list option as a list: `split` turns a string into items; `check` throws for a bad
 * item, named `name` (string form) or `name[i]` (list form).
 */
function stringList(value: unknown, name: string, split: (value: string) => string[], check: (item: string, itemName: string) => void): string[] {
  if (value === undefined) return []
  if (typeof value !== 'string' && !Array.isArray(value)) throw invalidArgument(`"${name}" must be a string or an array of strings`, 'ERR_INVALID_ARG_TYPE')
  return (typeof value === 'string' ? split(value) : value).map((item: unknown, i) => {
    const itemName = typeof value === 'string' ? name : `${name}[${i}]`
    assertString(item, itemName)
    check(item, itemName)
    return item
  })
}

/**
 * Checks a scope option (RFC 6749 §3.3 scope tokens: a string may have extra spaces between them; a
 * list item must be exactly one) and normalises it to one space-delimited string, or `undefined`.
 */
export function scopeString(scope: unknown, name: string): string | undefined {
  const list = stringList(
    scope,
    name,
    (s) => s.split(' ').filter(Boolean),
    (token, itemName) => {
      if (!SCOPE_TOKEN.test(token)) throw invalidArgument(`"${itemName}" must be ${itemName === name ? 'space-delimited scope tokens' : 'a scope token'} (RFC 6749 §3.3)`)
    },
  )
  return list.length > 0 ? list.join(' ') : undefined
}

/** Checks a resource option (RFC 8707 §2: absolute URIs without a fragment) and returns it as a list. */
export function resourceList(resource: unknown, name: string): string[] {
  return stringList(
    resource,
    name,
    (r) => [r],
    (r, itemName) => {
      urlString(r, itemName)
      if (r.includes('#')) throw invalidArgument(`"${itemName}" must not have a fragment (RFC 8707 §2)`)
    },
  )
}

async function buildRequest(
  url: URL,
  client: Client,
  clientAuth: ClientAuth,
  body: URLSearchParams,
  options: Partial<RequestOptions>,
): Promise<Request> {
  assertClient(client)
  assertFunction(clientAuth, 'clientAuth')
  assertSignal(options.signal, 'options.signal')
  const extra = options.additionalParameters
  if (extra !== undefined) {
    assertObject(extra, 'options.additionalParameters')
    for (const [name, value] of extra instanceof URLSearchParams ? extra : Object.entries(extra)) {
      assertString(value, `options.additionalParameters.${name}`)
      if (!body.has(name)) body.append(name, value)
    }
  }
  if (options.headers !== undefined) assertObject(options.headers, 'options.headers')
  const headers = new Headers(options.headers)
  headers.set('accept', 'application/json')
  await clientAuth(client, body, headers)
  headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
  const init: RequestInit = { method: 'POST', headers, body: body.toString() }
  if (options.signal) init.signal = options.signal
  return new Request(url, init)
}

function grantBody(grantType: string, options: Partial<TokenRequestOptions>): URLSearchParams {
  const body = new URLSearchParams({ grant_type: grantType })
  const scope = scopeString(options.scope, 'options.scope')
  if (scope !== undefined) body.set('scope', scope)
  for (const resource of resourceList(options.resource, 'options.resource')) body.append('resource', resource)
  return body
}

/**
 * Builds a client credentials grant request (RFC 6749 §4.4) for the token endpoint.
 *
 * Available from `'gatepass/client'`.
 *
 * @param as The authorization server (`token_endpoint` is required).
 * @param client The client (`client_id`).
 * @param clientAuth How the client authenticates, e.g. {@link clientSecretBasic}.
 * @param options Scope, resource and extras.
 * @returns A `Request`; `fetch` it and pass the response to {@link processTokenResponse}.
 * @example Obtain a token without the stateful client
 *
 * ```ts
 * import { clientCredentialsGrantRequest, clientSecretBasic, processTokenResponse } from 'gatepass/client'
 *
 * let secret!: string
 * const request = await clientCredentialsGrantRequest(
 *   { token_endpoint: 'https://id.example.com/auth/token' },
 *   { client_id: 'billing' },
 *   clientSecretBasic(secret),
 *   { scope: 'invoices:read' },
 * )
 * const { access_token, expiresAt } = await processTokenResponse(await fetch(request))
 * ```
 *
 * @see [RFC 6749 §4.4](https://www.rfc-editor.org/rfc/rfc6749#section-4.4)
 * @group Stateless
 */
export async function clientCredentialsGrantRequest(
  as: AuthorizationServer,
  client: Client,
  clientAuth: ClientAuth,
  options?: TokenRequestOptions,
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  const opts = objectOption(options, 'options')
  return buildRequest(url, client, clientAuth, grantBody('client_credentials', opts), opts)
}

/**
 * Builds a resource owner password credentials grant request (RFC 6749 §4.3).
 *
 * Available from `'gatepass/client'`.
 *
 * > [!WARNING]
 * > The password grant exposes the user's password to the client; use it only for first-party
 * > clients and legacy integrations.
 *
 * @param as The authorization server (`token_endpoint` is required).
 * @param client The client (`client_id`).
 * @param clientAuth How the client authenticates (often {@link none} for browser apps).
 * @param username The resource owner's username.
 * @param password The resource owner's password (sent once, never stored).
 * @param options Scope, resource and extras.
 * @returns A `Request`; `fetch` it and pass the response to {@link processTokenResponse}.
 * @example Password grant
 *
 * ```ts
 * import { none, passwordGrantRequest, processTokenResponse } from 'gatepass/client'
 *
 * let password!: string
 * const request = await passwordGrantRequest(
 *   { token_endpoint: 'https://id.example.com/auth/token' },
 *   { client_id: 'web' },
 *   none(),
 *   'alice',
 *   password,
 * )
 * const token = await processTokenResponse(await fetch(request))
 * ```
 *
 * @see [RFC 6749 §4.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.3)
 * @group Stateless
 */
export async function passwordGrantRequest(
  as: AuthorizationServer,
  client: Client,
  clientAuth: ClientAuth,
  username: string,
  password: string,
  options?: TokenRequestOptions,
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  assertNonEmptyString(username, 'username')
  assertString(password, 'password')
  const opts = objectOption(options, 'options')
  const body = grantBody('password', opts)
  body.set('username', username)
  body.set('password', password)
  return buildRequest(url, client, clientAuth, body, opts)
}

/**
 * Builds a refresh token grant request (RFC 6749 §6).
 *
 * Available from `'gatepass/client'`.
 *
 * @param as The authorization server (`token_endpoint` is required).
 * @param client The client (`client_id`).
 * @param clientAuth How the client authenticates.
 * @param refreshToken The refresh token from an earlier token response.
 * @param options Scope (must not exceed the original grant), resource and extras.
 * @returns A `Request`; `fetch` it and pass the response to {@link processTokenResponse}. An
 *   `invalid_grant` error means the refresh token is no longer usable: obtain a new grant.
 * @example Refresh
 *
 * ```ts
 * import { clientSecretBasic, processTokenResponse, refreshTokenGrantRequest } from 'gatepass/client'
 *
 * let secret!: string
 * let refresh_token!: string
 * const request = await refreshTokenGrantRequest(
 *   { token_endpoint: 'https://id.example.com/auth/token' },
 *   { client_id: 'billing' },
 *   clientSecretBasic(secret),
 *   refresh_token,
 * )
 * const token = await processTokenResponse(await fetch(request))
 * ```
 *
 * @see [RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)
 * @group Stateless
 */
export async function refreshTokenGrantRequest(
  as: AuthorizationServer,
  client: Client,
  clientAuth: ClientAuth,
  refreshToken: string,
  options?: TokenRequestOptions,
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  assertNonEmptyString(refreshToken, 'refreshToken')
  const opts = objectOption(options, 'options')
  const body = grantBody('refresh_token', opts)
  body.set('refresh_token', refreshToken)
  return buildRequest(url, client, clientAuth, body, opts)
}

function hintBody(token: string, options: Partial<TokenHintOptions>): URLSearchParams {
  assertNonEmptyString(token, 'token')
  const body = new URLSearchParams({ token })
  if (options.token_type_hint !== undefined) {
    assertNonEmptyString(options.token_type_hint, 'options.token_type_hint')
    body.set('token_type_hint', options.token_type_hint)
  }
  return body
}

/**
 * Builds a token introspection request (RFC 7662).
 *
 * Available from `'gatepass/client'`.
 *
 * @param as The authorization server (`introspection_endpoint` is required).
 * @param client The client (`client_id`); gatepass requires Basic authentication here.
 * @param clientAuth How the client authenticates.
 * @param token The token to introspect.
 * @param options `token_type_hint` and extras.
 * @returns A `Request`; `fetch` it and pass the response to {@link processIntrospectionResponse}.
 * @example Is this token active?
 *
 * ```ts
 * import { clientSecretBasic, introspectionRequest, processIntrospectionResponse } from 'gatepass/client'
 *
 * let secret!: string
 * let token!: string
 * const request = await introspectionRequest(
 *   { introspection_endpoint: 'https://id.example.com/auth/introspect' },
 *   { client_id: 'billing' },
 *   clientSecretBasic(secret),
 *   token,
 * )
 * const { active } = await processIntrospectionResponse(await fetch(request))
 * ```
 *
 * @see [RFC 7662 §2.1](https://www.rfc-editor.org/rfc/rfc7662#section-2.1)
 * @group Stateless
 */
export async function introspectionRequest(
  as: AuthorizationServer,
  client: Client,
  clientAuth: ClientAuth,
  token: string,
  options?: TokenHintOptions,
): Promise<Request> {
  const url = endpointOf(as, 'introspection_endpoint')
  const opts = objectOption(options, 'options')
  return buildRequest(url, client, clientAuth, hintBody(token, opts), opts)
}

/**
 * Builds a token revocation request (RFC 7009).
 *
 * Available from `'gatepass/client'`.
 *
 * @param as The authorization server (`revocation_endpoint` is required).
 * @param client The client (`client_id`).
 * @param clientAuth How the client authenticates.
 * @param token The access or refresh token to revoke.
 * @param options `token_type_hint` and extras.
 * @returns A `Request`; `fetch` it and pass the response to {@link processRevocationResponse}.
 * @example Revoke a refresh token on logout
 *
 * ```ts
 * import { clientSecretBasic, processRevocationResponse, revocationRequest } from 'gatepass/client'
 *
 * let secret!: string
 * let refresh_token!: string
 * const request = await revocationRequest(
 *   { revocation_endpoint: 'https://id.example.com/auth/revoke' },
 *   { client_id: 'billing' },
 *   clientSecretBasic(secret),
 *   refresh_token,
 *   { token_type_hint: 'refresh_token' },
 * )
 * await processRevocationResponse(await fetch(request))
 * ```
 *
 * @see [RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)
 * @group Stateless
 */
export async function revocationRequest(
  as: AuthorizationServer,
  client: Client,
  clientAuth: ClientAuth,
  token: string,
  options?: TokenHintOptions,
): Promise<Request> {
  const url = endpointOf(as, 'revocation_endpoint')
  const opts = objectOption(options, 'options')
  return buildRequest(url, client, clientAuth, hintBody(token, opts), opts)
}
