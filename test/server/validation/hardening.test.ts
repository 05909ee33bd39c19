/**
 * Fixes from the security review: public refresh of a client_credentials family, family
 * revocation through a shared cache, HEAD under a GET restriction, non-ASCII identity headers.
 */
import { describe, expect, it } from 'vitest'
import { createMemoryStore, type RevocationBus, type RevocationEvent, type SharedCache } from '../../../src/server/index.js'
import { serve } from '../../../src/server/node/index.js'
import { accepted, apiRequest, ccToken, expectChallenge, makeACLService, makeService, policyOf, post, refused, creds, testClock } from './_helpers.js'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An in-memory SharedCache (what Redis provides between instances). */
function mapCache(now: () => number): SharedCache {
  const entries = new Map<string, { value: string; until: number }>()
  return {
    async get(key) {
      const e = entries.get(key)
      return e && e.until > now() ? e.value : null
    },
    async set(key, value, ttl) {
      if (ttl > 0) entries.set(key, { value, until: now() + ttl })
    },
    async delete(key) {
      entries.delete(key)
    },
  }
}

describe('security review fixes', () => {
  it('refuses to refresh a client_credentials family without the secret, even where public clients are allowed', async () => {
    const { service } = makeService((c) => {
      policyOf(c, 'billing').publicClients = true
    })
    const first = await ccToken(service, 'billing-app')
    const response = await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: 'billing-app' })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication is required' })
    // With the secret it works.
    expect((await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })).status).toBe(200)
  })

  it('refuses at once a token whose family was revoked for reuse, although a shared cache holds it', async () => {
    const clock = testClock()
    // Shared entries live for opaqueCacheMaxAge: longer than the grace window here.
    const { service } = makeService(undefined, { clock, validation: { sharedCache: mapCache(clock.now), opaqueCacheMaxAge: 60_000 } })
    const first = await ccToken(service, 'billing-app')
    const rotated = await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })
    const { access_token } = (await rotated.json()) as { access_token: string }
    await accepted(service, 'billing', apiRequest(access_token, { path: '/apigateway/billing/x' }))
    clock.advance(20_000) // past the grace window: a reuse revokes the family
    expect((await post(service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })).status).toBe(400)
    await expectChallenge(await refused(service, 'billing', apiRequest(access_token, { path: '/apigateway/billing/x' })), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('deletePrevious reaches the other instances at once (bus + shared cache)', async () => {
    const clock = testClock()
    const store = createMemoryStore()
    const listeners: Array<(event: RevocationEvent) => void> = []
    const bus: RevocationBus = {
      async publish(event) {
        for (const listener of listeners) listener(event)
      },
      subscribe(listener) {
        listeners.push(listener)
        return () => {}
      },
    }
    const validation = { sharedCache: mapCache(clock.now), revocationBus: bus, opaqueCacheMaxAge: 60_000 }
    const edit = (c: Parameters<NonNullable<Parameters<typeof makeService>[0]>>[0]) => void (policyOf(c, 'billing').deletePrevious = true)
    const { service: a } = makeService(edit, { clock, store, validation })
    const { service: b } = makeService(edit, { clock, store, validation })
    const first = await ccToken(a, 'billing-app')
    const path = { path: '/apigateway/billing/x' }
    await accepted(b, 'billing', apiRequest(first.access_token, path)) // cached on B and in the shared cache
    clock.advance(1_000)
    const second = await ccToken(a, 'billing-app') // revokes the first one
    await expectChallenge(await refused(b, 'billing', apiRequest(first.access_token, path)), 'billing', 'invalid_token', 'the access token has been revoked')
    await accepted(b, 'billing', apiRequest(second.access_token, path))
  })

  it('answers from the store when the shared entry of a token is unreadable or names another token (not a 500)', async () => {
    const clock = testClock()
    const cache = mapCache(clock.now)
    const { service } = makeService(undefined, { clock, validation: { sharedCache: cache, opaqueCacheSize: 0 } })
    const { access_token } = await ccToken(service, 'billing-app')
    const key = `at:${createHash('sha256').update(access_token).digest('base64url')}`
    const path = { path: '/apigateway/billing/x' }
    await accepted(service, 'billing', apiRequest(access_token, path))
    const written = (await cache.get(key))!
    for (const bad of ['null', '{"digest":', JSON.stringify({ ...JSON.parse(written), digest: 'another-digest' }), JSON.stringify({ ...JSON.parse(written), audience: 'not-a-list' })]) {
      await cache.set(key, bad, 60_000)
      await accepted(service, 'billing', apiRequest(access_token, path))
      expect(await cache.get(key)).not.toBe(bad) // dropped (or replaced by the store's record)
    }
  })

  it('a revocation marker the shared cache could not read counts as present: the store decides', async () => {
    const clock = testClock()
    const store = createMemoryStore()
    const inner = mapCache(clock.now)
    let markersReadable = true
    // Like the Redis cache at a timeout: get() answers null, read() rejects.
    const cache: SharedCache = {
      get: (key) => (markersReadable || key.startsWith('at:') ? inner.get(key) : Promise.resolve(null)),
      read: (key) => (markersReadable || key.startsWith('at:') ? inner.get(key) : Promise.reject(new Error('redis command timed out'))),
      set: (key, value, ttl) => inner.set(key, value, ttl),
      delete: (key) => inner.delete(key),
    }
    const edit = (c: Parameters<NonNullable<Parameters<typeof makeService>[0]>>[0]) => void (policyOf(c, 'billing').deletePrevious = true)
    const validation = { sharedCache: cache, opaqueCacheMaxAge: 60_000 }
    const { service: a } = makeService(edit, { clock, store, validation })
    const { service: b } = makeService(edit, { clock, store, validation })
    const path = { path: '/apigateway/billing/x' }
    const first = await ccToken(a, 'billing-app')
    await accepted(a, 'billing', apiRequest(first.access_token, path)) // its shared entry is written
    clock.advance(1_000)
    await ccToken(a, 'billing-app') // deletePrevious: revokes the first, leaves an owner marker
    markersReadable = false
    // B has never seen the token: it finds the shared entry, cannot read the marker, and asks the store.
    await expectChallenge(await refused(b, 'billing', apiRequest(first.access_token, path)), 'billing', 'invalid_token', 'the access token has been revoked')
  })

  it('deletePrevious covers shared entries of tokens issued on an instance whose clock runs ahead', async () => {
    const clock = testClock()
    const store = createMemoryStore()
    const cache = mapCache(clock.now)
    const edit = (c: Parameters<NonNullable<Parameters<typeof makeService>[0]>>[0]) => void (policyOf(c, 'billing').deletePrevious = true)
    const validation = { sharedCache: cache }
    // B's clock is 10 s ahead of A's: the token B issues says it was issued after A's revocation.
    const ahead = { now: () => clock.now() + 10_000, advance: clock.advance }
    const { service: a } = makeService(edit, { clock, store, validation })
    const { service: b } = makeService(edit, { clock: ahead, store, validation })
    const { service: c } = makeService(edit, { clock, store, validation })
    const path = { path: '/apigateway/billing/x' }
    const first = await ccToken(b, 'billing-app')
    await accepted(b, 'billing', apiRequest(first.access_token, path)) // its shared entry is written
    clock.advance(1_000)
    const second = await ccToken(a, 'billing-app') // revokes the first one, leaves an owner marker
    // C has never seen the first token: it finds its shared entry, and the marker sends it to the store.
    await expectChallenge(await refused(c, 'billing', apiRequest(first.access_token, path)), 'billing', 'invalid_token', 'the access token has been revoked')
    await accepted(c, 'billing', apiRequest(second.access_token, path))
  })

  it('a revocation marker outlives shared entries written by an instance with a longer opaqueCacheMaxAge', async () => {
    const clock = testClock()
    const store = createMemoryStore()
    const cache = mapCache(clock.now)
    const written: Array<{ key: string; ttl: number }> = []
    const recording: SharedCache = { ...cache, set: (key, value, ttl) => (written.push({ key, ttl }), cache.set(key, value, ttl)) }
    const { service: writer } = makeService(undefined, { clock, store, validation: { sharedCache: recording, opaqueCacheMaxAge: 3_600_000 } })
    const { service: revoker } = makeService(undefined, { clock, store, validation: { sharedCache: recording, opaqueCacheMaxAge: 1_000 } })
    const path = { path: '/apigateway/billing/x' }
    const first = await ccToken(writer, 'billing-app')
    const rotated = (await (await post(writer, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })).json()) as { access_token: string }
    await accepted(writer, 'billing', apiRequest(rotated.access_token, path)) // shared entry written
    clock.advance(20_000) // past the reuse grace window
    // A reuse of the first refresh token on the other instance revokes the family there.
    expect((await post(revoker, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })).status).toBe(400)
    const entry = written.find((w) => w.key.startsWith('at:'))!
    const marker = written.find((w) => w.key.startsWith('rf:'))!
    expect(marker.ttl).toBeGreaterThanOrEqual(entry.ttl)
    for (const wait of [2_000, 30_000, 30_000]) {
      // A third instance, fresh each time: only the shared cache and the store speak to it.
      clock.advance(wait)
      const { service: fresh } = makeService(undefined, { clock, store, validation: { sharedCache: recording } })
      await expectChallenge(await refused(fresh, 'billing', apiRequest(rotated.access_token, path)), 'billing', 'invalid_token', 'the access token has been revoked')
    }
  })

  it('service.close() stops listening to the revocation bus', async () => {
    const listeners = new Set<(event: RevocationEvent) => void>()
    const bus: RevocationBus = {
      async publish(event) {
        for (const listener of listeners) listener(event)
      },
      subscribe(listener) {
        listeners.add(listener)
        return () => void listeners.delete(listener)
      },
    }
    const { service } = makeService(undefined, { validation: { revocationBus: bus } })
    await service.ready()
    expect(listeners.size).toBeGreaterThan(0)
    await service.close()
    expect(listeners.size).toBe(0)
  })

  it('treats HEAD as GET for a grant that disallows GET', async () => {
    const { service } = makeACLService((c) => {
      const acme = c.credentials.find((x) => x.clientId === 'acme')!
      acme.grants = [{ proxy: 'payments', disallowedMethods: ['GET'] }]
    })
    const { access_token } = await ccToken(service, 'acme')
    for (const method of ['GET', 'HEAD']) {
      await expectChallenge(await refused(service, 'payments', apiRequest(access_token, { path: '/apigateway/payments/x', method })), 'payments', 'invalid_token', 'the method is not allowed for this client')
    }
    await accepted(service, 'payments', apiRequest(access_token, { path: '/apigateway/payments/x', method: 'POST', body: 'x' }))
  })

  it('percent-encodes a non-ASCII subject in X-Authenticated-UserId instead of failing', async () => {
    const seen: Array<string | undefined> = []
    const upstream = createServer((req, res) => {
      seen.push(req.headers['x-authenticated-userid'] as string | undefined)
      res.end('ok')
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const { service } = makeService(undefined, { identitySource: async () => ({ subject: 'Łukasz', roles: [] }) })
    const login = await post(service, '/auth/token', { grant_type: 'password', username: 'lukasz', password: 'anything', ...creds('orders-app') })
    const { access_token } = (await login.json()) as { access_token: string }
    const server = await serve(service.proxy('orders', { upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }), { port: 0 })
    try {
      const response = await fetch(`${server.url}/apigateway/orders/x`, { headers: { authorization: `Bearer ${access_token}` } })
      expect(response.status).toBe(200)
      expect(seen).toEqual([encodeURIComponent('Łukasz')])
    } finally {
      await server.close()
      await new Promise((resolve) => upstream.close(resolve))
    }
  })
})
