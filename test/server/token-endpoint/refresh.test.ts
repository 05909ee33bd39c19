/**
 * The refresh_token grant: rotation, revocation of the previous opaque access token, maxCount,
 * lifetimes, reuse detection (family revocation), idempotent replay inside the grace window,
 * concurrency, client binding, scope narrowing, `/jwt`; and `POST …/jwt/regenerate`.
 */
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, type RotateOutcome, type TokenStore } from '../../../src/server/index.js'
import { basic, creds, digestOf, expectError, expectToken, ISSUER, makeService, PASSWORDS, policyOf, post, SECRETS, T0, type TokenBody, type TestService, verifyJWT } from '../_fixtures.js'

const CC = { grant_type: 'client_credentials' }
const INVALID = 'the refresh token is invalid, expired or revoked'
const REUSED = 'the refresh token was already used; its token family has been revoked'

function refresh(t: TestService, clientId: string, token: string, extra: Record<string, string> = {}, path = '/auth/token'): Promise<Response> {
  return post(t.service, path, { grant_type: 'refresh_token', refresh_token: token, ...extra, ...creds(clientId) })
}

async function opaqueGrant(t: TestService): Promise<TokenBody> {
  return expectToken(await post(t.service, '/auth/token', { ...CC, scope: 'billing:read', ...creds('billing-app') }))
}

