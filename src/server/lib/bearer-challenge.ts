import { textResponse } from './known-body.js'
import { quote } from './responses.js'

/** RFC 6750 §3.1 error codes of a Bearer challenge. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

const STATUS: Record<BearerError, number> = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 }

/**
 * The RFC 6750 §3 response for a refused request: `WWW-Authenticate: Bearer realm="…", error="…",
 * error_description="…", scope="…"` (quoted-strings escaped) and a JSON body. Without `error`
 * (no token at all, §3.1) the challenge carries only the realm and the status is 401.
 */
export function bearerChallenge(options: { realm: string; error?: BearerError; description?: string; scope?: readonly string[] }): Response {
  const params = [`realm=${quote(options.realm)}`]
  if (options.error) params.push(`error=${quote(options.error)}`)
  if (options.error && options.description) params.push(`error_description=${quote(options.description)}`)
  if (options.scope && options.scope.length > 0) params.push(`scope=${quote(options.scope.join(' '))}`)
  const status = options.error ? STATUS[options.error] : 401
  const body = options.error ? { error: options.error, error_description: options.description } : { error: 'invalid_request', error_description: 'an access token is required' }
  return textResponse(JSON.stringify(body), {
    status,
    headers: { 'www-authenticate': `Bearer ${params.join(', ')}`, 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store' },
  })
}
