import { http, HttpResponse } from 'msw'
import { afterEach, describe, expect, it } from 'vitest'
import { createTokenClient, memoryCache, tokenCacheKey, webStorageCache } from '../../src/client/index.js'
import type { TokenCacheEntry, TokenClient, TokenClientOptions } from '../../src/client/index.js'
import { TOKEN_ENDPOINT, manualClock, mockTokenServer, useServer } from './_helpers.js'

const server = useServer()
const clients: TokenClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

/** A tiny in-memory `Storage`. */
class TestStorage implements Storage {
  #items = new Map<string, string>()
  get length() {
    return this.#items.size
  }
  clear() {
    this.#items.clear()
  }
  getItem(key: string) {
    return this.#items.get(key) ?? null
  }
  key(index: number) {
    return [...this.#items.keys()][index] ?? null
  }
  removeItem(key: string) {
    this.#items.delete(key)
  }
  setItem(key: string, value: string) {
    this.#items.set(key, String(value))
  }
  dump() {
    return JSON.stringify(Object.fromEntries(this.#items))
  }
  keys() {
    return [...this.#items.keys()]
  }
}

const entry = (token: string): TokenCacheEntry => ({ access_token: token, token_type: 'Bearer', expiresAt: null, refresh_token: 'r', uat: 1 })

function makeClient(overrides: Partial<TokenClientOptions>) {
  const client = createTokenClient({
    tokenEndpoint: TOKEN_ENDPOINT,
    clientId: 'web',
    clientSecret: 'client-secret-value',
    grant: { type: 'password', username: 'alice@example.com', password: 'correct horse battery staple' },
    jitter: 0,
    crossTab: false,
    ...overrides,
  })
  clients.push(client)
  return client
}

describe('memoryCache', () => {
  it('get / set / delete, seedable', async () => {
    const cache = memoryCache([['k0', entry('seeded')]])
    expect(cache.get('k0')).toMatchObject({ access_token: 'seeded' })
    cache.set('k1', entry('a'))
    expect(cache.get('k1')).toMatchObject({ access_token: 'a' })
    cache.delete('k1')
    expect(cache.get('k1')).toBeUndefined()
  })
})

describe('webStorageCache', () => {
  it('stores JSON under the prefix; unreadable entries are dropped', () => {
    const storage = new TestStorage()
    const cache = webStorageCache(storage, { prefix: 'app:' })
    cache.set('k', entry('a'))
    expect(storage.keys()).toEqual(['app:k'])
    expect(cache.get('k')).toEqual(entry('a'))
    storage.setItem('app:bad', '{not json')
    expect(cache.get('bad')).toBeUndefined()
    expect(storage.getItem('app:bad')).toBeNull()
    storage.setItem('app:shape', JSON.stringify({ access_token: 1 }))
    expect(cache.get('shape')).toBeUndefined()
    cache.delete('k')
    expect(storage.length).toBe(0)
  })

  it('never stores the client secret, the password or the username', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const storage = new TestStorage()
    const tokens = makeClient({ cache: webStorageCache(storage) })
    await tokens.getToken()
    await tokens.invalidate()
    const dump = storage.dump()
    expect(dump).toContain('at-2')
    for (const secret of ['client-secret-value', 'correct horse battery staple', 'correct+horse', 'alice@example.com', 'alice']) {
      expect(dump).not.toContain(secret)
    }
    expect(storage.keys()).toEqual([`gatepass:${await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'web', subject: 'alice@example.com' })}`])
  })

  it('omitRefreshToken keeps refresh tokens out of storage but still refreshes within the page', async () => {
    const ts = mockTokenServer({ expiresIn: 60 })
    server.use(ts.handler)
    const storage = new TestStorage()
    const clock = manualClock()
    const tokens = makeClient({ cache: webStorageCache(storage, { omitRefreshToken: true }), now: clock.now })
    await tokens.getToken()
    expect(storage.dump()).not.toContain('rt-1')
    clock.advance(60_000)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['password', 'refresh_token'])
    expect(storage.dump()).not.toContain('rt-2')
  })

  it('omitRefreshToken: a page never pairs its refresh token with another tab\'s newer access token', async () => {
    const storage = new TestStorage() // one localStorage, two tabs
    const tabA = webStorageCache(storage, { omitRefreshToken: true })
    const tabB = webStorageCache(storage, { omitRefreshToken: true })
    const entry = (n: number): TokenCacheEntry => ({ access_token: `at-${n}`, token_type: 'Bearer', expiresAt: 10_000 * n, uat: n, refresh_token: `rt-${n}` })
    await tabA.set('k', entry(1))
    expect(await tabA.get('k')).toEqual(entry(1))
    await tabB.set('k', entry(2)) // tab B refreshed: rt-1 is spent (rotation), rt-2 lives in tab B only
    const seenByA = await tabA.get('k')
    expect(seenByA).toMatchObject({ access_token: 'at-2', uat: 2 })
    expect(seenByA).not.toHaveProperty('refresh_token') // not rt-1: presenting it would look like reuse
    expect(await tabB.get('k')).toEqual(entry(2))
  })

  it('omitRefreshToken also keeps a renamed (lenient fieldNames) refresh token out of storage and the result', async () => {
    server.use(http.post(TOKEN_ENDPOINT, () => HttpResponse.json({ accessToken: 'legacy-at', refreshToken: 'legacy-rt', token_type: 'Bearer', expires_in: 60 })))
    const storage = new TestStorage()
    const tokens = makeClient({
      cache: webStorageCache(storage, { omitRefreshToken: true }),
      lenient: { fieldNames: { access_token: 'accessToken', refresh_token: 'refreshToken' } },
    })
    const events: unknown[] = []
    tokens.on('token', ({ token }) => events.push(token))
    const token = await tokens.getToken()
    expect(token).toEqual({ access_token: 'legacy-at', token_type: 'Bearer', expires_in: 60, expiresAt: expect.any(Number) })
    expect(JSON.stringify(events)).not.toContain('legacy-rt')
    expect(storage.dump()).toContain('legacy-at')
    expect(storage.dump()).not.toContain('legacy-rt')
    expect(storage.dump()).not.toContain('accessToken')
  })

  it('a token stored by one client (another tab sharing localStorage) is reused by another', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const storage = new TestStorage()
    const a = makeClient({ cache: webStorageCache(storage) })
    const b = makeClient({ cache: webStorageCache(storage) })
    expect((await a.getToken()).access_token).toBe('at-1')
    expect((await b.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)
  })

  it('rejects a non-Storage', () => {
    const message = '"storage" must implement getItem, setItem and removeItem'
    expect(() => webStorageCache({} as Storage)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }))
    // without removeItem it used to fail only when an unreadable entry or a logout needed it
    const noRemove = { getItem: () => null, setItem: () => undefined } as unknown as Storage
    expect(() => webStorageCache(noRemove)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }))
  })
})

describe('tokenCacheKey', () => {
  const base = { endpoint: TOKEN_ENDPOINT, clientId: 'web', subject: 'alice' }
  it('is a base64url SHA-256 digest that hides its parts', async () => {
    const key = await tokenCacheKey(base)
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(key).not.toContain('alice')
  })

  it('depends on every part; scope order and resource order do not matter', async () => {
    const k = (parts: Partial<typeof base> & { scope?: string; resource?: string[] }) => tokenCacheKey({ ...base, ...parts })
    const keys = await Promise.all([
      k({}),
      k({ endpoint: 'https://other.test/token' }),
      k({ clientId: 'other' }),
      k({ subject: 'bob' }),
      k({ scope: 'a b' }),
      k({ resource: ['https://api.test'] }),
    ])
    expect(new Set(keys).size).toBe(keys.length)
    expect(await k({ scope: 'b a' })).toBe(await k({ scope: 'a  b' }))
    expect(await k({ resource: ['https://y', 'https://x'] })).toBe(await k({ resource: ['https://x', 'https://y'] }))
  })
})
