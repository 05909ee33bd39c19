/**
 * Stateless request builders: each returns a `Request` for you (or the token client) to `fetch`.
 *
 * @module
 */
import { invalidArgument } from '../shared/lib/args.js'
import type { Client, ClientAuth } from './client-auth.js'

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
  /** Extra form parameters (they never override the ones the builder sets). */
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
  /** Requested scope: a space-delimited string or a list (RFC 6749 §3.3). */
  scope?: string | readonly string[]
  /** RFC 8707 resource indicator(s); each becomes one `resource` parameter. */
  resource?: string | readonly string[]
}

/**
 * Options of {@link introspectionRequest} and {@link revocationRequest}.
 *
 * @group Stateless
 */
export interface TokenHintOptions extends RequestOptions {
  /** `token_type_hint`: `access_token` or `refresh_token` (RFC 7009 §2.1, RFC 7662 §2.1). */
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
  if (typeof client !== 'object' || client === null) throw invalidArgument('"client" must be an object', 'ERR_INVALID_ARG_TYPE')
  if (typeof client.client_id !== 'string' || client.client_id.length === 0) {
    throw invalidArgument('"client.client_id" must be a non-empty string')
  }
}

function assertNonEmpty(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument(`"${name}" must be a string`, 'ERR_INVALID_ARG_TYPE')
  if (value.length === 0) throw invalidArgument(`"${name}" must be a non-empty string`)
}

/** Normalises a scope option to one space-delimited string (or `undefined`). */
export function scopeString(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined
  const list = typeof scope === 'string' ? scope.split(' ') : [...scope]
  const joined = list.filter((s) => s.length > 0).join(' ')
  return joined.length > 0 ? joined : undefined
}

/** Normalises a resource option to a list. */
export function resourceList(resource: string | readonly string[] | undefined): string[] {
  if (resource === undefined) return []
  return typeof resource === 'string' ? [resource] : [...resource]
}

async function buildRequest(
  url: URL,
  client: Client,
  clientAuth: ClientAuth,
  body: URLSearchParams,
  options: RequestOptions,
): Promise<Request> {
  assertClient(client)
  if (typeof clientAuth !== 'function') throw invalidArgument('"clientAuth" must be a function', 'ERR_INVALID_ARG_TYPE')
  if (options.additionalParameters) {
    for (const [name, value] of new URLSearchParams(options.additionalParameters)) {
      if (!body.has(name)) body.append(name, value)
    }
  }
  const headers = new Headers(options.headers)
  headers.set('accept', 'application/json')
  await clientAuth(client, body, headers)
  headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
  const init: RequestInit = { method: 'POST', headers, body: body.toString() }
  if (options.signal) init.signal = options.signal
  return new Request(url, init)
}

function grantBody(grantType: string, options: TokenRequestOptions): URLSearchParams {
  const body = new URLSearchParams({ grant_type: grantType })
  const scope = scopeString(options.scope)
  if (scope !== undefined) body.set('scope', scope)
  for (const resource of resourceList(options.resource)) body.append('resource', resource)
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
  options: TokenRequestOptions = {},
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  return buildRequest(url, client, clientAuth, grantBody('client_credentials', options), options)
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
  options: TokenRequestOptions = {},
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  assertNonEmpty(username, 'username')
  if (typeof password !== 'string') throw invalidArgument('"password" must be a string', 'ERR_INVALID_ARG_TYPE')
  const body = grantBody('password', options)
  body.set('username', username)
  body.set('password', password)
  return buildRequest(url, client, clientAuth, body, options)
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
  options: TokenRequestOptions = {},
): Promise<Request> {
  const url = endpointOf(as, 'token_endpoint')
  assertNonEmpty(refreshToken, 'refreshToken')
  const body = grantBody('refresh_token', options)
  body.set('refresh_token', refreshToken)
  return buildRequest(url, client, clientAuth, body, options)
}

function hintBody(token: string, options: TokenHintOptions): URLSearchParams {
  assertNonEmpty(token, 'token')
  const body = new URLSearchParams({ token })
  if (options.token_type_hint !== undefined) body.set('token_type_hint', options.token_type_hint)
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
  options: TokenHintOptions = {},
): Promise<Request> {
  const url = endpointOf(as, 'introspection_endpoint')
  return buildRequest(url, client, clientAuth, hintBody(token, options), options)
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
  options: TokenHintOptions = {},
): Promise<Request> {
  const url = endpointOf(as, 'revocation_endpoint')
  return buildRequest(url, client, clientAuth, hintBody(token, options), options)
}
