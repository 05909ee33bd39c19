import { describe, expect, it } from 'vitest'
import { knownBody, textResponse } from '../../src/server/lib/known-body.js'
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
})
