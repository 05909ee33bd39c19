import { appendForwardedFor } from '../http/client-ip.js'
import { CONNECTION_HEADERS } from '../lib/hop-by-hop.js'
import { json } from '../lib/responses.js'
import type { Principal } from '../principal.js'
import { invalidArgument } from '../../shared/lib/args.js'
import { optionalBoolean } from '../service-options.js'
import { duration, httpURL, MAX_TIMER_DELAY } from '../verifiers/common.js'

/**
 * Options of `service.proxy()`.
 *
 * @group Validation
 */
export interface ProxyHandlerOptions {
  /** Upstream base URL (http or https); default: the proxy's configured `upstream`. */
  upstream?: string
  /** Remove the access token before forwarding. Default `true`. */
  stripToken?: boolean
  /** Header carrying the subject upstream. Default `X-Authenticated-UserId`; `false` to omit. */
  userHeader?: string | false
  /** Header carrying the granted scopes (comma separated). Default `X-Authenticated-UserRoles`; `false` to omit. */
  rolesHeader?: string | false
  /** Upstream timeout, ms, an integer from 1 to 2,147,483,647 (→ 504). Default 30,000. */
  timeoutDuration?: number
}

/** RFC 9110 §7.6.1 hop-by-hop fields, never forwarded. */
/** What a proxy never forwards: the connection's own headers, and proxy authentication between client and this hop. */
const HOP_BY_HOP = [...CONNECTION_HEADERS, 'proxy-authenticate', 'proxy-authorization']

function stripHopByHop(headers: Headers): Headers {
  const out = new Headers(headers)
  const named = headers.get('connection')?.split(',').map((h) => h.trim().toLowerCase()) ?? []
  for (const name of [...HOP_BY_HOP, ...named]) if (name) out.delete(name)
  return out
}

/** Printable ASCII as is; anything else (e.g. `Łukasz`) percent-encoded as UTF-8, never a 500. */
function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value)
}

/** RFC 9110 §5.6.2 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A header-name option: a field name (lowercased), `false` to omit the header, or the default. */
function headerOption(value: unknown, name: string, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (typeof value !== 'string') throw invalidArgument(`"${name}" must be a header name or false`, 'ERR_INVALID_ARG_TYPE')
  if (!HEADER_NAME.test(value)) throw invalidArgument(`"${name}" must be a header name (RFC 9110 token characters) or false`)
  return value.toLowerCase()
}

/** Builds the function that forwards a guarded request upstream. */
export function createForwarder(prefix: string, upstream: string, options: ProxyHandlerOptions) {
  const base = httpURL(upstream, 'upstream')
  const basePath = base.pathname.replace(/\/+$/, '')
  const userHeader = headerOption(options.userHeader, 'userHeader', 'x-authenticated-userid')
  const rolesHeader = headerOption(options.rolesHeader, 'rolesHeader', 'x-authenticated-userroles')
  const timeout = duration(options.timeoutDuration, 'timeoutDuration', 30_000, { min: 1, max: MAX_TIMER_DELAY, integer: true, unit: 'ms' })
  const stripToken = optionalBoolean(options.stripToken, 'stripToken') !== false

  return async function forward(request: Request, principal: Principal, peerAddress: string | undefined, trustedChain: string[]): Promise<Response> {
    const incoming = new URL(request.url)
    if (incoming.pathname !== prefix && !incoming.pathname.startsWith(`${prefix}/`)) {
      return json({ error: 'invalid_request', error_description: 'no such endpoint' }, 404)
    }
    const rest = incoming.pathname.slice(prefix.length)
    const target = new URL(base)
    target.pathname = `${basePath}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`
    const search = new URLSearchParams(incoming.search)
    if (stripToken) search.delete('access_token')
    target.search = search.toString()

    const headers = stripHopByHop(request.headers)
    headers.delete('host')
    headers.delete('content-length')
    // Client addresses reach the upstream only through the X-Forwarded-For rebuilt below.
    headers.delete('forwarded')
    headers.delete('x-real-ip')
    if (stripToken) headers.delete('authorization')
    // Never let a client set identity headers itself (the default names too, when renamed or off).
    for (const name of ['x-authenticated-userid', 'x-authenticated-userroles', userHeader, rolesHeader]) if (name) headers.delete(name)
    if (userHeader) headers.set(userHeader, headerValue(principal.subject))
    if (rolesHeader) headers.set(rolesHeader, headerValue(principal.scopes.join(',')))
    const forwarded = appendForwardedFor(headers, peerAddress, trustedChain)
    forwarded.set('x-forwarded-proto', incoming.protocol.slice(0, -1))
    forwarded.set('x-forwarded-host', incoming.host)

    // The timeout covers the wait for the upstream's response headers, not a long streamed body.
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(new DOMException('the upstream did not answer in time', 'TimeoutError')), timeout)
    const signal = AbortSignal.any([request.signal, deadline.signal])
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null
    let upstreamResponse: Response
    try {
      upstreamResponse = await fetch(target, {
        method: request.method,
        headers: forwarded,
        body: hasBody ? request.body : null,
        redirect: 'manual',
        signal,
        ...(hasBody ? { duplex: 'half' } : {}),
      } as RequestInit)
    } catch {
      clearTimeout(timer)
      if (deadline.signal.aborted) return json({ error: 'temporarily_unavailable', error_description: 'the upstream service did not answer in time' }, 504)
      return json({ error: 'temporarily_unavailable', error_description: 'the upstream service is unreachable' }, 502)
    }
    clearTimeout(timer)
    const responseHeaders = stripHopByHop(upstreamResponse.headers)
    // fetch() decompressed the body: the length and encoding no longer describe it.
    responseHeaders.delete('content-encoding')
    responseHeaders.delete('content-length')
    return new Response(upstreamResponse.body, { status: upstreamResponse.status, statusText: upstreamResponse.statusText, headers: responseHeaders })
  }
}
