/**
 * Responses whose whole body is a string known when they are made (every JSON answer of the
 * service). A server adapter can send that string directly instead of reading the body stream
 * back, which costs more than building the response on Node.
 *
 * @module
 */

const bodies = new WeakMap<Response, string>()

/** `new Response(body, init)`, remembering `body` for {@link knownBody}. */
export function textResponse(body: string, init: ResponseInit): Response {
  const response = new Response(body, init)
  bodies.set(response, body)
  return response
}

/**
 * The body `response` was made with by {@link textResponse}, while its stream is still untouched;
 * `undefined` for any other response (read its stream).
 */
export function knownBody(response: Response): string | undefined {
  const body = bodies.get(response)
  if (body === undefined || response.bodyUsed || response.body?.locked !== false) return undefined
  return body
}
