import { describe, expect, it } from 'vitest'
import { randomToken } from '../../src/server/lib/crypto.js'

describe('randomToken', () => {
  it('hands out distinct 256-bit base64url tokens across refills of its random pool', () => {
    const tokens = Array.from({ length: 1_000 }, () => randomToken()) // 32 KB: eight pool refills
    expect(new Set(tokens).size).toBe(tokens.length)
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('serves sizes that do not fit the pool, and odd sizes that straddle a refill', () => {
    expect(randomToken(5_000)).toHaveLength(Math.ceil((5_000 * 4) / 3))
    const odd = Array.from({ length: 500 }, () => randomToken(17))
    expect(new Set(odd).size).toBe(odd.length)
    for (const token of odd) expect(token).toHaveLength(23)
  })

  it('refuses sizes that are not positive integers (they would corrupt the pool)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => randomToken(bad)).toThrow(RangeError)
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
