/**
 * Responses whose whole body is a string known when they are made (every JSON answer of the
 * service). A server adapter can send that string directly instead of reading the body stream
 * back, which costs more than building the response on Node.
 *
 * On Node 20, building the body stream is itself the expensive part: `new Response('ok')` costs
 * about 25 µs on this project's machines, nearly all of it the `ReadableStream` (a bodyless
 * `Response` costs 1 µs). So once an adapter that sends known bodies itself has asked for it
 * ({@link deferKnownBodies}), {@link textResponse} returns a `Response` subclass made without a
 * body stream, which builds the real one on the first read through any public member (`body`,
 * `text()`, `json()`, `clone()`, …). Handlers and middleware see a normal `Response`; only code
 * that bypasses the public API — reads undici's private state, or calls the base class's methods
 * directly (`Response.prototype.text.call(response)`) — would see a bodyless one, which is why
 * this stays off until the adapter turns it on (for the rest of the process).
 *
 * @module
 */

const bodies = new WeakMap<Response, string>()

let deferred = false

/**
 * Makes {@link textResponse} defer building body streams for the rest of the process. Called by the
 * Node adapter, which sends such bodies from their string (see {@link knownBody}).
 */
export function deferKnownBodies(): void {
  deferred = true
}

/** Lower-case field names (tokens). */
const PLAIN_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
/** Printable ASCII with no whitespace at either end (what `Headers` keeps exactly as given). */
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/

/**
 * `init.headers` when it is a record `Headers` would keep exactly as given (lower-case token
 * names, printable ASCII values): such a record can stand for the headers until someone looks.
 */
function plainRecord(headers: HeadersInit | undefined): Record<string, string> | undefined {
  if (headers === undefined) return {}
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || headers instanceof Headers) return undefined
  if (Object.getPrototypeOf(headers) !== Object.prototype) return undefined
  const record = headers as Record<string, unknown>
  for (const name in record) {
    const value = record[name]
    if (typeof value !== 'string' || !PLAIN_NAME.test(name) || !PLAIN_VALUE.test(value)) return undefined
  }
  return { ...(record as Record<string, string>) }
}

/** A `Response` whose body is `text`, its stream built only when something reads it. */
class TextBodyResponse extends Response {
  readonly #text: string
  #real: Response | undefined
  /** The headers while nobody has asked for them (then they move into the real `Headers`). */
  #headers: Record<string, string> | undefined

  constructor(text: string, init: ResponseInit) {
    const record = plainRecord(init.headers)
    super(null, record === undefined ? init : { status: init.status, statusText: init.statusText })
    this.#text = text
    this.#headers = record
  }

  override get headers(): Headers {
    const headers = super.headers
    const record = this.#headers
    if (record !== undefined) {
      this.#headers = undefined
      for (const name in record) headers.append(name, record[name]!)
    }
    return headers
  }

  /** The headers as a record while nobody has asked for them (static: a Response has no such member). */
  static knownHeaders(response: TextBodyResponse): Readonly<Record<string, string>> | undefined {
    return response.#headers
  }

  /** The same response with a real body stream, made once, on the first read. */
  #materialize(): Response {
    this.#real ??= new Response(this.#text, { status: this.status, statusText: this.statusText, headers: this.headers })
    return this.#real
  }

  /** The string of `response`, while nothing has read or locked its body (static: a Response has no such member). */
  static knownText(response: TextBodyResponse): string | undefined {
    const real = response.#real
    return real === undefined || (!real.bodyUsed && real.body?.locked === false) ? response.#text : undefined
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#materialize().body!
  }

  override get bodyUsed(): boolean {
    return this.#real?.bodyUsed ?? false
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#materialize().arrayBuffer()
  }

  override blob(): Promise<Blob> {
    return this.#materialize().blob()
  }

  override formData(): Promise<FormData> {
    return this.#materialize().formData()
  }

  override json(): Promise<unknown> {
    return this.#materialize().json() as Promise<unknown>
  }

  override text(): Promise<string> {
    return this.#materialize().text()
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#materialize().bytes()
  }

  override clone(): Response {
    const init = { status: this.status, statusText: this.statusText, headers: this.headers }
    // Once the stream exists, the clone tees it; its headers are this response's current ones.
    if (this.#real !== undefined) return new Response(this.#real.clone().body, init)
    return new TextBodyResponse(this.#text, init)
  }
}

// `bytes()` is newer than some of the runtimes this runs on: the subclass has it only where Response does.
if (typeof (Response.prototype as { bytes?: unknown }).bytes !== 'function') {
  Reflect.deleteProperty(TextBodyResponse.prototype, 'bytes')
}

/** `new Response(body, init)`, remembering `body` for {@link knownBody}. */
export function textResponse(body: string, init: ResponseInit): Response {
  if (deferred) return new TextBodyResponse(body, init)
  const response = new Response(body, init)
  bodies.set(response, body)
  return response
}

/**
 * The headers of a response made by {@link textResponse} as a record (lower-case names), while
 * nothing has read `response.headers`; `undefined` otherwise (read `response.headers`).
 */
export function knownHeaders(response: Response): Readonly<Record<string, string>> | undefined {
  return response instanceof TextBodyResponse ? TextBodyResponse.knownHeaders(response) : undefined
}

/**
 * The body `response` was made with by {@link textResponse}, while its stream is still untouched;
 * `undefined` for any other response (read its stream).
 */
export function knownBody(response: Response): string | undefined {
  if (response instanceof TextBodyResponse) return TextBodyResponse.knownText(response)
  const body = bodies.get(response)
  if (body === undefined || response.bodyUsed || response.body?.locked !== false) return undefined
  return body
}
