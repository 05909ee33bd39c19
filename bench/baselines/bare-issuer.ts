/**
 * Baseline: the minimal token endpoint (the practical ceiling). `node:http`, form body,
 * `client_secret_basic` compared in constant time, `client_credentials`, then an RFC 9068 JWT
 * signed with jose (mode `rs256` / `es256`), or an opaque token whose SHA-256 goes into a
 * bounded Map (mode `opaque`).
 *
 * Usage: `node --import tsx bench/baselines/bare-issuer.ts rs256|es256|opaque`
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair, SignJWT } from 'jose'
import { announce, AUDIENCE, CLIENT_ID, CLIENT_SECRET, exitOnSignal, HOST, ISSUER, readBody, SCOPE, sendJSON, TTL_SECONDS } from '../lib/common.js'

const mode = process.argv[2] ?? 'rs256'
if (!['rs256', 'es256', 'opaque'].includes(mode)) throw new Error(`unknown mode ${mode}`)
const alg = mode === 'es256' ? 'ES256' : 'RS256'
const kid = 'bench-key'
const { privateKey } = await generateKeyPair(alg, { modulusLength: 2048 })
const iss = `${ISSUER}/auth`
const scopes = new Set([SCOPE, 'write:orders'])
const sha256 = (s: string) => createHash('sha256').update(s).digest()
const secretDigest = sha256(CLIENT_SECRET)

/** Two-generation bounded map (O(1) inserts; holds between cap and 2 × cap entries). */
let current = new Map<string, { clientId: string; scope: string; exp: number }>()
const CAP = 100_000

function checkBasic(header: string | undefined): string | null {
  if (!header?.startsWith('Basic ')) return null
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) return null
  let id: string
  let secret: string
  try {
    id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '))
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '))
  } catch {
    return null
  }
  const ok = timingSafeEqual(sha256(secret), secretDigest)
  return ok && id === CLIENT_ID ? id : null
}

async function issue(clientId: string, scope: string): Promise<string> {
  if (mode === 'opaque') {
    const token = randomBytes(32).toString('base64url')
    current.set(sha256(token).toString('base64url'), { clientId, scope, exp: Math.floor(Date.now() / 1000) + TTL_SECONDS })
    if (current.size >= CAP) current = new Map()
    return token
  }
  return new SignJWT({ scope, client_id: clientId })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid })
    .setIssuer(iss)
    .setSubject(clientId)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${TTL_SECONDS}s`)
    .setJti(randomUUID())
    .sign(privateKey)
}

const server = createServer((req, res) => {
  void (async () => {
    try {
      if (req.method !== 'POST' || req.url !== '/token') return sendJSON(res, 404, { error: 'invalid_request' })
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return sendJSON(res, 400, { error: 'invalid_request' })
      const params = new URLSearchParams(await readBody(req))
      const clientId = checkBasic(req.headers.authorization)
      if (!clientId) return sendJSON(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="token"' })
      if (params.get('grant_type') !== 'client_credentials') return sendJSON(res, 400, { error: 'unsupported_grant_type' })
      const resource = params.get('resource')
      if (resource !== null && resource !== AUDIENCE) return sendJSON(res, 400, { error: 'invalid_target' })
      const requested = (params.get('scope') ?? '').split(' ').filter(Boolean)
      if (requested.some((s) => !scopes.has(s))) return sendJSON(res, 400, { error: 'invalid_scope' })
      const scope = requested.join(' ')
      const accessToken = await issue(clientId, scope)
      return sendJSON(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: TTL_SECONDS, scope })
    } catch (err) {
      return sendJSON(res, (err as { status?: number }).status ?? 500, { error: 'server_error' })
    }
  })()
})
server.keepAliveTimeout = 60_000
server.listen(0, HOST, () => announce((server.address() as AddressInfo).port))
exitOnSignal(() => server.close())
