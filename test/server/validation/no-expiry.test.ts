import { describe, expect, it } from 'vitest'
import { accepted, activeKey, apiRequest, ccToken, expectChallenge, makeService, ordersClaims, policyOf, refused, signRaw, T0 } from './_helpers.js'

describe('JWTs without exp', () => {
  it('are refused where no policy issues never-expiring tokens', async () => {
    const { service, store } = makeService()
    const key = await activeKey(service, store)
    const claims = ordersClaims(T0)
    delete claims.exp
    const token = await signRaw(key.privateKey, { alg: 'RS256', kid: key.kid, typ: 'at+jwt' }, claims)
    await expectChallenge(await refused(service, 'orders', apiRequest(token)), 'orders', 'invalid_token', 'the access token has no expiry')
  })

  it('are accepted where the policy is neverExpires', async () => {
    const { service } = makeService((c) => {
      policyOf(c, 'orders').neverExpires = true
      policyOf(c, 'orders').refresh = { enabled: false }
    })
    const body = await ccToken(service, 'orders-app')
    expect(body.expires_in).toBeUndefined()
    await accepted(service, 'orders', apiRequest(body.access_token))
  })
})
