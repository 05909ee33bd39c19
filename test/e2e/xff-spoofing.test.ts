/**
 * Issue 5: a spoofed X-Forwarded-For from an untrusted peer does not bypass a credential's IP
 * allow-list in trusted-proxy mode — over real HTTP through the Node adapter (the peer address
 * comes from the socket: 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService, hashClientSecret, type TokenService } from '../../src/server/index.js'
import { serve, type ServeResult } from '../../src/server/node/index.js'

const SECRET = 'xff-spoofing-secret-0123456789'

async function gateway(trustedProxies: string[]) {
  const service = createTokenService({
    environment: { name: 'xff', issuer: 'http://127.0.0.1', clientIP: { trustedProxies } },
    proxies: [{ name: 'orders', tokenPolicy: { management: 'acl' }, clientIP: { trustedProxies } }],
    credentials: [{ clientId: 'partner', clientSecret: await hashClientSecret(SECRET), ipAllowList: ['203.0.113.0/24'], grants: [{ proxy: 'orders' }] }],
  })
  const api = service.protect('orders', () => new Response('ok'))
  const server = await serve((request, context) => (new URL(request.url).pathname.startsWith('/apigateway/') ? api(request, context) : service.fetch(request, context)), { port: 0 })
  return { service, server }
}

const tokenRequest = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/credential/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`partner:${SECRET}`)}`, ...headers }, body: 'grant_type=client_credentials' })

describe('IP allow-list behind X-Forwarded-For, over real HTTP', () => {
  let untrusting: { service: TokenService; server: ServeResult }
  let trusting: { service: TokenService; server: ServeResult }

  beforeAll(async () => {
    // The loopback peer is not a trusted proxy here…
    untrusting = await gateway(['10.0.0.0/8'])
    // …and is one here (a load balancer on the same host).
    trusting = await gateway(['127.0.0.1/32', '::1/128'])
  })

  afterAll(async () => {
    for (const g of [untrusting, trusting]) {
      await g?.server.close()
      await g?.service.close()
    }
  })

  it('refuses a token request whose XFF claims an allowed address from an untrusted peer', async () => {
    const response = await tokenRequest(untrusting.server.url, { 'x-forwarded-for': '203.0.113.7' })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: 'the client may not obtain tokens from this address' })
  })

  it('accepts the same request through a trusted proxy, and refuses a spoofed left-most entry there', async () => {
    expect((await tokenRequest(trusting.server.url, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200)
    // The client prepends an allowed address; the trusted proxy appended the real one (198.51.100.9).
    const spoofed = await tokenRequest(trusting.server.url, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })
    expect(spoofed.status).toBe(401)
  })

  it('applies the same rule to API calls with a token', async () => {
    const { access_token } = (await (await tokenRequest(trusting.server.url, { 'x-forwarded-for': '203.0.113.7' })).json()) as { access_token: string }
    const call = (url: string, xff: string) => fetch(`${url}/apigateway/orders/x`, { headers: { authorization: `Bearer ${access_token}`, 'x-forwarded-for': xff } })
    expect((await call(trusting.server.url, '203.0.113.7')).status).toBe(200)
    expect((await call(trusting.server.url, '203.0.113.7, 198.51.100.9')).status).toBe(401)
    // Without XFF the client is the loopback peer itself, which is not on the allow-list.
    const direct = await fetch(`${trusting.server.url}/apigateway/orders/x`, { headers: { authorization: `Bearer ${access_token}` } })
    expect(direct.status).toBe(401)
    expect(direct.headers.get('www-authenticate')).toBe('Bearer realm="orders", error="invalid_token", error_description="the access token may not be used from this address"')
  })
})
