/**
 * Shared fixtures of the token-service tests: configs with hashed secrets, a controllable clock,
 * request builders and RFC 6749 assertion helpers. Not collected on its own (leading `_`).
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose'
import { expect } from 'vitest'
import {
  createMemoryStore,
  createTokenService,
  hashClientSecret,
  hashPassword,
  type GatepassConfigInput,
  type KeyRecord,
  type TokenService,
  type TokenServiceOptions,
  type TokenStore,
} from '../../src/server/index.js'

export const ISSUER = 'https://gw.example.com'
/** A fixed start time (2026-01-01T00:00:00Z) for injected clocks. */
export const T0 = Date.UTC(2026, 0, 1)

/** Plain client secrets; the configs only ever hold their digests. */
export const SECRETS = {
  orders: 'orders-app-secret-Zk2vJ8qL0pXw',
  billing: 'billing-app-secret-Qm4nT7rB1cYd',
  shop: 'shop-group-secret-Hx9sP3kW5uEa',
  acme: 'acme-credential-secret-Lr6tV2yN8oGi',
  globex: 'globex-credential-secret-Fd1bC4mS7qZe',
  envSecret: 'secret-from-environment-Ua5wK9jR3hXn',
} as const

/** Plain user passwords. */
export const PASSWORDS = {
  alice: 'alice-password-1',
  bob: 'bob-password-2',
  acmeUser: 'acme-service-user-3',
} as const

const FAST = { iterations: 1000 }

/** Digests of every secret and password above (computed once). */
export const HASHES = {
  orders: await hashClientSecret(SECRETS.orders),
  billing: await hashClientSecret(SECRETS.billing),
  shop: await hashClientSecret(SECRETS.shop),
  acme: await hashClientSecret(SECRETS.acme),
  globex: await hashClientSecret(SECRETS.globex),
  alice: await hashPassword(PASSWORDS.alice, FAST),
  bob: await hashPassword(PASSWORDS.bob, FAST),
  acmeUser: await hashPassword(PASSWORDS.acmeUser, FAST),
}

/** Audiences derived from the issuer (no explicit `audience` in the config). */
export const AUD = {
  orders: `${ISSUER}/apigateway/orders`,
  billing: `${ISSUER}/apigateway/billing`,
  inventory: `${ISSUER}/apigateway/inventory`,
  shop: `${ISSUER}/apigateway/groups/shop`,
  spa: `${ISSUER}/apigateway/spa`,
}

/** Mutable config shape handed to `edit` callbacks. */
export interface TestConfig {
  environment: Record<string, unknown> & { name: string; issuer: string }
  proxies: Array<Record<string, unknown> & { name: string; tokenPolicy?: Record<string, unknown> }>
  groups: Array<Record<string, unknown> & { name: string; tokenPolicy?: Record<string, unknown> }>
  credentials: Array<Record<string, unknown> & { clientId: string; tokenPolicy?: Record<string, unknown> }>
  users: Array<Record<string, unknown> & { username: string }>
}

/**
 * A complete configuration:
 * - `orders` (JWT, client_credentials + password, refresh, allowedScopes) with key `orders-app`;
 * - `billing` (opaque, prefix `gp_`, refresh) with key `billing-app`;
 * - `spa` (public clients, password only, refresh) with key `spa-app` (no secret);
 * - `inventory` in group `shop` (group key `shop-app`, JWT);
 * - ACL credentials `acme` (roles, grants on orders + shop, metadata, own username) and `globex`;
 * - users `alice` and `bob`.
 */
