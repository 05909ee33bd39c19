/**
 * Wire schemas shared by the issuer, the validators and the client, built with `zod/mini`.
 *
 * @module
 */
import * as z from 'zod/mini'

/**
 * Successful token endpoint response (RFC 6749 §5.1). Unknown members are kept.
 *
 * @example Parse a response body
 *
 * ```ts
 * import { tokenResponseSchema } from 'gatepass/shared'
 *
 * let body!: unknown
 * const { access_token, expires_in } = tokenResponseSchema.parse(body)
 * ```
 *
 * @see [RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1)
 * @group Schemas
 */
export const tokenResponseSchema = z.looseObject({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.string().check(z.minLength(1)),
  expires_in: z.optional(z.number().check(z.nonnegative())),
  refresh_token: z.optional(z.string().check(z.minLength(1))),
  scope: z.optional(z.string()),
})

/**
 * A successful token endpoint response.
 *
 * @group Schemas
 */
export type TokenResponse = z.infer<typeof tokenResponseSchema>

/**
 * RFC 6749 §5.2 error codes and the extensions gatepass answers with.
 *
 * - `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
 *   `unsupported_grant_type`, `invalid_scope`: RFC 6749 §5.2
 * - `invalid_token`, `insufficient_scope`: RFC 6750 §3.1
 * - `invalid_target`: RFC 8707 §2
 * - `unsupported_token_type`: RFC 7009 §2.2.1
 * - `slow_down`: RFC 8628 §3.5 (rate limiting)
 * - `server_error`, `temporarily_unavailable`: RFC 6749 §4.1.2.1
 *
 * @group Schemas
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'slow_down'
  | 'server_error'
  | 'temporarily_unavailable'

/**
 * RFC 6749 §5.2 error response body. Unknown members are kept.
 *
 * @see [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2)
 * @group Schemas
 */
export const errorResponseSchema = z.looseObject({
  error: z.string().check(z.minLength(1)),
  error_description: z.optional(z.string()),
  error_uri: z.optional(z.string()),
})

/**
 * An RFC 6749 §5.2 error response body.
 *
 * @group Schemas
 */
export type ErrorResponse = z.infer<typeof errorResponseSchema>

const numericDate = z.number().check(z.nonnegative())
const audience = z.union([z.string(), z.array(z.string())])

/**
 * RFC 9068 JWT access-token claims as gatepass issues them. `exp` is absent only on tokens issued
 * by a `neverExpires` policy. Unknown claims are kept (typed as `unknown`); use
 * {@link defineClaims} to type your own.
 *
 * @see [RFC 9068 §2.2](https://www.rfc-editor.org/rfc/rfc9068#section-2.2)
 * @group Schemas
 */
export const accessTokenClaimsSchema = z.looseObject({
  iss: z.string().check(z.minLength(1)),
  sub: z.string().check(z.minLength(1)),
  aud: audience,
  exp: z.optional(numericDate),
  iat: numericDate,
  nbf: z.optional(numericDate),
  jti: z.string().check(z.minLength(1)),
  client_id: z.string().check(z.minLength(1)),
  scope: z.optional(z.string()),
})

/**
 * RFC 9068 access-token claims.
 *
 * @group Schemas
 */
export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>

/**
 * Extends the access-token claims schema with typed custom claims (for example claims issued from
 * credential metadata marked "include in JWT").
 *
 * @param shape zod (`zod/mini` or classic) schemas of the custom claims.
 * @returns A schema to pass to the guard, the verifiers or `decodeClaims()`; infer its type with `z.infer`.
 * @example Claims with a tenant id
 *
 * ```ts
 * import * as z from 'zod/mini'
 * import { defineClaims } from 'gatepass/shared'
 *
 * const claims = defineClaims({ tenant: z.string() })
 * type Claims = z.infer<typeof claims> // AccessTokenClaims & { tenant: string }
 * ```
 *
 * @group Schemas
 */
/* @__NO_SIDE_EFFECTS__ */
export function defineClaims<const Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.extend(accessTokenClaimsSchema, shape)
}

/**
 * Any schema that parses access-token claims (the default one or one made by {@link defineClaims}).
 *
 * @group Schemas
 */
export type ClaimsSchema<T extends AccessTokenClaims = AccessTokenClaims> = z.core.$ZodType<T>

/**
 * RFC 7662 token introspection response. Unknown members are kept.
 *
 * @see [RFC 7662 §2.2](https://www.rfc-editor.org/rfc/rfc7662#section-2.2)
 * @group Schemas
 */
export const introspectionResponseSchema = z.looseObject({
  active: z.boolean(),
  scope: z.optional(z.string()),
  client_id: z.optional(z.string()),
  username: z.optional(z.string()),
  token_type: z.optional(z.string()),
  exp: z.optional(numericDate),
  iat: z.optional(numericDate),
  nbf: z.optional(numericDate),
  sub: z.optional(z.string()),
  aud: z.optional(audience),
  iss: z.optional(z.string()),
  jti: z.optional(z.string()),
})

/**
 * An RFC 7662 introspection response.
 *
 * @group Schemas
 */
export type IntrospectionResponse = z.infer<typeof introspectionResponseSchema>

/**
 * RFC 8414 authorization server metadata. Unknown members are kept.
 *
 * @see [RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)
 * @group Schemas
 */
export const authorizationServerMetadataSchema = z.looseObject({
  issuer: z.string().check(z.minLength(1)),
  token_endpoint: z.optional(z.string()),
  jwks_uri: z.optional(z.string()),
  introspection_endpoint: z.optional(z.string()),
  revocation_endpoint: z.optional(z.string()),
  grant_types_supported: z.optional(z.array(z.string())),
  token_endpoint_auth_methods_supported: z.optional(z.array(z.string())),
  scopes_supported: z.optional(z.array(z.string())),
  response_types_supported: z.optional(z.array(z.string())),
})

/**
 * RFC 8414 authorization server metadata.
 *
 * @group Schemas
 */
export type AuthorizationServerMetadata = z.infer<typeof authorizationServerMetadataSchema>

/**
 * One public JSON Web Key. Unknown members are kept.
 *
 * @see [RFC 7517 §4](https://www.rfc-editor.org/rfc/rfc7517#section-4)
 * @group Schemas
 */
export const jwkSchema = z.looseObject({
  kty: z.string().check(z.minLength(1)),
  kid: z.optional(z.string()),
  alg: z.optional(z.string()),
  use: z.optional(z.string()),
})

/**
 * A JSON Web Key Set (RFC 7517 §5).
 *
 * @see [RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)
 * @group Schemas
 */
export const jwksSchema = z.object({ keys: z.array(jwkSchema) })

/**
 * A JSON Web Key Set.
 *
 * @group Schemas
 */
export type JWKS = z.infer<typeof jwksSchema>
