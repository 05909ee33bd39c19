/**
 * Helpers of the validation tests (guard, protect, proxy, introspection, revocation): token
 * issuance shortcuts, Bearer requests and exact RFC 6750 challenge assertions. Not collected on its
 * own (leading `_`).
 */
import { base64url, importJWK, type JWK } from 'jose'
import { expect } from 'vitest'
import { createMemoryStore, type TokenService, type TokenStore } from '../../../src/server/index.js'
import { basic, CLIENT_SECRETS, creds, expectToken, ISSUER, makeService, post, type TestConfig, type TokenBody, type TestService } from '../_fixtures.js'

export { AUD, basic, creds, digestOf, expectError, expectToken, HASHES, ISSUER, makeService, PASSWORDS, policyOf, post, SECRETS, T0, testClock, testConfig } from '../_fixtures.js'
export type { TestConfig, TestService, TokenBody } from '../_fixtures.js'

/**
 * Adds the ACL-managed targets the validation tests need to the shared fixture config:
 * - proxy `payments` (ACL-managed, JWT) and proxy `ledger` in the ACL-managed group `vault`;
 * - proxy `archive` (ACL-managed), granted to `globex`, whose tokens are opaque;
 * - grants of `acme` on `payments` and `vault`.
 */
export function withACL(config: TestConfig): void {
  config.groups.push({ name: 'vault', tokenPolicy: { management: 'acl' } })
  config.proxies.push(
    { name: 'payments', tokenPolicy: { management: 'acl' } },
    { name: 'ledger', group: 'vault', tokenPolicy: { management: 'acl' } },
    { name: 'archive', tokenPolicy: { management: 'acl' } },
  )
  const acme = config.credentials.find((c) => c.clientId === 'acme')!
  ;(acme.grants as unknown[]).push({ proxy: 'payments' }, { group: 'vault' })
  const globex = config.credentials.find((c) => c.clientId === 'globex')!
  ;(globex.grants as unknown[]).push({ proxy: 'archive' })
  globex.tokenPolicy = { management: 'acl', format: 'opaque', refresh: { enabled: true } }
}

/** A service over the fixture config plus {@link withACL}, then `edit`. */
export function makeACLService(edit?: (config: TestConfig) => void, options: Parameters<typeof makeService>[1] = {}): TestService {
  return makeService((c) => {
    withACL(c)
    edit?.(c)
  }, options)
}

/** A GET to an API path with `Authorization: Bearer <token>` (or no header when `token` is null). */
export function apiRequest(token: string | null, options: { path?: string; method?: string; headers?: Record<string, string>; body?: BodyInit } = {}): Request {
  const headers = new Headers(options.headers)
  if (token !== null) headers.set('authorization', `Bearer ${token}`)
  return new Request(`${ISSUER}${options.path ?? '/apigateway/orders/items'}`, { method: options.method ?? 'GET', headers, ...(options.body !== undefined ? { body: options.body } : {}) })
}

/** A client-credentials token from `{base}/token` (asserted successful). */
export async function ccToken(service: TokenService, clientId: string, extra: Record<string, string> = {}, context?: { remoteAddress?: string }): Promise<TokenBody> {
  const base = clientId === 'acme' || clientId === 'globex' ? '/credential' : '/auth'
  const request = new Request(`${ISSUER}${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...creds(clientId, CLIENT_SECRETS[clientId] ?? extra.client_secret), ...extra }).toString(),
  })
  return expectToken(await service.fetch(request, context))
}

/** A password-grant token from `{base}/token` (asserted successful). */
export async function passwordToken(service: TokenService, clientId: string, username: string, password: string, extra: Record<string, string> = {}): Promise<TokenBody> {
  const base = clientId === 'acme' ? '/credential' : '/auth'
  return expectToken(await post(service, `${base}/token`, { grant_type: 'password', username, password, ...creds(clientId), ...extra }))
}

/** The exact RFC 6750 §3 challenge value. */
export function challenge(realm: string, error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description?: string, scope?: string): string {
  const q = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`
  const parts = [`realm=${q(realm)}`]
  if (error) parts.push(`error=${q(error)}`)
  if (error && description) parts.push(`error_description=${q(description)}`)
  if (scope) parts.push(`scope=${q(scope)}`)
  return `Bearer ${parts.join(', ')}`
}

/** Status per RFC 6750 §3.1. */
const STATUS = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 } as const

/**
 * Asserts a refused request: status, exact `WWW-Authenticate`, JSON body `{ error, error_description }`
 * (no token at all: 401, realm only).
 */
