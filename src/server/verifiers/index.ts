/**
 * Remote verifiers for resource servers that run apart from the issuer: JWT access tokens against
 * the issuer's JWKS, and any token through RFC 7662 introspection. Both return the guard's
 * `Principal` and `GuardResult` shapes and the same RFC 6750 responses.
 *
 * Re-exported by `'gatepass/server'`. The helpers of `common.ts` stay private on purpose (only its `FetchLike` type is public).
 *
 * @module
 */
export { createJWTVerifier } from './jwt-verifier.js'
export type { JWTVerifier, JWTVerifierOptions, JWKSCache } from './jwt-verifier.js'
export { createIntrospectionVerifier } from './introspection-verifier.js'
export type { IntrospectionVerifier, IntrospectionVerifierOptions } from './introspection-verifier.js'
export {
  InvalidTokenError,
  TokenHeaderError,
  TokenClaimError,
  ExpiredTokenError,
  TokenNotYetValidError,
  NoMatchingKeyError,
  InactiveTokenError,
  InsufficientScopeError,
  VerifierUnavailableError,
} from './errors.js'
export type { InvalidTokenCode } from './errors.js'
export type { FetchLike, VerifierFetchEvent } from './common.js'
