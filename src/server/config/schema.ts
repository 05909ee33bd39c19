/**
 * The configuration model of a token service (SPEC §2), validated with zod when the service is
 * created.
 *
 * @module
 */
import * as z from 'zod'
import { clientIPSettingsSchema } from '../http/client-ip.js'
import { corsSettingsSchema } from '../http/cors.js'
import { isSecretHash } from '../secrets.js'

const MALFORMED_DIGEST =
  'is not a well-formed digest: "sha256:" and 43 base64url characters, or "pbkdf2-sha256$<iterations 1,000–10,000,000>$<salt>$<hash>" (make one with `gatepass hash-secret`)'
const SECRET_HINT = 'must be a digest ("sha256:…" or "pbkdf2-sha256$…", see `gatepass hash-secret`) or {"env":"NAME"}'

/**
 * A secret in configuration: a digest, or a reference to an environment variable holding the
 * plain value (hashed when the service is created). Plain text is refused.
 *
 * @group Configuration
 */
export const secretSchema = z.union([
  z.string().superRefine((value, ctx) => {
    if (!/^(sha256:|pbkdf2-sha256\$)/.test(value)) ctx.addIssue({ code: 'custom', message: SECRET_HINT })
    else if (!isSecretHash(value)) ctx.addIssue({ code: 'custom', message: MALFORMED_DIGEST })
  }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }),
], { error: SECRET_HINT })

/** Signing algorithms an environment key may use. */
export const algorithmSchema = z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA'])

const seconds = (max = 10 * 365 * 24 * 3600) => z.number().int('must be a whole number of seconds').positive().max(max)
const name = z.string().min(1).max(200).regex(/^[A-Za-z0-9._~-]+$/, 'must contain only letters, digits and . _ ~ -')
const clientId = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
const scopeToken = z.string().min(1).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a valid scope token (RFC 6749 §3.3)')
const isoDate = z.iso.datetime({ offset: true })
const absoluteURL = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })

/**
 * How tokens are issued and checked for a proxy, a group, or a credential (SPEC §2).
 *
 * @group Configuration
 */
export const tokenPolicySchema = z.strictObject({
  format: z.enum(['jwt', 'opaque']).default('jwt'),
  management: z.enum(['policy', 'acl']).default('policy'),
  grants: z.array(z.enum(['client_credentials', 'password'])).min(1).default(['client_credentials']),
  /** Access-token lifetime in seconds. */
  accessTokenTtl: seconds().default(3600),
  /** Tokens without expiry (discouraged). */
  neverExpires: z.boolean().default(false),
  refresh: z.strictObject({
    enabled: z.boolean().default(false),
    /** Refresh-token lifetime in seconds, renewed at each refresh. */
    ttl: seconds().default(86_400),
    /** How many times a token family may be refreshed. */
    maxCount: z.number().int().min(1).max(1_000_000).default(100),
    /** Seconds during which a reused refresh token replays the same response instead of revoking the family. */
    graceWindow: z.number().int().min(0).max(300).default(10),
  }).prefault({}),
  /** Accept token requests as GET with URL query parameters (discouraged). */
  allowUrlParameters: z.boolean().default(false),
  /** Opaque tokens: a new token revokes earlier ones of the same client + subject + proxy. */
  deletePrevious: z.boolean().default(false),
  /** What to do with a requested scope that is not grantable. */
  scopes: z.enum(['strict', 'lenient', 'ignore']).default('strict'),
  /** Scope granted when none is requested: none, or every grantable scope. */
  scopeWhenAbsent: z.enum(['none', 'all']).default('none'),
  /** Scopes this proxy or group accepts (grantable to client_credentials in policy mode). */
  allowedScopes: z.array(scopeToken).optional(),
  /** Signing algorithm override (defaults to the environment's). */
  algorithm: algorithmSchema.optional(),
  /** Allow clients without a secret (password and refresh grants only; secret `-` means none). */
  publicClients: z.boolean().default(false),
  /** Enable `POST …/jwt/regenerate`. */
  regenerate: z.boolean().default(false),
  /** Prefix of opaque tokens, for secret scanners (e.g. `gp_`). */
  tokenPrefix: z.string().regex(/^[A-Za-z0-9_-]{0,16}$/).default(''),
}).superRefine((policy, ctx) => {
  if (policy.neverExpires && policy.refresh.enabled) ctx.addIssue({ code: 'custom', path: ['refresh', 'enabled'], message: 'refresh cannot be enabled for never-expiring tokens' })
})

/**
 * A token policy as written in configuration (every field optional).
 *
 * @group Configuration
 */
export type TokenPolicyInput = z.input<typeof tokenPolicySchema>
/**
 * A token policy with every default applied.
 *
 * @group Configuration
 */
export type TokenPolicy = z.output<typeof tokenPolicySchema>

