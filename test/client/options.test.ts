/**
 * Up-front option checks of the public client functions: a bad option throws (or rejects with) a
 * `TypeError` whose `code` is `ERR_INVALID_ARG_TYPE` (wrong type) or `ERR_INVALID_ARG_VALUE` (bad
 * value) and whose message names the option; good values at the bounds still work.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as z from 'zod/mini'
import {
  authFetch,
  clientCredentialsGrantRequest,
  createAPIClient,
  createTokenClient,
  customFetch,
  decodeClaims,
  introspectionRequest,
  memoryCache,
  none,
  passwordGrantRequest,
  processTokenResponse,
  refreshTokenGrantRequest,
  revocationRequest,
  tokenCacheKey,
  webStorageCache,
} from '../../src/client/index.js'
import type { TokenCacheEntry, TokenClient, TokenClientOptions, TokenRequestOptions, TokenSource } from '../../src/client/index.js'
import { defineClaims } from '../../src/shared/index.js'
import { TOKEN_ENDPOINT, fakeJWT, rejection } from './_helpers.js'

const TYPE = 'ERR_INVALID_ARG_TYPE'
const VALUE = 'ERR_INVALID_ARG_VALUE'
const MAX = 2_147_483_647
/** What every argument error looks like. */
const argError = (code: string, message: string) => expect.objectContaining({ name: 'TypeError', code, message })
/** For bad values the types forbid. */
const bad = <T>(value: unknown) => value as T

const clients: TokenClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
})

/** A token endpoint stand-in (passed as `[customFetch]`) that records the request bodies. */
function tokenEndpoint() {
  const bodies: URLSearchParams[] = []
  const fetch = async (request: Request) => {
    bodies.push(new URLSearchParams(await request.text()))
    return Response.json({ access_token: `at-${bodies.length}`, token_type: 'Bearer', expires_in: 3600 })
  }
  return { bodies, fetch }
}

const base: TokenClientOptions = { tokenEndpoint: TOKEN_ENDPOINT, clientId: 'billing', grant: 'client_credentials', crossTab: false }
function makeClient(overrides: Record<string, unknown>): TokenClient {
  const client = createTokenClient({ ...base, ...overrides } as TokenClientOptions)
  clients.push(client)
  return client
}

describe('webStorageCache', () => {
  /** A `Storage` over a Map. */
  function storage() {
    const items = new Map<string, string>()
    const area = {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
      removeItem: (k: string) => void items.delete(k),
    } as unknown as Storage
    return { items, area }
  }
  const entry: TokenCacheEntry = { access_token: 'at', token_type: 'Bearer', expiresAt: null, uat: 1, refresh_token: 'rt' }

  it.each([['true'], [1], [null]])('omitRefreshToken: %o is refused (it used to store the refresh token)', (value) => {
    expect(() => webStorageCache(storage().area, { omitRefreshToken: bad(value) })).toThrow(argError(TYPE, '"options.omitRefreshToken" must be a boolean'))
  })

  it('options: null and a non-string prefix are refused', () => {
    expect(() => webStorageCache(storage().area, bad(null))).toThrow(argError(TYPE, '"options" must be an object'))
    expect(() => webStorageCache(storage().area, { prefix: bad(5) })).toThrow(argError(TYPE, '"options.prefix" must be a string'))
  })

  it('omitRefreshToken: true keeps the refresh token out of storage; false stores it', () => {
    const omitting = storage()
    webStorageCache(omitting.area, { omitRefreshToken: true }).set('k', entry)
    expect([...omitting.items.values()].join()).not.toContain('"rt"')
    const storing = storage()
    webStorageCache(storing.area, { omitRefreshToken: false }).set('k', entry)
    expect([...storing.items.values()].join()).toContain('"rt"')
  })
})

