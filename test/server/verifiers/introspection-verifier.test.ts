import { delay, http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createIntrospectionVerifier } from '../../../src/server/verifiers/index.js'
import type { IntrospectionVerifier, IntrospectionVerifierOptions, VerifierFetchEvent } from '../../../src/server/verifiers/index.js'
import { AUDIENCE, ISSUER, T0, T0_SECONDS } from './_fixtures.js'

const ENDPOINT = 'https://as.example/auth/introspect'

interface Seen {
  method: string
  authorization: string | null
  contentType: string | null
  body: Record<string, string>
}

/** Answers by token; unknown tokens are inactive. */
let answers: Map<string, Record<string, unknown>>
let seen: Seen[]

const server = setupServer(
  http.post(ENDPOINT, async ({ request }) => {
    const body = Object.fromEntries(new URLSearchParams(await request.text()))
    seen.push({ method: request.method, authorization: request.headers.get('authorization'), contentType: request.headers.get('content-type'), body })
    return HttpResponse.json(answers.get(body.token!) ?? { active: false })
  }),
)

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(T0)
  seen = []
  answers = new Map([
    [
      'opaque-1',
      { active: true, client_id: 'mobile-app', username: 'alice', sub: 'alice', scope: 'orders:read orders:write', aud: AUDIENCE, exp: T0_SECONDS + 300, token_type: 'Bearer' },
    ],
  ])
})
afterEach(() => {
  server.resetHandlers()
  vi.useRealTimers()
})
afterAll(() => server.close())

function verifier(options: Partial<IntrospectionVerifierOptions> = {}) {
  return createIntrospectionVerifier({ endpoint: ENDPOINT, clientId: 'orders-api', clientSecret: 's3cret', ...options })
}

function bearer(token: string): Request {
  return new Request('https://api.example/orders', { headers: { authorization: `Bearer ${token}` } })
}

async function rejects(promise: Promise<unknown>, code: string, message: string) {
  await expect(promise).rejects.toMatchObject({ code, message })
}

