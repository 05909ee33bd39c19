/**
 * The Redis cache example (examples/client-redis-cache.ts) against the local Redis: two token
 * clients in one "fleet" share one token. Skips with a message when Redis is unreachable, except
 * under CI=true.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisTokenCache } from '../../examples/client-redis-cache.js'
import { createTokenClient, tokenCacheKey } from '../../src/client/index.js'
import { TOKEN_ENDPOINT, mockTokenServer, useServer } from './_helpers.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function reachable(): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null })
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

const available = await reachable()
if (!available && process.env.CI === 'true') throw new Error(`Redis is required under CI=true but ${url} is unreachable`)
if (!available) console.warn(`skipping Redis token cache tests: ${url} is unreachable`)

describe.skipIf(!available)('redisTokenCache (example)', () => {
  const server = useServer()
  let redis: Redis
  const prefix = `gatepass:test:${Date.now()}:`

  beforeAll(() => {
    redis = new Redis(url)
  })
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it('two processes of a fleet share one token; no secret reaches Redis; entries carry a TTL', async () => {
    const ts = mockTokenServer({ expiresIn: 300 })
    server.use(ts.handler)
    const options = {
      tokenEndpoint: TOKEN_ENDPOINT,
      clientId: 'fleet',
      clientSecret: 'fleet-secret-value',
      grant: { type: 'password' as const, username: 'svc-user', password: 'svc-password-value' },
      crossTab: false,
      jitter: 0,
    }
    const a = createTokenClient({ ...options, cache: redisTokenCache(redis, { prefix, refreshGraceMs: 60_000 }) })
    const b = createTokenClient({ ...options, cache: redisTokenCache(redis, { prefix, refreshGraceMs: 60_000 }) })
    expect((await a.getToken()).access_token).toBe('at-1')
    expect((await b.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)

    const key = prefix + (await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'fleet', subject: 'svc-user' }))
    const raw = (await redis.get(key))!
    expect(JSON.parse(raw)).toMatchObject({ access_token: 'at-1', refresh_token: 'rt-1' })
    for (const secret of ['fleet-secret-value', 'svc-password-value', 'svc-user']) {
      expect(raw).not.toContain(secret)
      expect(key).not.toContain(secret)
    }
    const ttl = await redis.pttl(key)
    expect(ttl).toBeGreaterThan(300_000)
    expect(ttl).toBeLessThanOrEqual(360_000)
  })
})
