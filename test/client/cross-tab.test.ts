import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTokenClient, memoryCache } from '../../src/client/index.js'
import type { TokenClient, TokenClientEvents, TokenClientOptions } from '../../src/client/index.js'
import { TOKEN_ENDPOINT, mockTokenServer, useServer } from './_helpers.js'

const server = useServer()
const clients: TokenClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  vi.unstubAllGlobals()
})

/**
 * A minimal Web Locks implementation (exclusive mode, `ifAvailable`). `blockAfterWaitedLock` keeps
 * the thread busy (synchronously) for that many ms right after a waiting request got the lock and
 * started its callback, as a long task in a busy tab would.
 */
function fakeLocks(blockAfterWaitedLock = 0) {
  const held = new Map<string, Promise<void>>()
  const log: string[] = []
  let onContended!: () => void
  /** Resolves when a request first finds the lock held. */
  const contended = new Promise<void>((resolve) => (onContended = resolve))
  async function request(name: string, a: unknown, b?: unknown): Promise<unknown> {
    const [options, callback] = (typeof a === 'function' ? [{}, a] : [a, b]) as [{ ifAvailable?: boolean }, (lock: unknown) => unknown]
    if (options.ifAvailable && held.has(name)) {
      log.push('contended')
      onContended()
      return callback(null)
    }
    let waited = false
    while (held.has(name)) {
      waited = true
      await held.get(name)
    }
    let release!: () => void
    held.set(name, new Promise<void>((resolve) => (release = resolve)))
    log.push('acquired')
    try {
      const result = callback({ name, mode: 'exclusive' })
      if (waited && blockAfterWaitedLock > 0) {
        const until = Date.now() + blockAfterWaitedLock
        while (Date.now() < until) {
          // busy
        }
      }
      return await result
    } finally {
      held.delete(name)
      release()
    }
  }
  return { locks: { request }, log, contended }
}

/**
 * Counts the channels the tabs open: a tab subscribes once its cache key is derived (a WebCrypto
 * digest), which takes no fixed time, so tests wait for the channels instead of sleeping.
 */
function trackChannels() {
  const opened: string[] = []
  const Base = globalThis.BroadcastChannel
  vi.stubGlobal(
    'BroadcastChannel',
    class extends Base {
      constructor(name: string) {
        super(name)
        opened.push(name)
      }
    },
  )
  return opened
}

/** One "tab": its own memory cache, same origin (same BroadcastChannel namespace and locks). */
function tab(clientId: string, overrides: Partial<TokenClientOptions> = {}) {
  const client = createTokenClient({
    tokenEndpoint: TOKEN_ENDPOINT,
    clientId,
    clientSecret: 's',
    grant: 'client_credentials',
    cache: memoryCache(),
    jitter: 0,
    ...overrides,
  })
  clients.push(client)
  return client
}

function nextEvent<E extends keyof TokenClientEvents>(client: TokenClient, event: E): Promise<TokenClientEvents[E]> {
  return new Promise((resolve) => {
    const off = client.on(event, (payload) => {
      off()
      resolve(payload)
    })
  })
}

