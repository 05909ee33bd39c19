/**
 * The `node:http` adapter: runs any gatepass Fetch handler (the token service, a `protect()`ed API,
 * a `proxy()`) on a plain Node HTTP server, with the client's IP address taken from the socket.
 *
 * Available from `'gatepass/server/node'` (Node only).
 *
 * @module
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { invalidArgument } from '../../shared/lib/args.js'
import { nonEmptyString, objectWithMethods, optionalFunction, optionsObject } from '../verifiers/common.js'
import { CONNECTION_HEADERS } from '../lib/hop-by-hop.js'
import { deferKnownBodies, knownHeaders } from '../lib/known-body.js'
import type { FetchHandler, RequestContext } from '../types.js'
import { abortNodeRequest, createNodeRequest, drainNodeRequest } from './request.js'
import { bufferedBody } from './response-body.js'

export type { FetchHandler, RequestContext } from '../types.js'

/**
 * Options of {@link toNodeListener}.
 *
 * Available from `'gatepass/server/node'`.
 *
 * @example Send handler failures to your logger
 *
 * ```ts
 * import { toNodeListener, type NodeListenerOptions } from 'gatepass/server/node'
 *
 * let handler!: import('gatepass/server/node').FetchHandler
 * const options: NodeListenerOptions = { onError: (err, request) => console.error(request?.method, request?.url, err) }
 * const listener = toNodeListener(handler, options)
 * ```
 *
 * @group Node Adapter
 */
export interface NodeListenerOptions {
  /**
   * Called with the exception when the handler throws (or returns something that is not a
   * `Response`). The client gets a generic 500 whatever this does; an exception it throws goes to
   * `console.error`. A function, checked when the listener is made. Default: `console.error`.
   */
  onError?: ((error: unknown, request: Request | undefined) => void) | undefined
}

/**
 * A `node:http` request listener, as accepted by `http.createServer()` and `https.createServer()`.
 *
 * Available from `'gatepass/server/node'`.
 *
 * @example Serve over TLS
 *
 * ```ts
 * import { createServer } from 'node:https'
 * import { toNodeListener, type NodeListener } from 'gatepass/server/node'
 *
 * let handler!: import('gatepass/server/node').FetchHandler
 * let tls!: { key: string; cert: string }
 * const listener: NodeListener = toNodeListener(handler)
 * createServer(tls, listener).listen(8443) // request.url starts with https://
 * ```
 *
 * @group Node Adapter
 */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void

const defaultOnError = (error: unknown) => console.error('gatepass: unhandled error in request handler', error)

const SERVER_ERROR_BODY = JSON.stringify({ error: 'server_error', error_description: 'internal error' })
const INVALID_REQUEST_BODY = JSON.stringify({ error: 'invalid_request', error_description: 'malformed request target or host' })

/** `host[:port]` as allowed in a Host header: a reg-name or IPv4 address, or a bracketed IPv6 literal. */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/

/** Methods a Fetch `Request` refuses to carry (RFC 9110 tunnels and traces). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** The peer address of a socket, with the `::ffff:` prefix of IPv4-mapped IPv6 addresses removed. */
function remoteAddressOf(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress
  if (address === undefined) return undefined
  return IPV4_MAPPED.exec(address)?.[1] ?? address
}

function formatHost(address: string, port: number | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address
  return port === undefined ? host : `${host}:${port}`
}

/** The absolute URL of a request, or `null` when its target or Host header is malformed. */
function requestURL(req: IncomingMessage): string | null {
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true
  const protocol = secure ? 'https:' : 'http:'
  const target = req.url ?? ''
  const authority = req.headers.host ?? (req.headers[':authority'] as string | undefined) // HTTP/2 compatibility API
  const host = authority ?? (req.socket.localAddress ? formatHost(req.socket.localAddress, req.socket.localPort) : undefined)
  if (host === undefined || !HOST_HEADER.test(host)) return null
  try {
    if (target.startsWith('/')) return new URL(`${protocol}//${host}${target}`).href
    // absolute-form (RFC 9112 §3.2.2): keep the path and query, never the authority it names.
    if (/^https?:\/\//i.test(target)) {
      const absolute = new URL(target)
      return new URL(`${protocol}//${host}${absolute.pathname}${absolute.search}`).href
    }
  } catch {
    return null
  }
  return null
}

function hasBody(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false
  if (req.headers['transfer-encoding'] !== undefined) return true
  const length = req.headers['content-length']
  return length !== undefined && length !== '0'
}