describe('scope and resource', () => {
  const scopeToken = (name: string) => `"${name}" must be a scope token (RFC 6749 §3.3)`
  const scopeTokens = (name: string) => `"${name}" must be space-delimited scope tokens (RFC 6749 §3.3)`
  const cases = (prefix: string): [string, unknown, string, string][] => [
    ['scope', [1, 2], TYPE, `"${prefix}scope[0]" must be a string`],
    ['scope', ['a', 5], TYPE, `"${prefix}scope[1]" must be a string`],
    ['scope', ['a b'], VALUE, scopeToken(`${prefix}scope[0]`)],
    ['scope', [''], VALUE, scopeToken(`${prefix}scope[0]`)],
    ['scope', ['a\\b'], VALUE, scopeToken(`${prefix}scope[0]`)],
    ['scope', 'a "b"', VALUE, scopeTokens(`${prefix}scope`)],
    ['scope', 'a\tb', VALUE, scopeTokens(`${prefix}scope`)],
    ['scope', 'café', VALUE, scopeTokens(`${prefix}scope`)],
    ['scope', 5, TYPE, `"${prefix}scope" must be a string or an array of strings`],
    ['scope', {}, TYPE, `"${prefix}scope" must be a string or an array of strings`],
    ['scope', null, TYPE, `"${prefix}scope" must be a string or an array of strings`],
    ['resource', 5, TYPE, `"${prefix}resource" must be a string or an array of strings`],
    ['resource', {}, TYPE, `"${prefix}resource" must be a string or an array of strings`],
    ['resource', ['https://api.test', 5], TYPE, `"${prefix}resource[1]" must be a string`],
    ['resource', 'not a url', VALUE, `"${prefix}resource" must be an absolute URL`],
    ['resource', ['https://api.test/#x'], VALUE, `"${prefix}resource[0]" must not have a fragment (RFC 8707 §2)`],
    ['resource', 'https://api.test/#', VALUE, `"${prefix}resource" must not have a fragment (RFC 8707 §2)`],
  ]

  it.each(cases(''))('createTokenClient: %s = %o → %s', (name, value, code, message) => {
    expect(() => makeClient({ [name]: value })).toThrow(argError(code, message))
  })

  it.each(cases('options.'))('request builders: %s = %o → %s', async (name, value, code, message) => {
    const options = bad<TokenRequestOptions>({ [name]: value })
    const as = { token_endpoint: TOKEN_ENDPOINT }
    const client = { client_id: 'billing' }
    expect(await rejection(clientCredentialsGrantRequest(as, client, none(), options))).toEqual(argError(code, message))
    expect(await rejection(passwordGrantRequest(as, client, none(), 'alice', 'pw', options))).toEqual(argError(code, message))
    expect(await rejection(refreshTokenGrantRequest(as, client, none(), 'rt', options))).toEqual(argError(code, message))
  })

  it('good scopes and resources still work: boundary characters, extra spaces, URNs', async () => {
    const edges = '! # [ ] ~' // %x21, %x23, %x5B, %x5D, %x7E
    const request = await clientCredentialsGrantRequest({ token_endpoint: TOKEN_ENDPOINT }, { client_id: 'billing' }, none(), {
      scope: ` a  ${edges} `,
      resource: ['https://api.test/v1?x=1', 'urn:example:api'],
    })
    const body = new URLSearchParams(await request.text())
    expect(body.get('scope')).toBe(`a ${edges}`)
    expect(body.getAll('resource')).toEqual(['https://api.test/v1?x=1', 'urn:example:api'])

    const endpoint = tokenEndpoint()
    await makeClient({ scope: ['!', '#', '[', ']', '~'], resource: 'https://api.test', [customFetch]: endpoint.fetch }).getToken()
    expect(endpoint.bodies[0]!.get('scope')).toBe(edges)
    expect(endpoint.bodies[0]!.getAll('resource')).toEqual(['https://api.test'])
  })

  it('an empty scope sends none', async () => {
    const endpoint = tokenEndpoint()
    await makeClient({ scope: [], [customFetch]: endpoint.fetch }).getToken()
    await makeClient({ scope: '  ', [customFetch]: endpoint.fetch }).invalidate()
    expect(endpoint.bodies.map((b) => b.has('scope'))).toEqual([false, false])
  })
})

describe('createTokenClient: timers', () => {
  const timers = ['timeoutDuration', 'refreshSkew', 'jitter', 'retry.baseDelay', 'retry.maxDelay', 'retry.maxRetryAfter']
  const option = (name: string, value: unknown) => (name.startsWith('retry.') ? { retry: { [name.slice(6)]: value } } : { [name]: value })

  it.each(timers)('%s above the setTimeout limit, negative or not finite is refused', (name) => {
    for (const value of [MAX + 1, 3e9, -1, Infinity, NaN]) {
      expect(() => makeClient(option(name, value))).toThrow(argError(VALUE, `"${name}" must be a number from 0 to ${MAX}`))
    }
    expect(() => makeClient(option(name, '5'))).toThrow(argError(TYPE, `"${name}" must be a number`))
  })

  it.each(timers)('%s accepts 0 and 2_147_483_647', (name) => {
    expect(() => makeClient(option(name, 0))).not.toThrow()
    expect(() => makeClient(option(name, MAX))).not.toThrow()
  })

  it('retry.limit is an integer in the same range', () => {
    for (const value of [1.5, -1, MAX + 1]) {
      expect(() => makeClient({ retry: { limit: value } })).toThrow(argError(VALUE, `"retry.limit" must be an integer from 0 to ${MAX}`))
    }
    expect(() => makeClient({ retry: { limit: MAX } })).not.toThrow()
  })

  it('retry: null is refused', () => {
    expect(() => makeClient({ retry: null })).toThrow(argError(TYPE, '"retry" must be an object'))
  })
})

