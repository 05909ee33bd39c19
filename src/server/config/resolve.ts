import { base64url } from 'jose'
import { ConfigError, type ConfigIssue } from '../../shared/errors.js'
import { hashClientSecret, hashPassword } from '../secrets.js'
import type { TokenBinding } from '../store/types.js'
import { configSchema, type CredentialConfig, type GatepassConfig, type SecretInput, type TokenPolicy } from './schema.js'

/** A client that may call the token endpoints, with everything needed to serve it. */
export interface ResolvedClient {
  clientId: string
  /** `sha256:`/`pbkdf2-sha256$` hash, or `null` for a public client. */
  secretHash: string | null
  mode: 'policy' | 'acl'
  policy: TokenPolicy
  /** Policy mode: the proxy or group; ACL mode: the credential. */
  binding: TokenBinding
  /** Audiences of tokens it obtains (ACL mode: of every currently granted proxy/group, see `aclAudiences`). */
  audience: string[]
  credential: CredentialConfig | null
}

/** The validated configuration plus derived lookups. */
export interface ResolvedConfig {
  config: GatepassConfig
  clients: Map<string, ResolvedClient>
  /** Audience of each proxy and group by name. */
  audiences: { proxies: Map<string, string>; groups: Map<string, string> }
  /** Every algorithm a policy may sign with. */
  algorithms: Set<string>
  /** PBKDF2 iterations of the slowest client secret hash, when any is PBKDF2 (unknown clients are timed against one). */
  clientSecretIterations: number | null
}

function zodIssues(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
}

/**
 * Validates a configuration and resolves secrets given as environment references.
 * Throws one `ConfigError` listing every bad field.
 */
export function resolveConfig(input: unknown, env: Record<string, string | undefined> = {}): ResolvedConfig & { hashSecrets(): Promise<void> } {
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) throw new ConfigError([...zodIssues(parsed.error), ...missingEnvironmentVariables(input, env)])
  const config = parsed.data
  const issues: ConfigIssue[] = []
  // Secrets given as environment references are hashed in `hashSecrets()` (async); until then
  // they hold a placeholder that matches nothing.
  const pending: Array<() => Promise<void>> = []

  /**
   * A secret's hash; `{ env }` values are hashed when the service starts: client secrets with
   * SHA-256 (generated, high-entropy), user passwords with PBKDF2 like every stored password, so a
   * configured user takes as long to check as an unknown one (checked against a PBKDF2 dummy).
   */
  function secret(value: SecretInput | undefined, path: string, assign?: (hash: string) => void, kind: 'client' | 'password' = 'client'): string | null {
    if (value === undefined) return null
    if (typeof value === 'string') return value
    const plain = env[value.env]
    if (plain === undefined || plain === '') {
      issues.push({ path, message: `environment variable "${value.env}" is not set` })
      return null
    }
    if (assign) pending.push(async () => assign(kind === 'password' ? await hashPassword(plain) : await hashClientSecret(plain)))
    return 'pending'
  }

  const proxies = new Map<string, string>()
  const groups = new Map<string, string>()
  for (const g of config.groups) groups.set(g.name, g.audience ?? `${config.environment.issuer}/apigateway/groups/${g.name}`)
  for (const p of config.proxies) proxies.set(p.name, p.audience ?? `${config.environment.issuer}${p.path ?? `/apigateway/${p.name}`}`)

  const clients = new Map<string, ResolvedClient>()
  const algorithms = new Set<string>([config.environment.algorithm])
  const addAlgorithm = (policy: TokenPolicy) => policy.format === 'jwt' && algorithms.add(policy.algorithm ?? config.environment.algorithm)

  for (const [i, p] of config.proxies.entries()) {
    addAlgorithm(p.tokenPolicy)
    if (p.clientId === undefined) continue
    const id = p.clientId
    clients.set(p.clientId, {
      clientId: p.clientId,
      secretHash: secret(p.clientSecret, `proxies.${i}.clientSecret`, (h) => (clients.get(id)!.secretHash = h)),
      mode: p.tokenPolicy.management,
      policy: p.tokenPolicy,
      binding: { kind: 'proxy', name: p.name },
      audience: [proxies.get(p.name)!],
      credential: null,
    })
  }
  for (const [i, g] of config.groups.entries()) {
    addAlgorithm(g.tokenPolicy)
    if (g.clientId === undefined) continue
    const id = g.clientId
    clients.set(g.clientId, {
      clientId: g.clientId,
      secretHash: secret(g.clientSecret, `groups.${i}.clientSecret`, (h) => (clients.get(id)!.secretHash = h)),
      mode: g.tokenPolicy.management,
      policy: g.tokenPolicy,
      binding: { kind: 'group', name: g.name },
      audience: [groups.get(g.name)!],
      credential: null,
    })
  }
  addAlgorithm(config.environment.credentialPolicy)
  for (const [i, c] of config.credentials.entries()) {
    const policy = c.tokenPolicy ?? config.environment.credentialPolicy
    addAlgorithm(policy)
    secret(c.passwordHash, `credentials.${i}.passwordHash`, (h) => (c.passwordHash = h), 'password')
    clients.set(c.clientId, {
      clientId: c.clientId,
      secretHash: secret(c.clientSecret, `credentials.${i}.clientSecret`, (h) => (clients.get(c.clientId)!.secretHash = h)),
      mode: 'acl',
      policy,
      binding: { kind: 'credential', name: c.clientId },
      audience: [],
      credential: c,
    })
  }
  for (const [i, u] of config.users.entries()) secret(u.passwordHash, `users.${i}.passwordHash`, (h) => (u.passwordHash = h), 'password')
  const kek = config.environment.keyEncryptionKey
  if (kek) {
    const raw = env[kek.env]
    let bytes: Uint8Array | undefined
    try {
      bytes = raw === undefined || !/^[A-Za-z0-9_-]+$/.test(raw) ? undefined : base64url.decode(raw)
    } catch {
      bytes = undefined
    }
    if (raw === undefined || raw === '') issues.push({ path: 'environment.keyEncryptionKey', message: `environment variable "${kek.env}" is not set` })
    else if (bytes?.byteLength !== 32) issues.push({ path: 'environment.keyEncryptionKey', message: `environment variable "${kek.env}" must hold 32 random bytes, base64url` })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return {
    config,
    clients,
    audiences: { proxies, groups },
    algorithms,
    clientSecretIterations: Math.max(0, ...[...clients.values()].map((c) => Number(/^pbkdf2-sha256\$(\d+)\$/.exec(c.secretHash ?? '')?.[1] ?? 0))) || null,
    async hashSecrets() {
      await Promise.all(pending.splice(0).map((run) => run()))
    },
  }
}

