import type { OAuthErrorCode } from '../../shared/schemas.js'
import { textResponse } from './known-body.js'

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/** A JSON response; token responses are never cacheable. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return jsonText(JSON.stringify(body), status, headers)
}

/** {@link json} for a body already serialised (e.g. a replayed token response). */
export function jsonText(text: string, status = 200, headers: Record<string, string> = {}): Response {
  return textResponse(text, { status, headers: { 'content-type': 'application/json;charset=UTF-8', ...NO_STORE, ...headers } })
}

/**
 * An RFC 6749 §5.2 error thrown inside a handler and turned into a response at its edge.
 * `description` must never contain secrets, tokens, or whether a client exists.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly status: number
  readonly headers: Record<string, string>
  constructor(error: OAuthErrorCode, description: string, status = 400, headers: Record<string, string> = {}) {
    super(description)
    this.error = error
    this.status = status
    this.headers = headers
  }
}

/** RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E. */
export function safeDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "'")
}

/** The response for an {@link OAuthError}. */
export function errorResponse(err: OAuthError): Response {
  return json({ error: err.error, error_description: safeDescription(err.message) }, err.status, err.headers)
}

/** Quotes a value as an RFC 7230 quoted-string (for `WWW-Authenticate` parameters). */
export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`
}
