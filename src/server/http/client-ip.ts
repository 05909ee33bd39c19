/**
 * Client-IP resolution behind load balancers and proxies: `X-Forwarded-For`, `X-Real-IP`, RFC 7239
 * `Forwarded` or any other header, by position or — recommended — by walking past trusted proxies.
 *
 * @module
 */
import * as z from 'zod'
import { ConfigError } from '../../shared/errors.js'
import { createIPMatcher, parseCIDR, parseIP } from './ip.js'
import type { IPMatcher } from './ip.js'

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const POSITIONS: readonly ClientIPPosition[] = ['first', 'second', 'third', 'fourth', 'fifth', 'last']

/**
 * Which entry of the forwarded list to use in position mode (`first` = left-most = the original
 * client as claimed by the first proxy; `last` = right-most = the hop nearest to us).
 *
 * Available from `'gatepass/server'`.
 *
 * @example Behind exactly one load balancer that appends to the header
 *
 * ```ts
 * import type { ClientIPPosition } from 'gatepass/server'
 *
 * const position: ClientIPPosition = 'last'
 * ```
 *
 * @group Client IP
 */
export type ClientIPPosition = 'first' | 'second' | 'third' | 'fourth' | 'fifth' | 'last'

/**
 * Schema of the client-IP settings of an API proxy, a proxy group or an environment.
 *
 * - `enabled` (default `true`): when `false` the header is ignored and the peer address is used.
 * - `header` (default `x-forwarded-for`): header to read, case-insensitive; `x-real-ip`,
 *   `forwarded` (parsed as RFC 7239) or any header name such as `cf-connecting-ip`. Stored lowercase.
 * - `position` (default `first`): entry to use when no `trustedProxies` are set.
 * - `trustedProxies`: addresses and CIDR blocks of your own proxies. When set, the header is read
 *   only if the peer is trusted, and the list is walked right to left past trusted hops (the
 *   recommended mode; `position` must then be left out).
 *
 * Available from `'gatepass/server'`.
 *
 * @example Trust the load balancers' subnet
 *
 * ```ts
 * import { clientIPSettingsSchema } from 'gatepass/server'
 *
 * const settings = clientIPSettingsSchema.parse({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] })
 * ```
 *
 * @group Client IP
 */
export const clientIPSettingsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    header: z
      .string()
      .regex(HEADER_NAME, { error: 'must be an HTTP header name such as "x-forwarded-for"' })
      .default('x-forwarded-for')
      .transform((name) => name.toLowerCase()),
    position: z.enum(POSITIONS, { error: `must be one of ${POSITIONS.map((p) => `"${p}"`).join(', ')}` }).optional(),
    trustedProxies: z
      .array(z.string())
      .superRefine((list, ctx) => {
        list.forEach((entry, index) => {
          if (!parseCIDR(entry)) ctx.addIssue({ code: 'custom', path: [index], message: `${JSON.stringify(entry)} is not an IP address or CIDR block` })
        })
      })
      .optional(),
  })
  .superRefine((settings, ctx) => {
    if (settings.position !== undefined && settings.trustedProxies !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['position'], message: '"position" cannot be combined with "trustedProxies" (trusted mode walks the list right to left)' })
    }
  })

/**
 * Client-IP settings as written in configuration (defaults not yet applied); see
 * {@link clientIPSettingsSchema} for every field.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Read X-Real-IP set by a trusted nginx
 *
 * ```ts
 * import type { ClientIPSettings } from 'gatepass/server'
 *
 * const settings: ClientIPSettings = { header: 'x-real-ip', trustedProxies: ['127.0.0.1', '::1'] }
 * ```
 *
 * @group Client IP
 */
export type ClientIPSettings = z.input<typeof clientIPSettingsSchema>

/**
 * The outcome of client-IP resolution, for callers that also forward the chain upstream.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Resolve once, use twice
 *
 * ```ts
 * import { createClientIPResolver, type ClientIPResolution } from 'gatepass/server'
 *
 * let request!: Request
 * const resolver = createClientIPResolver({ trustedProxies: ['10.0.0.0/8'] })
 * const { clientIP, trustedChain }: ClientIPResolution = resolver.resolve(request, '10.0.0.2')
 * ```
 *
 * @group Client IP
 */
export interface ClientIPResolution {
  /** The client address, normalised; `undefined` when unknown (see {@link createClientIPResolver}). */
  clientIP: string | undefined
  /**
   * The received forwarded entries from the client's entry to the right end, normalised, i.e. the
   * part of the chain written by hops we trust. Empty when the header was not used. Pass it to
   * {@link appendForwardedFor}.
   */
  trustedChain: string[]
}

/**
 * Resolves the client address of a request; also carries {@link ClientIPResolver.resolve} for the
 * chain. Created by {@link createClientIPResolver}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Check a credential's IP allow-list
 *
 * ```ts
 * import { createClientIPResolver, createIPMatcher } from 'gatepass/server'
 *
 * let request!: Request
 * let peerAddress!: string | undefined
 * const resolveClientIP = createClientIPResolver({ trustedProxies: ['10.0.0.0/8'] })
 * const allowed = createIPMatcher(['192.0.2.0/24'])
 * const clientIP = resolveClientIP(request, peerAddress)
 * const ok = clientIP !== undefined && allowed(clientIP)
 * ```
 *
 * @group Client IP
 */
