/**
 * JWT access tokens at the guard (SPEC §4): audience and group binding, lifetimes with leeway,
 * the attack suite (alg none, HMAC with the public key, foreign key with our kid, embedded keys,
 * crit, typ, iss), policy/ACL separation and the verified-token cache.
 */
import { decodeJwt, decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, importJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, type TokenStore } from '../../../src/server/index.js'
import { accepted, activeKey, apiRequest, b64json, ccToken, expectChallenge, flakyStore, ISSUER, makeACLService, makeService, ordersClaims, refused, signRaw, T0, testClock } from './_helpers.js'
import { fetchJWKS } from '../_fixtures.js'

const INVALID = 'the access token is invalid'
const NOT_HERE = 'the access token is not valid for this API'

describe('JWT: audience and binding', () => {
  it('accepts a valid token at its proxy with the principal of its claims', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read orders:write' })
    const principal = await accepted(service, 'orders', apiRequest(access_token))
    expect(principal).toEqual({
      subject: 'orders-app',
      clientId: 'orders-app',
      scopes: ['orders:read', 'orders:write'],
      audience: [`${ISSUER}/apigateway/orders`],
      kind: 'jwt',
      expiresAt: T0 + 300_000,
      username: null,
      claims: expect.objectContaining({ iss: `${ISSUER}/auth`, sub: 'orders-app', client_id: 'orders-app', scope: 'orders:read orders:write' }),
    })
  })

  it('refuses a token issued for another proxy (wrong aud) with 401', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: '/apigateway/billing/x' })), 'billing', 'invalid_token', 'the access token aud claim is not valid here')
  })

  it('accepts a group token at every proxy of the group', async () => {
    const { service } = makeService((c) => void c.proxies.push({ name: 'catalog', group: 'shop' }))
    const { access_token } = await ccToken(service, 'shop-app')
    expect(decodeJwt(access_token).aud).toBe(`${ISSUER}/apigateway/groups/shop`)
    await accepted(service, 'inventory', apiRequest(access_token))
    await accepted(service, 'catalog', apiRequest(access_token))
  })

  it('refuses a group token at a proxy outside the group', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'shop-app')
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token aud claim is not valid here')
  })

  it('refuses a proxy token at a sibling proxy of the same group', async () => {
    const { service } = makeService((c) => {
      c.proxies.push({ name: 'catalog', group: 'shop', clientId: 'catalog-app', clientSecret: c.proxies[0]!.clientSecret })
    })
    const { access_token } = await ccToken(service, 'catalog-app', { client_secret: 'orders-app-secret-Zk2vJ8qL0pXw' })
    await accepted(service, 'catalog', apiRequest(access_token))
    await expectChallenge(await refused(service, 'inventory', apiRequest(access_token)), 'inventory', 'invalid_token', 'the access token aud claim is not valid here')
  })
})

describe('JWT: lifetime and leeway', () => {
  it('accepts a token after exp but within the default 30 s leeway', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    clock.advance(300_000 + 29_000)
    await accepted(service, 'orders', apiRequest(access_token))
  })

  it('refuses a token expired beyond the leeway', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    clock.advance(300_000 + 31_000)
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token has expired')
  })

  it('honours a configured leeway', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock, validation: { leeway: 0 } })
    const { access_token } = await ccToken(service, 'orders-app')
    clock.advance(299_000)
    await accepted(service, 'orders', apiRequest(access_token))
    clock.advance(1_000)
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token has expired')
  })

  it('refuses a token that is not yet valid (nbf beyond the leeway) and accepts one within it', async () => {
    const { service, store } = makeService()
    const key = await activeKey(service, store)
    const header = { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }
    const late = await signRaw(key.privateKey, header, ordersClaims(T0, { nbf: T0 / 1000 + 60 }))
    await expectChallenge(await refused(service, 'orders', apiRequest(late)), 'orders', 'invalid_token', 'the access token nbf claim is not valid here')
    const soon = await signRaw(key.privateKey, header, ordersClaims(T0, { nbf: T0 / 1000 + 10 }))
    await accepted(service, 'orders', apiRequest(soon))
  })
})

