import { describe, expect, it } from 'vitest'
import { createMemoryStore, createTokenService, hashClientSecret } from '../../src/server/index.js'
import { sha256 } from '../../src/server/lib/crypto.js'

const SECRET = 'cleanup-test-secret'

async function setup() {
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const store = createMemoryStore()
  const digest = await hashClientSecret(SECRET)
  const service = createTokenService(
    {
      environment: { name: 'test', issuer: 'https://gw.example.com' },
      proxies: [
        { name: 'short', clientId: 'short-app', clientSecret: digest, tokenPolicy: { format: 'opaque', accessTokenTtl: 60, refresh: { enabled: true, ttl: 120 } } },
        { name: 'forever', clientId: 'forever-app', clientSecret: digest, tokenPolicy: { format: 'opaque', neverExpires: true } },
      ],
    },
    { store, now: () => clock, cleanup: { batchSize: 2 } },
  )
  const issue = async (clientId: string) => {
    const response = await service.fetch(new Request('https://gw.example.com/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: SECRET }),
    }))
    expect(response.status).toBe(200)
    return (await response.json()) as { access_token: string; refresh_token?: string }
  }
  return { service, store, issue, advance: (ms: number) => (clock += ms) }
}

describe('expired-token cleanup', () => {
  it('deletes expired access and refresh tokens in batches and keeps never-expiring ones', async () => {
    const { service, store, issue, advance } = await setup()
    const short = await Promise.all([1, 2, 3].map(() => issue('short-app')))
    const forever = await issue('forever-app')
    expect(await service.cleanup()).toBe(0)

    advance(61_000) // access tokens expired, refresh tokens not yet
    expect(await service.cleanup()).toBe(3)
    for (const t of short) {
      expect(await store.findAccessToken(await sha256(t.access_token))).toBeNull()
      expect(await store.findRefreshToken(await sha256(t.refresh_token!))).not.toBeNull()
    }

    advance(60_000) // refresh tokens expired too
    expect(await service.cleanup()).toBe(3)
    for (const t of short) expect(await store.findRefreshToken(await sha256(t.refresh_token!))).toBeNull()
    expect(await store.findAccessToken(await sha256(forever.access_token))).not.toBeNull()
    await service.close()
  })

  it.each([
    ['batchSize', 0],
    ['batchSize', -1],
    ['batchSize', 1.5],
    ['maxBatches', 0],
    ['interval', 0],
    ['interval', Number.NaN],
    ['interval', Number.POSITIVE_INFINITY],
  ])('refuses cleanup.%s = %s when the service is made (it would delete nothing, or scan without pause)', (name, value) => {
    const config = { environment: { name: 'test', issuer: 'https://gw.example.com' }, proxies: [] }
    expect(() => createTokenService(config, { cleanup: { [name]: value } })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`"cleanup.${name}"`) }) as unknown as Error,
    )
  })
})
