/**
 * client_credentials and password grants, in policy mode (proxy and group keys) and ACL mode
 * (credentials with grants), and the scope rules.
 */
import { decodeJwt } from 'jose'
import { describe, expect, it, vi } from 'vitest'
import type { IdentitySource } from '../../../src/server/index.js'
import { AUD, creds, expectError, expectToken, makeService, PASSWORDS, policyOf, post, verifyJWT } from '../_fixtures.js'

const CC = { grant_type: 'client_credentials' }
const alice = { grant_type: 'password', username: 'alice', password: PASSWORDS.alice }

describe('client_credentials, policy mode', () => {
  it('issues a JWT for a proxy key: subject = client id, audience = the proxy', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(body.expires_in).toBe(300)
    expect(body.refresh_token).toEqual(expect.any(String))
    expect(body.scope).toBeUndefined()
    const { payload } = await verifyJWT(service, body.access_token)
    expect(payload).toMatchObject({ sub: 'orders-app', client_id: 'orders-app', aud: AUD.orders })
    expect(payload.scope).toBeUndefined()
  })

  it('issues a JWT for a group key with the group audience', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('shop-app') }))
    expect(body.refresh_token).toBeUndefined()
    const { payload } = await verifyJWT(service, body.access_token)
    expect(payload).toMatchObject({ sub: 'shop-app', client_id: 'shop-app', aud: AUD.shop })
  })

  it('uses an explicit proxy audience when configured', async () => {
    const { service } = makeService((c) => void (c.proxies[0]!.audience = 'urn:example:orders'))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(decodeJwt(body.access_token).aud).toBe('urn:example:orders')
  })

  it('grants requested scopes from allowedScopes and returns them', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'orders:write orders:read', ...creds('orders-app') }))
    expect(body.scope).toBe('orders:write orders:read')
    expect(decodeJwt(body.access_token).scope).toBe('orders:write orders:read')
  })

  it('grants no scope to a policy without allowedScopes (strict → invalid_scope)', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { ...CC, scope: 'anything', ...creds('shop-app') }), 400, 'invalid_scope', 'the requested scope exceeds what this client may be granted')
  })
})

describe('client_credentials, ACL mode', () => {
  it('issues a JWT for every granted proxy and group', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/credential/token', { ...CC, ...creds('acme') }))
    const { payload } = await verifyJWT(service, body.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ sub: 'acme', client_id: 'acme', aud: [AUD.orders, AUD.shop] })
  })

  it('narrows the audience with an RFC 8707 resource parameter', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/credential/token', { ...CC, resource: AUD.shop, ...creds('acme') }))
    expect(decodeJwt(body.access_token).aud).toBe(AUD.shop)
  })

  it('answers a resource that is not granted with invalid_target', async () => {
    const { service } = makeService()
    for (const resource of [AUD.billing, 'https://elsewhere.example.com/', 'not a uri']) {
      await expectError(await post(service, '/credential/token', { ...CC, resource, ...creds('acme') }), 400, 'invalid_target', 'the requested resource is not available to this client')
    }
  })

  it('ignores expired ACL grants, and refuses a credential with none left', async () => {
    const { service } = makeService((c) => {
      c.credentials[0]!.grants = [{ proxy: 'orders', expiresAt: '2025-06-01T00:00:00Z' }, { group: 'shop' }]
      c.credentials[1]!.grants = [{ proxy: 'billing', expiresAt: '2025-06-01T00:00:00Z' }]
    })
    const body = await expectToken(await post(service, '/credential/token', { ...CC, ...creds('acme') }))
    expect(decodeJwt(body.access_token).aud).toBe(AUD.shop)
    await expectError(await post(service, '/credential/token', { ...CC, resource: AUD.orders, ...creds('acme') }), 400, 'invalid_target')
    await expectError(await post(service, '/credential/token', { ...CC, ...creds('globex') }), 400, 'unauthorized_client', 'the client is not granted any API proxy')
  })

  it('grants the credential roles as scopes', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/credential/token', { ...CC, scope: 'shop:read', ...creds('acme') }))
    expect(body.scope).toBe('shop:read')
    await expectError(await post(service, '/credential/token', { ...CC, scope: 'orders:write', ...creds('acme') }), 400, 'invalid_scope')
  })

  it('issues opaque tokens with the environment credential policy', async () => {
    const { service } = makeService((c) => void (c.environment.credentialPolicy = { management: 'acl', format: 'opaque' }))
    const body = await expectToken(await post(service, '/credential/token', { ...CC, ...creds('globex') }))
    expect(body.access_token.split('.')).toHaveLength(1)
    expect(body.expires_in).toBe(3600)
  })
})

