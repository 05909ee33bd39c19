import { beforeAll, describe, expect, it } from 'vitest'
import { deferKnownBodies, knownBody, textResponse } from '../../src/server/lib/known-body.js'
import { createTokenService } from '../../src/server/index.js'

const JSON_INIT = { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json;charset=UTF-8', 'x-extra': '1' } }
const BODY = '{"error":"invalid_request","error_description":"Zoë ✓"}'

describe('responses with a deferred body stream (after deferKnownBodies())', () => {
  beforeAll(() => deferKnownBodies())

  it('is a Response with its status, status text and headers, and its body known without a stream', () => {
    const response = textResponse(BODY, JSON_INIT)
    expect(response).toBeInstanceOf(Response)
    expect(Object.getPrototypeOf(response) === Response.prototype).toBe(false) // deferred, not a plain Response
    expect(Object.prototype.toString.call(response)).toBe('[object Response]')
    expect(response.status).toBe(400)
    expect(response.statusText).toBe('Bad Request')
    expect(response.ok).toBe(false)
    expect(response.headers.get('x-extra')).toBe('1')
    expect(response.bodyUsed).toBe(false)
    expect(knownBody(response)).toBe(BODY)
  })

  it.each([
    ['text()', (r: Response) => r.text(), BODY],
    ['json()', (r: Response) => r.json(), JSON.parse(BODY) as unknown],
    ['arrayBuffer()', async (r: Response) => new TextDecoder().decode(await r.arrayBuffer()), BODY],
    ['blob()', async (r: Response) => (await r.blob()).text(), BODY],
  ])('reads the same body through %s, once', async (_name, read, expected) => {
    const response = textResponse(BODY, JSON_INIT)
    expect(await read(response)).toEqual(expected)
    expect(response.bodyUsed).toBe(true)
    expect(knownBody(response)).toBeUndefined()
    await expect(response.text()).rejects.toThrow(TypeError)
  })

  it('reads through bytes() where the runtime has it', async () => {
    const response = textResponse(BODY, JSON_INIT) as Response & { bytes?: () => Promise<Uint8Array> }
    if (typeof (Response.prototype as { bytes?: unknown }).bytes !== 'function') {
      expect(response.bytes).toBeUndefined()
      return
    }
    expect(new TextDecoder().decode(await response.bytes!())).toBe(BODY)
  })

  it('hands out a body stream that reads the whole body; once locked, the body is no longer known', async () => {
    const response = textResponse(BODY, JSON_INIT)
    const stream = response.body!
    expect(stream).toBeInstanceOf(ReadableStream)
    expect(response.body).toBe(stream)
    expect(knownBody(response)).toBe(BODY) // a stream handed out but untouched
    const text = await new Response(stream).text()
    expect(text).toBe(BODY)
    expect(knownBody(response)).toBeUndefined()
    expect(response.bodyUsed).toBe(true)
  })

  it('clones before and after the stream exists, and refuses to clone a used body', async () => {
    const response = textResponse(BODY, JSON_INIT)
    const early = response.clone()
    expect(early.status).toBe(400)
    expect(early.headers.get('x-extra')).toBe('1')
    expect(knownBody(early)).toBe(BODY)
    void response.body
    response.headers.set('x-late', 'yes')
    const late = response.clone()
    expect(late.headers.get('x-late')).toBe('yes')
    expect(await late.text()).toBe(BODY)
    expect(await early.text()).toBe(BODY)
    expect(await response.text()).toBe(BODY)
    expect(() => response.clone()).toThrow(TypeError)
  })

  it('keeps header changes made before the body is read (CORS and middleware add headers)', async () => {
    const response = textResponse(BODY, JSON_INIT)
    response.headers.set('access-control-allow-origin', 'https://app.example')
    const copy = new Response(response.body, response)
    expect(copy.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(await copy.json()).toEqual(JSON.parse(BODY))
  })

  it('is what the token service answers with, readable like any response', async () => {
    const service = createTokenService({ environment: { name: 'test', issuer: 'https://auth.example.com' }, proxies: [] }, { cleanup: false })
    try {
      const response = await service.fetch(new Request('https://auth.example.com/oauth/token', { method: 'POST' }))
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(knownBody(response)).toBeDefined()
      const body = (await response.json()) as { error: string }
      expect(body.error).toMatch(/^invalid_/)
    } finally {
      await service.close()
    }
  })
})
