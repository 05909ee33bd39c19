import { http, HttpResponse } from 'msw'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTokenClient, customFetch, memoryCache, tokenCacheKey } from '../../src/client/index.js'
import type { TokenCache, TokenClient, TokenClientEvents, TokenClientOptions } from '../../src/client/index.js'
import { TOKEN_ENDPOINT, fakeJWT, manualClock, mockTokenServer, rejection, useServer, useTokenClients } from './_helpers.js'

const server = useServer()
const makeClient = useTokenClients({ retry: { baseDelay: 0 } })

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/** Polls on real macrotasks (setImmediate is not faked) until `condition` holds. */
async function until(condition: () => boolean) {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve))
  expect(condition()).toBe(true)
}

function record<E extends keyof TokenClientEvents>(client: TokenClient, event: E) {
  const seen: TokenClientEvents[E][] = []
  client.on(event, (payload) => seen.push(payload))
  return seen
}

describe('createTokenClient: obtaining and caching', () => {
  it('obtains a token once, then serves it from the cache', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, scope: 'invoices:read' })
    const first = await tokens.getToken()
    expect(first).toEqual({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, expiresAt: clock.now() + 3_600_000 })
    expect(first).not.toHaveProperty('refresh_token')
    expect(Object.isFrozen(first)).toBe(true)
    clock.advance(60_000)
    expect(await tokens.getToken()).toBe(first)
    expect(ts.calls).toHaveLength(1)
    expect(ts.calls[0]!.grant_type).toBe('client_credentials')
    expect(ts.calls[0]!.params.get('scope')).toBe('invoices:read')
    expect(ts.calls[0]!.authorization).toBe(`Basic ${btoa('billing:s3cret')}`)
    expect(ts.calls[0]!.accept).toBe('application/json')
  })

  it('the token is deeply frozen: nested members cannot be changed for the next caller or in the cache', async () => {
    const details = [{ type: 'payment_initiation', actions: ['read'], limits: { amount: 10 } }]
    server.use(http.post(TOKEN_ENDPOINT, () => HttpResponse.json({ access_token: 'rich', token_type: 'Bearer', expires_in: 3600, authorization_details: details })))
    const cache = memoryCache()
    const tokens = makeClient({ cache })
    const token = await tokens.getToken()
    const got = token.authorization_details as typeof details
    expect(() => got[0]!.actions.push('write')).toThrow(TypeError)
    expect(() => {
      got[0]!.limits.amount = 1e6
    }).toThrow(TypeError)
    expect(() => got.push({ type: 'x', actions: [], limits: { amount: 0 } })).toThrow(TypeError)
    expect((await tokens.getToken()).authorization_details).toEqual(details)
    const entry = await cache.get(await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'billing', subject: null }))
    expect(entry?.authorization_details).toEqual(details)
    expect(entry?.authorization_details).not.toBe(got)
  })

  it('password grant sends username and password; clientAuth strategy is used', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient({ clientSecret: undefined, grant: { type: 'password', username: 'alice', password: 'pw' } })
    await tokens.getToken()
    expect(Object.fromEntries(ts.calls[0]!.params)).toEqual({ grant_type: 'password', username: 'alice', password: 'pw', client_id: 'billing' })
    expect(ts.calls[0]!.authorization).toBeNull()
  })

  it('uses the [customFetch] option', async () => {
    const seen: string[] = []
    const tokens = makeClient({
      [customFetch]: async (request) => {
        seen.push(request.url)
        return Response.json({ access_token: 'custom', token_type: 'Bearer', expires_in: 60 })
      },
    })
    expect((await tokens.getToken()).access_token).toBe('custom')
    expect(seen).toEqual([TOKEN_ENDPOINT])
  })

  it('passes lenient options to the response parser', async () => {
    server.use(http.post(TOKEN_ENDPOINT, () => HttpResponse.json({ access_token: 'legacy', token_type: 'Bearer', expires_in: 60000 })))
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, lenient: { expiresInUnit: 'milliseconds' } })
    expect((await tokens.getToken()).expiresAt).toBe(clock.now() + 60_000)
  })

  it('a token without expiry (lenient expires_in: 0, or no lifetime at all) is kept until invalidated', async () => {
    let n = 0
    server.use(
      http.post(TOKEN_ENDPOINT, () => {
        n++
        return HttpResponse.json(n === 1 ? { access_token: `never-${n}`, token_type: 'Bearer', expires_in: 0 } : { access_token: `opaque-${n}`, token_type: 'Bearer' })
      }),
    )
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, lenient: true })
    expect(await tokens.getToken()).toMatchObject({ access_token: 'never-1', expiresAt: null })
    clock.advance(365 * 86_400_000)
    expect((await tokens.getToken()).access_token).toBe('never-1')
    expect(await tokens.invalidate('never-1')).toMatchObject({ access_token: 'opaque-2', expiresAt: null })
    expect(n).toBe(2)
  })

  it('a device clock 2 h fast does not make 1 h JWTs look expired (expires_in decides, not exp)', async () => {
    let n = 0
    server.use(
      http.post(TOKEN_ENDPOINT, () => {
        n++
        const exp = Math.floor(Date.now() / 1000) + 3600 // the server's (correct) clock
        return HttpResponse.json({ access_token: fakeJWT({ sub: 'billing', exp, jti: `j${n}` }), token_type: 'Bearer', expires_in: 3600 })
      }),
    )
    const now = () => Date.now() + 7_200_000
    const tokens = makeClient({ now })
    const before = now()
    const token = await tokens.getToken()
    expect(token.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000)
    expect(token.expiresAt).toBeLessThanOrEqual(now() + 3_600_000)
    expect(await tokens.getToken()).toBe(token)
    expect(n).toBe(1)
  })

  it('never hands out a token that is already expired when issued', async () => {
    server.use(http.post(TOKEN_ENDPOINT, () => HttpResponse.json({ access_token: 'dead', token_type: 'Bearer', expires_in: 0 })))
    const tokens = makeClient()
    expect(await rejection(tokens.getToken())).toMatchObject({
      code: 'ERR_TOKEN_EXPIRED',
      message: 'the authorization server issued a token that is already expired',
    })
  })

  it('works with the default crossTab setting in Node (BroadcastChannel, no Web Locks)', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient({ crossTab: undefined })
    expect((await tokens.getToken()).access_token).toBe('at-1')
  })

  it('keeps working when the cache fails, reporting it', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const broken: TokenCache = {
      get: () => Promise.reject(new Error('redis down')),
      set: () => Promise.reject(new Error('redis down')),
      delete: () => undefined,
    }
    const tokens = makeClient({ cache: broken })
    const errors = record(tokens, 'error')
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)
    expect(errors[0]).toMatchObject({ reason: 'cache', recovered: true })
  })
})

