/**
 * Opaque access tokens at the guard (SPEC §4): digest lookup through the bounded cache then the
 * store, expiry and revocation always re-checked, bound to the proxy or group, cache statistics,
 * store outages.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../../src/server/index.js'
import { accepted, apiRequest, ccToken, expectChallenge, flakyStore, ISSUER, makeService, management, passwordToken, PASSWORDS, policyOf, post, creds, refused, T0, testClock } from './_helpers.js'

const BILLING = '/apigateway/billing/invoices'

/** A service whose clock sits at real time, so the in-process caches (on Date.now) keep entries. */
function liveService(edit?: Parameters<typeof makeService>[0], options: Parameters<typeof makeService>[1] = {}) {
  return makeService(edit, { clock: testClock(Date.now()), ...options })
}

describe('opaque tokens: lookup', () => {
  it('accepts a valid token with a principal from its record', async () => {
    const { service } = makeService()
    const { access_token } = await passwordToken(service, 'billing-app', 'alice', PASSWORDS.alice, { scope: 'billing:read' })
    expect(access_token).toMatch(/^gp_[A-Za-z0-9_-]{43}$/)
    const principal = await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(principal).toEqual({
      subject: 'alice',
      clientId: 'billing-app',
      scopes: ['billing:read'],
      audience: [`${ISSUER}/apigateway/billing`],
      kind: 'opaque',
      expiresAt: T0 + 600_000,
      username: 'alice',
      claims: null,
    })
  })

  it('refuses an unknown token', async () => {
    const { service } = makeService()
    await expectChallenge(await refused(service, 'billing', apiRequest('gp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { path: BILLING })), 'billing', 'invalid_token', 'the access token is invalid')
  })

  it('refuses an expired token (no leeway for opaque tokens) and accepts it just before', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'billing-app')
    clock.advance(599_999)
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    clock.advance(1)
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has expired')
  })

  it('refuses a cached token once it has expired', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(service.stats().opaque.hits).toBe(1)
    clock.advance(600_000)
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has expired')
  })

  it('refuses a token from another environment sharing the store', async () => {
    const store = createMemoryStore()
    const { service } = makeService(undefined, { store })
    const { service: staging } = makeService((c) => void (c.environment.name = 'staging'), { store })
    const { access_token } = await ccToken(staging, 'billing-app')
    await accepted(staging, 'billing', apiRequest(access_token, { path: BILLING }))
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token is invalid')
  })
})

describe('opaque tokens: binding', () => {
  it('refuses a proxy-bound token at another proxy', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token is not valid for this API')
  })

  it('accepts a group-bound token at every proxy of the group and refuses it elsewhere', async () => {
    const { service } = makeService((c) => {
      c.groups[0]!.tokenPolicy = { format: 'opaque' }
      c.proxies.push({ name: 'catalog', group: 'shop' })
    })
    const { access_token } = await ccToken(service, 'shop-app')
    expect(access_token.split('.')).toHaveLength(1)
    await accepted(service, 'inventory', apiRequest(access_token))
    await accepted(service, 'catalog', apiRequest(access_token))
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token is not valid for this API')
  })
})

