import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { createTokenService, hashClientSecret, hashPassword, type TokenService } from '../../src/server/index.js'
import { serve, type ServeResult } from '../../src/server/node/index.js'

export const CHROMIUM = '/usr/bin/chromium'

/** Browser tests run where Chromium is installed, and always under CI (where .ci/run installs it). */
export const browserAvailable = existsSync(CHROMIUM) || process.env.CI === 'true'

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** The client entry bundled for the browser, as the page loads it. */
export async function clientBundle(): Promise<string> {
  const result = await build({ entryPoints: ['src/client/index.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' })
  return result.outputFiles[0]!.text
}

/** Serves a page that exposes the client as `window.gp`, on a host of our choice. */
export async function startPageServer(bundle: string): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>gatepass</title><script type="module">import * as gp from "/client.js"; window.gp = gp; window.gpReady = true</script>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

export const USER = { username: 'alice', password: 'alice-browser-password' }
export const SECRET = 'spa-browser-secret'

export interface APIServer {
  url: string
  service: TokenService
  /** Token-endpoint requests by grant type. */
  grants: Record<string, number>
  close(): Promise<void>
}

/**
 * A gatepass gateway on 127.0.0.1: token endpoints for a public SPA client (password grant with
 * refresh) and a protected API at /apigateway/orders, with CORS for `allowedOrigin` only.
 */
export async function startAPIServer(allowedOrigin: string, accessTokenTtl = 3600): Promise<APIServer> {
  const cors = { allowOrigins: [allowedOrigin], allowMethods: ['GET', 'POST'], allowHeaders: ['authorization', 'content-type'], exposeHeaders: ['www-authenticate'] }
  const service = createTokenService({
    environment: { name: 'browser', issuer: 'http://127.0.0.1', cors },
    proxies: [
      {
        name: 'orders',
        clientId: 'spa',
        clientSecret: await hashClientSecret(SECRET),
        tokenPolicy: { grants: ['password'], publicClients: true, accessTokenTtl, refresh: { enabled: true }, scopes: 'lenient', allowedScopes: ['orders:read'] },
        cors,
      },
    ],
    users: [{ username: USER.username, passwordHash: await hashPassword(USER.password, { iterations: 1000 }), roles: ['orders:read'] }],
  })
  const grants: Record<string, number> = {}
  const api = service.protect('orders', (_request, principal) => Response.json({ subject: principal.subject, scopes: principal.scopes }))
  const server: ServeResult = await serve(async (request, context) => {
    const url = new URL(request.url)
    if (url.pathname.startsWith('/apigateway/orders')) return api(request, context)
    if (url.pathname === '/auth/token' && request.method === 'POST') {
      const grant = new URLSearchParams(await request.clone().text()).get('grant_type') ?? 'none'
      grants[grant] = (grants[grant] ?? 0) + 1
    }
    return service.fetch(request, context)
  }, { port: 0, host: '127.0.0.1' })
  return {
    url: server.url,
    service,
    grants,
    close: async () => {
      await server.close()
      await service.close()
    },
  }
}