describe('createTokenClient: expiry, skew, jitter, refresh', () => {
  it('refreshes inside the skew window with the refresh token, not before', async () => {
    const ts = mockTokenServer({ expiresIn: 3600 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, refreshSkew: 30_000 })
    const refreshes = record(tokens, 'refresh')
    await tokens.getToken()
    clock.advance(3_600_000 - 30_001)
    expect(tokens.fresh).toBe(true)
    expect((await tokens.getToken()).access_token).toBe('at-1')
    clock.advance(1)
    expect(tokens.fresh).toBe(false)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(tokens.fresh).toBe(true)
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token'])
    expect(ts.calls[1]!.params.get('refresh_token')).toBe('rt-1')
    expect(refreshes).toEqual([{ token: expect.objectContaining({ access_token: 'at-2' }), grant: 'refresh_token', reason: 'expiring' }])
  })

  it('adds a random jitter (per token) to the skew', async () => {
    const ts = mockTokenServer({ expiresIn: 3600 })
    server.use(ts.handler)
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, refreshSkew: 30_000, jitter: 10_000 })
    await tokens.getToken()
    clock.advance(3_600_000 - 35_001)
    expect((await tokens.getToken()).access_token).toBe('at-1')
    clock.advance(1)
    expect((await tokens.getToken()).access_token).toBe('at-2')
  })

  it('caps the refresh window at half the lifetime of short-lived tokens', async () => {
    const ts = mockTokenServer({ expiresIn: 40 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, refreshSkew: 30_000 })
    await tokens.getToken()
    clock.advance(19_999)
    expect((await tokens.getToken()).access_token).toBe('at-1')
    clock.advance(1)
    expect((await tokens.getToken()).access_token).toBe('at-2')
  })

  it('an expired token is replaced before it is returned', async () => {
    const ts = mockTokenServer({ expiresIn: 60 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    const events = record(tokens, 'token')
    await tokens.getToken()
    clock.advance(60_000)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(events.map((e) => [e.grant, e.reason])).toEqual([
      ['client_credentials', 'missing'],
      ['refresh_token', 'expired'],
    ])
  })

  it('falls back to a full credential exchange when the refresh token is rejected', async () => {
    const ts = mockTokenServer({ expiresIn: 60 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    const errors = record(tokens, 'error')
    await tokens.getToken()
    ts.revokeRefreshTokens()
    clock.advance(60_000)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials'])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ reason: 'expired', recovered: true, error: { code: 'ERR_RESPONSE_BODY', error: 'invalid_grant' } })
  })

  it.each([
    ['an error body with status 200 (legacy)', () => HttpResponse.json({ error: 'invalid_grant' }), 'ERR_RESPONSE_BODY'],
    ['a 401 with only a Basic challenge', () => new HttpResponse(null, { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' } }), 'ERR_WWW_AUTHENTICATE_CHALLENGE'],
    ['a 400 HTML page', () => new HttpResponse('<html>bad request</html>', { status: 400, headers: { 'content-type': 'text/html' } }), 'ERR_UNEXPECTED_RESPONSE'],
  ])('a refresh rejected with %s falls back to a full exchange', async (_name, reject, code) => {
    const ts = mockTokenServer({ expiresIn: 60, override: (call) => (call.grant_type === 'refresh_token' ? reject() : undefined) })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    const errors = record(tokens, 'error')
    await tokens.getToken()
    clock.advance(60_000)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials'])
    expect(errors).toEqual([{ error: expect.objectContaining({ code }), reason: 'expired', recovered: true }])
  })

  it.each([
    ['invalid_grant: the refresh token is dropped', () => HttpResponse.json({ error: 'invalid_grant' }, { status: 400 }), false],
    ['another refusal (a misrouted 404): the refresh token is kept', () => new HttpResponse('<html>not found</html>', { status: 404 }), true],
  ])('a refused refresh falls back to the full exchange, even when that fails too; %s', async (_name, refusal, kept) => {
    const ts = mockTokenServer({
      expiresIn: 60,
      override: (call, index) => {
        if (call.grant_type === 'refresh_token') return refusal()
        return index === 2 ? HttpResponse.json({ error: 'invalid_client' }, { status: 401 }) : undefined
      },
    })
    server.use(ts.handler)
    const clock = manualClock()
    const cache = memoryCache()
    const tokens = makeClient({ now: clock.now, cache })
    await tokens.getToken()
    clock.advance(60_000)
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_client' })
    const key = await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'billing', subject: null })
    expect(Object.hasOwn((await cache.get(key))!, 'refresh_token')).toBe(kept)
    expect((await tokens.getToken()).access_token).toBe('at-2')
    // a kept refresh token is tried again first (and refused again); a dropped one is not
    const next = kept ? ['refresh_token', 'client_credentials'] : ['client_credentials']
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials', ...next])
  })

  it('clear() during the read that drops a rejected refresh token: the cleared entry is not written back', async () => {
    const ts = mockTokenServer({ expiresIn: 60, override: (call) => (call.grant_type === 'refresh_token' ? HttpResponse.json({ error: 'invalid_grant' }, { status: 400 }) : undefined) })
    server.use(ts.handler)
    const clock = manualClock()
    const inner = memoryCache()
    let clearOnRead = 0
    const cache: TokenCache = {
      async get(k) {
        const entry = await inner.get(k)
        if (clearOnRead > 0 && --clearOnRead === 0) await tokens.clear()
        return entry
      },
      set: (k, v) => inner.set(k, v),
      delete: (k) => inner.delete(k),
    }
    const tokens = makeClient({ now: clock.now, cache })
    await tokens.getToken()
    clock.advance(60_000)
    clearOnRead = 3 // getToken's read, the flight's, then the one that drops the refresh token
    await rejection(tokens.getToken())
    const key = await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'billing', subject: null })
    expect(await inner.get(key)).toBeUndefined()
  })

  it('a transient answer to a refresh (429, 5xx, server_error body) is rethrown and keeps the refresh token', async () => {
    let answer = () => HttpResponse.json({ error: 'temporarily_unavailable' })
    const ts = mockTokenServer({ expiresIn: 60, override: (call) => (call.grant_type === 'refresh_token' && ts.calls.length < 5 ? answer() : undefined) })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, retry: { limit: 0 } })
    await tokens.getToken()
    clock.advance(60_000)
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'temporarily_unavailable', status: 200 })
    answer = () => new HttpResponse('<html>busy</html>', { status: 503 })
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_UNEXPECTED_RESPONSE', status: 503 })
    answer = () => new HttpResponse(null, { status: 429, headers: { 'www-authenticate': 'Basic realm="token"' } })
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_WWW_AUTHENTICATE_CHALLENGE', status: 429 })
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => `${c.grant_type}:${c.params.get('refresh_token') ?? ''}`)).toEqual([
      'client_credentials:',
      'refresh_token:rt-1',
      'refresh_token:rt-1',
      'refresh_token:rt-1',
      'refresh_token:rt-1',
    ])
  })

  it('keeps the old refresh token when a refresh response carries none', async () => {
    let n = 0
    const grants: string[] = []
    server.use(
      http.post(TOKEN_ENDPOINT, async ({ request }) => {
        const params = new URLSearchParams(await request.text())
        grants.push(`${params.get('grant_type')}:${params.get('refresh_token') ?? ''}`)
        n++
        return HttpResponse.json(n === 1 ? { access_token: 'a1', token_type: 'Bearer', expires_in: 60, refresh_token: 'only' } : { access_token: `a${n}`, token_type: 'Bearer', expires_in: 60 })
      }),
    )
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    await tokens.getToken()
    clock.advance(60_000)
    await tokens.getToken()
    clock.advance(60_000)
    expect((await tokens.getToken()).access_token).toBe('a3')
    expect(grants).toEqual(['client_credentials:', 'refresh_token:only', 'refresh_token:only'])
  })

  it('a failed proactive refresh hands out the still-valid token, then cools down', async () => {
    const ts = mockTokenServer({
      expiresIn: 3600,
      override: (_call, index) => (index > 0 ? HttpResponse.json({ error: 'server_error' }, { status: 500 }) : undefined),
    })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, retry: { limit: 1, baseDelay: 0, maxDelay: 5_000 } })
    const errors = record(tokens, 'error')
    await tokens.getToken()
    clock.advance(3_600_000 - 10_000)
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(3) // 1 + refresh with 1 retry
    expect(errors.at(-1)).toMatchObject({ reason: 'expiring', recovered: true, error: { code: 'ERR_RESPONSE_BODY', error: 'server_error', status: 500 } })
    clock.advance(4_999)
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(3)
    clock.advance(1)
    await tokens.getToken()
    expect(ts.calls).toHaveLength(5)
  })

  it('an expired token whose refresh fails is an error, never returned', async () => {
    const ts = mockTokenServer({
      expiresIn: 60,
      override: (_call, index) => (index > 0 ? HttpResponse.json({ error: 'invalid_client' }, { status: 401 }) : undefined),
    })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    await tokens.getToken()
    clock.advance(60_000)
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_client', status: 401 })
    // refresh rejected (4xx) → full exchange, also rejected; no retries for 4xx
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials'])
  })

  it('backgroundRefresh returns the valid token at once and refreshes behind it', async () => {
    const ts = mockTokenServer({ expiresIn: 3600 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now, backgroundRefresh: true })
    await tokens.getToken()
    clock.advance(3_600_000 - 10_000)
    const refreshed = new Promise((resolve) => tokens.on('refresh', resolve))
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(tokens.reloading).toBe(true)
    await refreshed
    await vi.waitFor(() => expect(tokens.reloading).toBe(false))
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls).toHaveLength(2)
  })
})

