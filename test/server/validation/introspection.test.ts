/**
 * RFC 7662 token introspection at `POST {base}/introspect`: HTTP Basic required, a client sees
 * only its own tokens, opaque access and refresh tokens, JWTs, inactive answers.
 */
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { basic, ccToken, creds, expectError, flakyStore, ISSUER, makeACLService, makeService, management, passwordToken, PASSWORDS, post, T0, testClock } from './_helpers.js'

const BASIC_AUTH = `Basic realm="${ISSUER}/auth", charset="UTF-8"`

async function expectIntrospection(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 200 })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  return JSON.parse(text) as Record<string, unknown>
}

describe('introspection: client authentication and request', () => {
  it('requires HTTP Basic: body credentials get 401 invalid_client with a Basic challenge', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    const response = await post(service, '/auth/introspect', { token: access_token, ...creds('billing-app') })
    await expectError(response, 401, 'invalid_client', 'HTTP Basic client authentication is required')
    expect(response.headers.get('www-authenticate')).toBe(BASIC_AUTH)
  })

  it('refuses no credentials and a wrong secret with 401 invalid_client', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    await expectError(await post(service, '/auth/introspect', { token: access_token }), 401, 'invalid_client')
    await expectError(await post(service, '/auth/introspect', { token: access_token }, { headers: { authorization: basic('billing-app', 'wrong-secret') } }), 401, 'invalid_client', 'client authentication failed')
  })

  it('refuses a missing token parameter with 400 invalid_request', async () => {
    const { service } = makeService()
    await expectError(await management(service, '/auth/introspect', 'billing-app', {}), 400, 'invalid_request', 'the token parameter is required')
  })

  it('refuses GET with 405', async () => {
    const { service } = makeService()
    const response = await service.fetch(new Request(`${ISSUER}/auth/introspect?token=x`))
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
  })

  it('refuses an ACL credential at /auth/introspect (and a proxy key at /credential/introspect)', async () => {
    const { service } = makeService()
    await expectError(await management(service, '/auth/introspect', 'acme', { token: 'x' }), 401, 'invalid_client')
    await expectError(await management(service, '/credential/introspect', 'billing-app', { token: 'x' }), 401, 'invalid_client')
  })
})

describe('introspection: opaque tokens', () => {
  it('describes an active client_credentials access token', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app', { scope: 'billing:read' })
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))).toEqual({
      active: true,
      client_id: 'billing-app',
      sub: 'billing-app',
      scope: 'billing:read',
      token_type: 'Bearer',
      iat: T0 / 1000,
      exp: T0 / 1000 + 600,
      aud: `${ISSUER}/apigateway/billing`,
      iss: `${ISSUER}/auth`,
    })
  })

  it('adds username for a password-grant token', async () => {
    const { service } = makeService()
    const { access_token } = await passwordToken(service, 'billing-app', 'alice', PASSWORDS.alice, { scope: 'billing:read' })
    const body = await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))
    expect(body).toMatchObject({ active: true, sub: 'alice', username: 'alice', client_id: 'billing-app', scope: 'billing:read' })
  })

  it('adds username for a password-grant JWT too', async () => {
    const { service } = makeService()
    const { access_token } = await passwordToken(service, 'orders-app', 'alice', PASSWORDS.alice)
    const body = await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: access_token }))
    expect(body).toMatchObject({ active: true, token_type: 'Bearer', sub: 'alice', username: 'alice', client_id: 'orders-app' })
  })

  it("answers { active: false } for another client's token, an unknown token, and says nothing more", async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: access_token }))).toEqual({ active: false })
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: 'gp_unknown' }))).toEqual({ active: false })
  })

  it('answers { active: false } once the token has expired', async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'billing-app')
    clock.advance(599_000)
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))).toMatchObject({ active: true })
    clock.advance(1_000)
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))).toEqual({ active: false })
  })

  it('answers { active: false } once the token has been revoked', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    expect((await management(service, '/auth/revoke', 'billing-app', { token: access_token })).status).toBe(200)
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))).toEqual({ active: false })
  })

  it('describes a refresh token with token_type_hint=refresh_token, and finds it without the hint', async () => {
    const { service } = makeService()
    const { refresh_token } = await passwordToken(service, 'billing-app', 'alice', PASSWORDS.alice, { scope: 'billing:read' })
    const variants: Array<Record<string, string>> = [{ token: refresh_token!, token_type_hint: 'refresh_token' }, { token: refresh_token! }, { token: refresh_token!, token_type_hint: 'access_token' }]
    for (const params of variants) {
      const body = await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', params))
      expect(body).toMatchObject({ active: true, client_id: 'billing-app', sub: 'alice', username: 'alice', scope: 'billing:read', iat: T0 / 1000, exp: T0 / 1000 + 3600, iss: `${ISSUER}/auth` })
    }
  })

  it('answers { active: false } for a consumed (rotated) refresh token and for another client', async () => {
    const { service } = makeService()
    const { refresh_token } = await ccToken(service, 'billing-app')
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))).toEqual({ active: false })
    expect((await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: refresh_token!, ...creds('billing-app') })).status).toBe(200)
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: refresh_token!, token_type_hint: 'refresh_token' }))).toEqual({ active: false })
  })

  it('answers 503 temporarily_unavailable when the store is down (never a false answer)', async () => {
    const flaky = flakyStore()
    const { service } = makeService(undefined, { store: flaky.store })
    const { access_token } = await ccToken(service, 'billing-app')
    flaky.setDown(true, ['findAccessToken', 'findRefreshToken'])
    await expectError(await management(service, '/auth/introspect', 'billing-app', { token: access_token }), 503, 'temporarily_unavailable')
  })
})

