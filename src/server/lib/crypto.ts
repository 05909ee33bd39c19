import { base64url } from 'jose'

const encoder = new TextEncoder()

/** SHA-256 of a UTF-8 string, base64url. */
export async function sha256(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))))
}

/** `bytes` cryptographically random bytes, base64url (43 chars for 32 bytes). */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
}

/**
 * Constant-time comparison of two strings (time depends on the length of `expected` only).
 * Both values are expected to be digests of equal length.
 */
export function timingSafeEqual(actual: string, expected: string): boolean {
  const a = encoder.encode(actual)
  const b = encoder.encode(expected)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i]!
  return diff === 0
}