describe('createTokenClient: transient failures', () => {
  it('retries 5xx with backoff and succeeds', async () => {
    const ts = mockTokenServer({ override: (_c, i) => (i < 2 ? new HttpResponse('busy', { status: 503 }) : undefined) })
    server.use(ts.handler)
    const tokens = makeClient()
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(3)
  })

  it('retries network errors, then fails with ERR_TOKEN_REQUEST_FAILED', async () => {
    let attempts = 0
    server.use(
      http.post(TOKEN_ENDPOINT, () => {
        attempts++
        return HttpResponse.error()
      }),
    )
    const tokens = makeClient({ retry: { limit: 2, baseDelay: 0 } })
    const err = await rejection(tokens.getToken())
    expect(err).toMatchObject({ code: 'ERR_TOKEN_REQUEST_FAILED', message: 'request to the authorization server failed' })
    expect(err.cause).toBeInstanceOf(TypeError)
    expect(attempts).toBe(3)
  })

  it('times out a hung request (timeoutDuration) and retries it like a network failure', async () => {
    let attempts = 0
    const tokens = makeClient({
      timeoutDuration: 20,
      retry: { limit: 1, baseDelay: 0 },
      [customFetch]: (request) =>
        new Promise<Response>((_resolve, reject) => {
          attempts++
          request.signal.addEventListener('abort', () => reject(request.signal.reason))
        }),
    })
    const err = await rejection(tokens.getToken())
    expect(err).toMatchObject({ code: 'ERR_TOKEN_REQUEST_FAILED' })
    expect(err.cause.name).toBe('TimeoutError')
    expect(attempts).toBe(2)
  })

  it('does not retry client errors', async () => {
    const ts = mockTokenServer({ override: () => HttpResponse.json({ error: 'invalid_client' }, { status: 401 }) })
    server.use(ts.handler)
    const tokens = makeClient()
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'invalid_client' })
    expect(ts.calls).toHaveLength(1)
  })

  it('honours 429 Retry-After (seconds)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const ts = mockTokenServer({
      override: (_c, i) => (i === 0 ? HttpResponse.json({ error: 'slow_down' }, { status: 429, headers: { 'retry-after': '2' } }) : undefined),
    })
    server.use(ts.handler)
    const tokens = makeClient({ retry: { baseDelay: 0 } })
    const pending = tokens.getToken()
    await until(() => vi.getTimerCount() === 1)
    await vi.advanceTimersByTimeAsync(1_999)
    expect(ts.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect((await pending).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(2)
  })

  it('honours Retry-After as an HTTP-date', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const clock = manualClock()
    const ts = mockTokenServer({
      override: (_c, i) =>
        i === 0 ? new HttpResponse(null, { status: 503, headers: { 'retry-after': new Date(clock.now() + 3_000).toUTCString() } }) : undefined,
    })
    server.use(ts.handler)
    const tokens = makeClient({ now: clock.now })
    const pending = tokens.getToken()
    await until(() => vi.getTimerCount() === 1)
    await vi.advanceTimersByTimeAsync(2_999)
    expect(ts.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    await pending
    expect(ts.calls).toHaveLength(2)
  })

  it('fails at once when Retry-After exceeds maxRetryAfter', async () => {
    const ts = mockTokenServer({ override: () => HttpResponse.json({ error: 'slow_down' }, { status: 429, headers: { 'retry-after': '3600' } }) })
    server.use(ts.handler)
    const tokens = makeClient({ retry: { maxRetryAfter: 60_000 } })
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'slow_down', status: 429 })
    expect(ts.calls).toHaveLength(1)
  })

  it('gives up after retry.limit and surfaces the last error', async () => {
    const ts = mockTokenServer({ override: () => HttpResponse.json({ error: 'temporarily_unavailable' }, { status: 503 }) })
    server.use(ts.handler)
    const tokens = makeClient({ retry: { limit: 3, baseDelay: 0 } })
    expect(await rejection(tokens.getToken())).toMatchObject({ code: 'ERR_RESPONSE_BODY', error: 'temporarily_unavailable', status: 503 })
    expect(ts.calls).toHaveLength(4)
  })

  it('caps exponential backoff at maxDelay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    vi.spyOn(Math, 'random').mockReturnValue(1)
    const ts = mockTokenServer({ override: (_c, i) => (i < 3 ? new HttpResponse(null, { status: 500 }) : undefined) })
    server.use(ts.handler)
    const tokens = makeClient({ retry: { limit: 3, baseDelay: 1_000, maxDelay: 1_500 } })
    const pending = tokens.getToken()
    for (const [n, delay] of [
      [1, 1_000], // base
      [2, 1_500], // min(1500, 2000)
      [3, 1_500], // min(1500, 4000)
    ] as const) {
      await until(() => vi.getTimerCount() === 1)
      expect(ts.calls).toHaveLength(n)
      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(ts.calls).toHaveLength(n)
      await vi.advanceTimersByTimeAsync(1)
      await until(() => ts.calls.length === n + 1)
    }
    await pending
    expect(ts.calls).toHaveLength(4)
  })
})

