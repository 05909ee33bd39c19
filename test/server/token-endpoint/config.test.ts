/**
 * Configuration validation: one `ConfigError` (`ERR_INVALID_CONFIG`) listing every bad field by
 * path, never echoing a secret.
 */
import { describe, expect, it } from 'vitest'
import { ConfigError, createMemoryStore, createTokenService, verifySecret, type TokenServiceOptions, type TokenStore } from '../../../src/server/index.js'
import { resolveConfig } from '../../../src/server/config/resolve.js'
import { ConfigError as SharedConfigError, isGatepassError, type ConfigIssue } from '../../../src/shared/index.js'
import { expectError, expectToken, post, SECRETS, testConfig, type TestConfig } from '../_fixtures.js'

/** Creates a service and waits for it: a config error may surface at creation or at `ready()`. */
async function start(config: unknown, options?: TokenServiceOptions): Promise<void> {
  await createTokenService(config, options).ready()
}

async function issuesOf(config: unknown, options?: TokenServiceOptions): Promise<ConfigIssue[]> {
  const err: unknown = await start(config, options).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ConfigError)
  return (err as ConfigError).issues
}

const PLAIN = 'plain-text-secret-do-not-echo'

function broken(c: TestConfig): void {
  c.environment.issuer = 'not a url'
  c.proxies[0]!.clientSecret = PLAIN
  c.proxies[3]!.group = 'no-such-group'
  c.groups[0]!.clientId = 'orders-app'
}

