import type { CredentialConfig, ProxyConfig } from '../config/schema.js'

/**
 * The live ACL check of a credential for a proxy: enabled, not expired, granted the proxy (or
 * its group) by an unexpired grant that does not disallow the method. Returns why it fails, or
 * `null` when it passes.
 */
export function aclRefusal(credential: CredentialConfig | undefined, proxy: ProxyConfig, method: string, now: number): string | null {
  if (!credential) return 'the client no longer exists'
  if (!credential.enabled) return 'the client is disabled'
  if (credential.expiresAt !== undefined && Date.parse(credential.expiresAt) <= now) return 'the client has expired'
  const grants = credential.grants.filter((g) => g.proxy === proxy.name || (proxy.group !== undefined && g.group === proxy.group))
  const live = grants.filter((g) => g.expiresAt === undefined || Date.parse(g.expiresAt) > now)
  if (live.length === 0) return 'the client is not granted this API'
  // HEAD is a GET without a body (RFC 9110 §9.3.2): a grant that disallows GET disallows HEAD.
  const asked = method.toUpperCase()
  const methods = asked === 'HEAD' ? ['HEAD', 'GET'] : [asked]
  if (live.every((g) => methods.some((m) => g.disallowedMethods.includes(m)))) return 'the method is not allowed for this client'
  return null
}