describe('createTokenClient: abort, invalidate, clear, events', () => {
  it('an aborted signal rejects with ERR_ABORTED before any request', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    const reason = new Error('user left')
    const err = await rejection(tokens.getToken({ signal: AbortSignal.abort(reason) }))
    expect(err).toMatchObject({ code: 'ERR_ABORTED', message: 'the operation was aborted' })
    expect(err.cause).toBe(reason)
    expect(ts.calls).toHaveLength(0)
  })

  it('invalidate(current) refreshes; invalidate(old) returns the current token without a request', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    const first = await tokens.getToken()
    const second = await tokens.invalidate(first.access_token)
    expect(second.access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token'])
    expect((await tokens.invalidate(first.access_token)).access_token).toBe('at-2')
    expect(ts.calls).toHaveLength(2)
    expect((await tokens.invalidate()).access_token).toBe('at-3')
    expect(ts.calls).toHaveLength(3)
    expect(await rejection(tokens.invalidate(''))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
  })

  it('a token the API rejected is not handed out again while its replacement cannot be obtained', async () => {
    let down = false
    const ts = mockTokenServer({ override: () => (down ? new HttpResponse('unavailable', { status: 503 }) : undefined) })
    server.use(ts.handler)
    const tokens = makeClient({ retry: { limit: 0 } })
    const first = await tokens.getToken()
    down = true
    expect(await rejection(tokens.invalidate(first.access_token))).toMatchObject({ status: 503 })
    expect(await rejection(tokens.getToken())).toMatchObject({ status: 503 }) // not first.access_token
    down = false
    expect((await tokens.getToken()).access_token).toBe('at-2')
  })

  it('a server that answers a refresh with the same token again is believed: no request per call', async () => {
    const ts = mockTokenServer({ override: (call) => (call.grant_type === 'refresh_token' ? HttpResponse.json({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }) : undefined) })
    server.use(ts.handler)
    const tokens = makeClient()
    const first = await tokens.getToken()
    expect((await tokens.invalidate(first.access_token)).access_token).toBe('at-1')
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(2)
  })

  it('clear() forgets the token; the next call makes a full exchange', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    await tokens.getToken()
    await tokens.clear()
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'client_credentials'])
  })

  it('clear() while a token request is in flight: the request is discarded, its callers get ERR_ABORTED, the cache ends empty', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const ts = mockTokenServer({ override: async (_call, index) => (index === 0 ? gate.then(() => undefined) : undefined) })
    server.use(ts.handler)
    const cache = memoryCache()
    const tokens = makeClient({ cache })
    const events = record(tokens, 'token')
    const pending = rejection(tokens.getToken())
    await until(() => ts.calls.length === 1)
    await tokens.clear()
    release()
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED', message: 'the token client was cleared while the token request was in flight' })
    expect(await cache.get(await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'billing', subject: null }))).toBeUndefined()
    expect(tokens.fresh).toBe(false)
    expect(events).toEqual([])
    expect((await tokens.getToken()).access_token).toBe('at-2')
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'client_credentials'])
  })

  it('a call after clear() does not join the discarded request; the token it gets is the one cached', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const ts = mockTokenServer({ expiresIn: 60, override: async (_call, index) => (index === 1 ? gate.then(() => undefined) : undefined) })
    server.use(ts.handler)
    const clock = manualClock()
    const cache = memoryCache()
    const tokens = makeClient({ cache, now: clock.now })
    await tokens.getToken() // at-1, rt-1
    clock.advance(60_000)
    const pending = rejection(tokens.getToken()) // refresh with rt-1, held
    await until(() => ts.calls.length === 2)
    await tokens.clear()
    const after = tokens.getToken()
    await until(() => ts.calls.length === 3)
    expect((await after).access_token).toBe('at-2')
    release()
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' })
    expect(await cache.get(await tokenCacheKey({ endpoint: TOKEN_ENDPOINT, clientId: 'billing', subject: null }))).toMatchObject({ access_token: 'at-2', refresh_token: 'rt-2' })
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials'])
  })

  it('on() returns an unsubscribe function; a throwing listener does not break the client', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    const seen: string[] = []
    tokens.on('token', () => {
      throw new Error('listener bug')
    })
    const off = tokens.on('token', ({ token }) => seen.push(token.access_token))
    await tokens.getToken()
    off()
    await tokens.invalidate()
    expect(seen).toEqual(['at-1'])
    expect(() => tokens.on('nope' as 'token', () => undefined)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }))
  })

  it('failures are reported through the error event', async () => {
    server.use(http.post(TOKEN_ENDPOINT, () => HttpResponse.json({ error: 'invalid_scope' }, { status: 400 })))
    const tokens = makeClient()
    const errors = record(tokens, 'error')
    await rejection(tokens.getToken())
    expect(errors).toEqual([{ error: expect.objectContaining({ error: 'invalid_scope' }), reason: 'missing', recovered: false }])
  })
})