describe('JWT: issued-at', () => {
  it('accepts iat slightly in the future (within the leeway)', async () => {
    const { service, store } = makeService()
    const key = await activeKey(service, store)
    const token = await signRaw(key.privateKey, { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }, ordersClaims(T0 + 20_000))
    await accepted(service, 'orders', apiRequest(token))
  })

  // Regression: the guard once passed no iat rule to jwtVerify, so a token claiming to be issued
  // a day from now was accepted (found by this suite, fixed in bf6d17b).
  it('refuses iat in the future beyond the leeway', async () => {
    const { service, store } = makeService()
    const key = await activeKey(service, store)
    const token = await signRaw(key.privateKey, { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }, ordersClaims(T0 + 86_400_000))
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token iat claim is in the future')
  })
})

describe('JWT: attack suite (all 401 invalid_token)', () => {
  async function setup() {
    const t = makeService()
    const key = await activeKey(t.service, t.store)
    const { access_token } = await ccToken(t.service, 'orders-app', { scope: 'orders:read' })
    return { ...t, key, token: access_token, header: { alg: 'RS256', kid: key.kid, typ: 'at+jwt' } }
  }

  it('accepts a token crafted with the real key and correct claims (control case)', async () => {
    const { service, key, header } = await setup()
    await accepted(service, 'orders', apiRequest(await signRaw(key.privateKey, header, ordersClaims(T0))))
  })

  it('refuses alg none', async () => {
    const { service, token, key } = await setup()
    const [, payload] = token.split('.')
    const none = `${b64json({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${payload}.`
    await expectChallenge(await refused(service, 'orders', apiRequest(none)), 'orders', 'invalid_token', INVALID)
  })

  it('refuses a tampered payload with the original signature', async () => {
    const { service, token } = await setup()
    const [header, payload, signature] = token.split('.')
    const claims = decodeJwt(token)
    const forged = `${header}.${b64json({ ...claims, scope: 'orders:read orders:write' })}.${signature}`
    expect(payload).not.toBe(forged.split('.')[1])
    await expectChallenge(await refused(service, 'orders', apiRequest(forged)), 'orders', 'invalid_token', 'the access token signature is invalid')
  })

  it('refuses a tampered signature', async () => {
    const { service, token } = await setup()
    const [header, payload, signature] = token.split('.')
    const flipped = `${signature!.slice(0, 10)}${signature![10] === 'A' ? 'B' : 'A'}${signature!.slice(11)}`
    await expectChallenge(await refused(service, 'orders', apiRequest(`${header}.${payload}.${flipped}`)), 'orders', 'invalid_token', 'the access token signature is invalid')
  })

  it('refuses a stripped signature', async () => {
    const { service, token } = await setup()
    const [header, payload] = token.split('.')
    const response = await refused(service, 'orders', apiRequest(`${header}.${payload}.`))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders", error="invalid_token", error_description="the access token (signature )?is invalid"$/)
  })

  it('refuses a token signed by a foreign key that claims our kid', async () => {
    const { service, header } = await setup()
    const foreign = await generateKeyPair('RS256')
    const token = await signRaw(foreign.privateKey, header, ordersClaims(T0))
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token signature is invalid')
  })

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const { service, key } = await setup()
    const publicKey = await importJWK(key.publicJwk, 'RS256', { extractable: true })
    const pem = await exportSPKI(publicKey as CryptoKey)
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(key.publicJwk))]) {
      const token = await signRaw(secret, { alg: 'HS256', kid: key.kid, typ: 'at+jwt' }, ordersClaims(T0))
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', INVALID)
    }
  })

  it('refuses embedded jwk, jku, x5u and x5c headers even with a valid signature', async () => {
    const { service, key, header } = await setup()
    const variants = [
      { jwk: key.publicJwk },
      { jku: 'https://attacker.example/jwks.json' },
      { x5u: 'https://attacker.example/cert.pem' },
      { x5c: ['MIIB'] },
    ]
    for (const extra of variants) {
      const token = await signRaw(key.privateKey, { ...header, ...extra }, ordersClaims(T0))
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token names its own key')
    }
  })

  it('refuses an attacker key embedded as jwk with a matching signature', async () => {
    const { service, key } = await setup()
    const attacker = await generateKeyPair('RS256', { extractable: true })
    const token = await signRaw(attacker.privateKey, { alg: 'RS256', kid: key.kid, typ: 'at+jwt', jwk: await exportJWK(attacker.publicKey) }, ordersClaims(T0))
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token names its own key')
  })

  it('refuses an unknown kid, a kid with path or SQL characters, and a missing kid', async () => {
    const { service, key } = await setup()
    for (const kid of ['unknown-kid', '../../../../etc/passwd', "' OR '1'='1", undefined]) {
      const header: Record<string, unknown> = { alg: 'RS256', typ: 'at+jwt' }
      if (kid !== undefined) header.kid = kid
      const token = await signRaw(key.privateKey, header, ordersClaims(T0))
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
    }
  })

  it('refuses an unknown crit header parameter', async () => {
    const { service, key, header } = await setup()
    const token = await signRaw(key.privateKey, { ...header, crit: ['x-must-understand'], 'x-must-understand': true }, ordersClaims(T0))
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', INVALID)
  })

  it('refuses a wrong typ (JWT, missing, id_token style)', async () => {
    const { service, key } = await setup()
    for (const typ of ['JWT', 'jwt', undefined]) {
      const header: Record<string, unknown> = { alg: 'RS256', kid: key.kid }
      if (typ !== undefined) header.typ = typ
      const token = await signRaw(key.privateKey, header, ordersClaims(T0))
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token typ claim is not valid here')
    }
  })

  it('accepts typ application/at+jwt (RFC 9068 §2.1 allows the full media type)', async () => {
    const { service, key } = await setup()
    const token = await signRaw(key.privateKey, { alg: 'RS256', kid: key.kid, typ: 'application/at+jwt' }, ordersClaims(T0))
    await accepted(service, 'orders', apiRequest(token))
  })

  it('refuses a wrong iss', async () => {
    const { service, key, header } = await setup()
    for (const iss of ['https://attacker.example/auth', `${ISSUER}`, `${ISSUER}/auth/`]) {
      const token = await signRaw(key.privateKey, header, ordersClaims(T0, { iss }))
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token iss claim is not valid here')
    }
  })

  it('refuses a token without sub, jti or iat', async () => {
    const { service, key, header } = await setup()
    for (const missing of ['sub', 'jti', 'iat']) {
      const claims = ordersClaims(T0)
      delete claims[missing]
      const token = await signRaw(key.privateKey, header, claims)
      await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', `the access token ${missing} claim is not valid here`)
    }
  })

  it('refuses a token without client_id (claims schema)', async () => {
    const { service, key, header } = await setup()
    const claims = ordersClaims(T0)
    delete claims.client_id
    const token = await signRaw(key.privateKey, header, claims)
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token claims are malformed')
  })

  it.each([
    ['client_id a number', { client_id: 42 }],
    ['client_id empty', { client_id: '' }],
    ['scope an array', { scope: ['orders:read'] }],
    ['jti a number', { jti: 7 }],
  ])('refuses a token whose claims have the wrong shape: %s', async (_name, change) => {
    const { service, key, header } = await setup()
    const token = await signRaw(key.privateKey, header, { ...ordersClaims(T0), ...change })
    const response = await refused(service, 'orders', apiRequest(token))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders", error="invalid_token", error_description="the access token (claims are malformed|jti claim is not valid here)"$/)
  })

  it('refuses a token issued in another environment (same issuer URL, other keys)', async () => {
    const store = createMemoryStore()
    const { service } = makeService(undefined, { store })
    const { service: staging } = makeService((c) => void (c.environment.name = 'staging'), { store })
    const { access_token } = await ccToken(staging, 'orders-app')
    await accepted(staging, 'orders', apiRequest(access_token))
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
  })

  it('refuses garbage that looks like a JWT', async () => {
    const { service } = await setup()
    await expectChallenge(await refused(service, 'orders', apiRequest('aaa.bbb.ccc')), 'orders', 'invalid_token', 'the access token is malformed')
  })
})

