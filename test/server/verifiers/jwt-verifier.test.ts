import { exportJWK, exportSPKI, importJWK, SignJWT } from 'jose'
import type { CryptoKey, JWK } from 'jose'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import * as z from 'zod/mini'
import { defineClaims } from '../../../src/shared/schemas.js'
import { createJWTVerifier } from '../../../src/server/verifiers/index.js'
import type { JWKSCache, JWTVerifierOptions, VerifierFetchEvent } from '../../../src/server/verifiers/index.js'
import { AUDIENCE, defaultClaims, ISSUER, JWKS_URL, makeKey, METADATA_URL, sign, T0, T0_SECONDS, unsecured } from './_fixtures.js'
import type { TestKey } from './_fixtures.js'

let k1: TestKey
let k2: TestKey
let attacker: TestKey
let ec: TestKey

/** Keys the JWKS endpoint serves right now, and how often it was asked. */
let served: JWK[] = []
let jwksRequests = 0
let jwksStatus = 200
let metadataRequests = 0
let metadataBody: Record<string, unknown> = {}

const server = setupServer(
  http.get(JWKS_URL, () => {
    jwksRequests++
    if (jwksStatus !== 200) return HttpResponse.json({ error: 'server_error' }, { status: jwksStatus })
    return HttpResponse.json({ keys: served })
  }),
  http.get(METADATA_URL, () => {
    metadataRequests++
    return HttpResponse.json(metadataBody)
  }),
)

beforeAll(async () => {
  k1 = await makeKey('k1')
  k2 = await makeKey('k2')
  attacker = await makeKey('k1')
  ec = await makeKey('ec1', 'ES256')
  server.listen({ onUnhandledRequest: 'error' })
})
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
  served = [k1.jwk, ec.jwk]
  jwksRequests = 0
  jwksStatus = 200
  metadataRequests = 0
  metadataBody = { issuer: ISSUER, jwks_uri: JWKS_URL, token_endpoint: `${ISSUER}/token` }
})
afterEach(() => {
  server.resetHandlers()
  vi.useRealTimers()
  vi.restoreAllMocks()
})
afterAll(() => server.close())

function verifier(options: Partial<JWTVerifierOptions> = {}) {
  return createJWTVerifier({ issuer: ISSUER, jwksUri: JWKS_URL, audience: AUDIENCE, ...options })
}

function bearer(token: string): Request {
  return new Request('https://api.example/orders', { headers: { authorization: `Bearer ${token}` } })
}

const challenge = (description: string) => `Bearer realm="orders-api", error="invalid_token", error_description="${description}"`

async function rejects(promise: Promise<unknown>, code: string, message: string) {
  await expect(promise).rejects.toMatchObject({ code, message })
}

