/**
 * Schemas, types and errors shared by the server and client halves of gatepass. Runs everywhere.
 *
 * @module gatepass/shared
 */
export {
  tokenResponseSchema,
  errorResponseSchema,
  accessTokenClaimsSchema,
  introspectionResponseSchema,
  authorizationServerMetadataSchema,
  jwkSchema,
  jwksSchema,
  defineClaims,
} from './schemas.js'
export type {
  TokenResponse,
  ErrorResponse,
  OAuthErrorCode,
  AccessTokenClaims,
  ClaimsSchema,
  IntrospectionResponse,
  AuthorizationServerMetadata,
  JWKS,
} from './schemas.js'
export {
  GatepassError,
  ConfigError,
  SchemaValidationError,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  StoreUnavailableError,
  JWTDecodeError,
  isGatepassError,
} from './errors.js'
export type { GatepassErrorCode, ConfigIssue } from './errors.js'
export * as errors from './errors.js'