describe('rotation', () => {
  it('returns a new refresh token each time and consumes the old one (JWT policy)', async () => {
    const t = makeService()
    const first = await expectToken(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, scope: 'orders:read', ...creds('orders-app') }))
    t.clock.advance(60_000)
    const second = await expectToken(await refresh(t, 'orders-app', first.refresh_token!))
    expect(second.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect(second.access_token).not.toBe(first.access_token)
    expect(second.scope).toBe('orders:read')
    expect(second.expires_in).toBe(300)
    const { payload } = await verifyJWT(t.service, second.access_token, { currentDate: new Date(T0 + 60_000) })
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'orders-app', scope: 'orders:read', iat: (T0 + 60_000) / 1000, sid: decodeJwt(first.access_token).sid })
    const old = await t.store.findRefreshToken(await digestOf(first.refresh_token!))
    expect(old).toMatchObject({ consumedAt: T0 + 60_000, revokedAt: null })
    const next = await t.store.findRefreshToken(await digestOf(second.refresh_token!))
    expect(next).toMatchObject({ familyId: old!.familyId, refreshCount: 1, consumedAt: null, issuedAt: T0 + 60_000, expiresAt: T0 + 60_000 + 86_400_000 })
    // The new one works in turn.
    const third = await expectToken(await refresh(t, 'orders-app', second.refresh_token!))
    expect(third.refresh_token).not.toBe(second.refresh_token)
  })

  it('revokes the previous opaque access token and stores the new one in the same family', async () => {
    const t = makeService()
    const first = await opaqueGrant(t)
    t.clock.advance(1000)
    const second = await expectToken(await refresh(t, 'billing-app', first.refresh_token!))
    const before = await t.store.findAccessToken(await digestOf(first.access_token))
    const after = await t.store.findAccessToken(await digestOf(second.access_token))
    expect(before).toMatchObject({ revokedAt: T0 + 1000 })
    expect(after).toMatchObject({ revokedAt: null, familyId: before!.familyId, scope: 'billing:read', issuedAt: T0 + 1000, expiresAt: T0 + 1000 + 600_000 })
  })

  it('refuses a refresh token of another environment sharing the store', async () => {
    const store = createMemoryStore()
    const a = makeService(undefined, { store })
    const b = makeService((c) => void (c.environment.name = 'staging'), { store })
    const first = await expectToken(await post(a.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    await expectError(await refresh(b, 'orders-app', first.refresh_token!), 400, 'invalid_grant', INVALID)
    await expectToken(await refresh(a, 'orders-app', first.refresh_token!))
  })

  it('gives expires_in in milliseconds on refresh when the environment says so', async () => {
    const t = makeService((c) => void (c.environment.expiresInUnit = 'milliseconds'))
    const first = await opaqueGrant(t)
    expect(first.expires_in).toBe(600_000)
    const second = await expectToken(await refresh(t, 'billing-app', first.refresh_token!))
    expect(second.expires_in).toBe(600_000)
  })

  it('requires the refresh_token parameter and refuses unknown tokens', async () => {
    const t = makeService()
    await expectError(await post(t.service, '/auth/token', { grant_type: 'refresh_token', ...creds('orders-app') }), 400, 'invalid_request', 'the refresh_token parameter is required')
    await expectError(await refresh(t, 'orders-app', 'gp_not-a-real-token'), 400, 'invalid_grant', INVALID)
  })

  it('issues no refresh token where refresh is disabled, and refuses refresh there', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').refresh = { enabled: false }))
    const body = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(body).not.toHaveProperty('refresh_token')
    await expectError(await refresh(t, 'orders-app', 'whatever-token'), 400, 'invalid_grant', INVALID)
  })

  it('refuses a refresh token once the policy disables refresh', async () => {
    const store = createMemoryStore()
    const a = makeService(undefined, { store })
    const first = await expectToken(await post(a.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const b = makeService((c) => void (policyOf(c, 'orders').refresh = { enabled: false }), { store })
    await expectError(await refresh(b, 'orders-app', first.refresh_token!), 400, 'unauthorized_client', 'refresh is not enabled for this client')
  })
})

describe('limits and lifetimes', () => {
  it('refuses once maxCount is exhausted, changing nothing', async () => {
    const t = makeService((c) => void (policyOf(c, 'billing').refresh = { enabled: true, maxCount: 2 }))
    const r0 = await opaqueGrant(t)
    const r1 = await expectToken(await refresh(t, 'billing-app', r0.refresh_token!))
    const r2 = await expectToken(await refresh(t, 'billing-app', r1.refresh_token!))
    const before = { refresh: await t.store.findRefreshToken(await digestOf(r2.refresh_token!)), access: await t.store.findAccessToken(await digestOf(r2.access_token)) }
    await expectError(await refresh(t, 'billing-app', r2.refresh_token!), 400, 'invalid_grant', 'the refresh limit of this token has been reached')
    expect(await t.store.findRefreshToken(await digestOf(r2.refresh_token!))).toEqual(before.refresh)
    expect(await t.store.findAccessToken(await digestOf(r2.access_token))).toEqual(before.access)
    expect(before.refresh).toMatchObject({ refreshCount: 2, consumedAt: null, revokedAt: null })
    // Still refused on a second try (not a replay).
    await expectError(await refresh(t, 'billing-app', r2.refresh_token!), 400, 'invalid_grant', 'the refresh limit of this token has been reached')
  })

  it('works after the access token expired but before the refresh token does', async () => {
    const t = makeService()
    const first = await opaqueGrant(t)
    t.clock.advance(600_000 + 1)
    const second = await expectToken(await refresh(t, 'billing-app', first.refresh_token!))
    expect(await t.store.findAccessToken(await digestOf(second.access_token))).toMatchObject({ expiresAt: T0 + 600_001 + 600_000 })
  })

  it('refuses an expired refresh token with invalid_grant', async () => {
    const t = makeService()
    const first = await opaqueGrant(t)
    t.clock.advance(3_600_000)
    await expectError(await refresh(t, 'billing-app', first.refresh_token!), 400, 'invalid_grant', INVALID)
  })

  it('renews the refresh lifetime at each rotation', async () => {
    const t = makeService()
    const r0 = await opaqueGrant(t)
    t.clock.advance(3_000_000)
    const r1 = await expectToken(await refresh(t, 'billing-app', r0.refresh_token!))
    t.clock.advance(3_000_000)
    await expectToken(await refresh(t, 'billing-app', r1.refresh_token!))
  })
})

describe('reuse and replay', () => {
  it('revokes the whole family on reuse outside the grace window', async () => {
    const t = makeService()
    const r0 = await opaqueGrant(t)
    const r1 = await expectToken(await refresh(t, 'billing-app', r0.refresh_token!))
    t.clock.advance(10_001)
    await expectError(await refresh(t, 'billing-app', r0.refresh_token!), 400, 'invalid_grant', REUSED)
    // The newest refresh token stops working, and the newest opaque access token is revoked.
    await expectError(await refresh(t, 'billing-app', r1.refresh_token!), 400, 'invalid_grant', INVALID)
    expect(await t.store.findAccessToken(await digestOf(r1.access_token))).toMatchObject({ revokedAt: T0 + 10_001 })
    expect(await t.store.findRefreshToken(await digestOf(r1.refresh_token!))).toMatchObject({ revokedAt: T0 + 10_001 })
    // A later reuse of the old one stays refused.
    await expectError(await refresh(t, 'billing-app', r0.refresh_token!), 400, 'invalid_grant', INVALID)
  })

  it('honours a configured grace window (0 = every reuse revokes)', async () => {
    const t = makeService((c) => void (policyOf(c, 'billing').refresh = { enabled: true, graceWindow: 0 }))
    const r0 = await opaqueGrant(t)
    const r1 = await expectToken(await refresh(t, 'billing-app', r0.refresh_token!))
    t.clock.advance(1)
    await expectError(await refresh(t, 'billing-app', r0.refresh_token!), 400, 'invalid_grant', REUSED)
    await expectError(await refresh(t, 'billing-app', r1.refresh_token!), 400, 'invalid_grant', INVALID)
  })

  it('replays a byte-identical response to a duplicate inside the window', async () => {
    const t = makeService()
    const r0 = await opaqueGrant(t)
    const original = await refresh(t, 'billing-app', r0.refresh_token!)
    const originalText = await original.clone().text()
    await expectToken(original)
    t.clock.advance(10_000)
    const duplicate = await refresh(t, 'billing-app', r0.refresh_token!)
    expect(duplicate.status).toBe(200)
    expect(duplicate.headers.get('cache-control')).toBe('no-store')
    expect(duplicate.headers.get('pragma')).toBe('no-cache')
    expect(duplicate.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await duplicate.text()).toBe(originalText)
    // The replayed tokens are live.
    const replayed = JSON.parse(originalText) as TokenBody
    expect(await t.store.findAccessToken(await digestOf(replayed.access_token))).toMatchObject({ revokedAt: null })
    await expectToken(await refresh(t, 'billing-app', replayed.refresh_token!))
  })

  it('replays JWT responses too, and never echoes the refresh token in an error', async () => {
    const t = makeService()
    const first = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const original = await (await refresh(t, 'orders-app', first.refresh_token!)).text()
    t.clock.advance(2000)
    expect(await (await refresh(t, 'orders-app', first.refresh_token!)).text()).toBe(original)
    t.clock.advance(60_000)
    const refused = await refresh(t, 'orders-app', first.refresh_token!)
    const text = await refused.clone().text()
    await expectError(refused, 400, 'invalid_grant', REUSED)
    expect(text).not.toContain(first.refresh_token!)
    expect(text).not.toContain((JSON.parse(original) as TokenBody).refresh_token!)
  })

  it('refuses refresh for a credential disabled since', async () => {
    const store = createMemoryStore()
    const a = makeService(undefined, { store })
    const first = await expectToken(await post(a.service, '/credential/token', { ...CC, ...creds('acme') }))
    const b = makeService((c) => void (c.credentials[0]!.enabled = false), { store })
    await expectError(await refresh(b, 'acme', first.refresh_token!, {}, '/credential/token'), 401, 'invalid_client', 'the client is disabled')
  })

  it('answers 20 concurrent refreshes with one token with one new family member and identical bodies', async () => {
    const outcomes: RotateOutcome['status'][] = []
    const inner = createMemoryStore()
    const store: TokenStore = {
      ...inner,
      async rotateRefreshToken(input) {
        const outcome = await inner.rotateRefreshToken(input)
        outcomes.push(outcome.status)
        return outcome
      },
    }
    const t = makeService(undefined, { store })
    const r0 = await opaqueGrant(t)
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(t, 'billing-app', r0.refresh_token!)))
    const texts = await Promise.all(responses.map((r) => r.text()))
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(new Set(texts).size).toBe(1)
    expect(outcomes.filter((s) => s === 'rotated')).toHaveLength(1)
    const body = JSON.parse(texts[0]!) as TokenBody
    expect(await t.store.findRefreshToken(await digestOf(body.refresh_token!))).toMatchObject({ refreshCount: 1, consumedAt: null, revokedAt: null })
    expect(await t.store.findAccessToken(await digestOf(body.access_token))).toMatchObject({ revokedAt: null })
  })

  it('does not replay to another client, and does not consume the token for its owner', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').allowedScopes = ['billing:read']))
    const r0 = await opaqueGrant(t)
    await expectError(await refresh(t, 'orders-app', r0.refresh_token!), 400, 'invalid_grant', INVALID)
    expect(await t.store.findRefreshToken(await digestOf(r0.refresh_token!))).toMatchObject({ consumedAt: null, revokedAt: null })
    const r1 = await refresh(t, 'billing-app', r0.refresh_token!)
    await expectToken(r1)
    // Nor is the replay given to another client inside the window.
    await expectError(await refresh(t, 'orders-app', r0.refresh_token!), 400, 'invalid_grant', INVALID)
  })

  // Was a bug (fixed in f5596f0): with deletePrevious, the rotation also revoked the refresh token
  // being consumed, so a duplicate inside the grace window got invalid_grant instead of the replay.
  it('replays inside the grace window also when deletePrevious is on', async () => {
    const t = makeService((c) => void (policyOf(c, 'billing').deletePrevious = true))
    const r0 = await opaqueGrant(t)
    const original = await (await refresh(t, 'billing-app', r0.refresh_token!)).text()
    t.clock.advance(1000)
    const duplicate = await refresh(t, 'billing-app', r0.refresh_token!)
    expect(duplicate.status).toBe(200)
    expect(await duplicate.text()).toBe(original)
  })
})