function sendJSON(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  try {
    // Headers a failed writeHead() left behind (e.g. ones an HTTP/2 stream refused) must not be sent.
    for (const name of res.getHeaderNames()) res.removeHeader(name)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
    })
    res.end(body)
  } catch {
    res.destroy()
  }
}

/**
 * Connection-level headers a handler's response may carry (copied from a `fetch()` response,
 * say) that describe a connection this server does not have: Node frames the body itself, and an
 * HTTP/2 stream refuses them outright.
 */
const HOP_BY_HOP = new Set(CONNECTION_HEADERS)

/** Response headers as `writeHead()` takes them: hop-by-hop ones dropped, `Set-Cookie` kept apart. */
function responseHeaders(response: Response): { headers: Record<string, string | string[]>; latin1: boolean } {
  const headers: Record<string, string | string[]> = {}
  // gatepass's own answers: a record of printable ASCII values nobody has looked at yet.
  const known = knownHeaders(response)
  if (known !== undefined) {
    for (const name in known) if (!HOP_BY_HOP.has(name)) headers[name] = known[name]!
    return { headers, latin1: false }
  }
  let latin1 = false
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie' || HOP_BY_HOP.has(name)) return
    headers[name] = value
    if (!latin1 && /[^\t\x20-\x7e]/.test(value)) latin1 = true // beyond ASCII (header values hold no other controls)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  return { headers, latin1 }
}

/** Bodies up to this size with a declared Content-Length are read whole before the handler runs. */
const SMALL_BODY_BYTES = 64 * 1024

/** Reads a request body of a declared length; rejects when the client goes away or sends more. */
function readSmallBody(req: IncomingMessage, length: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength
      if (size <= length) chunks.push(chunk)
    })
    req.once('end', () => (size === length ? resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)) : reject(new Error('request body length mismatch'))))
    req.once('error', reject)
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection'))
    })
  })
}

const PENDING = Symbol('pending')

/**
 * Microtask turns a body read may take and still count as available at once: a body made from a
 * string or bytes needs two; a stream fed by I/O or timers is not done within any number of them.
 */
const SETTLE_TURNS = 16

/** The value of `promise` if it settles within {@link SETTLE_TURNS} microtask turns, else `PENDING`. */
async function soon<T>(promise: Promise<T>): Promise<T | typeof PENDING> {
  let outcome: { value: T } | { error: unknown } | undefined
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  )
  for (let turn = 0; turn < SETTLE_TURNS && outcome === undefined; turn++) await undefined
  if (outcome === undefined) return PENDING
  if ('error' in outcome) throw outcome.error
  return outcome.value
}

/** Whether the client of one request has closed the connection before the response was finished. */
interface ClientState {
  gone: boolean
  /** Called once when the client goes away. */
  onGone: (() => void) | undefined
}

/** A body chunk as a response stream must yield it (a string or an ArrayBuffer is a handler bug). */
function chunkOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  throw new TypeError('a response body stream yielded a chunk that is not a Uint8Array')
}