describe('createTokenClient: discovery', () => {
  const issuer = 'https://id.test/auth'
  const metadata = { issuer, token_endpoint: TOKEN_ENDPOINT }

  it('discovers the token endpoint once under the issuer URL', async () => {
    const ts = mockTokenServer()
    let fetches = 0
    server.use(
      ts.handler,
      http.get(`${issuer}/.well-known/oauth-authorization-server`, () => {
        fetches++
        return HttpResponse.json(metadata)
      }),
    )
    const tokens = makeClient({ tokenEndpoint: undefined, issuer })
    await tokens.getToken()
    await tokens.invalidate()
    expect(fetches).toBe(1)
    expect(ts.calls).toHaveLength(2)
  })

  it('falls back to the RFC 8414 path-inserted form on 404', async () => {
    const ts = mockTokenServer()
    server.use(
      ts.handler,
      http.get(`${issuer}/.well-known/oauth-authorization-server`, () => new HttpResponse(null, { status: 404 })),
      http.get('https://id.test/.well-known/oauth-authorization-server/auth', () => HttpResponse.json(metadata)),
    )
    const tokens = makeClient({ tokenEndpoint: undefined, issuer })
    expect((await tokens.getToken()).access_token).toBe('at-1')
  })

  it('rejects metadata of another issuer, then retries discovery on the next call', async () => {
    let n = 0
    const ts = mockTokenServer()
    server.use(
      ts.handler,
      http.get(`${issuer}/.well-known/oauth-authorization-server`, () => {
        n++
        return HttpResponse.json(n === 1 ? { ...metadata, issuer: 'https://evil.test' } : metadata)
      }),
    )
    const tokens = makeClient({ tokenEndpoint: undefined, issuer })
    expect(await rejection(tokens.getToken())).toMatchObject({
      code: 'ERR_DISCOVERY',
      message: 'metadata "issuer" does not match the configured issuer',
    })
    expect((await tokens.getToken()).access_token).toBe('at-1')
  })

  it('metadata without token_endpoint or with a failing status → ERR_DISCOVERY', async () => {
    server.use(http.get(`${issuer}/.well-known/oauth-authorization-server`, () => HttpResponse.json({ issuer })))
    expect(await rejection(makeClient({ tokenEndpoint: undefined, issuer }).getToken())).toMatchObject({
      code: 'ERR_DISCOVERY',
      message: 'metadata has no "token_endpoint"',
    })
    server.use(http.get(`${issuer}/.well-known/oauth-authorization-server`, () => new HttpResponse('gone', { status: 410 })))
    expect(await rejection(makeClient({ tokenEndpoint: undefined, issuer }).getToken())).toMatchObject({
      code: 'ERR_DISCOVERY',
      message: 'metadata request failed with status 410',
    })
  })
})

