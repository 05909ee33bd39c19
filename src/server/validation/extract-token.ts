import { OAuthError } from '../lib/responses.js'

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * Extracts a Bearer token (RFC 6750 §2.1; §2.3 query parameter only when allowed).
 * Returns `null` when none was sent; throws `invalid_request` for a malformed header or more than
 * one method.
 */
export function extractBearerToken(request: Request, options: { allowQuery?: boolean } = {}): string | null {
  const header = request.headers.get('authorization')
  let fromHeader: string | null = null
  if (header !== null) {
    const match = /^bearer +(.*)$/i.exec(header.trim())
    if (match) {
      if (!B64TOKEN.test(match[1]!)) throw new OAuthError('invalid_request', 'the Authorization header is malformed')
      fromHeader = match[1]!
    }
  }
  let fromQuery: string | null = null
  if (options.allowQuery) {
    const values = new URL(request.url).searchParams.getAll('access_token')
    if (values.length > 1) throw new OAuthError('invalid_request', 'the access_token parameter is included more than once')
    fromQuery = values[0] ?? null
  }
  if (fromHeader !== null && fromQuery !== null) throw new OAuthError('invalid_request', 'the access token must be sent by one method only')
  return fromHeader ?? fromQuery
}
