/**
 * Checks the validation options of a token service up front, so a typo or a unit mix-up (a
 * leeway in milliseconds, a cache age as a string) fails when the service is made instead of
 * silently turning a cache or a clock check off. Internal module.
 *
 * @module
 */
import { duration, MAX_CACHE_ENTRIES, objectWithMethods, optionalFunction, optionsObject } from '../verifiers/common.js'
import type { ValidationOptions } from './guard.js'

/** The longest leeway accepted, seconds: beyond it expiry checks mean little (and it is likely milliseconds). */
export const MAX_LEEWAY = 3_600
/** The longest opaque-cache age accepted, ms: beyond it a revocation goes unseen too long without a bus. */
export const MAX_OPAQUE_CACHE_AGE = 3_600_000
/** The longest store-outage grace accepted, ms. */
export const MAX_STORE_OUTAGE_GRACE = 86_400_000

/**
 * Throws a `TypeError` with code `ERR_INVALID_ARG_TYPE` or `ERR_INVALID_ARG_VALUE` naming the
 * first bad field of `options`; returns them unchanged otherwise.
 */
export function checkValidationOptions(options: unknown): ValidationOptions | undefined {
  if (options === undefined) return undefined
  const o = optionsObject(options as ValidationOptions, 'validation')
  const check = (name: keyof ValidationOptions, max: number, unit: string, integer = false) => duration(o[name], `validation.${name}`, 0, { max, unit, integer })
  check('leeway', MAX_LEEWAY, 'seconds')
  check('verifiedJWTCacheSize', MAX_CACHE_ENTRIES, 'entries', true)
  check('opaqueCacheSize', MAX_CACHE_ENTRIES, 'entries', true)
  check('opaqueCacheBytes', Number.MAX_SAFE_INTEGER, 'bytes', true)
  check('opaqueCacheMaxAge', MAX_OPAQUE_CACHE_AGE, 'ms')
  check('negativeCacheMaxAge', MAX_OPAQUE_CACHE_AGE, 'ms')
  check('storeOutageGrace', MAX_STORE_OUTAGE_GRACE, 'ms')
  if (o.sharedCache !== undefined) optionalFunction(objectWithMethods<{ read?: unknown }>(o.sharedCache, 'validation.sharedCache', 'an object with get, set and delete', ['get', 'set', 'delete']).read, 'validation.sharedCache.read')
  if (o.revocationBus !== undefined) objectWithMethods(o.revocationBus, 'validation.revocationBus', 'an object with publish and subscribe', ['publish', 'subscribe'])
  return o
}
