/**
 * Interop: the token client against `oidc-provider`, an authorization server we did not write,
 * started in the test on 127.0.0.1.
 *
 * oidc-provider has no password grant (it left OAuth 2.1); the test registers one through its
 * `registerGrantType()` extension point so that a refresh token can be obtained without a browser
 * login. Refreshing then runs through oidc-provider's own `refresh_token` grant, with rotation.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { errors } from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  clientSecretBasic,
  createTokenClient,
  introspectionRequest,
  processIntrospectionResponse,
  processRevocationResponse,
  revocationRequest,
} from '../../src/client/index.js'

const CLIENT = { client_id: 'interop-client', client_secret: 'interop-client-secret-0123456789' }
const USER_CLIENT = { client_id: 'interop-user-client', client_secret: 'interop-user-client-secret-012345' }
const USER = { username: 'alice', password: 'correct horse battery staple' }
let server: Server
let issuer: string
let tokenRequests = 0

beforeAll(async () => {
  server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [
      { ...CLIENT, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'api:read api:write' },
      { ...USER_CLIENT, grant_types: ['password', 'refresh_token'], redirect_uris: [], response_types: [], scope: 'api:read offline_access' },
    ],
    scopes: ['api:read', 'api:write', 'offline_access'],
    features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: false } },
    ttl: { ClientCredentials: 2, AccessToken: 2 },
    rotateRefreshToken: true,
    findAccount: (_ctx: unknown, sub: string) => (sub === USER.username ? { accountId: sub, claims: () => ({ sub }) } : undefined),
  })
  // RFC 6749 §4.3 on oidc-provider's models: a grant, an access token and a refresh token.
  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { username, password } = ctx.oidc.params
      if (username !== USER.username || password !== USER.password) throw new errors.InvalidGrant('wrong username or password')
      const clientId = ctx.oidc.client.clientId
      const grant = new provider.Grant({ accountId: username, clientId })
      grant.addOIDCScope('api:read offline_access')
      const grantId = await grant.save()
      const common = { accountId: username, client: ctx.oidc.client, grantId, gty: 'password', scope: 'api:read offline_access' }
      const accessToken = new provider.AccessToken(common)
      const refreshToken = new provider.RefreshToken({ ...common, rotations: 0, iiat: Math.floor(Date.now() / 1000) })
      ctx.body = { access_token: await accessToken.save(), token_type: 'Bearer', expires_in: accessToken.expiration, refresh_token: await refreshToken.save(), scope: 'api:read offline_access' }
    },
    ['username', 'password', 'scope'],
  )
  const callback = provider.callback()
  server.on('request', (req, res) => {
    if (req.url === '/token' && req.method === 'POST') tokenRequests++
    callback(req, res)
  })
})

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()))
})

describe('token client against oidc-provider', () => {
  it('obtains a token, serves it from the cache, and obtains a new one when it expires', async () => {
    const tokens = createTokenClient({ tokenEndpoint: `${issuer}/token`, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, grant: 'client_credentials', scope: 'api:read', refreshSkew: 500, jitter: 0, crossTab: false })
    const before = tokenRequests
    const first = await tokens.getToken()
    expect(first).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
    expect(first.expiresAt).toBeGreaterThan(Date.now())
    expect((await tokens.getToken()).access_token).toBe(first.access_token)
    expect(tokenRequests - before).toBe(1)

    await new Promise((resolve) => setTimeout(resolve, 1_700)) // 2 s tokens, refreshed 0.5 s early
    const second = await tokens.getToken()
    expect(second.access_token).not.toBe(first.access_token)
    expect(tokenRequests - before).toBe(2)
  })

  it('refreshes with the (rotated) refresh token through oidc-provider\'s refresh_token grant', async () => {
    const tokens = createTokenClient({ tokenEndpoint: `${issuer}/token`, clientId: USER_CLIENT.client_id, clientSecret: USER_CLIENT.client_secret, grant: { type: 'password', ...USER }, scope: 'api:read offline_access', refreshSkew: 500, jitter: 0, crossTab: false })
    const grants: string[] = []
    tokens.on('token', ({ grant }) => grants.push(`token:${grant}`))
    tokens.on('refresh', ({ grant }) => grants.push(`refresh:${grant}`))
    const as = { issuer, introspection_endpoint: `${issuer}/token/introspection` }
    const introspect = async (token: string) => processIntrospectionResponse(await fetch(await introspectionRequest(as, { client_id: USER_CLIENT.client_id }, clientSecretBasic(USER_CLIENT.client_secret), token)))

    const first = await tokens.getToken()
    expect(first).toMatchObject({ token_type: 'Bearer', scope: 'api:read offline_access' })
    expect(first).not.toHaveProperty('refresh_token') // kept inside the client
    expect(await introspect(first.access_token)).toMatchObject({ active: true, sub: USER.username })

    await new Promise((resolve) => setTimeout(resolve, 1_700)) // 2 s tokens, refreshed 0.5 s early
    const second = await tokens.getToken()
    expect(second.access_token).not.toBe(first.access_token)
    expect(await introspect(second.access_token)).toMatchObject({ active: true, sub: USER.username })

    // Had the client kept the first (now consumed) refresh token, oidc-provider would revoke the
    // grant and the client would fall back to the password grant: a second refresh proves rotation.
    await new Promise((resolve) => setTimeout(resolve, 1_700))
    const third = await tokens.getToken()
    expect(third.access_token).not.toBe(second.access_token)
    expect(await introspect(third.access_token)).toMatchObject({ active: true, sub: USER.username })
    expect(grants).toEqual(['token:password', 'token:refresh_token', 'refresh:refresh_token', 'token:refresh_token', 'refresh:refresh_token'])
  })

  it('introspects and revokes its token with the stateless layer', async () => {
    const tokens = createTokenClient({ tokenEndpoint: `${issuer}/token`, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, grant: 'client_credentials', scope: 'api:read', crossTab: false })
    const { access_token } = await tokens.getToken()
    const as = { issuer, introspection_endpoint: `${issuer}/token/introspection`, revocation_endpoint: `${issuer}/token/revocation` }
    const client = { client_id: CLIENT.client_id }
    const auth = clientSecretBasic(CLIENT.client_secret)
    const active = await processIntrospectionResponse(await fetch(await introspectionRequest(as, client, auth, access_token)))
    expect(active).toMatchObject({ active: true, client_id: CLIENT.client_id, scope: 'api:read' })
    await processRevocationResponse(await fetch(await revocationRequest(as, client, auth, access_token)))
    expect(await processIntrospectionResponse(await fetch(await introspectionRequest(as, client, auth, access_token)))).toEqual({ active: false })
  })

  it('surfaces the server error as a ResponseBodyError', async () => {
    const tokens = createTokenClient({ tokenEndpoint: `${issuer}/token`, clientId: CLIENT.client_id, clientSecret: 'wrong', grant: 'client_credentials', crossTab: false, retry: { limit: 0 } })
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_client', status: 401 })
  })
})
