/**
 * The `Request` the Node adapter hands to a Fetch handler, built lazily.
 *
 * Node's `Request` (undici) is costly to construct: about 15 µs with a signal and 18 µs with a
 * body on this machine, as much as a whole plain `node:http` request. Most handlers here read only
 * `method`, `url`, a few headers and a small form body, so the adapter answers those from the
 * `IncomingMessage` directly and builds the real `Request` only when something else is touched
 * (`body`, `formData()`, `clone()`, `cache`, …, or undici itself through `fetch(request)` /
 * `new Request(request)`). The object is an `instanceof Request` and behaves as one either way,
 * with one seam: `headers` read before the real `Request` exists is the object it is built from,
 * so changes made to that object afterwards do not reach it.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { markPreRead } from '../lib/pre-read.js'
import { NodeHeaders } from './headers.js'

/** Request bodies are handed to the handler in a stream that buffers at most this many bytes ahead. */
const REQUEST_BODY_HIGH_WATER_MARK = 64 * 1024

const kState = Symbol('gatepass.nodeRequest')

/** `text()` and `json()` decode as a Fetch `Request` does (replacing invalid sequences); one decoder serves all. */
const UTF8 = new TextDecoder()

interface LazyState {
  readonly req: IncomingMessage
  readonly method: string
  readonly url: string
  /** The body read whole before the handler ran, `'stream'` when it is streamed, `null` without one. */
  readonly body: Uint8Array | 'stream' | null
  /** Whether the buffered body has been consumed through this object. */
  used: boolean
  readonly headers: Headers
  controller: AbortController | undefined
  /** Why the request was aborted (the client went away) before anyone asked for the signal. */
  abortReason: unknown
  real: Request | undefined
}

interface LazyRequest {
  [kState]: LazyState
}

function stateOf(request: unknown): LazyState {
  return (request as LazyRequest)[kState]
}

/** The state behind each real request handed out when laziness is off (a lazy object holds its own). */
const states = new WeakMap<object, LazyState>()

function stateOfHandedOut(request: Request): LazyState | undefined {
  return (request as unknown as Partial<LazyRequest>)[kState] ?? states.get(request)
}

function signalOf(state: LazyState): AbortSignal {
  if (state.controller === undefined) {
    state.controller = new AbortController()
    if (state.abortReason !== undefined) state.controller.abort(state.abortReason)
  }
  return state.controller.signal
}

/** The real `Request`, built on first need from what this object has seen so far. */
function materialize(request: unknown): Request {
  const state = stateOf(request)
  if (state.real !== undefined) return state.real
  const init: RequestInit & { duplex?: 'half' } = { method: state.method, headers: state.headers, signal: signalOf(state) }
  if (state.body === 'stream') {
    const strategy = new ByteLengthQueuingStrategy({ highWaterMark: REQUEST_BODY_HIGH_WATER_MARK })
    // A Node web stream and a DOM one are the same class at run time; only the typings differ.
    init.body = Readable.toWeb(state.req, { strategy }) as unknown as ReadableStream<Uint8Array>
    init.duplex = 'half'
  } else if (state.body !== null) {
    init.body = state.body as Uint8Array<ArrayBuffer>
  }
  const real = new Request(state.url, init)
  // A body already read through the lazy object stays read.
  if (state.used) void real.arrayBuffer().catch(() => {})
  state.real = real
  return real
}

/** The buffered body, marked consumed; `undefined` when the real request must answer instead. */
function takeBody(state: LazyState): Uint8Array | undefined {
  if (state.real !== undefined || state.body === 'stream') return undefined
  if (state.body === null) return new Uint8Array(0) // no body: nothing to use up, as with a real Request
  if (state.used) throw new TypeError('Body is unusable: Body has already been read')
  state.used = true
  return state.body
}

class NodeRequest implements LazyRequest {
  [kState]: LazyState

  constructor(state: LazyState) {
    this[kState] = state
  }

  get method(): string {
    return this[kState].method
  }

  get url(): string {
    return this[kState].url
  }

  get headers(): Headers {
    const state = this[kState]
    return state.real !== undefined ? state.real.headers : state.headers
  }

  /** The adapter's signal, before and after the real `Request` (whose signal follows it) exists. */
  get signal(): AbortSignal {
    return signalOf(this[kState])
  }

