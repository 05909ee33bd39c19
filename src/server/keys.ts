/**
 * The environment's signing keys: generated on first start, kept in the store, published as JWKS.
 *
 * @module
 */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose'
import { ConfigError } from '../shared/errors.js'
import { invalidArgument } from '../shared/lib/args.js'
import type { JWKS } from '../shared/schemas.js'
import type { KeyRecord, TokenStore } from './store/types.js'

/** A key ready to sign or verify. */
export interface LoadedKey {
  kid: string
  alg: string
  state: KeyRecord['state']
  publicJwk: JWK
  /** Present for keys that may sign (active). */
  privateKey?: CryptoKey
  publicKey: CryptoKey
}

/** What the token service needs from its key set. */
export interface KeyManager {
  /** Loads the keys and generates an active key for every algorithm that has none. */
  ready(): Promise<void>
  /** The active key for an algorithm. */
  signingKey(alg: string): LoadedKey
  /** Re-reads the key set from the store now (another instance rotated the keys). */
  reload(): Promise<void>
  /** A key by `kid` (any state but dropped), reloading from the store once on a miss. */
  verificationKey(kid: string): Promise<LoadedKey | undefined>
  /** A key by `kid` from the loaded set only (no store access); `undefined` when not loaded. */
  loadedKey(kid: string): LoadedKey | undefined
  /** Whether a `kid` is in the loaded key set (no store access; used on verified-cache hits). */
  knows(kid: string): boolean
  /** The public JWKS (next, active and retired keys). */
  jwks(): JWKS
  /**
   * Replaces the active key of every algorithm. The old keys are retired (they keep verifying
   * until `retiredKeyLifetime` ms have passed), or deleted at once with `invalidate` (compromise:
   * every JWT signed so far stops validating).
   */
  rotate(options: { invalidate?: boolean; retiredKeyLifetime: number }): Promise<void>
  /**
   * Adds a key made elsewhere (see {@link importKeyRecord}) as the active key of `alg`; the key it
   * replaces is retired (it keeps verifying). Refuses a key already in the key set.
   *
   * @returns The new key's `kid`.
   */
  importKey(alg: string, key: unknown): Promise<string>
}

const KEK_PREFIX = 'enc:'

async function seal(kek: CryptoKey | null, plain: string): Promise<string> {
  if (!kek) return plain
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, kek, new TextEncoder().encode(plain)))
  return `${KEK_PREFIX}${base64url.encode(iv)}.${base64url.encode(sealed)}`
}

/** A private key that cannot be opened: reported at `environment.keyEncryptionKey`, naming the key. */
function unopenable(kid: string, why: string): ConfigError {
  return new ConfigError([{ path: 'environment.keyEncryptionKey', message: `cannot open the private key "${kid}" in the store: ${why}` }])
}

async function open(kek: CryptoKey | null, stored: string, kid: string): Promise<string> {
  if (!stored.startsWith(KEK_PREFIX)) return stored
  if (!kek) throw unopenable(kid, 'it is encrypted but no keyEncryptionKey is configured')
  const parts = stored.slice(KEK_PREFIX.length).split('.')
  let iv: Uint8Array
  let data: Uint8Array
  try {
    if (parts.length !== 2) throw new TypeError('malformed')
    iv = base64url.decode(parts[0]!)
    data = base64url.decode(parts[1]!)
  } catch {
    throw unopenable(kid, 'its stored form is malformed')
  }
  let plain: ArrayBuffer
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource }, kek, data as BufferSource)
  } catch {
    throw unopenable(kid, 'keyEncryptionKey is not the key it was encrypted with')
  }
  return new TextDecoder().decode(plain)
}

/** Generates a key record for an algorithm (private key sealed with the KEK when given). */
export async function generateKeyRecord(environment: string, alg: string, kek: CryptoKey | null, now: number): Promise<KeyRecord> {
  const pair = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 })
  return keyRecord(environment, alg, await exportJWK(pair.publicKey), await exportJWK(pair.privateKey), kek, now)
}

