import { SignJWT } from 'jose'
import type { ResolvedClient } from '../config/resolve.js'
import { randomToken, sha256 } from '../lib/crypto.js'
import type { AccessTokenRecord, IssueBatch, RefreshTokenRecord, TokenBinding } from '../store/types.js'
import type { ServiceContext } from './context.js'

/** What a grant decided: who the token is for and what it may do. */
export interface GrantDecision {
  client: ResolvedClient
  subject: string
  username: string | null
  scope: string[]
  audience: string[]
  binding: TokenBinding
  format: 'jwt' | 'opaque'
  /** Whether the request named a scope (then the response always says what was granted). */
  scopeRequested?: boolean
}

/** Claim names a credential's metadata can never set (RFC 7519, RFC 9068, gatepass). */
export const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'scope', 'sid', 'typ', 'cnf', 'act', 'azp'])
/** Token-response member names metadata can never set. */
export const RESERVED_RESPONSE_FIELDS = new Set(['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope', 'error', 'error_description'])

/** The `iss` of tokens issued under a base (`/auth` or `/credential`). */
export function issuerFor(ctx: ServiceContext, mode: 'policy' | 'acl'): string {
  const env = ctx.resolved.config.environment
  return `${env.issuer}${env.basePath}${mode === 'acl' ? '/credential' : '/auth'}`
}

function metadata(decision: GrantDecision, where: 'includeInJwt' | 'includeInTokenResponse'): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const reserved = where === 'includeInJwt' ? RESERVED_CLAIMS : RESERVED_RESPONSE_FIELDS
  for (const entry of decision.client.credential?.metadata ?? []) {
    if (!entry[where] || entry.secret) continue
    const key = where === 'includeInJwt' ? (entry.claimName ?? entry.name) : entry.name
    if (!reserved.has(key)) out[key] = entry.value
  }
  return out
}

/** Signs an RFC 9068 access token. */
export async function signAccessToken(ctx: ServiceContext, decision: GrantDecision, issuedAt: number, expiresAt: number | null, familyId: string | null = null): Promise<string> {
  const policy = decision.client.policy
  const key = ctx.keys.signingKey(policy.algorithm ?? ctx.resolved.config.environment.algorithm)
  const claims: Record<string, unknown> = { ...metadata(decision, 'includeInJwt'), client_id: decision.client.clientId }
  if (decision.scope.length > 0) claims.scope = decision.scope.join(' ')
  // `sid` links the JWT to its refresh family, so revoking the JWT can revoke the refresh token.
  if (familyId !== null) claims.sid = familyId
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuerFor(ctx, decision.client.mode))
    .setSubject(decision.subject)
    .setAudience(decision.audience.length === 1 ? decision.audience[0]! : decision.audience)
    .setIssuedAt(Math.floor(issuedAt / 1000))
    .setJti(randomToken(16))
  if (expiresAt !== null) jwt.setExpirationTime(Math.floor(expiresAt / 1000))
  return jwt.sign(key.privateKey!)
}

/** Tokens minted for one response, and what must be stored before it is sent. */
export interface Minted {
  body: Record<string, unknown>
  batch: IssueBatch
  refreshToken: string | null
}

/**
 * Mints an access token (JWT or opaque) and, when the policy enables refresh, a refresh token of
 * `familyId` (a new family when absent).
 */
export async function mint(ctx: ServiceContext, decision: GrantDecision, options: { familyId?: string; refreshCount?: number; withRefresh: boolean }): Promise<Minted> {
  const policy = decision.client.policy
  const env = ctx.resolved.config.environment
  const now = ctx.now()
  const ttlMs = policy.neverExpires ? null : policy.accessTokenTtl * 1000
  const expiresAt = ttlMs === null ? null : now + ttlMs
  const refreshEnabled = options.withRefresh && policy.refresh.enabled && !policy.neverExpires
  const familyId = refreshEnabled ? (options.familyId ?? randomToken(16)) : null

  // What every stored record of this grant says about it.
  const common = {
    environment: env.name,
    clientId: decision.client.clientId,
    subject: decision.subject,
    username: decision.username,
    scope: decision.scope.join(' '),
    audience: decision.audience,
    binding: decision.binding,
    issuedAt: now,
    revokedAt: null,
  }

  let accessToken: string
  let access: AccessTokenRecord | undefined
  if (decision.format === 'jwt') {
    accessToken = await signAccessToken(ctx, decision, now, expiresAt, familyId)
  } else {
    accessToken = `${policy.tokenPrefix}${randomToken(32)}`
    access = { ...common, digest: await sha256(accessToken), expiresAt, familyId }
  }

  let refreshToken: string | null = null
  let refresh: RefreshTokenRecord | undefined
  if (familyId !== null) {
    refreshToken = `${policy.tokenPrefix}${randomToken(32)}`
    refresh = {
      ...common,
      digest: await sha256(refreshToken),
      familyId,
      format: decision.format,
      refreshCount: options.refreshCount ?? 0,
      expiresAt: now + policy.refresh.ttl * 1000,
      accessDigest: access?.digest ?? null,
      consumedAt: null,
      replay: null,
    }
  }

  const body: Record<string, unknown> = { ...metadata(decision, 'includeInTokenResponse'), access_token: accessToken, token_type: 'Bearer' }
  if (ttlMs !== null) body.expires_in = env.expiresInUnit === 'milliseconds' ? ttlMs : ttlMs / 1000
  if (refreshToken !== null) body.refresh_token = refreshToken
  // RFC 6749 §5.1: a missing `scope` means "as requested", so say it whenever one was requested.
  if (decision.scope.length > 0 || decision.scopeRequested) body.scope = decision.scope.join(' ')

  const batch: IssueBatch = { access, refresh }
  // deletePrevious applies to new grants; a refresh already revokes the access token it replaces.
  if (decision.format === 'opaque' && policy.deletePrevious && options.familyId === undefined) {
    batch.revokePreviousOf = { environment: env.name, clientId: decision.client.clientId, subject: decision.subject, binding: decision.binding }
  }
  return { body, batch, refreshToken }
}
