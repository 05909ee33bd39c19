import { StoreUnavailableError } from '../../shared/errors.js'
import { invalidArgument } from '../../shared/lib/args.js'
import type { TokenStore } from './types.js'

/** Every method of {@link TokenStore}: a custom store missing one is refused when the service is created. */
const METHODS = [
  'issue',
  'findAccessToken',
  'findRefreshToken',
  'rotateRefreshToken',
  'revokeFamily',
  'isFamilyLive',
  'revokeAccessToken',
  'revokeJWT',
  'isJWTRevoked',
  'listKeys',
  'addKey',
  'updateKeyState',
  'deleteKey',
  'deleteExpired',
  'close',
] as const satisfies ReadonlyArray<keyof TokenStore>

/**
 * Wraps a store so that any failure surfaces as a {@link StoreUnavailableError} (→ 503), keeping
 * the original as `cause` and never its message in a response. Throws a `TypeError` naming the
 * methods a store lacks (e.g. one written for an earlier version of the interface).
 */
export function guardStore(store: TokenStore): TokenStore {
  if (typeof store !== 'object' || store === null) throw invalidArgument('"store" must be a TokenStore object', 'ERR_INVALID_ARG_TYPE')
  const missing = METHODS.filter((name) => typeof (store as unknown as Record<string, unknown>)[name] !== 'function')
  if (missing.length > 0) throw invalidArgument(`"store" is not a complete TokenStore: missing ${missing.map((m) => `${m}()`).join(', ')}`)
  // The interface's methods, wherever they live: own properties of an object literal or methods
  // of a class (on its prototype), always called on the store itself.
  const wrapped = {} as Record<string, unknown>
  for (const name of METHODS) {
    const method = store[name] as unknown
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => Promise<unknown>).apply(store, args)
      } catch (cause) {
        if (cause instanceof StoreUnavailableError) throw cause
        throw new StoreUnavailableError('the token store is unavailable', { cause })
      }
    }
  }
  return wrapped as unknown as TokenStore
}
