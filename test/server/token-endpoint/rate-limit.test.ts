/**
 * Brute-force protection of the token endpoints: failed client and user authentications are
 * counted per client IP, client id and user; a reached limit answers 429 slow_down before any
 * secret is checked.
 */
import { describe, expect, it, vi } from 'vitest'
import type { RateLimitCounter, RateLimitOptions, RateLimitStore, TokenService } from '../../../src/server/index.js'
import { createMemoryStore } from '../../../src/server/index.js'
import { basic, creds, formRequest, makeService, PASSWORDS, testClock, type TestClock } from '../_fixtures.js'

const IP = { a: '203.0.113.1', b: '203.0.113.2', c: '203.0.113.3', d: '203.0.113.4' }

function tokenRequest(service: TokenService, params: Record<string, string>, remoteAddress?: string, path = '/auth/token'): Promise<Response> {
  return service.fetch(formRequest(path, params), remoteAddress === undefined ? {} : { remoteAddress })
}

const cc = (clientId: string, secret?: string) => ({ grant_type: 'client_credentials', ...creds(clientId, secret) })
const password = (username: string, pw: string) => ({ grant_type: 'password', username, password: pw, ...creds('orders-app') })

async function expectSlowDown(response: Response, clock?: TestClock, windowEndsAt?: number): Promise<void> {
  expect(response.status).toBe(429)
  expect(response.headers.get('cache-control')).toBe('no-store')
  const retryAfter = Number(response.headers.get('retry-after'))
  expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true)
  if (clock && windowEndsAt !== undefined) expect(retryAfter).toBe(Math.ceil((windowEndsAt - clock.now()) / 1000))
  expect(await response.json()).toEqual({ error: 'slow_down', error_description: `too many failed attempts; retry in ${retryAfter} s` })
}

function limited(rateLimit: RateLimitOptions | false, extra: Parameters<typeof makeService>[1] = {}) {
  const clock = testClock()
  const { service, store } = makeService(undefined, { clock, rateLimit, ...extra })
  return { service, store, clock }
}

