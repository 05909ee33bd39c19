import { describe, expect, it } from 'vitest'
import { base64url } from 'jose'
import { sha256 } from '../../src/server/lib/crypto.js'

/** What stores hold: SHA-256 of the UTF-8 token, base64url, whichever hashing path a runtime takes. */
async function webCryptoDigest(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value))))
}

describe('sha256 (token digests as stored)', () => {
  it.each(['', 'abc', 'gp_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG', 'Zoë ✓ 🔑', 'x'.repeat(10_000)])('equals the Web Crypto digest for %#', async (value) => {
    expect(await sha256(value)).toBe(await webCryptoDigest(value))
  })

  it('matches the published SHA-256 test vector', async () => {
    // FIPS 180-2 "abc": ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(await sha256('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  })
})
