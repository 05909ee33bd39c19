import { OAuthError } from '../lib/responses.js'

/** Client credentials presented with a request. */
export interface PresentedClient {
  clientId: string
  /** `null` when no secret was sent (or the legacy `-`). */
  clientSecret: string | null
  method: 'client_secret_basic' | 'client_secret_post' | 'none'
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}

/**
 * A refusal of presented credentials: a wrong or unknown client with a secret (`client`), or a
 * wrong username or password (`user`). The brute-force limits count these, and only these.
 */
export class CredentialsRefused extends OAuthError {
  readonly of: 'client' | 'user'
  constructor(of: 'client' | 'user', refusal: OAuthError) {
    super(refusal.error, refusal.message, refusal.status, refusal.headers)
    this.of = of
  }
}

/** The 401 for failed client authentication (RFC 6749 §5.2), with a Basic challenge. */
export function invalidClient(realm: string, description = 'client authentication failed'): OAuthError {
  return new OAuthError('invalid_client', description, 401, { 'www-authenticate': `Basic realm="${realm}", charset="UTF-8"` })
}

/** Basic credentials are UTF-8 (RFC 7617 §2.1); malformed bytes are refused, not replaced. */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Extracts client credentials from `Authorization: Basic` (RFC 6749 §2.3.1) or the body.
 * Both at once → 400; malformed Basic → 401; other schemes are ignored.
 */
export function readClientCredentials(request: Request, params: Map<string, string>, realm: string, options: { basicAllowed?: boolean } = {}): PresentedClient | null {
  const header = request.headers.get('authorization')
  const basic = header !== null && /^basic(\s|$)/i.test(header) && options.basicAllowed !== false
  const bodyId = params.get('client_id')
  const bodySecret = params.get('client_secret')
  if (basic) {
    if (bodyId !== undefined || bodySecret !== undefined) {
      throw new OAuthError('invalid_request', 'client credentials must be sent either in the Authorization header or in the body, not both')
    }
    const encoded = header.slice(6).trim()
    let decoded: string
    try {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('bad base64')
      const binary = atob(encoded)
      const bytes = new Uint8Array(binary.length)
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
      decoded = UTF8.decode(bytes)
    } catch {
      throw invalidClient(realm, 'malformed Basic authorization header')
    }
    const colon = decoded.indexOf(':')
    if (colon < 1) throw invalidClient(realm, 'malformed Basic authorization header')
    let clientId: string
    let clientSecret: string
    try {
      clientId = formDecode(decoded.slice(0, colon))
      clientSecret = formDecode(decoded.slice(colon + 1))
    } catch {
      throw invalidClient(realm, 'malformed Basic authorization header')
    }
    return { clientId, clientSecret: clientSecret === '' || clientSecret === '-' ? null : clientSecret, method: 'client_secret_basic' }
  }
  if (bodyId === undefined) return null
  if (bodySecret === undefined || bodySecret === '-') return { clientId: bodyId, clientSecret: null, method: 'none' }
  return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' }
}
