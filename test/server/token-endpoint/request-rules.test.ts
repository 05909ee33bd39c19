/**
 * SPEC §3 request rules of the token endpoints: content type, methods, duplicates, body limit,
 * client authentication (Basic / post / public), base paths, unknown paths.
 */
import { describe, expect, it } from 'vitest'
import {
  basic,
  basicChallenge,
  creds,
  expectError,
  expectToken,
  FORM,
  formRequest,
  ISSUER,
  makeService,
  policyOf,
  post,
  rawBasic,
  SECRETS,
  type TestConfig,
} from '../_fixtures.js'

const CC = { grant_type: 'client_credentials' }

describe('content type', () => {
  it.each([FORM, `${FORM};charset=UTF-8`, `${FORM}; charset=utf-8`, 'Application/X-WWW-Form-URLEncoded', `${FORM}; charset="UTF-8"`])('accepts %s', async (contentType) => {
    const { service } = makeService()
    await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }, { contentType }))
  })

  it.each([
    ['JSON', 'application/json', JSON.stringify({ grant_type: 'client_credentials', client_id: 'orders-app', client_secret: SECRETS.orders })],
    ['text', 'text/plain', `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}`],
    ['multipart', 'multipart/form-data; boundary=x', `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}`],
    ['form with a non-UTF-8 charset', `${FORM}; charset=ISO-8859-1`, `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}`],
    ['missing', null, `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}`],
  ])('refuses a %s content type with 400 invalid_request', async (_label, contentType, body) => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', body, { contentType })
    await expectError(response, 400, 'invalid_request', 'the content type must be application/x-www-form-urlencoded')
  })
})

describe('methods', () => {
  it('refuses GET with URL parameters unless allowUrlParameters (405, Allow: POST)', async () => {
    const { service } = makeService()
    const query = new URLSearchParams({ ...CC, ...creds('orders-app') })
    const response = await service.fetch(new Request(`${ISSUER}/auth/token?${query}`))
    expect(response.headers.get('allow')).toBe('POST')
    await expectError(response, 405, 'invalid_request', 'parameters in the URL are not allowed for this client; send a POST form body')
  })

  it('accepts GET with URL parameters when the policy has allowUrlParameters', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').allowUrlParameters = true))
    const query = new URLSearchParams({ ...CC, ...creds('orders-app') })
    const body = await expectToken(await service.fetch(new Request(`${ISSUER}/auth/token?${query}`)))
    expect(body.expires_in).toBe(300)
  })

  it('rejects a duplicate URL parameter on GET too', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').allowUrlParameters = true))
    const response = await service.fetch(new Request(`${ISSUER}/auth/token?grant_type=client_credentials&grant_type=password&client_id=orders-app&client_secret=${SECRETS.orders}`))
    await expectError(response, 400, 'invalid_request', 'the grant_type parameter is included more than once')
  })

  it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'])('answers %s on the token endpoint with 405 and Allow: POST', async (method) => {
    const { service } = makeService()
    const response = await service.fetch(new Request(`${ISSUER}/auth/token`, { method }))
    expect(response.headers.get('allow')).toBe('POST')
    await expectError(response, 405, 'invalid_request', 'the method must be POST')
  })

  it('answers POST on the well-known documents with 405 and Allow: GET, HEAD', async () => {
    const { service } = makeService()
    for (const path of ['/auth/.well-known/jwks.json', '/credential/.well-known/oauth-authorization-server']) {
      const response = await post(service, path, { ...CC })
      expect(response.headers.get('allow')).toBe('GET, HEAD')
      await expectError(response, 405, 'invalid_request', 'the method must be GET')
    }
  })
})