/** CORS and client-IP (X-Forwarded-For) settings of a proxy, a group or the environment (SPEC §6). */
const edgeSettings = {
  cors: corsSettingsSchema.optional(),
  clientIP: clientIPSettingsSchema.optional(),
}

const proxySchema = z.strictObject({
  name,
  /** JWT `aud` of tokens for this proxy; default `{issuer}{path}`. */
  audience: z.string().min(1).optional(),
  group: name.optional(),
  /** Where the standalone server mounts it; default `/apigateway/{name}`. */
  path: z.string().regex(/^\/[^?#]*$/, 'must be an absolute path').optional(),
  upstream: absoluteURL.optional(),
  /** The proxy key for policy mode. */
  clientId: clientId.optional(),
  clientSecret: secretSchema.optional(),
  tokenPolicy: tokenPolicySchema.prefault({}),
  ...edgeSettings,
})

const groupSchema = z.strictObject({
  name,
  audience: z.string().min(1).optional(),
  clientId: clientId.optional(),
  clientSecret: secretSchema.optional(),
  tokenPolicy: tokenPolicySchema.prefault({}),
  ...edgeSettings,
})

const metadataSchema = z.strictObject({
  name: z.string().min(1).max(200),
  value: z.union([z.string(), z.number(), z.boolean()]),
  secret: z.boolean().default(false),
  includeInJwt: z.boolean().default(false),
  includeInTokenResponse: z.boolean().default(false),
  claimName: z.string().min(1).optional(),
})

const grantSchema = z.strictObject({
  proxy: name.optional(),
  group: name.optional(),
  expiresAt: isoDate.optional(),
  disallowedMethods: z.array(z.string().min(1).transform((m) => m.toUpperCase())).default([]),
}).refine((g) => (g.proxy === undefined) !== (g.group === undefined), 'exactly one of "proxy" or "group" is required')

const credentialSchema = z.strictObject({
  clientId,
  clientSecret: secretSchema.optional(),
  username: z.string().min(1).optional(),
  passwordHash: secretSchema.optional(),
  roles: z.array(scopeToken).default([]),
  enabled: z.boolean().default(true),
  expiresAt: isoDate.optional(),
  ipAllowList: z.array(z.string().min(1)).default([]),
  metadata: z.array(metadataSchema).default([]),
  grants: z.array(grantSchema).default([]),
  tokenPolicy: tokenPolicySchema.optional(),
})

const userSchema = z.strictObject({
  username: z.string().min(1).max(200),
  passwordHash: secretSchema,
  roles: z.array(scopeToken).default([]),
})

/**
 * The whole configuration of a token service.
 *
 * @group Configuration
 */
export const configSchema = z.strictObject({
  environment: z.strictObject({
    name,
    /** Public base URL of the gateway, e.g. `https://gw.example.com`. */
    issuer: absoluteURL.transform((u) => u.replace(/\/+$/, '')),
    /** Prefix the token endpoints are mounted under (e.g. `/oauth`); default none. */
    basePath: z.string().regex(/^(\/[^?#]*[^/?#])?$/, 'must be empty or an absolute path without a trailing slash').default(''),
    algorithm: algorithmSchema.default('RS256'),
    expiresInUnit: z.enum(['seconds', 'milliseconds']).default('seconds'),
    /** Build discovery URLs from trusted `X-Forwarded-Proto`/`X-Forwarded-Host`. */
    trustForwardedHeaders: z.boolean().default(false),
    /** Default token policy of credentials (ACL mode). */
    credentialPolicy: tokenPolicySchema.prefault({ management: 'acl' }),
    /** Key-encryption key for private keys at rest: 32 random bytes, base64url, from the environment. */
    keyEncryptionKey: z.strictObject({ env: z.string().min(1) }).optional(),
    /** Request body limit of the token endpoints, bytes. */
    maxBodyBytes: z.number().int().min(256).max(1 << 20).default(16 * 1024),
    ...edgeSettings,
  }),
  proxies: z.array(proxySchema).default([]),
  groups: z.array(groupSchema).default([]),
  credentials: z.array(credentialSchema).default([]),
  users: z.array(userSchema).default([]),
  /** Which store `gatepass serve` uses (ignored by `createTokenService`, which takes a store object). */
  store: z.looseObject({ kind: z.enum(['memory', 'sqlite', 'postgres']) }).optional(),
  /** Shared second-level cache of `gatepass serve` (in code, pass `validation.sharedCache`). */
  cache: z.strictObject({
    redis: z.strictObject({
      url: z.union([z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'), z.strictObject({ env: z.string().min(1) })]).optional(),
      prefix: z.string().max(100).optional(),
      /** Longest wait for one Redis command, ms; a slower one counts as a miss. Default 200. */
      commandTimeout: z.number().int().min(1).max(2_147_483_647).optional(),
    }).optional(),
  }).optional(),
  /**
   * Brute-force limits of the token endpoints (failed authentications per window; 0 turns one
   * off), or `false` to turn them off. `createTokenService` options `rateLimit` take precedence.
   */
  rateLimit: z.union([
    z.literal(false),
    z.strictObject({
      window: z.number().int().min(1_000).max(86_400_000).optional(),
      perIP: z.number().int().min(0).max(1_000_000_000).optional(),
      perClient: z.number().int().min(0).max(1_000_000_000).optional(),
      perUser: z.number().int().min(0).max(1_000_000_000).optional(),
    }),
  ]).optional(),
}).superRefine((config, ctx) => {
  const unique = (values: Array<string | undefined>, path: (i: number) => PropertyKey[], what: string) => {
    const seen = new Set<string>()
    values.forEach((v, i) => {
      if (v === undefined) return
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: path(i), message: `duplicate ${what} "${v}"` })
      seen.add(v)
    })
  }
  unique(config.proxies.map((p) => p.name), (i) => ['proxies', i, 'name'], 'proxy name')
  unique(config.groups.map((g) => g.name), (i) => ['groups', i, 'name'], 'group name')
  unique(config.users.map((u) => u.username), (i) => ['users', i, 'username'], 'username')
  const ids = [
    ...config.proxies.map((p, i) => [p.clientId, ['proxies', i, 'clientId']] as const),
    ...config.groups.map((g, i) => [g.clientId, ['groups', i, 'clientId']] as const),
    ...config.credentials.map((c, i) => [c.clientId, ['credentials', i, 'clientId']] as const),
  ]
  const seenIds = new Set<string>()
  for (const [id, path] of ids) {
    if (id === undefined) continue
    if (seenIds.has(id)) ctx.addIssue({ code: 'custom', path: [...path], message: `duplicate client id "${id}"` })
    seenIds.add(id)
  }
  const groups = new Set(config.groups.map((g) => g.name))
  const proxies = new Set(config.proxies.map((p) => p.name))
  const reserved = [`${config.environment.basePath}/auth`, `${config.environment.basePath}/credential`]
  config.proxies.forEach((p, i) => {
    const mount = (p.path ?? `/apigateway/${p.name}`).replace(/\/+$/, '')
    if (p.upstream !== undefined && reserved.some((r) => mount === '' || r === mount || r.startsWith(`${mount}/`) || mount.startsWith(`${r}/`))) {
      ctx.addIssue({ code: 'custom', path: ['proxies', i, 'path'], message: `must not contain or overlap the token endpoints (${reserved.join(', ')})` })
    }
    if (p.group !== undefined && !groups.has(p.group)) ctx.addIssue({ code: 'custom', path: ['proxies', i, 'group'], message: `unknown group "${p.group}"` })
    if (p.clientId !== undefined && p.clientSecret === undefined && !p.tokenPolicy.publicClients) ctx.addIssue({ code: 'custom', path: ['proxies', i, 'clientSecret'], message: 'required when "clientId" is set (or enable tokenPolicy.publicClients)' })
  })
  config.groups.forEach((g, i) => {
    if (g.clientId !== undefined && g.clientSecret === undefined && !g.tokenPolicy.publicClients) ctx.addIssue({ code: 'custom', path: ['groups', i, 'clientSecret'], message: 'required when "clientId" is set (or enable tokenPolicy.publicClients)' })
  })
  config.credentials.forEach((c, i) => {
    const policy = c.tokenPolicy ?? config.environment.credentialPolicy
    if (c.clientSecret === undefined && !policy.publicClients) ctx.addIssue({ code: 'custom', path: ['credentials', i, 'clientSecret'], message: 'required (or enable tokenPolicy.publicClients)' })
    if ((c.username === undefined) !== (c.passwordHash === undefined)) ctx.addIssue({ code: 'custom', path: ['credentials', i, 'passwordHash'], message: '"username" and "passwordHash" go together' })
    c.grants.forEach((g, j) => {
      if (g.proxy !== undefined && !proxies.has(g.proxy)) ctx.addIssue({ code: 'custom', path: ['credentials', i, 'grants', j, 'proxy'], message: `unknown proxy "${g.proxy}"` })
      if (g.group !== undefined && !groups.has(g.group)) ctx.addIssue({ code: 'custom', path: ['credentials', i, 'grants', j, 'group'], message: `unknown group "${g.group}"` })
    })
  })
})

/**
 * Configuration as written (JSON or code); defaults are filled in by validation.
 *
 * @group Configuration
 */
export type GatepassConfigInput = z.input<typeof configSchema>
/**
 * Validated configuration with every default applied.
 *
 * @group Configuration
 */
export type GatepassConfig = z.output<typeof configSchema>
/** @internal */
export type ProxyConfig = GatepassConfig['proxies'][number]
/** @internal */
export type GroupConfig = GatepassConfig['groups'][number]
/** @internal */
export type CredentialConfig = GatepassConfig['credentials'][number]
/** @internal */
export type UserConfig = GatepassConfig['users'][number]
/** @internal */
export type SecretInput = z.output<typeof secretSchema>
