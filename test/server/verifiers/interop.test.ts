/**
 * The remote verifiers against gatepass's own token service (its Fetch handler served through msw):
 * discovery, JWKS, JWT claims and introspection answers as the issuer really produces them.
 */
import { http } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService, hashClientSecret } from '../../../src/server/index.js'
import type { GatepassConfigInput, TokenService } from '../../../src/server/index.js'
import { createIntrospectionVerifier, createJWTVerifier } from '../../../src/server/verifiers/index.js'

const GW = 'https://gw.example.com'
const ISSUER = `${GW}/auth`
const SECRETS = { orders: 'orders-app-secret-Zk2vJ8qL0pXw', billing: 'billing-app-secret-Qm4nT7rB1cYd' }

let service: TokenService
const server = setupServer(http.all(`${GW}/*`, ({ request }) => service.fetch(request)))

beforeAll(async () => {
  const config = {
    environment: { name: 'interop', issuer: GW },
    proxies: [
      {
        name: 'orders',
        clientId: 'orders-app',
        clientSecret: await hashClientSecret(SECRETS.orders),
        tokenPolicy: { format: 'jwt', grants: ['client_credentials'], allowedScopes: ['orders:read', 'orders:write'] },
      },
      {
        name: 'billing',
        clientId: 'billing-app',
        clientSecret: await hashClientSecret(SECRETS.billing),
        tokenPolicy: { format: 'opaque', grants: ['client_credentials'], allowedScopes: ['billing:read'] },
      },
    ],
  } as unknown as GatepassConfigInput
  service = createTokenService(config)
  server.listen({ onUnhandledRequest: 'error' })
})
afterAll(async () => {
  server.close()
  await service.close()
})

function basic(id: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`
}

async function token(clientId: string, secret: string, scope: string): Promise<string> {
  const response = await fetch(`${ISSUER}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

describe('remote verifiers ↔ gatepass token service', () => {
  it('createJWTVerifier with metadataUrl verifies an issued JWT', async () => {
    const verifier = createJWTVerifier({
      issuer: ISSUER,
      metadataUrl: `${ISSUER}/.well-known/oauth-authorization-server`,
      audience: `${GW}/apigateway/orders`,
      requiredScopes: ['orders:read'],
    })
    const jwt = await token('orders-app', SECRETS.orders, 'orders:read')
    const result = await verifier.check(new Request(`${GW}/apigateway/orders`, { headers: { authorization: `Bearer ${jwt}` } }))
    if (!result.ok) throw new Error(`refused: ${result.response.headers.get('www-authenticate')}`)
    expect(result.principal).toMatchObject({ subject: 'orders-app', clientId: 'orders-app', scopes: ['orders:read'], kind: 'jwt', username: null })
  })

  it('a JWT for another audience is refused', async () => {
    const verifier = createJWTVerifier({ issuer: ISSUER, jwksUri: `${ISSUER}/.well-known/jwks.json`, audience: `${GW}/apigateway/billing` })
    const jwt = await token('orders-app', SECRETS.orders, 'orders:read')
    await expect(verifier.verify(jwt)).rejects.toMatchObject({ code: 'ERR_INVALID_TOKEN_CLAIM', claim: 'aud' })
  })

  it('createIntrospectionVerifier verifies an issued opaque token (the client introspects its own tokens)', async () => {
    const verifier = createIntrospectionVerifier({ endpoint: `${ISSUER}/introspect`, clientId: 'billing-app', clientSecret: SECRETS.billing, requiredScopes: ['billing:read'] })
    const opaque = await token('billing-app', SECRETS.billing, 'billing:read')
    await expect(verifier.verify(opaque)).resolves.toMatchObject({ clientId: 'billing-app', scopes: ['billing:read'], kind: 'opaque' })
    await expect(verifier.verify(`${opaque}x`)).rejects.toMatchObject({ code: 'ERR_TOKEN_INACTIVE' })
  })
})
