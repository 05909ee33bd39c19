import { isPreRead } from '../lib/pre-read.js'
import { OAuthError } from '../lib/responses.js'

/** Reads a request body as text, refusing more than `limit` bytes (413) without buffering past it. */
export async function readBodyLimited(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit)
  // A body the adapter has already read whole (within its declared length) is taken at once;
  // any other is streamed below, so the limit holds whatever a Content-Length header claims.
  if (isPreRead(request)) {
    const whole = new Uint8Array(await request.arrayBuffer())
    if (whole.byteLength > limit) throw tooLarge(limit)
    return decodeUTF8(whole)
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    all.set(c, offset)
    offset += c.byteLength
  }
  return decodeUTF8(all)
}

/** Stateless between calls (no `stream` option), so one decoder serves every request. */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function decodeUTF8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    throw new OAuthError('invalid_request', 'the request body is not valid UTF-8')
  }
}

function tooLarge(limit: number) {
  return new OAuthError('invalid_request', `the request body exceeds ${limit} bytes`, 413)
}

/** Whether a Content-Type is `application/x-www-form-urlencoded` (any parameters, e.g. charset). */
export function isFormContentType(value: string | null): boolean {
  if (value === null) return false
  if (value === 'application/x-www-form-urlencoded') return true // what nearly every client sends
  const [type, ...params] = value.split(';')
  if (type!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') return false
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='))
  return charset === undefined || /^charset="?utf-8"?$/.test(charset)
}

/**
 * Parses form parameters into a map, rejecting any parameter sent twice (RFC 6749 §3.1) and
 * treating empty values as absent.
 */
export function parseParameters(source: string | URLSearchParams): Map<string, string> {
  const params = typeof source === 'string' ? new URLSearchParams(source) : source
  const out = new Map<string, string>()
  const seen = new Set<string>()
  for (const [key, value] of params) {
    if (seen.has(key)) {
      const name = /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? `the ${key} parameter` : 'a parameter'
      throw new OAuthError('invalid_request', `${name} is included more than once`)
    }
    seen.add(key)
    if (value !== '') out.set(key, value)
  }
  return out
}

/**
 * Reads the parameters of a token-endpoint request: POST with a form body, or (when
 * `allowQuery` says so for the client) GET with query parameters.
 */
export async function readParameters(request: Request, maxBodyBytes: number): Promise<{ params: Map<string, string>; fromQuery: boolean }> {
  if (request.method === 'GET') {
    return { params: parseParameters(new URL(request.url).searchParams), fromQuery: true }
  }
  if (request.method !== 'POST') throw new OAuthError('invalid_request', 'the method must be POST', 405, { allow: 'POST' })
  if (!isFormContentType(request.headers.get('content-type'))) {
    throw new OAuthError('invalid_request', 'the content type must be application/x-www-form-urlencoded')
  }
  return { params: parseParameters(await readBodyLimited(request, maxBodyBytes)), fromQuery: false }
}
