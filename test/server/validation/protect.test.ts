/**
 * `protect(proxyName, handler)`: the handler runs only for verified requests and gets the
 * principal; CORS preflights are answered before the guard; CORS headers on refusals.
 */
import { describe, expect, it, vi } from 'vitest'
import type { Principal } from '../../../src/server/index.js'
import type { TestConfig } from './_helpers.js'
import { apiRequest, ccToken, challenge, expectChallenge, ISSUER, makeService } from './_helpers.js'

const APP = 'https://app.example'
const withCORS = (c: TestConfig) => void (c.proxies.find((p) => p.name === 'orders')!.cors = { allowOrigins: [APP], allowMethods: ['GET', 'POST', 'DELETE'], allowHeaders: ['authorization', 'content-type'] })

function echoHandler() {
  return vi.fn(async (request: Request, principal: Principal, context: { remoteAddress?: string | undefined }) =>
    Response.json({ path: new URL(request.url).pathname, subject: principal.subject, scopes: principal.scopes, kind: principal.kind, remoteAddress: context.remoteAddress ?? null }, { headers: { 'x-handler': 'yes' } }),
  )
}

describe('protect()', () => {
  it('runs the handler with the principal and the adapter context for a valid token', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const handler = echoHandler()
    const api = service.protect('orders', handler)
    const response = await api(apiRequest(access_token), { remoteAddress: '192.0.2.1' })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-handler')).toBe('yes')
    expect(await response.json()).toEqual({ path: '/apigateway/orders/items', subject: 'orders-app', scopes: ['orders:read'], kind: 'jwt', remoteAddress: '192.0.2.1' })
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('never runs the handler without a valid token (401 challenge)', async () => {
    const { service } = makeService()
    const handler = echoHandler()
    const api = service.protect('orders', handler)
    await expectChallenge(await api(apiRequest(null)), 'orders')
    await expectChallenge(await api(apiRequest('bogus')), 'orders', 'invalid_token', 'the access token is invalid')
    expect(handler).not.toHaveBeenCalled()
  })

  it('passes guard options (required scopes) through', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const handler = echoHandler()
    const api = service.protect('orders', handler, { scopes: ['orders:write'] })
    await expectChallenge(await api(apiRequest(access_token)), 'orders', 'insufficient_scope', 'the access token lacks a required scope', 'orders:write')
    expect(handler).not.toHaveBeenCalled()
  })

  it.each([
    ['a JWT (verified-token cache)', (c: TestConfig) => void c],
    ['an opaque token (token cache)', (c: TestConfig) => void (c.proxies.find((p) => p.name === 'orders')!.tokenPolicy!.format = 'opaque')],
  ])('gives handlers a frozen principal: one handler cannot widen what the next request with %s gets', async (_kind, edit) => {
    const { service } = makeService(edit)
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const tamper = service.protect('orders', (_request, principal) => {
      const attempts = [
        () => principal.scopes.push('orders:write'),
        () => principal.audience.push('https://elsewhere.example'),
        () => ((principal as { subject: string }).subject = 'admin'),
      ]
      const refused = attempts.filter((attempt) => {
        try {
          attempt()
          return false
        } catch (error) {
          return error instanceof TypeError
        }
      })
      return Response.json({ refused: refused.length, frozen: Object.isFrozen(principal) && Object.isFrozen(principal.scopes) && Object.isFrozen(principal.audience) })
    })
    expect(await (await tamper(apiRequest(access_token))).json()).toEqual({ refused: 3, frozen: true })
    const writer = service.protect('orders', echoHandler(), { scopes: ['orders:write'] })
    await expectChallenge(await writer(apiRequest(access_token)), 'orders', 'insufficient_scope', 'the access token lacks a required scope', 'orders:write')
    const reader = echoHandler()
    const response = await service.protect('orders', reader)(apiRequest(access_token))
    expect((await response.json()) as unknown).toMatchObject({ subject: 'orders-app', scopes: ['orders:read'] })
  })

  it('answers a CORS preflight before the guard (no token needed) when the proxy has CORS settings', async () => {
    const { service } = makeService(withCORS)
    const handler = echoHandler()
    const api = service.protect('orders', handler)
    const preflight = new Request(`${ISSUER}/apigateway/orders/items`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
    })
    const response = await api(preflight)
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE')
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
    expect(response.headers.get('vary')).toContain('Origin')
    expect(response.headers.get('www-authenticate')).toBeNull()
    expect(handler).not.toHaveBeenCalled()
  })

  it('answers a preflight from a disallowed origin without CORS headers (and still without the guard)', async () => {
    const { service } = makeService(withCORS)
    const api = service.protect('orders', echoHandler())
    const response = await api(new Request(`${ISSUER}/apigateway/orders/items`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } }))
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sends an OPTIONS request through the guard when the proxy has no CORS settings', async () => {
    const { service } = makeService()
    const api = service.protect('orders', echoHandler())
    const response = await api(new Request(`${ISSUER}/apigateway/orders/items`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } }))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(challenge('orders'))
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('adds CORS headers to a 401 for an allowed origin, and none for another origin', async () => {
    const { service } = makeService(withCORS)
    const api = service.protect('orders', echoHandler())
    const allowed = await api(apiRequest('bogus', { headers: { origin: APP } }))
    expect(allowed.status).toBe(401)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP)
    expect(allowed.headers.get('vary')).toContain('Origin')
    expect(allowed.headers.get('www-authenticate')).toBe(challenge('orders', 'invalid_token', 'the access token is invalid'))
    const other = await api(apiRequest('bogus', { headers: { origin: 'https://evil.example' } }))
    expect(other.status).toBe(401)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('adds CORS headers to the handler response for an allowed origin', async () => {
    const { service } = makeService(withCORS)
    const { access_token } = await ccToken(service, 'orders-app')
    const api = service.protect('orders', echoHandler())
    const response = await api(apiRequest(access_token, { headers: { origin: APP } }))
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('uses the group CORS settings for a proxy of the group without its own', async () => {
    const { service } = makeService((c) => void (c.groups[0]!.cors = { allowOrigins: [APP] }))
    const api = service.protect('inventory', echoHandler())
    const preflight = await api(new Request(`${ISSUER}/apigateway/inventory/x`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } }))
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('lets an exception of the handler propagate to the adapter (which answers 500)', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const api = service.protect('orders', () => {
      throw new Error('handler failure')
    })
    await expect(api(apiRequest(access_token))).rejects.toThrow('handler failure')
  })
})