/** The active key record of a key pair: `kid` = the RFC 7638 thumbprint, private key sealed with the KEK when given. */
async function keyRecord(environment: string, alg: string, publicJwk: JWK, privateJwk: JWK, kek: CryptoKey | null, now: number): Promise<KeyRecord> {
  const kid = await calculateJwkThumbprint(publicJwk)
  return {
    kid,
    environment,
    alg,
    state: 'active',
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateKey: await seal(kek, JSON.stringify({ ...privateJwk, kid, alg })),
    createdAt: now,
    retiredAt: null,
  }
}

/** The public members of a JWK, by key type (RFC 7518 §6). */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { RSA: ['kty', 'n', 'e'], EC: ['kty', 'crv', 'x', 'y'], OKP: ['kty', 'crv', 'x'] }

/**
 * Makes a key record of a private key brought in from elsewhere (an "upload"): a PKCS#8 PEM or a
 * private JWK, checked against `alg` (type, curve, RSA at least 2048 bits). Throws a `TypeError`
 * (`ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`) saying what is wrong; the message never holds
 * key material.
 */
export async function importKeyRecord(environment: string, alg: string, key: unknown, kek: CryptoKey | null, now: number): Promise<KeyRecord> {
  let privateKey: CryptoKey
  if (typeof key === 'string') {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) throw invalidArgument('"key" is an encrypted PKCS#8 key; decrypt it first (openssl pkcs8 -in key.pem -nocrypt -topk8)')
    if (/-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(key)) throw invalidArgument('"key" is a PKCS#1/SEC1 PEM; convert it to PKCS#8 ("BEGIN PRIVATE KEY") with: openssl pkcs8 -topk8 -nocrypt -in key.pem')
    if (!/-----BEGIN PRIVATE KEY-----/.test(key)) throw invalidArgument('"key" must be a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") or a private JWK')
    try {
      privateKey = await importPKCS8(key, alg, { extractable: true })
    } catch {
      throw invalidArgument(`"key" is not a ${alg} private key (or its PEM is damaged)`)
    }
  } else if (typeof key === 'object' && key !== null && !Array.isArray(key)) {
    const jwk = key as JWK
    if (typeof jwk.d !== 'string') throw invalidArgument('"key" must be a private JWK (it has no "d")')
    if (jwk.alg !== undefined && jwk.alg !== alg) throw invalidArgument(`"key" says "alg": "${String(jwk.alg)}", not ${alg}`)
    try {
      privateKey = (await importJWK({ ...jwk, ext: true }, alg, { extractable: true })) as CryptoKey
    } catch {
      throw invalidArgument(`"key" is not a ${alg} private key`)
    }
  } else {
    throw invalidArgument('"key" must be a PKCS#8 PEM string or a private JWK object', 'ERR_INVALID_ARG_TYPE')
  }
  const privateJwk = await exportJWK(privateKey)
  const members = PUBLIC_MEMBERS[privateJwk.kty ?? '']
  if (!members) throw invalidArgument(`"key" is not a ${alg} private key`)
  const publicJwk = Object.fromEntries(members.map((m) => [m, (privateJwk as Record<string, unknown>)[m]])) as JWK
  if (privateJwk.kty === 'RSA' && base64url.decode(privateJwk.n!).length * 8 < 2048) throw invalidArgument('"key" is an RSA key under 2048 bits (RFC 7518 §3.3 requires 2048 or more)')
  return keyRecord(environment, alg, publicJwk, privateJwk, kek, now)
}

async function load(record: KeyRecord, kek: CryptoKey | null): Promise<LoadedKey> {
  const publicJwk = { ...(record.publicJwk as JWK), kid: record.kid, alg: record.alg, use: 'sig' }
  const loaded: LoadedKey = {
    kid: record.kid,
    alg: record.alg,
    state: record.state,
    publicJwk,
    publicKey: (await importJWK(publicJwk, record.alg)) as CryptoKey,
  }
  if (record.state === 'active') {
    loaded.privateKey = (await importJWK(JSON.parse(await open(kek, record.privateKey, record.kid)) as JWK, record.alg)) as CryptoKey
  }
  return loaded
}

