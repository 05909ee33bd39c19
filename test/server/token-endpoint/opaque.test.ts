/**
 * Opaque access tokens: random, prefixed, stored only as SHA-256 digests with their record
 * fields, persisted before the response, and `deletePrevious`.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../../src/server/index.js'
import { AUD, creds, digestOf, expectToken, makeService, PASSWORDS, policyOf, post, recordingStore, T0 } from '../_fixtures.js'

const CC = { grant_type: 'client_credentials' }

describe('opaque access tokens', () => {
  it('are 256-bit random base64url with the configured prefix', async () => {
    const { service } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(body.access_token).toMatch(/^gp_[A-Za-z0-9_-]{43}$/)
    expect(body.refresh_token).toMatch(/^gp_[A-Za-z0-9_-]{43}$/)
    expect(body.expires_in).toBe(600)
    const other = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(other.access_token).not.toBe(body.access_token)
  })

  it('have no prefix by default', async () => {
    const { service } = makeService((c) => void delete policyOf(c, 'billing').tokenPrefix)
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('are stored under their SHA-256 digest with every record field, before the response is sent', async () => {
    const { service, store } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { ...CC, scope: 'billing:read', ...creds('billing-app') }))
    const digest = await digestOf(body.access_token)
    const record = await store.findAccessToken(digest)
    expect(record).toEqual({
      digest,
      environment: 'test',
      clientId: 'billing-app',
      subject: 'billing-app',
      username: null,
      scope: 'billing:read',
      audience: [AUD.billing],
      binding: { kind: 'proxy', name: 'billing' },
      issuedAt: T0,
      expiresAt: T0 + 600_000,
      familyId: expect.any(String),
      revokedAt: null,
    })
    expect(await store.findAccessToken(body.access_token)).toBeNull()
    const refresh = await store.findRefreshToken(await digestOf(body.refresh_token!))
    expect(refresh).toMatchObject({ familyId: record!.familyId, accessDigest: digest, clientId: 'billing-app', format: 'opaque', refreshCount: 0, consumedAt: null, revokedAt: null, expiresAt: T0 + 3_600_000 })
  })

  it('record the user for the password grant', async () => {
    const { service, store } = makeService()
    const body = await expectToken(await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, scope: 'billing:read', ...creds('billing-app') }))
    expect(await store.findAccessToken(await digestOf(body.access_token))).toMatchObject({ subject: 'alice', username: 'alice', scope: 'billing:read', clientId: 'billing-app' })
  })

  it('have no family without refresh, and no expiry when never-expiring', async () => {
    const { service, store } = makeService((c) => Object.assign(policyOf(c, 'billing'), { neverExpires: true, refresh: { enabled: false } }))
    const body = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(body).not.toHaveProperty('expires_in')
    expect(body).not.toHaveProperty('refresh_token')
    expect(await store.findAccessToken(await digestOf(body.access_token))).toMatchObject({ expiresAt: null, familyId: null })
  })

  it('never reach the store in clear (neither access nor refresh token)', async () => {
    const { store, calls } = recordingStore(createMemoryStore())
    const { service } = makeService(undefined, { store })
    const first = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    const second = await expectToken(await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') }))
    expect(calls.map((c) => c.method)).toEqual(expect.arrayContaining(['issue', 'rotateRefreshToken']))
    const everything = calls.map((c) => c.args).join('\n')
    for (const token of [first.access_token, first.refresh_token!, second.access_token, second.refresh_token!]) {
      expect(everything).not.toContain(token)
      expect(everything).not.toContain(token.slice(3))
      expect(everything).toContain(await digestOf(token))
    }
  })

  it('record ACL tokens against the credential', async () => {
    const { service, store } = makeService((c) => void (c.environment.credentialPolicy = { management: 'acl', format: 'opaque' }))
    const body = await expectToken(await post(service, '/credential/token', { ...CC, ...creds('globex') }))
    expect(await store.findAccessToken(await digestOf(body.access_token))).toMatchObject({ binding: { kind: 'credential', name: 'globex' }, audience: [AUD.billing], familyId: null })
  })
})

describe('deletePrevious', () => {
  it('revokes the earlier token of the same client and subject', async () => {
    const { service, store, clock } = makeService((c) => void (policyOf(c, 'billing').deletePrevious = true))
    const first = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    const alice = await expectToken(await post(service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('billing-app') }))
    clock.advance(1000)
    const second = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(await store.findAccessToken(await digestOf(first.access_token))).toMatchObject({ revokedAt: T0 + 1000 })
    // Its refresh token goes with it.
    expect(await store.findRefreshToken(await digestOf(first.refresh_token!))).toMatchObject({ revokedAt: T0 + 1000 })
    expect(await store.findAccessToken(await digestOf(second.access_token))).toMatchObject({ revokedAt: null })
    // Another subject of the same client is untouched.
    expect(await store.findAccessToken(await digestOf(alice.access_token))).toMatchObject({ revokedAt: null })
  })

  it('keeps earlier tokens when off (default)', async () => {
    const { service, store } = makeService()
    const first = await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    await expectToken(await post(service, '/auth/token', { ...CC, ...creds('billing-app') }))
    expect(await store.findAccessToken(await digestOf(first.access_token))).toMatchObject({ revokedAt: null })
  })
})
