import type { TokenPolicy } from '../config/schema.js'
import { OAuthError } from '../lib/responses.js'

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/** Splits a `scope` parameter (RFC 6749 §3.3); malformed → `invalid_scope`. */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined
  const parts = value.split(' ').filter((s) => s !== '')
  if (parts.length === 0) return undefined
  if (!parts.every((s) => SCOPE_TOKEN.test(s))) throw new OAuthError('invalid_scope', 'the scope parameter is malformed')
  return [...new Set(parts)]
}

/**
 * Applies a policy's scope rule: `strict` refuses anything not grantable, `lenient` keeps the
 * intersection, `ignore` grants everything grantable. `allowedScopes` of the policy bounds the
 * grantable set when it is defined.
 */
export function grantScope(policy: TokenPolicy, grantable: string[], requested: string[] | undefined): string[] {
  const bound = policy.allowedScopes ? grantable.filter((s) => policy.allowedScopes!.includes(s)) : grantable
  if (policy.scopes === 'ignore') return bound
  if (requested === undefined) return policy.scopeWhenAbsent === 'all' ? bound : []
  if (policy.scopes === 'strict') {
    if (requested.some((s) => !bound.includes(s))) throw new OAuthError('invalid_scope', 'the requested scope exceeds what this client may be granted')
    return requested
  }
  return requested.filter((s) => bound.includes(s))
}
