import { describe, expect, it } from 'vitest'
import { hashClientSecret, hashPassword, isSecretHash, verifySecret } from '../../src/server/index.js'

const SALT = 'A'.repeat(22)
const HASH = 'B'.repeat(43)

describe('secret hashes', () => {
  it('accepts what gatepass makes and verifies it', async () => {
    const digest = await hashClientSecret('s3cret-value-0123456789')
    const password = await hashPassword('correct horse', { iterations: 1000 })
    expect(isSecretHash(digest) && isSecretHash(password)).toBe(true)
    expect(await verifySecret('s3cret-value-0123456789', digest)).toBe(true)
    expect(await verifySecret('correct horse', password)).toBe(true)
    expect(await verifySecret('wrong', password)).toBe(false)
  })

  it.each([
    ['a truncated digest', 'sha256:oops'],
    ['0 iterations', `pbkdf2-sha256$0$${SALT}$${HASH}`],
    ['999 iterations', `pbkdf2-sha256$999$${SALT}$${HASH}`],
    ['more than 10,000,000 iterations', `pbkdf2-sha256$10000001$${SALT}$${HASH}`],
    ['a short salt', `pbkdf2-sha256$1000$short$${HASH}`],
  ])('refuses %s: not a hash, and verification answers false instead of failing', async (_name, hash) => {
    expect(isSecretHash(hash)).toBe(false)
    await expect(verifySecret('anything', hash)).resolves.toBe(false)
  })

  it('refuses to make a hash outside the iteration range', async () => {
    for (const iterations of [999, 10_000_001, 1.5]) {
      await expect(hashPassword('pw', { iterations })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    }
  })
})
