/**
 * End to end over real HTTP on 127.0.0.1: `gatepass/client` against the gatepass token service and
 * a guarded API served by the Node adapter. No mocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAPIClient, createTokenClient, decodeClaims } from '../../src/client/index.js'
import { createTokenService, hashClientSecret, hashPassword, type TokenService } from '../../src/server/index.js'
import { serve, type ServeResult } from '../../src/server/node/index.js'

const SECRETS = { orders: 'orders-e2e-secret-0123456789', billing: 'billing-e2e-secret-0123456789' }

let service: TokenService
let server: ServeResult
const grants: Record<string, number> = {}
const count = (grant: string) => grants[grant] ?? 0

beforeAll(async () => {
  // Listen first, so the configured issuer is the real URL (discovery checks it).
  let handler: (request: Request, context: { remoteAddress?: string | undefined }) => Promise<Response> = async () => new Response(null, { status: 503 })
  server = await serve((request, context) => handler(request, context ?? {}), { port: 0 })
  service = createTokenService({
    environment: { name: 'e2e', issuer: server.url },
    proxies: [
      {
        name: 'orders',
        clientId: 'orders-app',
        clientSecret: await hashClientSecret(SECRETS.orders),
        tokenPolicy: { grants: ['client_credentials', 'password'], refresh: { enabled: true }, allowedScopes: ['orders:read', 'orders:write'], scopes: 'lenient' },
      },
      {
        name: 'billing',
        clientId: 'billing-app',
        clientSecret: await hashClientSecret(SECRETS.billing),
        tokenPolicy: { format: 'opaque', refresh: { enabled: true } },
      },
    ],
    users: [{ username: 'alice', passwordHash: await hashPassword('alice-e2e-password', { iterations: 1000 }), roles: ['orders:read'] }],
  })
  const orders = service.protect('orders', (_request, principal) => Response.json({ subject: principal.subject, scopes: principal.scopes, kind: principal.kind }))
  const billing = service.protect('billing', (_request, principal) => Response.json({ subject: principal.subject, kind: principal.kind }))
  handler = async (request, context) => {
    const path = new URL(request.url).pathname
    if (path.startsWith('/apigateway/orders')) return orders(request, context)
    if (path.startsWith('/apigateway/billing')) return billing(request, context)
    if (path === '/auth/token') {
      const grant = new URLSearchParams(await request.clone().text()).get('grant_type') ?? 'none'
      grants[grant] = count(grant) + 1
    }
    return service.fetch(request, context)
  }
})

afterAll(async () => {
  await server?.close()
  await service?.close()
})

const tokenEndpoint = () => `${server.url}/auth/token`

describe('token client against the gatepass token service', () => {
  it('client_credentials: obtains a JWT, caches it, and calls the guarded API', async () => {
    const tokens = createTokenClient({ tokenEndpoint: tokenEndpoint(), clientId: 'orders-app', clientSecret: SECRETS.orders, grant: 'client_credentials', scope: 'orders:read', crossTab: false })
    const api = createAPIClient({ prefixUrl: `${server.url}/apigateway/orders`, tokens })
    const before = count('client_credentials')
    expect(await api.get('items').json()).toEqual({ subject: 'orders-app', scopes: ['orders:read'], kind: 'jwt' })
    expect(await api.get('items').json()).toEqual({ subject: 'orders-app', scopes: ['orders:read'], kind: 'jwt' })
    expect(count('client_credentials') - before).toBe(1)
    const claims = decodeClaims((await tokens.getToken()).access_token)
    expect(claims).toMatchObject({ iss: `${server.url}/auth`, sub: 'orders-app', client_id: 'orders-app', scope: 'orders:read' })
  })

  it('discovers the token endpoint from the issuer', async () => {
    const tokens = createTokenClient({ issuer: `${server.url}/auth`, clientId: 'orders-app', clientSecret: SECRETS.orders, grant: 'client_credentials', crossTab: false })
    expect((await tokens.getToken()).token_type).toBe('Bearer')
  })

  it('password grant, then refresh with rotation', async () => {
    const tokens = createTokenClient({ tokenEndpoint: tokenEndpoint(), clientId: 'orders-app', clientSecret: SECRETS.orders, grant: { type: 'password', username: 'alice', password: 'alice-e2e-password' }, crossTab: false })
    const first = await tokens.getToken()
    expect(decodeClaims(first.access_token).sub).toBe('alice')
    const refreshes = count('refresh_token')
    const passwords = count('password')
    const second = await tokens.invalidate()
    expect(second.access_token).not.toBe(first.access_token)
    expect(decodeClaims(second.access_token).sub).toBe('alice')
    expect(count('refresh_token') - refreshes).toBe(1)
    const third = await tokens.invalidate()
    expect(count('password')).toBe(passwords)
    expect(third.access_token).not.toBe(second.access_token)
    expect(count('refresh_token') - refreshes).toBe(2)
  })

  it('recovers by itself from a forced key rotation (every JWT invalidated)', async () => {
    const tokens = createTokenClient({ tokenEndpoint: tokenEndpoint(), clientId: 'orders-app', clientSecret: SECRETS.orders, grant: 'client_credentials', crossTab: false })
    const api = createAPIClient({ prefixUrl: `${server.url}/apigateway/orders`, tokens })
    await api.get('items').json()
    const old = (await tokens.getToken()).access_token
    await service.rotateKeys({ invalidate: true })
    expect(await api.get('items').json()).toMatchObject({ subject: 'orders-app' })
    const current = (await tokens.getToken()).access_token
    expect(current).not.toBe(old)
    const { kid } = JSON.parse(atob(current.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))) as { kid: string }
    const jwks = (await (await fetch(`${server.url}/auth/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }
    expect(jwks.keys.map((k) => k.kid)).toContain(kid)
  })

  it('recovers by itself from a forced revocation of its opaque token (refresh family revoked → full exchange)', async () => {
    const tokens = createTokenClient({ tokenEndpoint: tokenEndpoint(), clientId: 'billing-app', clientSecret: SECRETS.billing, grant: 'client_credentials', crossTab: false })
    const api = createAPIClient({ prefixUrl: `${server.url}/apigateway/billing`, tokens })
    expect(await api.get('x').json()).toEqual({ subject: 'billing-app', kind: 'opaque' })
    const old = (await tokens.getToken()).access_token
    const revoked = await fetch(`${server.url}/auth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`billing-app:${SECRETS.billing}`)}` },
      body: new URLSearchParams({ token: old }),
    })
    expect(revoked.status).toBe(200)
    const before = { cc: count('client_credentials'), refresh: count('refresh_token') }
    expect(await api.get('x').json()).toEqual({ subject: 'billing-app', kind: 'opaque' })
    expect((await tokens.getToken()).access_token).not.toBe(old)
    // The refresh token died with the access token: the client fell back to a full exchange.
    expect(count('refresh_token') - before.refresh).toBe(1)
    expect(count('client_credentials') - before.cc).toBe(1)
  })

  it('100 concurrent API calls that all get 401 for the same revoked token cause exactly one new token', async () => {
    const tokens = createTokenClient({ tokenEndpoint: tokenEndpoint(), clientId: 'billing-app', clientSecret: SECRETS.billing, grant: 'client_credentials', crossTab: false })
    const api = createAPIClient({ prefixUrl: `${server.url}/apigateway/billing`, tokens, retry: 0 })
    await api.get('x').json()
    const old = (await tokens.getToken()).access_token
    await fetch(`${server.url}/auth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`billing-app:${SECRETS.billing}`)}` },
      body: new URLSearchParams({ token: old }),
    })
    const before = count('client_credentials') + count('refresh_token')
    const results = await Promise.all(Array.from({ length: 100 }, () => api.get('x').json()))
    expect(results.every((r) => (r as { subject: string }).subject === 'billing-app')).toBe(true)
    // One refresh attempt (refused: the family is revoked) and one full exchange.
    expect(count('client_credentials') + count('refresh_token') - before).toBe(2)
  })
})