async function writeResponse(req: IncomingMessage, res: ServerResponse, response: Response, client: ClientState, onError: (error: unknown) => void): Promise<void> {
  if (client.gone) {
    await response.body?.cancel().catch(() => {})
    return
  }
  const { headers, latin1 } = responseHeaders(response)
  // A body made from a string or bytes (the service's own JSON answers, most handlers'
  // responses) is sent as is, in one write; looking at it does not build or touch its stream.
  const whole = bufferedBody(response)
  const byteLength = whole === undefined ? undefined : typeof whole === 'string' ? Buffer.byteLength(whole) : whole.byteLength
  const noContent = response.status === 204 || response.status === 304
  const bodyless = req.method === 'HEAD' || noContent || (whole === undefined && response.body === null)
  if (bodyless) {
    if (whole === undefined) await response.body?.cancel().catch(() => {})
    // HEAD: the Content-Length a GET would have carried.
    else if (!noContent) headers['content-length'] = String(byteLength)
    res.writeHead(response.status, response.statusText || undefined, headers)
    res.end()
    return
  }
  if (whole !== undefined) {
    headers['content-length'] = String(byteLength)
    res.writeHead(response.status, response.statusText || undefined, headers)
    // Node writes the head in the encoding of a string body: as bytes, Latin-1 header values stay Latin-1.
    res.end(latin1 && typeof whole === 'string' ? Buffer.from(whole) : whole)
    return
  }
  const reader = response.body!.getReader()
  // A body that is already complete (a JSON answer, most responses here) is sent in one write with
  // a Content-Length; anything not there within a few microtask turns is streamed.
  let next: Promise<ReadableStreamReadResult<Uint8Array>> = reader.read()
  let first: ReadableStreamReadResult<Uint8Array> | typeof PENDING
  try {
    first = await soon(next)
    if (first !== PENDING) {
      if (first.done) {
        res.writeHead(response.status, response.statusText || undefined, { ...headers, 'content-length': '0' })
        res.end()
        return
      }
      chunkOf(first.value)
      next = reader.read()
      const second = await soon(next)
      if (second !== PENDING && second.done) {
        res.writeHead(response.status, response.statusText || undefined, { ...headers, 'content-length': String(first.value.byteLength) })
        res.end(first.value)
        return
      }
    }
  } catch (error) {
    onError(error)
    await reader.cancel().catch(() => {})
    sendJSON(res, 500, SERVER_ERROR_BODY)
    return
  }
  // A Content-Length the handler declared for a stream is held to: a body that turns out longer or
  // shorter cuts the connection rather than hang the client or spill into the next response.
  if (headers['content-length'] !== undefined) res.strictContentLength = true
  res.writeHead(response.status, response.statusText || undefined, headers)
  res.flushHeaders()
  const closed = new Promise<void>((resolve) => {
    if (client.gone) resolve()
    else client.onGone = resolve
  })
  try {
    if (first !== PENDING && !res.write(first.value)) await Promise.race([once(res, 'drain'), closed])
    for (;;) {
      const result = client.gone ? null : await Promise.race([next, closed.then(() => null)])
      if (result === null || client.gone) {
        // The client went away: stop producing.
        await reader.cancel().catch(() => {})
        return
      }
      if (result.done) break
      next = reader.read()
      if (!res.write(chunkOf(result.value))) {
        // Backpressure: wait until the socket drains (or closes) before reading more.
        await Promise.race([once(res, 'drain'), closed])
      }
    }
    res.end()
  } catch (error) {
    // The body stream failed after the headers were sent: the only honest signal left is to cut the connection.
    onError(error)
    await reader.cancel().catch(() => {})
    res.destroy()
  }
}

/**
 * Turns a Fetch handler into a `node:http` request listener.
 *
 * Available from `'gatepass/server/node'` (Node only).
 *
 * - A request body of at most 64 KiB with a declared `Content-Length` is read whole before the
 *   handler runs; any other body is streamed to the handler; GET and HEAD have none.
 * - The handler gets an `instanceof Request` that is built lazily: `method`, `url`, `headers`,
 *   `signal` and the body methods of a small body are answered from the Node request directly,
 *   and the full Fetch `Request` is built only when something else is used (it can be passed to
 *   `fetch()` or `new Request()` like any other). `CONNECT`, `TRACE` and `TRACK` get a 400.
 * - A response made by gatepass itself (all its JSON answers) is written from the string it was
 *   made with, and so is a plain `Response` whose body undici holds as a string or bytes
 *   (`new Response('…')`, `Response.json()`), with a `Content-Length`, its stream untouched; any
 *   other body (a stream, a Blob, a `fetch()` response) is read back from its stream. Once this
 *   function has run (on Node), gatepass's own responses are made without a body stream until
 *   something reads them (see docs/decisions.md, "Node adapter").
 * - The URL is rebuilt from the `Host` header (the socket's local address when absent) and
 *   `http:`/`https:` from the socket; a malformed target or Host header gets a 400.
 * - `request.signal` aborts when the client closes the connection before the response is sent.
 * - The response body is streamed back with backpressure; several `Set-Cookie` headers stay
 *   separate; HEAD responses carry no body. Connection-level headers of the response
 *   (`Connection`, `Keep-Alive`, `Transfer-Encoding`, …) are not sent, and a `Content-Length` the
 *   handler set on a streamed body is enforced (a mismatch cuts the connection and goes to `onError`).
 * - `context.remoteAddress` is the socket's peer address (`::ffff:` prefix of IPv4-mapped
 *   addresses removed); `X-Forwarded-For` is left to the handler's XFF settings.
 * - When the handler throws, the client gets a 500 `{"error":"server_error"}` JSON body; the
 *   exception goes to `options.onError` and never to the client.
 *
 * @param handler The Fetch handler, e.g. `service.fetch`.
 * @param options Error reporting.
 * @returns A listener for `http.createServer()` / `https.createServer()` (or {@link serve}).
 * @throws `TypeError` with `code` `ERR_INVALID_ARG_TYPE` when `handler` or `onError` is not a
 *   function or `options` is not an object, at once, not on the first request.
 * @example Mount the token service on a node:http server
 *
 * ```ts
 * import { createServer } from 'node:http'
 * import { toNodeListener } from 'gatepass/server/node'
 *
 * let service!: { fetch: import('gatepass/server/node').FetchHandler }
 * createServer(toNodeListener(service.fetch)).listen(8080)
 * ```
 *
 * @example Use it inside an existing Express or Connect app
 *
 * ```ts
 * import { toNodeListener } from 'gatepass/server/node'
 *
 * let handler!: import('gatepass/server/node').FetchHandler
 * const listener = toNodeListener(handler, { onError: (err) => console.error('gatepass', err) })
 * // app.use('/oauth', (req, res) => listener(req, res))
 * ```
 *
 * @group Node Adapter
 */
