/**
 * RFC 7009 token revocation at `POST {base}/revoke`: HTTP Basic required, 200 with an empty body
 * for unknown and foreign tokens (which stay valid), opaque access and refresh tokens revoked
 * together, a JWT revoking its refresh token, and 503 (never a false 200) when the store fails.
 */
import { decodeJwt, generateKeyPair } from 'jose'
import { sha256 } from '../../../src/server/lib/crypto.js'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, type TokenStore } from '../../../src/server/index.js'
import { SEED_KEYS } from '../_fixtures.js'
import { accepted, activeKey, apiRequest, ccToken, creds, expectChallenge, expectError, flakyStore, ISSUER, makeACLService, makeService, management, ordersClaims, post, refused, signRaw, T0, testClock } from './_helpers.js'

const BILLING = '/apigateway/billing/x'

async function expectRevoked(response: Response): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toEqual({ status: 200, text: '' })
  expect(response.headers.get('cache-control')).toBe('no-store')
}

function refresh(service: ReturnType<typeof makeService>['service'], clientId: string, refreshToken: string, base = '/auth'): Promise<Response> {
  return post(service, `${base}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, ...creds(clientId) })
}

describe('revocation: request rules', () => {
  it('requires HTTP Basic: body credentials get 401 invalid_client', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    const response = await post(service, '/auth/revoke', { token: access_token, ...creds('billing-app') })
    await expectError(response, 401, 'invalid_client', 'HTTP Basic client authentication is required')
    expect(response.headers.get('www-authenticate')).toBe(`Basic realm="${ISSUER}/auth", charset="UTF-8"`)
    // Nothing was revoked.
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
  })

  it('refuses a missing token parameter with 400 invalid_request', async () => {
    const { service } = makeService()
    await expectError(await management(service, '/auth/revoke', 'billing-app', {}), 400, 'invalid_request', 'the token parameter is required')
  })

  it('answers 200 with an empty body for an unknown token', async () => {
    const { service } = makeService()
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: 'gp_never-issued' }))
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: 'a.b.c', token_type_hint: 'refresh_token' }))
  })
})

describe('revocation: ownership', () => {
  it("answers 200 for another client's opaque token and leaves it valid", async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: access_token }))
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect((await refresh(service, 'billing-app', refresh_token!)).status).toBe(200)
  })

  it('answers 200 for a token of another environment sharing the store (same client id) and leaves it valid', async () => {
    const prod = makeService()
    const staging = makeService((c) => void (c.environment.name = 'staging'), { store: prod.store })
    const { access_token, refresh_token } = await ccToken(prod.service, 'billing-app')
    await expectRevoked(await management(staging.service, '/auth/revoke', 'billing-app', { token: access_token }))
    await expectRevoked(await management(staging.service, '/auth/revoke', 'billing-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))
    await accepted(prod.service, 'billing', apiRequest(access_token, { path: BILLING }))
    expect((await refresh(prod.service, 'billing-app', refresh_token!)).status).toBe(200)
  })

  it("answers 200 for another client's JWT and leaves its refresh token usable", async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: access_token }))
    await accepted(service, 'orders', apiRequest(access_token))
    expect((await refresh(service, 'orders-app', refresh_token!)).status).toBe(200)
  })
})

describe('revocation: what a revocation kills', () => {
  it('a validation that read the token before a revocation does not cache it: the next request is refused', async () => {
    const memory = createMemoryStore()
    for (const key of SEED_KEYS) void memory.addKey(structuredClone(key))
    let stall: Promise<void> | undefined
    const store: TokenStore = {
      ...memory,
      async findAccessToken(digest) {
        const record = await memory.findAccessToken(digest)
        if (stall) await stall // the answer arrives after the revocation
        return record
      },
    }
    const { service } = makeService(undefined, { store })
    const { access_token } = await ccToken(service, 'billing-app')
    let release!: () => void
    stall = new Promise((resolve) => (release = resolve))
    const inflight = service.guard('billing')(apiRequest(access_token, { path: BILLING }))
    await new Promise((resolve) => setTimeout(resolve, 10))
    stall = undefined
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: access_token }))
    release()
    await inflight // read before the revocation: either answer is right for this one
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('a revocation of another token during a lookup leaves what the lookup read cacheable', async () => {
    const memory = createMemoryStore()
    for (const key of SEED_KEYS) void memory.addKey(structuredClone(key))
    let stall: Promise<void> | undefined
    let reads = 0
    const store: TokenStore = {
      ...memory,
      async findAccessToken(digest) {
        reads++
        const record = await memory.findAccessToken(digest)
        if (stall) await stall
        return record
      },
    }
    const { service } = makeService(undefined, { store })
    const kept = await ccToken(service, 'billing-app')
    const other = await ccToken(service, 'billing-app')
    let release!: () => void
    stall = new Promise((resolve) => (release = resolve))
    const inflight = service.guard('billing')(apiRequest(kept.access_token, { path: BILLING }))
    await new Promise((resolve) => setTimeout(resolve, 10))
    stall = undefined
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: other.access_token }))
    release()
    expect((await inflight).ok).toBe(true)
    const readsBefore = reads
    await accepted(service, 'billing', apiRequest(kept.access_token, { path: BILLING }))
    expect(reads).toBe(readsBefore) // answered from the cache
  })

  it('revoking an opaque access token revokes its refresh token too (refresh → invalid_grant)', async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: access_token, token_type_hint: 'access_token' }))
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
    await expectError(await refresh(service, 'billing-app', refresh_token!), 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked')
  })

  it('revoking a refresh token revokes its access token too', async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
    await expectError(await refresh(service, 'billing-app', refresh_token!), 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked')
  })

  it('revoking a refresh token without a hint (or with the wrong hint) works the same', async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: refresh_token!, token_type_hint: 'access_token' }))
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('revoking a rotated family member revokes the current access token of the family', async () => {
    const { service } = makeService()
    const first = await ccToken(service, 'billing-app')
    const rotated = (await (await refresh(service, 'billing-app', first.refresh_token!)).json()) as { access_token: string; refresh_token: string }
    await expectRevoked(await management(service, '/auth/revoke', 'billing-app', { token: rotated.refresh_token, token_type_hint: 'refresh_token' }))
    await expectChallenge(await refused(service, 'billing', apiRequest(rotated.access_token, { path: BILLING })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('revoking a JWT kills its refresh token, while the JWT itself stays valid until exp', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: access_token }))
    await expectError(await refresh(service, 'orders-app', refresh_token!), 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked')
    await accepted(service, 'orders', apiRequest(access_token))
    clock.advance(300_000 + 31_000)
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token has expired')
  })

  it('a revoked JWT is inactive in introspection and cannot be regenerated; the guard (signature only) accepts it until exp', async () => {
    const { service, store } = makeService((c) => {
      const orders = c.proxies.find((p) => p.name === 'orders')!.tokenPolicy as Record<string, unknown>
      orders.regenerate = true
      orders.refresh = { enabled: false } // no refresh family: nothing but the jti marks the revocation
    })
    const { access_token } = await ccToken(service, 'orders-app')
    const other = await ccToken(service, 'orders-app')
    expect(decodeJwt(access_token).sid).toBeUndefined()
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: access_token }))

    expect(await (await management(service, '/auth/introspect', 'orders-app', { token: access_token })).json()).toEqual({ active: false })
    expect(await (await management(service, '/auth/introspect', 'orders-app', { token: other.access_token })).json()).toMatchObject({ active: true })
    const regenerate = (token: string) => post(service, '/auth/jwt/regenerate', creds('orders-app'), { headers: { authorization: `Bearer ${token}` } })
    await expectError(await regenerate(access_token), 400, 'invalid_grant', 'the access token has been revoked')
    expect((await regenerate(other.access_token)).status).toBe(200)
    await accepted(service, 'orders', apiRequest(access_token))
    // Stored by the digest of its jti, never the jti or the token itself.
    const { jti, exp } = decodeJwt(access_token)
    expect(await store.isJWTRevoked('test', await sha256(jti!))).toBe(true)
    expect(exp).toBeTypeOf('number')
  })

  it('a JWT whose refresh family was revoked is inactive in introspection', async () => {
    const { service } = makeService()
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    expect(await (await management(service, '/auth/introspect', 'orders-app', { token: access_token })).json()).toMatchObject({ active: true })
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))
    expect(await (await management(service, '/auth/introspect', 'orders-app', { token: access_token })).json()).toEqual({ active: false })
  })

  // Regression (fixed): revoke() recognises a JWT only while it verifies, and verification includes `exp`
  // (src/server/token-endpoint/introspect.ts ourJWT): revoking an expired JWT — the usual logout
  // after the access token ran out — answers 200 but leaves its refresh token (longer lifetime)
  // usable. SPEC §3: "JWT: kills the refresh token". The signature, issuer and client should be
  // checked without the lifetime when revoking.
  it('revoking an expired JWT still kills its refresh token', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    clock.advance(600_000)
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: access_token }))
    await expectError(await refresh(service, 'orders-app', refresh_token!), 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked')
  })

  it('does not let a forged JWT (foreign key, our kid, a real sid) revoke a family, expired or not', async () => {
    const clock = testClock()
    const { service, store } = makeService(undefined, { clock })
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    const { kid } = await activeKey(service, store)
    const { sid } = decodeJwt(access_token)
    const foreign = await generateKeyPair('RS256')
    for (const exp of [T0 / 1000 - 10, T0 / 1000 + 300]) {
      const forged = await signRaw(foreign.privateKey, { alg: 'RS256', kid, typ: 'at+jwt' }, ordersClaims(T0 - 600_000, { sid, exp }))
      await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: forged }))
    }
    clock.advance(1_000)
    expect((await refresh(service, 'orders-app', refresh_token!)).status).toBe(200)
  })

  it("does not revoke another client's family through its expired JWT", async () => {
    const clock = testClock()
    const { service } = makeService((c) => {
      c.proxies.push({ name: 'reports', clientId: 'reports-app', clientSecret: c.proxies[0]!.clientSecret, tokenPolicy: { format: 'jwt', refresh: { enabled: true }, accessTokenTtl: 60 } })
    }, { clock })
    const { access_token, refresh_token } = await ccToken(service, 'reports-app', { client_secret: 'orders-app-secret-Zk2vJ8qL0pXw' })
    clock.advance(120_000)
    await expectRevoked(await management(service, '/auth/revoke', 'orders-app', { token: access_token }))
    expect((await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: refresh_token!, client_id: 'reports-app', client_secret: 'orders-app-secret-Zk2vJ8qL0pXw' })).status).toBe(200)
  })

  it('revokes an ACL credential JWT at /credential/revoke (its refresh token dies)', async () => {
    const { service } = makeACLService()
    const { access_token, refresh_token } = await ccToken(service, 'acme')
    await expectRevoked(await management(service, '/credential/revoke', 'acme', { token: access_token }))
    await expectError(await refresh(service, 'acme', refresh_token!, '/credential'), 400, 'invalid_grant', 'the refresh token is invalid, expired or revoked')
  })

  it('revokes an opaque ACL token at /credential/revoke and the guard refuses it at once', async () => {
    const { service } = makeACLService(undefined, { clock: testClock(Date.now()) })
    const { access_token } = await ccToken(service, 'globex')
    await accepted(service, 'archive', apiRequest(access_token, { path: '/apigateway/archive/x' }))
    await expectRevoked(await management(service, '/credential/revoke', 'globex', { token: access_token }))
    await expectChallenge(await refused(service, 'archive', apiRequest(access_token, { path: '/apigateway/archive/x' })), 'archive', 'invalid_token', 'the access token has been revoked')
  })
})

describe('revocation: store failures', () => {
  it('answers 503 temporarily_unavailable when the revoking write fails, and the token stays valid', async () => {
    const flaky = flakyStore()
    const { service } = makeService(undefined, { store: flaky.store })
    const { access_token, refresh_token } = await ccToken(service, 'billing-app')
    flaky.setDown(true, ['revokeAccessToken', 'revokeFamily'])
    const access = await management(service, '/auth/revoke', 'billing-app', { token: access_token })
    await expectError(access, 503, 'temporarily_unavailable', 'the token store is temporarily unavailable; retry later')
    expect(access.headers.get('retry-after')).toBe('1')
    await expectError(await management(service, '/auth/revoke', 'billing-app', { token: refresh_token!, token_type_hint: 'refresh_token' }), 503, 'temporarily_unavailable')
    flaky.setDown(false)
    await accepted(service, 'billing', apiRequest(access_token, { path: BILLING }))
  })

  it('answers 503 when the lookup fails (never a false 200 for an unknown-looking token)', async () => {
    const flaky = flakyStore()
    const { service } = makeService(undefined, { store: flaky.store })
    const { access_token } = await ccToken(service, 'billing-app')
    flaky.setDown(true, ['findAccessToken', 'findRefreshToken'])
    await expectError(await management(service, '/auth/revoke', 'billing-app', { token: access_token }), 503, 'temporarily_unavailable')
  })

  it('answers 503 when revoking the refresh family of a JWT fails', async () => {
    const flaky = flakyStore()
    const { service } = makeService(undefined, { store: flaky.store })
    const { access_token, refresh_token } = await ccToken(service, 'orders-app')
    flaky.setDown(true, ['revokeFamily'])
    await expectError(await management(service, '/auth/revoke', 'orders-app', { token: access_token }), 503, 'temporarily_unavailable')
    flaky.setDown(false)
    expect((await refresh(service, 'orders-app', refresh_token!)).status).toBe(200)
  })
})
