import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { createTokenClient, type TokenClient, type TokenClientOptions } from '../../src/client/index.js'

export const TOKEN_ENDPOINT = 'https://id.test/auth/token'
export const API = 'https://api.test'

/** Sets up an msw server for the file: unhandled requests fail the test. */
export function useServer() {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())
  return server
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** An unsigned-looking JWT (decodeJwt does not verify). */
export function fakeJWT(claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64url(claims)}.c2ln`
}

export interface TokenCall {
  grant_type: string | null
  params: URLSearchParams
  authorization: string | null
  contentType: string | null
  accept: string | null
}

export interface MockTokenServerOptions {
  /** expires_in of issued tokens (seconds). Default 3600. */
  expiresIn?: number
  /** Issue refresh tokens. Default true. */
  refresh?: boolean
  /** Respond with this instead (per call index); return undefined for the default. */
  override?: (call: TokenCall, index: number) => Response | undefined | Promise<Response | undefined>
}

/** A token endpoint that counts calls and issues `at-1`, `at-2`, … and `rt-1`, `rt-2`, … */
export function mockTokenServer(options: MockTokenServerOptions = {}) {
  const calls: TokenCall[] = []
  let issued = 0
  const validRefresh = new Set<string>()
  const handler = http.post(TOKEN_ENDPOINT, async ({ request }) => {
    const params = new URLSearchParams(await request.text())
    const call: TokenCall = {
      grant_type: params.get('grant_type'),
      params,
      authorization: request.headers.get('authorization'),
      contentType: request.headers.get('content-type'),
      accept: request.headers.get('accept'),
    }
    const index = calls.push(call) - 1
    const override = await options.override?.(call, index)
    if (override) return override
    if (call.grant_type === 'refresh_token') {
      const rt = params.get('refresh_token')!
      if (!validRefresh.has(rt)) return HttpResponse.json({ error: 'invalid_grant', error_description: 'refresh token is invalid' }, { status: 400 })
      validRefresh.delete(rt)
    }
    issued++
    const body: Record<string, unknown> = { access_token: `at-${issued}`, token_type: 'Bearer', expires_in: options.expiresIn ?? 3600 }
    if (options.refresh !== false) {
      body.refresh_token = `rt-${issued}`
      validRefresh.add(`rt-${issued}`)
    }
    return HttpResponse.json(body, { headers: { 'cache-control': 'no-store' } })
  })
  return {
    handler,
    calls,
    get issued() {
      return issued
    },
    revokeRefreshTokens() {
      validRefresh.clear()
    },
  }
}

/** A manual clock. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  let t = start
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
    set(ms: number) {
      t = ms
    },
  }
}

/** Awaits a promise expected to reject and returns the reason. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary error fields
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

/**
 * A client_credentials token client for `billing` at {@link TOKEN_ENDPOINT} (no jitter, no
 * cross-tab), closed after each test of the file that calls this once at the top.
 */
export function useTokenClients(defaults: Partial<TokenClientOptions> = {}): (overrides?: Partial<TokenClientOptions>) => TokenClient {
  const clients: TokenClient[] = []
  afterEach(() => {
    for (const c of clients.splice(0)) c.close()
  })
  return (overrides = {}) => {
    const client = createTokenClient({ tokenEndpoint: TOKEN_ENDPOINT, clientId: 'billing', clientSecret: 's3cret', grant: 'client_credentials', jitter: 0, crossTab: false, ...defaults, ...overrides })
    clients.push(client)
    return client
  }
}
