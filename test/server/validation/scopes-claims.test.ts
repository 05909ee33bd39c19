/**
 * Required scopes (RFC 6750 §3.1 `insufficient_scope`, 403 with `scope`) and typed custom claims
 * parsed with a `defineClaims()` schema on `principal.claims`.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import * as z from 'zod/mini'
import { defineClaims } from '../../../src/shared/index.js'
import { apiRequest, ccToken, expectChallenge, makeACLService, makeService, passwordToken, PASSWORDS } from './_helpers.js'

const LACKS = 'the access token lacks a required scope'

describe('required scopes', () => {
  it('passes when the token carries every required scope', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read orders:write' })
    const result = await service.guard('orders', { scopes: ['orders:write'] })(apiRequest(access_token))
    expect(result.ok).toBe(true)
    const both = await service.guard('orders', { scopes: ['orders:read', 'orders:write'] })(apiRequest(access_token))
    expect(both.ok).toBe(true)
  })

  it('reads its options once: changing them afterwards does not weaken a guard already made', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const options = { scopes: ['orders:write'], allowQueryToken: false }
    const api = service.protect('orders', () => new Response('ok'), options)
    options.scopes.splice(0, 1, 'orders:read')
    options.allowQueryToken = true
    await expectChallenge(await api(apiRequest(access_token)), 'orders', 'insufficient_scope', LACKS, 'orders:write')
    const inQuery = new Request(apiRequest(null, { path: `/apigateway/orders/items?access_token=${access_token}` }))
    await expectChallenge(await api(inQuery), 'orders')
  })

  it('refuses required scopes that are not an array of scope tokens, when the guard is made', () => {
    const { service } = makeService()
    for (const scopes of ['orders:read', [''], ['two words'], [42], ['quote"d']]) {
      expect(() => service.guard('orders', { scopes: scopes as string[] })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }) as unknown as Error)
    }
  })

  it('answers 403 insufficient_scope with the required scope in the challenge', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const result = await service.guard('orders', { scopes: ['orders:write'] })(apiRequest(access_token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'insufficient_scope', LACKS, 'orders:write')
  })

  it('lists every required scope (space separated) when one of several is missing', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const result = await service.guard('orders', { scopes: ['orders:read', 'orders:write'] })(apiRequest(access_token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'insufficient_scope', LACKS, 'orders:read orders:write')
  })

  it('answers 403 for a token without any scope', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const result = await service.guard('orders', { scopes: ['profile'] })(apiRequest(access_token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'insufficient_scope', LACKS, 'profile')
  })

  it('checks scopes of opaque tokens too (password grant: roles of the user)', async () => {
    const { service } = makeService()
    const { access_token } = await passwordToken(service, 'billing-app', 'alice', PASSWORDS.alice, { scope: 'billing:read' })
    const request = () => apiRequest(access_token, { path: '/apigateway/billing/x' })
    expect((await service.guard('billing', { scopes: ['billing:read'] })(request())).ok).toBe(true)
    const result = await service.guard('billing', { scopes: ['billing:write'] })(request())
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'billing', 'insufficient_scope', LACKS, 'billing:write')
  })

  it('reports an invalid token as 401 before any scope check', async () => {
    const { service } = makeService()
    const result = await service.guard('orders', { scopes: ['orders:write'] })(apiRequest('nope'))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'invalid_token', 'the access token is invalid')
  })
})

describe('typed custom claims (defineClaims)', () => {
  const acmeClaims = defineClaims({ tenant: z.string(), acme_tier: z.enum(['gold', 'silver']), quota: z.number() })

  it('parses custom claims from credential metadata (includeInJwt) onto principal.claims, typed', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    const result = await service.guard('payments', { claims: acmeClaims })(apiRequest(access_token, { path: '/apigateway/payments/x' }))
    if (!result.ok) return expect.fail(`refused: ${result.response.headers.get('www-authenticate')}`)
    const claims = result.principal.claims
    expectTypeOf(claims).toEqualTypeOf<z.infer<typeof acmeClaims> | null>()
    expect(claims).toMatchObject({ tenant: 'acme-corp', acme_tier: 'gold', quota: 1000, client_id: 'acme', sub: 'acme' })
    // Secret metadata never reaches a JWT, and a reserved claim name cannot be overridden.
    expect(claims).not.toHaveProperty('api-key')
    expect(claims?.sub).toBe('acme')
  })

  it('refuses a token whose claims do not match the schema with 401', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const result = await service.guard('orders', { claims: acmeClaims })(apiRequest(access_token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'invalid_token', 'the access token claims are not valid for this API')
  })

  it('keeps unknown claims with the default schema', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    const result = await service.guard('payments')(apiRequest(access_token, { path: '/apigateway/payments/x' }))
    if (!result.ok) return expect.fail('refused')
    expect(result.principal.claims).toMatchObject({ tenant: 'acme-corp', acme_tier: 'gold', quota: 1000 })
  })
})
