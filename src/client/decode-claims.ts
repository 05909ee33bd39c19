/**
 * Reading JWT claims in a UI.
 *
 * @module
 */
import { decodeJwt } from 'jose'
import { JWTDecodeError } from '../shared/errors.js'
import { accessTokenClaimsSchema } from '../shared/schemas.js'
import type { AccessTokenClaims, ClaimsSchema } from '../shared/schemas.js'
import { invalidArgument } from '../shared/lib/args.js'
import { parseOrThrow } from './lib/http.js'
import { assertString } from './lib/options.js'

/**
 * Decodes the claims of a JWT access token **without verifying it** and validates them against a
 * schema, for display (the user's name, the granted scope, the expiry) in a UI.
 *
 * Available from `'gatepass/client'`.
 *
 * > [!WARNING]
 * > The signature is not checked: never base an authorization decision on these claims. Resource
 * > servers verify tokens with the `gatepass/server` guard.
 *
 * @param token A JWT (compact serialization).
 * @param schema Claims schema (a zod schema); default `accessTokenClaimsSchema`. Make one with
 *   `defineClaims()` to type custom claims.
 * @returns The claims, typed by the schema.
 * @throws `TypeError` (`ERR_INVALID_ARG_TYPE`) when `token` is not a string or `schema` is not a
 *   zod schema, `JWTDecodeError` when `token` is not a decodable JWT (opaque tokens included),
 *   `SchemaValidationError` when the claims do not match the schema.
 * @example Show who is signed in
 *
 * ```ts
 * import * as z from 'zod/mini'
 * import { decodeClaims } from 'gatepass/client'
 * import { defineClaims } from 'gatepass/shared'
 *
 * let access_token!: string
 * const claims = decodeClaims(access_token, defineClaims({ name: z.string() }))
 * console.log(claims.name, claims.scope)
 * ```
 *
 * @see [RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)
 * @group Claims
 */
export function decodeClaims<T extends AccessTokenClaims = AccessTokenClaims>(
  token: string,
  schema: ClaimsSchema<T> = accessTokenClaimsSchema as unknown as ClaimsSchema<T>,
): T {
  assertString(token, 'token')
  if (typeof schema !== 'object' || schema === null || typeof (schema as { _zod?: unknown })._zod !== 'object') {
    throw invalidArgument('"schema" must be a zod schema', 'ERR_INVALID_ARG_TYPE')
  }
  let claims: unknown
  try {
    claims = decodeJwt(token)
  } catch (cause) {
    throw new JWTDecodeError('token is not a decodable JWT', { cause })
  }
  return parseOrThrow(schema, claims, 'invalid token claims')
}