describe('password grant', () => {
  it('issues a token for a configured user (PBKDF2 hash): subject = username', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...alice, scope: 'orders:read', ...creds('orders-app') }))
    expect(body.scope).toBe('orders:read')
    const { payload } = await verifyJWT(service, body.access_token)
    expect(payload).toMatchObject({ sub: 'alice', client_id: 'orders-app', aud: AUD.orders, scope: 'orders:read' })
  })

  it('gives a wrong password and an unknown user the same invalid_grant body', async () => {
    const { service } = makeService()
    const wrong = await expectError(await post(service, '/auth/token', { ...alice, password: 'not-the-password', ...creds('orders-app') }), 400, 'invalid_grant', 'invalid username or password')
    const unknown = await expectError(await post(service, '/auth/token', { ...alice, username: 'mallory', ...creds('orders-app') }), 400, 'invalid_grant', 'invalid username or password')
    const otherUsersPassword = await expectError(await post(service, '/auth/token', { ...alice, username: 'bob', ...creds('orders-app') }), 400, 'invalid_grant')
    expect(wrong).toEqual(unknown)
    expect(wrong).toEqual(otherUsersPassword)
  })

  it.each([
    ['username', { grant_type: 'password', password: PASSWORDS.alice }],
    ['password', { grant_type: 'password', username: 'alice' }],
    ['both', { grant_type: 'password' }],
  ])('requires the %s parameter(s)', async (_label, params) => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { ...params, ...creds('orders-app') }), 400, 'invalid_request', 'the username and password parameters are required')
  })

  it('bounds the user roles by the proxy allowedScopes', async () => {
    const { service } = makeService()
    // alice holds billing:read, but orders only allows orders:* and profile.
    await expectError(await post(service, '/auth/token', { ...alice, scope: 'billing:read', ...creds('orders-app') }), 400, 'invalid_scope')
    // bob holds only orders:read.
    await expectError(await post(service, '/auth/token', { grant_type: 'password', username: 'bob', password: PASSWORDS.bob, scope: 'orders:write', ...creds('orders-app') }), 400, 'invalid_scope')
  })

  it('uses a custom identity source instead of the configured users', async () => {
    const identitySource = vi.fn<IdentitySource>(async (username, password) =>
      username === 'carol' && password === 'carol-pw' ? { subject: 'user-7f3a', roles: ['orders:read', 'profile'] } : null,
    )
    const { service } = makeService(undefined, { identitySource })
    const body = await expectToken(await post(service, '/auth/token', { grant_type: 'password', username: 'carol', password: 'carol-pw', scope: 'profile', ...creds('orders-app') }))
    expect(identitySource).toHaveBeenCalledWith('carol', 'carol-pw', { clientId: 'orders-app', mode: 'policy' })
    expect(decodeJwt(body.access_token)).toMatchObject({ sub: 'user-7f3a', scope: 'profile' })
    // Config users are not consulted any more.
    await expectError(await post(service, '/auth/token', { ...alice, ...creds('orders-app') }), 400, 'invalid_grant', 'invalid username or password')
  })

  it('uses the username as subject when the identity source gives none', async () => {
    const { service } = makeService(undefined, { identitySource: async () => ({}) })
    const body = await expectToken(await post(service, '/auth/token', { grant_type: 'password', username: 'dave', password: 'x', ...creds('orders-app') }))
    expect(decodeJwt(body.access_token).sub).toBe('dave')
  })

  it("checks an ACL credential's own username and password", async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/credential/token', { grant_type: 'password', username: 'acme-user', password: PASSWORDS.acmeUser, ...creds('acme') }))
    const { payload } = await verifyJWT(service, body.access_token, { base: '/credential' })
    expect(payload).toMatchObject({ sub: 'acme-user', client_id: 'acme', iss: 'https://gw.example.com/credential' })
    const wrongPassword = await expectError(await post(service, '/credential/token', { grant_type: 'password', username: 'acme-user', password: 'nope', ...creds('acme') }), 400, 'invalid_grant', 'invalid username or password')
    // A config user is not accepted for a credential that has its own.
    const configUser = await expectError(await post(service, '/credential/token', { ...alice, ...creds('acme') }), 400, 'invalid_grant', 'invalid username or password')
    expect(wrongPassword).toEqual(configUser)
  })

  it('intersects user roles with the credential roles in ACL mode (config users)', async () => {
    const { service } = makeService((c) => {
      c.credentials[1]!.tokenPolicy = { management: 'acl', grants: ['password'], format: 'jwt' }
    })
    const body = await expectToken(await post(service, '/credential/token', { ...alice, scope: 'billing:read', ...creds('globex') }))
    expect(body.scope).toBe('billing:read')
    // alice holds orders:read but globex does not.
    await expectError(await post(service, '/credential/token', { ...alice, scope: 'orders:read', ...creds('globex') }), 400, 'invalid_scope')
  })
})

