/**
 * Which CORS and client-IP settings apply where (SPEC §6): token endpoints in policy mode use the
 * proxy's (else its group's, else the environment's); in ACL mode the environment's; API traffic
 * the proxy's (else its group's).
 */
import type { ResolvedConfig } from './config/resolve.js'
import type { ProxyConfig } from './config/schema.js'
import { createClientIPResolver, type ClientIPResolution } from './http/client-ip.js'
import { createCORS, type CORSHandler } from './http/cors.js'
import { resolveEdgeSettings } from './http/settings-resolution.js'

/** Resolves the client address of a request (peer address when no settings apply). */
export type IPResolver = (request: Request, peer: string | undefined) => ClientIPResolution

export interface EdgeTarget {
  cors: CORSHandler | undefined
  resolveIP: IPResolver
}

const peerOnly: IPResolver = (_request, peer) => ({ clientIP: peer?.replace(/^::ffff:(?=\d+\.)/i, ''), trustedChain: [] })

function target(settings: ReturnType<typeof resolveEdgeSettings>): EdgeTarget {
  const resolver = settings.clientIP ? createClientIPResolver(settings.clientIP) : undefined
  return {
    cors: settings.cors ? createCORS(settings.cors) : undefined,
    resolveIP: resolver ? (request, peer) => resolver.resolve(request, peer) : peerOnly,
  }
}

/** The edge settings of a service, compiled once. */
export function createEdge(resolved: ResolvedConfig) {
  const { config } = resolved
  const environment = { cors: config.environment.cors, clientIP: config.environment.clientIP }
  const groups = new Map(config.groups.map((g) => [g.name, g]))
  const api = new Map<string, EdgeTarget>()
  const policyClients = new Map<string, EdgeTarget>()
  for (const p of config.proxies) {
    const group = p.group === undefined ? undefined : groups.get(p.group)
    api.set(p.name, target(resolveEdgeSettings({ mode: 'api', proxy: p, group, environment })))
    if (p.clientId !== undefined) policyClients.set(p.clientId, target(resolveEdgeSettings({ mode: 'policy', proxy: p, group, environment })))
  }
  for (const g of config.groups) {
    if (g.clientId !== undefined) policyClients.set(g.clientId, target(resolveEdgeSettings({ mode: 'policy', group: g, environment })))
  }
  const acl = target(resolveEdgeSettings({ mode: 'acl', environment }))
  const policyEnv = target(resolveEdgeSettings({ mode: 'policy', environment }))
  const policyAll = [...policyClients.values()]

  return {
    /** Settings for API traffic to a proxy. */
    api(proxy: ProxyConfig): EdgeTarget {
      return api.get(proxy.name)!
    },
    /** Settings of a token endpoint, for an identified client when known. */
    token(mode: 'policy' | 'acl', clientId: string | undefined): EdgeTarget {
      if (mode === 'acl') return acl
      return (clientId !== undefined ? policyClients.get(clientId) : undefined) ?? policyEnv
    },
    /**
     * CORS of a token-endpoint response. ACL mode: the environment's. Policy mode: once the request
     * names a client (its id from the Basic header or the form, whether or not the secret is
     * right), that client's own proxy/group settings (falling back to the environment's) and
     * nothing else: an origin trusted by another proxy may not read this client's tokens. A request
     * that names no known client (preflights carry no credentials) gets the first proxy/group
     * setting that allows the origin, else the environment's.
     */
    tokenCORS(mode: 'policy' | 'acl', clientId: string | undefined, origin: string | null): CORSHandler | undefined {
      if (mode === 'acl') return acl.cors
      const own = clientId !== undefined ? policyClients.get(clientId) : undefined
      if (own) return own.cors
      if (origin === null) return policyEnv.cors
      return policyAll.find((t) => t.cors?.isAllowedOrigin(origin))?.cors ?? policyEnv.cors
    },
  }
}
