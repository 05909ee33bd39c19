/**
 * The client half of gatepass: obtains, caches and refreshes access tokens by itself, and calls
 * protected APIs with them. Runs in browsers, Node, Bun, Deno and Workers (Web platform APIs only).
 *
 * Two layers:
 *
 * - stateless request builders and response processors (`clientCredentialsGrantRequest()` →
 *   `fetch` → `processTokenResponse()`), for full control;
 * - {@link createTokenClient} (cache, single-flight, proactive refresh, retries, cross-tab) and
 *   {@link createAPIClient} / {@link authFetch} on top.
 *
 * @module gatepass/client
 */
export { createTokenClient, customFetch } from './token-client.js'
export type {
  TokenClient,
  TokenClientOptions,
  TokenClientEvents,
  TokenResult,
  TokenReason,
  GetTokenOptions,
  Grant,
  PasswordGrant,
  RetryOptions,
  FetchLike,
} from './token-client.js'

export { createAPIClient, authFetch } from './api-client.js'
export type { APIClientOptions, TokenSource } from './api-client.js'

export { clientSecretBasic, clientSecretPost, none } from './client-auth.js'
export type { Client, ClientAuth, NoneOptions } from './client-auth.js'

export {
  clientCredentialsGrantRequest,
  passwordGrantRequest,
  refreshTokenGrantRequest,
  introspectionRequest,
  revocationRequest,
} from './requests.js'
export type { AuthorizationServer, RequestOptions, TokenRequestOptions, TokenHintOptions } from './requests.js'

export { processTokenResponse, processIntrospectionResponse, processRevocationResponse } from './responses.js'
export type { TokenEndpointResult, LenientOptions, ProcessTokenResponseOptions } from './responses.js'

export { memoryCache } from './cache/memory.js'
export { webStorageCache } from './cache/web-storage.js'
export type { WebStorageCacheOptions } from './cache/web-storage.js'
export { tokenCacheKey } from './cache/key.js'
export type { TokenCacheKeyParts } from './cache/key.js'
export type { TokenCache, TokenCacheEntry } from './cache/types.js'

export { decodeClaims } from './decode-claims.js'
export type { AccessTokenClaims, ClaimsSchema } from '../shared/schemas.js'

// Errors: the client's own classes, and the shared ones the client throws.
export { UnexpectedResponseError, TokenRequestError, AbortedError, TokenExpiredError, DiscoveryError } from './errors.js'
export {
  GatepassError,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  SchemaValidationError,
  JWTDecodeError,
  isGatepassError,
} from '../shared/errors.js'
export type { GatepassErrorCode, ConfigIssue } from '../shared/errors.js'
export type { AnyClientError } from './errors.js'
import * as errors from './errors-namespace.js'
export { errors }

// Deliberately private: src/client/lib/* (response helpers, WWW-Authenticate parser) and
// src/client/cross-tab.ts (used through the `crossTab` option).
