import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { authFetch, createAPIClient } from '../../src/client/index.js'
import { API, manualClock, mockTokenServer, rejection, useServer, useTokenClients } from './_helpers.js'

const server = useServer()
const makeClient = useTokenClients()

function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

/** A protected API that accepts only the tokens in `valid` and counts what it saw. */
function protectedAPI(valid: Set<string>) {
  const seen: string[] = []
  const handler = http.all(`${API}/*`, async ({ request }) => {
    const token = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
    seen.push(token)
    if (!valid.has(token)) {
      return new HttpResponse(null, {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="api", error="invalid_token", error_description="token revoked"' },
      })
    }
    const body = request.method === 'POST' ? await request.text() : null
    return HttpResponse.json({ ok: true, body })
  })
  return { handler, seen }
}

describe('single-flight', () => {
  it('1,000 concurrent getToken() calls with an empty cache → exactly 1 token request', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    const results = await Promise.all(Array.from({ length: 1000 }, () => tokens.getToken()))
    expect(ts.calls).toHaveLength(1)
    expect(new Set(results.map((r) => r.access_token))).toEqual(new Set(['at-1']))
  })

  it('1,000 concurrent getToken() calls at expiry → exactly 1 token request', async () => {
    const ts = mockTokenServer({ expiresIn: 60 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    await tokens.getToken()
    clock.advance(60_000)
    const results = await Promise.all(Array.from({ length: 1000 }, () => tokens.getToken()))
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token'])
    expect(new Set(results.map((r) => r.access_token))).toEqual(new Set(['at-2']))
  })

  it('1,000 concurrent calls inside the skew window → exactly 1 refresh', async () => {
    const ts = mockTokenServer({ expiresIn: 3600 })
    server.use(ts.handler)
    const clock = manualClock()
    const tokens = makeClient({ now: clock.now })
    await tokens.getToken()
    clock.advance(3_600_000 - 1_000)
    await Promise.all(Array.from({ length: 1000 }, () => tokens.getToken()))
    expect(ts.calls).toHaveLength(2)
  })

  it('100 concurrent invalidate(sameOldToken) → exactly 1 refresh', async () => {
    const ts = mockTokenServer()
    server.use(ts.handler)
    const tokens = makeClient()
    const { access_token } = await tokens.getToken()
    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.invalidate(access_token)))
    expect(ts.calls).toHaveLength(2)
    expect(new Set(results.map((r) => r.access_token))).toEqual(new Set(['at-2']))
  })

  it('aborting one caller rejects that caller only; the shared request goes on', async () => {
    const g = gate()
    const ts = mockTokenServer({
      override: async () => {
        await g.opened
        return undefined
      },
    })
    server.use(ts.handler)
    const tokens = makeClient()
    const controller = new AbortController()
    const aborted = tokens.getToken({ signal: controller.signal })
    const other = tokens.getToken()
    await expect.poll(() => ts.calls.length).toBe(1)
    controller.abort(new Error('navigated away'))
    expect(await rejection(aborted)).toMatchObject({ code: 'ERR_ABORTED' })
    expect(tokens.reloading).toBe(true)
    g.open()
    expect((await other).access_token).toBe('at-1')
    expect((await tokens.getToken()).access_token).toBe('at-1')
    expect(ts.calls).toHaveLength(1)
  })

  it('a failed shared request rejects every waiting caller once, and the next call retries', async () => {
    let fail = true
    const ts = mockTokenServer({ override: () => (fail ? HttpResponse.json({ error: 'invalid_client' }, { status: 401 }) : undefined) })
    server.use(ts.handler)
    const tokens = makeClient()
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => tokens.getToken()))
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as { error: string }).error === 'invalid_client')).toBe(true)
    expect(ts.calls).toHaveLength(1)
    fail = false
    expect((await tokens.getToken()).access_token).toBe('at-1')
  })
})

