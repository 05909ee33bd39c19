/**
 * Response helpers shared by the response processors. Internal: not exported from the package entry.
 *
 * @module
 */
import * as z from 'zod/mini'
import { errorResponseSchema } from '../../shared/schemas.js'
import { ResponseBodyError, SchemaValidationError, WWWAuthenticateChallengeError } from '../../shared/errors.js'
import type { ConfigIssue } from '../../shared/errors.js'
import { invalidArgument } from '../../shared/lib/args.js'
import { UnexpectedResponseError } from '../errors.js'
import { parseWWWAuthenticate } from './www-authenticate.js'

/** Cross-realm `Response` check (a polyfilled or other-realm `Response` fails `instanceof`). */
export function assertResponse(value: unknown): asserts value is Response {
  const ok =
    value instanceof Response ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Response).status === 'number' &&
      typeof (value as Response).text === 'function' &&
      typeof (value as Response).headers?.get === 'function')
  if (!ok) throw invalidArgument('"response" must be an instance of Response', 'ERR_INVALID_ARG_TYPE')
}

/** zod issues as `{ path, message }` pairs. */
export function toIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
}

/** Reads a JSON body; a body that is not JSON throws `UnexpectedResponseError`. */
export async function readJSON(response: Response): Promise<unknown> {
  const text = await response.text()
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    throw new UnexpectedResponseError('response body is not JSON', response, { cause })
  }
}

/** Parses `value` with `schema` or throws `SchemaValidationError` with `message`. */
export function parseOrThrow<T>(schema: z.core.$ZodType<T>, value: unknown, message: string): T {
  const result = z.safeParse(schema, value)
  if (!result.success) throw new SchemaValidationError(message, toIssues(result.error))
  return result.data
}

/** A body that is an RFC 6749 §5.2 error, or `undefined`. */
export function asErrorBody(body: unknown): z.infer<typeof errorResponseSchema> | undefined {
  const result = z.safeParse(errorResponseSchema, body)
  return result.success ? result.data : undefined
}

/**
 * Turns an unsuccessful response into the matching error: `ResponseBodyError` for an RFC 6749 §5.2
 * body, `WWWAuthenticateChallengeError` for a challenge without such a body, otherwise
 * `UnexpectedResponseError`.
 */
export async function errorFromResponse(response: Response): Promise<Error> {
  let body: unknown
  try {
    body = JSON.parse(await response.text()) as unknown
  } catch {
    body = undefined
  }
  const errorBody = asErrorBody(body)
  if (errorBody) return new ResponseBodyError(errorBody, response)
  const header = response.headers.get('www-authenticate')
  if (header) {
    const challenges = parseWWWAuthenticate(header)
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges[0]
    if (challenge) return new WWWAuthenticateChallengeError(response.status, challenge.parameters)
  }
  return new UnexpectedResponseError(`unexpected response status ${response.status}`, response)
}

/** HTTP status an error carries, if any. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const status = (error as { status?: unknown }).status
  return typeof status === 'number' ? status : undefined
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) in ms from `now`: delta-seconds or an HTTP-date.
 * `undefined` when absent or unreadable.
 */
export function retryAfterMs(response: Response | undefined, now: number): number | undefined {
  const value = response?.headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
