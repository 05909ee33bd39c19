import { jwtVerify, decodeProtectedHeader } from 'jose'
import { aclAudiences, type ResolvedClient } from '../config/resolve.js'
import { openWithToken, sealWithToken, sha256 } from '../lib/crypto.js'
import { json, jsonText, OAuthError } from '../lib/responses.js'
import { verifySecret } from '../secrets.js'
import { CredentialsRefused, invalidClient, type PresentedClient } from './client-auth.js'
import { createIPMatcher, type IPMatcher } from '../http/ip.js'

const matchers = new WeakMap<readonly string[], IPMatcher>()

/** Whether an address is on an allow-list (matchers compiled once per list). */
export function ipAllowed(list: readonly string[], ip: string): boolean {
  let matcher = matchers.get(list)
  if (!matcher) matchers.set(list, (matcher = createIPMatcher(list)))
  return matcher(ip)
}
import type { ServiceContext } from './context.js'
import { issuerFor, mint, signAccessToken, type GrantDecision } from './mint.js'
import { grantScope, parseScope } from './scope.js'

/** Authenticates a client for a base (`policy` = `/auth`, `acl` = `/credential`). */
export async function authenticateClient(ctx: ServiceContext, presented: PresentedClient | null, mode: 'policy' | 'acl', realm: string, grantType?: string, clientIP?: string): Promise<ResolvedClient> {
  if (presented === null) throw invalidClient(realm, 'client authentication is required')
  const client = ctx.resolved.clients.get(presented.clientId)
  if (presented.clientSecret === null) {
    const publicAllowed = client?.policy.publicClients === true && (grantType === 'password' || grantType === 'refresh_token')
    if (!client || !publicAllowed || client.mode !== mode) throw invalidClient(realm)
  } else {
    // Unknown clients are checked against a dummy hash of the slowest kind in use, so timing does
    // not tell which ids exist.
    const dummy = ctx.resolved.clientSecretIterations !== null ? await ctx.dummyClientSecretHash() : 'sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    const ok = await verifySecret(presented.clientSecret, client?.secretHash ?? dummy)
    if (!client || !ok || client.secretHash === null) throw new CredentialsRefused('client', invalidClient(realm))
    if (client.mode !== mode) throw invalidClient(realm, mode === 'acl' ? 'this client obtains tokens from /auth' : 'this client obtains tokens from /credential')
  }
  const credential = client.credential
  if (credential) {
    if (!credential.enabled) throw invalidClient(realm, 'the client is disabled')
    if (credential.expiresAt !== undefined && Date.parse(credential.expiresAt) <= ctx.now()) throw invalidClient(realm, 'the client has expired')
    if (credential.ipAllowList.length > 0 && (clientIP === undefined || !ipAllowed(credential.ipAllowList, clientIP))) {
      throw invalidClient(realm, 'the client may not obtain tokens from this address')
    }
  }
  return client
}

function audienceFor(ctx: ServiceContext, client: ResolvedClient, resource: string | undefined): string[] {
  const all = client.credential ? aclAudiences(ctx.resolved, client.credential, ctx.now()) : client.audience
  if (all.length === 0) throw new OAuthError('unauthorized_client', 'the client is not granted any API proxy')
  if (resource === undefined) return all
  if (!all.includes(resource)) throw new OAuthError('invalid_target', 'the requested resource is not available to this client')
  return [resource]
}

function decision(ctx: ServiceContext, client: ResolvedClient, subject: string, username: string | null, grantable: string[], params: Map<string, string>): GrantDecision {
  return {
    client,
    subject,
    username,
    scope: grantScope(client.policy, grantable, parseScope(params.get('scope'))),
    scopeRequested: params.has('scope'),
    audience: audienceFor(ctx, client, params.get('resource')),
    binding: client.binding,
    format: client.policy.format,
  }
}

/** RFC 6749 §4.4. */
export function clientCredentialsGrant(ctx: ServiceContext, client: ResolvedClient, params: Map<string, string>): GrantDecision {
  const grantable = client.credential ? client.credential.roles : (client.policy.allowedScopes ?? [])
  return decision(ctx, client, client.clientId, null, grantable, params)
}

/** RFC 6749 §4.3. */
export async function passwordGrant(ctx: ServiceContext, client: ResolvedClient, params: Map<string, string>): Promise<GrantDecision> {
  const username = params.get('username')
  const password = params.get('password')
  if (username === undefined || password === undefined) throw new OAuthError('invalid_request', 'the username and password parameters are required')
  const refused = new CredentialsRefused('user', new OAuthError('invalid_grant', 'invalid username or password'))
  const own = client.credential
  if (own?.username !== undefined) {
    const ok = await verifySecret(password, own.passwordHash as string)
    if (own.username !== username || !ok) throw refused
    return decision(ctx, client, username, username, own.roles, params)
  }
  if (ctx.identitySource) {
    let user: Awaited<ReturnType<NonNullable<ServiceContext['identitySource']>>>
    try {
      user = await ctx.identitySource(username, password, { clientId: client.clientId, mode: client.mode })
    } catch (cause) {
      ctx.onError?.(cause)
      throw new OAuthError('temporarily_unavailable', 'the identity source is temporarily unavailable; retry later', 503, { 'retry-after': '1' })
    }
    if (!user) throw refused
    return decision(ctx, client, user.subject ?? username, username, user.roles ?? [], params)
  }
  const user = ctx.resolved.config.users.find((u) => u.username === username)
  const ok = await verifySecret(password, (user?.passwordHash as string | undefined) ?? (await ctx.dummyPasswordHash()))
  if (!user || !ok) throw refused
  const grantable = client.credential ? user.roles.filter((r) => client.credential!.roles.includes(r)) : user.roles
  return decision(ctx, client, username, username, grantable, params)
}

