/**
 * Real-browser tests (Debian Chromium, headless): a page on one origin uses `gatepass/client` to
 * obtain tokens from, and call a protected API on, another origin (CORS), and two tabs of one
 * origin share one refresh.
 */
import type { Browser, Page } from 'playwright-core'
import type * as gatepassClient from '../../src/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserAvailable, clientBundle, launchBrowser, startAPIServer, startPageServer, USER, type APIServer } from './_harness.js'

declare global {
  interface Window {
    gp: typeof gatepassClient
    gpReady: boolean
  }
}

describe.skipIf(!browserAvailable)('in Chromium', () => {
  let browser: Browser
  let pages: Awaited<ReturnType<typeof startPageServer>>
  let api: APIServer
  let allowedOrigin: string

  beforeAll(async () => {
    pages = await startPageServer(await clientBundle())
    // The page is served from http://localhost:<port>; the gateway from http://127.0.0.1:<other port>.
    allowedOrigin = `http://localhost:${pages.port}`
    api = await startAPIServer(allowedOrigin, 4)
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    await api?.close()
    await pages?.close()
  })

  async function open(origin: string, context = browser.newContext()): Promise<Page> {
    const page = await (await context).newPage()
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => window.gpReady === true)
    return page
  }

  it('an allowed origin obtains a token and reads the protected API', async () => {
    const page = await open(allowedOrigin)
    const result = await page.evaluate(async ({ url, user }) => {
      const tokens = window.gp.createTokenClient({ tokenEndpoint: `${url}/auth/token`, clientId: 'spa', grant: { type: 'password', ...user }, scope: 'orders:read', crossTab: false })
      const client = window.gp.createAPIClient({ prefixUrl: `${url}/apigateway/orders`, tokens })
      const token = await tokens.getToken()
      return { body: await client.get('items').json(), tokenType: token.token_type }
    }, { url: api.url, user: USER })
    expect(result).toEqual({ body: { subject: 'alice', scopes: ['orders:read'] }, tokenType: 'Bearer' })
    await page.context().close()
  })

  it('an allowed origin can read an error body (400 invalid_grant)', async () => {
    const page = await open(allowedOrigin)
    const result = await page.evaluate(async ({ url }) => {
      const tokens = window.gp.createTokenClient({ tokenEndpoint: `${url}/auth/token`, clientId: 'spa', grant: { type: 'password', username: 'alice', password: 'wrong' }, crossTab: false, retry: { limit: 0 } })
      try {
        await tokens.getToken()
        return null
      } catch (err) {
        const e = err as { code?: string; error?: string; status?: number; error_description?: string }
        return { code: e.code, error: e.error, status: e.status, description: e.error_description }
      }
    }, { url: api.url })
    expect(result).toEqual({ code: 'ERR_RESPONSE_BODY', error: 'invalid_grant', status: 400, description: 'invalid username or password' })
    await page.context().close()
  })

  it('a disallowed origin is blocked by the browser', async () => {
    const page = await open(`http://127.0.0.1:${pages.port}`)
    const result = await page.evaluate(async ({ url, user }) => {
      try {
        const response = await fetch(`${url}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', client_id: 'spa', ...user }),
        })
        return `read ${response.status}`
      } catch (err) {
        return (err as Error).name
      }
    }, { url: api.url, user: USER })
    expect(result).toBe('TypeError')
    await page.context().close()
  })

  it('two tabs of one origin make one token request, then one refresh between them', async () => {
    const context = await browser.newContext()
    const tabs = [await open(allowedOrigin, Promise.resolve(context)), await open(allowedOrigin, Promise.resolve(context))]
    const before = { ...api.grants }
    const setup = async (page: Page) =>
      page.evaluate(({ url, user }) => {
        const tokens = window.gp.createTokenClient({ tokenEndpoint: `${url}/auth/token`, clientId: 'spa', grant: { type: 'password', ...user }, refreshSkew: 1_500, jitter: 0 })
        ;(window as unknown as { tokens: typeof tokens }).tokens = tokens
      }, { url: api.url, user: USER })
    await Promise.all(tabs.map(setup))
    const get = (page: Page) => page.evaluate(async () => (await (window as unknown as { tokens: { getToken(): Promise<{ access_token: string }> } }).tokens.getToken()).access_token)

    const first = await Promise.all(tabs.map(get))
    expect(first[0]).toBe(first[1])
    expect((api.grants.password ?? 0) - (before.password ?? 0)).toBe(1)

    // 4 s tokens, refreshed 1.5 s before expiry: at 3 s both tabs want a new one.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const second = await Promise.all(tabs.map(get))
    expect(second[0]).toBe(second[1])
    expect(second[0]).not.toBe(first[0])
    expect((api.grants.refresh_token ?? 0) - (before.refresh_token ?? 0)).toBe(1)
    expect((api.grants.password ?? 0) - (before.password ?? 0)).toBe(1)
    await context.close()
  })

  it('keeps the token in sessionStorage across a reload of the tab, without the password', async () => {
    const page = await open(allowedOrigin)
    const before = api.grants.password ?? 0
    const obtain = () =>
      page.evaluate(async ({ url, user }) => {
        const tokens = window.gp.createTokenClient({ tokenEndpoint: `${url}/auth/token`, clientId: 'spa', grant: { type: 'password', ...user }, cache: window.gp.webStorageCache(sessionStorage), crossTab: false })
        return (await tokens.getToken()).access_token
      }, { url: api.url, user: USER })
    const first = await obtain()
    await page.reload()
    await page.waitForFunction(() => window.gpReady === true)
    expect(await obtain()).toBe(first)
    expect((api.grants.password ?? 0) - before).toBe(1)
    const stored = await page.evaluate(() => JSON.stringify(Object.fromEntries(Object.entries(sessionStorage))))
    expect(stored).toContain(first)
    expect(stored).not.toContain(USER.password)
    await page.context().close()
  })
})
