/**
 * ACL mode at the guard (SPEC §4): the live credential/grant checks (enabled, unexpired, granted,
 * grant unexpired, method allowed) and the credential's IP allow-list with the proxy's client-IP
 * (X-Forwarded-For) settings.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../../src/server/index.js'
import type { TestConfig } from './_helpers.js'
import { accepted, apiRequest, ccToken, expectChallenge, expectError, ISSUER, makeACLService, refused, T0, testClock } from './_helpers.js'

const PAYMENTS = '/apigateway/payments/charges'
const NOT_GRANTED = 'the client is not granted this API'

function acme(config: TestConfig) {
  return config.credentials.find((c) => c.clientId === 'acme')!
}

function grantOf(config: TestConfig, target: { proxy?: string; group?: string }) {
  const grants = acme(config).grants as Array<Record<string, unknown>>
  return grants.find((g) => (target.proxy !== undefined ? g.proxy === target.proxy : g.group === target.group))!
}

/** Two services on one store and one clock: `before` issues, `after` is the same gateway after a config change. */
function changedConfig(change: (config: TestConfig) => void, clock = testClock()) {
  const store = createMemoryStore()
  const before = makeACLService(undefined, { store, clock })
  const after = makeACLService(change, { store, clock })
  return { issuer: before.service, service: after.service, clock }
}

describe('ACL: live credential and grant checks', () => {
  it('accepts a granted credential at an ACL-managed proxy and at a proxy of a granted group', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    const principal = await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    expect(principal).toMatchObject({ subject: 'acme', clientId: 'acme', kind: 'jwt' })
    await accepted(service, 'ledger', apiRequest(access_token, { path: '/apigateway/ledger/x' }))
  })

  it('refuses the token of a credential disabled after issuance', async () => {
    const { issuer, service } = changedConfig((c) => void (acme(c).enabled = false))
    const { access_token } = await ccToken(issuer, 'acme')
    await accepted(issuer, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', 'the client is disabled')
  })

  it('refuses the token of a credential removed after issuance', async () => {
    const { issuer, service } = changedConfig((c) => {
      c.credentials = c.credentials.filter((x) => x.clientId !== 'acme')
    })
    const { access_token } = await ccToken(issuer, 'acme')
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', 'the client no longer exists')
  })

  it('refuses the token of a credential that expired while the token was still valid', async () => {
    const clock = testClock()
    const { service } = makeACLService((c) => void (acme(c).expiresAt = new Date(T0 + 10 * 60_000).toISOString()), { clock })
    const { access_token } = await ccToken(service, 'acme')
    clock.advance(9 * 60_000)
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    clock.advance(60_000)
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', 'the client has expired')
  })

  it('refuses once the grant has expired, while another live grant still passes', async () => {
    const clock = testClock()
    const { service } = makeACLService((c) => void (grantOf(c, { proxy: 'payments' }).expiresAt = new Date(T0 + 10 * 60_000).toISOString()), { clock })
    const { access_token } = await ccToken(service, 'acme')
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    clock.advance(10 * 60_000)
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', NOT_GRANTED)
    await accepted(service, 'ledger', apiRequest(access_token, { path: '/apigateway/ledger/x' }))
  })

  it('refuses a cached JWT once its grant has expired (the live check runs after the cache)', async () => {
    const clock = testClock(Date.now())
    const { service } = makeACLService((c) => void (grantOf(c, { proxy: 'payments' }).expiresAt = new Date(clock.now() + 60_000).toISOString()), { clock })
    const { access_token } = await ccToken(service, 'acme')
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    expect(service.stats().jwt.hits).toBe(1)
    clock.advance(60_000)
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', NOT_GRANTED)
  })

  it('refuses once the grant is revoked (config change)', async () => {
    const { issuer, service } = changedConfig((c) => {
      acme(c).grants = (acme(c).grants as Array<Record<string, unknown>>).filter((g) => g.proxy !== 'payments')
    })
    const { access_token } = await ccToken(issuer, 'acme')
    await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: PAYMENTS })), 'payments', 'invalid_token', NOT_GRANTED)
    await accepted(service, 'ledger', apiRequest(access_token, { path: '/apigateway/ledger/x' }))
  })

  it('refuses a disallowed method (case-insensitive in config) and accepts the others', async () => {
    const { service } = makeACLService((c) => void (grantOf(c, { proxy: 'payments' }).disallowedMethods = ['delete', 'POST']))
    const { access_token } = await ccToken(service, 'acme')
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS, method: 'PUT', body: '{}' }))
    for (const method of ['DELETE', 'POST']) {
      const request = apiRequest(access_token, { path: PAYMENTS, method, ...(method === 'POST' ? { body: '{}' } : {}) })
      await expectChallenge(await refused(service, 'payments', request), 'payments', 'invalid_token', 'the method is not allowed for this client')
    }
  })

  // Regression: the guard once took the management mode from the member proxy's own (default
  // `policy`) token policy only, so group grants were useless there (found by this suite, fixed by the lead).
  it('accepts a granted ACL token at a member of an ACL-managed group that has no token policy of its own', async () => {
    const { service } = makeACLService((c) => void c.proxies.push({ name: 'journal', group: 'vault' }))
    const { access_token } = await ccToken(service, 'acme')
    await accepted(service, 'journal', apiRequest(access_token, { path: '/apigateway/journal/x' }))
  })

  it('refuses an ACL token at an ACL-managed proxy the credential was never granted', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme')
    await expectChallenge(await refused(service, 'archive', apiRequest(access_token, { path: '/apigateway/archive/x' })), 'archive', 'invalid_token', 'the access token aud claim is not valid here')
  })

  it('narrows the audience with an RFC 8707 resource parameter', async () => {
    const { service } = makeACLService()
    const { access_token } = await ccToken(service, 'acme', { resource: `${ISSUER}/apigateway/payments` })
    await accepted(service, 'payments', apiRequest(access_token, { path: PAYMENTS }))
    await expectChallenge(await refused(service, 'ledger', apiRequest(access_token, { path: '/apigateway/ledger/x' })), 'ledger', 'invalid_token', 'the access token aud claim is not valid here')
  })

  it('applies the live checks to opaque ACL tokens too', async () => {
    const { issuer, service } = changedConfig((c) => void (c.credentials.find((x) => x.clientId === 'globex')!.enabled = false))
    const { access_token } = await ccToken(issuer, 'globex')
    await accepted(issuer, 'archive', apiRequest(access_token, { path: '/apigateway/archive/x' }))
    await expectChallenge(await refused(service, 'archive', apiRequest(access_token, { path: '/apigateway/archive/x' })), 'archive', 'invalid_token', 'the client is disabled')
  })
})