describe('createTokenClient: options are checked at creation', () => {
  const base = { tokenEndpoint: TOKEN_ENDPOINT, clientId: 'billing', grant: 'client_credentials' as const }
  it.each([
    [{ ...base, tokenEndpoint: undefined }, 'ERR_INVALID_ARG_VALUE', 'exactly one of "tokenEndpoint" and "issuer" must be given'],
    [{ ...base, issuer: 'https://id.test' }, 'ERR_INVALID_ARG_VALUE', 'exactly one of "tokenEndpoint" and "issuer" must be given'],
    [{ ...base, tokenEndpoint: 'nope' }, 'ERR_INVALID_ARG_VALUE', '"tokenEndpoint" must be an absolute URL'],
    [{ ...base, clientId: '' }, 'ERR_INVALID_ARG_VALUE', '"clientId" must be a non-empty string'],
    [{ ...base, clientId: 1 }, 'ERR_INVALID_ARG_TYPE', '"clientId" must be a string'],
    [{ ...base, clientSecret: 'a', clientAuth: () => undefined }, 'ERR_INVALID_ARG_VALUE', '"clientAuth" and "clientSecret" cannot both be given'],
    [{ ...base, grant: 'implicit' }, 'ERR_INVALID_ARG_VALUE', '"grant" must be "client_credentials" or { type: "password", username, password }'],
    [{ ...base, grant: { type: 'password', username: '', password: 'x' } }, 'ERR_INVALID_ARG_VALUE', '"grant.username" must be a non-empty string'],
    [{ ...base, refreshSkew: -1 }, 'ERR_INVALID_ARG_VALUE', '"refreshSkew" must be a number from 0 to 2147483647'],
    [{ ...base, retry: { limit: 1.5 } }, 'ERR_INVALID_ARG_VALUE', '"retry.limit" must be an integer from 0 to 2147483647'],
    [{ ...base, cache: {} }, 'ERR_INVALID_ARG_TYPE', '"cache" must implement get, set and delete'],
    [{ ...base, resource: 'not a url' }, 'ERR_INVALID_ARG_VALUE', '"resource" must be an absolute URL'],
  ])('%o → %s', (options, code, message) => {
    expect(() => createTokenClient(options as unknown as TokenClientOptions)).toThrow(expect.objectContaining({ name: 'TypeError', code, message }))
  })
})

describe('createTokenClient: cache contents', () => {
  it('stores the entry under the hashed key, without secrets', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const cache = memoryCache()
    const set = vi.spyOn(cache, 'set')
    const tokens = makeClient({ cache, grant: { type: 'password', username: 'alice@example.com', password: 'hunter2' } })
    await tokens.getToken()
    const key = await tokenCacheKey({ endpoint: new URL(TOKEN_ENDPOINT).href, clientId: 'billing', subject: 'alice@example.com' })
    expect(set).toHaveBeenCalledWith(key, expect.objectContaining({ access_token: 'at-1', refresh_token: 'rt-1' }))
    const stored = JSON.stringify([key, cache.get(key)])
    for (const secret of ['s3cret', 'hunter2', 'alice@example.com']) expect(stored).not.toContain(secret)
  })
})
