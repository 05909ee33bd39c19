/**
 * CORS for the token endpoints and for guarded or proxied API responses: settings schema, preflight
 * answers and headers on actual responses, on plain Fetch `Request`/`Response` objects.
 *
 * @module
 */
import * as z from 'zod'
import { ConfigError } from '../../shared/errors.js'

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const ORIGIN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:[\]\\]+)(?::(\d{1,5}))?$/
const PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/\*\.([^\s/?#@:[\]\\*]+)(?::(\d{1,5}))?$/
const LABELS = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/
const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss'])
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', ws: '80', wss: '443' }

/** Response headers owned by the CORS protocol; upstream values are replaced, never passed through. */
const CORS_RESPONSE_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
]

interface OriginParts {
  scheme: string
  host: string
  port: string
  origin: string
}

function canonicalHost(scheme: string, host: string): string | undefined {
  if (SPECIAL_SCHEMES.has(scheme)) {
    try {
      // Lowercases, applies IDNA (punycode) and canonicalises IPv4/IPv6 literals.
      return new URL(`${scheme}://${host}/`).hostname || undefined
    } catch {
      return undefined
    }
  }
  return /^[\x21-\x7e]+$/.test(host) ? host.toLowerCase() : undefined
}

function canonicalPort(scheme: string, port: string | undefined): string | undefined {
  if (port === undefined) return ''
  const n = Number(port)
  if (n > 65535 || String(n) !== port) return undefined
  return DEFAULT_PORTS[scheme] === port ? '' : port
}

/** Parses `scheme://host[:port]` into its canonical (browser-serialised) form. */
function parseOrigin(value: string): OriginParts | undefined {
  const match = ORIGIN.exec(value)
  if (!match) return undefined
  const scheme = match[1]!.toLowerCase()
  const host = canonicalHost(scheme, match[2]!)
  const port = canonicalPort(scheme, match[3])
  if (host === undefined || port === undefined) return undefined
  return { scheme, host, port, origin: `${scheme}://${host}${port ? `:${port}` : ''}` }
}

interface OriginPattern {
  scheme: string
  suffix: string
  port: string
}

/** Parses `scheme://*.suffix[:port]`: the `*` stands for one or more DNS labels, nothing else. */
function parsePattern(value: string): OriginPattern | undefined {
  const match = PATTERN.exec(value)
  if (!match) return undefined
  const scheme = match[1]!.toLowerCase()
  const host = canonicalHost(scheme, `x.${match[2]!}`)
  const port = canonicalPort(scheme, match[3])
  if (host === undefined || port === undefined || !host.startsWith('x.')) return undefined
  const suffix = host.slice(2)
  if (!LABELS.test(suffix)) return undefined
  return { scheme, suffix, port }
}

function originEntryError(entry: string): string | undefined {
  if (entry === '*' || entry === 'null') return undefined
  if (entry.includes('*')) {
    return parsePattern(entry)
      ? undefined
      : `${JSON.stringify(entry)} is not a valid origin pattern: "*" may only stand for the left-most host labels, e.g. "https://*.example.com"`
  }
  if (parseOrigin(entry)) return undefined
  return `${JSON.stringify(entry)} is not an origin: expected "scheme://host[:port]" without path or trailing slash, "*", "null" or a pattern such as "https://*.example.com"`
}

function headerList(field: string) {
  return z.array(z.string()).superRefine((list, ctx) => {
    list.forEach((entry, index) => {
      if (entry !== '*' && !TOKEN.test(entry)) ctx.addIssue({ code: 'custom', path: [index], message: `${JSON.stringify(entry)} is not a valid ${field} name` })
    })
  })
}

/**
 * Schema of the CORS settings of an API proxy, a proxy group or an environment.
 *
 * - `enabled` (default `true`): when `false`, {@link createCORS} leaves requests and responses alone.
 * - `allowOrigins` (default `[]`): exact origins (`https://app.example.com`, `http://localhost:5173`),
 *   `"*"` (any origin, never with credentials), `"null"` (opaque origins, never with credentials) and
 *   patterns `scheme://*.domain[:port]` where `*` matches one or more DNS labels of the host only.
 * - `allowMethods` (default `['GET', 'POST', 'OPTIONS']`): stored uppercase.
 * - `allowHeaders` (default `[]`): request header names allowed on preflight, stored lowercase.
 * - `echoRequestHeaders` (default `false`): answer a preflight with the headers it asked for
 *   instead of `allowHeaders` (the product's "echo" mode; `"*"` in `allowHeaders` is refused in
 *   favour of this flag).
 * - `exposeHeaders` (default `[]`): response headers the page may read; `"*"` only without credentials.
 * - `allowCredentials` (default `false`): send `Access-Control-Allow-Credentials: true`.
 * - `maxAge` (default `3600`): seconds a browser may cache the preflight answer.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Settings for a single-page app with cookies
 *
 * ```ts
 * import { corsSettingsSchema } from 'gatepass/server'
 *
 * const settings = corsSettingsSchema.parse({
 *   allowOrigins: ['https://app.example.com', 'https://*.preview.example.com'],
 *   allowHeaders: ['authorization', 'content-type'],
 *   allowCredentials: true,
 * })
 * ```
 *
 * @group CORS
 */
export const corsSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    allowOrigins: z
      .array(z.string())
      .superRefine((list, ctx) => {
        list.forEach((entry, index) => {
          const message = originEntryError(entry)
          if (message) ctx.addIssue({ code: 'custom', path: [index], message })
        })
      })
      .default([]),
    allowMethods: z
      .array(z.string())
      .superRefine((list, ctx) => {
        list.forEach((entry, index) => {
          if (!TOKEN.test(entry) || entry === '*') {
            ctx.addIssue({ code: 'custom', path: [index], message: `${JSON.stringify(entry)} is not an HTTP method; list each method, "*" is not supported` })
          }
        })
      })
      .transform((list) => [...new Set(list.map((method) => method.toUpperCase()))])
      .default(['GET', 'POST', 'OPTIONS']),
    allowHeaders: headerList('header')
      .superRefine((list, ctx) => {
        const index = list.indexOf('*')
        if (index !== -1) ctx.addIssue({ code: 'custom', path: [index], message: '"*" is not supported; set "echoRequestHeaders": true to allow the headers a preflight asks for' })
      })
      .transform((list) => [...new Set(list.map((name) => name.toLowerCase()))])
      .default([]),
    echoRequestHeaders: z.boolean().default(false),
    exposeHeaders: headerList('header')
      .transform((list) => [...new Set(list.map((name) => name.toLowerCase()))])
      .default([]),
    allowCredentials: z.boolean().default(false),
    maxAge: z.number().int({ error: 'must be a whole number of seconds' }).min(0, { error: 'must not be negative' }).default(3600),
  })
  .superRefine((settings, ctx) => {
    if (!settings.allowCredentials) return
    settings.allowOrigins.forEach((entry, index) => {
      if (entry === '*') {
        ctx.addIssue({ code: 'custom', path: ['allowOrigins', index], message: '"*" cannot be combined with "allowCredentials": true; list the allowed origins instead' })
      } else if (entry === 'null') {
        ctx.addIssue({ code: 'custom', path: ['allowOrigins', index], message: '"null" cannot be combined with "allowCredentials": true; any sandboxed page or data: URL sends Origin: null' })
      }
    })
    const star = settings.exposeHeaders.indexOf('*')
    if (star !== -1) {
      ctx.addIssue({ code: 'custom', path: ['exposeHeaders', star], message: '"*" cannot be combined with "allowCredentials": true; browsers read it as a literal header name' })
    }
  })

