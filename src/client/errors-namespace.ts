/**
 * Every error class the client can throw, for `import { errors } from 'gatepass/client'`.
 *
 * @module
 */
export { UnexpectedResponseError, TokenRequestError, AbortedError, TokenExpiredError, DiscoveryError } from './errors.js'
export {
  GatepassError,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  SchemaValidationError,
  JWTDecodeError,
} from '../shared/errors.js'
