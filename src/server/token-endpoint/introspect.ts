import { decodeProtectedHeader, jwtVerify } from 'jose'
import type { ResolvedClient } from '../config/resolve.js'
import { sha256 } from '../lib/crypto.js'
import { json, OAuthError } from '../lib/responses.js'
import type { ServiceContext } from './context.js'
import { issuerFor } from './mint.js'

const INACTIVE = { active: false }

/** Verifies a JWT of ours (any audience); `null` when it is not one, or not valid. */
async function ourJWT(ctx: ServiceContext, token: string, client: ResolvedClient, options: { ignoreExpiry?: boolean } = {}) {
  if (token.split('.').length !== 3) return null
  try {
    const { kid } = decodeProtectedHeader(token)
    const key = typeof kid === 'string' ? await ctx.keys.verificationKey(kid) : undefined
    if (!key) return null
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      typ: 'at+jwt',
      issuer: issuerFor(ctx, client.mode),
      currentDate: new Date(ctx.now()),
      // Revoking an expired JWT must still kill its refresh family.
      ...(options.ignoreExpiry ? { clockTolerance: Number.MAX_SAFE_INTEGER } : {}),
    })
    return payload.client_id === client.clientId ? payload : null
  } catch {
    return null
  }
}

function readToken(params: Map<string, string>): { token: string; hint: string | undefined } {
  const token = params.get('token')
  if (token === undefined) throw new OAuthError('invalid_request', 'the token parameter is required')
  return { token, hint: params.get('token_type_hint') }
}

/**
 * Whether a JWT of ours was revoked: itself (RFC 7009, by `jti`), or its refresh family (`sid`),
 * which RFC 7009 §2.1 extends to the access tokens of the same grant.
 */
async function jwtRevoked(ctx: ServiceContext, jwt: { jti?: unknown; sid?: unknown }): Promise<boolean> {
  const env = ctx.resolved.config.environment.name
  if (typeof jwt.jti === 'string' && (await ctx.store.isJWTRevoked(env, await sha256(jwt.jti)))) return true
  // At time 0 nothing has expired yet: this asks only whether every member was revoked.
  return typeof jwt.sid === 'string' && !(await ctx.store.isFamilyLive(jwt.sid, 0))
}

/** RFC 7662: a client sees only its own tokens; anything else is `{ active: false }`. */
export async function introspect(ctx: ServiceContext, client: ResolvedClient, params: Map<string, string>): Promise<Response> {
  const { token, hint } = readToken(params)
  const now = ctx.now()
  const jwt = await ourJWT(ctx, token, client)
  if (jwt) {
    if (await jwtRevoked(ctx, jwt)) return json(INACTIVE)
    const username = typeof jwt.sub === 'string' && jwt.sub !== jwt.client_id ? { username: jwt.sub } : {}
    return json({ ...jwt, ...username, active: true, token_type: 'Bearer' })
  }
  const digest = await sha256(token)
  const env = ctx.resolved.config.environment.name
  const lookups = hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const)
  for (const kind of lookups) {
    const record = kind === 'access' ? await ctx.store.findAccessToken(digest) : await ctx.store.findRefreshToken(digest)
    if (!record) continue
    const consumed = 'consumedAt' in record && record.consumedAt !== null
    const active = record.clientId === client.clientId && record.environment === env && record.revokedAt === null && !consumed && (record.expiresAt === null || record.expiresAt > now)
    if (!active) return json(INACTIVE)
    const body: Record<string, unknown> = {
      active: true,
      client_id: record.clientId,
      sub: record.subject,
      token_type: kind === 'access' ? 'Bearer' : 'refresh_token',
      iat: Math.floor(record.issuedAt / 1000),
      iss: issuerFor(ctx, client.mode),
    }
    if (kind === 'access') body.aud = record.audience.length === 1 ? record.audience[0] : record.audience
    if (record.scope !== '') body.scope = record.scope
    if (record.username !== null) body.username = record.username
    if (record.expiresAt !== null) body.exp = Math.floor(record.expiresAt / 1000)
    return json(body)
  }
  return json(INACTIVE)
}

/**
 * RFC 7009: 200 with an empty body whether or not the token was known; opaque access or refresh
 * tokens revoke their whole family; a JWT revokes the refresh token issued with it (`sid`).
 * `forget` drops revoked entries from the validation caches.
 */
export async function revoke(ctx: ServiceContext, client: ResolvedClient, params: Map<string, string>, forget: (what: { digest?: string; familyId?: string }) => Promise<void>): Promise<Response> {
  const { token, hint } = readToken(params)
  const now = ctx.now()
  const done = () => new Response(null, { status: 200, headers: { 'cache-control': 'no-store', pragma: 'no-cache' } })
  const jwt = await ourJWT(ctx, token, client, { ignoreExpiry: true })
  if (jwt) {
    // Kept until the JWT expires: regeneration and introspection refuse it from now on.
    if (typeof jwt.jti === 'string') {
      const env = ctx.resolved.config.environment.name
      await ctx.store.revokeJWT({ environment: env, jtiDigest: await sha256(jwt.jti), clientId: client.clientId, expiresAt: typeof jwt.exp === 'number' ? jwt.exp * 1000 : null, revokedAt: now })
    }
    if (typeof jwt.sid === 'string') await ctx.store.revokeFamily(jwt.sid, now)
    return done()
  }
  // A client affects only its own tokens of this environment (several may share one store).
  const env = ctx.resolved.config.environment.name
  const digest = await sha256(token)
  const order = hint === 'refresh_token' ? (['refresh', 'access'] as const) : (['access', 'refresh'] as const)
  for (const kind of order) {
    if (kind === 'access') {
      const record = await ctx.store.findAccessToken(digest)
      if (!record) continue
      if (record.clientId === client.clientId && record.environment === env) {
        await ctx.store.revokeAccessToken(digest, now)
        await forget({ digest, ...(record.familyId ? { familyId: record.familyId } : {}) })
      }
      return done()
    }
    const record = await ctx.store.findRefreshToken(digest)
    if (!record) continue
    if (record.clientId === client.clientId && record.environment === env) {
      await ctx.store.revokeFamily(record.familyId, now)
      await forget({ familyId: record.familyId, ...(record.accessDigest ? { digest: record.accessDigest } : {}) })
    }
    return done()
  }
  return done()
}