/**
 * CORS settings as written in configuration (defaults not yet applied); see
 * {@link corsSettingsSchema} for every field.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Public, credential-less API
 *
 * ```ts
 * import type { CORSSettings } from 'gatepass/server'
 *
 * const settings: CORSSettings = { allowOrigins: ['*'], allowMethods: ['GET'], maxAge: 600 }
 * ```
 *
 * @group CORS
 */
export type CORSSettings = z.input<typeof corsSettingsSchema>

/**
 * The CORS handler returned by {@link createCORS}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Check an origin outside a request (e.g. for a WebSocket upgrade)
 *
 * ```ts
 * import { createCORS, type CORSHandler } from 'gatepass/server'
 *
 * const cors: CORSHandler = createCORS({ allowOrigins: ['https://*.example.com'] })
 * cors.isAllowedOrigin('https://app.example.com') // true
 * cors.isAllowedOrigin('https://example.com') // false
 * ```
 *
 * @group CORS
 */
export interface CORSHandler {
  /**
   * Answers a CORS preflight; call it first, before any credential check.
   *
   * @param request The incoming request.
   * @returns A `204` response for a preflight (`OPTIONS` with `Origin` and
   *   `Access-Control-Request-Method`), with CORS headers only when origin and method are allowed;
   *   `null` for any other request (and when CORS is disabled), which then takes its normal path.
   */
  preflight(request: Request): Response | null
  /**
   * Adds the CORS headers to an actual response (errors included, so a page can read a 400/401 body).
   *
   * @param request The request being answered.
   * @param response The response to send; headers are set in place, or on a copy when immutable.
   * @returns The response to send.
   */
  apply(request: Request, response: Response): Response
  /**
   * Whether an `Origin` value is allowed by the settings.
   *
   * @param origin The `Origin` header value, as the browser sent it.
   * @returns `true` when responses to this origin get CORS headers.
   */
  isAllowedOrigin(origin: string): boolean
}