export interface ClientIPResolver {
  /**
   * @param request The incoming request.
   * @param peerAddress Address of the TCP peer (the Node adapter's socket, or a platform value).
   * @returns The client address, normalised, or `undefined` when it cannot be known.
   */
  (request: Request, peerAddress: string | undefined): string | undefined
  /**
   * Same as calling the resolver, plus the trusted part of the forwarded chain.
   *
   * @param request The incoming request.
   * @param peerAddress Address of the TCP peer.
   * @returns The client address and the trusted chain.
   */
  resolve(request: Request, peerAddress: string | undefined): ClientIPResolution
}

/** `null` marks an entry that is present but unusable (malformed, `unknown`, obfuscated). */
type Entry = string | null

const PORT = /^(?:\d{1,5}|_[0-9A-Za-z._-]+)$/

/** One node of a list: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, `2001:db8::1`, optionally quoted. */
function parseNode(raw: string): Entry {
  let value = raw.trim()
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).trim()
  if (value.startsWith('[')) {
    const close = value.indexOf(']')
    if (close === -1) return null
    const rest = value.slice(close + 1)
    if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return null
    const inner = value.slice(1, close).replace(/%25/, '%')
    if (!inner.includes(':')) return null
    return parseIP(inner)?.address ?? null
  }
  const colon = value.indexOf(':')
  if (colon !== -1 && colon === value.lastIndexOf(':')) {
    if (!PORT.test(value.slice(colon + 1))) return null
    const ip = parseIP(value.slice(0, colon))
    return ip?.version === 4 ? ip.address : null
  }
  return parseIP(value)?.address ?? null
}

function parseList(value: string): Entry[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseNode)
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/

/**
 * RFC 7239 §4 `Forwarded` elements, each reduced to its `for` node. A syntax error spoils only the
 * element it occurs in: parsing resumes after the next comma.
 */
function parseForwardedFor(value: string): Entry[] {
  const entries: Entry[] = []
  let i = 0
  const n = value.length
  const skipSpace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++
  }
  while (i < n) {
    skipSpace()
    if (value[i] === ',') {
      i++
      continue
    }
    if (i >= n) break
    const params = new Map<string, string>()
    let ok = true
    for (;;) {
      skipSpace()
      const nameStart = i
      while (i < n && TCHAR.test(value[i]!)) i++
      const name = value.slice(nameStart, i).toLowerCase()
      skipSpace()
      if (name === '' || value[i] !== '=') {
        ok = false
        break
      }
      i++
      skipSpace()
      let paramValue = ''
      if (value[i] === '"') {
        const quote = i
        i++
        let closed = false
        while (i < n) {
          const c = value[i]!
          if (c === '\\' && i + 1 < n) {
            paramValue += value[i + 1]
            i += 2
          } else if (c === '"') {
            i++
            closed = true
            break
          } else {
            paramValue += c
            i++
          }
        }
        if (!closed) {
          // Unterminated: resynchronise on the first comma after the opening quote, so a client
          // cannot swallow the elements that proxies append after its own.
          i = quote + 1
          ok = false
          break
        }
      } else {
        const valueStart = i
        while (i < n && value[i] !== ';' && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t' && value[i] !== '"') i++
        paramValue = value.slice(valueStart, i)
      }
      // RFC 7239 §4: a parameter must not occur more than once per element.
      if (params.has(name)) ok = false
      params.set(name, paramValue)
      skipSpace()
      if (value[i] === ';') {
        i++
        continue
      }
      if (i < n && value[i] !== ',') ok = false
      break
    }
    if (!ok) {
      // Resynchronise on the next comma after the point of failure.
      while (i < n && value[i] !== ',') i++
      entries.push(null)
      continue
    }
    const node = params.get('for')
    entries.push(node === undefined ? null : parseNode(node))
  }
  return entries
}

function normalisePeer(peerAddress: string | undefined): string | undefined {
  if (typeof peerAddress !== 'string' || peerAddress === '') return undefined
  return parseNode(peerAddress) ?? peerAddress
}

