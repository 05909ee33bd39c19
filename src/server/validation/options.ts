/**
 * Checks the validation options of a token service up front, so a typo or a unit mix-up (a
 * leeway in milliseconds, a cache age as a string) fails when the service is made instead of
 * silently turning a cache or a clock check off. Internal module.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import { MAX_CACHE_ENTRIES } from '../verifiers/common.js'
import type { ValidationOptions } from './guard.js'

/** The longest leeway accepted, seconds: beyond it expiry checks mean little (and it is likely milliseconds). */
export const MAX_LEEWAY = 3_600
/** The longest opaque-cache age accepted, ms: beyond it a revocation goes unseen too long without a bus. */
export const MAX_OPAQUE_CACHE_AGE = 3_600_000
/** The longest store-outage grace accepted, ms. */
export const MAX_STORE_OUTAGE_GRACE = 86_400_000

function number(options: ValidationOptions, name: keyof ValidationOptions, max: number, unit: string, integer: boolean): void {
  const value = options[name]
  if (value === undefined) return
  if (typeof value !== 'number') throw invalidArgument(`"validation.${name}" must be a number (${unit})`, 'ERR_INVALID_ARG_TYPE')
  if (!(value >= 0 && value <= max) || (integer && !Number.isInteger(value))) {
    throw invalidArgument(`"validation.${name}" must be ${integer ? 'an integer' : 'a number'} from 0 to ${max.toLocaleString('en-US')} (${unit})`)
  }
}

function methods(value: unknown, name: string, required: readonly string[], optional: readonly string[] = []): void {
  if (value === undefined) return
  if (typeof value !== 'object' || value === null) throw invalidArgument(`"validation.${name}" must be an object with ${required.join(', ')}`, 'ERR_INVALID_ARG_TYPE')
  const object = value as Record<string, unknown>
  for (const method of required) {
    if (typeof object[method] !== 'function') throw invalidArgument(`"validation.${name}.${method}" must be a function`, 'ERR_INVALID_ARG_TYPE')
  }
  for (const method of optional) {
    if (object[method] !== undefined && typeof object[method] !== 'function') throw invalidArgument(`"validation.${name}.${method}" must be a function when given`, 'ERR_INVALID_ARG_TYPE')
  }
}

/**
 * Throws a `TypeError` with code `ERR_INVALID_ARG_TYPE` or `ERR_INVALID_ARG_VALUE` naming the
 * first bad field of `options`; returns them unchanged otherwise.
 */
export function checkValidationOptions(options: unknown): ValidationOptions | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('"validation" must be an object', 'ERR_INVALID_ARG_TYPE')
  const o = options as ValidationOptions
  number(o, 'leeway', MAX_LEEWAY, 'seconds', false)
  number(o, 'verifiedJWTCacheSize', MAX_CACHE_ENTRIES, 'entries', true)
  number(o, 'opaqueCacheSize', MAX_CACHE_ENTRIES, 'entries', true)
  number(o, 'opaqueCacheBytes', Number.MAX_SAFE_INTEGER, 'bytes', true)
  number(o, 'opaqueCacheMaxAge', MAX_OPAQUE_CACHE_AGE, 'ms', false)
  number(o, 'negativeCacheMaxAge', MAX_OPAQUE_CACHE_AGE, 'ms', false)
  number(o, 'storeOutageGrace', MAX_STORE_OUTAGE_GRACE, 'ms', false)
  methods(o.sharedCache, 'sharedCache', ['get', 'set', 'delete'], ['read'])
  methods(o.revocationBus, 'revocationBus', ['publish', 'subscribe'])
  return o
}
