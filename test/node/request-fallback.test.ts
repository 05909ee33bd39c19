/**
 * The adapter's lazy Request where undici keeps a request's state in private class members
 * (undici 7, Node 24+): the lazy object cannot stand in for a Request there, so real ones are
 * handed out. Simulated with a global `Request` subclass that has a private member.
 */
import type { IncomingMessage } from 'node:http'
import { afterEach, describe, expect, it, vi } from 'vitest'

class PrivateStateRequest extends Request {
  readonly #checked = true
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    // Like undici 7: reading the private state of the input throws for anything it did not make.
    if (input instanceof PrivateStateRequest && !input.#checked) throw new Error('unreachable')
    super(input, init)
  }
}

afterEach(() => {
  vi.unstubAllGlobals()
  vi.resetModules()
})

const fakeIncoming = (rawHeaders: string[]) => ({ rawHeaders, complete: true }) as unknown as IncomingMessage

describe('lazy Request, where undici cannot take it', () => {
  it('hands out a real Request that new Request() and body reads accept, and still aborts it', async () => {
    vi.stubGlobal('Request', PrivateStateRequest)
    vi.resetModules()
    const { abortNodeRequest, createNodeRequest } = await import('../../src/server/node/request.js')
    const request = createNodeRequest(fakeIncoming(['Content-Type', 'text/plain', 'X-Test', '1']), 'POST', 'http://gw.example.com/x?y=1', new TextEncoder().encode('hello'))
    expect(request).toBeInstanceOf(PrivateStateRequest)
    expect(request.headers.get('x-test')).toBe('1')
    const copy = new PrivateStateRequest(request.clone())
    expect(await copy.text()).toBe('hello')
    expect(await request.text()).toBe('hello')
    abortNodeRequest(request, new DOMException('gone', 'AbortError'))
    expect(request.signal.aborted).toBe(true)
  })

  it('stays lazy where undici can take it (Node 20)', async () => {
    const { createNodeRequest } = await import('../../src/server/node/request.js')
    const request = createNodeRequest(fakeIncoming(['X-Test', '1']), 'GET', 'http://gw.example.com/', null)
    expect(request).toBeInstanceOf(Request)
    expect(Object.getPrototypeOf(request) === Request.prototype).toBe(false) // (getters on the bare prototype throw, as a Request's do)
    expect(new Request(request).url).toBe('http://gw.example.com/')
  })
})