describe('scope and endpoints', () => {
  it('narrows the scope on refresh, and refuses widening', async () => {
    const t = makeService()
    const first = await expectToken(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, scope: 'orders:read orders:write', ...creds('orders-app') }))
    await expectError(await refresh(t, 'orders-app', first.refresh_token!, { scope: 'orders:read profile' }), 400, 'invalid_scope', 'the requested scope exceeds the original grant')
    const narrowed = await expectToken(await refresh(t, 'orders-app', first.refresh_token!, { scope: 'orders:read' }))
    expect(narrowed.scope).toBe('orders:read')
    expect(decodeJwt(narrowed.access_token).scope).toBe('orders:read')
    // The narrowed grant is what later refreshes start from.
    await expectError(await refresh(t, 'orders-app', narrowed.refresh_token!, { scope: 'orders:write' }), 400, 'invalid_scope')
    const kept = await expectToken(await refresh(t, 'orders-app', narrowed.refresh_token!))
    expect(kept.scope).toBe('orders:read')
  })

  // Regression (fixed): a refresh re-grants the original scope without checking it against the current config:
  // after a scope is removed from the proxy's allowedScopes (or from the user's roles), every
  // refresh keeps minting tokens that carry it, for as long as the family lives (ttl renewed at
  // each rotation × maxCount). ACL audiences are re-checked on refresh; scopes are not.
  it('does not re-grant a scope the config no longer allows', async () => {
    const store = createMemoryStore()
    const a = makeService(undefined, { store })
    const first = await expectToken(await post(a.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, scope: 'orders:read orders:write', ...creds('orders-app') }))
    const b = makeService((c) => void (policyOf(c, 'orders').allowedScopes = ['orders:read']), { store })
    const response = await refresh(b, 'orders-app', first.refresh_token!)
    if (response.status === 400) {
      await expectError(response, 400, 'invalid_grant')
      return
    }
    const body = await expectToken(response)
    expect(body.scope).toBe('orders:read')
    expect(decodeJwt(body.access_token).scope).toBe('orders:read')
  })

  it('refreshes on /jwt for a JWT policy, and refuses /jwt for an opaque one', async () => {
    const t = makeService()
    const jwt = await expectToken(await post(t.service, '/auth/jwt', { ...CC, ...creds('orders-app') }))
    const next = await expectToken(await refresh(t, 'orders-app', jwt.refresh_token!, {}, '/auth/jwt'))
    expect((await verifyJWT(t.service, next.access_token)).payload.sub).toBe('orders-app')
    const opaque = await opaqueGrant(t)
    await expectError(await refresh(t, 'billing-app', opaque.refresh_token!, {}, '/auth/jwt'), 400, 'invalid_request', 'this client is issued opaque tokens; use the token endpoint')
  })

  it('refreshes in ACL mode on /credential only, keeping custom claims', async () => {
    const t = makeService()
    const first = await expectToken(await post(t.service, '/credential/token', { ...CC, ...creds('acme') }))
    await expectError(await refresh(t, 'acme', first.refresh_token!, {}, '/auth/token'), 401, 'invalid_client')
    const next = await expectToken(await refresh(t, 'acme', first.refresh_token!, {}, '/credential/token'))
    expect(next.region).toBe('eu-west')
    const { payload } = await verifyJWT(t.service, next.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ iss: `${ISSUER}/credential`, tenant: 'acme-corp', sub: 'acme' })
  })

  it('drops audiences whose ACL grant was removed, and refuses when none is left', async () => {
    const store = createMemoryStore()
    const a = makeService(undefined, { store })
    const first = await expectToken(await post(a.service, '/credential/token', { ...CC, ...creds('acme') }))
    const b = makeService((c) => void (c.credentials[0]!.grants = [{ group: 'shop' }]), { store })
    const second = await expectToken(await refresh(b, 'acme', first.refresh_token!, {}, '/credential/token'))
    expect(decodeJwt(second.access_token).aud).toBe(`${ISSUER}/apigateway/groups/shop`)
    const c = makeService((cfg) => void (cfg.credentials[0]!.grants = []), { store })
    await expectError(await refresh(c, 'acme', second.refresh_token!, {}, '/credential/token'), 400, 'invalid_grant', 'the client is no longer granted this API proxy')
  })
})