it('100 concurrent invalidate() whose shared refresh fails → every caller rejects, no extra attempts', async () => {
  const ts = mockTokenServer({ override: (_c, i) => (i > 0 ? HttpResponse.json({ error: 'invalid_client' }, { status: 401 }) : undefined) })
  server.use(ts.handler)
  const tokens = makeClient()
  const { access_token } = await tokens.getToken()
  const settled = await Promise.allSettled(Array.from({ length: 100 }, () => tokens.invalidate(access_token)))
  expect(settled.every((s) => s.status === 'rejected' && (s.reason as { error: string }).error === 'invalid_client')).toBe(true)
  // refresh rejected (4xx) → one full exchange, also rejected; nothing else
  expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token', 'client_credentials'])
})

describe('401 invalid_token through createAPIClient / authFetch', () => {
  it('100 concurrent API calls that all get 401 for the same old token → exactly 1 refresh', async () => {
    const ts = mockTokenServer()
    const valid = new Set<string>()
    const api = protectedAPI(valid)
    server.use(ts.handler, api.handler)
    const tokens = makeClient()
    await tokens.getToken() // at-1, which the API does not accept (revoked)
    valid.add('at-2')
    const client = createAPIClient({ prefixUrl: API, tokens, retry: 0 })
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client.get(`items/${i}`).json<{ ok: boolean }>()))
    expect(results.every((r) => r.ok)).toBe(true)
    expect(ts.calls.map((c) => c.grant_type)).toEqual(['client_credentials', 'refresh_token'])
    expect(api.seen.filter((t) => t === 'at-1')).toHaveLength(100)
    expect(api.seen.filter((t) => t === 'at-2')).toHaveLength(100)
  })

  it('the same with authFetch', async () => {
    const ts = mockTokenServer()
    const valid = new Set<string>()
    const api = protectedAPI(valid)
    server.use(ts.handler, api.handler)
    const tokens = makeClient()
    await tokens.getToken()
    valid.add('at-2')
    const fetchWithToken = authFetch(tokens)
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => fetchWithToken(`${API}/items/${i}`)))
    expect(responses.every((r) => r.status === 200)).toBe(true)
    expect(ts.calls).toHaveLength(2)
  })

  it('a straggler 401 for an old token does not refresh; it is retried with the current token', async () => {
    const ts = mockTokenServer()
    const valid = new Set<string>(['at-1'])
    const g = gate()
    let stalled = false
    const seen: string[] = []
    server.use(
      ts.handler,
      http.get(`${API}/slow`, async ({ request }) => {
        const token = request.headers.get('authorization')!.replace('Bearer ', '')
        seen.push(token)
        if (token === 'at-1' && !stalled) {
          stalled = true
          await g.opened
        }
        return valid.has(token)
          ? HttpResponse.json({ token })
          : new HttpResponse(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
      }),
    )
    const tokens = makeClient()
    const client = createAPIClient({ prefixUrl: API, tokens, retry: 0 })
    const slow = client.get('slow').json<{ token: string }>()
    await expect.poll(() => stalled).toBe(true)
    // meanwhile the token is rotated (another request saw a 401, or a proactive refresh)
    expect((await tokens.invalidate('at-1')).access_token).toBe('at-2')
    valid.delete('at-1')
    valid.add('at-2')
    g.open()
    expect(await slow).toEqual({ token: 'at-2' })
    expect(seen).toEqual(['at-1', 'at-2'])
    expect(ts.calls).toHaveLength(2) // initial + the one rotation; the straggler caused none
  })

  it('never loops: a second 401 after the retry is returned as an error', async () => {
    const ts = mockTokenServer()
    const api = protectedAPI(new Set())
    server.use(ts.handler, api.handler)
    const tokens = makeClient()
    const client = createAPIClient({ prefixUrl: API, tokens, retry: 0 })
    const err = await rejection(client.get('x'))
    expect(err.name).toBe('HTTPError')
    expect(err.response.status).toBe(401)
    expect(api.seen).toEqual(['at-1', 'at-2'])
    expect(ts.calls).toHaveLength(2)

    const plain = authFetch(tokens)
    const response = await plain(`${API}/y`)
    expect(response.status).toBe(401)
    expect(api.seen.slice(2)).toEqual(['at-2', 'at-3'])
  })
})