describe('JWT: policy mode and ACL mode are separate', () => {
  it('refuses a policy-mode token at an ACL-managed proxy even with the right aud', async () => {
    const { service, store } = makeACLService()
    const key = await activeKey(service, store)
    const header = { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }
    const aclClaims = { iss: `${ISSUER}/credential`, sub: 'acme', aud: `${ISSUER}/apigateway/payments`, client_id: 'acme', iat: T0 / 1000, exp: T0 / 1000 + 300, jti: 'crafted-acl-0001' }
    await accepted(service, 'payments', apiRequest(await signRaw(key.privateKey, header, aclClaims)))
    const policyToken = await signRaw(key.privateKey, header, { ...aclClaims, iss: `${ISSUER}/auth` })
    await expectChallenge(await refused(service, 'payments', apiRequest(policyToken)), 'payments', 'invalid_token', NOT_HERE)
  })

  it('refuses an ACL-mode token at a policy-managed proxy even with the right aud', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    expect(decodeJwt(access_token).aud).toContain(`${ISSUER}/apigateway/orders`)
    await accepted(service, 'payments', apiRequest(access_token))
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', NOT_HERE)
  })
})

describe('JWT: verified-token cache', () => {
  it('serves the second check of the same token from the cache (service clock near real time)', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(access_token))
    const before = service.stats().jwt
    await accepted(service, 'orders', apiRequest(access_token))
    const after = service.stats().jwt
    expect(after.hits).toBe(before.hits + 1)
    expect(after.size).toBe(1)
  })

  it('still refuses a cached token once it has expired', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(access_token))
    await accepted(service, 'orders', apiRequest(access_token))
    expect(service.stats().jwt.hits).toBe(1)
    clock.advance(300_000 + 31_000)
    await expectChallenge(await refused(service, 'orders', apiRequest(access_token)), 'orders', 'invalid_token', 'the access token has expired')
  })

  it('refuses a cached token at another proxy', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(access_token))
    expect(service.stats().jwt.size).toBe(1)
    // The same description as for an uncached token (the cache must not change the answer).
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: '/apigateway/billing/x' })), 'billing', 'invalid_token', 'the access token aud claim is not valid here')
  })

  it('bounds the cache by verifiedJWTCacheSize', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock, validation: { verifiedJWTCacheSize: 2 } })
    for (let i = 0; i < 3; i++) {
      const { access_token } = await ccToken(service, 'orders-app')
      await accepted(service, 'orders', apiRequest(access_token))
    }
    expect(service.stats().jwt.size).toBe(2)
  })

  it('does not cache with verifiedJWTCacheSize 0', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock, validation: { verifiedJWTCacheSize: 0 } })
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(access_token))
    await accepted(service, 'orders', apiRequest(access_token))
    expect(service.stats().jwt).toMatchObject({ size: 0, hits: 0 })
  })

  // Regression: the caches once ran on Date.now instead of the service clock, so nothing was cached
  // under an injected clock in the past (found by this suite, fixed by the lead).
  it('serves the second check from the cache under an injected clock (T0)', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(access_token))
    await accepted(service, 'orders', apiRequest(access_token))
    expect(service.stats().jwt.hits).toBe(1)
  })

  it('verifies a token that ends like a cached one (same signature, other payload) and refuses it', async () => {
    const clock = testClock(Date.now())
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    await accepted(service, 'orders', apiRequest(access_token))
    const [header, , signature] = access_token.split('.')
    const forged = `${header}.${b64json({ ...decodeJwt(access_token), scope: 'orders:read orders:write' })}.${signature}`
    expect(forged.slice(-64)).toBe(access_token.slice(-64))
    await expectChallenge(await refused(service, 'orders', apiRequest(forged)), 'orders', 'invalid_token', 'the access token signature is invalid')
    expect(service.stats().jwt).toMatchObject({ size: 1, hits: 0 })
    // The cached token itself is still served from the cache.
    await accepted(service, 'orders', apiRequest(access_token))
    expect(service.stats().jwt.hits).toBe(1)
  })

  it('verifies again a twin of a cached token whose signature differs (the cache is keyed by the whole token)', async () => {
    const clock = testClock(Date.now())
    const { service, store } = makeService(undefined, { clock })
    const key = await activeKey(service, store)
    const good = await signRaw(key.privateKey, { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }, ordersClaims(clock.now()))
    await accepted(service, 'orders', apiRequest(good))
    const [h, p] = good.split('.')
    await expectChallenge(await refused(service, 'orders', apiRequest(`${h}.${p}.${'A'.repeat(342)}`)), 'orders', 'invalid_token', 'the access token signature is invalid')
  })
})