describe('createJWTVerifier: options', () => {
  it.each([
    [{ issuer: '' }, 'ERR_INVALID_ARG_VALUE', '"issuer" must be a non-empty string'],
    [{ issuer: 1 }, 'ERR_INVALID_ARG_TYPE', '"issuer" must be a non-empty string'],
    [{ jwksUri: undefined }, 'ERR_INVALID_ARG_VALUE', 'exactly one of "jwksUri" and "metadataUrl" is required'],
    [{ metadataUrl: METADATA_URL }, 'ERR_INVALID_ARG_VALUE', 'exactly one of "jwksUri" and "metadataUrl" is required'],
    [{ jwksUri: 'ftp://as.example/jwks' }, 'ERR_INVALID_ARG_VALUE', '"jwksUri" must be an absolute http(s) URL'],
    [{ jwksUri: 'not a url' }, 'ERR_INVALID_ARG_VALUE', '"jwksUri" must be an absolute http(s) URL'],
    [{ audience: [] }, 'ERR_INVALID_ARG_VALUE', '"audience" must not be empty'],
    [{ audience: 42 }, 'ERR_INVALID_ARG_TYPE', '"audience" must be a string or an array of strings'],
    [{ algorithms: ['HS256'] }, 'ERR_INVALID_ARG_VALUE', '"algorithms" must contain asymmetric JWS algorithms only, got "HS256"'],
    [{ algorithms: ['none'] }, 'ERR_INVALID_ARG_VALUE', '"algorithms" must contain asymmetric JWS algorithms only, got "none"'],
    [{ leeway: -1 }, 'ERR_INVALID_ARG_VALUE', '"leeway" must be a number from 0 to 3,600 (seconds)'],
    [{ leeway: '30' }, 'ERR_INVALID_ARG_TYPE', '"leeway" must be a number from 0 to 3,600 (seconds)'],
    // A year: a token expired months ago would pass.
    [{ leeway: 1e9 }, 'ERR_INVALID_ARG_VALUE', '"leeway" must be a number from 0 to 3,600 (seconds)'],
    [{ leeway: 3_600.5 }, 'ERR_INVALID_ARG_VALUE', '"leeway" must be a number from 0 to 3,600 (seconds)'],
    [{ cooldownDuration: Number.NaN }, 'ERR_INVALID_ARG_VALUE', '"cooldownDuration" must be a number from 0 to 3,600,000 (ms)'],
    [{ cooldownDuration: 3_600_001 }, 'ERR_INVALID_ARG_VALUE', '"cooldownDuration" must be a number from 0 to 3,600,000 (ms)'],
    [{ cacheMaxAge: -1 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 86,400,000 (ms), or Infinity'],
    [{ cacheMaxAge: 1e12 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 86,400,000 (ms), or Infinity'],
    [{ cacheMaxAge: -Infinity }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 86,400,000 (ms), or Infinity'],
    [{ cacheMaxAge: '600000' }, 'ERR_INVALID_ARG_TYPE', '"cacheMaxAge" must be a number from 0 to 86,400,000 (ms), or Infinity'],
    [{ timeoutDuration: 1.5 }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    // 0 would abort every request at once; beyond setTimeout's limit the timer fires after 1 ms.
    [{ timeoutDuration: 0 }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ timeoutDuration: 3e9 }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ timeoutDuration: null }, 'ERR_INVALID_ARG_TYPE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ requiredScopes: ['a b'] }, 'ERR_INVALID_ARG_VALUE', '"requiredScopes" entries must not contain spaces'],
    [{ claims: {} }, 'ERR_INVALID_ARG_TYPE', '"claims" must be a zod schema'],
    [{ fetch: 'fetch' }, 'ERR_INVALID_ARG_TYPE', '"fetch" must be a function'],
    [{ jwksCache: 'x' }, 'ERR_INVALID_ARG_TYPE', '"jwksCache" must be an object'],
    [{ tokenCacheMaxEntries: -1 }, 'ERR_INVALID_ARG_VALUE', '"tokenCacheMaxEntries" must be an integer from 0 to 10,000,000'],
    [{ tokenCacheMaxEntries: 1e12 }, 'ERR_INVALID_ARG_VALUE', '"tokenCacheMaxEntries" must be an integer from 0 to 10,000,000'],
  ])('%j → %s', (bad, code, message) => {
    expect(() => verifier(bad as Partial<JWTVerifierOptions>)).toThrow(expect.objectContaining({ name: 'TypeError', code, message }))
  })

  it('checks options without any request', () => {
    expect(() => verifier({ algorithms: ['RS256', 'ES256'], leeway: 0, cacheMaxAge: Infinity })).not.toThrow()
    expect(jwksRequests).toBe(0)
  })

  it.each([null, 'options', [{ issuer: ISSUER }]])('options %j → ERR_INVALID_ARG_TYPE', (bad) => {
    expect(() => createJWTVerifier(bad as unknown as JWTVerifierOptions)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"options" must be an object' }))
  })

  it('accepts the bounds of every range', () => {
    for (const good of [
      { leeway: 0, cacheMaxAge: 0, cooldownDuration: 0, timeoutDuration: 1, tokenCacheMaxEntries: 0 },
      { leeway: 3_600, cacheMaxAge: 86_400_000, cooldownDuration: 3_600_000, timeoutDuration: 2_147_483_647, tokenCacheMaxEntries: 10_000_000 },
    ]) {
      expect(() => verifier(good)).not.toThrow()
    }
    expect(jwksRequests).toBe(0)
  })

  it('a leeway of 3,600 s (the most) accepts a token expired 3,599 s ago and refuses one expired 3,601 s ago', async () => {
    const v = verifier({ leeway: 3_600 })
    await expect(v.verify(await sign(k1, { claims: { exp: T0_SECONDS - 3_599 } }))).resolves.toMatchObject({ subject: 'alice' })
    await rejects(v.verify(await sign(k1, { claims: { exp: T0_SECONDS - 3_601 } })), 'ERR_ACCESS_TOKEN_EXPIRED', 'the access token has expired')
  })
})

describe('createJWTVerifier: valid tokens', () => {
  it('returns the principal', async () => {
    const token = await sign(k1)
    const principal = await verifier().verify(token)
    expect(principal).toEqual({
      subject: 'alice',
      clientId: 'mobile-app',
      scopes: ['orders:read', 'orders:write'],
      audience: [AUDIENCE],
      kind: 'jwt',
      expiresAt: (T0_SECONDS + 300) * 1000,
      username: 'alice',
      claims: expect.objectContaining({ iss: ISSUER, sub: 'alice', jti: 'jti-1' }),
    })
  })

  it('check() returns ok with the principal', async () => {
    const result = await verifier().check(bearer(await sign(k1)))
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.principal.subject).toBe('alice')
  })

  it('client_credentials token: no username', async () => {
    const principal = await verifier().verify(await sign(k1, { claims: { sub: 'mobile-app' } }))
    expect(principal.username).toBeNull()
  })

  it.each(['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+JWT'])('accepts typ %s', async (typ) => {
    await expect(verifier().verify(await sign(k1, { header: { typ } }))).resolves.toMatchObject({ subject: 'alice' })
  })

  it('accepts an EC key (ES256) and an audience array that intersects', async () => {
    const token = await sign(ec, { claims: { aud: ['billing-api', AUDIENCE] } })
    await expect(verifier({ audience: ['other', AUDIENCE] }).verify(token)).resolves.toMatchObject({ audience: ['billing-api', AUDIENCE] })
  })

  it('a JWK without "alg" verifies the algorithms that fit its key type', async () => {
    served = [{ ...k1.jwk, alg: undefined }]
    await expect(verifier().verify(await sign(k1))).resolves.toMatchObject({ subject: 'alice' })
  })

  it('token without exp (neverExpires policy) → expiresAt null', async () => {
    await expect(verifier().verify(await sign(k1, { omit: ['exp'] }))).resolves.toMatchObject({ expiresAt: null })
  })

  it('typed custom claims through defineClaims()', async () => {
    const claims = defineClaims({ tenant: z.string() })
    const v = createJWTVerifier({ issuer: ISSUER, jwksUri: JWKS_URL, audience: AUDIENCE, claims })
    const principal = await v.verify(await sign(k1, { claims: { tenant: 'acme' } }))
    const tenant: string | undefined = principal.claims?.tenant
    expect(tenant).toBe('acme')
    await rejects(v.verify(await sign(k1, { claims: { jti: 'other' } })), 'ERR_INVALID_TOKEN_CLAIM', 'the access token claims are invalid')
  })
})

describe('createJWTVerifier: refused tokens', () => {
  it('wrong typ', async () => {
    await rejects(verifier().verify(await sign(k1, { header: { typ: 'JWT' } })), 'ERR_INVALID_TOKEN_HEADER', 'the "typ" header must be "at+jwt"')
    await rejects(verifier().verify(await sign(k1, { header: { typ: undefined } })), 'ERR_INVALID_TOKEN_HEADER', 'the "typ" header must be "at+jwt"')
  })

  it('wrong iss', async () => {
    const err = verifier().verify(await sign(k1, { claims: { iss: 'https://evil.example' } }))
    await expect(err).rejects.toMatchObject({ code: 'ERR_INVALID_TOKEN_CLAIM', claim: 'iss', message: 'unexpected "iss" claim value' })
  })

  it('wrong aud (a token for another API)', async () => {
    const err = verifier().verify(await sign(k1, { claims: { aud: ['billing-api'] } }))
    await expect(err).rejects.toMatchObject({ code: 'ERR_INVALID_TOKEN_CLAIM', claim: 'aud', message: 'unexpected "aud" claim value' })
  })

  it('missing aud', async () => {
    await rejects(verifier().verify(await sign(k1, { omit: ['aud'] })), 'ERR_INVALID_TOKEN_CLAIM', 'the "aud" claim is missing')
  })

  it('expired beyond the leeway, accepted within it', async () => {
    const token = await sign(k1, { claims: { exp: T0_SECONDS - 31 } })
    await rejects(verifier().verify(token), 'ERR_ACCESS_TOKEN_EXPIRED', 'the access token has expired')
    await expect(verifier().verify(await sign(k1, { claims: { exp: T0_SECONDS - 29 } }))).resolves.toMatchObject({ subject: 'alice' })
    await rejects(verifier({ leeway: 0 }).verify(await sign(k1, { claims: { exp: T0_SECONDS } })), 'ERR_ACCESS_TOKEN_EXPIRED', 'the access token has expired')
  })

  it('nbf in the future beyond the leeway, accepted within it', async () => {
    await rejects(verifier().verify(await sign(k1, { claims: { nbf: T0_SECONDS + 31 } })), 'ERR_ACCESS_TOKEN_NOT_YET_VALID', 'the access token is not yet valid')
    await expect(verifier().verify(await sign(k1, { claims: { nbf: T0_SECONDS + 29 } }))).resolves.toMatchObject({ subject: 'alice' })
  })

  it('iat in the future beyond the leeway, accepted within it', async () => {
    const err = verifier().verify(await sign(k1, { claims: { iat: T0_SECONDS + 31 } }))
    await expect(err).rejects.toMatchObject({ code: 'ERR_INVALID_TOKEN_CLAIM', claim: 'iat', message: 'the "iat" claim is in the future' })
    await expect(verifier().verify(await sign(k1, { claims: { iat: T0_SECONDS + 29 } }))).resolves.toMatchObject({ subject: 'alice' })
  })

  it('claims that do not match the schema (no client_id)', async () => {
    await rejects(verifier().verify(await sign(k1, { omit: ['client_id'] })), 'ERR_INVALID_TOKEN_CLAIM', 'the access token claims are invalid')
  })

  it('alg none', async () => {
    await rejects(verifier().verify(unsecured()), 'ERR_INVALID_TOKEN_HEADER', 'the "alg" header is not allowed')
    expect(jwksRequests).toBe(0)
  })

  it('HS256 signed with the public key as the secret', async () => {
    const secrets = [new TextEncoder().encode(await exportSPKI(k1.publicKey)), new TextEncoder().encode(JSON.stringify(k1.jwk))]
    for (const secret of secrets) {
      const token = await new SignJWT(defaultClaims())
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
        .sign(secret)
      await rejects(verifier().verify(token), 'ERR_INVALID_TOKEN_HEADER', 'the "alg" header is not allowed')
    }
  })

  it('an algorithm outside `algorithms` (ES256 key, RS256-only verifier)', async () => {
    await rejects(verifier({ algorithms: ['RS256'] }).verify(await sign(ec)), 'ERR_INVALID_TOKEN_HEADER', 'the "alg" header is not allowed')
  })

  it('the algorithm is pinned by the JWK: PS256 with a key published for RS256', async () => {
    const pss = (await importJWK({ ...(await exportJWK(k1.privateKey)), alg: 'PS256' }, 'PS256')) as CryptoKey
    const token = await sign({ ...k1, alg: 'PS256', privateKey: pss })
    await rejects(verifier({ algorithms: ['RS256', 'PS256'] }).verify(token), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
  })

  it('embedded jwk header (attacker key with the same kid)', async () => {
    const token = await sign(attacker, { header: { jwk: attacker.jwk } })
    await rejects(verifier().verify(token), 'ERR_INVALID_TOKEN_HEADER', 'the "jwk" header is not allowed')
  })

  it.each([
    ['jku', 'https://evil.example/jwks'],
    ['x5u', 'https://evil.example/cert.pem'],
    ['x5c', ['MIIB']],
  ])('%s header', async (name, value) => {
    const token = await sign(attacker, { header: { [name]: value } })
    await rejects(verifier().verify(token), 'ERR_INVALID_TOKEN_HEADER', `the "${name}" header is not allowed`)
  })

  it('unknown crit', async () => {
    const token = await sign(k1, { header: { crit: ['urn:example:ext'], 'urn:example:ext': true }, crit: { 'urn:example:ext': true } })
    await rejects(verifier().verify(token), 'ERR_INVALID_TOKEN_HEADER', 'the "crit" header is not supported')
  })

  it('attacker key with a known kid: signature does not verify', async () => {
    await rejects(verifier().verify(await sign(attacker)), 'ERR_INVALID_TOKEN', 'the access token signature is invalid')
  })

  it('tampered payload with the original signature', async () => {
    const [h, , s] = (await sign(k1)).split('.')
    const forged = (await sign(attacker, { claims: { sub: 'admin' } })).split('.')[1]
    await rejects(verifier().verify(`${h}.${forged}.${s}`), 'ERR_INVALID_TOKEN', 'the access token signature is invalid')
  })

  it('signature stripped', async () => {
    const [h, p] = (await sign(k1)).split('.')
    await rejects(verifier().verify(`${h}.${p}.`), 'ERR_INVALID_TOKEN', 'the access token signature is invalid')
  })

  it.each(['', 'opaque-token', 'a.b', 'a.b.c.d.e', '!!!.e30.x'])('malformed %j', async (token) => {
    await rejects(verifier().verify(token), 'ERR_INVALID_TOKEN', 'the access token is malformed')
  })

  it('kid with path and SQL characters is just an unknown kid', async () => {
    const token = await sign(k1, { header: { kid: "../../etc/passwd' OR 1=1 --" } })
    await rejects(verifier().verify(token), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
  })

  it('argument misuse is a TypeError', async () => {
    await expect(verifier().verify(42 as unknown as string)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"token" must be a string' })
  })
})

describe('createJWTVerifier: check() responses (RFC 6750)', () => {
  it('no Authorization header → 401 without error code', async () => {
    const result = await verifier().check(new Request('https://api.example/orders'))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe('Bearer realm="orders-api"')
  })

  it('another scheme counts as no token', async () => {
    const result = await verifier().check(new Request('https://api.example/orders', { headers: { authorization: 'Basic YTpi' } }))
    expect(result.ok || result.response.headers.get('www-authenticate')).toBe('Bearer realm="orders-api"')
  })

  it('malformed Bearer header → 400 invalid_request', async () => {
    for (const header of ['Bearer', 'Bearer a b', 'Bearer tok@n']) {
      const result = await verifier().check(new Request('https://api.example/orders', { headers: { authorization: header } }))
      if (result.ok) throw new Error('expected a failure')
      expect(result.response.status).toBe(400)
      expect(result.response.headers.get('www-authenticate')).toBe('Bearer realm="orders-api", error="invalid_request", error_description="the Authorization header is malformed"')
    }
  })

  it('bad token → 401 invalid_token with the description in the characters RFC 6750 §3 allows (no " or \\)', async () => {
    const result = await verifier({ realm: 'orders' }).check(bearer(await sign(k1, { header: { typ: 'JWT' } })))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe(`Bearer realm="orders", error="invalid_token", error_description="the 'typ' header must be 'at+jwt'"`)
    expect(await result.response.json()).toEqual({ error: 'invalid_token', error_description: "the 'typ' header must be 'at+jwt'" })
  })

  it('a forged token naming a key of the issuer that jose refuses to use (RSA under 2048 bits) → 401, not an exception', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
    served = [k1.jwk, { ...small, kid: 'legacy-1024', alg: 'RS256', use: 'sig' } as JWK]
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const forged = `${b64({ alg: 'RS256', kid: 'legacy-1024', typ: 'at+jwt' })}.${b64(defaultClaims())}.AAAA`
    const result = await verifier().check(bearer(forged))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe(challenge('the access token is invalid'))
  })

  it('a realm (or audience) outside ASCII is percent-encoded in the challenge instead of making check() throw', async () => {
    const result = await verifier({ realm: 'заказы' }).check(new Request('https://api.example/orders'))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe(`Bearer realm="${encodeURIComponent('заказы')}"`)
  })

  it('expired token → 401 invalid_token', async () => {
    const result = await verifier().check(bearer(await sign(k1, { claims: { exp: T0_SECONDS - 60 } })))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe(challenge('the access token has expired'))
  })

  it('missing scope → 403 insufficient_scope with scope; verify() throws ERR_INSUFFICIENT_SCOPE', async () => {
    const v = verifier({ requiredScopes: ['orders:read', 'orders:admin'] })
    const token = await sign(k1)
    const result = await v.check(bearer(token))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(403)
    expect(result.response.headers.get('www-authenticate')).toBe(
      'Bearer realm="orders-api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:read orders:admin"',
    )
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'ERR_INSUFFICIENT_SCOPE', message: 'the access token lacks a required scope', scope: ['orders:read', 'orders:admin'] })
    await expect(verifier({ requiredScopes: ['orders:read'] }).verify(token)).resolves.toMatchObject({ scopes: ['orders:read', 'orders:write'] })
  })

  it('JWKS endpoint failure → verify() ERR_VERIFIER_UNAVAILABLE, check() 503 temporarily_unavailable', async () => {
    jwksStatus = 500
    const token = await sign(k1)
    await expect(verifier().verify(token)).rejects.toMatchObject({ code: 'ERR_VERIFIER_UNAVAILABLE', message: 'the key set is unavailable' })
    const result = await verifier().check(bearer(token))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(503)
    expect(result.response.headers.get('www-authenticate')).toBeNull()
    expect(result.response.headers.get('cache-control')).toBe('no-store')
    expect(await result.response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the key set is unavailable' })
  })

  it('JWKS network error → ERR_VERIFIER_UNAVAILABLE', async () => {
    server.use(http.get(JWKS_URL, () => HttpResponse.error()))
    await rejects(verifier().verify(await sign(k1)), 'ERR_VERIFIER_UNAVAILABLE', 'the key set is unavailable')
  })
})

describe('createJWTVerifier: JWKS cache', () => {
  it('unknown kid on a cold JWKS → the first fetch only, then fail', async () => {
    await rejects(verifier().verify(await sign(k2)), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(1)
  })

  it('unknown kid → one refetch (after the cooldown) then fail; the cooldown holds further refetches', async () => {
    const v = verifier()
    await v.verify(await sign(k1))
    expect(jwksRequests).toBe(1)
    // Within the cooldown right after the first fetch: no refetch.
    await rejects(v.verify(await sign(k2)), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(1)
    vi.setSystemTime(T0 + 31_000)
    const unknown = await sign(k2, { claims: { exp: T0_SECONDS + 3600 } })
    await rejects(v.verify(unknown), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(2)
    for (let i = 0; i < 5; i++) await rejects(v.verify(unknown), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(2)
    vi.setSystemTime(T0 + 62_000)
    await rejects(v.verify(unknown), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(3)
  })

  it('key rotation: a new kid is verified after one refetch', async () => {
    const v = verifier()
    await v.verify(await sign(k1))
    served = [k1.jwk, k2.jwk]
    vi.setSystemTime(T0 + 31_000)
    await expect(v.verify(await sign(k2, { claims: { exp: T0_SECONDS + 3600 } }))).resolves.toMatchObject({ subject: 'alice' })
    expect(jwksRequests).toBe(2)
    await v.verify(await sign(k2, { claims: { exp: T0_SECONDS + 3600, jti: 'again' } }))
    expect(jwksRequests).toBe(2)
  })

  it('refetches once cacheMaxAge has passed', async () => {
    const v = verifier({ cacheMaxAge: 60_000 })
    await v.verify(await sign(k1, { claims: { exp: T0_SECONDS + 3600 } }))
    expect(v.fresh).toBe(true)
    vi.setSystemTime(T0 + 61_000)
    expect(v.fresh).toBe(false)
    await v.verify(await sign(k1, { claims: { exp: T0_SECONDS + 3600, jti: 'two' } }))
    expect(jwksRequests).toBe(2)
    expect(v.fresh).toBe(true)
  })

  it('100 concurrent verifications with a cold JWKS → exactly 1 fetch', async () => {
    const v = verifier()
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(i % 2 ? k1 : ec, { claims: { jti: `jti-${i}` } })))
    const principals = await Promise.all(tokens.map((t) => v.verify(t)))
    expect(principals).toHaveLength(100)
    expect(jwksRequests).toBe(1)
  })

  it('seeded cache → 0 fetches', async () => {
    const jwksCache: JWKSCache = { jwks: { keys: [k1.jwk] }, uat: T0 - 1_000 }
    const v = verifier({ jwksCache })
    await expect(v.verify(await sign(k1))).resolves.toMatchObject({ subject: 'alice' })
    expect(jwksRequests).toBe(0)
  })

  it('a stale seed is ignored and refetched', async () => {
    const jwksCache: JWKSCache = { jwks: { keys: [k1.jwk] }, uat: T0 - 601_000 }
    await verifier({ jwksCache }).verify(await sign(k1))
    expect(jwksRequests).toBe(1)
  })

  it('an empty cache object is filled after the first fetch (export for the next cold start)', async () => {
    const jwksCache: JWKSCache = {}
    await verifier({ jwksCache }).verify(await sign(k1))
    expect(jwksCache).toEqual({ jwks: { keys: [k1.jwk, ec.jwk] }, uat: T0 })
    await verifier({ jwksCache }).verify(await sign(ec))
    expect(jwksRequests).toBe(1)
  })
})

describe('createJWTVerifier: a token without kid', () => {
  it('is verified with whichever of several fitting keys signed it (a rotation serves two), and refused when none did', async () => {
    served = [k1.jwk, k2.jwk]
    const v = verifier()
    await expect(v.verify(await sign(k2, { header: { kid: undefined }, claims: { jti: 'no-kid-k2' } }))).resolves.toMatchObject({ subject: 'alice' })
    await expect(v.verify(await sign(k1, { header: { kid: undefined }, claims: { jti: 'no-kid-k1' } }))).resolves.toMatchObject({ subject: 'alice' })
    await rejects(v.verify(await sign(attacker, { header: { kid: undefined } })), 'ERR_INVALID_TOKEN', 'the access token signature is invalid')
  })
})

describe('createJWTVerifier: the JWKS endpoint failing', () => {
  it('keeps verifying with the last fetched keys past their TTL, fetches again only after a backoff, and refuses unknown kids with 401', async () => {
    const v = verifier({ cacheMaxAge: 300, cooldownDuration: 100, tokenCacheMaxEntries: 0 })
    await v.verify(await sign(k1, { claims: { jti: 'first' } }))
    expect(jwksRequests).toBe(1)
    vi.setSystemTime(T0 + 400) // the set is stale now
    jwksStatus = 500
    for (let i = 0; i < 50; i++) await expect(v.verify(await sign(k1, { claims: { jti: `during-${i}` } }))).resolves.toMatchObject({ subject: 'alice' })
    expect(jwksRequests).toBe(2) // one failed attempt, then the backoff
    await rejects(v.verify(await sign(k2)), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(2)
    vi.setSystemTime(T0 + 500) // backoff over: asked again (still failing, still served from the last set)
    await v.verify(await sign(k1, { claims: { jti: 'after' } }))
    expect(jwksRequests).toBe(3)
    jwksStatus = 200
    served = [k1.jwk, k2.jwk]
    vi.setSystemTime(T0 + 600)
    await expect(v.verify(await sign(k2, { claims: { jti: 'recovered' } }))).resolves.toMatchObject({ subject: 'alice' })
    expect(jwksRequests).toBe(4)
  })

  it('answers 503 when there never was a good key set, without asking again during the backoff', async () => {
    jwksStatus = 500
    const v = verifier({ cooldownDuration: 1_000 })
    for (let i = 0; i < 10; i++) {
      const result = await v.check(bearer(await sign(k1, { claims: { jti: `cold-${i}` } })))
      expect(result.ok || result.response.status).toBe(503)
    }
    expect(jwksRequests).toBe(1)
  })
})

describe('createJWTVerifier: onFetch', () => {
  it('tells each metadata and JWKS request with its status and duration, and a network failure with its error', async () => {
    const events: VerifierFetchEvent[] = []
    const v = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE, cacheMaxAge: 300, cooldownDuration: 0, tokenCacheMaxEntries: 0, onFetch: (e) => events.push(e) })
    await v.verify(await sign(k1))
    jwksStatus = 500
    vi.setSystemTime(T0 + 400) // the key set is stale: fetched again, and the endpoint fails
    await v.verify(await sign(k1, { claims: { jti: 'stale' } }))
    server.use(http.get(JWKS_URL, () => HttpResponse.error()))
    vi.setSystemTime(T0 + 500) // no backoff with cooldownDuration 0: fetched again
    await v.verify(await sign(k1, { claims: { jti: 'network' } }))
    expect(events.map(({ kind, url, status }) => ({ kind, url, status }))).toEqual([
      { kind: 'metadata', url: METADATA_URL, status: 200 },
      { kind: 'jwks', url: JWKS_URL, status: 200 },
      { kind: 'jwks', url: JWKS_URL, status: 500 },
      { kind: 'jwks', url: JWKS_URL, status: undefined },
    ])
    expect(events[3]!.error).toBeInstanceOf(Error)
    for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('verifies as before when the listener throws', async () => {
    const v = verifier({ onFetch: () => { throw new Error('metrics bug') } })
    await expect(v.verify(await sign(k1))).resolves.toMatchObject({ subject: 'alice' })
    expect(() => verifier({ onFetch: 'log' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: '"onFetch" must be a function' }) as unknown as Error)
  })
})

describe('createJWTVerifier: metadataUrl (RFC 8414)', () => {
  it('fetches the metadata once (single-flight) and uses its jwks_uri', async () => {
    const v = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE })
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(k1, { claims: { jti: `m-${i}` } })))
    await Promise.all(tokens.map((t) => v.verify(t)))
    await v.verify(await sign(k1, { claims: { jti: 'later' } }))
    expect(metadataRequests).toBe(1)
    expect(jwksRequests).toBe(1)
  })

  it('issuer mismatch → ERR_VERIFIER_UNAVAILABLE (503); not asked again for 5 s, then retried', async () => {
    metadataBody = { issuer: 'https://evil.example', jwks_uri: JWKS_URL }
    const v = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE })
    const token = await sign(k1)
    await rejects(v.verify(token), 'ERR_VERIFIER_UNAVAILABLE', 'the authorization server metadata "issuer" does not match')
    for (let i = 0; i < 20; i++) {
      const result = await v.check(bearer(token))
      expect(result.ok || result.response.status).toBe(503)
    }
    expect(metadataRequests).toBe(1)
    expect(jwksRequests).toBe(0)
    metadataBody = { issuer: ISSUER, jwks_uri: JWKS_URL }
    vi.setSystemTime(T0 + 4_999)
    await rejects(v.verify(token), 'ERR_VERIFIER_UNAVAILABLE', 'the authorization server metadata "issuer" does not match')
    vi.setSystemTime(T0 + 5_000)
    await expect(v.verify(token)).resolves.toMatchObject({ subject: 'alice' })
    expect(metadataRequests).toBe(2)
  })

  it('https metadata naming an http jwks_uri → ERR_VERIFIER_UNAVAILABLE, and no key is fetched in cleartext', async () => {
    metadataBody = { issuer: ISSUER, jwks_uri: JWKS_URL.replace('https:', 'http:') }
    const v = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE })
    await rejects(v.verify(await sign(k1)), 'ERR_VERIFIER_UNAVAILABLE', 'the authorization server metadata "jwks_uri" must use https, as the metadata does')
    expect(jwksRequests).toBe(0)
  })

  it('a jwksCache exported after reading the metadata seeds a cold start that needs neither endpoint', async () => {
    const warm: JWKSCache = {}
    await createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE, jwksCache: warm }).verify(await sign(k1))
    expect(warm).toMatchObject({ jwksUri: JWKS_URL, issuer: ISSUER })
    const persisted = JSON.parse(JSON.stringify(warm)) as JWKSCache
    server.use(
      http.get(METADATA_URL, () => {
        metadataRequests++
        return new HttpResponse(null, { status: 502 })
      }),
    )
    const before = { metadataRequests, jwksRequests }
    const cold = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE, jwksCache: persisted })
    await expect(cold.verify(await sign(k1, { claims: { jti: 'cold-start' } }))).resolves.toMatchObject({ subject: 'alice' })
    expect({ metadataRequests, jwksRequests }).toEqual(before)
    // A seed read for another issuer is not used.
    const other = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE, jwksCache: { ...persisted, issuer: 'https://other.example' } as JWKSCache })
    await rejects(other.verify(await sign(k1)), 'ERR_VERIFIER_UNAVAILABLE', 'the authorization server metadata is unavailable')
  })

  it('no jwks_uri → ERR_VERIFIER_UNAVAILABLE', async () => {
    metadataBody = { issuer: ISSUER }
    const v = createJWTVerifier({ issuer: ISSUER, metadataUrl: METADATA_URL, audience: AUDIENCE })
    await rejects(v.verify(await sign(k1)), 'ERR_VERIFIER_UNAVAILABLE', 'the authorization server metadata has no "jwks_uri"')
  })

  it('uses the custom fetch for metadata and JWKS', async () => {
    const calls: string[] = []
    const v = createJWTVerifier({
      issuer: ISSUER,
      metadataUrl: METADATA_URL,
      audience: AUDIENCE,
      fetch: (input, init) => {
        calls.push(String(input))
        return fetch(input, init)
      },
    })
    await v.verify(await sign(k1))
    expect(calls).toEqual([METADATA_URL, JWKS_URL])
  })
})