describe('parameters and body size', () => {
  it('rejects a parameter sent twice (RFC 6749 §3.1) even when the values are equal', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', `grant_type=client_credentials&client_id=orders-app&client_id=orders-app&client_secret=${SECRETS.orders}`)
    await expectError(response, 400, 'invalid_request', 'the client_id parameter is included more than once')
  })

  // Was a bug (fixed in f5596f0): the name was quoted with `"` and echoed verbatim, outside the
  // RFC 6749 §5.2 error_description character set (%x20-21 / %x23-5B / %x5D-7E).
  it('keeps the duplicate-parameter error_description within the RFC 6749 §5.2 character set', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', `grant_type=client_credentials&client_id=orders-app&client_id=orders-app&client_secret=${SECRETS.orders}`)
    await expectError(response, 400, 'invalid_request')
  })

  // Was a bug (fixed in f5596f0): a non-ASCII parameter name was echoed into error_description.
  it('does not echo a non-ASCII duplicate parameter name into error_description', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', `%C3%A9t%C3%A9=1&%C3%A9t%C3%A9=2&grant_type=client_credentials&${new URLSearchParams(creds('orders-app'))}`)
    await expectError(response, 400, 'invalid_request', 'a parameter is included more than once')
  })

  it('treats an empty parameter as absent', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', `grant_type=&client_id=orders-app&client_secret=${SECRETS.orders}`)
    await expectError(response, 400, 'invalid_request', 'the grant_type parameter is required')
  })

  it('refuses a body over the default 16 KiB limit with 413 (declared Content-Length)', async () => {
    const { service } = makeService()
    const body = `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}&pad=${'x'.repeat(16 * 1024)}`
    const request = formRequest('/auth/token', body, { headers: { 'content-length': String(new TextEncoder().encode(body).byteLength) } })
    await expectError(await service.fetch(request), 413, 'invalid_request', 'the request body exceeds 16384 bytes')
  })

  it('refuses a declared Content-Length over the limit before reading anything', async () => {
    const { service } = makeService()
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new TextEncoder().encode('a=b&'))
      },
    })
    const request = new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: { 'content-type': FORM, 'content-length': '20000' }, body: stream, duplex: 'half' } as RequestInit)
    await expectError(await service.fetch(request), 413, 'invalid_request', 'the request body exceeds 16384 bytes')
    expect(pulled).toBeLessThanOrEqual(1)
  })

  /** A form request streaming `kib` KiB (1 KiB per pull) that counts how much of it was pulled. */
  function streamedForm(kib: number, headers: Record<string, string> = {}) {
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(1024))
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > kib) controller.close()
        else controller.enqueue(chunk)
      },
    })
    const request = new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body: stream, duplex: 'half' } as RequestInit)
    return { request, pulled: () => pulled }
  }

  it('refuses a streamed body without Content-Length once it passes the limit (and stops reading)', async () => {
    const { service } = makeService()
    const { request, pulled } = streamedForm(1000)
    expect(request.headers.get('content-length')).toBeNull()
    await expectError(await service.fetch(request), 413, 'invalid_request', 'the request body exceeds 16384 bytes')
    expect(pulled()).toBeLessThan(40)
  })

  it('stops reading a body that runs past a small declared Content-Length (the header is not trusted)', async () => {
    const { service } = makeService()
    const { request, pulled } = streamedForm(50_000, { 'content-length': '10' }) // 50 MiB behind a 10-byte claim
    await expectError(await service.fetch(request), 413, 'invalid_request', 'the request body exceeds 16384 bytes')
    expect(pulled()).toBeLessThan(40)
  })

  it('accepts a body of exactly the limit, and honours a configured maxBodyBytes', async () => {
    const { service } = makeService((c) => void (c.environment.maxBodyBytes = 512))
    const base = `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}&pad=`
    await expectToken(await post(service, '/auth/token', base + 'x'.repeat(512 - base.length)))
    await expectError(await post(service, '/auth/token', base + 'x'.repeat(513 - base.length)), 413, 'invalid_request', 'the request body exceeds 512 bytes')
  })
})