/**
 * A header segment seen on a verified token is trusted for its checks (no key of its own, our
 * `kid`, that key's `alg`) and jose gets the key directly. What must still hold for later tokens
 * with the very same segment (verified-token cache off, so every check verifies a signature):
 */
describe('JWT: a header already seen on a verified token', () => {
  /** A compact JWS with `segment` as its protected header, signed by `key` (RS256). */
  async function signWithSegment(key: CryptoKey, segment: string, claims: Record<string, unknown>): Promise<string> {
    const input = `${segment}.${b64json(claims)}`
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input))
    return `${input}.${Buffer.from(signature).toString('base64url')}`
  }

  async function setup() {
    const clock = testClock()
    const t = makeService(undefined, { clock, validation: { verifiedJWTCacheSize: 0 } })
    const key = await activeKey(t.service, t.store)
    const { access_token } = await ccToken(t.service, 'orders-app', { scope: 'orders:read' })
    await accepted(t.service, 'orders', apiRequest(access_token))
    const segment = access_token.split('.')[0]!
    expect(decodeProtectedHeader(access_token).kid).toBe(key.kid)
    return { ...t, clock, key, token: access_token, segment }
  }

  it('accepts another token with that header, signed by its key', async () => {
    const { service, key, segment } = await setup()
    await accepted(service, 'orders', apiRequest(await signWithSegment(key.privateKey, segment, ordersClaims(T0, { jti: 'second-token-0002' }))))
  })

  it('still refuses a tampered payload and a foreign signature under that header', async () => {
    const { service, token, segment } = await setup()
    const [, , signature] = token.split('.')
    const tampered = `${segment}.${b64json({ ...decodeJwt(token), scope: 'orders:read orders:write' })}.${signature}`
    await expectChallenge(await refused(service, 'orders', apiRequest(tampered)), 'orders', 'invalid_token', 'the access token signature is invalid')
    const foreign = await generateKeyPair('RS256')
    const forged = await signWithSegment(foreign.privateKey, segment, ordersClaims(T0))
    await expectChallenge(await refused(service, 'orders', apiRequest(forged)), 'orders', 'invalid_token', 'the access token signature is invalid')
  })

  it('refuses a token with that header once its key is deleted by rotateKeys({ invalidate: true })', async () => {
    const { service, key, segment } = await setup()
    const later = await signWithSegment(key.privateKey, segment, ordersClaims(T0, { jti: 'after-rotation-0003' }))
    await service.rotateKeys({ invalidate: true })
    await expectChallenge(await refused(service, 'orders', apiRequest(later)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
  })

  it('keeps accepting a token with that header while its key is retired (not deleted)', async () => {
    const { service, key, segment } = await setup()
    await service.rotateKeys()
    await accepted(service, 'orders', apiRequest(await signWithSegment(key.privateKey, segment, ordersClaims(T0, { jti: 'retired-key-0004' }))))
  })
})

