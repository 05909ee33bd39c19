/**
 * The remote verifiers against the token service served over real HTTP on 127.0.0.1: discovery,
 * JWKS caching (one fetch for 100 concurrent callers), key rotation seen through the unknown-`kid`
 * refetch, the refetch cooldown, and introspection.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { createIntrospectionVerifier, createJWTVerifier, createTokenService, hashClientSecret, type TokenService } from '../../src/server/index.js'
import { serve, type ServeResult } from '../../src/server/node/index.js'

const SECRET = 'remote-verifier-secret-0123456789'
let service: TokenService
let server: ServeResult
let jwksFetches = 0

beforeAll(async () => {
  let handler: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
  server = await serve((request) => handler(request), { port: 0 })
  service = createTokenService({
    environment: { name: 'remote', issuer: server.url },
    proxies: [
      { name: 'orders', clientId: 'orders-app', clientSecret: await hashClientSecret(SECRET), tokenPolicy: { allowedScopes: ['orders:read'], scopeWhenAbsent: 'all' } },
      { name: 'billing', clientId: 'billing-app', clientSecret: await hashClientSecret(SECRET), tokenPolicy: { format: 'opaque' } },
    ],
  })
  handler = (request) => {
    if (new URL(request.url).pathname.endsWith('/jwks.json')) jwksFetches++
    return service.fetch(request)
  }
})

afterAll(async () => {
  await server?.close()
  await service?.close()
})

async function token(clientId: string): Promise<string> {
  const response = await fetch(`${server.url}/auth/token`, { method: 'POST', headers: { authorization: `Basic ${btoa(`${clientId}:${SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

describe('createJWTVerifier against the token service over HTTP', () => {
  it('discovers the JWKS, verifies, and makes one JWKS fetch for 100 concurrent callers', async () => {
    const verifier = createJWTVerifier({ issuer: `${server.url}/auth`, metadataUrl: `${server.url}/auth/.well-known/oauth-authorization-server`, audience: `${server.url}/apigateway/orders` })
    const jwt = await token('orders-app')
    const before = jwksFetches
    const principals = await Promise.all(Array.from({ length: 100 }, () => verifier.verify(jwt)))
    expect(principals.every((p) => p.subject === 'orders-app' && p.scopes.includes('orders:read'))).toBe(true)
    expect(jwksFetches - before).toBe(1)
    const checked = await verifier.check(new Request('http://api.test/x', { headers: { authorization: `Bearer ${jwt}` } }))
    expect(checked.ok).toBe(true)
  })

  it('sees a key rotation through the unknown-kid refetch, and honours the cooldown', async () => {
    // The clock moves only when told: the cooldown must not run out while a slow machine rotates
    // keys and issues tokens (jose, the verifier and the service all read Date.now()).
    vi.useFakeTimers({ toFake: ['Date'] })
    onTestFinished(() => void vi.useRealTimers())
    const cooldown = 60_000
    const verifier = createJWTVerifier({ issuer: `${server.url}/auth`, jwksUri: `${server.url}/auth/.well-known/jwks.json`, audience: `${server.url}/apigateway/orders`, cooldownDuration: cooldown })
    await verifier.verify(await token('orders-app'))
    vi.setSystemTime(Date.now() + cooldown + 1)
    const before = jwksFetches

    await service.rotateKeys()
    const rotated = await token('orders-app')
    expect((await verifier.verify(rotated)).subject).toBe('orders-app')
    expect(jwksFetches - before).toBe(1)

    // A second rotation inside the cooldown: the new kid is not fetched yet, the token is refused.
    await service.rotateKeys()
    const again = await token('orders-app')
    await expect(verifier.verify(again)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' })
    const refused = await verifier.check(new Request('http://api.test/x', { headers: { authorization: `Bearer ${again}` } }))
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.response.status).toBe(401)
    expect(jwksFetches - before).toBe(1)

    // Once the cooldown has passed, the unknown kid triggers one more fetch and verifies.
    vi.setSystemTime(Date.now() + cooldown + 1)
    expect((await verifier.verify(again)).subject).toBe('orders-app')
    expect(jwksFetches - before).toBe(2)
  })
})

describe('createIntrospectionVerifier against the token service over HTTP', () => {
  it('accepts an active opaque token and refuses a revoked one', async () => {
    const verifier = createIntrospectionVerifier({ endpoint: `${server.url}/auth/introspect`, clientId: 'billing-app', clientSecret: SECRET, cacheMaxAge: 0 })
    const opaque = await token('billing-app')
    expect((await verifier.verify(opaque)).clientId).toBe('billing-app')
    await fetch(`${server.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Basic ${btoa(`billing-app:${SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: opaque }) })
    await expect(verifier.verify(opaque)).rejects.toMatchObject({ code: 'ERR_TOKEN_INACTIVE' })
  })

  it('refuses a JWT once it is revoked, though its signature still verifies', async () => {
    const introspection = createIntrospectionVerifier({ endpoint: `${server.url}/auth/introspect`, clientId: 'orders-app', clientSecret: SECRET, cacheMaxAge: 0 })
    const signature = createJWTVerifier({ issuer: `${server.url}/auth`, jwksUri: `${server.url}/auth/.well-known/jwks.json`, audience: `${server.url}/apigateway/orders` })
    const jwt = await token('orders-app')
    expect((await introspection.verify(jwt)).kind).toBe('jwt')
    const revoked = await fetch(`${server.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Basic ${btoa(`orders-app:${SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: jwt }) })
    expect(revoked.status).toBe(200)
    await expect(introspection.verify(jwt)).rejects.toMatchObject({ code: 'ERR_TOKEN_INACTIVE' })
    // A signature-only check cannot know: it accepts the JWT until it expires.
    expect((await signature.verify(jwt)).clientId).toBe('orders-app')
  })
})