describe('client authentication', () => {
  it('accepts client_secret_basic', async () => {
    const { service } = makeService()
    await expectToken(await post(service, '/auth/token', CC, { headers: { authorization: basic('orders-app', SECRETS.orders) } }))
  })

  it('accepts the Basic scheme name in any case', async () => {
    const { service } = makeService()
    const value = basic('orders-app', SECRETS.orders).slice('Basic '.length)
    for (const scheme of ['basic', 'BASIC', 'bAsIc']) {
      await expectToken(await post(service, '/auth/token', CC, { headers: { authorization: `${scheme} ${value}` } }))
    }
  })

  it('accepts client_secret_post', async () => {
    const { service } = makeService()
    await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
  })

  it('refuses Basic and body credentials together with 400 invalid_request', async () => {
    const { service } = makeService()
    const expected = 'client credentials must be sent either in the Authorization header or in the body, not both'
    await expectError(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }, { headers: { authorization: basic('orders-app', SECRETS.orders) } }), 400, 'invalid_request', expected)
    // A body client_id alone alongside Basic is "both" as well.
    await expectError(await post(service, '/auth/token', { ...CC, client_id: 'orders-app' }, { headers: { authorization: basic('orders-app', SECRETS.orders) } }), 400, 'invalid_request', expected)
  })

  it.each([
    ['bad base64', 'Basic !!!not-base64!!!'],
    ['base64 without a colon', rawBasic('orders-app')],
    ['an empty client id', rawBasic(`:${SECRETS.orders}`)],
    ['an empty value', 'Basic'],
    ['only spaces', 'Basic    '],
    ['invalid UTF-8', `Basic ${btoa('\xff\xfe:\xff')}`],
    ['a broken % escape', rawBasic('orders-app:%E0%A4%A')],
  ])('answers malformed Basic (%s) with 401 invalid_client and a Basic challenge', async (_label, authorization) => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', CC, { headers: { authorization } })
    expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/auth'))
    await expectError(response, 401, 'invalid_client', 'malformed Basic authorization header')
  })

  it('decodes form-encoded Basic credentials (RFC 6749 §2.3.1: %3A and + in the secret)', async () => {
    const { service } = makeService((c) => {
      c.proxies[0]!.clientSecret = { env: 'ODD_SECRET' }
    }, { env: { ODD_SECRET: 'with:colon and+plus%' } })
    // Encoded: colon → %3A, space → +, plus → %2B, % → %25.
    await expectToken(await post(service, '/auth/token', CC, { headers: { authorization: basic('orders-app', 'with:colon and+plus%') } }))
    expect(basic('orders-app', 'with:colon and+plus%')).toBe(rawBasic('orders-app:with%3Acolon+and%2Bplus%25'))
  })

  it('ignores a Bearer Authorization header on the token endpoint and uses the body credentials', async () => {
    const { service } = makeService()
    await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }, { headers: { authorization: 'Bearer some.jwt.value' } }))
    const response = await post(service, '/auth/token', CC, { headers: { authorization: 'Bearer some.jwt.value' } })
    expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/auth'))
    await expectError(response, 401, 'invalid_client', 'client authentication is required')
  })

  it('gives an unknown client and a wrong secret the same 401 body, echoing neither the secret nor the id', async () => {
    const { service } = makeService()
    const unknown = await post(service, '/auth/token', { ...CC, client_id: 'no-such-client', client_secret: 'guess-secret-111' })
    const wrong = await post(service, '/auth/token', { ...CC, client_id: 'orders-app', client_secret: 'guess-secret-111' })
    const unknownBasic = await post(service, '/auth/token', CC, { headers: { authorization: basic('no-such-client', 'guess-secret-111') } })
    const wrongBasic = await post(service, '/auth/token', CC, { headers: { authorization: basic('orders-app', 'guess-secret-111') } })
    const texts: string[] = []
    for (const response of [unknown, wrong, unknownBasic, wrongBasic]) {
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/auth'))
      const text = await response.clone().text()
      texts.push(text)
      await expectError(response, 401, 'invalid_client', 'client authentication failed')
      expect(text).not.toContain('guess-secret-111')
      expect(text).not.toContain('no-such-client')
      expect(text).not.toContain('orders-app')
    }
    expect(new Set(texts).size).toBe(1)
  })

  it('never echoes the secret of a known client in any error body', async () => {
    const { service } = makeService()
    const responses = [
      await post(service, '/auth/token', { grant_type: 'nope', ...creds('orders-app') }),
      await post(service, '/auth/token', { ...creds('orders-app') }),
      await post(service, '/auth/token', { grant_type: 'password', ...creds('orders-app') }),
      await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: 'wrong-pass', ...creds('orders-app') }),
      await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: 'forged-refresh-token', ...creds('orders-app') }),
      await post(service, '/auth/token', { ...CC, scope: 'admin', ...creds('orders-app') }),
      await post(service, '/credential/token', { ...CC, ...creds('orders-app') }),
      await post(service, '/auth/jwt', { ...CC, ...creds('billing-app') }),
    ]
    for (const response of responses) {
      expect(response.status).toBeGreaterThanOrEqual(400)
      const text = await response.text()
      for (const secret of [SECRETS.orders, SECRETS.billing, 'wrong-pass', 'forged-refresh-token']) expect(text).not.toContain(secret)
    }
  })

  it('requires client authentication', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', CC)
    expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/auth'))
    await expectError(response, 401, 'invalid_client', 'client authentication is required')
  })
})

