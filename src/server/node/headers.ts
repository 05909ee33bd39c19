/**
 * The `Headers` of a request the Node adapter hands to a handler, answered from Node's raw header
 * list until something more than `get()` or `has()` is asked of them.
 *
 * Filling a `Headers` (undici) validates and stores every field: about 1 µs and several objects
 * per request on this project's machines, for handlers that read two or three fields. This
 * subclass keeps the `[name, value, …]` list Node already parsed, answers `get()` and `has()` by
 * scanning it, and fills itself the first time any other member is used (`set()`, `forEach()`,
 * iteration, being passed to `new Request()` or `fetch()`…), after which it is a plain `Headers`.
 * The answers are the same either way: names compared case-insensitively, repeated fields joined
 * with `", "` in the order they came.
 *
 * A list holding anything `Headers` would refuse or normalise (a name that is not a token, a value
 * with a NUL, CR or LF, or with whitespace at either end) is filled at once, so it throws where a
 * plain `Headers` would: in the adapter, before the handler runs.
 *
 * @module
 */

/** RFC 9110 field names (tokens). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Characters `Headers` refuses in a value. */
const FORBIDDEN_IN_VALUE = /[\0\r\n]/

/** Whether `Headers` would refuse `value` or change it (trim HTTP whitespace at either end). */
function unusualValue(value: string): boolean {
  if (value.length === 0) return false
  const first = value.charCodeAt(0)
  const last = value.charCodeAt(value.length - 1)
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09 || FORBIDDEN_IN_VALUE.test(value)
}

const append = Headers.prototype.append

export class NodeHeaders extends Headers {
  /** The raw `[name, value, …]` list while it answers for this object; `undefined` once filled. */
  #raw: readonly string[] | undefined

  /** @param raw Node's `rawHeaders` (HTTP/2 pseudo-headers are skipped). */
  constructor(raw: readonly string[]) {
    super()
    let clean = true
    let pseudo = false
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!
      if (name.charCodeAt(0) === 58 /* : */) pseudo = true
      else if (!TOKEN.test(name) || unusualValue(raw[i + 1]!)) clean = false
    }
    this.#raw = pseudo ? raw.filter((_, i) => !raw[i - (i % 2)]!.startsWith(':')) : raw
    if (!clean) NodeHeaders.#fill(this)
  }

  /** Moves the raw list into the underlying `Headers` (from then on, every member is the base one). */
  static #fill(headers: NodeHeaders): void {
    const raw = headers.#raw
    if (raw === undefined) return
    headers.#raw = undefined
    for (let i = 0; i + 1 < raw.length; i += 2) append.call(headers, raw[i]!, raw[i + 1]!)
  }

  /** The combined value of `name` in the raw list, `null` when absent; `undefined` when the base class must answer. */
  static #find(headers: NodeHeaders, name: unknown): string | null | undefined {
    const raw = headers.#raw
    if (raw === undefined) return undefined
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      // Let the base class convert or refuse the name exactly as it does.
      NodeHeaders.#fill(headers)
      return undefined
    }
    const lower = name.toLowerCase()
    let value: string | null = null
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const candidate = raw[i]!
      if (candidate.length === lower.length && candidate.toLowerCase() === lower) value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`
    }
    return value
  }

  override get(name: string): string | null {
    const found = NodeHeaders.#find(this, name)
    return found === undefined ? super.get(name) : found
  }

  override has(name: string): boolean {
    const found = NodeHeaders.#find(this, name)
    return found === undefined ? super.has(name) : found !== null
  }

  static {
    // Every other member of Headers (methods and iterators, string- or symbol-keyed) fills first.
    const own = new Set<PropertyKey>(Reflect.ownKeys(NodeHeaders.prototype))
    for (const key of Reflect.ownKeys(Headers.prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(Headers.prototype, key)!
      if (own.has(key) || typeof descriptor.value !== 'function') continue
      const base = descriptor.value as (...args: unknown[]) => unknown
      Object.defineProperty(NodeHeaders.prototype, key, {
        ...descriptor,
        value: {
          [base.name](this: NodeHeaders, ...args: unknown[]) {
            if (this instanceof NodeHeaders) NodeHeaders.#fill(this)
            return base.apply(this, args)
          },
        }[base.name],
      })
    }
    Object.defineProperty(NodeHeaders.prototype, 'constructor', { configurable: true, writable: true, value: Headers })
  }
}
