import { describe, expect, it } from 'vitest'
import { createTokenService, hashClientSecret } from '../../../src/server/index.js'

const SECRET = 'cors-token-endpoint-secret-0123'
const APP = 'https://app.example.com'
const PORTAL = 'https://portal.example.com'
const BILLING = 'https://billing.example.com'

async function service() {
  const digest = await hashClientSecret(SECRET)
  return createTokenService({
    environment: { name: 'cors', issuer: 'https://gw.example.com', cors: { allowOrigins: [PORTAL] } },
    proxies: [
      { name: 'orders', clientId: 'orders-app', clientSecret: digest, cors: { allowOrigins: [APP], allowHeaders: ['authorization', 'content-type'], allowCredentials: true } },
      { name: 'ledger', tokenPolicy: { management: 'acl' } },
      { name: 'billing', clientId: 'billing-app', clientSecret: digest, cors: { allowOrigins: [BILLING], allowCredentials: true } },
    ],
    credentials: [{ clientId: 'partner', clientSecret: digest, grants: [{ proxy: 'ledger' }] }],
  }, { cleanup: false })
}

const preflight = (path: string, origin: string) =>
  new Request(`https://gw.example.com${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })
const tokenRequest = (path: string, origin: string, clientId: string, secret = SECRET) =>
  new Request(`https://gw.example.com${path}`, { method: 'POST', headers: { origin, authorization: `Basic ${btoa(`${clientId}:${secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })

describe('CORS on the token endpoints', () => {
  it('policy mode: the proxy settings answer the preflight before any credential check', async () => {
    const s = await service()
    const response = await s.fetch(preflight('/auth/token', APP))
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
    expect(response.headers.get('access-control-allow-credentials')).toBe('true')
    expect(response.headers.get('vary')).toMatch(/origin/i)
  })

  it("policy mode: an identified client's token response follows its own proxy's settings only, never another proxy's", async () => {
    const s = await service()
    const own = await s.fetch(tokenRequest('/auth/token', APP, 'orders-app'))
    expect(own.status).toBe(200)
    expect(own.headers.get('access-control-allow-origin')).toBe(APP)
    // BILLING is trusted by the billing proxy, not by orders: it may not read orders-app's tokens.
    const foreign = await s.fetch(tokenRequest('/auth/token', BILLING, 'orders-app'))
    expect(foreign.status).toBe(200)
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull()
    const billing = await s.fetch(tokenRequest('/auth/token', BILLING, 'billing-app'))
    expect(billing.headers.get('access-control-allow-origin')).toBe(BILLING)
  })

  it('policy mode: a 401 body is readable by an allowed origin; a disallowed origin gets no CORS headers', async () => {
    const s = await service()
    const refused = await s.fetch(tokenRequest('/auth/token', APP, 'orders-app', 'wrong'))
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP)
    const other = await s.fetch(tokenRequest('/auth/token', 'https://evil.example.net', 'orders-app'))
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(other.headers.get('vary')).toMatch(/origin/i)
  })

  it('ACL mode: the environment settings apply, not the proxy ones', async () => {
    const s = await service()
    expect((await s.fetch(preflight('/credential/token', PORTAL))).headers.get('access-control-allow-origin')).toBe(PORTAL)
    expect((await s.fetch(preflight('/credential/token', APP))).headers.get('access-control-allow-origin')).toBeNull()
    const issued = await s.fetch(tokenRequest('/credential/token', PORTAL, 'partner'))
    expect(issued.status).toBe(200)
    expect(issued.headers.get('access-control-allow-origin')).toBe(PORTAL)
  })
})