  get bodyUsed(): boolean {
    const state = this[kState]
    return state.real !== undefined ? state.real.bodyUsed : state.used
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = takeBody(this[kState])
    if (bytes === undefined) return materialize(this).arrayBuffer()
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  }

  async text(): Promise<string> {
    const bytes = takeBody(this[kState])
    if (bytes === undefined) return materialize(this).text()
    return UTF8.decode(bytes)
  }

  async json(): Promise<unknown> {
    const bytes = takeBody(this[kState])
    if (bytes === undefined) return materialize(this).json()
    return JSON.parse(UTF8.decode(bytes)) as unknown
  }
}

// Everything else a Request has is answered by the real one, built on demand; so are the
// symbol-keyed fields undici reads when the object is passed to `fetch()` or `new Request()`.
{
  const own = new Set(Object.getOwnPropertyNames(NodeRequest.prototype))
  for (const name of Object.getOwnPropertyNames(Request.prototype)) {
    if (own.has(name)) continue
    const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, name)!
    if (descriptor.get) {
      Object.defineProperty(NodeRequest.prototype, name, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        get(this: LazyRequest) {
          return Reflect.get(materialize(this), name) as unknown
        },
      })
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(NodeRequest.prototype, name, {
        configurable: true,
        writable: true,
        enumerable: descriptor.enumerable ?? false,
        value(this: LazyRequest, ...args: unknown[]) {
          const real = materialize(this)
          return (Reflect.get(real, name) as (...a: unknown[]) => unknown).apply(real, args)
        },
      })
    }
  }
  for (const symbol of Object.getOwnPropertySymbols(new Request('http://localhost/'))) {
    Object.defineProperty(NodeRequest.prototype, symbol, {
      configurable: true,
      get(this: LazyRequest) {
        return Reflect.get(materialize(this), symbol) as unknown
      },
    })
  }
  Object.setPrototypeOf(NodeRequest.prototype, Request.prototype)
  Object.defineProperty(NodeRequest.prototype, 'constructor', { configurable: true, writable: true, value: Request })
}

function newState(req: IncomingMessage, method: string, url: string, body: Uint8Array | 'stream' | null, headers: Headers): LazyState {
  return { req, method, url, body, used: false, headers, controller: undefined, abortReason: undefined, real: undefined }
}

/**
 * Whether undici accepts the lazy object where it expects a `Request`. Node 20–22's undici keeps
 * a request's state in symbol-keyed fields, which the lazy object forwards; later versions use
 * private class members, which nothing can forward: there the adapter hands out real requests.
 */
const LAZY = (() => {
  try {
    const probe = new NodeRequest(newState({ rawHeaders: [] } as unknown as IncomingMessage, 'GET', 'http://localhost/', null, new Headers()))
    return new Request(probe as unknown as Request).url === 'http://localhost/'
  } catch {
    return false
  }
})()

/**
 * A `Request` for an incoming Node request whose body, if any, is `body` (read whole) or still in
 * `req` (`'stream'`). Its headers are checked at once (see {@link NodeHeaders}), so a field
 * `Headers` refuses throws here, not in the handler.
 */
export function createNodeRequest(req: IncomingMessage, method: string, url: string, body: Uint8Array | 'stream' | null): Request {
  const state = newState(req, method, url, body, new NodeHeaders(req.rawHeaders))
  const lazy = new NodeRequest(state) as unknown as Request
  const request = LAZY ? lazy : materialize(lazy)
  if (!LAZY) states.set(request, state)
  if (body instanceof Uint8Array) markPreRead(request)
  return request
}

/** Aborts `request.signal` (now, or as soon as someone asks for it). */
export function abortNodeRequest(request: Request, reason: unknown): void {
  const state = stateOfHandedOut(request)
  if (state === undefined) return
  if (state.controller !== undefined) state.controller.abort(reason)
  else state.abortReason ??= reason
}

/**
 * After the response: discards what is left of a streamed request body nobody read, so the
 * connection can carry the next request. (A body never turned into a web stream is left to Node,
 * which discards it by itself.)
 */
export function drainNodeRequest(request: Request): void {
  const state = stateOfHandedOut(request)
  if (state === undefined || state.body !== 'stream' || state.real === undefined || state.req.complete) return
  state.req.removeAllListeners('data')
  state.req.resume()
}