describe('createTokenClient: booleans and functions', () => {
  it.each(['crossTab', 'backgroundRefresh', 'jwtExpFallback'])('%s must be a boolean when given', (name) => {
    for (const value of ['false', 0, null]) expect(() => makeClient({ [name]: value })).toThrow(argError(TYPE, `"${name}" must be a boolean`))
    expect(() => makeClient({ [name]: false })).not.toThrow()
    expect(() => makeClient({ [name]: true })).not.toThrow()
  })

  it('jwtExpFallback: false is honoured', async () => {
    const token = fakeJWT({ exp: 2_000_000_000 })
    const fetch = async () => Response.json({ access_token: token, token_type: 'Bearer' })
    expect((await makeClient({ jwtExpFallback: false, [customFetch]: fetch }).getToken()).expiresAt).toBeNull()
    expect((await makeClient({ jwtExpFallback: true, [customFetch]: fetch }).getToken()).expiresAt).toBe(2_000_000_000_000)
  })

  it('now must be a function (its result is not checked up front)', () => {
    expect(() => makeClient({ now: 5 })).toThrow(argError(TYPE, '"now" must be a function'))
    expect(() => makeClient({ now: () => 'x' })).not.toThrow()
  })
})

describe('createTokenClient: tokenEndpoint and issuer', () => {
  it.each(['javascript:alert(1)', 'ftp://id.test/token', 'mailto:ops@id.test', 'file:///etc/token', 'data:,x'])('%s is refused', (url) => {
    expect(() => makeClient({ tokenEndpoint: url })).toThrow(argError(VALUE, '"tokenEndpoint" must be an http: or https: URL'))
    expect(() => makeClient({ tokenEndpoint: new URL(url) })).toThrow(argError(VALUE, '"tokenEndpoint" must be an http: or https: URL'))
    expect(() => makeClient({ tokenEndpoint: undefined, issuer: url })).toThrow(argError(VALUE, '"issuer" must be an http: or https: URL'))
  })

  it('http:, https: and URL objects are accepted; a bad type is refused', () => {
    expect(() => makeClient({ tokenEndpoint: 'http://127.0.0.1:8080/auth/token' })).not.toThrow()
    expect(() => makeClient({ tokenEndpoint: new URL(TOKEN_ENDPOINT) })).not.toThrow()
    expect(() => makeClient({ tokenEndpoint: undefined, issuer: new URL('https://id.test/auth') })).not.toThrow()
    expect(() => makeClient({ tokenEndpoint: undefined, issuer: 5 })).toThrow(argError(TYPE, '"issuer" must be a string or a URL'))
  })
})

