import { describe, expect, it } from 'vitest'
import { createTokenService } from '../../../src/server/index.js'
import type { TokenServiceOptions, ValidationOptions } from '../../../src/server/index.js'

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
    ['leeway', '30', '"validation.leeway" must be a number from 0 to 3,600 (seconds)'],
    ['opaqueCacheMaxAge', '5s', '"validation.opaqueCacheMaxAge" must be a number from 0 to 3,600,000 (ms)'],
    ['opaqueCacheSize', null, '"validation.opaqueCacheSize" must be an integer from 0 to 10,000,000 (entries)'],
    ['sharedCache', 5, '"validation.sharedCache" must be an object with get, set and delete'],
    ['sharedCache', { ...cache, delete: undefined }, '"validation.sharedCache" must be an object with get, set and delete (its "delete" is not a function)'],
    ['sharedCache', { ...cache, read: 'yes' }, '"validation.sharedCache.read" must be a function'],
    ['revocationBus', {}, '"validation.revocationBus" must be an object with publish and subscribe (its "publish" is not a function)'],
    ['revocationBus', { publish: bus.publish }, '"validation.revocationBus" must be an object with publish and subscribe (its "subscribe" is not a function)'],
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

describe('service options are checked when the service is made', () => {
  const proxies = [{ name: 'orders', clientId: 'orders-app', clientSecret: { env: 'S' }, upstream: 'http://127.0.0.1:9/' }]
  const base = { environment: { name: 'test', issuer: 'https://gw.example.com' }, proxies }
  const env = { S: 'a-long-random-secret-0123456789' }
  const create = (options: unknown) => createTokenService(base, options as TokenServiceOptions)

  it.each([
    [null, '"options" must be an object'],
    [{ env, store: null }, '"store" must be a token store (omit it for an in-memory store)'],
    [{ env: 'S=x' }, '"env" must be an object of environment variables'],
    [{ env: { S: 123 } }, '"env.S" must be a string'],
    [{ env, identitySource: {} }, '"identitySource" must be a function'],
    [{ env, now: 'x' }, '"now" must be a function'],
    [{ env, onError: 42 }, '"onError" must be a function'],
  ])('refuses %j with ERR_INVALID_ARG_TYPE', (options, message) => {
    expect(() => create(options)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }) as unknown as Error)
  })

  it('accepts process.env, functions and a store', async () => {
    const service = create({ env: { ...process.env, ...env }, identitySource: async () => null, now: Date.now, onError: () => {}, cleanup: false })
    expect((await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))).status).toBe(200)
    await service.close()
  })

  describe('guard(), protect(), proxy() and rotateKeys() options', () => {
    const service = createTokenService(base, { env, cleanup: false })
    const handler = () => new Response('ok')

    it.each([
      [() => service.guard('orders', null as never), '"options" must be an object'],
      [() => service.guard('orders', { realm: 5 as never }), '"realm" must be a non-empty string'],
      [() => service.guard('orders', { claims: {} as never }), '"claims" must be a zod schema'],
      [() => service.guard('orders', { allowQueryToken: 'true' as never }), '"allowQueryToken" must be a boolean'],
      [() => service.protect('orders', 'x' as never), '"handler" must be a function'],
      [() => service.proxy('orders', { stripToken: 'no' as never }), '"stripToken" must be a boolean'],
      [() => service.proxy('orders', { userHeader: 5 as never }), '"userHeader" must be a header name or false'],
      [() => service.proxy('orders', { timeoutDuration: '5s' as never }), '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
      [() => service.proxy('orders', { upstream: 5 as never }), '"upstream" must be a URL string or a URL'],
    ])('%# refuses with ERR_INVALID_ARG_TYPE: %s', (make, message) => {
      expect(make).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }) as unknown as Error)
    })

    it.each([
      [() => service.guard('orders', { realm: '' }), '"realm" must be a non-empty string'],
      [() => service.proxy('orders', { userHeader: 'bad name' }), '"userHeader" must be a header name (RFC 9110 token characters) or false'],
      [() => service.proxy('orders', { rolesHeader: '' }), '"rolesHeader" must be a header name (RFC 9110 token characters) or false'],
      [() => service.proxy('orders', { timeoutDuration: 0 }), '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
      [() => service.proxy('orders', { timeoutDuration: 3e9 }), '"timeoutDuration" must be an integer from 1 to 2,147,483,647 (ms)'],
      [() => service.proxy('orders', { upstream: 'ftp://files.example.com/' }), '"upstream" must be an absolute http(s) URL'],
      [() => service.proxy('orders', { upstream: 'not a url' }), '"upstream" must be an absolute http(s) URL'],
    ])('%# refuses with ERR_INVALID_ARG_VALUE: %s', (make, message) => {
      expect(make).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message }) as unknown as Error)
    })

    it('refuses rotateKeys({ invalidate: "true" }) instead of doing a plain rotation, and keeps the keys', async () => {
      const before = await (await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))).json()
      for (const options of [{ invalidate: 'true' }, { invalidate: 1 }, null]) {
        await expect(service.rotateKeys(options as never)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      }
      expect(await (await service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json'))).json()).toEqual(before)
    })

    it('accepts the documented values', () => {
      expect(typeof service.guard('orders', { realm: 'orders-api', allowQueryToken: false, scopes: ['read'] })).toBe('function')
      expect(typeof service.protect('orders', handler)).toBe('function')
      expect(typeof service.proxy('orders', { stripToken: false, userHeader: 'X-User', rolesHeader: false, timeoutDuration: 2_147_483_647, upstream: new URL('https://api.example.com/v1') as never })).toBe('function')
    })
  })
})
