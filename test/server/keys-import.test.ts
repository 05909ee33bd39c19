/**
 * `service.importKey()`: a signing key made elsewhere (SPEC §5 "upload") becomes the active key of
 * its algorithm; the one it replaces keeps verifying; bad keys get a specific error.
 */
import { generateKeyPairSync } from 'node:crypto'
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet } from 'jose'
import { describe, expect, it } from 'vitest'
import { createMemoryStore } from '../../src/server/index.js'
import { accepted, apiRequest, ccToken, makeService, policyOf } from './validation/_helpers.js'

const pem = (type: 'rsa' | 'ec', options: Record<string, unknown>, format: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8', cipher?: string) =>
  generateKeyPairSync(type as 'rsa', { ...options, privateKeyEncoding: { type: format, format: 'pem', ...(cipher ? { cipher, passphrase: 'pw' } : {}) }, publicKeyEncoding: { type: 'spki', format: 'pem' } } as never).privateKey as unknown as string

const RSA_2048 = pem('rsa', { modulusLength: 2048 })

async function jwks(service: ReturnType<typeof makeService>['service']) {
  return (await (await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))).json()) as { keys: Array<{ kid: string; alg: string }> }
}

describe('service.importKey()', () => {
  it('signs with an imported PKCS#8 key from then on; tokens of the replaced key keep verifying', async () => {
    const { service, clock } = makeService()
    const before = await ccToken(service, 'orders-app')
    const oldKid = decodeProtectedHeader(before.access_token).kid
    const kid = await service.importKey(RSA_2048)
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/) // an RFC 7638 thumbprint
    const after = await ccToken(service, 'orders-app')
    expect(decodeProtectedHeader(after.access_token)).toMatchObject({ kid, alg: 'RS256' })
    const set = await jwks(service)
    expect(set.keys.map((k) => k.kid).sort()).toEqual([kid, oldKid].sort())
    // The published key verifies what the imported private key signed.
    await jwtVerify(after.access_token, createLocalJWKSet(set as never), { currentDate: new Date(clock.now()) })
    await accepted(service, 'orders', apiRequest(after.access_token))
    await accepted(service, 'orders', apiRequest(before.access_token))
    expect(JSON.stringify(set)).not.toMatch(/"d"|"p"|"q"/) // no private member is published
  })

  it('imports a private JWK, for another algorithm the environment signs with', async () => {
    const { service } = makeService((c) => void (policyOf(c, 'inventory' as never) && (c.groups[0]!.tokenPolicy = { format: 'jwt', algorithm: 'ES256' })))
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = await exportJWK(privateKey)
    const kid = await service.importKey(jwk, { alg: 'ES256' })
    const token = await ccToken(service, 'shop-app')
    expect(decodeProtectedHeader(token.access_token)).toMatchObject({ kid, alg: 'ES256' })
  })

  it('seals the imported private key with the keyEncryptionKey', async () => {
    const store = createMemoryStore()
    const kek = Buffer.alloc(32, 7).toString('base64url')
    const { service } = makeService((c) => void (c.environment.keyEncryptionKey = { env: 'KEK' }), { store, env: { KEK: kek } })
    const kid = await service.importKey(RSA_2048)
    const record = (await store.listKeys('test')).find((k) => k.kid === kid)!
    expect(record.privateKey.startsWith('enc:')).toBe(true)
    expect(record.privateKey).not.toContain('"d"')
    await accepted(service, 'orders', apiRequest((await ccToken(service, 'orders-app')).access_token))
  })

  it.each([
    ['an RSA key under 2048 bits', pem('rsa', { modulusLength: 1024 }), '"key" is an RSA key under 2048 bits (RFC 7518 §3.3 requires 2048 or more)'],
    ['an EC key for RS256', pem('ec', { namedCurve: 'P-256' }), '"key" is not a RS256 private key (or its PEM is damaged)'],
    ['a PKCS#1 PEM', pem('rsa', { modulusLength: 2048 }, 'pkcs1'), '"key" is a PKCS#1/SEC1 PEM; convert it to PKCS#8 ("BEGIN PRIVATE KEY") with: openssl pkcs8 -topk8 -nocrypt -in key.pem'],
    ['an encrypted PEM', pem('rsa', { modulusLength: 2048 }, 'pkcs8', 'aes-256-cbc'), '"key" is an encrypted PKCS#8 key; decrypt it first (openssl pkcs8 -in key.pem -nocrypt -topk8)'],
    ['a public key', generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey, '"key" must be a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") or a private JWK'],
    ['a damaged PEM', RSA_2048.replace(/[A-Za-z]{20}/, 'A'.repeat(20)), '"key" is not a RS256 private key (or its PEM is damaged)'],
    ['a public JWK', { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, '"key" must be a private JWK (it has no "d")'],
  ])('refuses %s, and keeps the key set as it was', async (_label, key, message) => {
    const { service } = makeService()
    const before = await jwks(service)
    const error = await service.importKey(key as never).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message })
    expect(String((error as Error).message)).not.toContain('PRIVATE KEY-----\n') // no key material echoed
    expect(await jwks(service)).toEqual(before)
  })

  it('refuses a key already in the key set, an algorithm the environment does not sign with, and a non-key', async () => {
    const { service } = makeService()
    const kid = await service.importKey(RSA_2048)
    await expect(service.importKey(RSA_2048)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: `"key" is already in the key set of environment "test" (kid ${kid})` })
    await expect(service.importKey(RSA_2048, { alg: 'PS256' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: '"alg" must be one of the algorithms environment "test" signs with: RS256' })
    await expect(service.importKey(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: '"key" must be a PKCS#8 PEM string or a private JWK object' })
    expect((await jwks(service)).keys.filter((k) => k.kid === kid)).toHaveLength(1)
  })
})
