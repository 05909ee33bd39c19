/**
 * The server half of gatepass: token service, stores and secrets. Runs on any Fetch runtime.
 *
 * @module gatepass/server
 */
export { createTokenService } from './token-service.js'
export type { TokenService, TokenServiceOptions } from './token-service.js'
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
