/**
 * Client authentication strategies for the token, introspection and revocation endpoints.
 *
 * @module
 */
import { assertNonEmptyString, booleanOption, objectOption } from './lib/options.js'

/**
 * The client as the authorization server knows it. Plain metadata; never holds a secret.
 *
 * @group Client Authentication
 */
export interface Client {
  /** The client identifier (RFC 6749 §2.2). */
  client_id: string
}

/**
 * A client authentication strategy: adds credentials to a request's form body or headers.
 * Build one with {@link clientSecretBasic}, {@link clientSecretPost} or {@link none}; write your
 * own for other methods (it may be async, e.g. to sign a `private_key_jwt` assertion).
 *
 * @group Client Authentication
 */
export type ClientAuth = (client: Client, body: URLSearchParams, headers: Headers) => void | Promise<void>

/**
 * Encodes a value as `application/x-www-form-urlencoded` (RFC 6749 Appendix B), the encoding
 * RFC 6749 §2.3.1 requires for the client id and secret before Basic encoding.
 */
function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/**
 * `client_secret_basic`: sends the client id and secret in an HTTP Basic `Authorization` header,
 * each form-urlencoded before base64 as RFC 6749 §2.3.1 requires (so `:` and non-ASCII characters
 * survive). The default method of the token client when you pass `clientSecret`.
 *
 * Available from `'gatepass/client'`.
 *
 * @param clientSecret The client secret. It stays inside the returned function and is never cached.
 * @returns A strategy to pass as `clientAuth`.
 * @example Client credentials with Basic authentication
 *
 * ```ts
 * import { clientSecretBasic, createTokenClient } from 'gatepass/client'
 *
 * let secret!: string
 * const tokens = createTokenClient({
 *   tokenEndpoint: 'https://id.example.com/auth/token',
 *   clientId: 'billing',
 *   clientAuth: clientSecretBasic(secret),
 *   grant: 'client_credentials',
 * })
 * ```
 *
 * @see [RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)
 * @group Client Authentication
 */
/* @__NO_SIDE_EFFECTS__ */
export function clientSecretBasic(clientSecret: string): ClientAuth {
  assertNonEmptyString(clientSecret, 'clientSecret')
  return function clientSecretBasicAuth(client, _body, headers) {
    const credentials = `${formUrlEncode(client.client_id)}:${formUrlEncode(clientSecret)}`
    headers.set('authorization', `Basic ${btoa(credentials)}`)
  }
}

/**
 * `client_secret_post`: sends `client_id` and `client_secret` as form parameters in the body.
 *
 * Available from `'gatepass/client'`.
 *
 * @param clientSecret The client secret. It stays inside the returned function and is never cached.
 * @returns A strategy to pass as `clientAuth`.
 * @example For servers that do not accept Basic authentication
 *
 * ```ts
 * import { clientSecretPost } from 'gatepass/client'
 *
 * let secret!: string
 * const clientAuth = clientSecretPost(secret)
 * ```
 *
 * @see [RFC 6749 §2.3.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1)
 * @group Client Authentication
 */
/* @__NO_SIDE_EFFECTS__ */
export function clientSecretPost(clientSecret: string): ClientAuth {
  assertNonEmptyString(clientSecret, 'clientSecret')
  return function clientSecretPostAuth(client, body) {
    body.set('client_id', client.client_id)
    body.set('client_secret', clientSecret)
  }
}

/**
 * Options of {@link none}.
 *
 * @group Client Authentication
 */
export interface NoneOptions {
  /**
   * Also send `client_secret=-`, the placeholder some legacy gateways expect from public clients.
   * Default `false`.
   */
  legacyDashSecret?: boolean
}

/**
 * `none`: a public client (a browser or mobile app that cannot keep a secret). Sends only
 * `client_id` in the body.
 *
 * Available from `'gatepass/client'`.
 *
 * @param options `legacyDashSecret` for gateways that want `client_secret=-`.
 * @returns A strategy to pass as `clientAuth`.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE`) when `options` is not an object or
 *   `legacyDashSecret` is not a boolean.
 * @example Password grant from a browser
 *
 * ```ts
 * import { createTokenClient, none } from 'gatepass/client'
 *
 * let username!: string
 * let password!: string
 * const tokens = createTokenClient({
 *   tokenEndpoint: 'https://id.example.com/auth/token',
 *   clientId: 'web',
 *   clientAuth: none(),
 *   grant: { type: 'password', username, password },
 * })
 * ```
 *
 * @see [RFC 6749 §2.1](https://www.rfc-editor.org/rfc/rfc6749#section-2.1)
 * @group Client Authentication
 */
/* @__NO_SIDE_EFFECTS__ */
export function none(options?: NoneOptions): ClientAuth {
  const dash = booleanOption(objectOption(options, 'options').legacyDashSecret, 'legacyDashSecret', false)
  return function noneAuth(client, body) {
    body.set('client_id', client.client_id)
    if (dash) body.set('client_secret', '-')
  }
}