function mergeVary(existing: string | null, add: readonly string[]): string {
  const items = existing === null ? [] : existing.split(',').map((item) => item.trim()).filter((item) => item !== '')
  if (items.includes('*')) return '*'
  const seen = new Set(items.map((item) => item.toLowerCase()))
  for (const item of add) {
    if (!seen.has(item.toLowerCase())) {
      items.push(item)
      seen.add(item.toLowerCase())
    }
  }
  return items.join(', ')
}

function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.has('origin') && request.headers.has('access-control-request-method')
}

/** Sets headers in place; if the headers are immutable (e.g. a `fetch` response), on a copy. */
function withHeaders(response: Response, edit: (headers: Headers) => void): Response {
  try {
    edit(response.headers)
    return response
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
  }
  let copy: Response
  try {
    copy = new Response(response.body, { status: response.status, statusText: response.statusText, headers: response.headers })
  } catch {
    // Status 0 (Response.error()) or 101 cannot be rebuilt; such responses carry no CORS data anyway.
    return response
  }
  edit(copy.headers)
  return copy
}

/**
 * Creates the CORS handler for one set of settings (validated up front, origin matchers precompiled).
 *
 * Behaviour:
 * - Preflight from an allowed origin with an allowed method → `204` with
 *   `Access-Control-Allow-Origin` (the request's origin echoed; `*` only when `"*"` is configured,
 *   which excludes credentials), `Access-Control-Allow-Credentials: true` when enabled,
 *   `Access-Control-Allow-Methods`, `Access-Control-Allow-Headers` (the requested ones when
 *   `echoRequestHeaders`, else `allowHeaders`) and `Access-Control-Max-Age`.
 * - Preflight from a disallowed origin or with a disallowed method → `204` with **no** CORS headers
 *   (the browser then blocks the call; a 204 rather than a 403 tells a prober nothing more and
 *   matches the common middlewares).
 * - Every preflight answer carries `Vary: Origin`, plus `Access-Control-Request-Headers` when echoing.
 * - Actual responses always get `Vary: Origin` (merged with an existing `Vary`); an allowed origin
 *   also gets `Access-Control-Allow-Origin`, credentials and `Access-Control-Expose-Headers`. CORS
 *   headers already on the response (e.g. from an upstream API) are removed first, so these
 *   settings alone decide.
 * - `Origin: null` is allowed only by an exact `"null"` entry, never by `"*"` or a pattern.
 * - Origins are compared in their browser-serialised form (lowercase, no default port); a request
 *   `Origin` that is not in that form is not allowed.
 *
 * Available from `'gatepass/server'`.
 *
 * @param settings CORS settings (see {@link corsSettingsSchema}).
 * @returns The handler: call `preflight` first, then `apply` to whatever response you produce.
 * @throws {@link ConfigError} (`ERR_INVALID_CONFIG`) listing every invalid field.
 * @example Wrap a Fetch handler
 *
 * ```ts
 * import { createCORS } from 'gatepass/server'
 *
 * let handler!: (request: Request) => Promise<Response>
 * const cors = createCORS({ allowOrigins: ['https://app.example.com'], allowHeaders: ['authorization'] })
 *
 * async function fetchWithCORS(request: Request): Promise<Response> {
 *   return cors.preflight(request) ?? cors.apply(request, await handler(request))
 * }
 * ```
 *
 * @see [Fetch standard, CORS protocol](https://fetch.spec.whatwg.org/#http-cors-protocol)
 * @group CORS
 */