describe('config validation', () => {
  it('accepts the fixture config', async () => {
    await expect(start(testConfig())).resolves.toBeUndefined()
  })

  it('rejects with a ConfigError (ERR_INVALID_CONFIG) listing every bad field by path', async () => {
    const err: unknown = await start(testConfig(broken)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err).toBeInstanceOf(SharedConfigError)
    expect(isGatepassError(err)).toBe(true)
    expect(err).toMatchObject({ code: 'ERR_INVALID_CONFIG', name: 'ConfigError', message: expect.stringMatching(/^invalid config: /) })
    const issues = (err as ConfigError).issues
    expect(issues.map((i) => i.path).sort()).toEqual(['environment.issuer', 'groups.0.clientId', 'proxies.0.clientSecret', 'proxies.3.group'])
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'environment.issuer', message: 'must be an absolute http(s) URL' },
        { path: 'proxies.0.clientSecret', message: expect.stringContaining('must be a digest') },
        { path: 'proxies.3.group', message: 'unknown group "no-such-group"' },
        { path: 'groups.0.clientId', message: 'duplicate client id "orders-app"' },
      ]),
    )
    for (const issue of issues) expect((err as ConfigError).message).toContain(issue.path)
    expect((err as ConfigError).message).not.toContain(PLAIN)
    expect(JSON.stringify(issues)).not.toContain(PLAIN)
  })

  it('refuses "*" as an issuer', async () => {
    expect(await issuesOf(testConfig((c) => void (c.environment.issuer = '*')))).toEqual([{ path: 'environment.issuer', message: 'must be an absolute http(s) URL' }])
  })

  it('lists every missing environment variable of {env} secrets', async () => {
    const issues = await issuesOf(
      testConfig((c) => {
        c.proxies[0]!.clientSecret = { env: 'ORDERS_SECRET' }
        c.credentials[0]!.clientSecret = { env: 'ACME_SECRET' }
        c.users[0]!.passwordHash = { env: 'ALICE_PASSWORD' }
      }),
      { env: { ACME_SECRET: '' } },
    )
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'proxies.0.clientSecret', message: 'environment variable "ORDERS_SECRET" is not set' },
        { path: 'credentials.0.clientSecret', message: 'environment variable "ACME_SECRET" is not set' },
        { path: 'users.0.passwordHash', message: 'environment variable "ALICE_PASSWORD" is not set' },
      ]),
    )
    expect(issues).toHaveLength(3)
  })

  // Was a bug (fixed in f5596f0): env references were checked only once the schema passed, so a
  // missing variable was not reported together with schema errors.
  it('lists a missing env var together with schema errors', async () => {
    const issues = await issuesOf(
      testConfig((c) => {
        broken(c)
        c.proxies[1]!.clientSecret = { env: 'BILLING_SECRET' }
      }),
      { env: {} },
    )
    expect(issues.map((i) => i.path).sort()).toEqual(['environment.issuer', 'groups.0.clientId', 'proxies.0.clientSecret', 'proxies.1.clientSecret', 'proxies.3.group'])
  })

  it.each<[string, (c: TestConfig) => void, ConfigIssue]>([
    ['a plain-text user password', (c) => void (c.users[0]!.passwordHash = 'hunter2'), { path: 'users.0.passwordHash', message: expect.stringContaining('must be a digest') as unknown as string }],
    ['a truncated sha256 digest', (c) => void (c.proxies[0]!.clientSecret = 'sha256:oops'), { path: 'proxies.0.clientSecret', message: expect.stringContaining('is not a well-formed digest') as unknown as string }],
    ['a PBKDF2 hash with 0 iterations', (c) => void (c.users[0]!.passwordHash = `pbkdf2-sha256$0$${'A'.repeat(22)}$${'B'.repeat(43)}`), { path: 'users.0.passwordHash', message: expect.stringContaining('1,000–10,000,000') as unknown as string }],
    ['a PBKDF2 hash with a billion iterations', (c) => void (c.users[0]!.passwordHash = `pbkdf2-sha256$999999999$${'A'.repeat(22)}$${'B'.repeat(43)}`), { path: 'users.0.passwordHash', message: expect.stringContaining('1,000–10,000,000') as unknown as string }],
    ['a client id without a secret', (c) => void delete c.proxies[0]!.clientSecret, { path: 'proxies.0.clientSecret', message: 'required when "clientId" is set (or enable tokenPolicy.publicClients)' }],
    ['a credential without a secret', (c) => void delete c.credentials[1]!.clientSecret, { path: 'credentials.1.clientSecret', message: 'required (or enable tokenPolicy.publicClients)' }],
    ['an ACL grant on an unknown proxy', (c) => void (c.credentials[0]!.grants = [{ proxy: 'nope' }]), { path: 'credentials.0.grants.0.proxy', message: 'unknown proxy "nope"' }],
    ['a duplicate proxy name', (c) => c.proxies.push({ name: 'orders' }), { path: 'proxies.4.name', message: 'duplicate proxy name "orders"' }],
    ['a duplicate credential id', (c) => void (c.credentials[1]!.clientId = 'acme'), { path: 'credentials.1.clientId', message: 'duplicate client id "acme"' }],
    ['refresh with never-expiring tokens', (c) => void (c.proxies[0]!.tokenPolicy = { neverExpires: true, refresh: { enabled: true } }), { path: 'proxies.0.tokenPolicy.refresh.enabled', message: 'refresh cannot be enabled for never-expiring tokens' }],
    ['an unknown algorithm', (c) => void (c.environment.algorithm = 'HS256'), { path: 'environment.algorithm', message: expect.any(String) as unknown as string }],
    ['a basePath with a trailing slash', (c) => void (c.environment.basePath = '/oauth/'), { path: 'environment.basePath', message: 'must be empty or an absolute path without a trailing slash' }],
    ['a username without a password hash', (c) => void delete c.credentials[0]!.passwordHash, { path: 'credentials.0.passwordHash', message: '"username" and "passwordHash" go together' }],
    ['a negative TTL', (c) => void (c.proxies[0]!.tokenPolicy = { accessTokenTtl: -5 }), { path: 'proxies.0.tokenPolicy.accessTokenTtl', message: expect.any(String) as unknown as string }],
  ])('names the field for %s', async (_label, edit, issue) => {
    expect(await issuesOf(testConfig(edit))).toEqual([issue])
  })

  // Regression: a proxy mounted over the token endpoints used to shadow them silently.
  it.each(['/', '/auth', '/credential'])('does not let a proxy mounted at %s shadow the token endpoints', async (path) => {
    const config = testConfig((c) => {
      c.proxies[1]!.path = path
      c.proxies[1]!.upstream = 'http://127.0.0.1:9/'
    })
    const err: unknown = await start(config).catch((e: unknown) => e)
    if (err !== undefined) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).issues.map((i) => i.path)).toContain('proxies.1.path')
      return
    }
    const service = createTokenService(config)
    const base = path === '/credential' ? '/credential' : '/auth'
    const clientId = base === '/credential' ? 'acme' : 'orders-app'
    await expectToken(await post(service, `${base}/token`, { grant_type: 'client_credentials', client_id: clientId, client_secret: base === '/credential' ? SECRETS.acme : SECRETS.orders }))
  })

  // Regression: a missing or malformed keyEncryptionKey variable used to surface only from ready()
  // as a bare TypeError (and a 500 from fetch), not as a config issue.
  it.each([
    ['missing', {}],
    ['not base64url', { KEK: 'short!' }],
    ['not 32 bytes', { KEK: 'AAAA' }],
  ])('reports a %s keyEncryptionKey variable as a ConfigError at environment.keyEncryptionKey', async (_label, env) => {
    const issues = await issuesOf(testConfig((c) => void (c.environment.keyEncryptionKey = { env: 'KEK' })), { env })
    expect(issues.map((i) => i.path)).toEqual(['environment.keyEncryptionKey'])
  })

  it('names unknown keys', async () => {
    const issues = await issuesOf(testConfig((c) => void (c.proxies[0]!.secret = 'x')))
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({ path: 'proxies.0', message: expect.stringContaining('secret') })
  })

  it('refuses a store that lacks TokenStore methods, naming them', () => {
    const { isFamilyLive: _live, deleteExpired: _expired, ...partial } = createMemoryStore()
    expect(() => createTokenService(testConfig(), { store: partial as unknown as TokenStore })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: '"store" is not a complete TokenStore: missing isFamilyLive(), deleteExpired()' }),
    )
    expect(() => createTokenService(testConfig(), { store: 'sqlite' as unknown as TokenStore })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })

  it('accepts a store written as a class (methods on its prototype) and calls them on the store', async () => {
    const memory = createMemoryStore()
    class LoggingStore {
      readonly calls: string[] = []
      constructor(readonly inner: TokenStore) {}
    }
    for (const name of Object.keys(memory) as Array<keyof TokenStore>) {
      Object.defineProperty(LoggingStore.prototype, name, {
        value(this: LoggingStore, ...args: unknown[]) {
          this.calls.push(name)
          return (this.inner[name] as (...a: unknown[]) => unknown).apply(this.inner, args)
        },
      })
    }
    const store = new LoggingStore(memory)
    const service = createTokenService(testConfig(), { store: store as unknown as TokenStore, cleanup: false })
    try {
      const response = await service.fetch(new Request('https://auth.example.com/auth/.well-known/jwks.json'))
      expect(response.status).toBe(200)
      expect(((await response.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0)
      expect(store.calls).toContain('listKeys')
    } finally {
      await service.close()
    }
  })

  it('refuses a config that is not an object with a TypeError (ERR_INVALID_ARG_TYPE)', () => {
    for (const bad of [null, undefined, 'config', 42]) {
      expect(() => createTokenService(bad)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }) as unknown as Error)
    }
  })

  it('hashes {env} user passwords with PBKDF2 like stored ones (an unknown user takes as long), client secrets with SHA-256', async () => {
    const resolved = resolveConfig(
      testConfig((c) => {
        c.users[0]!.passwordHash = { env: 'ALICE_PASSWORD' }
        c.credentials[0]!.passwordHash = { env: 'ACME_USER_PASSWORD' }
        c.proxies[0]!.clientSecret = { env: 'ORDERS_SECRET' }
      }),
      { ALICE_PASSWORD: 'alice-from-env', ACME_USER_PASSWORD: 'acme-user-from-env', ORDERS_SECRET: 'orders-from-env' },
    )
    await resolved.hashSecrets()
    const { users, credentials } = resolved.config
    expect(users[0]!.passwordHash).toMatch(/^pbkdf2-sha256\$600000\$/)
    expect(credentials[0]!.passwordHash).toMatch(/^pbkdf2-sha256\$/)
    expect(await verifySecret('alice-from-env', users[0]!.passwordHash as string)).toBe(true)
    expect(resolved.clients.get('orders-app')!.secretHash).toMatch(/^sha256:/)
  })

  it('accepts the plain value of an {env} secret from the environment (and only that value)', async () => {
    const service = createTokenService(testConfig((c) => void (c.proxies[0]!.clientSecret = { env: 'ORDERS_SECRET' })), { env: { ORDERS_SECRET: 'from-env-value' } })
    await expectToken(await post(service, '/auth/token', { grant_type: 'client_credentials', client_id: 'orders-app', client_secret: 'from-env-value' }))
    await expectError(await post(service, '/auth/token', { grant_type: 'client_credentials', client_id: 'orders-app', client_secret: SECRETS.orders }), 401, 'invalid_client')
  })
})
