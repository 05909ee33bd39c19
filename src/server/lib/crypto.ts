import { base64url } from 'jose'

const encoder = new TextEncoder()

type NodeHash = { update(data: string, encoding: 'utf8'): NodeHash; digest(encoding: 'base64url'): string }
type NodeCrypto = {
  createHash(algorithm: 'sha256'): NodeHash
  /** One-shot hashing (Node ≥ 20.12): no Hash object, about half the cost of `createHash()`. */
  hash?: (algorithm: 'sha256', data: string, outputEncoding: 'base64url') => string
}

/**
 * On Node (≥ 20.16), `node:crypto` hashes synchronously in ~1 µs where an awaited
 * `crypto.subtle.digest` costs ~15 µs (thread-pool round trip) — on every validation. Found by
 * feature detection through `globalThis`, so this module imports no Node built-in and runs on
 * every runtime; elsewhere Web Crypto is used.
 */
let nodeCrypto: NodeCrypto | null | undefined

function findNodeCrypto(): NodeCrypto | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  try {
    return (proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null
  } catch {
    return null
  }
}

/** SHA-256 of a UTF-8 string, base64url. */
export async function sha256(value: string): Promise<string> {
  nodeCrypto ??= findNodeCrypto()
  if (nodeCrypto) return nodeCrypto.hash ? nodeCrypto.hash('sha256', value, 'base64url') : nodeCrypto.createHash('sha256').update(value, 'utf8').digest('base64url')
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value))))
}

/**
 * Random bytes are drawn from the CSPRNG this many at a time and handed out once each: one
 * `getRandomValues()` call costs more than the bytes a token needs.
 */
const RANDOM_POOL_BYTES = 4096
let randomPool = new Uint8Array(0)
let randomOffset = 0

/** `bytes` cryptographically random bytes, base64url (43 chars for 32 bytes). */
export function randomToken(bytes = 32): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new RangeError(`randomToken: "bytes" must be a positive integer, got ${String(bytes)}`)
  if (bytes > RANDOM_POOL_BYTES) return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)))
  if (randomOffset + bytes > randomPool.length) {
    randomPool = crypto.getRandomValues(new Uint8Array(RANDOM_POOL_BYTES))
    randomOffset = 0
  }
  const slice = randomPool.subarray(randomOffset, randomOffset + bytes)
  randomOffset += bytes
  const token = base64url.encode(slice)
  slice.fill(0) // handed out once: nothing of a token stays behind in the pool
  return token
}

/**
 * Constant-time comparison of two strings (time depends on the length of `expected` only).
 * Both values are expected to be digests of equal length.
 */
export function timingSafeEqual(actual: string, expected: string): boolean {
  // UTF-16 code units compared in place: equal strings have equal units, and nothing is allocated.
  let diff = actual.length ^ expected.length
  const length = actual.length || 1
  for (let i = 0; i < expected.length; i++) diff |= (actual.charCodeAt(i % length) | 0) ^ expected.charCodeAt(i)
  return diff === 0
}

async function tokenKey(token: string): Promise<CryptoKey> {
  const raw = await crypto.subtle.digest('SHA-256', encoder.encode(`gatepass:replay:${token}`))
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
}

/**
 * Encrypts `plain` with a key derived from `token` (never from its stored digest), so a value
 * kept in the store can be read only by someone presenting the token again.
 */
export async function sealWithToken(token: string, plain: string): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await tokenKey(token), encoder.encode(plain)))
  const out = new Uint8Array(12 + sealed.byteLength)
  out.set(iv)
  out.set(sealed, 12)
  return out
}

/** Decrypts what {@link sealWithToken} produced; `null` when it does not open. */
export async function openWithToken(token: string, sealed: Uint8Array): Promise<string | null> {
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.slice(0, 12) }, await tokenKey(token), sealed.slice(12))
    return new TextDecoder().decode(plain)
  } catch {
    return null
  }
}