describe('createJWTVerifier: verified-token cache', () => {
  it('a second verification of the same token does no signature work', async () => {
    const v = verifier()
    const token = await sign(k1)
    const spy = vi.spyOn(crypto.subtle, 'verify')
    const first = await v.verify(token)
    expect(spy).toHaveBeenCalledTimes(1)
    const second = await v.verify(token)
    expect(spy).toHaveBeenCalledTimes(1)
    expect(second).toEqual(first)
    expect(Object.isFrozen(second) && Object.isFrozen(second.scopes) && Object.isFrozen(second.claims)).toBe(true)
    await v.verify(await sign(k1, { claims: { jti: 'other' } }))
    expect(spy).toHaveBeenCalledTimes(2)
  })

  it('required scopes are checked on every hit', async () => {
    const v = verifier({ requiredScopes: ['orders:admin'] })
    const token = await sign(k1)
    await rejects(v.verify(token), 'ERR_INSUFFICIENT_SCOPE', 'the access token lacks a required scope')
    await rejects(v.verify(token), 'ERR_INSUFFICIENT_SCOPE', 'the access token lacks a required scope')
  })

  it('entries end at exp: then the token is verified in full again (and refused beyond the leeway)', async () => {
    const v = verifier()
    const token = await sign(k1, { claims: { exp: T0_SECONDS + 60 } })
    const spy = vi.spyOn(crypto.subtle, 'verify')
    await v.verify(token)
    vi.setSystemTime(T0 + 59_000)
    await v.verify(token)
    expect(spy).toHaveBeenCalledTimes(1)
    vi.setSystemTime(T0 + 61_000) // past exp, within the leeway: verified in full, not cached
    await v.verify(token)
    expect(spy).toHaveBeenCalledTimes(2)
    await v.verify(token)
    expect(spy).toHaveBeenCalledTimes(3)
    vi.setSystemTime(T0 + 91_000)
    await rejects(v.verify(token), 'ERR_ACCESS_TOKEN_EXPIRED', 'the access token has expired')
  })

  it('entries are dropped when a refetch shows their kid is gone (unknown-kid refetch)', async () => {
    const v = verifier()
    const old = await sign(k1, { claims: { exp: T0_SECONDS + 3600 } })
    await v.verify(old)
    served = [k2.jwk]
    vi.setSystemTime(T0 + 31_000)
    await v.verify(await sign(k2, { claims: { exp: T0_SECONDS + 3600 } }))
    expect(jwksRequests).toBe(2)
    await rejects(v.verify(old), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
  })

  it('a refetch within the same millisecond still drops retired keys (cooldown 0)', async () => {
    const v = verifier({ cooldownDuration: 0 })
    const old = await sign(k1)
    await v.verify(old)
    served = [k2.jwk]
    await v.verify(await sign(k2))
    expect(jwksRequests).toBe(2)
    await rejects(v.verify(old), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
  })

  it('a stale JWKS is refetched before a cached entry is used, dropping retired keys', async () => {
    const v = verifier({ cacheMaxAge: 60_000 })
    const old = await sign(k1, { claims: { exp: T0_SECONDS + 3600 } })
    await v.verify(old)
    vi.setSystemTime(T0 + 30_000)
    await v.verify(old)
    expect(jwksRequests).toBe(1)
    served = [k2.jwk]
    vi.setSystemTime(T0 + 61_000)
    await rejects(v.verify(old), 'ERR_JWKS_NO_MATCHING_KEY', 'no key of the issuer matches the access token')
    expect(jwksRequests).toBe(2)
  })

  it('the cache is bounded (LRU) and can be disabled', async () => {
    const spy = vi.spyOn(crypto.subtle, 'verify')
    const small = verifier({ tokenCacheMaxEntries: 2 })
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((jti) => sign(k1, { claims: { jti } })))
    for (const t of [a!, b!, c!]) await small.verify(t)
    expect(spy).toHaveBeenCalledTimes(3)
    await small.verify(c!)
    await small.verify(b!)
    expect(spy).toHaveBeenCalledTimes(3)
    await small.verify(a!) // evicted
    expect(spy).toHaveBeenCalledTimes(4)
    const none = verifier({ tokenCacheMaxEntries: 0 })
    await none.verify(a!)
    await none.verify(a!)
    expect(spy).toHaveBeenCalledTimes(6)
  })
})
