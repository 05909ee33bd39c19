/**
 * Baseline: `oidc-provider` 9 (panva) token endpoint: `client_credentials`,
 * `client_secret_basic`, resource indicators → JWT access tokens (RFC 9068) for one resource,
 * configured as in research/perf-scripts/srv-oidc.mjs. Development in-memory adapter.
 *
 * Usage: `node --import tsx bench/baselines/oidc-provider.ts rs256|es256`
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import { announce, AUDIENCE, CLIENT_ID, CLIENT_SECRET, exitOnSignal, HOST, ISSUER, SCOPE, TTL_SECONDS } from '../lib/common.js'

const mode = process.argv[2] ?? 'rs256'
const alg = mode === 'es256' ? 'ES256' : 'RS256'

// oidc-provider has no bundled types; the little used here is typed locally.
type ProviderCtor = new (issuer: string, configuration: Record<string, unknown>) => { callback(): Parameters<typeof createServer>[0] }
const oidc = (await import('oidc-provider' as string)) as { default: ProviderCtor; errors: { InvalidTarget: new () => Error } }
const Provider = oidc.default

async function signingJWK(a: 'RS256' | 'ES256') {
  const { privateKey } = await generateKeyPair(a, { extractable: true, modulusLength: 2048 })
  return { ...(await exportJWK(privateKey)), alg: a, use: 'sig', kid: `bench-${a.toLowerCase()}` }
}

const provider = new Provider(`${ISSUER}/auth`, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  // RS256 is always present (oidc-provider's default id_token alg); the ES256 mode adds a P-256 key.
  jwks: { keys: alg === 'ES256' ? [await signingJWK('ES256'), await signingJWK('RS256')] : [await signingJWK('RS256')] },
  cookies: { keys: ['bench-cookie-key-not-secret-0123456789'] },
  ttl: { ClientCredentials: TTL_SECONDS },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
        if (resourceIndicator !== AUDIENCE) throw new oidc.errors.InvalidTarget()
        return {
          scope: `${SCOPE} write:orders`,
          audience: AUDIENCE,
          accessTokenTTL: TTL_SECONDS,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        }
      },
    },
  },
})

const server = createServer(provider.callback())
server.keepAliveTimeout = 60_000
server.listen(0, HOST, () => announce((server.address() as AddressInfo).port))
exitOnSignal(() => server.close())