/**
 * Scopes the current configuration still grants for a refresh: `undefined` when there is no
 * bound (identity source decides), `null` when the user or the grant type is gone.
 */
function currentlyGrantable(ctx: ServiceContext, client: ResolvedClient, username: string | null): string[] | undefined | null {
  const allowed = client.policy.allowedScopes
  const bound = (list: string[]) => (allowed ? list.filter((s) => allowed.includes(s)) : list)
  if (username === null) {
    if (!client.policy.grants.includes('client_credentials')) return null
    return bound(client.credential ? client.credential.roles : (allowed ?? []))
  }
  if (!client.policy.grants.includes('password')) return null
  const own = client.credential
  if (own?.username !== undefined) return own.username === username ? bound(own.roles) : null
  if (ctx.identitySource) return allowed
  const user = ctx.resolved.config.users.find((u) => u.username === username)
  if (!user) return null
  return bound(client.credential ? user.roles.filter((r) => client.credential!.roles.includes(r)) : user.roles)
}

/** What a grant gave, for the audit event: never a token. */
export type GrantNote = (grant: { subject: string; scope?: readonly string[]; format: 'jwt' | 'opaque' }) => void

/** A reuse of a consumed refresh token revoked its family (`refresh.reuse_detected`). */
export class ReuseDetected extends OAuthError {
  readonly familyId: string
  constructor(familyId: string) {
    super('invalid_grant', 'the refresh token was already used; its token family has been revoked')
    this.familyId = familyId
  }
}

/** Stores what was minted, then builds the response (a token is persisted before it is sent). */
export async function issue(ctx: ServiceContext, grant: GrantDecision): Promise<Response> {
  const minted = await mint(ctx, grant, { withRefresh: true })
  await ctx.store.issue(minted.batch)
  if (minted.batch.revokePreviousOf) await ctx.forgetPrevious(minted.batch.revokePreviousOf, (minted.batch.access?.issuedAt ?? ctx.now()) - 1)
  return json(minted.body)
}

/** RFC 6749 §6 with rotation, reuse detection and idempotent replay inside the grace window. */
export async function refreshTokenGrant(ctx: ServiceContext, client: ResolvedClient, params: Map<string, string>, endpoint: 'token' | 'jwt', withoutSecret = false, note: GrantNote = () => {}): Promise<Response> {
  const token = params.get('refresh_token')
  if (token === undefined) throw new OAuthError('invalid_request', 'the refresh_token parameter is required')
  const invalid = new OAuthError('invalid_grant', 'the refresh token is invalid, expired or revoked')
  const digest = await sha256(token)
  const record = await ctx.store.findRefreshToken(digest)
  const env = ctx.resolved.config.environment
  if (!record || record.clientId !== client.clientId || record.environment !== env.name || record.revokedAt !== null) throw invalid
  // Public clients exist for the password grant: a client_credentials family (no user) was
  // obtained with the secret, and refreshing it needs the secret too.
  if (withoutSecret && record.username === null) throw invalidClient(`${env.issuer}${env.basePath}/${client.mode === 'acl' ? 'credential' : 'auth'}`, 'client authentication is required')
  if (endpoint === 'jwt' && record.format !== 'jwt') throw new OAuthError('invalid_request', 'this refresh token yields opaque tokens; use the token endpoint')

  const replayOrRevoke = async (consumed: typeof record): Promise<Response> => {
    const grace = client.policy.refresh.graceWindow * 1000
    if (consumed.consumedAt !== null && ctx.now() - consumed.consumedAt <= grace && consumed.replay) {
      const body = await openWithToken(token, consumed.replay)
      if (body !== null) {
        note({ subject: consumed.subject, format: consumed.format })
        return jsonText(body)
      }
    }
    await ctx.store.revokeFamily(consumed.familyId, ctx.now())
    await ctx.forget({ familyId: consumed.familyId })
    throw new ReuseDetected(consumed.familyId)
  }
  if (record.consumedAt !== null) return replayOrRevoke(record)
  if (record.expiresAt !== null && record.expiresAt <= ctx.now()) throw invalid
  if (!client.policy.refresh.enabled) throw new OAuthError('unauthorized_client', 'refresh is not enabled for this client')
  if (record.refreshCount >= client.policy.refresh.maxCount) throw new OAuthError('invalid_grant', 'the refresh limit of this token has been reached')

  // What the configuration grants today bounds what a refresh may carry on.
  const stillGrantable = currentlyGrantable(ctx, client, record.username)
  if (stillGrantable === null) throw new OAuthError('invalid_grant', 'the user or grant behind this refresh token is no longer allowed')
  // Narrowing only (RFC 6749 §6): a requested scope must be part of the original grant.
  const original = (record.scope === '' ? [] : record.scope.split(' ')).filter((s) => stillGrantable === undefined || stillGrantable.includes(s))
  const requested = parseScope(params.get('scope'))
  if (requested && requested.some((s) => !original.includes(s))) throw new OAuthError('invalid_scope', 'the requested scope exceeds the original grant')
  let audience = record.audience
  if (client.credential) {
    const current = aclAudiences(ctx.resolved, client.credential, ctx.now())
    audience = audience.filter((a) => current.includes(a))
    if (audience.length === 0) throw new OAuthError('invalid_grant', 'the client is no longer granted this API proxy')
  }
  const grant: GrantDecision = {
    client,
    subject: record.subject,
    username: record.username,
    scope: requested ?? original,
    audience,
    binding: record.binding,
    format: record.format,
  }
  const minted = await mint(ctx, grant, { familyId: record.familyId, refreshCount: record.refreshCount + 1, withRefresh: true })
  const body = JSON.stringify(minted.body)
  const outcome = await ctx.store.rotateRefreshToken({ digest, now: ctx.now(), replay: await sealWithToken(token, body), next: minted.batch })
  if (outcome.status === 'not_found') throw invalid
  if (outcome.status === 'consumed') return replayOrRevoke(outcome.record)
  if (record.accessDigest !== null) await ctx.forget({ digest: record.accessDigest })
  note(grant)
  return jsonText(body)
}