/**
 * Creates the client-IP resolver for one set of settings (validated up front, trusted list
 * precompiled).
 *
 * Rules, in order:
 * 1. `enabled: false`, or the header absent or empty → the peer address.
 * 2. Trusted mode (`trustedProxies` set): the header is read only when the peer is trusted;
 *    entries are walked right to left, skipping trusted ones, and the first untrusted one is the
 *    client; when every entry is trusted, the left-most. An unusable entry met on the walk
 *    (malformed, `unknown`, `_obfuscated`) gives `undefined`: the hop we trust did not say who
 *    the client is, and answering with a proxy's own address could satisfy an allow-list that
 *    contains it.
 * 3. Position mode: the entry at `position` (`first` … `fifth`, `last`); if the list is too short
 *    or that entry is unusable → the peer address.
 *
 * `forwarded` is parsed as RFC 7239 (quoted strings, `[v6]:port`, `v4:port`, several headers or
 * comma-separated elements); other headers as comma-separated lists whose entries may carry
 * ports and brackets. Addresses come back normalised ({@link parseIP}). Nothing here throws on
 * request data.
 *
 * > [!WARNING]
 * > Position mode trusts whatever the client sends in the header unless every path to you goes
 * > through a proxy that overwrites it. Prefer `trustedProxies`.
 *
 * Available from `'gatepass/server'`.
 *
 * @param settings Client-IP settings; `undefined` means "use the peer address".
 * @returns A resolver `(request, peerAddress) => clientIP` with a `resolve` method that also
 *   returns the trusted chain for {@link appendForwardedFor}.
 * @throws {@link ConfigError} (`ERR_INVALID_CONFIG`) listing every invalid field.
 * @example Behind two load balancers in 10.0.0.0/8
 *
 * ```ts
 * import { createClientIPResolver } from 'gatepass/server'
 *
 * const resolveClientIP = createClientIPResolver({ trustedProxies: ['10.0.0.0/8'] })
 * const request = new Request('https://api.example.com/', {
 *   headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.4' },
 * })
 * resolveClientIP(request, '10.0.0.5') // '203.0.113.9'
 * resolveClientIP(request, '198.51.100.1') // '198.51.100.1' (untrusted peer: header ignored)
 * ```
 *
 * @see [RFC 7239 §4–§7](https://www.rfc-editor.org/rfc/rfc7239#section-4)
 * @group Client IP
 */
export function createClientIPResolver(settings?: ClientIPSettings): ClientIPResolver {
  let header: string | undefined
  let index: number | 'last' = 0
  let trusted: IPMatcher | undefined
  if (settings !== undefined) {
    const parsed = clientIPSettingsSchema.safeParse(settings)
    if (!parsed.success) {
      throw new ConfigError(
        parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
        'client IP settings',
      )
    }
    const value = parsed.data
    if (value.enabled) header = value.header
    if (value.trustedProxies !== undefined) trusted = createIPMatcher(value.trustedProxies)
    const position = value.position ?? 'first'
    index = position === 'last' ? 'last' : POSITIONS.indexOf(position)
  }
  const forwarded = header === 'forwarded'

  function resolve(request: Request, peerAddress: string | undefined): ClientIPResolution {
    const peer = normalisePeer(peerAddress)
    const fallback: ClientIPResolution = { clientIP: peer, trustedChain: [] }
    if (header === undefined) return fallback
    if (trusted && (peer === undefined || !trusted(peer))) return fallback
    let raw: string | null
    try {
      raw = request.headers.get(header)
    } catch {
      return fallback
    }
    if (raw === null) return fallback
    const entries = forwarded ? parseForwardedFor(raw) : parseList(raw)
    if (entries.length === 0) return fallback
    if (trusted) {
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i]!
        if (entry === null) return { clientIP: undefined, trustedChain: [] }
        if (!trusted(entry)) return { clientIP: entry, trustedChain: entries.slice(i) as string[] }
      }
      return { clientIP: entries[0]!, trustedChain: entries as string[] }
    }
    const at = index === 'last' ? entries.length - 1 : index
    const entry = entries[at]
    if (entry === undefined || entry === null) return fallback
    return { clientIP: entry, trustedChain: entries.slice(at).filter((e): e is string => e !== null) }
  }

  const resolveClientIP = function resolveClientIP(request: Request, peerAddress: string | undefined): string | undefined {
    return resolve(request, peerAddress).clientIP
  } as ClientIPResolver
  resolveClientIP.resolve = resolve
  return resolveClientIP
}

/**
 * Builds the request headers to send upstream with `X-Forwarded-For` set to the trusted chain
 * followed by the peer address; whatever the client sent beyond the trusted chain is dropped.
 *
 * The input is not modified (request headers are often immutable); a copy is returned. With no
 * peer and an empty chain the header is removed.
 *
 * Available from `'gatepass/server'`.
 *
 * @param headers Headers of the incoming request.
 * @param peerAddress Address of the TCP peer of this hop, appended at the right.
 * @param trustedChain `trustedChain` from {@link ClientIPResolver.resolve}.
 * @returns A new `Headers` to pass to the upstream `fetch`.
 * @example Forward a request upstream
 *
 * ```ts
 * import { appendForwardedFor, createClientIPResolver } from 'gatepass/server'
 *
 * let request!: Request
 * let peerAddress!: string
 * const resolver = createClientIPResolver({ trustedProxies: ['10.0.0.0/8'] })
 * const { trustedChain } = resolver.resolve(request, peerAddress)
 * const headers = appendForwardedFor(request.headers, peerAddress, trustedChain)
 * ```
 *
 * @group Client IP
 */
export function appendForwardedFor(headers: HeadersInit, peerAddress: string | undefined, trustedChain: readonly string[]): Headers {
  const out = new Headers(headers)
  const peer = normalisePeer(peerAddress)
  const chain = peer === undefined ? [...trustedChain] : [...trustedChain, peer]
  if (chain.length === 0) out.delete('x-forwarded-for')
  else out.set('x-forwarded-for', chain.join(', '))
  return out
}
