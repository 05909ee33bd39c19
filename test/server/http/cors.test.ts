import { describe, expect, it } from 'vitest'
import { corsSettingsSchema, createCORS } from '../../../src/server/http/cors.js'
import type { CORSSettings } from '../../../src/server/http/cors.js'

const URL_ = 'https://gw.example.org/auth/token'

function preflightRequest(origin: string | null, method: string | null, requestHeaders?: string): Request {
  const headers = new Headers()
  if (origin !== null) headers.set('origin', origin)
  if (method !== null) headers.set('access-control-request-method', method)
  if (requestHeaders !== undefined) headers.set('access-control-request-headers', requestHeaders)
  return new Request(URL_, { method: 'OPTIONS', headers })
}

function actualRequest(origin: string | null, method = 'POST'): Request {
  return new Request(URL_, { method, headers: origin === null ? {} : { origin } })
}

function corsHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    if (name.startsWith('access-control-') || name === 'vary') out[name] = value
  })
  return out
}

const withCredentials = createCORS({
  allowOrigins: ['https://app.example.com', 'http://localhost:5173', 'https://*.example.com', 'https://*.example.net:8443', 'https://Upper.Example.ORG:443'],
  allowHeaders: ['Authorization', 'content-type'],
  exposeHeaders: ['X-Request-Id'],
  allowCredentials: true,
  maxAge: 600,
})
const anyOrigin = createCORS({ allowOrigins: ['*'], allowMethods: ['GET', 'POST', 'PUT'], exposeHeaders: ['*'] })
const echo = createCORS({ allowOrigins: ['https://app.example.com'], echoRequestHeaders: true })
const nullOrigin = createCORS({ allowOrigins: ['null'] })

describe('isAllowedOrigin', () => {
  it.each([
    ['https://app.example.com', true],
    ['http://localhost:5173', true],
    ['http://localhost:5174', false],
    ['http://localhost', false],
    ['https://a.example.com', true],
    ['https://a.b.example.com', true],
    ['https://evil.com.example.com', true], // a subdomain of example.com: example.com's owner controls it
    ['https://a.example.com.evil.com', false],
    ['https://example.com', false],
    ['https://xexample.com', false],
    ['https://a-example.com', false],
    ['http://a.example.com', false],
    ['wss://a.example.com', false],
    ['https://a.example.com:8443', false],
    ['https://a.example.com:443', false], // not browser-serialised
    ['https://A.example.com', false], // not browser-serialised
    ['https://a.example.com/', false],
    ['https://a.example.com/path', false],
    ['https://a.example.com.', false],
    ['https://.example.com', false],
    ['https://a..example.com', false],
    ['https://user@a.example.com', false],
    ['https://a.example.net:8443', true],
    ['https://a.example.net', false],
    ['https://a.example.net:443', false],
    ['https://upper.example.org', true], // configured as https://Upper.Example.ORG:443
    ['https://[::1]', false],
    ['null', false],
    ['', false],
    ['*', false],
  ])('credentials config: %j → %s', (origin, expected) => {
    expect(withCredentials.isAllowedOrigin(origin)).toBe(expected)
  })

  it.each([
    ['https://anything.test', true],
    ['http://127.0.0.1:8080', true],
    ['chrome-extension://abcdefghijklmnop', true],
    ['null', false], // null is only matched by an exact "null" entry
    ['not an origin', false],
  ])('"*" config: %j → %s', (origin, expected) => {
    expect(anyOrigin.isAllowedOrigin(origin)).toBe(expected)
  })

  it.each([
    ['null', true],
    ['https://app.example.com', false],
  ])('"null" config: %j → %s', (origin, expected) => {
    expect(nullOrigin.isAllowedOrigin(origin)).toBe(expected)
  })

  it('is false for non-strings', () => {
    expect(withCredentials.isAllowedOrigin(undefined as unknown as string)).toBe(false)
  })
})