describe('createIntrospectionVerifier: options', () => {
  it.each([
    [{ endpoint: 'introspect' }, 'ERR_INVALID_ARG_VALUE', '"endpoint" must be an absolute http(s) URL'],
    [{ endpoint: 5 }, 'ERR_INVALID_ARG_TYPE', '"endpoint" must be a URL string or a URL'],
    [{ clientId: '' }, 'ERR_INVALID_ARG_VALUE', '"clientId" must be a non-empty string'],
    [{ clientSecret: undefined }, 'ERR_INVALID_ARG_TYPE', '"clientSecret" must be a non-empty string'],
    [{ audience: [''] }, 'ERR_INVALID_ARG_VALUE', '"audience" must contain non-empty strings only'],
    [{ requiredScopes: 'orders:read orders:write' }, 'ERR_INVALID_ARG_VALUE', '"requiredScopes" entries must not contain spaces'],
    [{ cacheMaxAge: -1 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 3,600,000 (ms)'],
    // 30 years: a token without exp would stay cached, its revocation unseen.
    [{ cacheMaxAge: 1e12 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 3,600,000 (ms)'],
    [{ cacheMaxAge: Infinity }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxAge" must be a number from 0 to 3,600,000 (ms)'],
    [{ cacheMaxAge: '30s' }, 'ERR_INVALID_ARG_TYPE', '"cacheMaxAge" must be a number from 0 to 3,600,000 (ms)'],
    [{ cacheMaxEntries: 1.5 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxEntries" must be an integer from 0 to 10,000,000'],
    [{ cacheMaxEntries: 10_000_001 }, 'ERR_INVALID_ARG_VALUE', '"cacheMaxEntries" must be an integer from 0 to 10,000,000'],
    [{ timeoutDuration: Infinity }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    // 0 would abort every request at once; beyond setTimeout's limit the timer fires after 1 ms.
    [{ timeoutDuration: 0 }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ timeoutDuration: 3e9 }, 'ERR_INVALID_ARG_VALUE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ timeoutDuration: '5000' }, 'ERR_INVALID_ARG_TYPE', '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
    [{ realm: '' }, 'ERR_INVALID_ARG_VALUE', '"realm" must be a non-empty string'],
  ])('%j → %s', (bad, code, message) => {
    expect(() => verifier(bad as Partial<IntrospectionVerifierOptions>)).toThrow(expect.objectContaining({ name: 'TypeError', code, message }))
  })

  it.each([null, 42, []])('options %j → ERR_INVALID_ARG_TYPE', (bad) => {
    expect(() => createIntrospectionVerifier(bad as unknown as IntrospectionVerifierOptions)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"options" must be an object' }),
    )
  })

  it('accepts the bounds of every range', () => {
    expect(() => verifier({ cacheMaxAge: 0, cacheMaxEntries: 0, timeoutDuration: 1 })).not.toThrow()
    expect(() => verifier({ cacheMaxAge: 3_600_000, cacheMaxEntries: 10_000_000, timeoutDuration: 2_147_483_647 })).not.toThrow()
    expect(seen).toHaveLength(0)
  })

  it('timeoutDuration 2,147,483,647 (the most) does not abort a request at once', async () => {
    await expect(verifier({ timeoutDuration: 2_147_483_647 }).verify('opaque-1')).resolves.toMatchObject({ subject: 'alice' })
  })
})

describe('createIntrospectionVerifier: request', () => {
  it('POSTs token + token_type_hint with HTTP Basic (RFC 6749 §2.3.1 form-urlencoding first)', async () => {
    await verifier({ clientId: 'my client', clientSecret: 'p@ss:w/rd+ü~' }).verify('opaque-1')
    expect(seen).toEqual([
      {
        method: 'POST',
        authorization: `Basic ${btoa('my+client:p%40ss%3Aw%2Frd%2B%C3%BC%7E')}`,
        contentType: 'application/x-www-form-urlencoded',
        body: { token: 'opaque-1', token_type_hint: 'access_token' },
      },
    ])
  })
})

describe('createIntrospectionVerifier: answers', () => {
  it('active opaque token → principal (claims null when the answer is not an access-token claims set)', async () => {
    await expect(verifier().verify('opaque-1')).resolves.toEqual({
      subject: 'alice',
      clientId: 'mobile-app',
      scopes: ['orders:read', 'orders:write'],
      audience: [AUDIENCE],
      kind: 'opaque',
      expiresAt: (T0_SECONDS + 300) * 1000,
      username: 'alice',
      claims: null,
    })
  })

  it('active JWT → kind jwt, claims parsed from the answer', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln'
    answers.set(jwt, { active: true, iss: ISSUER, sub: 'svc', aud: [AUDIENCE], client_id: 'svc', jti: 'j1', iat: T0_SECONDS, exp: T0_SECONDS + 60 })
    const principal = await verifier().verify(jwt)
    expect(principal).toMatchObject({ kind: 'jwt', subject: 'svc', clientId: 'svc', scopes: [], username: null })
    expect(principal.claims).toMatchObject({ iss: ISSUER, jti: 'j1', active: true })
  })

  it('inactive → ERR_TOKEN_INACTIVE; check() → 401 invalid_token', async () => {
    await rejects(verifier().verify('revoked'), 'ERR_TOKEN_INACTIVE', 'the access token is not active')
    const result = await verifier().check(bearer('revoked'))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(401)
    expect(result.response.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token", error_description="the access token is not active"')
  })

  it('an active answer for a refresh token counts as inactive', async () => {
    answers.set('refresh-1', { active: true, client_id: 'c', token_type: 'refresh_token' })
    await rejects(verifier().verify('refresh-1'), 'ERR_TOKEN_INACTIVE', 'the access token is not active')
  })

  it('the principal is frozen (shared through the cache)', async () => {
    const principal = await verifier().verify('opaque-1')
    expect(Object.isFrozen(principal) && Object.isFrozen(principal.scopes)).toBe(true)
  })

  it('check() with no token → 401 without error code; ok with a principal', async () => {
    const v = verifier({ audience: AUDIENCE })
    const none = await v.check(new Request('https://api.example/orders'))
    if (none.ok) throw new Error('expected a failure')
    expect(none.response.status).toBe(401)
    expect(none.response.headers.get('www-authenticate')).toBe('Bearer realm="orders-api"')
    expect(seen).toHaveLength(0)
    const ok = await v.check(bearer('opaque-1'))
    expect(ok.ok && ok.principal.clientId).toBe('mobile-app')
  })

  it('audience: must intersect when configured', async () => {
    await expect(verifier({ audience: ['billing-api', AUDIENCE] }).verify('opaque-1')).resolves.toMatchObject({ audience: [AUDIENCE] })
    const err = verifier({ audience: 'billing-api' }).verify('opaque-1')
    await expect(err).rejects.toMatchObject({ code: 'ERR_INVALID_TOKEN_CLAIM', claim: 'aud', message: 'unexpected "aud" claim value' })
    answers.set('no-aud', { active: true, client_id: 'c' })
    await rejects(verifier({ audience: AUDIENCE }).verify('no-aud'), 'ERR_INVALID_TOKEN_CLAIM', 'unexpected "aud" claim value')
    await expect(verifier().verify('no-aud')).resolves.toMatchObject({ subject: 'c', audience: [] })
  })

  it('required scopes → ERR_INSUFFICIENT_SCOPE; check() → 403 insufficient_scope with scope', async () => {
    const v = verifier({ requiredScopes: ['orders:admin'], realm: 'orders' })
    await expect(v.verify('opaque-1')).rejects.toMatchObject({ code: 'ERR_INSUFFICIENT_SCOPE', scope: ['orders:admin'] })
    const result = await v.check(bearer('opaque-1'))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(403)
    expect(result.response.headers.get('www-authenticate')).toBe(
      'Bearer realm="orders", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:admin"',
    )
    await expect(verifier({ requiredScopes: ['orders:write'] }).verify('opaque-1')).resolves.toMatchObject({ subject: 'alice' })
  })
})

describe('createIntrospectionVerifier: cache', () => {
  /** `token` is answered from the cache until `age` ms after T0, and asked about again then. */
  async function expectCachedFor(v: IntrospectionVerifier, token: string, age: number) {
    await v.verify(token)
    await v.verify(token)
    vi.setSystemTime(T0 + age - 1)
    await v.verify(token)
    expect(seen).toHaveLength(1)
    vi.setSystemTime(T0 + age)
    await v.verify(token)
    expect(seen).toHaveLength(2)
  }

  it('an active answer is reused for cacheMaxAge', async () => {
    await expectCachedFor(verifier(), 'opaque-1', 30_000)
  })

  it('cacheMaxAge 3,600,000 (the most): a token without exp is reused for an hour, then asked about again', async () => {
    answers.set('no-exp', { active: true, client_id: 'c' })
    await expectCachedFor(verifier({ cacheMaxAge: 3_600_000 }), 'no-exp', 3_600_000)
  })

  it('never past the token exp', async () => {
    answers.set('short', { active: true, client_id: 'c', exp: T0_SECONDS + 10 })
    const v = verifier({ cacheMaxAge: 60_000 })
    await v.verify('short')
    vi.setSystemTime(T0 + 9_000)
    await v.verify('short')
    expect(seen).toHaveLength(1)
    vi.setSystemTime(T0 + 10_000)
    // The entry is gone; even an (erroneous) active answer with a past exp is refused.
    await rejects(v.verify('short'), 'ERR_TOKEN_INACTIVE', 'the access token is not active')
    expect(seen).toHaveLength(2)
  })

  it('an inactive answer is cached for 5 s at most', async () => {
    const v = verifier()
    await rejects(v.verify('revoked'), 'ERR_TOKEN_INACTIVE', 'the access token is not active')
    vi.setSystemTime(T0 + 4_999)
    await rejects(v.verify('revoked'), 'ERR_TOKEN_INACTIVE', 'the access token is not active')
    expect(seen).toHaveLength(1)
    vi.setSystemTime(T0 + 5_000)
    answers.set('revoked', { active: true, client_id: 'c' })
    await expect(v.verify('revoked')).resolves.toMatchObject({ clientId: 'c' })
    expect(seen).toHaveLength(2)
  })

  it('cacheMaxAge 0 disables the cache', async () => {
    const v = verifier({ cacheMaxAge: 0 })
    await v.verify('opaque-1')
    await v.verify('opaque-1')
    expect(seen).toHaveLength(2)
  })

  it('bounded by cacheMaxEntries (LRU)', async () => {
    for (const t of ['a', 'b', 'c']) answers.set(t, { active: true, client_id: t })
    const v = verifier({ cacheMaxEntries: 2 })
    for (const t of ['a', 'b', 'c']) await v.verify(t)
    await v.verify('c')
    await v.verify('b')
    expect(seen).toHaveLength(3)
    await v.verify('a')
    expect(seen).toHaveLength(4)
  })

  it('concurrent verifications of one token share one request', async () => {
    server.use(
      http.post(ENDPOINT, async ({ request }) => {
        seen.push({ method: request.method, authorization: null, contentType: null, body: {} })
        await delay(20)
        return HttpResponse.json(answers.get('opaque-1'))
      }),
    )
    const v = verifier()
    const principals = await Promise.all(Array.from({ length: 50 }, () => v.verify('opaque-1')))
    expect(principals).toHaveLength(50)
    expect(seen).toHaveLength(1)
  })

  it('on Cloudflare Workers, concurrent callers do not await each other\'s request', async () => {
    vi.stubGlobal('WebSocketPair', class {})
    try {
      const v = verifier({ cacheMaxAge: 0 })
      await Promise.all([v.verify('opaque-1'), v.verify('opaque-1')])
      expect(seen).toHaveLength(2)
    } finally {
      vi.unstubAllGlobals()
    }
  })
})

describe('createIntrospectionVerifier: onFetch', () => {
  it('tells each introspection request with its status and duration, never the token or the secret', async () => {
    const events: VerifierFetchEvent[] = []
    const v = verifier({ cacheMaxAge: 0, onFetch: (e) => events.push(e) })
    await v.verify('opaque-1')
    server.use(http.post(ENDPOINT, () => HttpResponse.json({ error: 'server_error' }, { status: 502 })))
    await expect(v.verify('opaque-1')).rejects.toMatchObject({ code: 'ERR_VERIFIER_UNAVAILABLE' })
    expect(events.map(({ kind, url, status }) => ({ kind, url, status }))).toEqual([
      { kind: 'introspection', url: ENDPOINT, status: 200 },
      { kind: 'introspection', url: ENDPOINT, status: 502 },
    ])
    expect(JSON.stringify(events)).not.toMatch(/opaque-1|s3cret/)
  })
})

describe('createIntrospectionVerifier: endpoint failures fail closed', () => {
  it.each([
    ['500', () => HttpResponse.json({ error: 'server_error' }, { status: 500 }), 'the introspection endpoint is unavailable'],
    ['401 (our credentials refused)', () => HttpResponse.json({ error: 'invalid_client' }, { status: 401 }), 'the introspection endpoint is unavailable'],
    ['network error', () => HttpResponse.error(), 'the introspection endpoint is unavailable'],
    ['not JSON', () => new HttpResponse('<html>', { status: 200, headers: { 'content-type': 'text/html' } }), 'the introspection endpoint is unavailable'],
    ['no "active"', () => HttpResponse.json({ client_id: 'c' }), 'the introspection response is invalid'],
  ])('%s → verify() ERR_VERIFIER_UNAVAILABLE, check() 503 temporarily_unavailable', async (_name, respond, message) => {
    server.use(
      http.post(ENDPOINT, () => {
        seen.push({ method: 'POST', authorization: null, contentType: null, body: {} })
        return respond()
      }),
    )
    const v = verifier()
    await rejects(v.verify('opaque-1'), 'ERR_VERIFIER_UNAVAILABLE', message)
    const result = await v.check(bearer('opaque-1'))
    if (result.ok) throw new Error('expected a failure')
    expect(result.response.status).toBe(503)
    expect(result.response.headers.get('www-authenticate')).toBeNull()
    expect(result.response.headers.get('cache-control')).toBe('no-store')
    expect(await result.response.json()).toEqual({ error: 'temporarily_unavailable', error_description: message })
    expect(seen).toHaveLength(2) // failures are not cached
  })

  it('status is kept on the error', async () => {
    server.use(http.post(ENDPOINT, () => new HttpResponse(null, { status: 502 })))
    await expect(verifier().verify('opaque-1')).rejects.toMatchObject({ code: 'ERR_VERIFIER_UNAVAILABLE', status: 502 })
  })

  it('timeout → ERR_VERIFIER_UNAVAILABLE', async () => {
    server.use(
      http.post(ENDPOINT, async () => {
        await delay(500)
        return HttpResponse.json({ active: true })
      }),
    )
    await rejects(verifier({ timeoutDuration: 50 }).verify('opaque-1'), 'ERR_VERIFIER_UNAVAILABLE', 'the introspection endpoint is unavailable')
  })

  it('concurrent callers share one failing request', async () => {
    server.use(
      http.post(ENDPOINT, async () => {
        seen.push({ method: 'POST', authorization: null, contentType: null, body: {} })
        await delay(20)
        return new HttpResponse(null, { status: 503 })
      }),
    )
    const v = verifier()
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => v.verify('opaque-1')))
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ERR_VERIFIER_UNAVAILABLE')).toBe(true)
    expect(seen).toHaveLength(1)
  })
})