describe('cross-tab coordination', () => {
  it('two tabs asking at once → one refresh; the waiting tab adopts the broadcast token', async () => {
    const { locks, log, contended } = fakeLocks()
    vi.stubGlobal('navigator', { locks })
    const ts = mockTokenServer({
      // The holder's token request is answered only once the other tab has found the lock held
      // (a fixed delay let a slow machine start the second tab after the first had finished).
      override: async () => {
        let timer: ReturnType<typeof setTimeout> | undefined
        await Promise.race([contended, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))])
        clearTimeout(timer)
        return undefined
      },
    })
    server.use(ts.handler)
    const a = tab('tabs-1')
    const b = tab('tabs-1')
    // Either tab may take the lock first: each derives its cache key (a WebCrypto digest) before it
    // asks, and those digests finish in no fixed order.
    const events = Promise.all([nextEvent(a, 'token'), nextEvent(b, 'token')])
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()])
    expect(ta.access_token).toBe('at-1')
    expect(tb.access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)
    expect(log).toEqual(['acquired', 'contended', 'acquired'])
    const reasons = (await events).map((e) => `${e.reason}/${String(e.grant)}/${e.token.access_token}`).sort()
    expect(reasons).toEqual(['broadcast/null/at-1', 'missing/client_credentials/at-1'])
  })

  it('a waiting tab still adopts the broadcast when a long task made its grace timer and the message due together', async () => {
    const { locks, log, contended } = fakeLocks(400) // longer than the 250 ms grace
    vi.stubGlobal('navigator', { locks })
    const ts = mockTokenServer({
      override: async () => {
        await contended
        return undefined
      },
    })
    server.use(ts.handler)
    const a = tab('tabs-7')
    const b = tab('tabs-7')
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()])
    expect([ta.access_token, tb.access_token]).toEqual(['at-1', 'at-1'])
    expect(ts.calls).toHaveLength(1)
    expect(log).toEqual(['acquired', 'contended', 'acquired'])
  })

  it('a tab adopts a token another tab broadcast, before it needs one', async () => {
    const opened = trackChannels()
    const ts = mockTokenServer()
    server.use(ts.handler)
    const a = tab('tabs-2')
    const b = tab('tabs-2')
    await vi.waitFor(() => expect(opened).toHaveLength(2)) // both subscribed
    const adopted = nextEvent(b, 'token')
    await a.getToken()
    await adopted
    expect((await b.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)
  })

  it('ignores older or malformed broadcasts', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const b = tab('tabs-3')
    await b.getToken() // at-1, stored now
    const channel = new BroadcastChannel(`gatepass:${await keyOf('tabs-3')}`)
    channel.postMessage({ v: 1, entry: { access_token: 'old', token_type: 'Bearer', expiresAt: null, uat: 0 } })
    channel.postMessage({ v: 1, entry: { access_token: 42 } })
    channel.postMessage('hello')
    await new Promise((resolve) => setTimeout(resolve, 20))
    channel.close()
    expect((await b.getToken()).access_token).toBe('at-1')
  })

  it('clear() is not undone by a broadcast: neither an adoption under way nor a token obtained before it', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const entries = memoryCache()
    let gets = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const cache = {
      get: async (k: string) => {
        if (++gets === 1) await gate
        return entries.get(k)
      },
      set: entries.set,
      delete: entries.delete,
    }
    const opened = trackChannels()
    const b = tab('tabs-6', { cache })
    const adopted: string[] = []
    b.on('token', ({ token }) => adopted.push(token.access_token))
    await vi.waitFor(() => expect(opened).toHaveLength(1)) // subscribed
    const key = await keyOf('tabs-6')
    const channel = new BroadcastChannel(`gatepass:${key}`)
    const entry = (token: string, uat: number) => ({ v: 1, entry: { access_token: token, token_type: 'Bearer', expiresAt: null, uat } })
    channel.postMessage(entry('adopting', Date.now()))
    await vi.waitFor(() => expect(gets).toBe(1)) // the adoption is reading the cache
    const before = Date.now() - 1
    await b.clear()
    release()
    channel.postMessage(entry('obtained-before-clear', before))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(entries.get(key)).toBeUndefined()
    expect(adopted).toEqual([])
    channel.postMessage(entry('obtained-after-clear', Date.now() + 1_000))
    await vi.waitFor(() => expect(adopted).toEqual(['obtained-after-clear']))
    channel.close()
    expect((await b.getToken()).access_token).toBe('obtained-after-clear')
    expect(ts.calls).toHaveLength(0)
  })

  it('falls back gracefully when neither Web Locks nor BroadcastChannel exist', async () => {
    vi.stubGlobal('BroadcastChannel', undefined)
    vi.stubGlobal('navigator', undefined)
    const ts = mockTokenServer()
    server.use(ts.handler)
    const a = tab('tabs-4')
    const results = await Promise.all([a.getToken(), a.getToken()])
    expect(results.map((r) => r.access_token)).toEqual(['at-1', 'at-1'])
    expect(ts.calls).toHaveLength(1)
  })

  it('crossTab: false opts out', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const a = tab('tabs-5', { crossTab: false })
    const b = tab('tabs-5', { crossTab: false })
    await a.getToken()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect((await b.getToken()).access_token).toBe('at-2')
  })
})

async function keyOf(clientId: string) {
  const { tokenCacheKey } = await import('../../src/client/index.js')
  return tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId, subject: null })
}