describe('opaque tokens: cache and revocation', () => {
  it('counts a miss for the first check and a hit for the second', async () => {
    const { service } = liveService()
    const { access_token } = await ccToken(service, 'billing-app')
    const start = service.stats().opaque
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(service.stats().opaque).toMatchObject({ misses: start.misses + 1, hits: start.hits, size: 1 })
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(service.stats().opaque).toMatchObject({ misses: start.misses + 1, hits: start.hits + 1, size: 1 })
    expect(service.stats().opaque.bytes).toBeGreaterThan(0)
  })

  it('bounds the cache by opaqueCacheSize (least recently used entries go first)', async () => {
    const { service } = liveService(undefined, { validation: { opaqueCacheSize: 2 } })
    const tokens = [await ccToken(service, 'billing-app'), await ccToken(service, 'billing-app'), await ccToken(service, 'billing-app')]
    for (const { access_token } of tokens) await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(service.stats().opaque.size).toBe(2)
    // The first one was evicted: checking it again is a miss, the last one a hit.
    const before = service.stats().opaque
    await accepted(service, 'billing', apiRequest(tokens[2]!.access_token, { path: BILLING }))
    await accepted(service, 'billing', apiRequest(tokens[0]!.access_token, { path: BILLING }))
    expect(service.stats().opaque).toMatchObject({ hits: before.hits + 1, misses: before.misses + 1, size: 2 })
  })

  it('bounds the cache by opaqueCacheBytes', async () => {
    const { service } = liveService(undefined, { validation: { opaqueCacheBytes: 1_000 } })
    for (let i = 0; i < 5; i++) {
      const { access_token } = await ccToken(service, 'billing-app')
      await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    }
    expect(service.stats().opaque.bytes).toBeLessThanOrEqual(1_000)
    expect(service.stats().opaque.size).toBeLessThan(5)
  })

  it('remembers an unknown token briefly (negative cache hit)', async () => {
    const { service } = liveService()
    const unknown = 'gp_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
    await refused(service, 'billing', apiRequest(unknown, { path: BILLING }))
    await refused(service, 'billing', apiRequest(unknown, { path: BILLING }))
    expect(service.stats().opaque).toMatchObject({ hits: 1, misses: 1 })
  })

  it('refuses a token revoked through POST /auth/revoke right after, although it was cached', async () => {
    const { service } = liveService()
    const { access_token } = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect(service.stats().opaque.hits).toBe(1)
    const revoked = await management(service, '/auth/revoke', 'billing-app', { token: access_token })
    expect(revoked.status).toBe(200)
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('refuses a cached token right after its refresh token was revoked', async () => {
    const { service } = liveService()
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect((await management(service, '/auth/revoke', 'billing-app', { token: refresh_token!, token_type_hint: 'refresh_token' })).status).toBe(200)
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('refuses the previous (cached) access token right after a refresh', async () => {
    const { service } = liveService()
    const first = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(first.access_token, { path: BILLING }))
    const refreshed = await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })
    expect(refreshed.status).toBe(200)
    const second = (await refreshed.json()) as { access_token: string }
    await accepted(service, 'billing', apiRequest(second.access_token, { path: BILLING }))
    await expectChallenge(await refused(service, 'billing', apiRequest(first.access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('refuses a cached earlier token right after deletePrevious issued a new one', async () => {
    const { service } = liveService((c) => void (policyOf(c, 'billing').deletePrevious = true))
    const first = await ccToken(service, 'billing-app')
    await accepted(service, 'billing', apiRequest(first.access_token, { path: BILLING }))
    await ccToken(service, 'billing-app')
    await expectChallenge(await refused(service, 'billing', apiRequest(first.access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('sees a revocation made by another instance once opaqueCacheMaxAge has passed', async () => {
    const store = createMemoryStore()
    const clock = testClock(Date.now())
    const { service: a } = makeService(undefined, { store, clock, validation: { opaqueCacheMaxAge: 50 } })
    const { service: b } = makeService(undefined, { store, clock })
    const { access_token } = await ccToken(a, 'billing-app')
    await accepted(a, 'billing', apiRequest(access_token, { path: BILLING }))
    expect((await management(b, '/auth/revoke', 'billing-app', { token: access_token })).status).toBe(200)
    clock.advance(80)
    await new Promise((resolve) => setTimeout(resolve, 80))
    await expectChallenge(await refused(a, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('answers 503 temporarily_unavailable when the store is down for an uncached token (fails closed)', async () => {
    const flaky = flakyStore()
    const { service } = makeService(undefined, { store: flaky.store })
    const { access_token } = await ccToken(service, 'billing-app')
    flaky.setDown(true)
    const result = await service.guard('billing')(apiRequest(access_token, { path: BILLING }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(503)
    expect(result.response.headers.get('retry-after')).toBe('1')
    expect(await result.response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the token store is temporarily unavailable; retry later' })
    flaky.setDown(false)
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
  })
})
