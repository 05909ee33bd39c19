/**
 * Hashing and verification of client secrets and user passwords.
 *
 * Formats accepted in configuration:
 * - `sha256:<base64url digest>`: for generated client secrets (≥ 256 bits of randomness);
 * - `pbkdf2-sha256$<iterations>$<base64url salt>$<base64url hash>`: for passwords (slow KDF).
 *
 * @module
 */
import { base64url } from 'jose'
import { invalidArgument } from '../shared/lib/args.js'
import { randomToken, sha256, timingSafeEqual } from './lib/crypto.js'

/**
 * PBKDF2-SHA256 iteration count used by {@link hashPassword} (OWASP 2023 recommendation).
 *
 * @group Secrets
 */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000

const PBKDF2 = /^pbkdf2-sha256\$(\d{1,9})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{43})$/
const SHA256 = /^sha256:([A-Za-z0-9_-]{43})$/

/** PBKDF2 iteration counts gatepass makes and accepts: below is too weak, above would stall requests. */
const MIN_PBKDF2_ITERATIONS = 1_000
const MAX_PBKDF2_ITERATIONS = 10_000_000

/** The iteration count of a well-formed `pbkdf2-sha256$` hash within the accepted range, else `undefined`. */
function pbkdf2Parts(hash: string): { iterations: number; salt: string; derived: string } | undefined {
  const match = PBKDF2.exec(hash)
  if (!match) return undefined
  const iterations = Number(match[1])
  if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) return undefined
  return { iterations, salt: match[2]!, derived: match[3]! }
}

/**
 * Whether a string is a secret hash gatepass can verify against (`sha256:` + 43 base64url
 * characters, or `pbkdf2-sha256$<iterations>$<salt>$<hash>` with 1,000 to 10,000,000 iterations).
 *
 * @param value Candidate hash.
 * @returns `true` for a well-formed hash.
 * @example
 *
 * ```ts
 * import { isSecretHash } from 'gatepass/server'
 *
 * isSecretHash('sha256:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU') // true
 * ```
 *
 * @group Secrets
 */
export function isSecretHash(value: string): boolean {
  return typeof value === 'string' && (SHA256.test(value) || pbkdf2Parts(value) !== undefined)
}

/**
 * Digest of a generated client secret for configuration files: `sha256:<base64url>`.
 *
 * @param secret The client secret (keep it out of the config).
 * @returns The value to put in `clientSecret`.
 * @example
 *
 * ```ts
 * import { hashClientSecret, generateClientSecret } from 'gatepass/server'
 *
 * const secret = generateClientSecret()
 * const digest = await hashClientSecret(secret) // 'sha256:…'
 * ```
 *
 * @group Secrets
 */
export async function hashClientSecret(secret: string): Promise<string> {
  if (typeof secret !== 'string' || secret.length === 0) throw invalidArgument('"secret" must be a non-empty string', 'ERR_INVALID_ARG_TYPE')
  return `sha256:${await sha256(secret)}`
}

/**
 * A new random client secret: 256 bits, base64url.
 *
 * @returns The secret; show it once, store only {@link hashClientSecret}'s digest.
 * @example
 *
 * ```ts
 * import { generateClientSecret } from 'gatepass/server'
 *
 * const secret = generateClientSecret() // 43 base64url characters
 * ```
 *
 * @group Secrets
 */
export function generateClientSecret(): string {
  return randomToken(32)
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, key, 256)
  return new Uint8Array(bits)
}

/**
 * Hashes a user password with PBKDF2-SHA256 (Web Crypto) for the password grant's user list.
 *
 * @param password The password.
 * @param options `iterations` (default {@link DEFAULT_PBKDF2_ITERATIONS}).
 * @returns `pbkdf2-sha256$<iterations>$<salt>$<hash>`, for `passwordHash` in the config.
 * @example
 *
 * ```ts
 * import { hashPassword } from 'gatepass/server'
 *
 * const passwordHash = await hashPassword('correct horse battery staple')
 * ```
 *
 * @group Secrets
 */
export async function hashPassword(password: string, options: { iterations?: number } = {}): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw invalidArgument('"password" must be a non-empty string', 'ERR_INVALID_ARG_TYPE')
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw invalidArgument('"iterations" must be an integer from 1,000 to 10,000,000')
  }
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const hash = await pbkdf2(password, salt, iterations)
  return `pbkdf2-sha256$${iterations}$${base64url.encode(salt)}$${base64url.encode(hash)}`
}

/**
 * Checks a presented secret or password against a hash in constant time.
 *
 * @param presented The value the client sent.
 * @param hash A `sha256:` or `pbkdf2-sha256$` hash.
 * @returns `true` when they match; `false` otherwise (also for a malformed hash).
 * @example
 *
 * ```ts
 * import { verifySecret } from 'gatepass/server'
 *
 * let hash!: string
 * const ok = await verifySecret('s3cret', hash)
 * ```
 *
 * @group Secrets
 */
export async function verifySecret(presented: string, hash: string): Promise<boolean> {
  const digest = SHA256.exec(hash)
  if (digest) return timingSafeEqual(await sha256(presented), digest[1]!)
  const kdf = pbkdf2Parts(hash)
  if (kdf) {
    const derived = await pbkdf2(presented, base64url.decode(kdf.salt), kdf.iterations)
    return timingSafeEqual(base64url.encode(derived), kdf.derived)
  }
  return false
}
