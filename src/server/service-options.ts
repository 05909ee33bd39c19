/**
 * Checks the options of `createTokenService` up front: a callback that is not a function, an
 * `env` that is not a record or a `store: null` (which used to fall back to a memory store, so
 * tokens were lost at restart) fails when the service is made, naming the option. Internal module.
 *
 * @module
 */
import { invalidArgument } from '../shared/lib/args.js'
import { isObject, optionalFunction } from './verifiers/common.js'

/** Throws `ERR_INVALID_ARG_TYPE` naming the first bad option; the nested bags are checked by their own modules. */
export function checkServiceOptions(options: unknown): void {
  if (!isObject(options)) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  const { store, env, identitySource, now, onError, onAudit } = options
  if (store !== undefined && (typeof store !== 'object' || store === null)) {
    throw invalidArgument('"store" must be a token store (omit it for an in-memory store)', 'ERR_INVALID_ARG_TYPE')
  }
  if (env !== undefined) {
    if (!isObject(env)) throw invalidArgument('"env" must be an object of environment variables', 'ERR_INVALID_ARG_TYPE')
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined && typeof value !== 'string') throw invalidArgument(`"env.${name}" must be a string`, 'ERR_INVALID_ARG_TYPE')
    }
  }
  optionalFunction(identitySource, 'identitySource')
  optionalFunction(now, 'now')
  optionalFunction(onError, 'onError')
  optionalFunction(onAudit, 'onAudit')
}

/** A boolean option, `undefined` when absent: a string such as `'false'` is refused, never read by truthiness. */
export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(`"${name}" must be a boolean`, 'ERR_INVALID_ARG_TYPE')
  return value
}