export function testConfig(edit?: (config: TestConfig) => void): GatepassConfigInput {
  const config: TestConfig = {
    environment: { name: 'test', issuer: ISSUER },
    proxies: [
      {
        name: 'orders',
        clientId: 'orders-app',
        clientSecret: HASHES.orders,
        tokenPolicy: {
          format: 'jwt',
          grants: ['client_credentials', 'password'],
          allowedScopes: ['orders:read', 'orders:write', 'profile'],
          refresh: { enabled: true },
          accessTokenTtl: 300,
        },
      },
      {
        name: 'billing',
        clientId: 'billing-app',
        clientSecret: HASHES.billing,
        tokenPolicy: {
          format: 'opaque',
          grants: ['client_credentials', 'password'],
          allowedScopes: ['billing:read', 'billing:write'],
          refresh: { enabled: true, ttl: 3600 },
          accessTokenTtl: 600,
          tokenPrefix: 'gp_',
        },
      },
      {
        name: 'spa',
        clientId: 'spa-app',
        tokenPolicy: { format: 'jwt', grants: ['password'], publicClients: true, refresh: { enabled: true } },
      },
      { name: 'inventory', group: 'shop' },
    ],
    groups: [{ name: 'shop', clientId: 'shop-app', clientSecret: HASHES.shop, tokenPolicy: { format: 'jwt' } }],
    credentials: [
      {
        clientId: 'acme',
        clientSecret: HASHES.acme,
        username: 'acme-user',
        passwordHash: HASHES.acmeUser,
        roles: ['orders:read', 'shop:read'],
        grants: [{ proxy: 'orders' }, { group: 'shop' }],
        metadata: [
          { name: 'tenant', value: 'acme-corp', includeInJwt: true },
          { name: 'tier', value: 'gold', includeInJwt: true, claimName: 'acme_tier' },
          { name: 'api-key', value: 'metadata-secret-value-42', secret: true, includeInJwt: true, includeInTokenResponse: true },
          { name: 'evil-sub', value: 'attacker', includeInJwt: true, claimName: 'sub' },
          { name: 'region', value: 'eu-west', includeInTokenResponse: true },
          { name: 'access_token', value: 'overridden', includeInTokenResponse: true },
          { name: 'quota', value: 1000, includeInJwt: true, includeInTokenResponse: false },
        ],
        tokenPolicy: { management: 'acl', format: 'jwt', grants: ['client_credentials', 'password'], refresh: { enabled: true } },
      },
      {
        clientId: 'globex',
        clientSecret: HASHES.globex,
        roles: ['billing:read'],
        grants: [{ proxy: 'billing' }],
      },
    ],
    users: [
      { username: 'alice', passwordHash: HASHES.alice, roles: ['orders:read', 'orders:write', 'billing:read'] },
      { username: 'bob', passwordHash: HASHES.bob, roles: ['orders:read'] },
    ],
  }
  edit?.(config)
  return config as unknown as GatepassConfigInput
}

/** Finds a proxy's token policy in a mutable config (creating it when absent). */
export function policyOf(config: TestConfig, proxy: string): Record<string, unknown> {
  const p = config.proxies.find((x) => x.name === proxy) ?? config.groups.find((x) => x.name === proxy) ?? config.credentials.find((x) => x.clientId === proxy)
  if (!p) throw new Error(`no ${proxy} in the test config`)
  p.tokenPolicy ??= {}
  return p.tokenPolicy
}

/** A clock that only moves when told to. */
export interface TestClock {
  now: () => number
  advance(ms: number): void
}

export function testClock(start = T0): TestClock {
  let t = start
  return { now: () => t, advance: (ms) => void (t += ms) }
}

export interface TestService {
  service: TokenService
  store: TokenStore
  clock: TestClock
}

/**
 * The signing keys of environment `test`, generated once per test file and copied into every
 * store {@link makeService} creates, so tests do not each pay for an RSA key generation. Tests
 * about key generation pass their own `store`.
 */
export const SEED_KEYS: KeyRecord[] = await (async () => {
  const store = createMemoryStore()
  await createTokenService(testConfig(), { store, now: () => T0 }).ready()
  return store.listKeys('test')
})()

/**
 * A service with an injected clock, over `options.store` or else a fresh memory store seeded with
 * {@link SEED_KEYS} (services made without a store therefore share one signing key).
 */
export function makeService(edit?: (config: TestConfig) => void, options: TokenServiceOptions & { clock?: TestClock } = {}): TestService {
  const clock = options.clock ?? testClock()
  let store = options.store
  if (!store) {
    const seeded = createMemoryStore()
    // The memory store applies addKey synchronously, before the service first reads its keys.
    for (const key of SEED_KEYS) void seeded.addKey(structuredClone(key))
    store = seeded
  }
  const service = createTokenService(testConfig(edit), { now: clock.now, ...options, store })
  return { service, store, clock }
}

export const FORM = 'application/x-www-form-urlencoded'

/** `Authorization: Basic` value per RFC 6749 §2.3.1 (form-encoded id and secret). */
export function basic(clientId: string, secret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+')
  const raw = new TextEncoder().encode(`${encode(clientId)}:${encode(secret)}`)
  return `Basic ${btoa(String.fromCharCode(...raw))}`
}

