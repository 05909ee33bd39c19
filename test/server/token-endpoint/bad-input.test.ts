/**
 * Bad input never yields a 5xx: malformed bodies, wrong content types, oversized bodies, bad
 * Basic headers, unknown grants. Every answer is asserted: status and RFC 6749 §5.2 error body.
 */
import { describe, expect, it } from 'vitest'
import { basic, creds, expectError, FORM, ISSUER, makeService, policyOf, rawBasic, SECRETS } from '../_fixtures.js'

const { service } = makeService((c) => void (policyOf(c, 'orders').regenerate = true))

const CC = `grant_type=client_credentials&client_id=orders-app&client_secret=${SECRETS.orders}`

interface Case {
  request: () => Request
  status: number
  error: string
}

const form = (body: BodyInit, headers: Record<string, string> = {}, path = '/auth/token') =>
  new Request(`${ISSUER}${path}`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body })

const bytes = (...values: number[]) => new Uint8Array(values)

const cases: Record<string, Case> = {
  // Malformed bodies.
  'binary garbage': { request: () => form(bytes(0x00, 0xff, 0xfe, 0x9c, 0x80, 0x3d, 0x26, 0xc3, 0x28)), status: 400, error: 'invalid_request' },
  'invalid UTF-8 after valid parameters': { request: () => form(new Uint8Array([...new TextEncoder().encode(`${CC}&x=`), 0xc3, 0x28])), status: 400, error: 'invalid_request' },
  'an overlong UTF-8 encoding': { request: () => form(new Uint8Array([...new TextEncoder().encode('grant_type='), 0xc0, 0xaf])), status: 400, error: 'invalid_request' },
  // A leading BOM is dropped by UTF-8 decoding: the request is served.
  'a UTF-8 BOM': { request: () => form(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(CC)])), status: 200, error: '' },
  'NUL and control characters': { request: () => form('grant_type=client_credentials\u0000&client_id=\u0001\u0002&client_secret=\u007f'), status: 401, error: 'invalid_client' },
  'percent-encoded invalid UTF-8': { request: () => form('grant_type=client_credentials&client_id=%FF%FE&client_secret=%C3%28'), status: 401, error: 'invalid_client' },
  'broken % escapes': { request: () => form('grant_type=%&client_id=%zz&client_secret=%E0%A4%A'), status: 401, error: 'invalid_client' },
  'a huge parameter name': { request: () => form(`${'n'.repeat(15_000)}=1&grant_type=client_credentials`), status: 401, error: 'invalid_client' },
  'a huge parameter name sent twice': { request: () => form(`${'n'.repeat(7_000)}=1&${'n'.repeat(7_000)}=2&${CC}`), status: 400, error: 'invalid_request' },
  'empty names sent twice': { request: () => form(`=&=&${CC}`), status: 400, error: 'invalid_request' },
  'only separators': { request: () => form('&&&&===&&'), status: 401, error: 'invalid_client' },
  'an empty body': { request: () => form(''), status: 401, error: 'invalid_client' },
  'no body at all': { request: () => new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: { 'content-type': FORM } }), status: 401, error: 'invalid_client' },
  'a JSON document labelled as a form': { request: () => form(JSON.stringify({ grant_type: 'client_credentials', client_id: 'orders-app', client_secret: SECRETS.orders })), status: 401, error: 'invalid_client' },
  '__proto__ and constructor parameters': { request: () => form(`__proto__=x&constructor=y&toString=z&${CC}&hasOwnProperty=1`), status: 200, error: '' },
  'a 10 KB scope': { request: () => form(`${CC}&scope=${'s'.repeat(10_000)}`), status: 400, error: 'invalid_scope' },
  'a scope of only spaces': { request: () => form(`${CC}&scope=+++`), status: 200, error: '' },
  'a 10 KB password': { request: () => form(`grant_type=password&username=alice&password=${'p'.repeat(10_000)}&client_id=orders-app&client_secret=${SECRETS.orders}`), status: 400, error: 'invalid_grant' },
  'a 10 KB refresh token': { request: () => form(`grant_type=refresh_token&refresh_token=${'r'.repeat(10_000)}&client_id=orders-app&client_secret=${SECRETS.orders}`), status: 400, error: 'invalid_grant' },
  'a 10 KB client id': { request: () => form(`grant_type=client_credentials&client_id=${'c'.repeat(10_000)}&client_secret=x`), status: 401, error: 'invalid_client' },
  'a garbage resource': { request: () => form(`grant_type=client_credentials&resource=%00%FF&client_id=acme&client_secret=${SECRETS.acme}`, {}, '/credential/token'), status: 400, error: 'invalid_target' },

  // Wrong content types.
  'application/json': { request: () => form(CC, { 'content-type': 'application/json' }), status: 400, error: 'invalid_request' },
  'text/plain': { request: () => form(CC, { 'content-type': 'text/plain;charset=UTF-8' }), status: 400, error: 'invalid_request' },
  'an empty content type': { request: () => form(CC, { 'content-type': '' }), status: 400, error: 'invalid_request' },
  'a form type with a suffix': { request: () => form(CC, { 'content-type': `${FORM}x` }), status: 400, error: 'invalid_request' },
  'a form type with a UTF-16 charset': { request: () => form(CC, { 'content-type': `${FORM}; charset=utf-16` }), status: 400, error: 'invalid_request' },
  'only semicolons': { request: () => form(CC, { 'content-type': ';;;' }), status: 400, error: 'invalid_request' },
  'no content type': { request: () => new Request(`${ISSUER}/auth/token`, { method: 'POST', body: new Blob([CC]) }), status: 400, error: 'invalid_request' },

  // Oversized bodies.
  'a 20 KiB body': { request: () => form(`${CC}&pad=${'x'.repeat(20 * 1024)}`), status: 413, error: 'invalid_request' },
  'a 1 MiB body': { request: () => form(new Uint8Array(1 << 20).fill(0x61)), status: 413, error: 'invalid_request' },
  'a 20 KiB streamed body': {
    request: () => {
      const chunk = new TextEncoder().encode('a'.repeat(4096))
      let n = 0
      const body = new ReadableStream<Uint8Array>({ pull: (c) => (n++ < 5 ? c.enqueue(chunk) : c.close()) })
      return new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: { 'content-type': FORM }, body, duplex: 'half' } as RequestInit)
    },
    status: 413,
    error: 'invalid_request',
  },

  // Bad Basic headers.
  'Basic without a value': { request: () => form('grant_type=client_credentials', { authorization: 'Basic' }), status: 401, error: 'invalid_client' },
  'Basic with padding only': { request: () => form('grant_type=client_credentials', { authorization: 'Basic ====' }), status: 401, error: 'invalid_client' },
  'Basic with bad base64': { request: () => form('grant_type=client_credentials', { authorization: 'Basic ***' }), status: 401, error: 'invalid_client' },
  'Basic with a 10 KB value': { request: () => form('grant_type=client_credentials', { authorization: `Basic ${'A'.repeat(10_000)}` }), status: 401, error: 'invalid_client' },
  'Basic without a colon': { request: () => form('grant_type=client_credentials', { authorization: rawBasic('orders-app') }), status: 401, error: 'invalid_client' },
  'Basic with an empty id': { request: () => form('grant_type=client_credentials', { authorization: rawBasic(':secret') }), status: 401, error: 'invalid_client' },
  'Basic with invalid UTF-8': { request: () => form('grant_type=client_credentials', { authorization: `Basic ${btoa('\xc3\x28:\xff')}` }), status: 401, error: 'invalid_client' },
  'Basic with broken % escapes': { request: () => form('grant_type=client_credentials', { authorization: rawBasic('orders-app:%') }), status: 401, error: 'invalid_client' },
  'Basic with a wrong secret': { request: () => form('grant_type=client_credentials', { authorization: basic('orders-app', 'wrong') }), status: 401, error: 'invalid_client' },
  'lower-case basic with extra spaces': { request: () => form('grant_type=client_credentials', { authorization: `basic    ${basic('orders-app', 'wrong').slice(6)}` }), status: 401, error: 'invalid_client' },
  'an unknown scheme': { request: () => form('grant_type=client_credentials', { authorization: 'Digest username="orders-app"' }), status: 401, error: 'invalid_client' },
  'Basic plus body credentials': { request: () => form(CC, { authorization: basic('orders-app', SECRETS.orders) }), status: 400, error: 'invalid_request' },

  // Unknown grants and endpoints.
  'an unknown grant type': { request: () => form(`${CC.replace('client_credentials', 'urn:x:unknown')}`), status: 400, error: 'unsupported_grant_type' },
  'a grant type of 5 KB': { request: () => form(`${CC.replace('client_credentials', 'g'.repeat(5000))}`), status: 400, error: 'unsupported_grant_type' },
  'a refresh on /jwt for an opaque client': { request: () => form(`grant_type=refresh_token&refresh_token=x&client_id=billing-app&client_secret=${SECRETS.billing}`, {}, '/auth/jwt'), status: 400, error: 'invalid_request' },
  'a garbage Bearer on regenerate': { request: () => form(new URLSearchParams(creds('orders-app')).toString(), { authorization: 'Bearer a.b.c' }, '/auth/jwt/regenerate'), status: 400, error: 'invalid_grant' },
  'a JWT-shaped Bearer with a bogus header on regenerate': { request: () => form(new URLSearchParams(creds('orders-app')).toString(), { authorization: `Bearer ${btoa('{"alg":"none","kid":{}}').replace(/=+$/, '')}.e30.` }, '/auth/jwt/regenerate'), status: 400, error: 'invalid_grant' },
  'a custom method': { request: () => new Request(`${ISSUER}/auth/token`, { method: 'PROPFIND' }), status: 405, error: 'invalid_request' },
  'GET with broken query escapes': { request: () => new Request(`${ISSUER}/auth/token?grant_type=%&client_id=%zz`), status: 401, error: 'invalid_client' },
  'a NUL in the path': { request: () => form(CC, {}, '/auth/token%00'), status: 404, error: 'invalid_request' },
  'a slash-encoded path': { request: () => form(CC, {}, '/auth%2Ftoken'), status: 404, error: 'invalid_request' },
}

