import { textResponse } from './known-body.js'
import { quote, safeDescription } from './responses.js'

/**
 * A value as printable ASCII, which every header carries: anything else percent-encoded as UTF-8
 * (a realm named after an audience such as `заказы` would otherwise make `Headers` throw).
 */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c)
    } catch {
      return '?' // a lone surrogate
    }
  })
}

/** RFC 6750 §3.1 error codes of a Bearer challenge. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

const STATUS: Record<BearerError, number> = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 }

/**
 * The RFC 6750 §3 response for a refused request: `WWW-Authenticate: Bearer realm="…", error="…",
 * error_description="…", scope="…"` (quoted-strings escaped; `error_description` held to the
 * characters RFC 6750 §3 allows, a `"` or `\` becoming `'`) and a JSON body. Without `error`
 * (no token at all, §3.1) the challenge carries only the realm and the status is 401.
 */
export function bearerChallenge(options: { realm: string; error?: BearerError; description?: string; scope?: readonly string[] }): Response {
  const description = options.description === undefined ? undefined : safeDescription(options.description)
  const params = [`realm=${quote(headerSafe(options.realm))}`]
  if (options.error) params.push(`error=${quote(options.error)}`)
  if (options.error && description) params.push(`error_description=${quote(description)}`)
  if (options.scope && options.scope.length > 0) params.push(`scope=${quote(headerSafe(options.scope.join(' ')))}`)
  const status = options.error ? STATUS[options.error] : 401
  const body = options.error ? { error: options.error, error_description: description } : { error: 'invalid_request', error_description: 'an access token is required' }
  return textResponse(JSON.stringify(body), {
    status,
    headers: { 'www-authenticate': `Bearer ${params.join(', ')}`, 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store' },
  })
}