/** `POST …/jwt/regenerate`: a fresh JWT for a still-valid one of the same client. */
export async function regenerateJWT(ctx: ServiceContext, client: ResolvedClient, request: Request, note: GrantNote = () => {}): Promise<Response> {
  if (!client.policy.regenerate || client.policy.format !== 'jwt') throw new OAuthError('unauthorized_client', 'JWT regeneration is not enabled for this client')
  const header = request.headers.get('authorization') ?? ''
  const match = /^bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header)
  if (!match) throw new OAuthError('invalid_request', 'a still-valid access token is required in the Authorization header (Bearer)')
  const invalid = new OAuthError('invalid_grant', 'the access token is invalid or expired')
  let payload
  try {
    const { kid } = decodeProtectedHeader(match[1]!)
    const key = kid === undefined ? undefined : await ctx.keys.verificationKey(kid)
    if (!key) throw invalid
    ;({ payload } = await jwtVerify(match[1]!, key.publicKey, { algorithms: [key.alg], typ: 'at+jwt', issuer: issuerFor(ctx, client.mode), currentDate: new Date(ctx.now()) }))
  } catch {
    throw invalid
  }
  if (payload.client_id !== client.clientId || typeof payload.sub !== 'string') throw invalid
  // A JWT issued with a refresh family (`sid`) lives no longer than the family: once it is revoked
  // (e.g. by revoking this JWT) or has expired, regenerating would outlive it.
  const familyId = typeof payload.sid === 'string' ? payload.sid : null
  if (familyId !== null && !(await ctx.store.isFamilyLive(familyId, ctx.now()))) {
    throw new OAuthError('invalid_grant', 'the token family of this access token has been revoked or has expired')
  }
  if (typeof payload.jti === 'string' && (await ctx.store.isJWTRevoked(ctx.resolved.config.environment.name, await sha256(payload.jti)))) {
    throw new OAuthError('invalid_grant', 'the access token has been revoked')
  }
  let audience = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud]
  if (client.credential) {
    const current = aclAudiences(ctx.resolved, client.credential, ctx.now())
    audience = audience.filter((a) => current.includes(a))
    if (audience.length === 0) throw new OAuthError('invalid_grant', 'the client is no longer granted this API proxy')
  }
  const username = payload.sub !== client.clientId ? payload.sub : null
  const stillGrantable = currentlyGrantable(ctx, client, username)
  if (stillGrantable === null) throw new OAuthError('invalid_grant', 'the user or grant behind this access token is no longer allowed')
  const scope = (typeof payload.scope === 'string' && payload.scope !== '' ? payload.scope.split(' ') : []).filter((s) => stillGrantable === undefined || stillGrantable.includes(s))
  const grant: GrantDecision = { client, subject: payload.sub, username, scope, audience, binding: client.binding, format: 'jwt' }
  const now = ctx.now()
  const ttl = client.policy.neverExpires ? null : client.policy.accessTokenTtl * 1000
  const body: Record<string, unknown> = { access_token: await signAccessToken(ctx, grant, now, ttl === null ? null : now + ttl, familyId), token_type: 'Bearer' }
  if (ttl !== null) body.expires_in = ctx.resolved.config.environment.expiresInUnit === 'milliseconds' ? ttl : ttl / 1000
  if (scope.length > 0) body.scope = scope.join(' ')
  note(grant)
  return json(body)
}
