/**
 * Audit events of the token endpoints: one per token request, issued or refused and why, with who
 * asked and from where, never a secret or a token. Types and the event builder.
 *
 * @module
 */
import type { ResolvedClient } from './config/resolve.js'
import type { Attempt } from './rate-limit/limiter.js'

/**
 * What happened to a token-endpoint request:
 * - `token.issued`: a client_credentials or password grant answered with a token;
 * - `token.refreshed`: a refresh_token grant answered (a replay inside the grace window included);
 * - `token.regenerated`: `POST …/jwt/regenerate` answered with a new JWT;
 * - `token.revoked`: a revocation request was answered (RFC 7009 answers 200 for unknown tokens too);
 * - `token.introspected`: an introspection request was answered;
 * - `token.refused`: any error answer (`error` and `description` say why: a wrong secret, a
 *   reached brute-force limit (`slow_down`), a store outage…);
 * - `refresh.reuse_detected`: a consumed refresh token was presented again after its grace
 *   window, and its whole family was revoked.
 *
 * @group Token Service
 */
export type AuditEventType = 'token.issued' | 'token.refreshed' | 'token.regenerated' | 'token.revoked' | 'token.introspected' | 'token.refused' | 'refresh.reuse_detected'

/**
 * One audit event. Holds no secret, password or token; strings the client sent (`clientId`,
 * `username`) are cut to 200 characters and may hold anything, so escape them where you log.
 *
 * @example Write audit events as JSON lines
 *
 * ```ts
 * import { createTokenService, type AuditEvent } from 'gatepass/server'
 *
 * const onAudit = (event: AuditEvent) => console.log(JSON.stringify(event))
 * export const service = createTokenService({
 *   environment: { name: 'prod', issuer: 'https://gw.example.com' },
 *   proxies: [{ name: 'orders', clientId: 'orders-app', clientSecret: { env: 'ORDERS_SECRET' } }],
 * }, { env: { ORDERS_SECRET: 'a-long-random-secret' }, onAudit })
 * ```
 *
 * @group Token Service
 */
export interface AuditEvent {
  type: AuditEventType
  /** When the answer was ready, epoch ms (the service's clock). */
  at: number
  /** How long the request took, ms. */
  durationMs: number
  /** The service's environment. */
  environment: string
  endpoint: 'token' | 'jwt' | 'jwt/regenerate' | 'introspect' | 'revoke'
  /** `/auth` (policy) or `/credential` (ACL). */
  mode: 'policy' | 'acl'
  /** The HTTP status of the answer. */
  status: number
  /** The grant type asked for, when it is one gatepass knows. */
  grantType?: 'client_credentials' | 'password' | 'refresh_token'
  /** The client id presented, authenticated or not (see `authenticated`). */
  clientId?: string
  /** Whether the client proved its identity (or is a public client allowed to ask). */
  authenticated: boolean
  /** The API proxy, group or credential the client belongs to, once authenticated. */
  proxy?: string
  /** The username of a password grant, right or wrong. */
  username?: string
  /** The token's subject, when one was issued. */
  subject?: string
  /** The granted scope, when a token was issued (not for a refresh replayed inside its grace window). */
  scope?: string
  /** The token format, when a token was issued. */
  format?: 'jwt' | 'opaque'
  /** The refresh-token family revoked by a reuse. */
  familyId?: string
  /** The client's address, when known. */
  clientIP?: string
  /** The error code of a refusal. */
  error?: string
  /** The error description of a refusal (the one sent to the client). */
  description?: string
}

/** What routing learned of a request, filled in as it goes. */
export interface AuditNotes {
  endpoint?: AuditEvent['endpoint']
  grantType?: string
  attempt?: Attempt
  client?: ResolvedClient
  grant?: { subject: string; scope?: readonly string[]; format: 'jwt' | 'opaque' }
}

/** The event of a successful answer, by endpoint (a refresh_token grant is `token.refreshed`). */
const ANSWERED: Record<AuditEvent['endpoint'], AuditEventType> = {
  token: 'token.issued',
  jwt: 'token.issued',
  'jwt/regenerate': 'token.regenerated',
  introspect: 'token.introspected',
  revoke: 'token.revoked',
}

const GRANTS = new Set(['client_credentials', 'password', 'refresh_token'])
const cut = (value: string) => (value.length > 200 ? value.slice(0, 200) : value)

/** Builds the event of a token-endpoint request. */
export function auditEvent(notes: AuditNotes & { endpoint: AuditEvent['endpoint']; mode: 'policy' | 'acl' }, outcome: { status: number; error?: string; description?: string; reusedFamily?: string }, environment: string, at: number, durationMs: number): AuditEvent {
  const ok = outcome.status < 400
  let type = ok ? ANSWERED[notes.endpoint] : 'token.refused'
  if (outcome.reusedFamily !== undefined) type = 'refresh.reuse_detected'
  else if (type === 'token.issued' && notes.grantType === 'refresh_token') type = 'token.refreshed'
  const event: AuditEvent = { type, at, durationMs, environment, endpoint: notes.endpoint, mode: notes.mode, status: outcome.status, authenticated: notes.client !== undefined }
  if (notes.grantType !== undefined && GRANTS.has(notes.grantType)) event.grantType = notes.grantType as AuditEvent['grantType']
  const clientId = notes.client?.clientId ?? notes.attempt?.clientId
  if (clientId !== undefined) event.clientId = cut(clientId)
  if (notes.client) event.proxy = notes.client.binding.name
  if (notes.attempt?.username !== undefined) event.username = cut(notes.attempt.username)
  if (ok && notes.grant) {
    event.subject = notes.grant.subject
    if (notes.grant.scope !== undefined) event.scope = notes.grant.scope.join(' ')
    event.format = notes.grant.format
  }
  if (outcome.reusedFamily !== undefined) event.familyId = outcome.reusedFamily
  if (notes.attempt?.ip !== undefined) event.clientIP = notes.attempt.ip
  if (outcome.error !== undefined) event.error = outcome.error
  if (outcome.description !== undefined) event.description = outcome.description
  return event
}
