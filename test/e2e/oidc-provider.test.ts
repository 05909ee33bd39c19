/**
 * Interop: the token client against `oidc-provider`, an authorization server we did not write,
 * started in the test on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'
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
let server: Server
let issuer: string
let tokenRequests = 0

beforeAll(async () => {
  server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [{ ...CLIENT, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'api:read api:write' }],
    scopes: ['api:read', 'api:write'],
    features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, revocation: { enabled: true }, devInteractions: { enabled: false } },
    ttl: { ClientCredentials: 2 },
  })
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
