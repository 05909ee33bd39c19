import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { authFetch, createAPIClient } from '../../src/client/index.js'
import type { TokenResult, TokenSource } from '../../src/client/index.js'
import { API, rejection, useServer } from './_helpers.js'

const server = useServer()

/** A token source double: current token, counts invalidations. */
function fakeTokens(initial = 't1') {
  let current = initial
  let n = 1
  const calls = { getToken: 0, invalidate: [] as (string | undefined)[] }
  const result = (token: string): TokenResult => ({ access_token: token, token_type: 'Bearer', expiresAt: null })
  const tokens: TokenSource = {
    async getToken() {
      calls.getToken++
      return result(current)
    },
    async invalidate(token) {
      calls.invalidate.push(token)
      if (token === undefined || token === current) current = `t${++n}`
      return result(current)
    },
  }
  return { tokens, calls }
}

const challenge = (params: string) => ({ status: 401, headers: { 'www-authenticate': params } })

describe('createAPIClient', () => {
  it('adds the bearer token and honours prefixUrl and other ky options', async () => {
    const { tokens } = fakeTokens()
    server.use(http.get(`${API}/v1/me`, ({ request }) => HttpResponse.json({ auth: request.headers.get('authorization'), x: request.headers.get('x-app') })))
    const api = createAPIClient({ prefixUrl: `${API}/v1`, tokens, headers: { 'x-app': 'test' } })
    expect(await api.get('me').json()).toEqual({ auth: 'Bearer t1', x: 'test' })
  })

  it('retries once on 401 invalid_token, replaying the body', async () => {
    const { tokens, calls } = fakeTokens()
    const bodies: string[] = []
    server.use(
      http.post(`${API}/items`, async ({ request }) => {
        bodies.push(await request.text())
        return request.headers.get('authorization') === 'Bearer t2'
          ? HttpResponse.json({ created: true }, { status: 201 })
          : new HttpResponse(null, challenge('Bearer realm="api", error="invalid_token"'))
      }),
    )
    const api = createAPIClient({ prefixUrl: API, tokens })
    expect(await api.post('items', { json: { name: 'x' } }).json()).toEqual({ created: true })
    expect(bodies).toEqual(['{"name":"x"}', '{"name":"x"}'])
    expect(calls.invalidate).toEqual(['t1'])
  })

  it('does not refresh on a 401 without invalid_token, on 403 insufficient_scope, or on other statuses', async () => {
    const { tokens, calls } = fakeTokens()
    server.use(
      http.get(`${API}/no-error`, () => new HttpResponse(null, challenge('Bearer realm="api"'))),
      http.get(`${API}/basic`, () => new HttpResponse(null, challenge('Basic realm="api", error="invalid_token"'))),
      http.get(`${API}/scope`, () => new HttpResponse(null, { status: 403, headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="a"' } })),
      http.get(`${API}/plain`, () => new HttpResponse(null, { status: 401 })),
    )
    const api = createAPIClient({ prefixUrl: API, tokens, retry: 0 })
    for (const path of ['no-error', 'basic', 'scope', 'plain']) {
      const err = await rejection(api.get(path))
      expect(err.name).toBe('HTTPError')
    }
    expect(calls.invalidate).toEqual([])
  })

  it('finds the Bearer challenge among several, with escaped quotes', async () => {
    const { tokens, calls } = fakeTokens()
    server.use(
      http.get(`${API}/multi`, ({ request }) =>
        request.headers.get('authorization') === 'Bearer t2'
          ? HttpResponse.json({ ok: 1 })
          : new HttpResponse(null, challenge(String.raw`DPoP algs="ES256", Bearer error_description="the \"token\", expired", error="invalid_token"`)),
      ),
    )
    const api = createAPIClient({ prefixUrl: API, tokens })
    expect(await api.get('multi').json()).toEqual({ ok: 1 })
    expect(calls.invalidate).toEqual(['t1'])
  })

  it('user hooks still run, after the gatepass hooks', async () => {
    const { tokens } = fakeTokens()
    const order: string[] = []
    server.use(
      http.get(`${API}/h`, ({ request }) =>
        request.headers.get('authorization') === 'Bearer t2' ? HttpResponse.json({}) : new HttpResponse(null, challenge('Bearer error="invalid_token"')),
      ),
    )
    const api = createAPIClient({
      prefixUrl: API,
      tokens,
      hooks: {
        beforeRequest: [(request) => void order.push(`before:${request.headers.get('authorization')}`)],
        afterResponse: [(_req, _opts, response) => void order.push(`after:${response.status}`)],
      },
    })
    await api.get('h')
    expect(order).toEqual(['before:Bearer t1', 'after:200'])
  })

  it('uses the ky `fetch` option for the retry too', async () => {
    const { tokens } = fakeTokens()
    const seen: string[] = []
    const api = createAPIClient({
      prefixUrl: API,
      tokens,
      fetch: async (input) => {
        const request = input as Request
        seen.push(request.headers.get('authorization')!)
        return seen.length === 1 ? new Response(null, challenge('Bearer error="invalid_token"')) : Response.json({ ok: true })
      },
    })
    expect(await api.get('anything').json()).toEqual({ ok: true })
    expect(seen).toEqual(['Bearer t1', 'Bearer t2'])
  })

  it('surfaces the token error when no new token can be obtained', async () => {
    const failure = Object.assign(new Error('invalid_client'), { code: 'ERR_RESPONSE_BODY' })
    const tokens: TokenSource = {
      getToken: async () => ({ access_token: 't1', token_type: 'Bearer', expiresAt: null }),
      invalidate: async () => {
        throw failure
      },
    }
    server.use(http.get(`${API}/z`, () => new HttpResponse(null, challenge('Bearer error="invalid_token"'))))
    expect(await rejection(createAPIClient({ prefixUrl: API, tokens }).get('z'))).toBe(failure)
    expect(await rejection(authFetch(tokens)(`${API}/z`))).toBe(failure)
  })

  it('rejects a missing token source', () => {
    expect(() => createAPIClient({ prefixUrl: API } as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"tokens" must have getToken and invalidate functions' }),
    )
  })
})

describe('authFetch', () => {
  it('adds the token, retries once on invalid_token with the body replayed', async () => {
    const { tokens, calls } = fakeTokens()
    const bodies: string[] = []
    server.use(
      http.put(`${API}/doc`, async ({ request }) => {
        bodies.push(await request.text())
        return request.headers.get('authorization') === 'Bearer t2' ? HttpResponse.json({ saved: true }) : new HttpResponse(null, challenge('Bearer error="invalid_token"'))
      }),
    )
    const f = authFetch(tokens)
    const response = await f(`${API}/doc`, { method: 'PUT', body: 'hello' })
    expect(await response.json()).toEqual({ saved: true })
    expect(bodies).toEqual(['hello', 'hello'])
    expect(calls.invalidate).toEqual(['t1'])
  })

  it('returns other responses untouched and uses a custom fetch', async () => {
    const { tokens, calls } = fakeTokens()
    const f = authFetch(tokens, async (request) => new Response(request.headers.get('authorization'), { status: 404 }))
    const response = await f('https://anywhere.test/x')
    expect(response.status).toBe(404)
    expect(await response.text()).toBe('Bearer t1')
    expect(calls.invalidate).toEqual([])
  })

  it('passes the request signal to getToken', async () => {
    let signal: AbortSignal | null | undefined
    const f = authFetch({
      getToken: async (options) => {
        signal = options?.signal
        return { access_token: 't', token_type: 'Bearer', expiresAt: null }
      },
      invalidate: async () => ({ access_token: 't', token_type: 'Bearer', expiresAt: null }),
    }, async () => new Response('ok'))
    const controller = new AbortController()
    await f('https://anywhere.test/x', { signal: controller.signal })
    controller.abort()
    expect(signal?.aborted).toBe(true)
  })
})
