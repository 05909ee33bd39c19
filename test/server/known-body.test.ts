import { describe, expect, it } from 'vitest'
import { deferKnownBodies, knownBody, knownHeaders, textResponse } from '../../src/server/lib/known-body.js'
import { serve } from '../../src/server/node/index.js'

describe('known response bodies', () => {
  it('remembers the string a response was made with while its stream is untouched', async () => {
    const response = textResponse('{"a":1}', { status: 201, headers: { 'content-type': 'application/json' } })
    expect(knownBody(response)).toBe('{"a":1}')
    expect(response.status).toBe(201)
    expect(await response.clone().text()).toBe('{"a":1}')
    expect(knownBody(response)).toBe('{"a":1}')
  })

  it('forgets it once the body is locked or read, and knows nothing of other responses', async () => {
    const locked = textResponse('x', {})
    locked.body!.getReader()
    expect(knownBody(locked)).toBeUndefined()
    const read = textResponse('x', {})
    await read.text()
    expect(knownBody(read)).toBeUndefined()
    expect(knownBody(new Response('x'))).toBeUndefined()
  })

  it('is what the Node adapter sends, with a Content-Length, and the same bytes for a multi-byte body', async () => {
    const server = await serve(async () => textResponse('{"name":"Zoë ✓"}', { status: 201, headers: { 'content-type': 'application/json' } }), { port: 0 })
    try {
      const res = await fetch(server.url)
      expect(res.status).toBe(201)
      expect(res.headers.get('content-length')).toBe(String(new TextEncoder().encode('{"name":"Zoë ✓"}').byteLength))
      expect(await res.json()).toEqual({ name: 'Zoë ✓' })
    } finally {
      await server.close()
    }
  })

  describe('headers kept as a record until someone looks (deferred bodies)', () => {
    const init = { status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="api", error="invalid_token"', 'cache-control': 'no-store', 'x-empty': '' } }

    it('reads back exactly as a plain Response made with the same init', () => {
      deferKnownBodies()
      const response = textResponse('{}', init)
      expect(knownHeaders(response)).toEqual(init.headers)
      expect([...response.headers]).toEqual([...new Response('{}', init).headers])
      // Once looked at, the real Headers answer (and the record is gone).
      expect(knownHeaders(response)).toBeUndefined()
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"')
      expect(response.status).toBe(401)
    })

    it('a change made through response.headers is what the Node adapter sends', async () => {
      const server = await serve(
        async () => {
          const response = textResponse('{"a":1}', init)
          response.headers.set('x-added', '1')
          response.headers.delete('cache-control')
          return response
        },
        { port: 0 },
      )
      try {
        const res = await fetch(server.url)
        expect(res.status).toBe(401)
        expect(res.headers.get('x-added')).toBe('1')
        expect(res.headers.get('cache-control')).toBeNull()
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"')
        expect(res.headers.get('content-length')).toBe('7')
        expect(await res.text()).toBe('{"a":1}')
      } finally {
        await server.close()
      }
    })

    it('anything Headers would change or refuse goes to the real Headers at once', () => {
      deferKnownBodies()
      const cases: HeadersInit[] = [{ 'Content-Type': 'a/b' }, { 'x-a': ' padded ' }, { 'x-a': 'caf\u00e9' }, new Headers({ 'x-a': '1' }), [['x-a', '1']]]
      for (const headers of cases) {
        const response = textResponse('{}', { headers })
        expect(knownHeaders(response)).toBeUndefined()
        expect([...response.headers]).toEqual([...new Response(null, { headers }).headers])
      }
      expect(() => textResponse('{}', { headers: { 'x-a': 'a\nb' } })).toThrow(TypeError)
      expect(() => textResponse('{}', { headers: { 'bad name': 'a' } })).toThrow(TypeError)
    })
  })
})
