/**
 * RFC 9068 JWT access tokens verified with jose against the served JWKS: header, claims, custom
 * claims from credential metadata, algorithms, lifetimes; discovery metadata; persisted keys.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, createTokenService } from '../../../src/server/index.js'
import { AUD, creds, expectToken, fetchJWKS, ISSUER, makeService, PASSWORDS, policyOf, post, SECRETS, T0, testConfig, verifyJWT } from '../_fixtures.js'

const CC = { grant_type: 'client_credentials' }

describe('JWT header and claims', () => {
  it('signs with RS256 by default, typ at+jwt, and a kid published in the JWKS', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'orders:read', ...creds('orders-app') }))
    const { protectedHeader } = await verifyJWT(service, body.access_token)
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) })
    const jwks = await fetchJWKS(service)
    const key = jwks.keys.find((k) => k.kid === protectedHeader.kid)
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: protectedHeader.kid })
    for (const k of jwks.keys) for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(privateMember)
  })

  it('serves the JWKS with a cacheable content type on both bases', async () => {
    const { service } = makeService()
    const auth = await service.fetch(new Request(`${ISSUER}/auth/.well-known/jwks.json`))
    const credential = await service.fetch(new Request(`${ISSUER}/credential/.well-known/jwks.json`))
    expect(auth.headers.get('content-type')).toMatch(/^application\/json/)
    expect(auth.headers.get('cache-control')).toBe('public, max-age=300')
    expect(await credential.json()).toEqual(await auth.json())
  })

  it('carries iss, sub, aud, client_id, scope, iat, exp and a unique jti', async () => {
    const { service } = makeService()
    const first = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'orders:read profile', ...creds('orders-app') }))
    const second = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'orders:read profile', ...creds('orders-app') }))
    const { payload } = await verifyJWT(service, first.access_token)
    expect(payload).toEqual({
      iss: `${ISSUER}/auth`,
      sub: 'orders-app',
      aud: AUD.orders,
      client_id: 'orders-app',
      scope: 'orders:read profile',
      iat: T0 / 1000,
      exp: T0 / 1000 + 300,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/),
      // The refresh family (orders enables refresh), for revocation of the refresh token with the JWT.
      sid: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/),
    })
    expect(payload.sid).not.toBe(decodeJwt(second.access_token).sid)
    expect(first.expires_in).toBe(300)
    expect(decodeJwt(second.access_token).jti).not.toBe(payload.jti)
  })

  it('puts the base path in iss', async () => {
    const { service } = makeService((c) => void (c.environment.basePath = '/oauth'))
    const policy = await expectToken(await post(service, '/oauth/auth/token', { ...CC, ...creds('orders-app') }))
    const acl = await expectToken(await post(service, '/oauth/credential/token', { ...CC, ...creds('acme') }))
    expect((await verifyJWT(service, policy.access_token, { prefix: '/oauth' })).payload.iss).toBe(`${ISSUER}/oauth/auth`)
    expect((await verifyJWT(service, acl.access_token, { prefix: '/oauth', base: '/credential' })).payload.iss).toBe(`${ISSUER}/oauth/credential`)
  })

  it('omits exp and expires_in for never-expiring tokens', async () => {
    const { service } = makeService((c) => Object.assign(policyOf(c, 'orders'), { neverExpires: true, refresh: { enabled: false } }))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(body).not.toHaveProperty('expires_in')
    expect(body).not.toHaveProperty('refresh_token')
    const { payload } = await verifyJWT(service, body.access_token)
    expect(payload).not.toHaveProperty('exp')
    expect(payload).not.toHaveProperty('sid')
    expect(payload.iat).toBe(T0 / 1000)
  })

  it('gives expires_in in milliseconds when the environment says so (exp stays in seconds)', async () => {
    const { service } = makeService((c) => void (c.environment.expiresInUnit = 'milliseconds'))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(body.expires_in).toBe(300_000)
    expect(decodeJwt(body.access_token).exp).toBe(T0 / 1000 + 300)
  })

  it('uses the real clock when none is injected', async () => {
    const service = createTokenService(testConfig())
    const before = Math.floor(Date.now() / 1000)
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const { payload } = await verifyJWT(service, body.access_token, { currentDate: new Date() })
    expect(payload.iat).toBeGreaterThanOrEqual(before)
    expect(payload.exp).toBe(payload.iat! + 300)
  })
})

describe('custom claims from credential metadata', () => {
  it('adds includeInJwt entries (claimName honoured), never secret entries nor reserved names', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/credential/token', { ...CC, ...creds('acme') }))
    const { payload } = await verifyJWT(service, body.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ tenant: 'acme-corp', acme_tier: 'gold', quota: 1000, sub: 'acme', iss: `${ISSUER}/credential` })
    expect(payload).not.toHaveProperty('tier')
    expect(payload).not.toHaveProperty('api-key')
    expect(payload).not.toHaveProperty('region')
    expect(JSON.stringify(payload)).not.toContain('metadata-secret-value-42')
    expect(JSON.stringify(payload)).not.toContain('attacker')
  })

  it('adds includeInTokenResponse entries to the body, never secret entries nor reserved fields', async () => {
    const { service } = makeService()
    const response = await post(service, '/credential/token', { ...CC, ...creds('acme') })
    const text = await response.clone().text()
    const body = await expectToken(response)
    expect(body.region).toBe('eu-west')
    expect(body).not.toHaveProperty('api-key')
    expect(body.access_token).not.toBe('overridden')
    expect(body).not.toHaveProperty('tenant')
    expect(text).not.toContain('metadata-secret-value-42')
  })

  it('never lets a claimName override reserved claims', async () => {
    const reserved = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'nbf', 'sid']
    const { service } = makeService((c) => {
      c.credentials[0]!.metadata = reserved.map((name) => ({ name: `m-${name}`, value: 12345, includeInJwt: true, claimName: name }))
    })
    const body = await expectToken(await post(service, '/credential/token', { ...CC, scope: 'shop:read', ...creds('acme') }))
    const { payload } = await verifyJWT(service, body.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ iss: `${ISSUER}/credential`, sub: 'acme', client_id: 'acme', scope: 'shop:read', iat: T0 / 1000, exp: T0 / 1000 + 3600 })
    expect(payload).not.toHaveProperty('nbf')
    expect(payload.sid).not.toBe(12345)
    expect(payload.aud).toEqual([AUD.orders, AUD.shop])
    expect(typeof payload.jti).toBe('string')
  })
})

describe('algorithms', () => {
  it.each(['ES256', 'PS256', 'EdDSA', 'RS384', 'RS512'] as const)('signs with environment.algorithm %s', async (alg) => {
    const { service } = makeService((c) => void (c.environment.algorithm = alg))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const { protectedHeader } = await verifyJWT(service, body.access_token, { algorithms: [alg] })
    expect(protectedHeader.alg).toBe(alg)
    const jwks = await fetchJWKS(service)
    expect(jwks.keys.find((k) => k.kid === protectedHeader.kid)?.alg).toBe(alg)
  })

  it('signs with a tokenPolicy.algorithm override, and publishes both keys', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').algorithm = 'EdDSA'))
    const orders = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const shop = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('shop-app') }))
    expect((await verifyJWT(service, orders.access_token)).protectedHeader.alg).toBe('EdDSA')
    expect((await verifyJWT(service, shop.access_token)).protectedHeader.alg).toBe('RS256')
    const algs = (await fetchJWKS(service)).keys.map((k) => k.alg).sort()
    expect(algs).toEqual(['EdDSA', 'RS256'])
  })
})

describe('discovery metadata', () => {
  const metadataFor = (base: string) => ({
    issuer: base,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    introspection_endpoint: `${base}/introspect`,
    revocation_endpoint: `${base}/revoke`,
    grant_types_supported: expect.arrayContaining(['client_credentials', 'password', 'refresh_token']),
    token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
  })

  it('builds the URLs from the configured issuer and base path', async () => {
    const { service } = makeService((c) => void (c.environment.basePath = '/oauth'))
    for (const base of ['/auth', '/credential']) {
      const response = await service.fetch(new Request(`http://internal:8080/oauth${base}/.well-known/oauth-authorization-server`))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await response.json()).toMatchObject(metadataFor(`${ISSUER}/oauth${base}`))
    }
  })

  it('matches the iss of the tokens it describes', async () => {
    const { service } = makeService()
    const metadata = (await (await service.fetch(new Request(`${ISSUER}/auth/.well-known/oauth-authorization-server`))).json()) as { issuer: string }
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(decodeJwt(body.access_token).iss).toBe(metadata.issuer)
  })

  it('ignores X-Forwarded-Proto/Host unless trustForwardedHeaders is on', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.net' }
    const { service: untrusting } = makeService()
    const plain = await untrusting.fetch(new Request(`${ISSUER}/auth/.well-known/oauth-authorization-server`, { headers: forwarded }))
    expect(await plain.json()).toMatchObject(metadataFor(`${ISSUER}/auth`))

    const { service } = makeService((c) => void (c.environment.trustForwardedHeaders = true))
    const trusted = await service.fetch(new Request(`${ISSUER}/auth/.well-known/oauth-authorization-server`, { headers: forwarded }))
    // Endpoint URLs follow the trusted forwarded host; `issuer` stays the configured one (the JWT iss).
    expect(await trusted.json()).toMatchObject({ ...metadataFor('https://public.example.net/auth'), issuer: `${ISSUER}/auth` })
    const multi = await service.fetch(new Request(`${ISSUER}/credential/.well-known/oauth-authorization-server`, { headers: { 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'a.example.net:8443, b.example.net' } }))
    expect(await multi.json()).toMatchObject({ ...metadataFor('http://a.example.net:8443/credential'), issuer: `${ISSUER}/credential` })
  })

  // Regression: the metadata issuer used to follow the forwarded host while tokens carried the
  // configured iss (RFC 9068 §4 / RFC 8414 §3.3 want them equal).
  it('keeps the metadata issuer and the token iss consistent behind trusted forwarded headers', async () => {
    const { service } = makeService((c) => void (c.environment.trustForwardedHeaders = true))
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.net' }
    const metadata = (await (await service.fetch(new Request(`${ISSUER}/auth/.well-known/oauth-authorization-server`, { headers: forwarded }))).json()) as { issuer: string }
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }, { headers: forwarded }))
    expect(decodeJwt(body.access_token).iss).toBe(metadata.issuer)
  })

  it.each([
    ['a non-http proto', { 'x-forwarded-proto': 'javascript', 'x-forwarded-host': 'public.example.net' }],
    ['a host with a path', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.net/x' }],
    ['a host with userinfo', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'user@evil.example.net' }],
    ['only the host', { 'x-forwarded-host': 'public.example.net' }],
    ['only the proto', { 'x-forwarded-proto': 'http' }],
  ])('falls back to the configured issuer for %s', async (_label, headers) => {
    const { service } = makeService((c) => void (c.environment.trustForwardedHeaders = true))
    const response = await service.fetch(new Request(`${ISSUER}/auth/.well-known/oauth-authorization-server`, { headers }))
    expect(await response.json()).toMatchObject(metadataFor(`${ISSUER}/auth`))
  })
})

describe('signing keys', () => {
  it('keeps the generated key in the store and reuses it from a second service (same kid)', async () => {
    const store = createMemoryStore()
    const first = createTokenService(testConfig(), { store, now: () => T0 })
    const body = await expectToken(await post(first, '/auth/token', { ...CC, ...creds('orders-app') }))
    const kid = decodeProtectedHeader(body.access_token).kid
    const keys = await store.listKeys('test')
    expect(keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state }))).toEqual([{ kid, alg: 'RS256', state: 'active' }])

    const second = createTokenService(testConfig(), { store, now: () => T0 })
    expect((await fetchJWKS(second)).keys.map((k) => k.kid)).toEqual([kid])
    // A token of the first service verifies against the second one's JWKS, and vice versa.
    await verifyJWT(second, body.access_token)
    const again = await expectToken(await post(second, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('orders-app') }))
    expect(decodeProtectedHeader(again.access_token).kid).toBe(kid)
    await verifyJWT(first, again.access_token)
    expect(await store.listKeys('test')).toHaveLength(1)
  })

  it('stores private keys encrypted under keyEncryptionKey and reuses them with the same key', async () => {
    const store = createMemoryStore()
    const kek = 'a2VrLWZvci1nYXRlcGFzcy10ZXN0cy0zMi1ieXRlcyE'
    expect(atob(kek.replace(/-/g, '+').replace(/_/g, '/'))).toHaveLength(32)
    const config = testConfig((c) => void (c.environment.keyEncryptionKey = { env: 'GATEPASS_KEK' }))
    const first = createTokenService(config, { store, env: { GATEPASS_KEK: kek }, now: () => T0 })
    const body = await expectToken(await post(first, '/auth/token', { ...CC, ...creds('orders-app') }))
    const [record] = await store.listKeys('test')
    expect(record!.privateKey).toMatch(/^enc:/)
    expect(record!.privateKey).not.toContain('"d"')
    const second = createTokenService(config, { store, env: { GATEPASS_KEK: kek }, now: () => T0 })
    const again = await expectToken(await post(second, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(decodeProtectedHeader(again.access_token).kid).toBe(decodeProtectedHeader(body.access_token).kid)
    await verifyJWT(first, again.access_token)
  })

  it('names the key and the cause when a stored private key cannot be opened (wrong or missing keyEncryptionKey)', async () => {
    const store = createMemoryStore()
    const kek = 'a2VrLWZvci1nYXRlcGFzcy10ZXN0cy0zMi1ieXRlcyE'
    const other = 'b3RoZXIta2VrLWZvci1nYXRlcGFzcy10ZXN0cy0zMiE'
    const sealed = testConfig((c) => void (c.environment.keyEncryptionKey = { env: 'GATEPASS_KEK' }))
    const first = createTokenService(sealed, { store, env: { GATEPASS_KEK: kek }, now: () => T0 })
    await first.ready()
    const [record] = await store.listKeys('test')
    const attempts: Array<[string, ReturnType<typeof createTokenService>]> = [
      ['keyEncryptionKey is not the key it was encrypted with', createTokenService(sealed, { store, env: { GATEPASS_KEK: other }, now: () => T0 })],
      ['it is encrypted but no keyEncryptionKey is configured', createTokenService(testConfig(), { store, now: () => T0 })],
    ]
    for (const [why, service] of attempts) {
      const err: unknown = await service.ready().catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'ConfigError', code: 'ERR_INVALID_CONFIG', issues: [{ path: 'environment.keyEncryptionKey', message: `cannot open the private key "${record!.kid}" in the store: ${why}` }] })
    }
  })

  it('generates one key when two services start concurrently on one store', async () => {
    const store = createMemoryStore()
    const a = createTokenService(testConfig(), { store, now: () => T0 })
    const b = createTokenService(testConfig(), { store, now: () => T0 })
    await Promise.all([a.ready(), b.ready()])
    const [ka, kb] = [(await fetchJWKS(a)).keys.map((k) => k.kid), (await fetchJWKS(b)).keys.map((k) => k.kid)]
    expect(ka).toHaveLength(1)
    expect(kb).toEqual(ka)
    expect((await store.listKeys('test')).filter((k) => k.state === 'active')).toHaveLength(1)
  })

  it('keeps the keys of each environment apart on a shared store', async () => {
    const store = createMemoryStore()
    const test = createTokenService(testConfig(), { store, now: () => T0 })
    const prod = createTokenService(testConfig((c) => void (c.environment.name = 'prod')), { store, now: () => T0 })
    const [kt, kp] = [(await fetchJWKS(test)).keys[0]!.kid, (await fetchJWKS(prod)).keys[0]!.kid]
    expect(kt).not.toBe(kp)
    expect((await store.listKeys('prod')).map((k) => k.kid)).toEqual([kp])
  })

  it('generates a different key for a service on a different store', async () => {
    const { service: a } = makeService(undefined, { store: createMemoryStore() })
    const { service: b } = makeService(undefined, { store: createMemoryStore() })
    const [ka, kb] = [(await fetchJWKS(a)).keys[0]!.kid, (await fetchJWKS(b)).keys[0]!.kid]
    expect(ka).not.toBe(kb)
  })

  it('does not accept a token of another service in verification (different key)', async () => {
    const { service: a } = makeService(undefined, { store: createMemoryStore() })
    const { service: b } = makeService(undefined, { store: createMemoryStore() })
    const body = await expectToken(await post(a, '/auth/token', { ...CC, ...creds('orders-app') }))
    await expect(verifyJWT(b, body.access_token)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' })
  })

  it('never puts a client secret in a token', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    const decoded = JSON.stringify([decodeProtectedHeader(body.access_token), decodeJwt(body.access_token)])
    expect(decoded).not.toContain(SECRETS.orders)
  })
})
