import { StoreUnavailableError } from '../../shared/errors.js'
import type { TokenStore } from './types.js'

/**
 * Wraps a store so that any failure surfaces as a {@link StoreUnavailableError} (→ 503), keeping
 * the original as `cause` and never its message in a response.
 */
export function guardStore(store: TokenStore): TokenStore {
  const wrapped = {} as Record<string, unknown>
  for (const name of Object.keys(store) as Array<keyof TokenStore>) {
    const method = store[name] as unknown
    if (typeof method !== 'function') continue
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