describe('scope rules', () => {
  it('strict (default): refuses any scope that is not grantable', async () => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { ...CC, scope: 'orders:read admin', ...creds('orders-app') }), 400, 'invalid_scope', 'the requested scope exceeds what this client may be granted')
  })

  it('lenient: grants the grantable part and returns it', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').scopes = 'lenient'))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'admin orders:read', ...creds('orders-app') }))
    expect(body.scope).toBe('orders:read')
    expect(decodeJwt(body.access_token).scope).toBe('orders:read')
  })

  // Regression: lenient used to omit `scope` when nothing requested was grantable, which per
  // RFC 6749 §5.1 means "as requested".
  it('lenient: does not imply the requested scope when none of it is grantable', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').scopes = 'lenient'))
    const response = await post(service, '/auth/token', { ...CC, scope: 'admin', ...creds('orders-app') })
    if (response.status === 400) {
      await expectError(response, 400, 'invalid_scope')
      return
    }
    const body = await expectToken(response)
    expect(body).toHaveProperty('scope')
    expect(body.scope).not.toContain('admin')
  })

  it('ignore: says what was granted when nothing is grantable but a scope was requested', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'shop').scopes = 'ignore'))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'admin', ...creds('shop-app') }))
    expect(body).toHaveProperty('scope')
    expect(body.scope).not.toContain('admin')
    expect(decodeJwt(body.access_token)).not.toHaveProperty('scope')
  })

  it('ignore: grants every grantable scope whatever is requested', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').scopes = 'ignore'))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'admin', ...creds('orders-app') }))
    expect(body.scope).toBe('orders:read orders:write profile')
    const none = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(none.scope).toBe('orders:read orders:write profile')
  })

  it('scopeWhenAbsent: none (default) grants nothing, all grants every grantable scope', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'orders').scopeWhenAbsent = 'all'))
    const all = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(all.scope).toBe('orders:read orders:write profile')
    const user = await expectToken(await post(service, '/auth/token', { grant_type: 'password', username: 'bob', password: PASSWORDS.bob, ...creds('orders-app') }))
    expect(user.scope).toBe('orders:read')
    const { service: plain } = makeService()
    const none = await expectToken(await post(plain, '/auth/token', { ...CC, ...creds('orders-app') }))
    expect(none.scope).toBeUndefined()
  })

  it('de-duplicates requested scope tokens and tolerates extra spaces', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: ' orders:read  orders:read profile ', ...creds('orders-app') }))
    expect(body.scope).toBe('orders:read profile')
  })

  it.each(['orders:read "x"', 'back\\slash', 'tab\there', 'é'])('answers a malformed scope %j with invalid_scope', async (scope) => {
    const { service } = makeService()
    await expectError(await post(service, '/auth/token', { ...CC, scope, ...creds('orders-app') }), 400, 'invalid_scope', 'the scope parameter is malformed')
  })
})