export function toNodeListener(handler: FetchHandler, options?: NodeListenerOptions): NodeListener {
  if (typeof handler !== 'function') throw invalidArgument('"handler" must be a function', 'ERR_INVALID_ARG_TYPE')
  const report = optionalFunction<NonNullable<NodeListenerOptions['onError']>>(optionsObject(options).onError, 'onError') ?? defaultOnError
  // Called from inside the listener's promise chain: a throw here would be an unhandled rejection
  // (the end of the process), and the client would get no answer.
  const onError = (error: unknown, request: Request | undefined) => {
    try {
      report(error, request)
    } catch (thrown) {
      console.error('gatepass: "onError" threw while reporting an error', thrown, error)
    }
  }
  // This adapter sends gatepass's own response bodies from their string, so they need no stream.
  // (Not under Bun or Deno, whose native servers would read such a response as bodyless.)
  if (!('Bun' in globalThis) && !('Deno' in globalThis)) deferKnownBodies()

  return function nodeListener(req, res) {
    const url = requestURL(req)
    if (url === null) {
      req.resume()
      sendJSON(res, 400, INVALID_REQUEST_BODY)
      return
    }

    const method = req.method ?? 'GET'
    if (FORBIDDEN_METHODS.has(method)) {
      req.resume()
      sendJSON(res, 400, JSON.stringify({ error: 'invalid_request', error_description: `the ${method} method is not supported` }))
      return
    }
    const declared = Number(req.headers['content-length'])
    const withBody = hasBody(req)
    const small = withBody && Number.isInteger(declared) && declared >= 0 && declared <= SMALL_BODY_BYTES
    if (!withBody) req.resume()

    const context: RequestContext = { remoteAddress: remoteAddressOf(req) }
    let request: Request | undefined
    const client: ClientState = { gone: false, onGone: undefined }
    // One listener for both endings ('close' follows 'finish' too).
    res.once('close', () => {
      if (res.writableFinished) {
        // Whatever the handler did with it, a request body left unread must not hold up the connection.
        if (request) drainNodeRequest(request)
        return
      }
      client.gone = true
      client.onGone?.()
      if (request) abortNodeRequest(request, new DOMException('the client closed the connection', 'AbortError'))
    })
    void (async () => {
      // A small body with a declared length (every token request) is read whole before the
      // handler runs: cheaper than a web stream, and the handler would read it whole anyway.
      let body: Uint8Array | 'stream' | null = withBody ? 'stream' : null
      if (small) {
        try {
          body = await readSmallBody(req, declared)
        } catch {
          req.resume()
          if (client.gone) return void res.destroy()
          sendJSON(res, 400, INVALID_REQUEST_BODY)
          return
        }
      }
      try {
        request = createNodeRequest(req, method, url, body)
      } catch {
        // Header values a Fetch Headers refuses (possible only with a lenient HTTP parser).
        req.resume()
        sendJSON(res, 400, INVALID_REQUEST_BODY)
        return
      }
      if (client.gone) abortNodeRequest(request, new DOMException('the client closed the connection', 'AbortError'))
      let response: Response
      try {
        response = await handler(request, context)
        if (!(response instanceof Response)) throw new TypeError('handler did not return a Response')
      } catch (error) {
        if (client.gone) return void res.destroy()
        onError(error, request)
        sendJSON(res, 500, SERVER_ERROR_BODY)
        return
      }
      await writeResponse(req, res, response, client, (error) => onError(error, request))
    })().catch((error: unknown) => {
      onError(error, request)
      if (!res.headersSent) sendJSON(res, 500, SERVER_ERROR_BODY)
      else res.destroy()
    })
  }
}

/** What {@link serve} calls on its `signal` (checked before it listens). */
const SIGNAL_METHODS = ['throwIfAborted', 'addEventListener', 'removeEventListener'] as const

/**
 * Options of {@link serve}.
 *
 * Available from `'gatepass/server/node'`.
 *
 * @example Listen on every interface, stop with an AbortSignal
 *
 * ```ts
 * import { serve, type ServeOptions } from 'gatepass/server/node'
 *
 * let handler!: import('gatepass/server/node').FetchHandler
 * const controller = new AbortController()
 * const options: ServeOptions = { port: 8080, host: '0.0.0.0', signal: controller.signal }
 * await serve(handler, options)
 * controller.abort() // closes the server
 * ```
 *
 * @group Node Adapter
 */