describe('lenient options', () => {
  const NOW = Date.UTC(2026, 0, 1)
  const response = () => Response.json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 })
  const cases: [Record<string, unknown>, string, string][] = [
    [{ expiresInUnit: 'ms' }, VALUE, '"lenient.expiresInUnit" must be "seconds" or "milliseconds"'],
    [{ expiresInUnit: 1000 }, TYPE, '"lenient.expiresInUnit" must be "seconds" or "milliseconds"'],
    [{ zeroExpiresInMeansNever: 'no' }, TYPE, '"lenient.zeroExpiresInMeansNever" must be a boolean'],
    [{ expiresAtField: 5 }, TYPE, '"lenient.expiresAtField" must be a string'],
    [{ expiresAtField: true }, TYPE, '"lenient.expiresAtField" must be a string'],
    [{ expiresAtField: '' }, VALUE, '"lenient.expiresAtField" must be a non-empty string'],
    [{ fieldNames: 'x' }, TYPE, '"lenient.fieldNames" must be an object'],
    [{ fieldNames: null }, TYPE, '"lenient.fieldNames" must be an object'],
    [{ fieldNames: { access_token: 5 } }, TYPE, '"lenient.fieldNames.access_token" must be a string'],
    [{ fieldNames: { access_token: '' } }, VALUE, '"lenient.fieldNames.access_token" must be a non-empty string'],
  ]

  it.each(cases)('createTokenClient: lenient %o → %s', (lenient, code, message) => {
    expect(() => makeClient({ lenient })).toThrow(argError(code, message))
  })

  it.each(cases)('processTokenResponse: lenient %o → %s', async (lenient, code, message) => {
    expect(await rejection(processTokenResponse(response(), { lenient: bad(lenient) }))).toEqual(argError(code, message.replace('"lenient.', '"options.lenient.')))
  })

  it('processTokenResponse checks its other options too', async () => {
    expect(await rejection(processTokenResponse(response(), bad(null)))).toEqual(argError(TYPE, '"options" must be an object'))
    expect(await rejection(processTokenResponse(response(), { lenient: bad(5) }))).toEqual(argError(TYPE, '"options.lenient" must be a boolean or an object'))
    expect(await rejection(processTokenResponse(response(), { now: bad('x') }))).toEqual(argError(TYPE, '"options.now" must be a function'))
    expect(await rejection(processTokenResponse(response(), { jwtExpFallback: bad('false') }))).toEqual(argError(TYPE, '"options.jwtExpFallback" must be a boolean'))
  })

  it('good lenient options still work', async () => {
    const now = () => NOW
    expect((await processTokenResponse(response(), { lenient: { expiresInUnit: 'milliseconds' }, now })).expiresAt).toBe(NOW + 60)
    expect((await processTokenResponse(response(), { lenient: { expiresInUnit: 'seconds' }, now })).expiresAt).toBe(NOW + 60_000)
    const legacy = Response.json({ accessToken: 'at', expiresIn: 60, 'X-ExpiresAt': NOW + 1000 })
    const result = await processTokenResponse(legacy, {
      lenient: { fieldNames: { access_token: 'accessToken', expires_in: 'expiresIn' }, expiresAtField: false, defaultTokenType: 'bearer', zeroExpiresInMeansNever: false },
      now,
    })
    expect(result).toMatchObject({ access_token: 'at', token_type: 'bearer', expires_in: 60, expiresAt: NOW + 60_000 })
    expect(() => makeClient({ lenient: true })).not.toThrow()
    expect(() => makeClient({ lenient: { expiresInUnit: 'milliseconds', fieldNames: {} } })).not.toThrow()
  })
})