describe('brute-force protection of the token endpoints', () => {
  it('refuses an address that failed perIP times until its window ends, right secret included; other addresses go on', async () => {
    const { service, clock } = limited({ perIP: 3, perClient: 0, window: 60_000 })
    const start = clock.now()
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000)
      expect((await tokenRequest(service, cc('orders-app', 'wrong-secret'), IP.a)).status).toBe(401)
    }
    await expectSlowDown(await tokenRequest(service, cc('orders-app', 'wrong-secret'), IP.a), clock, start + 1_000 + 60_000)
    await expectSlowDown(await tokenRequest(service, cc('orders-app'), IP.a)) // the right secret learns nothing
    await expectSlowDown(await tokenRequest(service, cc('billing-app'), IP.a)) // nor another client's
    expect((await tokenRequest(service, cc('orders-app'), IP.b)).status).toBe(200)
    clock.advance(58_000) // the window started with the first failure, 61 s ago
    expect((await tokenRequest(service, cc('orders-app'), IP.a)).status).toBe(200)
  })

  it('refuses a client id that failed perClient times from any addresses, and only that client', async () => {
    const { service } = limited({ perIP: 0, perClient: 3 })
    for (const ip of [IP.a, IP.b, IP.c]) expect((await tokenRequest(service, cc('orders-app', 'wrong-secret'), ip)).status).toBe(401)
    await expectSlowDown(await tokenRequest(service, cc('orders-app'), IP.d))
    // Basic authentication is the same client.
    await expectSlowDown(await service.fetch(formRequest('/auth/token', { grant_type: 'client_credentials' }, { headers: { authorization: basic('orders-app', 'x') } }), { remoteAddress: IP.d }))
    expect((await tokenRequest(service, cc('billing-app'), IP.d)).status).toBe(200)
  })

  it('refuses a user who failed perUser times on a client, from any addresses; the client and its other users go on', async () => {
    const { service } = limited({ perIP: 0, perUser: 2 })
    expect((await tokenRequest(service, password('alice', 'guess-1'), IP.a)).status).toBe(400)
    expect((await tokenRequest(service, password('alice', 'guess-2'), IP.b)).status).toBe(400)
    await expectSlowDown(await tokenRequest(service, password('alice', PASSWORDS.alice), IP.c))
    expect((await tokenRequest(service, password('bob', PASSWORDS.bob), IP.c)).status).toBe(200)
    expect((await tokenRequest(service, cc('orders-app'), IP.c)).status).toBe(200)
  })

  it('checks no password while a user is refused (the identity source is not called)', async () => {
    const identitySource = vi.fn(async (username: string, pw: string) => (username === 'carol' && pw === 'carol-password' ? { roles: [] } : null))
    const { service } = limited({ perUser: 1 }, { identitySource })
    expect((await tokenRequest(service, password('carol', 'guess'), IP.a)).status).toBe(400)
    expect(identitySource).toHaveBeenCalledTimes(1)
    await expectSlowDown(await tokenRequest(service, password('carol', 'carol-password'), IP.b))
    expect(identitySource).toHaveBeenCalledTimes(1)
  })

  it('counts only refused secrets and passwords: bad requests, bad refresh tokens and missing credentials do not count', async () => {
    const { service } = limited({ perIP: 2, perClient: 2, perUser: 2 })
    for (let i = 0; i < 5; i++) {
      expect((await tokenRequest(service, { ...creds('orders-app') }, IP.a)).status).toBe(400) // no grant_type
      expect((await tokenRequest(service, { grant_type: 'authorization_code', ...creds('orders-app') }, IP.a)).status).toBe(400)
      expect((await tokenRequest(service, { grant_type: 'refresh_token', refresh_token: `made-up-${i}`, ...creds('orders-app') }, IP.a)).status).toBe(400)
      expect((await tokenRequest(service, { grant_type: 'client_credentials' }, IP.a)).status).toBe(401) // no credentials at all
      expect((await tokenRequest(service, { grant_type: 'password', username: 'alice', ...creds('orders-app') }, IP.a)).status).toBe(400) // no password
    }
    expect((await tokenRequest(service, password('alice', PASSWORDS.alice), IP.a)).status).toBe(200)
  })

  it('counts unknown client ids per address, so probing made-up ids is limited too', async () => {
    const { service } = limited({ perIP: 3 })
    for (const id of ['nobody-1', 'nobody-2', 'nobody-3']) expect((await tokenRequest(service, cc(id, 'secret'), IP.a)).status).toBe(401)
    await expectSlowDown(await tokenRequest(service, cc('orders-app'), IP.a))
  })

  it('counts introspection and revocation authentication failures too', async () => {
    const { service } = limited({ perIP: 2, perClient: 0 })
    const auth = { authorization: basic('billing-app', 'wrong-secret') }
    for (const path of ['/auth/introspect', '/auth/revoke']) {
      expect((await service.fetch(formRequest(path, { token: 'x' }, { headers: auth }), { remoteAddress: IP.a })).status).toBe(401)
    }
    await expectSlowDown(await service.fetch(formRequest('/auth/introspect', { token: 'x' }, { headers: { authorization: basic('billing-app', creds('billing-app').client_secret!) } }), { remoteAddress: IP.a }))
  })

  it('without a known client address applies the per-client limit only', async () => {
    const { service } = limited({ perIP: 1, perClient: 2 })
    expect((await tokenRequest(service, cc('orders-app', 'wrong'))).status).toBe(401)
    expect((await tokenRequest(service, cc('billing-app'))).status).toBe(200) // no shared "unknown address" counter
    expect((await tokenRequest(service, cc('orders-app', 'wrong'))).status).toBe(401)
    await expectSlowDown(await tokenRequest(service, cc('orders-app')))
  })

  it('is on by default (30 failures per address per minute), and rateLimit: false turns it off', async () => {
    const on = limited(undefined as unknown as RateLimitOptions).service
    const off = limited(false).service
    for (let i = 0; i < 30; i++) {
      expect((await tokenRequest(on, cc(`nobody-${i}`, 'secret'), IP.a)).status).toBe(401)
      expect((await tokenRequest(off, cc(`nobody-${i}`, 'secret'), IP.a)).status).toBe(401)
    }
    await expectSlowDown(await tokenRequest(on, cc('orders-app'), IP.a))
    expect((await tokenRequest(off, cc('orders-app'), IP.a)).status).toBe(200)
  })

  it('counts on a shared store across instances, and per environment', async () => {
    const shared = mapStore()
    const clock = testClock()
    const store = createMemoryStore()
    const a = makeService(undefined, { clock, store, rateLimit: { perIP: 2, store: shared } }).service
    const b = makeService(undefined, { clock, store, rateLimit: { perIP: 2, store: shared } }).service
    const other = makeService((c) => void (c.environment.name = 'other'), { clock, rateLimit: { perIP: 2, store: shared } }).service
    expect((await tokenRequest(a, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    expect((await tokenRequest(b, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    await expectSlowDown(await tokenRequest(a, cc('orders-app'), IP.a))
    await expectSlowDown(await tokenRequest(b, cc('orders-app'), IP.a))
    expect((await tokenRequest(other, cc('orders-app'), IP.a)).status).toBe(200)
    expect([...shared.keys()].every((k) => k.startsWith('rl:test:') || k.startsWith('rl:other:'))).toBe(true)
    expect([...shared.keys()].some((k) => k.includes('alice'))).toBe(false)
  })

  it('keeps no username in a counter key', async () => {
    const shared = mapStore()
    const { service } = limited({ store: shared })
    expect((await tokenRequest(service, password('alice', 'guess'), IP.a)).status).toBe(400)
    expect(shared.size).toBe(2) // the address and the user
    expect([...shared.keys()].some((k) => k.includes('alice'))).toBe(false)
  })

  it('counts in process while the shared store fails, and tells onError', async () => {
    const failing: RateLimitStore = { get: () => Promise.reject(new Error('store down')), increment: () => Promise.reject(new Error('store down')) }
    const onError = vi.fn()
    const { service } = limited({ perIP: 2, store: failing }, { onError })
    expect((await tokenRequest(service, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    expect((await tokenRequest(service, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    await expectSlowDown(await tokenRequest(service, cc('orders-app'), IP.a))
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'store down' }))
  })

  it('takes the configuration\'s rateLimit when the options give none; the options take precedence', async () => {
    const clock = testClock()
    const fromConfig = makeService((c) => void ((c as unknown as { rateLimit: unknown }).rateLimit = { perIP: 1 }), { clock }).service
    expect((await tokenRequest(fromConfig, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    await expectSlowDown(await tokenRequest(fromConfig, cc('orders-app'), IP.a))
    const offInConfig = makeService((c) => void ((c as unknown as { rateLimit: unknown }).rateLimit = false), { clock }).service
    const overridden = makeService((c) => void ((c as unknown as { rateLimit: unknown }).rateLimit = false), { clock, rateLimit: { perIP: 1 } }).service
    expect((await tokenRequest(offInConfig, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    expect((await tokenRequest(offInConfig, cc('orders-app'), IP.a)).status).toBe(200)
    expect((await tokenRequest(overridden, cc('orders-app', 'wrong'), IP.a)).status).toBe(401)
    await expectSlowDown(await tokenRequest(overridden, cc('orders-app'), IP.a))
  })

  it('lists a bad rateLimit of the configuration among the config errors', () => {
    expect(() => makeService((c) => void ((c as unknown as { rateLimit: unknown }).rateLimit = { perIP: -1, perUsers: 3 }))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG', message: 'invalid config: rateLimit.perIP: Too small: expected number to be >=0; rateLimit: Unrecognized key: "perUsers"' }) as unknown as Error,
    )
  })

  it.each([
    [{ window: 999 }, '"rateLimit.window" must be an integer from 1,000 to 86,400,000 (ms)'],
    [{ perIP: -1 }, '"rateLimit.perIP" must be an integer from 0 to 1,000,000,000'],
    [{ perUser: 2.5 }, '"rateLimit.perUser" must be an integer from 0 to 1,000,000,000'],
    [{ perClient: '10' }, '"rateLimit.perClient" must be an integer from 0 to 1,000,000,000'],
    [{ store: {} }, '"rateLimit.store" must be an object with get and increment (its "get" is not a function)'],
    [true, '"rateLimit" must be an object or false'],
  ])('refuses rateLimit %j when the service is made', (rateLimit, message) => {
    expect(() => makeService(undefined, { rateLimit: rateLimit as RateLimitOptions })).toThrow(expect.objectContaining({ name: 'TypeError', message }) as unknown as Error)
  })
})

/** A shared store over a Map (what Redis provides between instances); no expiry needed here. */
function mapStore(): RateLimitStore & { keys(): IterableIterator<string>; size: number } {
  const counts = new Map<string, number>()
  return {
    keys: () => counts.keys(),
    get size() {
      return counts.size
    },
    async get(keys) {
      return keys.map((k): RateLimitCounter | null => (counts.has(k) ? { count: counts.get(k)!, ttl: 60_000 } : null))
    },
    async increment(keys) {
      return keys.map((k) => {
        counts.set(k, (counts.get(k) ?? 0) + 1)
        return { count: counts.get(k)!, ttl: 60_000 }
      })
    },
  }
}