describe('JWT regenerate', () => {
  const regenerate = (t: TestService, jwt: string, clientId = 'orders-app', base = '/auth') =>
    post(t.service, `${base}/jwt/regenerate`, creds(clientId), { headers: { authorization: `Bearer ${jwt}` } })

  it('issues a fresh JWT for a still-valid one of the same client when enabled', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').regenerate = true))
    const first = await expectToken(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, scope: 'orders:read', ...creds('orders-app') }))
    t.clock.advance(200_000)
    const body = await expectToken(await regenerate(t, first.access_token))
    expect(body).not.toHaveProperty('refresh_token')
    expect(body.expires_in).toBe(300)
    expect(body.scope).toBe('orders:read')
    const { payload } = await verifyJWT(t.service, body.access_token, { currentDate: new Date(T0 + 200_000) })
    const old = decodeJwt(first.access_token)
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'orders-app', aud: old.aud, scope: 'orders:read', iat: (T0 + 200_000) / 1000, exp: (T0 + 200_000) / 1000 + 300 })
    expect(payload.jti).not.toBe(old.jti)
    // Still linked to the refresh family it came from.
    expect(typeof old.sid).toBe('string')
    expect(payload.sid).toBe(old.sid)
  })

  it('refuses a JWT whose refresh family was revoked, e.g. by revoking a regenerated JWT', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').regenerate = true))
    const first = await expectToken(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('orders-app') }))
    const renewed = await expectToken(await regenerate(t, first.access_token))
    const revoke = await post(t.service, '/auth/revoke', { token: renewed.access_token }, { headers: { authorization: basic('orders-app', SECRETS.orders) } })
    expect(revoke.status).toBe(200)
    const gone = 'the token family of this access token has been revoked or has expired'
    await expectError(await regenerate(t, renewed.access_token), 400, 'invalid_grant', gone)
    await expectError(await regenerate(t, first.access_token), 400, 'invalid_grant', gone)
    await expectError(await refresh(t, 'orders-app', first.refresh_token!), 400, 'invalid_grant', INVALID)
  })

  it('refuses a still-valid JWT once its refresh family has expired, and answers 503 when the store fails', async () => {
    const t = makeService((c) => {
      policyOf(c, 'orders').regenerate = true
      policyOf(c, 'orders').refresh = { enabled: true, ttl: 120 }
    })
    const first = await expectToken(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('orders-app') }))
    t.clock.advance(119_000)
    await expectToken(await regenerate(t, first.access_token))
    t.clock.advance(1_000)
    await expectError(await regenerate(t, first.access_token), 400, 'invalid_grant', 'the token family of this access token has been revoked or has expired')

    const inner = createMemoryStore()
    let down = false
    const store: TokenStore = { ...inner, isFamilyLive: (familyId, now) => (down ? Promise.reject(new Error('connection refused')) : inner.isFamilyLive(familyId, now)) }
    const u = makeService((c) => void (policyOf(c, 'orders').regenerate = true), { store })
    const token = await expectToken(await post(u.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('orders-app') }))
    down = true
    await expectError(await regenerate(u, token.access_token), 503, 'temporarily_unavailable')
  })

  it('renews a JWT issued without a refresh family without asking the store about one', async () => {
    const inner = createMemoryStore()
    const store: TokenStore = { ...inner, isFamilyLive: () => Promise.reject(new Error('must not be called')) }
    const t = makeService((c) => {
      policyOf(c, 'orders').regenerate = true
      policyOf(c, 'orders').refresh = { enabled: false }
    }, { store })
    const first = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(first).not.toHaveProperty('refresh_token')
    expect(decodeJwt(first.access_token).sid).toBeUndefined()
    const body = await expectToken(await regenerate(t, first.access_token))
    expect(decodeJwt(body.access_token).sid).toBeUndefined()
  })

  it('is refused when the policy does not enable it', async () => {
    const t = makeService()
    const first = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    await expectError(await regenerate(t, first.access_token), 400, 'unauthorized_client', 'JWT regeneration is not enabled for this client')
  })

  it('refuses an expired token', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').regenerate = true))
    const first = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    t.clock.advance(300_001)
    await expectError(await regenerate(t, first.access_token), 400, 'invalid_grant', 'the access token is invalid or expired')
  })

  it("refuses another client's token, a token from another base, a forged one and a missing one", async () => {
    const t = makeService((c) => {
      policyOf(c, 'orders').regenerate = true
      policyOf(c, 'shop').regenerate = true
    })
    const shop = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('shop-app') }))
    await expectError(await regenerate(t, shop.access_token), 400, 'invalid_grant', 'the access token is invalid or expired')
    const acme = await expectToken(await post(t.service, '/credential/token', { ...CC, ...creds('acme') }))
    await expectError(await regenerate(t, acme.access_token), 400, 'invalid_grant', 'the access token is invalid or expired')
    const other = makeService((c) => void (policyOf(c, 'orders').regenerate = true), { store: createMemoryStore() })
    const foreign = await expectToken(await post(other.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    await expectError(await regenerate(t, foreign.access_token), 400, 'invalid_grant', 'the access token is invalid or expired')
    const [h, p] = foreign.access_token.split('.')
    await expectError(await regenerate(t, `${h}.${p}.AAAA`), 400, 'invalid_grant', 'the access token is invalid or expired')
    await expectError(await regenerate(t, 'not-a-jwt'), 400, 'invalid_grant', 'the access token is invalid or expired')
    await expectError(await post(t.service, '/auth/jwt/regenerate', creds('orders-app')), 400, 'invalid_request', 'a still-valid access token is required in the Authorization header (Bearer)')
  })

  it('regenerates in ACL mode with the custom claims, while the grants last', async () => {
    const store = createMemoryStore()
    const t = makeService((c) => void (policyOf(c, 'acme').regenerate = true), { store })
    const first = await expectToken(await post(t.service, '/credential/token', { ...CC, ...creds('acme') }))
    const body = await expectToken(await regenerate(t, first.access_token, 'acme', '/credential'))
    const { payload } = await verifyJWT(t.service, body.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ iss: `${ISSUER}/credential`, sub: 'acme', client_id: 'acme', tenant: 'acme-corp', aud: decodeJwt(first.access_token).aud })
    // On /auth the same client and token are refused.
    await expectError(await regenerate(t, first.access_token, 'acme', '/auth'), 401, 'invalid_client')
    const revoked = makeService((c) => {
      policyOf(c, 'acme').regenerate = true
      c.credentials[0]!.grants = []
    }, { store })
    await expectError(await regenerate(revoked, first.access_token, 'acme', '/credential'), 400, 'invalid_grant', 'the client is no longer granted this API proxy')
  })

  it('still authenticates the client', async () => {
    const t = makeService((c) => void (policyOf(c, 'orders').regenerate = true))
    const first = await expectToken(await post(t.service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const response = await post(t.service, '/auth/jwt/regenerate', creds('orders-app', 'wrong-secret'), { headers: { authorization: `Bearer ${first.access_token}` } })
    await expectError(response, 401, 'invalid_client', 'client authentication failed')
  })
})
