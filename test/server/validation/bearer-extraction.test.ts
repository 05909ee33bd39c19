/**
 * RFC 6750 §2 token extraction by the guard: Authorization header, the `access_token` query
 * parameter only when enabled, never both, malformed headers; and the §3 challenges.
 */
import { describe, expect, it } from 'vitest'
import { accepted, apiRequest, ccToken, challenge, expectChallenge, ISSUER, makeService, refused } from './_helpers.js'

describe('Bearer extraction', () => {
  it('accepts a token in the Authorization header', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app', { scope: 'orders:read' })
    const principal = await accepted(service, 'orders', apiRequest(access_token))
    expect(principal).toMatchObject({ subject: 'orders-app', clientId: 'orders-app', scopes: ['orders:read'], kind: 'jwt' })
  })

  it('accepts the scheme name in any case and extra spaces after it', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    await accepted(service, 'orders', apiRequest(null, { headers: { authorization: `bearer   ${access_token}` } }))
    await accepted(service, 'orders', apiRequest(null, { headers: { authorization: `BEARER ${access_token}` } }))
  })

  it('answers a request without a token with 401 and a realm-only challenge (RFC 6750 §3.1)', async () => {
    const { service } = makeService()
    await expectChallenge(await refused(service, 'orders', apiRequest(null)), 'orders')
  })

  it('treats another scheme as no Bearer token', async () => {
    const { service } = makeService()
    await expectChallenge(await refused(service, 'orders', apiRequest(null, { headers: { authorization: 'Basic b3JkZXJzOnNlY3JldA==' } })), 'orders')
  })

  it('uses the configured realm in the challenge and escapes quotes in it', async () => {
    const { service } = makeService()
    const result = await service.guard('orders', { realm: 'orders "api" \\ v2' })(apiRequest(null))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.response.headers.get('www-authenticate')).toBe('Bearer realm="orders \\"api\\" \\\\ v2"')
  })

  it('refuses a malformed Authorization header with 400 invalid_request', async () => {
    const { service } = makeService()
    for (const value of ['Bearer two words', 'Bearer tok"en', 'Bearer tök', 'Bearer a=b']) {
      await expectChallenge(await refused(service, 'orders', apiRequest(null, { headers: { authorization: value } })), 'orders', 'invalid_request', 'the Authorization header is malformed')
    }
  })

  it('ignores the access_token query parameter unless allowQueryToken is set', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const request = apiRequest(null, { path: `/apigateway/orders/items?access_token=${access_token}` })
    await expectChallenge(await refused(service, 'orders', request), 'orders')
  })

  it('accepts the access_token query parameter with allowQueryToken', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const result = await service.guard('orders', { allowQueryToken: true })(apiRequest(null, { path: `/apigateway/orders/items?access_token=${access_token}` }))
    expect(result.ok).toBe(true)
  })

  it('refuses a token sent both in the header and in the query with 400 invalid_request', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const result = await service.guard('orders', { allowQueryToken: true })(apiRequest(access_token, { path: `/apigateway/orders/items?access_token=${access_token}` }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'invalid_request', 'the access token must be sent by one method only')
  })

  it('refuses the access_token query parameter given twice', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const result = await service.guard('orders', { allowQueryToken: true })(apiRequest(null, { path: `/apigateway/orders/items?access_token=${access_token}&access_token=${access_token}` }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    await expectChallenge(result.response, 'orders', 'invalid_request', 'the access_token parameter is included more than once')
  })

  it('refuses an unknown token with 401 invalid_token and an exact challenge', async () => {
    const { service } = makeService()
    const response = await refused(service, 'orders', apiRequest('not-a-real-token'))
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(challenge('orders', 'invalid_token', 'the access token is invalid'))
    expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'the access token is invalid' })
  })

  it('throws at creation for an unknown proxy name', () => {
    const { service } = makeService()
    expect(() => service.guard('nope')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: '"proxyName" must name a configured proxy; "nope" is not one' }))
  })

  it('never echoes the token in the challenge or the body', async () => {
    const { service } = makeService()
    const { access_token } = await ccToken(service, 'orders-app')
    const tampered = `${access_token.slice(0, -4)}AAAA`
    const response = await refused(service, 'orders', apiRequest(tampered))
    expect(response.headers.get('www-authenticate')).not.toContain(tampered.slice(0, 20))
    expect(await response.text()).not.toContain(tampered.slice(0, 20))
    expect(ISSUER).toBeTruthy()
  })
})
