import { describe, expect, it, vi } from 'vitest'
import {
  clientCredentialsGrantRequest,
  clientSecretBasic,
  clientSecretPost,
  introspectionRequest,
  none,
  passwordGrantRequest,
  processIntrospectionResponse,
  processRevocationResponse,
  processTokenResponse,
  refreshTokenGrantRequest,
  revocationRequest,
} from '../../src/client/index.js'
import { fakeJWT, rejection } from './_helpers.js'

const as = {
  token_endpoint: 'https://id.test/auth/token',
  introspection_endpoint: 'https://id.test/auth/introspect',
  revocation_endpoint: 'https://id.test/auth/revoke',
}
const client = { client_id: 'billing' }
const NOW = Date.UTC(2026, 0, 1)
const now = () => NOW

const json = (body: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(body), { status: 200, ...init, headers: { 'content-type': 'application/json', ...init.headers } })

describe('request builders', () => {
  it('client_credentials: form body, Accept JSON, Basic auth', async () => {
    const request = await clientCredentialsGrantRequest(as, client, clientSecretBasic('s3cret'), {
      scope: ['invoices:read', 'invoices:write'],
      resource: ['https://api.test/a', 'https://api.test/b'],
    })
    expect(request.method).toBe('POST')
    expect(request.url).toBe(as.token_endpoint)
    expect(request.headers.get('accept')).toBe('application/json')
    expect(request.headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8')
    expect(request.headers.get('authorization')).toBe(`Basic ${btoa('billing:s3cret')}`)
    const body = new URLSearchParams(await request.text())
    expect(body.get('grant_type')).toBe('client_credentials')
    expect(body.get('scope')).toBe('invoices:read invoices:write')
    expect(body.getAll('resource')).toEqual(['https://api.test/a', 'https://api.test/b'])
    expect(body.has('client_secret')).toBe(false)
  })

  it('Basic auth form-urlencodes id and secret before base64 (RFC 6749 §2.3.1)', async () => {
    const request = await clientCredentialsGrantRequest(as, { client_id: 'my app:1' }, clientSecretBasic('p@ss:wörd +/'))
    const decoded = atob(request.headers.get('authorization')!.slice('Basic '.length))
    expect(decoded).toBe('my+app%3A1:p%40ss%3Aw%C3%B6rd+%2B%2F')
    const [id, secret] = decoded.split(':').map((part) => new URLSearchParams(`v=${part}`).get('v'))
    expect([id, secret]).toEqual(['my app:1', 'p@ss:wörd +/'])
  })

  it('client_secret_post puts the credentials in the body', async () => {
    const request = await clientCredentialsGrantRequest(as, client, clientSecretPost('s3cret'))
    const body = new URLSearchParams(await request.text())
    expect(body.get('client_id')).toBe('billing')
    expect(body.get('client_secret')).toBe('s3cret')
    expect(request.headers.has('authorization')).toBe(false)
  })

  it('none() sends only client_id; legacyDashSecret adds client_secret=-', async () => {
    const plain = new URLSearchParams(await (await passwordGrantRequest(as, client, none(), 'alice', 'pw')).text())
    expect(plain.get('client_id')).toBe('billing')
    expect(plain.has('client_secret')).toBe(false)
    expect(plain.get('grant_type')).toBe('password')
    expect(plain.get('username')).toBe('alice')
    expect(plain.get('password')).toBe('pw')
    const legacy = new URLSearchParams(await (await passwordGrantRequest(as, client, none({ legacyDashSecret: true }), 'alice', 'pw')).text())
    expect(legacy.get('client_secret')).toBe('-')
  })

  it('refresh_token, introspection and revocation requests', async () => {
    const refresh = new URLSearchParams(await (await refreshTokenGrantRequest(as, client, clientSecretBasic('s'), 'rt-1')).text())
    expect(Object.fromEntries(refresh)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-1' })

    const introspect = await introspectionRequest(as, client, clientSecretBasic('s'), 'at-1', { token_type_hint: 'access_token' })
    expect(introspect.url).toBe(as.introspection_endpoint)
    expect(Object.fromEntries(new URLSearchParams(await introspect.text()))).toEqual({ token: 'at-1', token_type_hint: 'access_token' })

    const revoke = await revocationRequest(as, client, clientSecretBasic('s'), 'rt-1')
    expect(revoke.url).toBe(as.revocation_endpoint)
    expect(Object.fromEntries(new URLSearchParams(await revoke.text()))).toEqual({ token: 'rt-1' })
  })

  it('additional parameters never override the builder', async () => {
    const request = await clientCredentialsGrantRequest(as, client, clientSecretBasic('s'), {
      additionalParameters: { grant_type: 'password', audience: 'x' },
      headers: { 'x-request-id': '42' },
    })
    const body = new URLSearchParams(await request.text())
    expect(body.get('grant_type')).toBe('client_credentials')
    expect(body.get('audience')).toBe('x')
    expect(request.headers.get('x-request-id')).toBe('42')
  })

  it('argument misuse throws TypeError with ERR_INVALID_ARG_*', async () => {
    expect(await rejection(clientCredentialsGrantRequest({}, client, none()))).toMatchObject({
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: '"as.token_endpoint" must be a non-empty string',
    })
    expect(await rejection(clientCredentialsGrantRequest({ token_endpoint: '/relative' }, client, none()))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: '"as.token_endpoint" must be an absolute URL',
    })
    expect(await rejection(clientCredentialsGrantRequest(as, { client_id: '' }, none()))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: '"client.client_id" must be a non-empty string',
    })
    expect(await rejection(refreshTokenGrantRequest(as, client, none(), ''))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    expect(await rejection(introspectionRequest({ token_endpoint: as.token_endpoint }, client, none(), 't'))).toMatchObject({
      message: '"as.introspection_endpoint" must be a non-empty string',
    })
    expect(() => clientSecretBasic('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: '"clientSecret" must be a non-empty string' }))
    expect(() => clientSecretPost(1 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})

describe('processTokenResponse', () => {
  it('returns the token with expiresAt from expires_in (seconds)', async () => {
    const result = await processTokenResponse(json({ access_token: 'at', token_type: 'Bearer', expires_in: 60, scope: 'a', extra: 1 }), { now })
    expect(result).toEqual({ access_token: 'at', token_type: 'Bearer', expires_in: 60, scope: 'a', extra: 1, expiresAt: NOW + 60_000 })
  })

  it('expiresAt is null when nothing tells the lifetime', async () => {
    expect((await processTokenResponse(json({ access_token: 'opaque', token_type: 'Bearer' }), { now })).expiresAt).toBeNull()
  })

  it('falls back to the JWT exp only when expires_in is absent (expires_in is immune to clock skew)', async () => {
    const exp = NOW / 1000 + 120
    const jwt = fakeJWT({ sub: 'x', exp })
    expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer' }), { now })).expiresAt).toBe(exp * 1000)
    expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer', expires_in: 3600 }), { now })).expiresAt).toBe(NOW + 3_600_000)
    expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer', expires_in: 60 }), { now })).expiresAt).toBe(NOW + 60_000)
    expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer' }), { now, jwtExpFallback: false })).expiresAt).toBeNull()
  })

  it('strict mode: expires_in 0 means expired now', async () => {
    expect((await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', expires_in: 0 }), { now })).expiresAt).toBe(NOW)
  })

  describe('lenient mode', () => {
    it('expires_in in milliseconds', async () => {
      const r = await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', expires_in: 60000 }), {
        now,
        lenient: { expiresInUnit: 'milliseconds' },
      })
      expect(r.expiresAt).toBe(NOW + 60_000)
    })

    it('expires_in 0 means no expiry', async () => {
      const r = await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', expires_in: 0, 'X-ClientInfo': 'billing' }), { now, lenient: true })
      expect(r.expiresAt).toBeNull()
      expect(r['X-ClientInfo']).toBe('billing')
    })

    it('the JWT exp does not override X-ExpiresAt; lenient expires_in: 0 declares no lifetime, so exp applies', async () => {
      const exp = NOW / 1000 - 3600 // a server clock far behind
      const jwt = fakeJWT({ sub: 'x', exp })
      const at = new Date(NOW + 60_000).toISOString()
      expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer', 'X-ExpiresAt': at }), { now, lenient: true })).expiresAt).toBe(NOW + 60_000)
      expect((await processTokenResponse(json({ access_token: jwt, token_type: 'Bearer', expires_in: 0 }), { now, lenient: true })).expiresAt).toBe(exp * 1000)
    })

    it('honours X-ExpiresAt (ISO-8601) over a misread expires_in', async () => {
      const r = await processTokenResponse(
        json({ access_token: 'a', token_type: 'Bearer', expires_in: 60000, 'X-ExpiresAt': new Date(NOW + 60_000).toISOString() }),
        { now, lenient: true },
      )
      expect(r.expiresAt).toBe(NOW + 60_000)
    })

    it('X-ExpiresAt without an offset is UTC, whatever the local time zone', async () => {
      vi.stubEnv('TZ', 'Asia/Kolkata') // UTC+05:30, so local parsing would be 5.5 h early
      try {
        for (const at of ['2026-01-01T10:00:00', '2026-01-01 10:00:00', '2026-01-01T10:00:00.0000000', '2026-01-01T10:00']) {
          const r = await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', 'X-ExpiresAt': at }), { now, lenient: true })
          expect(r.expiresAt, at).toBe(Date.UTC(2026, 0, 1, 10))
        }
        const withOffset = await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', 'X-ExpiresAt': '2026-01-01T10:00:00+02:00' }), { now, lenient: true })
        expect(withOffset.expiresAt).toBe(Date.UTC(2026, 0, 1, 8))
      } finally {
        vi.unstubAllEnvs()
      }
    })

    it('X-ExpiresAt as an epoch number: seconds below 1e11, milliseconds otherwise', async () => {
      const at = Date.UTC(2026, 0, 1, 10)
      for (const [value, expected] of [
        [at / 1000, at],
        [String(at / 1000), at],
        [at, at],
        [String(at), at],
      ] as const) {
        const r = await processTokenResponse(json({ access_token: 'a', token_type: 'Bearer', 'X-ExpiresAt': value }), { now, lenient: true })
        expect(r.expiresAt, String(value)).toBe(expected)
      }
    })

    it('maps renamed fields, coerces a numeric string expires_in, defaults token_type', async () => {
      const r = await processTokenResponse(json({ accessToken: 'a', expiresIn: '30', refreshToken: 'r' }), {
        now,
        lenient: { fieldNames: { access_token: 'accessToken', expires_in: 'expiresIn', refresh_token: 'refreshToken' } },
      })
      expect(r).toMatchObject({ access_token: 'a', token_type: 'Bearer', expires_in: 30, refresh_token: 'r', expiresAt: NOW + 30_000 })
    })

    it('moves renamed fields: the legacy names are not kept next to the wire names', async () => {
      const r = await processTokenResponse(json({ accessToken: 'a', refreshToken: 'r', token_type: 'Bearer', expires_in: 60 }), {
        now,
        lenient: { fieldNames: { access_token: 'accessToken', refresh_token: 'refreshToken' } },
      })
      expect(r).toEqual({ access_token: 'a', refresh_token: 'r', token_type: 'Bearer', expires_in: 60, expiresAt: NOW + 60_000 })
    })
  })

  it('RFC 6749 §5.2 error body → ResponseBodyError with error, description, status', async () => {
    const response = json({ error: 'invalid_client', error_description: 'client authentication failed' }, { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' } })
    const err = await rejection(processTokenResponse(response))
    expect(err).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_client', error_description: 'client authentication failed', status: 401 })
    expect(err.response).toBe(response)
    expect(Object.keys(err)).not.toContain('response')
  })

  it('an error body with status 200 (legacy) is still a ResponseBodyError', async () => {
    expect(await rejection(processTokenResponse(json({ error: 'invalid_grant' })))).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_grant', status: 200 })
  })

  it('a challenge without an error body → WWWAuthenticateChallengeError', async () => {
    const response = new Response('nope', { status: 401, headers: { 'www-authenticate': 'Bearer realm="x", error="invalid_token"' } })
    expect(await rejection(processTokenResponse(response))).toMatchObject({
      code: 'ERR_WWW_AUTHENTICATE_CHALLENGE',
      status: 401,
      error: 'invalid_token',
      parameters: { realm: 'x', error: 'invalid_token' },
    })
  })

  it('anything else → UnexpectedResponseError', async () => {
    expect(await rejection(processTokenResponse(new Response('<html>bad gateway</html>', { status: 502 })))).toMatchObject({
      code: 'ERR_UNEXPECTED_RESPONSE',
      status: 502,
      message: 'unexpected response status 502',
    })
    expect(await rejection(processTokenResponse(new Response('not json', { status: 200 })))).toMatchObject({
      code: 'ERR_UNEXPECTED_RESPONSE',
      message: 'response body is not JSON',
    })
  })

  it('a malformed success body → SchemaValidationError naming the field', async () => {
    const err = await rejection(processTokenResponse(json({ token_type: 'Bearer', expires_in: -1 })))
    expect(err.code).toBe('ERR_SCHEMA_VALIDATION')
    expect(err.message).toBe('invalid token response')
    expect(err.issues.map((i: { path: string }) => i.path).sort()).toEqual(['access_token', 'expires_in'])
  })

  it('rejects a non-Response', async () => {
    expect(await rejection(processTokenResponse({} as Response))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  })
})

describe('processIntrospectionResponse / processRevocationResponse', () => {
  it('introspection: typed result', async () => {
    expect(await processIntrospectionResponse(json({ active: true, scope: 'a', client_id: 'billing', exp: 1 }))).toEqual({
      active: true,
      scope: 'a',
      client_id: 'billing',
      exp: 1,
    })
    expect(await processIntrospectionResponse(json({ active: false }))).toEqual({ active: false })
  })

  it('introspection: errors', async () => {
    expect(await rejection(processIntrospectionResponse(json({ scope: 'a' })))).toMatchObject({ code: 'ERR_SCHEMA_VALIDATION' })
    expect(await rejection(processIntrospectionResponse(json({ error: 'invalid_client' }, { status: 401 })))).toMatchObject({
      code: 'ERR_RESPONSE_BODY',
      error: 'invalid_client',
    })
  })

  it('revocation: any 2xx is success; errors are typed', async () => {
    await expect(processRevocationResponse(new Response(null, { status: 200 }))).resolves.toBeUndefined()
    await expect(processRevocationResponse(new Response('{}', { status: 200 }))).resolves.toBeUndefined()
    expect(await rejection(processRevocationResponse(json({ error: 'unsupported_token_type' }, { status: 400 })))).toMatchObject({
      code: 'ERR_RESPONSE_BODY',
      error: 'unsupported_token_type',
      status: 400,
    })
    const unavailable = await rejection(processRevocationResponse(new Response('', { status: 503, headers: { 'retry-after': '5' } })))
    expect(unavailable).toMatchObject({ code: 'ERR_UNEXPECTED_RESPONSE', status: 503 })
    expect(unavailable.response.headers.get('retry-after')).toBe('5')
  })
})
