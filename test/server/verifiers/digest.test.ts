import { describe, expect, it } from 'vitest'
import { digestKey, sha256Bytes } from '../../../src/server/verifiers/digest.js'

async function subtle(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value)))
}

describe('sha256Bytes (internal cache-key digest)', () => {
  it('matches the FIPS 180-4 vectors', () => {
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
    expect(hex(sha256Bytes(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(hex(sha256Bytes('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(hex(sha256Bytes('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  })

  it('matches crypto.subtle for every length across block boundaries and for non-ASCII input', async () => {
    const inputs: string[] = []
    for (let length = 0; length <= 300; length++) inputs.push(Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + length) % 90))).join(''))
    inputs.push('é'.repeat(40), '🔑 token ✓', 'x'.repeat(5000))
    for (const value of inputs) expect(sha256Bytes(value)).toEqual(await subtle(value))
  })

  it('digestKey is 16 UTF-16 code units, distinct for distinct inputs', () => {
    expect(digestKey('a')).toHaveLength(16)
    expect(digestKey('a')).toBe(digestKey('a'))
    expect(digestKey('a')).not.toBe(digestKey('b'))
  })
})