describe('JWT: key rotation', () => {
  it.each([
    ['adding the new key', ['addKey']],
    ['deleting the old keys', ['deleteKey']],
  ] as const)('a rotation that fails at %s leaves an active key: tokens are still issued and accepted', async (_step, methods) => {
    const inner = createMemoryStore()
    const { store, setDown } = flakyStore(inner)
    const { service } = makeService(undefined, { store })
    const before = await ccToken(service, 'orders-app')
    setDown(true, [...methods])
    await expect(service.rotateKeys({ invalidate: methods[0] === 'deleteKey' })).rejects.toThrow()
    setDown(false)
    const keys = await inner.listKeys('test')
    expect(keys.filter((k) => k.state === 'active').map((k) => k.alg)).toEqual(['RS256'])
    const after = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(after.access_token))
    if (methods[0] === 'addKey') await accepted(service, 'orders', apiRequest(before.access_token))
  })

  it('answers 503 (not 401) when a new kid cannot be looked up because the store is down', async () => {
    const inner = createMemoryStore()
    const { store, setDown } = flakyStore(inner)
    const clock = testClock()
    const issuer = makeService(undefined, { store: inner, clock })
    const validator = makeService(undefined, { store, clock })
    await validator.service.ready()
    await issuer.service.rotateKeys()
    const fresh = await ccToken(issuer.service, 'orders-app') // signed with a key the validator has not loaded
    clock.advance(5_000)
    setDown(true, ['listKeys'])
    const result = await validator.service.guard('orders')(apiRequest(fresh.access_token))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(503)
    expect(await result.response.json()).toMatchObject({ error: 'temporarily_unavailable' })
    setDown(false)
    clock.advance(5_000)
    await accepted(validator.service, 'orders', apiRequest(fresh.access_token))
  })

  it('keeps accepting tokens of a retired key after rotateKeys(), and tokens of the new key', async () => {
    const { service } = makeService()
    const old = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(old.access_token))
    await service.rotateKeys()
    const fresh = await ccToken(service, 'orders-app')
    expect(decodeProtectedHeader(fresh.access_token).kid).not.toBe(decodeProtectedHeader(old.access_token).kid)
    await accepted(service, 'orders', apiRequest(old.access_token))
    await accepted(service, 'orders', apiRequest(fresh.access_token))
  })

  it('refuses a cached token at once after rotateKeys({ invalidate: true })', async () => {
    const { service } = makeService()
    const old = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(old.access_token))
    await accepted(service, 'orders', apiRequest(old.access_token))
    expect(service.stats().jwt.hits).toBe(1)
    await service.rotateKeys({ invalidate: true })
    await expectChallenge(await refused(service, 'orders', apiRequest(old.access_token)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
    await accepted(service, 'orders', apiRequest((await ccToken(service, 'orders-app')).access_token))
  })

  it('a background key refresh that read the store before rotateKeys() never lands after it', async () => {
    const inner = createMemoryStore()
    let hold: Promise<void> | undefined
    const store: TokenStore = {
      ...inner,
      listKeys: async (environment) => {
        const keys = await inner.listKeys(environment)
        if (hold) await hold // read now, answer late
        return keys
      },
    }
    const clock = testClock()
    const { service } = makeService(undefined, { store, clock })
    const old = await ccToken(service, 'orders-app')
    clock.advance(61_000)
    let release!: () => void
    hold = new Promise((resolve) => (release = resolve))
    await accepted(service, 'orders', apiRequest(old.access_token)) // starts the minutely background refresh, which stalls
    hold = undefined
    const oldKid = decodeProtectedHeader(old.access_token).kid
    const rotating = service.rotateKeys({ invalidate: true })
    // Once the rotation is in the store (and its own re-read had time to finish), let the stale read answer.
    while (!(await inner.listKeys('test')).some((k) => k.state === 'active' && k.kid !== oldKid)) await new Promise((resolve) => setTimeout(resolve, 5))
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    await rotating
    await new Promise((resolve) => setTimeout(resolve, 20))
    const fresh = await ccToken(service, 'orders-app')
    const kids = (await fetchJWKS(service)).keys.map((k) => k.kid)
    expect(kids).toContain(decodeProtectedHeader(fresh.access_token).kid)
    expect(kids).not.toContain(decodeProtectedHeader(old.access_token).kid)
    await accepted(service, 'orders', apiRequest(fresh.access_token))
    await expectChallenge(await refused(service, 'orders', apiRequest(old.access_token)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
  })

  it('another instance on the same store stops accepting invalidated keys within the key refresh interval (60 s)', async () => {
    const store = createMemoryStore()
    const clock = testClock()
    const { service: a } = makeService(undefined, { store, clock })
    const { service: b } = makeService(undefined, { store, clock })
    const old = await ccToken(a, 'orders-app')
    await accepted(b, 'orders', apiRequest(old.access_token))
    await a.rotateKeys({ invalidate: true })
    clock.advance(61_000)
    // The first check after the interval may still answer from the old key set while it re-reads.
    await b.guard('orders')(apiRequest(old.access_token))
    await new Promise((resolve) => setTimeout(resolve, 20))
    await expectChallenge(await refused(b, 'orders', apiRequest(old.access_token)), 'orders', 'invalid_token', 'the access token is not signed by a known key')
  })
})