export interface ServeOptions extends NodeListenerOptions {
  /** TCP port; `0` picks a free one (read it from the result). Default `8080`. */
  port?: number | undefined
  /** Interface to listen on. Default `'127.0.0.1'` (use `'0.0.0.0'` or `'::'` to accept remote clients). */
  host?: string | undefined
  /** Closes the server when aborted. An `AbortSignal`, checked before the server listens. */
  signal?: AbortSignal | undefined
}

/**
 * A running server started by {@link serve}.
 *
 * Available from `'gatepass/server/node'`.
 *
 * @example Tune the underlying server
 *
 * ```ts
 * import { serve, type ServeResult } from 'gatepass/server/node'
 *
 * let handler!: import('gatepass/server/node').FetchHandler
 * const running: ServeResult = await serve(handler, { port: 0 })
 * running.server.keepAliveTimeout = 65_000 // longer than the load balancer's idle timeout
 * console.log(running.url, running.port)
 * await running.close()
 * ```
 *
 * @group Node Adapter
 */
export interface ServeResult {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:8080`. */
  url: string
  /** The port it listens on (useful with `port: 0`). */
  port: number
  /** Stops accepting connections, lets in-flight requests finish, closes idle keep-alive connections. */
  close(): Promise<void>
  /** The underlying `node:http` server (timeouts, `keepAliveTimeout`, `'upgrade'`…). */
  server: Server
}

/**
 * Starts a `node:http` server for a Fetch handler and resolves once it listens.
 *
 * Available from `'gatepass/server/node'` (Node only).
 *
 * @param handler The Fetch handler, e.g. `service.fetch`.
 * @param options `port` (default 8080, `0` = any free port), `host` (default `'127.0.0.1'`), an
 *   abort `signal` that closes the server, and `onError` (see {@link toNodeListener}).
 * @returns The URL and port it listens on, and `close()` to stop it.
 * @throws (rejects with) `TypeError` with `code` `ERR_INVALID_ARG_TYPE` or `ERR_INVALID_ARG_VALUE`
 *   for a bad option (`options` not an object, `port`, `host`, a `signal` that is not an
 *   `AbortSignal`, an `onError` that is not a function), before anything listens.
 * @example Serve the token service
 *
 * ```ts
 * import { serve } from 'gatepass/server/node'
 *
 * let service!: { fetch: import('gatepass/server/node').FetchHandler; close(): Promise<void> }
 * const server = await serve(service.fetch, { port: 8080 })
 * console.log(`listening on ${server.url}`)
 * process.once('SIGTERM', async () => {
 *   await server.close()
 *   await service.close()
 * })
 * ```
 *
 * @example A throw-away server on a random port (tests)
 *
 * ```ts
 * import { serve } from 'gatepass/server/node'
 *
 * const server = await serve(async () => new Response('ok'), { port: 0 })
 * const res = await fetch(server.url)
 * await server.close()
 * ```
 *
 * @group Node Adapter
 */
export async function serve(handler: FetchHandler, options?: ServeOptions): Promise<ServeResult> {
  const { port = 8080, host = '127.0.0.1', signal: given } = optionsObject(options)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('"port" must be an integer between 0 and 65535', typeof port === 'number' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE')
  }
  nonEmptyString(host, 'host')
  // Checked before listening: a signal that cannot be listened to must not leave a server up.
  const signal = given === undefined ? undefined : objectWithMethods<AbortSignal>(given, 'signal', 'an AbortSignal', SIGNAL_METHODS)
  const listener = toNodeListener(handler, options)
  signal?.throwIfAborted()

  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= new Promise<void>((resolve, reject) => {
      // A connection whose response is still under way closes right after it instead of idling
      // for the keep-alive timeout (read when each response finishes).
      server.keepAliveTimeout = 1
      server.close((err) => (err ? reject(err) : resolve()))
      server.closeIdleConnections()
    })
    return closing
  }
  if (signal) {
    // Aborted while the server was starting: it does not stay up.
    if (signal.aborted) {
      await close()
      signal.throwIfAborted()
    }
    const onAbort = () => void close().catch(() => {})
    signal.addEventListener('abort', onAbort, { once: true })
    server.once('close', () => signal.removeEventListener('abort', onAbort))
  }

  const address = server.address() as AddressInfo
  return { url: `http://${formatHost(address.address, address.port)}`, port: address.port, close, server }
}