describe('createAPIClient', () => {
  const tokens: TokenSource = {
    getToken: async () => ({ access_token: 'at', token_type: 'Bearer', expiresAt: null }),
    invalidate: async () => ({ access_token: 'at', token_type: 'Bearer', expiresAt: null }),
  }
  const create = (options: Record<string, unknown>) => () => createAPIClient({ tokens, ...options })

  it.each([
    [{ fetch: 'x' }, TYPE, '"fetch" must be a function'],
    [{ hooks: 'x' }, TYPE, '"hooks" must be an object'],
    [{ hooks: null }, TYPE, '"hooks" must be an object'],
    [{ hooks: { beforeRequest: 'x' } }, TYPE, '"hooks.beforeRequest" must be an array of functions'],
    [{ hooks: { beforeRetry: () => undefined } }, TYPE, '"hooks.beforeRetry" must be an array of functions'],
    [{ hooks: { afterResponse: [() => undefined, 1] } }, TYPE, '"hooks.afterResponse" must be an array of functions'],
    [{ hooks: { beforeError: [null] } }, TYPE, '"hooks.beforeError" must be an array of functions'],
    [{ prefixUrl: 5 }, TYPE, '"prefixUrl" must be a string or a URL'],
    [{ timeout: 'x' }, TYPE, '"timeout" must be a number'],
    [{ timeout: true }, TYPE, '"timeout" must be a number'],
    [{ timeout: 3e9 }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
    [{ timeout: MAX + 1 }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
    [{ timeout: -5 }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
    [{ timeout: 0 }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
    [{ timeout: 1.5 }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
    [{ timeout: NaN }, VALUE, `"timeout" must be an integer from 1 to ${MAX}`],
  ])('%o → %s', (options, code, message) => {
    expect(create(options)).toThrow(argError(code, message))
  })

  it('accepts timeout 1, 2_147_483_647 and false, a URL prefixUrl and hook arrays', async () => {
    for (const timeout of [1, MAX, false]) expect(create({ timeout })).not.toThrow()
    const seen: string[] = []
    const api = createAPIClient({
      tokens,
      prefixUrl: new URL('https://api.test/v1'),
      timeout: MAX,
      retry: 0,
      fetch: async (input) => {
        const request = input as Request
        seen.push(`${request.url} ${request.headers.get('authorization')}`)
        return Response.json({ ok: true })
      },
      hooks: { beforeRequest: [], afterResponse: [() => undefined] },
    })
    expect(await api.get('items').json()).toEqual({ ok: true })
    expect(seen).toEqual(['https://api.test/v1/items Bearer at'])
  })

  it('authFetch: fetchImpl must be a function', () => {
    expect(() => authFetch(tokens, bad('x'))).toThrow(argError(TYPE, '"fetchImpl" must be a function'))
  })
})

describe('request builders: shared options', () => {
  const as = { token_endpoint: TOKEN_ENDPOINT, introspection_endpoint: `${TOKEN_ENDPOINT}/introspect`, revocation_endpoint: `${TOKEN_ENDPOINT}/revoke` }
  const client = { client_id: 'billing' }
  const builders = {
    clientCredentialsGrantRequest: (o: unknown) => clientCredentialsGrantRequest(as, client, none(), bad(o)),
    passwordGrantRequest: (o: unknown) => passwordGrantRequest(as, client, none(), 'alice', 'pw', bad(o)),
    refreshTokenGrantRequest: (o: unknown) => refreshTokenGrantRequest(as, client, none(), 'rt', bad(o)),
    introspectionRequest: (o: unknown) => introspectionRequest(as, client, none(), 'at', bad(o)),
    revocationRequest: (o: unknown) => revocationRequest(as, client, none(), 'at', bad(o)),
  }

  it.each(Object.entries(builders))('%s checks its options', async (_name, build) => {
    const cases: [unknown, string, string][] = [
      [null, TYPE, '"options" must be an object'],
      ['x', TYPE, '"options" must be an object'],
      [{ signal: 'x' }, TYPE, '"options.signal" must be an AbortSignal'],
      [{ signal: {} }, TYPE, '"options.signal" must be an AbortSignal'],
      [{ headers: 5 }, TYPE, '"options.headers" must be an object'],
      [{ headers: null }, TYPE, '"options.headers" must be an object'],
      [{ additionalParameters: 5 }, TYPE, '"options.additionalParameters" must be an object'],
      [{ additionalParameters: [['a', 'b']] }, TYPE, '"options.additionalParameters.0" must be a string'],
      [{ additionalParameters: { audience: 1 } }, TYPE, '"options.additionalParameters.audience" must be a string'],
      [{ additionalParameters: { audience: undefined } }, TYPE, '"options.additionalParameters.audience" must be a string'],
    ]
    for (const [options, code, message] of cases) expect(await rejection(build(options))).toEqual(argError(code, message))
  })

  it.each(Object.entries(builders))('%s accepts good options', async (_name, build) => {
    const controller = new AbortController()
    const request = await build({ signal: controller.signal, headers: new Headers({ 'x-request-id': '42' }), additionalParameters: new URLSearchParams({ audience: 'x' }) })
    expect(request.headers.get('x-request-id')).toBe('42')
    expect(new URLSearchParams(await request.text()).get('audience')).toBe('x')
    controller.abort()
    expect(request.signal.aborted).toBe(true)
    expect(await build(undefined)).toBeInstanceOf(Request)
    expect(await build({ headers: [['x-a', '1']], additionalParameters: { audience: 'y' } })).toBeInstanceOf(Request)
  })

  it('token_type_hint must be a non-empty string', async () => {
    expect(await rejection(builders.revocationRequest({ token_type_hint: 5 }))).toEqual(argError(TYPE, '"options.token_type_hint" must be a string'))
    expect(await rejection(builders.introspectionRequest({ token_type_hint: '' }))).toEqual(argError(VALUE, '"options.token_type_hint" must be a non-empty string'))
    const request = await builders.revocationRequest({ token_type_hint: 'refresh_token' })
    expect(new URLSearchParams(await request.text()).get('token_type_hint')).toBe('refresh_token')
  })
})

describe('caches, client authentication, claims, getToken', () => {
  const entry: TokenCacheEntry = { access_token: 'at', token_type: 'Bearer', expiresAt: null, uat: 1 }

  it('memoryCache checks its seed', () => {
    for (const seed of [5, 'ab', null, {}]) {
      expect(() => memoryCache(bad(seed))).toThrow(argError(TYPE, '"seed" must be an iterable of [key, entry] pairs'))
    }
    for (const pair of [['k', {}], [1, entry], 'ab', null]) {
      expect(() => memoryCache(bad([['ok', entry], pair]))).toThrow(argError(TYPE, '"seed" must be an iterable of [key, entry] pairs'))
    }
    expect(memoryCache([['k', entry]]).get('k')).toBe(entry)
    expect(memoryCache(new Map([['k', entry]])).get('k')).toBe(entry)
    expect(memoryCache().get('k')).toBeUndefined()
  })

  it('none checks legacyDashSecret and its options', async () => {
    expect(() => none({ legacyDashSecret: bad('yes') })).toThrow(argError(TYPE, '"legacyDashSecret" must be a boolean'))
    expect(() => none(bad(null))).toThrow(argError(TYPE, '"options" must be an object'))
    const body = new URLSearchParams()
    await none({ legacyDashSecret: true })({ client_id: 'web' }, body, new Headers())
    expect(body.get('client_secret')).toBe('-')
  })

  it('tokenCacheKey checks its parts', async () => {
    const parts = { endpoint: TOKEN_ENDPOINT, clientId: 'web', subject: null }
    expect(await rejection(tokenCacheKey({ ...parts, scope: bad(5) }))).toEqual(argError(TYPE, '"parts.scope" must be a string or an array of strings'))
    expect(await rejection(tokenCacheKey({ ...parts, scope: 'a "b"' }))).toEqual(argError(VALUE, '"parts.scope" must be space-delimited scope tokens (RFC 6749 §3.3)'))
    expect(await rejection(tokenCacheKey({ ...parts, resource: bad(5) }))).toEqual(argError(TYPE, '"parts.resource" must be a string or an array of strings'))
    expect(await rejection(tokenCacheKey({ ...parts, resource: ['https://api.test', 5 as unknown as string] }))).toEqual(argError(TYPE, '"parts.resource[1]" must be a string'))
    expect(await rejection(tokenCacheKey({ ...parts, subject: bad(5) }))).toEqual(argError(TYPE, '"parts.subject" must be a string'))
    expect(await rejection(tokenCacheKey({ ...parts, endpoint: bad(undefined) }))).toEqual(argError(TYPE, '"parts.endpoint" must be a string'))
    expect(await rejection(tokenCacheKey(bad(null)))).toEqual(argError(TYPE, '"parts" must be an object'))
    expect(await tokenCacheKey({ ...parts, subject: 'alice', scope: 'a b', resource: ['https://api.test'] })).toMatch(/^[\w-]{43}$/)
  })

  it('decodeClaims checks its schema', () => {
    const token = fakeJWT({ iss: 'https://id.test/auth', sub: 'alice', aud: 'https://api.test', iat: 1, exp: 2, jti: 'j1', client_id: 'web', name: 'Alice' })
    for (const schema of ['x', null, {}]) expect(() => decodeClaims(token, bad(schema))).toThrow(argError(TYPE, '"schema" must be a zod schema'))
    expect(decodeClaims(token, defineClaims({ name: z.string() })).name).toBe('Alice')
  })

  it('getToken and invalidate check their options', async () => {
    const endpoint = tokenEndpoint()
    const tokens = makeClient({ [customFetch]: endpoint.fetch })
    expect(await rejection(tokens.getToken({ signal: bad('x') }))).toEqual(argError(TYPE, '"options.signal" must be an AbortSignal'))
    expect(await rejection(tokens.getToken(bad(null)))).toEqual(argError(TYPE, '"options" must be an object'))
    expect(await rejection(tokens.invalidate(undefined, { signal: bad(5) }))).toEqual(argError(TYPE, '"options.signal" must be an AbortSignal'))
    expect(await rejection(tokens.invalidate('at-1', bad(null)))).toEqual(argError(TYPE, '"options" must be an object'))
    expect(endpoint.bodies).toHaveLength(0)
    expect((await tokens.getToken({ signal: new AbortController().signal })).access_token).toBe('at-1')
    expect((await tokens.getToken({ signal: null })).access_token).toBe('at-1')
    expect((await tokens.invalidate('at-1', {})).access_token).toBe('at-2')
  })
})
