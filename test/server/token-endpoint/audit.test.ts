/**
 * Audit events of the token endpoints (SPEC §8): one per request, issued or refused and why, with
 * client, subject, proxy and client IP — never a secret, password or token.
 */
import { describe, expect, it, vi } from 'vitest'
import type { AuditEvent } from '../../../src/server/index.js'
import { basic, CLIENT_SECRETS, creds, formRequest, makeService, PASSWORDS, policyOf, SECRETS, testClock } from '../_fixtures.js'

const IP = '203.0.113.7'

function audited(extra: Parameters<typeof makeService>[1] = {}, edit?: Parameters<typeof makeService>[0]) {
  const events: AuditEvent[] = []
  const clock = testClock()
  const { service } = makeService(edit, { clock, onAudit: (event) => void events.push(event), ...extra })
  const send = (params: Record<string, string>, path = '/auth/token', headers?: Record<string, string>) => service.fetch(formRequest(path, params, { headers }), { remoteAddress: IP })
  return { service, events, clock, send }
}

/** Every secret, password and token the test handled must be absent from the events. */
function expectNoSecrets(events: AuditEvent[], tokens: string[]): void {
  const text = JSON.stringify(events)
  for (const value of [...Object.values(SECRETS), ...Object.values(PASSWORDS), ...tokens, 'wrong-secret', 'wrong-password']) expect(text).not.toContain(value)
}

describe('audit events', () => {
  it('tells who obtained which token, from where, and how long it took', async () => {
    const { events, clock, send } = audited()
    const response = await send({ grant_type: 'client_credentials', scope: 'orders:read', ...creds('orders-app') })
    expect(response.status).toBe(200)
    const { access_token, refresh_token } = (await response.json()) as { access_token: string; refresh_token: string }
    expect(events).toEqual([
      {
        type: 'token.issued',
        at: clock.now(),
        durationMs: expect.any(Number),
        environment: 'test',
        endpoint: 'token',
        mode: 'policy',
        status: 200,
        grantType: 'client_credentials',
        clientId: 'orders-app',
        authenticated: true,
        proxy: 'orders',
        subject: 'orders-app',
        scope: 'orders:read',
        format: 'jwt',
        clientIP: IP,
      },
    ])
    expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0)
    expectNoSecrets(events, [access_token, refresh_token])
  })

  it('tells a refused password with the username and why, never the password', async () => {
    const { events, send } = audited()
    expect((await send({ grant_type: 'password', username: 'alice', password: 'wrong-password', ...creds('orders-app') })).status).toBe(400)
    expect(events).toEqual([
      expect.objectContaining({ type: 'token.refused', status: 400, grantType: 'password', clientId: 'orders-app', authenticated: true, proxy: 'orders', username: 'alice', error: 'invalid_grant', description: 'invalid username or password', clientIP: IP }),
    ])
    expect(events[0]).not.toHaveProperty('subject')
    expectNoSecrets(events, [])
  })

  it('tells a refused client as not authenticated, and a brute-force limit as slow_down', async () => {
    const { events, send } = audited({ rateLimit: { perIP: 1 } })
    expect((await send({ grant_type: 'client_credentials', ...creds('orders-app', 'wrong-secret') })).status).toBe(401)
    expect((await send({ grant_type: 'client_credentials', ...creds('orders-app') })).status).toBe(429)
    expect(events.map((e) => [e.type, e.status, e.error, e.authenticated, e.clientId, e.proxy])).toEqual([
      ['token.refused', 401, 'invalid_client', false, 'orders-app', undefined],
      ['token.refused', 429, 'slow_down', false, 'orders-app', undefined],
    ])
    expectNoSecrets(events, [])
  })

  it('tells refreshes, reuse detection with the family, revocation and introspection', async () => {
    const { events, clock, send } = audited({}, (c) => void (policyOf(c, 'billing').refresh = { enabled: true, graceWindow: 0 }))
    const first = (await (await send({ grant_type: 'client_credentials', ...creds('billing-app') })).json()) as { access_token: string; refresh_token: string }
    const refreshed = (await (await send({ grant_type: 'refresh_token', refresh_token: first.refresh_token, ...creds('billing-app') })).json()) as { access_token: string; refresh_token: string }
    clock.advance(1_000)
    expect((await send({ grant_type: 'refresh_token', refresh_token: first.refresh_token, ...creds('billing-app') })).status).toBe(400) // reuse
    const auth = { authorization: basic('billing-app', CLIENT_SECRETS['billing-app']!) }
    expect((await send({ token: refreshed.access_token }, '/auth/introspect', auth)).status).toBe(200)
    expect((await send({ token: refreshed.refresh_token }, '/auth/revoke', auth)).status).toBe(200)
    expect(events.map((e) => e.type)).toEqual(['token.issued', 'token.refreshed', 'refresh.reuse_detected', 'token.introspected', 'token.revoked'])
    const [, refresh, reuse, introspection, revocation] = events
    expect(refresh).toMatchObject({ endpoint: 'token', grantType: 'refresh_token', subject: 'billing-app', format: 'opaque', proxy: 'billing', status: 200 })
    expect(reuse).toMatchObject({ status: 400, error: 'invalid_grant', familyId: expect.any(String), proxy: 'billing' })
    expect(introspection).toMatchObject({ endpoint: 'introspect', status: 200, clientId: 'billing-app', authenticated: true })
    expect(revocation).toMatchObject({ endpoint: 'revoke', status: 200 })
    expectNoSecrets(events, [first.access_token, first.refresh_token, refreshed.access_token, refreshed.refresh_token])
  })

  it('tells malformed requests too, and nothing for discovery or JWKS', async () => {
    const { service, events, send } = audited()
    expect((await send({ grant_type: 'client_credentials', client_id: 'x'.repeat(500), client_secret: 's' })).status).toBe(401)
    expect((await send({ grant_type: 'made_up', ...creds('orders-app') })).status).toBe(400)
    expect((await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))).status).toBe(200)
    expect(events).toHaveLength(2)
    expect(events[0]!.clientId).toHaveLength(200) // cut
    expect(events[1]).toMatchObject({ type: 'token.refused', error: 'unsupported_grant_type' })
    expect(events[1]).not.toHaveProperty('grantType') // an unknown value is not repeated
  })

  it('answers normally when the listener throws or rejects, and tells onError', async () => {
    const onError = vi.fn()
    let calls = 0
    const onAudit = () => {
      if (++calls === 1) throw new Error('listener bug')
      return Promise.reject(new Error('sink down'))
    }
    const { send } = audited({ onAudit, onError })
    expect((await send({ grant_type: 'client_credentials', ...creds('orders-app') })).status).toBe(200)
    expect((await send({ grant_type: 'client_credentials', ...creds('orders-app') })).status).toBe(200)
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(2))
    expect(onError.mock.calls.map(([e]) => (e as Error).message)).toEqual(['listener bug', 'sink down'])
  })
})