export async function expectChallenge(response: Response, realm: string, error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description?: string, scope?: string): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: error ? STATUS[error] : 401 })
  expect(response.headers.get('www-authenticate')).toBe(challenge(realm, error, description, scope))
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  const body = JSON.parse(text) as Record<string, unknown>
  if (error) expect(body).toEqual({ error, error_description: description })
  else expect(body).toEqual({ error: 'invalid_request', error_description: 'an access token is required' })
}

/** Runs the guard of `proxy` for a request and asserts it refused; returns the response. */
export async function refused(service: TokenService, proxy: string, request: Request, remoteAddress?: string): Promise<Response> {
  const result = await service.guard(proxy)(request, { remoteAddress })
  expect(result.ok).toBe(false)
  if (result.ok) throw new Error('unreachable')
  return result.response
}

/** Runs the guard of `proxy` and asserts it passed; returns the principal. */
export async function accepted(service: TokenService, proxy: string, request: Request, remoteAddress?: string) {
  const result = await service.guard(proxy)(request, { remoteAddress })
  if (!result.ok) {
    const text = await result.response.text()
    expect.fail(`refused with ${result.response.status} ${result.response.headers.get('www-authenticate')} ${text}`)
  }
  return result.principal
}

/** `Authorization: Basic` for a confidential client of the fixture config. */
export function basicOf(clientId: string): string {
  const secret = CLIENT_SECRETS[clientId]
  if (secret === undefined) throw new Error(`no secret for ${clientId}`)
  return basic(clientId, secret)
}

/** The active signing key of an environment, read from the store (memory store: private JWK in clear). */
export async function activeKey(service: TokenService, store: TokenStore, environment = 'test', alg = 'RS256'): Promise<{ kid: string; alg: string; privateKey: CryptoKey; publicJwk: JWK }> {
  await service.ready()
  const record = (await store.listKeys(environment)).find((k) => k.alg === alg && k.state === 'active')
  if (!record) throw new Error(`no active ${alg} key`)
  const privateKey = (await importJWK(JSON.parse(record.privateKey) as JWK, alg)) as CryptoKey
  return { kid: record.kid, alg, privateKey, publicJwk: record.publicJwk as JWK }
}

/**
 * Signs any protected header and payload with RS256 (a `CryptoKey`) or HS256 (raw bytes), by hand
 * with Web Crypto, so that headers jose would refuse to produce (`crit`, odd `typ`) can be tested.
 */
export async function signRaw(key: CryptoKey | Uint8Array, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64json(header)}.${b64json(payload)}`
  const data = new TextEncoder().encode(input)
  let signature: ArrayBuffer
  if (key instanceof Uint8Array) {
    const hmac = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    signature = await crypto.subtle.sign('HMAC', hmac, data)
  } else {
    signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, data)
  }
  return `${input}.${base64url.encode(new Uint8Array(signature))}`
}

/** RFC 9068 claims as the service issues them for `orders-app` at `orders`, at time `at` (ms). */
export function ordersClaims(at: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(at / 1000)
  return { iss: `${ISSUER}/auth`, sub: 'orders-app', aud: `${ISSUER}/apigateway/orders`, client_id: 'orders-app', scope: 'orders:read', iat, exp: iat + 300, jti: 'crafted-jti-0001', ...overrides }
}

/** base64url of JSON (for hand-built compact tokens). */
export function b64json(value: unknown): string {
  return base64url.encode(new TextEncoder().encode(JSON.stringify(value)))
}

/** A memory store that can be switched off: every call throws while `down` is true. */
export function flakyStore(inner: TokenStore = createMemoryStore()): { store: TokenStore; setDown(down: boolean, only?: Array<keyof TokenStore>): void } {
  let down = false
  let only: Array<keyof TokenStore> | undefined
  const store = {} as Record<string, unknown>
  for (const name of Object.keys(inner) as Array<keyof TokenStore>) {
    const method = inner[name] as unknown as (...args: unknown[]) => Promise<unknown>
    store[name] = async (...args: unknown[]) => {
      if (down && (only === undefined || only.includes(name))) throw new Error('connection refused (simulated outage)')
      return method.apply(inner, args)
    }
  }
  return {
    store: store as unknown as TokenStore,
    setDown(value, methods) {
      down = value
      only = methods
    },
  }
}

/** POSTs a form to `{base}/revoke` or `{base}/introspect` with HTTP Basic of `clientId`. */
export function management(service: TokenService, path: string, clientId: string, params: Record<string, string>): Promise<Response> {
  return post(service, path, params, { headers: { authorization: basicOf(clientId) } })
}