describe('grant types', () => {
  it('requires grant_type', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', creds('orders-app')), 400, 'invalid_request', 'the grant_type parameter is required')
  })

  it.each(['authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'CLIENT_CREDENTIALS', 'constructor', '__proto__'])('answers grant_type=%s with unsupported_grant_type', async (grantType) => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { grant_type: grantType, ...creds('orders-app') }), 400, 'unsupported_grant_type', 'the grant type is not supported')
  })

  it('answers a grant the policy does not enable with unauthorized_client', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: 'x', ...creds('shop-app') })
    await expectError(response, 400, 'unauthorized_client', 'the password grant is not enabled for this client')
    const cc = await post(service, '/auth/token', { ...CC, ...creds('spa-app', 'anything') })
    // spa-app has no secret: a secret for it fails client authentication before the grant check.
    await expectError(cc, 401, 'invalid_client', 'client authentication failed')
  })
})

describe('base paths', () => {
  it('refuses an ACL credential on /auth with 401 invalid_client', async () => {
    const { service } = makeService()
    const response = await post(service, '/auth/token', { ...CC, ...creds('acme') })
    expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/auth'))
    await expectError(response, 401, 'invalid_client', 'this client obtains tokens from /credential')
  })

  it('refuses a proxy key on /credential with 401 invalid_client', async () => {
    const { service } = makeService()
    const response = await post(service, '/credential/token', { ...CC, ...creds('orders-app') })
    expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/credential'))
    await expectError(response, 401, 'invalid_client', 'this client obtains tokens from /auth')
  })

  it('refuses /jwt for an opaque policy with 400', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/jwt', { ...CC, ...creds('billing-app') }), 400, 'invalid_request', 'this client is issued opaque tokens; use the token endpoint')
  })

  it('serves /jwt for a JWT policy', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/jwt', { ...CC, ...creds('orders-app') }))
    expect(body.access_token.split('.')).toHaveLength(3)
  })

  it.each(['/', '/auth', '/auth/', '/auth/token/', '/auth/tokens', '/oauth/token', '/auth/introspect-x', '/credential/jwt/regenerate/x', '/AUTH/token', '/auth/%74oken', '/auth/.well-known/openid-configuration'])(
    'answers %s with 404',
    async (path) => {
      const { service } = makeService()
      await expectError(await post(service, path, { ...CC, ...creds('orders-app') }), 404, 'invalid_request', 'no such endpoint')
    },
  )

  it('serves the endpoints under environment.basePath only', async () => {
    const { service } = makeService((c) => void (c.environment.basePath = '/oauth'))
    await expectToken(await post(service, '/oauth/auth/token', { ...CC, ...creds('orders-app') }))
    await expectError(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }), 404, 'invalid_request', 'no such endpoint')
    await expectError(await post(service, '/oauthx/auth/token', { ...CC, ...creds('orders-app') }), 404, 'invalid_request', 'no such endpoint')
  })
})

