/**
 * The Node adapter's request headers answer `get()`/`has()` from Node's raw list and fill a real
 * `Headers` for anything else. Every answer must match a `Headers` filled from the same list.
 */
import { describe, expect, it } from 'vitest'
import { NodeHeaders } from '../../src/server/node/headers.js'
import { serve } from '../../src/server/node/index.js'

const RAW = ['Host', 'gw.example.com', 'Accept', 'text/html', 'X-Dup', 'a', 'authorization', 'Basic abc', 'x-dup', 'b', 'X-Empty', '', 'Set-Cookie', 'c=1', 'set-cookie', 'd=2']

function reference(raw: readonly string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!)
  return headers
}

const NAMES = ['host', 'HOST', 'accept', 'x-dup', 'X-DUP', 'Authorization', 'x-empty', 'set-cookie', 'absent', 'content-length']

describe('NodeHeaders', () => {
  it('is a Headers whose get() and has() match one filled from the same list, before and after it fills', () => {
    const headers = new NodeHeaders(RAW)
    const expected = reference(RAW)
    expect(headers).toBeInstanceOf(Headers)
    expect(headers.constructor).toBe(Headers)
    for (const name of NAMES) {
      expect(headers.get(name), name).toBe(expected.get(name))
      expect(headers.has(name), name).toBe(expected.has(name))
    }
    expect(headers.get('x-dup')).toBe('a, b')
    expect(headers.get('x-empty')).toBe('')
    expect(headers.has('x-empty')).toBe(true)
    // Iterating fills it: same entries, same order, same Set-Cookie split.
    expect([...headers]).toEqual([...expected])
    expect(headers.getSetCookie()).toEqual(['c=1', 'd=2'])
    for (const name of NAMES) expect(headers.get(name), name).toBe(expected.get(name))
  })

  it('each other member fills it first: forEach, keys, values, entries, getSetCookie, set, append, delete', () => {
    const collected: string[] = []
    new NodeHeaders(RAW).forEach((value, name) => collected.push(`${name}=${value}`))
    expect(collected).toEqual([...reference(RAW)].map(([name, value]) => `${name}=${value}`))
    expect([...new NodeHeaders(RAW).keys()]).toEqual([...reference(RAW).keys()])
    expect([...new NodeHeaders(RAW).values()]).toEqual([...reference(RAW).values()])
    expect([...new NodeHeaders(RAW).entries()]).toEqual([...reference(RAW).entries()])
    expect(new NodeHeaders(RAW).getSetCookie()).toEqual(['c=1', 'd=2'])

    const changed = new NodeHeaders(RAW)
    changed.set('accept', 'application/json')
    changed.append('x-dup', 'c')
    changed.delete('authorization')
    expect(changed.get('accept')).toBe('application/json')
    expect(changed.get('x-dup')).toBe('a, b, c')
    expect(changed.has('authorization')).toBe(false)
    expect(changed.get('host')).toBe('gw.example.com')
  })

  it('names and values are refused as a Headers refuses them', () => {
    const headers = new NodeHeaders(RAW)
    expect(() => headers.get('bad name')).toThrow(TypeError)
    expect(() => new Headers().get('bad name')).toThrow(TypeError)
    expect(() => headers.has('')).toThrow(TypeError)
    // Still answers after the refused name made it fill.
    expect(headers.get('x-dup')).toBe('a, b')
    expect(() => new NodeHeaders(['X-Bad', 'a\nb'])).toThrow(TypeError)
    expect(() => new NodeHeaders(['bad name', 'a'])).toThrow(TypeError)
    // Whitespace at either end is trimmed, as Headers does.
    expect(new NodeHeaders(['X-Pad', ' a\t']).get('x-pad')).toBe('a')
  })

  it('skips HTTP/2 pseudo-headers', () => {
    const headers = new NodeHeaders([':method', 'GET', ':path', '/', 'x-a', '1', ':authority', 'gw'])
    expect(headers.get('x-a')).toBe('1')
    expect([...headers]).toEqual([['x-a', '1']])
  })

  it('copies whole into a Request, a Response and a Headers made from it', () => {
    const expected = [...reference(RAW)]
    expect([...new Headers(new NodeHeaders(RAW))]).toEqual(expected)
    expect([...new Request('https://gw.example.com/', { headers: new NodeHeaders(RAW) }).headers]).toEqual(expected)
    expect([...new Response(null, { headers: new NodeHeaders(RAW) }).headers]).toEqual(expected)
  })

  it('through the adapter: repeated fields joined, a forwarded fetch() carries every field', async () => {
    let seen: Record<string, string | null> = {}
    const upstream = await serve(async (request) => Response.json(Object.fromEntries(request.headers)), { port: 0 })
    const gateway = await serve(
      async (request) => {
        seen = { dup: request.headers.get('x-dup'), auth: request.headers.get('authorization'), missing: request.headers.get('x-missing') }
        return fetch(`${upstream.url}/`, { headers: request.headers })
      },
      { port: 0 },
    )
    try {
      const { request } = await import('node:http')
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(`${gateway.url}/`, { headers: { 'x-dup': ['a', 'b'], authorization: 'Bearer t', 'x-other': '1' } }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve(text))
        })
        req.on('error', reject)
        req.end()
      })
      expect(seen).toEqual({ dup: 'a, b', auth: 'Bearer t', missing: null })
      const forwarded = JSON.parse(body) as Record<string, string>
      expect(forwarded['x-dup']).toBe('a, b')
      expect(forwarded['authorization']).toBe('Bearer t')
      expect(forwarded['x-other']).toBe('1')
    } finally {
      await gateway.close()
      await upstream.close()
    }
  })
})