export function createCORS(settings: CORSSettings): CORSHandler {
  const parsed = corsSettingsSchema.safeParse(settings)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      'CORS settings',
    )
  }
  const config = parsed.data
  const anyOrigin = config.allowOrigins.includes('*')
  const allowNull = config.allowOrigins.includes('null')
  const exact = new Set<string>()
  const patterns: OriginPattern[] = []
  for (const entry of config.allowOrigins) {
    if (entry === '*' || entry === 'null') continue
    if (entry.includes('*')) patterns.push(parsePattern(entry)!)
    else exact.add(parseOrigin(entry)!.origin)
  }
  const methods = new Set(config.allowMethods)
  const allowMethods = config.allowMethods.join(', ')
  const allowHeaders = config.allowHeaders.join(', ')
  const exposeHeaders = config.exposeHeaders.join(', ')
  const preflightVary = config.echoRequestHeaders ? ['Origin', 'Access-Control-Request-Headers'] : ['Origin']

  function isAllowedOrigin(origin: string): boolean {
    if (typeof origin !== 'string') return false
    if (origin === 'null') return allowNull
    const parts = parseOrigin(origin)
    if (!parts || parts.origin !== origin) return false
    if (anyOrigin || exact.has(origin)) return true
    for (const pattern of patterns) {
      if (pattern.scheme !== parts.scheme || pattern.port !== parts.port) continue
      if (!parts.host.endsWith(`.${pattern.suffix}`)) continue
      if (LABELS.test(parts.host.slice(0, -pattern.suffix.length - 1))) return true
    }
    return false
  }

  function allowOriginValue(origin: string): string {
    return anyOrigin && !config.allowCredentials ? '*' : origin
  }

  function preflight(request: Request): Response | null {
    if (!config.enabled || !isPreflight(request)) return null
    const origin = request.headers.get('origin')!
    const method = request.headers.get('access-control-request-method')!.trim()
    const headers = new Headers({ vary: preflightVary.join(', ') })
    if (isAllowedOrigin(origin) && methods.has(method)) {
      headers.set('access-control-allow-origin', allowOriginValue(origin))
      if (config.allowCredentials) headers.set('access-control-allow-credentials', 'true')
      headers.set('access-control-allow-methods', allowMethods)
      if (config.echoRequestHeaders) {
        const requested = (request.headers.get('access-control-request-headers') ?? '')
          .split(',')
          .map((name) => name.trim().toLowerCase())
          .filter((name) => TOKEN.test(name))
        if (requested.length > 0) headers.set('access-control-allow-headers', [...new Set(requested)].join(', '))
      } else if (allowHeaders !== '') {
        headers.set('access-control-allow-headers', allowHeaders)
      }
      headers.set('access-control-max-age', String(config.maxAge))
    }
    return new Response(null, { status: 204, headers })
  }

  function apply(request: Request, response: Response): Response {
    // Preflights are answered completely by preflight(); leave such responses untouched.
    if (!config.enabled || isPreflight(request)) return response
    const origin = request.headers.get('origin')
    const allowed = origin !== null && isAllowedOrigin(origin)
    return withHeaders(response, (headers) => {
      headers.set('vary', mergeVary(headers.get('vary'), ['Origin']))
      for (const name of CORS_RESPONSE_HEADERS) headers.delete(name)
      if (!allowed) return
      headers.set('access-control-allow-origin', allowOriginValue(origin))
      if (config.allowCredentials) headers.set('access-control-allow-credentials', 'true')
      if (exposeHeaders !== '') headers.set('access-control-expose-headers', exposeHeaders)
    })
  }

  return { preflight, apply, isAllowedOrigin }
}
