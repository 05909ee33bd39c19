/**
 * The body of a `Response` that is already whole in memory, without reading it back through its
 * stream.
 *
 * A handler's `new Response('ok')` or `Response.json(data)` holds its body as a string or bytes
 * from the start; reading it back through the `ReadableStream` undici wraps it in costs Node 20
 * more than the rest of a small request. undici (Node's `fetch`) keeps that source next to the
 * stream in the response's `Symbol(state)` field, which is where this looks, after checking at
 * load time that the field is there and holds what it should. Where it is not (a later undici,
 * another runtime), or for any body that is a real stream, the adapter reads the stream.
 *
 * @module
 */
import { knownBody } from '../lib/known-body.js'

interface UndiciBody {
  stream: ReadableStream<Uint8Array> | null
  source: unknown
}

/** The symbol of undici's response state, when its layout is the one this module knows. */
const STATE: symbol | undefined = (() => {
  try {
    const probe = new Response('probe')
    const key = Reflect.ownKeys(probe).find((k): k is symbol => typeof k === 'symbol' && k.description === 'state')
    if (key === undefined) return undefined
    const body = (Reflect.get(probe, key) as { body?: UndiciBody } | undefined)?.body
    return body?.source === 'probe' && body.stream === probe.body ? key : undefined
  } catch {
    return undefined
  }
})()

/**
 * The whole body of `response` as a string or bytes when it is known without reading its stream
 * and nothing has read or locked the stream yet; `undefined` otherwise (stream it). Only a plain
 * `Response` is looked into: a subclass may answer `body` its own way.
 */
export function bufferedBody(response: Response): string | Uint8Array | undefined {
  const text = knownBody(response)
  if (text !== undefined || STATE === undefined || Object.getPrototypeOf(response) !== Response.prototype) return text
  const body = (Reflect.get(response, STATE) as { body?: UndiciBody | null } | undefined)?.body
  if (body === undefined || body === null || body.stream === null || body.stream.locked || response.bodyUsed) return undefined
  const source = body.source
  return typeof source === 'string' || source instanceof Uint8Array ? source : undefined
}