describe('introspection: JWTs', () => {
  it('describes an active JWT with its claims', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const claims = decodeJwt(access_token)
    const body = await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: access_token }))
    expect(body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      client_id: 'orders-app',
      sub: 'orders-app',
      scope: 'orders:read',
      aud: `${ISSUER}/apigateway/orders`,
      iss: `${ISSUER}/auth`,
      iat: T0 / 1000,
      exp: T0 / 1000 + 300,
      jti: claims.jti,
    })
  })

  it("answers { active: false } for another client's JWT and for an expired JWT", async () => {
    const clock = testClock()
    const { service } = makeService(undefined, { clock })
    const { access_token } = await ccToken(service, 'orders-app')
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token }))).toEqual({ active: false })
    clock.advance(300_000)
    expect(await expectIntrospection(await management(service, '/auth/introspect', 'orders-app', { token: access_token }))).toEqual({ active: false })
  })

  it('describes an ACL credential JWT at /credential/introspect with its custom claims, never secret metadata', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    const body = await expectIntrospection(await management(service, '/credential/introspect', 'acme', { token: access_token }))
    expect(body).toMatchObject({ active: true, client_id: 'acme', sub: 'acme', iss: `${ISSUER}/credential`, tenant: 'acme-corp' })
    expect(JSON.stringify(body)).not.toContain('metadata-secret-value-42')
    // globex cannot see acme's token.
    expect(await expectIntrospection(await management(service, '/credential/introspect', 'globex', { token: access_token }))).toEqual({ active: false })
  })

  // Regression (fixed): the JWT branch of introspect() builds `{ active: true, token_type: 'Bearer', ...payload }`,
  // so custom claims from credential metadata named `active` or `token_type` (not in
  // RESERVED_CLAIMS, src/server/token-endpoint/mint.ts) override the RFC 7662 members: a valid token
  // is reported inactive (or with a made-up token_type). The introspection members should win, or
  // those names should be reserved.
  it('keeps active and token_type authoritative whatever custom claims a JWT carries', async () => {
    const { service } = makeACLService((c) => {
      const acme = c.credentials.find((x) => x.clientId === 'acme')!
      ;(acme.metadata as unknown[]).push({ name: 'active', value: false, includeInJwt: true }, { name: 'token_type', value: 'mac', includeInJwt: true })
    })
    const { access_token } = await ccToken(service, 'acme')
    const body = await expectIntrospection(await management(service, '/credential/introspect', 'acme', { token: access_token }))
    expect(body).toMatchObject({ active: true, token_type: 'Bearer' })
  })
})

describe('introspection: hints', () => {
  it('finds an access token sent with token_type_hint=refresh_token', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'billing-app')
    const body = await expectIntrospection(await management(service, '/auth/introspect', 'billing-app', { token: access_token, token_type_hint: 'refresh_token' }))
    expect(body).toMatchObject({ active: true, token_type: 'Bearer', client_id: 'billing-app' })
  })

  it('describes an opaque ACL token with every granted audience', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'globex')
    const body = await expectIntrospection(await management(service, '/credential/introspect', 'globex', { token: access_token }))
    expect(body).toMatchObject({ active: true, client_id: 'globex', sub: 'globex', iss: `${ISSUER}/credential`, aud: [`${ISSUER}/apigateway/billing`, `${ISSUER}/apigateway/archive`] })
  })
})