/** Creates the key manager of one environment. */
export function createKeyManager(options: { store: TokenStore; environment: string; algorithms: Iterable<string>; kek: CryptoKey | null; now: () => number }): KeyManager {
  const { store, environment, kek, now } = options
  const algorithms = [...options.algorithms]
  let keys = new Map<string, LoadedKey>()
  let lastReload = 0
  let reloading: Promise<void> | undefined
  /** Other instances rotate keys too: re-read the store in the background once a minute. */
  const REFRESH_INTERVAL = 60_000
  /** An unknown `kid` re-reads the store at most once a second. */
  const MISS_COOLDOWN = 1_000
  const refreshInBackground = () => {
    if (reloading || now() - lastReload < REFRESH_INTERVAL) return
    reloading = reload().catch(() => {}).finally(() => (reloading = undefined))
  }

  /** Reads run one after another, so a read that started before a change never lands after one that started after it. */
  let lastRead: Promise<unknown> = Promise.resolve()
  function reload(): Promise<void> {
    const read = lastRead.then(async () => {
      const records = await store.listKeys(environment)
      const next = new Map<string, LoadedKey>()
      for (const r of records) next.set(r.kid, keys.get(r.kid)?.state === r.state ? keys.get(r.kid)! : await load(r, kek))
      keys = next
      lastReload = now()
    })
    lastRead = read.catch(() => {})
    return read
  }

  return {
    async ready() {
      await reload()
      let changed = false
      for (const alg of algorithms) {
        if ([...keys.values()].some((k) => k.alg === alg && k.state === 'active')) continue
        await store.addKey(await generateKeyRecord(environment, alg, kek, now()), { onlyIfNoActive: true })
        changed = true
      }
      if (changed) await reload()
    },
    signingKey(alg) {
      refreshInBackground()
      let found: LoadedKey | undefined
      for (const k of keys.values()) if (k.alg === alg && k.state === 'active' && k.privateKey) found = k
      if (!found) throw new Error(`no active signing key for ${alg}`)
      return found
    },
    async verificationKey(kid) {
      refreshInBackground()
      const found = keys.get(kid)
      if (found || now() - lastReload < MISS_COOLDOWN) return found
      await (reloading ??= reload().finally(() => (reloading = undefined)))
      return keys.get(kid)
    },
    async reload() {
      // Never joins a read already running (it may predate the change): queues a new one.
      await reload()
    },
    loadedKey(kid) {
      refreshInBackground()
      return keys.get(kid)
    },
    knows(kid) {
      refreshInBackground()
      return keys.has(kid)
    },
    jwks() {
      return { keys: [...keys.values()].map((k) => k.publicJwk as JWKS['keys'][number]) }
    },
    async rotate({ invalidate = false, retiredKeyLifetime }) {
      const at = now()
      const before = await store.listKeys(environment)
      // New keys first: adding an active key retires the active key of its algorithm in the same
      // store operation, so a failure at any step leaves the environment with an active key
      // (retiring or deleting first could leave it with none, and every issuance failing).
      for (const alg of algorithms) await store.addKey(await generateKeyRecord(environment, alg, kek, at))
      for (const r of before) {
        if (invalidate) await store.deleteKey(environment, r.kid)
        else if (r.state === 'active' && !algorithms.includes(r.alg)) await store.updateKeyState(environment, r.kid, 'retired', at)
        else if (r.state === 'retired' && r.retiredAt !== null && r.retiredAt + retiredKeyLifetime <= at) await store.deleteKey(environment, r.kid)
      }
      await reload()
    },
    async importKey(alg, key) {
      const record = await importKeyRecord(environment, alg, key, kek, now())
      if ((await store.listKeys(environment)).some((r) => r.kid === record.kid)) throw invalidArgument(`"key" is already in the key set of environment "${environment}" (kid ${record.kid})`)
      // Adding an active key retires the active key of its algorithm in the same store operation.
      await store.addKey(record)
      await reload()
      return record.kid
    },
  }
}