describe('preflight', () => {
  const allowedWithCredentials = {
    'access-control-allow-credentials': 'true',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-max-age': '600',
    vary: 'Origin',
  }
  it.each<[string, ReturnType<typeof createCORS>, Request, Record<string, string>]>([
    [
      'credentials, exact origin, POST',
      withCredentials,
      preflightRequest('https://app.example.com', 'POST', 'authorization'),
      { ...allowedWithCredentials, 'access-control-allow-origin': 'https://app.example.com' },
    ],
    [
      'credentials, pattern origin, GET, no request headers',
      withCredentials,
      preflightRequest('https://a.example.com', 'GET'),
      { ...allowedWithCredentials, 'access-control-allow-origin': 'https://a.example.com' },
    ],
    [
      'credentials, requested header not configured: configured list is sent, browser decides',
      withCredentials,
      preflightRequest('https://app.example.com', 'POST', 'x-other'),
      { ...allowedWithCredentials, 'access-control-allow-origin': 'https://app.example.com' },
    ],
    ['credentials, disallowed origin → no CORS headers', withCredentials, preflightRequest('https://evil.test', 'POST', 'authorization'), { vary: 'Origin' }],
    ['credentials, look-alike origin → no CORS headers', withCredentials, preflightRequest('https://a.example.com.evil.com', 'POST'), { vary: 'Origin' }],
    ['credentials, disallowed method → no CORS headers', withCredentials, preflightRequest('https://app.example.com', 'DELETE'), { vary: 'Origin' }],
    ['credentials, lowercase method is not the allowed method', withCredentials, preflightRequest('https://app.example.com', 'post'), { vary: 'Origin' }],
    ['credentials, null origin → no CORS headers', withCredentials, preflightRequest('null', 'POST'), { vary: 'Origin' }],
    [
      '"*" without credentials → literal *',
      anyOrigin,
      preflightRequest('https://anything.test', 'PUT', 'x-custom'),
      { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST, PUT', 'access-control-max-age': '3600', vary: 'Origin' },
    ],
    ['"*", disallowed method', anyOrigin, preflightRequest('https://anything.test', 'DELETE'), { vary: 'Origin' }],
    ['"*", null origin → no CORS headers', anyOrigin, preflightRequest('null', 'GET'), { vary: 'Origin' }],
    [
      '"null" entry, null origin',
      nullOrigin,
      preflightRequest('null', 'POST'),
      { 'access-control-allow-origin': 'null', 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-max-age': '3600', vary: 'Origin' },
    ],
    [
      'echo: requested headers echoed, lowercased, deduplicated',
      echo,
      preflightRequest('https://app.example.com', 'POST', 'X-Custom, Authorization,  authorization'),
      {
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'x-custom, authorization',
        'access-control-max-age': '3600',
        vary: 'Origin, Access-Control-Request-Headers',
      },
    ],
    [
      'echo: nothing requested → no allow-headers',
      echo,
      preflightRequest('https://app.example.com', 'GET'),
      { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-max-age': '3600', vary: 'Origin, Access-Control-Request-Headers' },
    ],
    [
      'echo: invalid names dropped',
      echo,
      preflightRequest('https://app.example.com', 'GET', 'x-ok, bad name, (x)'),
      {
        'access-control-allow-origin': 'https://app.example.com',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'x-ok',
        'access-control-max-age': '3600',
        vary: 'Origin, Access-Control-Request-Headers',
      },
    ],
    ['echo: disallowed origin → no CORS headers', echo, preflightRequest('https://evil.test', 'GET', 'x-custom'), { vary: 'Origin, Access-Control-Request-Headers' }],
  ])('%s', (_name, cors, request, expected) => {
    const response = cors.preflight(request)
    expect(response?.status).toBe(204)
    expect(corsHeaders(response!)).toEqual(expected)
  })

  it.each<[string, Request]>([
    ['POST', actualRequest('https://app.example.com')],
    ['GET without origin', actualRequest(null, 'GET')],
    ['OPTIONS without Access-Control-Request-Method', preflightRequest('https://app.example.com', null)],
    ['OPTIONS without Origin', preflightRequest(null, 'POST')],
  ])('not a preflight (%s) → null', (_name, request) => {
    expect(withCredentials.preflight(request)).toBeNull()
  })

  it('has an empty body', async () => {
    const response = withCredentials.preflight(preflightRequest('https://app.example.com', 'POST'))!
    expect(await response.text()).toBe('')
  })
})

describe('apply', () => {
  it.each<[string, ReturnType<typeof createCORS>, string | null, Record<string, string>]>([
    [
      'credentials, allowed origin',
      withCredentials,
      'https://app.example.com',
      { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-request-id', vary: 'Origin' },
    ],
    [
      'credentials, pattern origin',
      withCredentials,
      'https://b.example.com',
      { 'access-control-allow-origin': 'https://b.example.com', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-request-id', vary: 'Origin' },
    ],
    ['credentials, disallowed origin', withCredentials, 'https://example.com', { vary: 'Origin' }],
    ['credentials, null origin', withCredentials, 'null', { vary: 'Origin' }],
    ['credentials, no origin', withCredentials, null, { vary: 'Origin' }],
    ['"*", any origin', anyOrigin, 'https://anything.test', { 'access-control-allow-origin': '*', 'access-control-expose-headers': '*', vary: 'Origin' }],
    ['"*", null origin', anyOrigin, 'null', { vary: 'Origin' }],
    ['"null" entry', nullOrigin, 'null', { 'access-control-allow-origin': 'null', vary: 'Origin' }],
    ['echo config on an actual response', echo, 'https://app.example.com', { 'access-control-allow-origin': 'https://app.example.com', vary: 'Origin' }],
  ])('%s', (_name, cors, origin, expected) => {
    const response = cors.apply(actualRequest(origin), new Response('{}', { status: 200 }))
    expect(corsHeaders(response)).toEqual(expected)
  })

  it.each([
    [null, 'Origin'],
    ['Accept-Encoding', 'Accept-Encoding, Origin'],
    ['accept-encoding, origin', 'accept-encoding, origin'],
    ['*', '*'],
    [' Accept , ', 'Accept, Origin'],
  ])('merges Vary %j → %j', (existing, expected) => {
    const response = new Response(null, { status: 204, headers: existing === null ? {} : { vary: existing } })
    expect(withCredentials.apply(actualRequest('https://app.example.com'), response).headers.get('vary')).toBe(expected)
  })

  it('keeps status and body of an error response, so the page can read it', async () => {
    const response = new Response(JSON.stringify({ error: 'invalid_client' }), { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="gw"' } })
    const out = withCredentials.apply(actualRequest('https://app.example.com'), response)
    expect(out.status).toBe(401)
    expect(out.headers.get('www-authenticate')).toBe('Basic realm="gw"')
    expect(out.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(await out.json()).toEqual({ error: 'invalid_client' })
  })

  it('replaces CORS headers set upstream', () => {
    const upstream = new Response('x', { headers: { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', 'access-control-allow-methods': 'DELETE' } })
    expect(corsHeaders(withCredentials.apply(actualRequest('https://evil.test'), upstream))).toEqual({ vary: 'Origin' })
  })

  it('mutates in place when it can', () => {
    const response = new Response('x')
    expect(withCredentials.apply(actualRequest('https://app.example.com'), response)).toBe(response)
  })

  it('copies a response with immutable headers', async () => {
    const immutable = Response.redirect('https://app.example.com/next', 302)
    expect(() => immutable.headers.set('x', 'y')).toThrow(TypeError)
    const out = withCredentials.apply(actualRequest('https://app.example.com'), immutable)
    expect(out).not.toBe(immutable)
    expect(out.status).toBe(302)
    expect(out.headers.get('location')).toBe('https://app.example.com/next')
    expect(corsHeaders(out)).toMatchObject({ 'access-control-allow-origin': 'https://app.example.com', vary: 'Origin' })
  })

  it('returns Response.error() as is', () => {
    const error = Response.error()
    expect(withCredentials.apply(actualRequest('https://app.example.com'), error)).toBe(error)
  })

  it('leaves preflight answers alone', () => {
    const request = preflightRequest('https://app.example.com', 'POST')
    const answer = withCredentials.preflight(request)!
    const before = corsHeaders(answer)
    expect(corsHeaders(withCredentials.apply(request, answer))).toEqual(before)
  })
})

describe('disabled', () => {
  const disabled = createCORS({ enabled: false, allowOrigins: ['https://app.example.com'] })
  it('answers no preflight and leaves responses alone', () => {
    expect(disabled.preflight(preflightRequest('https://app.example.com', 'POST'))).toBeNull()
    const response = new Response('x')
    expect(disabled.apply(actualRequest('https://app.example.com'), response)).toBe(response)
    expect(corsHeaders(response)).toEqual({})
  })
  it('needs no origin list', () => {
    expect(() => createCORS({ enabled: false })).not.toThrow()
  })
})

describe('settings', () => {
  it('applies defaults and normalises case', () => {
    expect(corsSettingsSchema.parse({ allowOrigins: ['https://app.example.com'], allowMethods: ['get', 'Post', 'GET'], allowHeaders: ['Authorization'], exposeHeaders: ['X-Id'] })).toEqual({
      enabled: true,
      allowOrigins: ['https://app.example.com'],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['authorization'],
      echoRequestHeaders: false,
      exposeHeaders: ['x-id'],
      allowCredentials: false,
      maxAge: 3600,
    })
    expect(corsSettingsSchema.parse({})).toMatchObject({ allowOrigins: [], allowMethods: ['GET', 'POST', 'OPTIONS'], allowHeaders: [], exposeHeaders: [] })
  })

  const NOT_ORIGIN = 'is not an origin: expected "scheme://host[:port]" without path or trailing slash, "*", "null" or a pattern such as "https://*.example.com"'
  const NOT_PATTERN = 'is not a valid origin pattern: "*" may only stand for the left-most host labels, e.g. "https://*.example.com"'
  it.each<[string, CORSSettings, string]>([
    ['"*" with credentials', { allowOrigins: ['https://a.test', '*'], allowCredentials: true }, 'allowOrigins.1: "*" cannot be combined with "allowCredentials": true; list the allowed origins instead'],
    ['"null" with credentials', { allowOrigins: ['null'], allowCredentials: true }, 'allowOrigins.0: "null" cannot be combined with "allowCredentials": true; any sandboxed page or data: URL sends Origin: null'],
    ['expose "*" with credentials', { allowOrigins: ['https://a.test'], exposeHeaders: ['*'], allowCredentials: true }, 'exposeHeaders.0: "*" cannot be combined with "allowCredentials": true; browsers read it as a literal header name'],
    ['trailing slash', { allowOrigins: ['https://app.example.com/'] }, `allowOrigins.0: "https://app.example.com/" ${NOT_ORIGIN}`],
    ['path', { allowOrigins: ['https://a.test', 'https://app.example.com/login'] }, `allowOrigins.1: "https://app.example.com/login" ${NOT_ORIGIN}`],
    ['no scheme', { allowOrigins: ['app.example.com'] }, `allowOrigins.0: "app.example.com" ${NOT_ORIGIN}`],
    ['userinfo', { allowOrigins: ['https://u@app.example.com'] }, `allowOrigins.0: "https://u@app.example.com" ${NOT_ORIGIN}`],
    ['bad port', { allowOrigins: ['https://app.example.com:99999'] }, `allowOrigins.0: "https://app.example.com:99999" ${NOT_ORIGIN}`],
    ['empty', { allowOrigins: [''] }, `allowOrigins.0: "" ${NOT_ORIGIN}`],
    ['* in the middle', { allowOrigins: ['https://a.*.example.com'] }, `allowOrigins.0: "https://a.*.example.com" ${NOT_PATTERN}`],
    ['* glued to a label', { allowOrigins: ['https://*example.com'] }, `allowOrigins.0: "https://*example.com" ${NOT_PATTERN}`],
    ['* for the scheme', { allowOrigins: ['*://app.example.com'] }, `allowOrigins.0: "*://app.example.com" ${NOT_PATTERN}`],
    ['* for the port', { allowOrigins: ['https://app.example.com:*'] }, `allowOrigins.0: "https://app.example.com:*" ${NOT_PATTERN}`],
    ['pattern without scheme', { allowOrigins: ['*.example.com'] }, `allowOrigins.0: "*.example.com" ${NOT_PATTERN}`],
    ['pattern with path', { allowOrigins: ['https://*.example.com/'] }, `allowOrigins.0: "https://*.example.com/" ${NOT_PATTERN}`],
    ['"*" in allowHeaders', { allowOrigins: [], allowHeaders: ['*'] }, 'allowHeaders.0: "*" is not supported; set "echoRequestHeaders": true to allow the headers a preflight asks for'],
    ['bad header name', { allowOrigins: [], allowHeaders: ['x custom'] }, 'allowHeaders.0: "x custom" is not a valid header name'],
    ['"*" method', { allowOrigins: [], allowMethods: ['*'] }, 'allowMethods.0: "*" is not an HTTP method; list each method, "*" is not supported'],
    ['bad method', { allowOrigins: [], allowMethods: ['GET POST'] }, 'allowMethods.0: "GET POST" is not an HTTP method; list each method, "*" is not supported'],
    ['negative maxAge', { allowOrigins: [], maxAge: -1 }, 'maxAge: must not be negative'],
    ['fractional maxAge', { allowOrigins: [], maxAge: 1.5 }, 'maxAge: must be a whole number of seconds'],
  ])('refuses %s', (_name, settings, message) => {
    expect(() => createCORS(settings)).toThrow(expect.objectContaining({ name: 'ConfigError', code: 'ERR_INVALID_CONFIG', message: `invalid CORS settings: ${message}` }))
  })

  it('refuses unknown keys and wrong types', () => {
    expect(() => createCORS({ allowOrigin: ['*'] } as unknown as CORSSettings)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }))
    expect(() => createCORS({ allowOrigins: ['*'], allowCredentials: 'true' } as unknown as CORSSettings)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }))
  })

  it('lists every issue by path', () => {
    try {
      createCORS({ allowOrigins: ['https://ok.test', 'bad', 'https://*'], maxAge: -5 })
      expect.unreachable()
    } catch (error) {
      expect((error as { issues: Array<{ path: string }> }).issues.map((issue) => issue.path)).toEqual(['allowOrigins.1', 'allowOrigins.2', 'maxAge'])
    }
  })
})

describe('robustness', () => {
  const ALPHABET = ['https', 'http', '://', '*', '.', 'example', 'com', ':', '443', '8443', '/', '@', '[', ']', '::1', 'null', ' ', '%', 'xn--', '-']
  let seed = 11
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
  const values = Array.from({ length: 1000 }, () => Array.from({ length: 1 + (next() % 10) }, () => ALPHABET[next() % ALPHABET.length]).join(''))

  it('isAllowedOrigin never throws and only allows what the settings list', () => {
    for (const value of values) {
      const allowed = withCredentials.isAllowedOrigin(value)
      if (allowed) expect(value).toMatch(/^(?:https:\/\/(?:app|[a-z0-9_.-]+)\.example\.com|https:\/\/[a-z0-9_.-]+\.example\.net:8443|http:\/\/localhost:5173|https:\/\/upper\.example\.org)$/)
    }
  })

  it('schema validation never throws on arbitrary origin entries', () => {
    for (const value of values) expect(() => corsSettingsSchema.safeParse({ allowOrigins: [value] })).not.toThrow()
  })
})
