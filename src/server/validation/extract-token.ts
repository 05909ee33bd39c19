import { OAuthError } from '../lib/responses.js'

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** RFC 6750 §2.1 `b64token` syntax. */
export function isB64Token(value: string): boolean {
  return B64TOKEN.test(value)
}

/**
 * Extracts a Bearer token (RFC 6750 §2.1; §2.3 query parameter only when allowed).
 * Returns `null` when none was sent; throws `invalid_request` when more than one method is used.
 * `fromHeader` tells the caller to check the `b64token` syntax ({@link isB64Token}) before using
 * a token it has not seen yet.
 */
export function extractBearerToken(request: Request, options: { allowQuery?: boolean } = {}): { token: string; fromHeader: boolean } | null {
  const header = request.headers.get('authorization')
  let fromHeader: string | null = null
  if (header !== null && header.length > 7 && header.slice(0, 7).toLowerCase() === 'bearer ') {
    const value = header.slice(7).trim()
    if (value !== '') fromHeader = value
  }
  let fromQuery: string | null = null
  if (options.allowQuery) {
    const values = new URL(request.url).searchParams.getAll('access_token')
    if (values.length > 1) throw new OAuthError('invalid_request', 'the access_token parameter is included more than once')
    fromQuery = values[0] ?? null
  }
  if (fromHeader !== null && fromQuery !== null) throw new OAuthError('invalid_request', 'the access token must be sent by one method only')
  if (fromHeader !== null) return { token: fromHeader, fromHeader: true }
  return fromQuery === null ? null : { token: fromQuery, fromHeader: false }
}
