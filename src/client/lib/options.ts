/**
 * Argument checks shared by the client's public functions. Internal: not exported from the package
 * entry.
 *
 * Each check throws `invalidArgument()`: `ERR_INVALID_ARG_TYPE` for a value of the wrong type,
 * `ERR_INVALID_ARG_VALUE` for a bad value of the right type. Messages name the option in double
 * quotes, as the caller spells it (`"timeoutDuration"`, `"options.signal"`).
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'

/** The longest delay `setTimeout` honours (ms): a longer one overflows and fires at once. */
export const MAX_DELAY = 2_147_483_647

/** Throws `ERR_INVALID_ARG_TYPE` unless `value` is a non-null object. */
export function assertObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== 'object' || value === null) throw invalidArgument(`"${name}" must be an object`, 'ERR_INVALID_ARG_TYPE')
}

/** An optional options object: `{}` when `undefined`; anything but an object (`null` included) throws. */
export function objectOption<T extends object>(value: T | undefined, name: string): Partial<T> {
  if (value === undefined) return {}
  assertObject(value, name)
  return value
}

/** Whether `value` is an object with a function under each of `methods` (duck typing). */
export function hasMethods(value: unknown, ...methods: string[]): boolean {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return methods.every((method) => typeof record[method] === 'function')
}

/** Throws `ERR_INVALID_ARG_TYPE` unless `value` is a function. */
export function assertFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw invalidArgument(`"${name}" must be a function`, 'ERR_INVALID_ARG_TYPE')
}

/** Throws `ERR_INVALID_ARG_TYPE` unless `value` is a string. */
export function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument(`"${name}" must be a string`, 'ERR_INVALID_ARG_TYPE')
}

/** Throws unless `value` is a non-empty string. */
export function assertNonEmptyString(value: unknown, name: string): asserts value is string {
  assertString(value, name)
  if (value.length === 0) throw invalidArgument(`"${name}" must be a non-empty string`)
}

/** An optional boolean: `fallback` when `undefined`; anything but a boolean (`'false'`, `0`) throws. */
export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidArgument(`"${name}" must be a boolean`, 'ERR_INVALID_ARG_TYPE')
  return value
}

/** Bounds of {@link numberOption}. */
export interface NumberBounds {
  /** Smallest allowed value. Default `0`. */
  min?: number
  /** Largest allowed value. Default {@link MAX_DELAY}, so any option may feed a timer. */
  max?: number
  /** Whole numbers only. Default `false`. */
  integer?: boolean
}

/** An optional number within bounds: `fallback` when `undefined`; `NaN` and `±Infinity` throw. */
export function numberOption(value: unknown, name: string, fallback: number, { min = 0, max = MAX_DELAY, integer = false }: NumberBounds = {}): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw invalidArgument(`"${name}" must be a number`, 'ERR_INVALID_ARG_TYPE')
  if (!(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    throw invalidArgument(`"${name}" must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`)
  }
  return value
}

/** Options of {@link urlString}. */
export interface URLRules {
  /** Require the `http:` or `https:` scheme. Default `false`. */
  http?: boolean
}

/** The `href` of an absolute URL given as a string or a `URL`. */
export function urlString(value: unknown, name: string, { http = false }: URLRules = {}): string {
  if (typeof value !== 'string' && !(value instanceof URL)) throw invalidArgument(`"${name}" must be a string or a URL`, 'ERR_INVALID_ARG_TYPE')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidArgument(`"${name}" must be an absolute URL`)
  }
  if (http && url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidArgument(`"${name}" must be an http: or https: URL`)
  return url.href
}

/**
 * Throws `ERR_INVALID_ARG_TYPE` unless `value` is an `AbortSignal` (duck-typed, so a signal of
 * another realm passes), `null` or `undefined`.
 */
export function assertSignal(value: unknown, name: string): asserts value is AbortSignal | null | undefined {
  if (value === undefined || value === null) return
  if (!hasMethods(value, 'addEventListener', 'removeEventListener') || typeof (value as { aborted?: unknown }).aborted !== 'boolean') {
    throw invalidArgument(`"${name}" must be an AbortSignal`, 'ERR_INVALID_ARG_TYPE')
  }
}