const SECRET_FIELDS: Array<[list: string, fields: string[]]> = [
  ['proxies', ['clientSecret']],
  ['groups', ['clientSecret']],
  ['credentials', ['clientSecret', 'passwordHash']],
  ['users', ['passwordHash']],
]

/**
 * `{"env": …}` references to unset variables, read from the raw input so that they are reported
 * together with schema errors (every bad field at once).
 */
function missingEnvironmentVariables(input: unknown, env: Record<string, string | undefined>): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  if (typeof input !== 'object' || input === null) return issues
  for (const [list, fields] of SECRET_FIELDS) {
    const items = (input as Record<string, unknown>)[list]
    if (!Array.isArray(items)) continue
    items.forEach((item, i) => {
      for (const field of fields) {
        const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[field] : undefined
        if (typeof value !== 'object' || value === null) continue
        const name = (value as { env?: unknown }).env
        if (typeof name === 'string' && (env[name] === undefined || env[name] === '')) {
          issues.push({ path: `${list}.${i}.${field}`, message: `environment variable "${name}" is not set` })
        }
      }
    })
  }
  return issues
}

/** Audiences a credential may currently obtain tokens for (unexpired grants). */
export function aclAudiences(resolved: ResolvedConfig, credential: CredentialConfig, now: number): string[] {
  const out: string[] = []
  for (const grant of credential.grants) {
    if (grant.expiresAt !== undefined && Date.parse(grant.expiresAt) <= now) continue
    const aud = grant.proxy !== undefined ? resolved.audiences.proxies.get(grant.proxy) : resolved.audiences.groups.get(grant.group!)
    if (aud !== undefined && !out.includes(aud)) out.push(aud)
  }
  return out
}