describe('bad input never yields a 5xx', () => {
  it.each(Object.entries(cases))('%s', async (_label, { request, status, error }) => {
    const response = await service.fetch(request())
    expect(response.status).toBeLessThan(500)
    if (status === 200) {
      expect(response.status).toBe(200)
      expect(await response.json()).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) })
      return
    }
    const body = await expectError(response, status, error)
    expect(body.error_description.length).toBeLessThan(200)
    if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="https:\/\/gw\.example\.com\/(auth|credential)", charset="UTF-8"$/)
    if (status === 405) expect(response.headers.get('allow')).toBeTruthy()
  })

  it('never answers with a 5xx for a sweep of random bodies', async () => {
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const alphabet = ['=', '&', '%', '+', 'grant_type', 'client_id', 'client_secret', 'orders-app', SECRETS.orders, 'scope', 'refresh_token', 'password', 'username', 'alice', '%FF', '%00', 'é', ' ', 'client_credentials']
    for (let i = 0; i < 150; i++) {
      const body = Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
      const response = await service.fetch(form(body))
      expect({ body, status: response.status }).toEqual({ body, status: expect.any(Number) })
      expect(response.status, body).toBeLessThan(500)
      const json = (await response.json()) as Record<string, unknown>
      if (response.status !== 200) expect(Object.keys(json).sort(), body).toEqual(['error', 'error_description'])
    }
  })
})