/** Basic value of raw text, without form-encoding. */
export function rawBasic(text: string): string {
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(text)))}`
}

export interface PostOptions {
  headers?: Record<string, string>
  method?: string
  contentType?: string | null
}

/** A form POST to `path` (relative to the issuer). */
export function formRequest(path: string, params: Record<string, string> | string, options: PostOptions = {}): Request {
  const headers = new Headers(options.headers)
  const contentType = options.contentType === undefined ? FORM : options.contentType
  if (contentType !== null) headers.set('content-type', contentType)
  const body = typeof params === 'string' ? params : new URLSearchParams(params).toString()
  return new Request(`${ISSUER}${path}`, { method: options.method ?? 'POST', headers, body })
}

/** Sends a form POST through the service. */
export function post(service: TokenService, path: string, params: Record<string, string> | string, options: PostOptions = {}): Promise<Response> {
  return service.fetch(formRequest(path, params, options))
}

/** The plain secret of each confidential client id of {@link testConfig}. */
export const CLIENT_SECRETS: Record<string, string> = {
  'orders-app': SECRETS.orders,
  'billing-app': SECRETS.billing,
  'shop-app': SECRETS.shop,
  acme: SECRETS.acme,
  globex: SECRETS.globex,
}

/** Client credentials in the body (`client_secret_post`), the right secret unless one is given. */
export function creds(clientId: string, secret?: string): Record<string, string> {
  const s = secret ?? CLIENT_SECRETS[clientId]
  if (s === undefined) throw new Error(`no secret for ${clientId}`)
  return { client_id: clientId, client_secret: s }
}

/** Asserts an RFC 6749 §5.2 error response (status, headers, exact members) and returns its body. */
export async function expectError(response: Response, status: number, error: string, description?: string): Promise<{ error: string; error_description: string }> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  const body = JSON.parse(text) as { error: string; error_description: string }
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description'])
  expect(body.error).toBe(error)
  expect(typeof body.error_description).toBe('string')
  // RFC 6749 §5.2: error_description is printable ASCII without `"` and `\`.
  expect(body.error_description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/)
  if (description !== undefined) expect(body.error_description).toBe(description)
  return body
}

/** The Basic challenge of a realm. */
export function basicChallenge(base: '/auth' | '/credential'): string {
  return `Basic realm="${ISSUER}${base}", charset="UTF-8"`
}

export interface TokenBody {
  access_token: string
  token_type: string
  expires_in?: number
  refresh_token?: string
  scope?: string
  [extra: string]: unknown
}

/** Asserts a successful token response (status, headers) and returns its body. */
export async function expectToken(response: Response): Promise<TokenBody> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 200 })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('pragma')).toBe('no-cache')
  const body = JSON.parse(text) as TokenBody
  expect(typeof body.access_token).toBe('string')
  expect(body.token_type).toBe('Bearer')
  return body
}

/** Fetches the service's JWKS (`{base}/.well-known/jwks.json`). */
export async function fetchJWKS(service: TokenService, base: '/auth' | '/credential' = '/auth', prefix = ''): Promise<{ keys: Array<Record<string, unknown> & { kid: string; alg: string }> }> {
  const response = await service.fetch(new Request(`${ISSUER}${prefix}${base}/.well-known/jwks.json`))
  expect(response.status).toBe(200)
  return (await response.json()) as { keys: Array<Record<string, unknown> & { kid: string; alg: string }> }
}

/** Verifies a JWT against the served JWKS. */
export async function verifyJWT(
  service: TokenService,
  token: string,
  options: { base?: '/auth' | '/credential'; prefix?: string; currentDate?: Date; algorithms?: string[] } = {},
): Promise<{ payload: JWTPayload & Record<string, unknown>; protectedHeader: ProtectedHeaderParameters }> {
  const jwks = await fetchJWKS(service, options.base ?? '/auth', options.prefix ?? '')
  const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0])
  const alg = decodeProtectedHeader(token).alg
  const result = await jwtVerify(token, keySet, {
    typ: 'at+jwt',
    currentDate: options.currentDate ?? new Date(T0),
    algorithms: options.algorithms ?? (alg ? [alg] : undefined),
  })
  return { payload: result.payload as JWTPayload & Record<string, unknown>, protectedHeader: result.protectedHeader }
}

/** SHA-256 digest of a token, base64url, as the store keys it. */
export async function digestOf(token: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)))
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Wraps a store, recording every call (arguments JSON-serialised) so tests can look for leaks. */
export function recordingStore(inner: TokenStore = createMemoryStore()): { store: TokenStore; calls: Array<{ method: string; args: string }> } {
  const calls: Array<{ method: string; args: string }> = []
  const store = {} as Record<string, unknown>
  for (const name of Object.keys(inner) as Array<keyof TokenStore>) {
    const method = inner[name] as unknown as (...args: unknown[]) => Promise<unknown>
    store[name] = async (...args: unknown[]) => {
      calls.push({ method: name, args: JSON.stringify(args, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v)) })
      return method.apply(inner, args)
    }
  }
  return { store: store as unknown as TokenStore, calls }
}
