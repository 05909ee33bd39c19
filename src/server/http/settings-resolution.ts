/**
 * Which CORS and client-IP settings apply to a request: the API proxy's, its group's or the
 * environment's, depending on how tokens are managed.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import type { ClientIPSettings } from './client-ip.js'
import type { CORSSettings } from './cors.js'

/**
 * Where a request is handled:
 * - `'policy'`: a token endpoint managed from the proxy's policy (`/auth/*`);
 * - `'acl'`: a token endpoint managed through credentials (`/credential/*`);
 * - `'api'`: guarded or proxied API traffic.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Pick the mode from the path
 *
 * ```ts
 * import type { EdgeSettingsMode } from 'gatepass/server'
 *
 * let pathname!: string
 * const mode: EdgeSettingsMode = pathname.startsWith('/credential/') ? 'acl' : pathname.startsWith('/auth/') ? 'policy' : 'api'
 * ```
 *
 * @group CORS
 * @group Client IP
 */
export type EdgeSettingsMode = 'policy' | 'acl' | 'api'

/**
 * The CORS and client-IP settings of one level (proxy, group or environment); either may be absent.
 *
 * Available from `'gatepass/server'`.
 *
 * @example An environment's token-endpoint settings
 *
 * ```ts
 * import type { EdgeSettings } from 'gatepass/server'
 *
 * const environment: EdgeSettings = { cors: { allowOrigins: ['https://portal.example.com'] }, clientIP: { position: 'last' } }
 * ```
 *
 * @group CORS
 * @group Client IP
 */
export interface EdgeSettings<C = CORSSettings, I = ClientIPSettings> {
  /** CORS settings of this level. */
  cors?: C | undefined
  /** Client-IP settings of this level. */
  clientIP?: I | undefined
}

/**
 * Input of {@link resolveEdgeSettings}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Policy-mode token request for a proxy in a group
 *
 * ```ts
 * import type { ResolveEdgeSettingsOptions } from 'gatepass/server'
 *
 * const options: ResolveEdgeSettingsOptions = {
 *   mode: 'policy',
 *   proxy: {},
 *   group: { cors: { allowOrigins: ['https://app.example.com'] } },
 *   environment: {},
 * }
 * ```
 *
 * @group CORS
 * @group Client IP
 */
export interface ResolveEdgeSettingsOptions<C = CORSSettings, I = ClientIPSettings> {
  /** Where the request is handled. */
  mode: EdgeSettingsMode
  /** The API proxy's settings. */
  proxy?: EdgeSettings<C, I> | undefined
  /** The settings of the proxy's group, if it belongs to one. */
  group?: EdgeSettings<C, I> | undefined
  /** The environment's token-endpoint settings (used only by token endpoints). */
  environment: EdgeSettings<C, I>
}

/**
 * The settings that apply; `undefined` means none is configured at any consulted level.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Build the handlers
 *
 * ```ts
 * import { createClientIPResolver, createCORS, type ResolvedEdgeSettings } from 'gatepass/server'
 *
 * let resolved!: ResolvedEdgeSettings
 * const cors = resolved.cors && createCORS(resolved.cors)
 * const resolveClientIP = createClientIPResolver(resolved.clientIP)
 * ```
 *
 * @group CORS
 * @group Client IP
 */
export interface ResolvedEdgeSettings<C = CORSSettings, I = ClientIPSettings> {
  /** CORS settings to apply, if any. */
  cors: C | undefined
  /** Client-IP settings to apply, if any. */
  clientIP: I | undefined
}

const ORDER: Record<EdgeSettingsMode, ReadonlyArray<'proxy' | 'group' | 'environment'>> = {
  policy: ['proxy', 'group', 'environment'],
  acl: ['environment'],
  api: ['proxy', 'group'],
}

/**
 * Picks the CORS and client-IP settings for a request, each independently, by the first level
 * that defines it.
 *
 * | mode | consulted, in order |
 * |---|---|
 * | `'policy'` (token endpoint, policy-managed) | proxy → group → environment |
 * | `'acl'` (token endpoint, credential-managed) | environment |
 * | `'api'` (API traffic) | proxy → group (never the environment's token-endpoint settings) |
 *
 * Available from `'gatepass/server'`.
 *
 * @param options The mode and the settings of each level; values are returned as given, so they
 *   may be raw settings or already-built handlers.
 * @returns The settings to pass to {@link createCORS} and {@link createClientIPResolver} (or the
 *   handlers to use); `undefined` fields mean "no CORS" / "peer address".
 * @throws `TypeError` with code `ERR_INVALID_ARG_VALUE` for an unknown `mode`.
 * @example Token endpoint in ACL mode
 *
 * ```ts
 * import { resolveEdgeSettings } from 'gatepass/server'
 *
 * const { cors, clientIP } = resolveEdgeSettings({
 *   mode: 'acl',
 *   proxy: { cors: { allowOrigins: ['https://proxy.example.com'] } },
 *   environment: { cors: { allowOrigins: ['https://portal.example.com'] }, clientIP: { header: 'x-real-ip' } },
 * })
 * // cors → the environment's, clientIP → the environment's
 * ```
 *
 * @group CORS
 * @group Client IP
 */
export function resolveEdgeSettings<C = CORSSettings, I = ClientIPSettings>(
  options: ResolveEdgeSettingsOptions<C, I>,
): ResolvedEdgeSettings<C, I> {
  const order = Object.hasOwn(ORDER, options?.mode) ? ORDER[options.mode] : undefined
  if (!order) throw invalidArgument('"mode" must be one of "policy", "acl", "api"')
  const levels = order.map((level) => options[level])
  return {
    cors: levels.find((level) => level?.cors !== undefined)?.cors,
    clientIP: levels.find((level) => level?.clientIP !== undefined)?.clientIP,
  }
}
