/**
 * Keys and token builders for the remote-verifier tests (the leading `_` keeps it out of the test glob).
 */
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose'
import type { CryptoKey, JWK, JWTHeaderParameters, JWTPayload } from 'jose'

export const ISSUER = 'https://as.example/auth'
export const JWKS_URL = 'https://as.example/auth/jwks'
export const METADATA_URL = 'https://as.example/.well-known/oauth-authorization-server/auth'
export const AUDIENCE = 'orders-api'
/** Frozen "now" of the tests: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1)
export const T0_SECONDS = T0 / 1000

export interface TestKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  /** Public JWK as published in the JWKS (`kid`, `alg`, `use: 'sig'`). */
  jwk: JWK
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, alg, privateKey, publicKey, jwk }
}

export interface SignOptions {
  header?: Partial<JWTHeaderParameters> & Record<string, unknown>
  claims?: JWTPayload
  /** Claims to remove from the defaults. */
  omit?: string[]
  /** `crit` extensions the signer must accept. */
  crit?: Record<string, boolean>
}

/** The default claims of a valid RFC 9068 access token at {@link T0}, valid for 5 minutes. */
export function defaultClaims(): JWTPayload {
  return {
    iss: ISSUER,
    sub: 'alice',
    aud: AUDIENCE,
    client_id: 'mobile-app',
    scope: 'orders:read orders:write',
    jti: 'jti-1',
    iat: T0_SECONDS,
    exp: T0_SECONDS + 300,
  }
}

export async function sign(key: TestKey, options: SignOptions = {}): Promise<string> {
  const claims: JWTPayload = { ...defaultClaims(), ...options.claims }
  for (const name of options.omit ?? []) delete claims[name]
  const header = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header } as JWTHeaderParameters
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[name]
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey, options.crit ? { crit: options.crit } : undefined)
}

/** An unsecured JWT (`alg: none`, empty signature). */
export function unsecured(claims: JWTPayload = defaultClaims(), kid = 'k1'): string {
  const enc = (v: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(v)))
  return `${enc({ alg: 'none', typ: 'at+jwt', kid })}.${enc(claims)}.`
}
