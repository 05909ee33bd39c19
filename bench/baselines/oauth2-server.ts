/**
 * Baseline: `@node-oauth/oauth2-server` 5 behind plain `node:http`, in-memory model,
 * `client_credentials`. Tokens are the library's default (opaque, random hex), kept in a bounded
 * two-generation Map, as in research/perf-scripts/srv-oauth2server.mjs.
 *
 * Usage: `node --import tsx bench/baselines/oauth2-server.ts`
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import OAuth2Server from '@node-oauth/oauth2-server'
import { announce, CLIENT_ID, CLIENT_SECRET, exitOnSignal, HOST, readBody, SCOPE, TTL_SECONDS } from '../lib/common.js'

const sha256 = (s: string) => createHash('sha256').update(s).digest()
const scopes = new Set([SCOPE, 'write:orders'])
const client = { id: CLIENT_ID, secretDigest: sha256(CLIENT_SECRET), grants: ['client_credentials'], accessTokenLifetime: TTL_SECONDS }
let tokens = new Map<string, unknown>()
const CAP = 100_000

const model = {
  async getClient(clientId: string, clientSecret: string | null) {
    if (clientId !== client.id) return null
    if (clientSecret == null || !timingSafeEqual(sha256(clientSecret), client.secretDigest)) return null
    return client
  },
  async getUserFromClient(c: { id: string }) {
    return { id: c.id }
  },
  async validateScope(_user: unknown, _client: unknown, scope?: string[]) {
    const requested = scope && scope.length > 0 ? scope : [...scopes]
    return requested.every((s) => scopes.has(s)) ? requested : false
  },
  async saveToken(token: OAuth2Server.Token, c: OAuth2Server.Client, user: OAuth2Server.User) {
    tokens.set(token.accessToken, { exp: token.accessTokenExpiresAt, scope: token.scope, clientId: c.id })
    if (tokens.size >= CAP) tokens = new Map()
    return { ...token, client: c, user }
  },
  async getAccessToken() {
    return null
  },
}

const oauth = new OAuth2Server({ model: model as unknown as OAuth2Server.ClientCredentialsModel, accessTokenLifetime: TTL_SECONDS, allowBearerTokensInQueryString: false })

const server = createServer((req, res) => {
  void (async () => {
    try {
      const url = new URL(req.url ?? '/', 'http://x')
      if (req.method !== 'POST' || url.pathname !== '/token') {
        res.writeHead(404).end()
        return
      }
      const body = Object.fromEntries(new URLSearchParams(await readBody(req)))
      const request = new OAuth2Server.Request({ headers: req.headers as Record<string, string>, method: req.method, query: Object.fromEntries(url.searchParams), body })
      const response = new OAuth2Server.Response({})
      try {
        await oauth.token(request, response)
      } catch (err) {
        // the library already put the OAuth error into `response`
        if (!response.status || response.status === 200) response.status = (err as { code?: number }).code ?? 500
      }
      const out = JSON.stringify(response.body)
      res.writeHead(response.status ?? 500, { ...(response.headers as Record<string, string>), 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
      res.end(out)
    } catch {
      res.writeHead(500).end()
    }
  })()
})
server.keepAliveTimeout = 60_000
server.listen(0, HOST, () => announce((server.address() as AddressInfo).port))
exitOnSignal(() => server.close())