describe('public clients', () => {
  const password = { grant_type: 'password', username: 'alice', password: 'alice-password-1' }

  it.each([
    ['no secret', { client_id: 'spa-app' }],
    ['the legacy secret "-"', { client_id: 'spa-app', client_secret: '-' }],
    ['an empty secret', { client_id: 'spa-app', client_secret: '' }],
  ])('accepts %s for the password grant where publicClients is on', async (_label, client) => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...password, ...client }))
    expect(typeof body.refresh_token).toBe('string')
  })

  it('accepts a public client with Basic and an empty or "-" secret', async () => {
    const { service } = makeService()
    await expectToken(await post(service, '/auth/token', password, { headers: { authorization: rawBasic('spa-app:') } }))
    await expectToken(await post(service, '/auth/token', password, { headers: { authorization: rawBasic('spa-app:-') } }))
  })

  it('accepts a public client for the refresh grant', async () => {
    const { service } = makeService()
    const first = await expectToken(await post(service, '/auth/token', { ...password, client_id: 'spa-app' }))
    await expectToken(await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: 'spa-app' }))
  })

  it('refuses a public client for client_credentials even where publicClients is on', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { ...CC, client_id: 'spa-app' }), 401, 'invalid_client', 'client authentication failed')
    await expectError(await post(service, '/auth/token', { client_id: 'spa-app' }), 401, 'invalid_client', 'client authentication failed')
  })

  it('refuses a missing secret where publicClients is off, with the same body as an unknown client', async () => {
    const { service } = makeService()
    const known = await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: 'alice-password-1', client_id: 'orders-app' })
    const unknown = await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: 'alice-password-1', client_id: 'nobody' })
    const dash = await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: 'alice-password-1', client_id: 'orders-app', client_secret: '-' })
    const a = await expectError(known, 401, 'invalid_client', 'client authentication failed')
    const b = await expectError(unknown, 401, 'invalid_client', 'client authentication failed')
    const c = await expectError(dash, 401, 'invalid_client', 'client authentication failed')
    expect(a).toEqual(b)
    expect(a).toEqual(c)
  })

  it('refuses a public client on the wrong base path', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/credential/token', { ...password, client_id: 'spa-app' }), 401, 'invalid_client', 'client authentication failed')
  })

  // Was a bug (fixed in f5596f0): authenticateClient returned a public client before checking
  // `enabled` / `expiresAt`, so a disabled (or expired) ACL credential without a secret got tokens.
  /** A password grant of the public ACL credential `kiosk` (its user's password is acme's), with `extra` set on it. */
  function kioskPasswordGrant(extra: Record<string, unknown>): Promise<Response> {
    const { service } = makeService((c) => {
      c.credentials.push({
        clientId: 'kiosk',
        ...extra,
        username: 'kiosk-user',
        passwordHash: c.credentials[0]!.passwordHash,
        roles: [],
        grants: [{ proxy: 'orders' }],
        tokenPolicy: { management: 'acl', grants: ['password'], publicClients: true },
      })
    })
    return post(service, '/credential/token', { grant_type: 'password', username: 'kiosk-user', password: 'acme-service-user-3', client_id: 'kiosk' })
  }

  it('refuses a disabled public ACL credential', async () => {
    const response = await kioskPasswordGrant({ enabled: false })
    await expectError(response, 401, 'invalid_client', 'the client is disabled')
  })

  it('refuses an expired public ACL credential', async () => {
    const response = await kioskPasswordGrant({ expiresAt: '2025-01-01T00:00:00Z' })
    await expectError(response, 401, 'invalid_client', 'the client has expired')
  })
})

describe('ACL credential state', () => {
  it('refuses a disabled or expired credential with a secret (401 invalid_client)', async () => {
    const { service } = makeService((c) => {
      c.credentials[0]!.enabled = false
      c.credentials[1]!.expiresAt = '2025-12-31T23:59:59Z'
    })
    await expectError(await post(service, '/credential/token', { ...CC, ...creds('acme') }), 401, 'invalid_client', 'the client is disabled')
    await expectError(await post(service, '/credential/token', { ...CC, ...creds('globex') }), 401, 'invalid_client', 'the client has expired')
  })

  describe('IP allow-list', () => {
    const aclRequest = (headers: Record<string, string> = {}) => formRequest('/credential/token', { ...CC, ...creds('acme') }, { headers })
    const allowList = (c: TestConfig) => void (c.credentials[0]!.ipAllowList = ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'])

    it.each(['10.1.2.3', '::ffff:10.1.2.3', '2001:db8::42', '192.0.2.7'])('accepts a peer address on the list (%s)', async (remoteAddress) => {
      const { service } = makeService(allowList)
      await expectToken(await service.fetch(aclRequest(), { remoteAddress }))
    })

    it.each([['192.0.2.8'], ['11.0.0.1'], ['2001:db9::1'], [undefined]])('refuses a peer address not on the list (%s)', async (remoteAddress) => {
      const { service } = makeService(allowList)
      const response = await service.fetch(aclRequest(), remoteAddress === undefined ? undefined : { remoteAddress })
      expect(response.headers.get('www-authenticate')).toBe(basicChallenge('/credential'))
      await expectError(response, 401, 'invalid_client', 'the client may not obtain tokens from this address')
    })

    it('does not trust X-Forwarded-For without client-IP settings', async () => {
      const { service } = makeService(allowList)
      const response = await service.fetch(aclRequest({ 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' }), { remoteAddress: '198.51.100.1' })
      await expectError(response, 401, 'invalid_client', 'the client may not obtain tokens from this address')
    })

    it('says nothing about the address to a caller with a wrong secret', async () => {
      const { service } = makeService(allowList)
      const response = await service.fetch(formRequest('/credential/token', { ...CC, ...creds('acme', 'wrong-secret') }), { remoteAddress: '198.51.100.1' })
      await expectError(response, 401, 'invalid_client', 'client authentication failed')
    })
  })
})
