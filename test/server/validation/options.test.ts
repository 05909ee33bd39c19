import { describe, expect, it } from 'vitest'
import { createTokenService } from '../../../src/server/index.js'
import type { ValidationOptions } from '../../../src/server/index.js'

const config = { environment: { name: 'test', issuer: 'https://gw.example.com' }, proxies: [] }
const make = (validation: unknown) => createTokenService(config, { validation: validation as ValidationOptions, cleanup: false })
const cache = { get: async () => null, set: async () => {}, delete: async () => {} }
const bus = { publish: async () => {}, subscribe: () => () => {} }

describe('validation options are checked when the service is made', () => {
  it.each([
    ['leeway', -1],
    ['leeway', 30_000], // milliseconds by mistake: expired tokens would pass for 8 hours
    ['leeway', Number.NaN],
    ['verifiedJWTCacheSize', -1],
    ['verifiedJWTCacheSize', 1.5],
    ['opaqueCacheSize', Number.POSITIVE_INFINITY],
    ['opaqueCacheBytes', -1],
    ['opaqueCacheMaxAge', -5],
    ['opaqueCacheMaxAge', 86_400_000],
    ['negativeCacheMaxAge', Number.NaN],
    ['storeOutageGrace', Number.POSITIVE_INFINITY],
  ])('refuses %s = %s with ERR_INVALID_ARG_VALUE naming the field', (name, value) => {
    expect(() => make({ [name]: value })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining(`"validation.${name}"`) }) as unknown as Error,
    )
  })

  it.each([
    ['leeway', '30', '"validation.leeway" must be a number (seconds)'],
    ['opaqueCacheMaxAge', '5s', '"validation.opaqueCacheMaxAge" must be a number (ms)'],
    ['opaqueCacheSize', null, '"validation.opaqueCacheSize" must be a number (entries)'],
    ['sharedCache', 5, '"validation.sharedCache" must be an object with get, set, delete'],
    ['sharedCache', { ...cache, delete: undefined }, '"validation.sharedCache.delete" must be a function'],
    ['sharedCache', { ...cache, read: 'yes' }, '"validation.sharedCache.read" must be a function when given'],
    ['revocationBus', {}, '"validation.revocationBus.publish" must be a function'],
    ['revocationBus', { publish: bus.publish }, '"validation.revocationBus.subscribe" must be a function'],
  ])('refuses %s = %j with ERR_INVALID_ARG_TYPE and says what is expected', (name, value, message) => {
    expect(() => make({ [name]: value })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }) as unknown as Error)
  })

  it.each([[null], [5], ['fast'], [[]]])('refuses validation = %j', (validation) => {
    expect(() => make(validation)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: '"validation" must be an object' }) as unknown as Error)
  })

  it('accepts every field at its bounds, and a cache and bus of the right shape', async () => {
    for (const validation of [
      {},
      { leeway: 0, verifiedJWTCacheSize: 0, opaqueCacheSize: 0, opaqueCacheBytes: 0, opaqueCacheMaxAge: 0, negativeCacheMaxAge: 0, storeOutageGrace: 0 },
      { leeway: 3_600, verifiedJWTCacheSize: 10_000_000, opaqueCacheSize: 10_000_000, opaqueCacheMaxAge: 3_600_000, negativeCacheMaxAge: 3_600_000, storeOutageGrace: 86_400_000 },
      { leeway: 0.5, opaqueCacheMaxAge: 2_500.5, sharedCache: { ...cache, read: async () => null }, revocationBus: bus },
    ]) {
      const service = make(validation)
      const response = await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))
      expect(response.status).toBe(200)
      await service.close()
    }
  })
})