describe('ACL: IP allow-list', () => {
  const ALLOW = ['192.0.2.10', '198.51.100.0/24', '2001:db8:1::/48', '::1']
  const FROM_HERE = 'the access token may not be used from this address'

  async function setup(edit?: (config: TestConfig) => void) {
    const t = makeACLService((c) => {
      acme(c).ipAllowList = ALLOW
      edit?.(c)
    })
    const { access_token } = await ccToken(t.service, 'acme', {}, { remoteAddress: '192.0.2.10' })
    return { ...t, token: access_token }
  }

  it('refuses to issue a token to a caller outside the allow-list (token endpoint)', async () => {
    const { service } = await setup()
    const response = await service.fetch(
      new Request(`${ISSUER}/credential/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'acme', client_secret: 'acme-credential-secret-Lr6tV2yN8oGi' }).toString(),
      }),
      { remoteAddress: '203.0.113.5' },
    )
    await expectError(response, 401, 'invalid_client', 'the client may not obtain tokens from this address')
  })

  it('accepts v4 addresses, v4 CIDR members, v6 CIDR members, IPv4-mapped and differently written v6 addresses', async () => {
    const { service, token } = await setup()
    for (const ip of ['192.0.2.10', '::ffff:192.0.2.10', '198.51.100.0', '198.51.100.255', '2001:db8:1::1', '2001:0DB8:0001:ffff::abcd', '::1', '0:0:0:0:0:0:0:1']) {
      await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS }), ip)
    }
  })

  it('refuses addresses outside the list and an unknown address', async () => {
    const { service, token } = await setup()
    for (const ip of ['192.0.2.11', '198.51.101.1', '2001:db8:2::1', '::2', '10.0.0.1', undefined]) {
      await expectChallenge(await refused(service, 'payments', apiRequest(token, { path: PAYMENTS }), ip), 'payments', 'invalid_token', FROM_HERE)
    }
  })

  it('ignores X-Forwarded-For when the proxy has no client-IP settings (the peer decides)', async () => {
    const { service, token } = await setup()
    const spoofed = apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '192.0.2.10' } })
    await expectChallenge(await refused(service, 'payments', spoofed, '203.0.113.5'), 'payments', 'invalid_token', FROM_HERE)
  })

  it('does not let a spoofed X-Forwarded-For from an untrusted peer bypass the list (trustedProxies)', async () => {
    const { service, token } = await setup((c) => void (c.proxies.find((p) => p.name === 'payments')!.clientIP = { trustedProxies: ['10.0.0.0/8'] }))
    const spoofed = apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '192.0.2.10' } })
    await expectChallenge(await refused(service, 'payments', spoofed, '203.0.113.5'), 'payments', 'invalid_token', FROM_HERE)
  })

  it('accepts the same header through a trusted peer, walking past trusted hops', async () => {
    const { service, token } = await setup((c) => void (c.proxies.find((p) => p.name === 'payments')!.clientIP = { trustedProxies: ['10.0.0.0/8'] }))
    await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '192.0.2.10' } }), '10.1.2.3')
    await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '203.0.113.99, 192.0.2.10, 10.9.9.9' } }), '10.1.2.3')
    // A spoofed left-most entry does not help: the right-most untrusted entry is the client.
    const pushed = apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '192.0.2.10, 203.0.113.99' } })
    await expectChallenge(await refused(service, 'payments', pushed, '10.1.2.3'), 'payments', 'invalid_token', FROM_HERE)
  })

  it('uses the group client-IP settings for a proxy of the group without its own', async () => {
    const { service, token } = await setup((c) => void (c.groups.find((g) => g.name === 'vault')!.clientIP = { trustedProxies: ['10.0.0.0/8'] }))
    await accepted(service, 'ledger', apiRequest(token, { path: '/apigateway/ledger/x', headers: { 'x-forwarded-for': '192.0.2.10' } }), '10.1.2.3')
    const spoofed = apiRequest(token, { path: '/apigateway/ledger/x', headers: { 'x-forwarded-for': '192.0.2.10' } })
    await expectChallenge(await refused(service, 'ledger', spoofed, '203.0.113.5'), 'ledger', 'invalid_token', FROM_HERE)
  })

  it('does not apply the environment client-IP settings to API traffic (SPEC §6), only to ACL token endpoints', async () => {
    const { service, token } = await setup((c) => void (c.environment.clientIP = { trustedProxies: ['10.0.0.0/8'] }))
    const viaProxy = apiRequest(token, { path: PAYMENTS, headers: { 'x-forwarded-for': '192.0.2.10' } })
    await expectChallenge(await refused(service, 'payments', viaProxy, '10.1.2.3'), 'payments', 'invalid_token', FROM_HERE)
    // …while the token endpoint (ACL mode) honours them.
    const tokenRequest = (xff: string) =>
      new Request(`${ISSUER}/credential/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': xff },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'acme', client_secret: 'acme-credential-secret-Lr6tV2yN8oGi' }).toString(),
      })
    expect((await service.fetch(tokenRequest('192.0.2.10'), { remoteAddress: '10.1.2.3' })).status).toBe(200)
    await expectError(await service.fetch(tokenRequest('192.0.2.10'), { remoteAddress: '203.0.113.5' }), 401, 'invalid_client', 'the client may not obtain tokens from this address')
  })

  it('reads RFC 7239 Forwarded (v4 and bracketed v6) from a trusted peer', async () => {
    const { service, token } = await setup((c) => void (c.proxies.find((p) => p.name === 'payments')!.clientIP = { header: 'forwarded', trustedProxies: ['10.0.0.0/8'] }))
    await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { forwarded: 'for=192.0.2.10;proto=https' } }), '10.0.0.1')
    await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { forwarded: 'for="[2001:db8:1::7]:443"' } }), '10.0.0.1')
    await expectChallenge(await refused(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { forwarded: 'for=192.0.2.10' } }), '203.0.113.5'), 'payments', 'invalid_token', FROM_HERE)
    await expectChallenge(await refused(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { forwarded: 'for=unknown' } }), '10.0.0.1'), 'payments', 'invalid_token', FROM_HERE)
  })

  it('reads a custom header (X-Real-IP) from a trusted peer', async () => {
    const { service, token } = await setup((c) => void (c.proxies.find((p) => p.name === 'payments')!.clientIP = { header: 'X-Real-IP', trustedProxies: ['127.0.0.1'] }))
    await accepted(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { 'x-real-ip': '198.51.100.7', 'x-forwarded-for': '203.0.113.1' } }), '127.0.0.1')
    await expectChallenge(await refused(service, 'payments', apiRequest(token, { path: PAYMENTS, headers: { 'x-real-ip': '203.0.113.1' } }), '127.0.0.1'), 'payments', 'invalid_token', FROM_HERE)
  })
})
