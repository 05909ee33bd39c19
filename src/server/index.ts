/**
 * The server half of gatepass: token service, stores and secrets. Runs on any Fetch runtime.
 *
 * @module gatepass/server
 */
export { createTokenService } from './token-service.js'
export type { TokenService, TokenServiceOptions } from './token-service.js'
export type { CleanupOptions } from './cleanup.js'
export type { AuditEvent, AuditEventType } from './audit.js'
export type { IdentitySource } from './token-endpoint/context.js'
export type { FetchHandler, RequestContext } from './types.js'
export { configSchema, tokenPolicySchema, secretSchema } from './config/schema.js'
export type { GatepassConfig, GatepassConfigInput, TokenPolicy, TokenPolicyInput } from './config/schema.js'
export { createMemoryStore } from './store/memory.js'
export type {
  TokenStore,
  AccessTokenRecord,
  RefreshTokenRecord,
  KeyRecord,
  IssueBatch,
  RotateInput,
  RotateOutcome,
  RevokedJWTRecord,
  TokenBinding,
  ManagementMode,
} from './store/types.js'
export { hashClientSecret, hashPassword, verifySecret, generateClientSecret, isSecretHash, DEFAULT_PBKDF2_ITERATIONS } from './secrets.js'
export {
  GatepassError,
  ConfigError,
  StoreUnavailableError,
  isGatepassError,
} from '../shared/errors.js'
export type { Principal, GuardResult } from './principal.js'
export type { GuardOptions, ValidationOptions } from './validation/guard.js'
export type { ProxyHandlerOptions } from './validation/proxy-handler.js'
export type { ProtectedHandler } from './token-service.js'
export type { SharedCache, RevocationBus, RevocationEvent } from './cache/types.js'
export type { RateLimitOptions, RateLimitStore, RateLimitCounter } from './rate-limit/types.js'
export { createCORS, corsSettingsSchema } from './http/cors.js'
export type { CORSHandler, CORSSettings } from './http/cors.js'
export { createClientIPResolver, clientIPSettingsSchema, appendForwardedFor } from './http/client-ip.js'
export type { ClientIPResolver, ClientIPResolution, ClientIPSettings, ClientIPPosition } from './http/client-ip.js'
export { createIPMatcher, parseIP, parseCIDR, ipInCIDR } from './http/ip.js'
export type { IPMatcher, ParsedIP, ParsedCIDR } from './http/ip.js'
export { resolveEdgeSettings } from './http/settings-resolution.js'
export type { EdgeSettings, EdgeSettingsMode, ResolveEdgeSettingsOptions, ResolvedEdgeSettings } from './http/settings-resolution.js'
export {
  createJWTVerifier,
  createIntrospectionVerifier,
  InvalidTokenError,
  TokenHeaderError,
  TokenClaimError,
  ExpiredTokenError,
  TokenNotYetValidError,
  NoMatchingKeyError,
  InactiveTokenError,
  InsufficientScopeError,
  VerifierUnavailableError,
} from './verifiers/index.js'
export type { JWTVerifier, JWTVerifierOptions, JWKSCache, IntrospectionVerifier, IntrospectionVerifierOptions, InvalidTokenCode } from './verifiers/index.js'
export type { FetchLike as VerifierFetch, VerifierFetchEvent } from './verifiers/index.js'
