import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Agent, createServer as createHttpServer, get, request as httpRequest } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http'
import { connect as http2Connect, createServer as createHttp2Server } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { connect, createServer as createNetServer } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { serve, toNodeListener } from '../../src/server/node/index.js'
import type { FetchHandler, NodeListenerOptions, ServeOptions, ServeResult } from '../../src/server/node/index.js'

const servers: ServeResult[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function start(handler: FetchHandler, options: Parameters<typeof serve>[1] = {}): Promise<ServeResult> {
  const server = await serve(handler, { port: 0, onError: () => {}, ...options })
  servers.push(server)
  return server
}

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** One HTTP/1.1 request with node:http, so headers (Host, Transfer-Encoding) stay under the test's control. */
async function send(server: ServeResult, options: RequestOptions & { body?: Buffer | string } = {}): Promise<Reply> {
  const { body, ...rest } = options
  const req = httpRequest({ host: '127.0.0.1', port: server.port, agent: false, ...rest })
  req.end(body)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  return { status: res.statusCode!, headers: res.headers, body: await readAll(res) }
}

/** Raw bytes on a TCP socket, for requests node:http refuses to send. */
async function sendRaw(server: ServeResult, raw: string): Promise<string> {
  const socket = connect(server.port, '127.0.0.1')
  socket.end(raw)
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('latin1')
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Sends a GET and closes the connection once the handler has `started`. */
async function hangUpOnceStarted(server: ServeResult, started: Promise<void>): Promise<void> {
  const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/slow', agent: false })
  req.on('error', () => {})
  req.end()
  await started
  req.destroy()
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createNetServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Whether something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

const ok: FetchHandler = async () => new Response('ok')

describe('toNodeListener', () => {
  it('rejects a handler that is not a function', () => {
    expect(() => toNodeListener('nope' as unknown as FetchHandler)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: '"handler" must be a function' }))
  })

  it.each([
    [null, '"options" must be an object'],
    ['verbose', '"options" must be an object'],
    [{ onError: 'x' }, '"onError" must be a function'],
    [{ onError: null }, '"onError" must be a function'],
  ])('options %j → ERR_INVALID_ARG_TYPE when the listener is made', (bad, message) => {
    expect(() => toNodeListener(ok, bad as NodeListenerOptions)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message }))
  })

  // Before: accepted; the first handler error then threw inside the listener's promise chain
  // (an unhandled rejection, the end of the process).
  it('a bad onError throws before any server can listen with it', async () => {
    const port = await freePort()
    expect(() => createHttpServer(toNodeListener(ok, { onError: 'x' as unknown as NodeListenerOptions['onError'] })).listen(port, '127.0.0.1')).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"onError" must be a function' }),
    )
    expect(await listening(port)).toBe(false)
  })

  it('an onError that throws: the client still gets its 500, and the throw goes to console.error', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const failure = new Error('handler failed')
    const reporting = new Error('logger down')
    const server = await start(
      async () => {
        throw failure
      },
      {
        onError: () => {
          throw reporting
        },
      },
    )
    const reply = await send(server, { path: '/' })
    expect(reply.status).toBe(500)
    expect(JSON.parse(reply.body.toString())).toEqual({ error: 'server_error', error_description: 'internal error' })
    expect(logged).toHaveBeenCalledWith('gatepass: "onError" threw while reporting an error', reporting, failure)
    logged.mockRestore()
  })

  it('builds the URL from the Host header and passes method, path, query and headers', async () => {
    let seen: Request | undefined
    const server = await start(async (request) => {
      seen = request
      return new Response(null, { status: 204 })
    })
    const reply = await send(server, { path: '/auth/token?x=1&y=%20', headers: { host: 'gw.example.com:8443', 'x-custom': 'a' } })
    expect(reply.status).toBe(204)
    expect(seen!.url).toBe('http://gw.example.com:8443/auth/token?x=1&y=%20')
    expect(seen!.method).toBe('GET')
    expect(seen!.headers.get('x-custom')).toBe('a')
    expect(seen!.body).toBeNull()
  })

  it('hands the handler a Request that behaves as one: body methods, clone, formData, new Request(), fetch()', async () => {
    const upstream = await start(async (request) => Response.json({ method: request.method, url: request.url, type: request.headers.get('content-type'), body: await request.text() }))
    const checks: Record<string, unknown> = {}
    const server = await start(async (request) => {
      checks.instance = request instanceof Request
      checks.tag = Object.prototype.toString.call(request)
      checks.cache = request.cache
      checks.clone = await request.clone().text()
      checks.form = Object.fromEntries((await request.clone().formData()) as unknown as Iterable<[string, string]>)
      checks.copy = await new Request(request.clone()).text()
      // The Host header names the upstream, so the request's own URL leads there.
      const forwarded = (await (await fetch(request)).json()) as Record<string, unknown>
      checks.forwarded = forwarded
      checks.usedAfterFetch = request.bodyUsed
      return new Response(null, { status: 204 })
    })
    const body = 'grant_type=client_credentials&scope=a%20b'
    const reply = await send(server, { method: 'POST', path: '/echo?q=1', headers: { host: `127.0.0.1:${upstream.port}`, 'content-type': 'application/x-www-form-urlencoded' }, body })
    expect(reply.status).toBe(204)
    expect(checks).toEqual({
      instance: true,
      tag: '[object Request]',
      cache: 'default',
      clone: body,
      form: { grant_type: 'client_credentials', scope: 'a b' },
      copy: body,
      forwarded: { method: 'POST', url: `http://127.0.0.1:${upstream.port}/echo?q=1`, type: 'application/x-www-form-urlencoded', body },
      usedAfterFetch: true,
    })
  })

  it('keeps a keep-alive connection usable after a streamed body the handler left unread', async () => {
    const server = await start(async (request) => {
      if (request.url.endsWith('/touch')) void request.cache // builds the real Request (and its body stream)
      if (request.url.endsWith('/throw')) {
        void request.cache
        throw new Error('boom')
      }
      return new Response('ok')
    })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const post = (path: string, size: number) =>
        new Promise<string>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method: 'POST', agent, headers: { 'content-length': size } }, (res) => {
            readAll(res).then((body) => resolve(`${res.statusCode} ${body.toString()}`), reject)
          })
          req.setTimeout(3_000, () => req.destroy(new Error(`${path}: no answer within 3 s`)))
          req.on('error', reject)
          req.end(Buffer.alloc(size, 97))
        })
      for (const path of ['/none', '/touch', '/throw']) {
        const first = await post(path, 300_000)
        expect(first).toMatch(path === '/throw' ? /^500 / : /^200 ok$/)
        expect(await post('/next', 5)).toBe('200 ok')
      }
    } finally {
      agent.destroy()
    }
  })

  it('is a Request down to its constructor', async () => {
    let seen: Request | undefined
    const server = await start(async (request) => {
      seen = request
      return new Response(null, { status: 204 })
    })
    await send(server, { path: '/' })
    expect(seen!.constructor).toBe(Request)
    expect(Object.getPrototypeOf(Object.getPrototypeOf(seen)) === Request.prototype).toBe(true)
  })

  it('lets a small body be read once, as a Request does', async () => {
    const seen: unknown[] = []
    const server = await start(async (request) => {
      seen.push(request.bodyUsed, await request.json(), request.bodyUsed)
      seen.push(await request.text().catch((err: unknown) => (err as Error).name))
      seen.push(await request.arrayBuffer().catch((err: unknown) => (err as Error).name))
      seen.push(request.body === null ? 'null' : request.body.locked ? 'locked' : 'readable', request.bodyUsed)
      return new Response(null, { status: 204 })
    })
    const reply = await send(server, { method: 'PUT', path: '/', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' })
    expect(reply.status).toBe(204)
    expect(seen).toEqual([false, { a: [1, 2] }, true, 'TypeError', 'TypeError', 'locked', true])
  })

  it('gives a GET request an empty body that can be read any number of times', async () => {
    const seen: unknown[] = []
    const server = await start(async (request) => {
      seen.push(await request.text(), await request.text(), request.bodyUsed, request.body)
      return new Response(null, { status: 204 })
    })
    expect((await send(server, { path: '/' })).status).toBe(204)
    expect(seen).toEqual(['', '', false, null])
  })

  it('answers 400 to TRACE without calling the handler', async () => {
    const handler = vi.fn(async () => new Response('reached'))
    const server = await start(handler)
    const reply = await send(server, { method: 'TRACE', path: '/' })
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.body.toString())).toEqual({ error: 'invalid_request', error_description: 'the TRACE method is not supported' })
    expect(handler).not.toHaveBeenCalled()
  })

  it('keeps the Host header authority for an absolute-form request target', async () => {
    const server = await start(async (request) => new Response(request.url))
    const raw = await sendRaw(server, 'GET http://attacker.example/p?q=1 HTTP/1.1\r\nHost: gw.example.com\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    expect(raw.endsWith('\r\n\r\nhttp://gw.example.com/p?q=1')).toBe(true)
  })

  it('sends a complete body in one write with Content-Length, and streams a body still arriving', async () => {
    const complete = await start(async () => Response.json({ ok: true }))
    const whole = await sendRaw(complete, 'GET / HTTP/1.1\r\nHost: gw.example.com\r\nConnection: close\r\n\r\n')
    expect(whole).toMatch(/\r\ncontent-length: 11\r\n/i)
    expect(whole).not.toMatch(/transfer-encoding/i)
    expect(whole.endsWith('\r\n\r\n{"ok":true}')).toBe(true)

    const streaming = await start(async () => {
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode('first '))
          await new Promise((resolve) => setTimeout(resolve, 50))
          controller.enqueue(encoder.encode('second'))
          controller.close()
        },
      })
      return new Response(body)
    })
    // (A half-closed raw socket would count as a client that went away: use a real HTTP client.)
    const streamed = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      get(`${streaming.url}/`, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ headers: res.headers, body }))
      }).on('error', reject)
    })
    expect(streamed.headers['transfer-encoding']).toBe('chunked')
    expect(streamed.headers['content-length']).toBeUndefined()
    expect(streamed.body).toBe('first second')
  })

  it('sends string, byte, URLSearchParams and cloned bodies whole with their exact length', async () => {
    const bytes = new Uint8Array([0x00, 0xff, 0x10, 0x80])
    const cases: [string, () => Response, Buffer][] = [
      ['multi-byte string', () => new Response('Zoë ✓ 🔑'), Buffer.from('Zoë ✓ 🔑')],
      ['bytes', () => new Response(bytes), Buffer.from(bytes)],
      ['URLSearchParams', () => new Response(new URLSearchParams({ a: '1 2', b: 'é' })), Buffer.from('a=1+2&b=%C3%A9')],
      [
        'a response whose clone was read first',
        () => {
          const original = new Response('kept intact')
          void original.clone().text()
          return original
        },
        Buffer.from('kept intact'),
      ],
    ]
    for (const [name, make, expected] of cases) {
      let made: Response | undefined
      const server = await start(async () => (made = make()))
      const raw = Buffer.from(await sendRaw(server, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'), 'latin1')
      const split = raw.indexOf('\r\n\r\n')
      const head = raw.subarray(0, split).toString('latin1').toLowerCase()
      expect(head, name).toContain(`content-length: ${expected.byteLength}`)
      expect(head, name).not.toContain('transfer-encoding')
      expect(raw.subarray(split + 4).equals(expected), name).toBe(true)
      // Sent from the string or bytes the body was made with: its stream was never read.
      expect(made!.bodyUsed, name).toBe(false)
    }
    // A Response subclass answers `body` its own way: that is what is sent.
    class Shouting extends Response {
      readonly #text: string
      constructor(text: string) {
        super(text)
        this.#text = text
      }
      override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
        return new Response(this.#text.toUpperCase()).body!
      }
    }
    const shouting = await start(async () => new Shouting('quiet please'))
    expect((await send(shouting, { path: '/' })).body.toString()).toBe('QUIET PLEASE')
    // A Blob holds no string or bytes to take: it is read from its stream.
    const blob = await start(async () => new Response(new Blob(['abc', 'def'])))
    expect((await send(blob, { path: '/' })).body.toString()).toBe('abcdef')
  })

  it('falls back to the socket local address when there is no Host header (HTTP/1.0)', async () => {
    const server = await start(async (request) => new Response(request.url, { headers: { 'content-length': String(request.url.length) } }))
    const raw = await sendRaw(server, 'GET /no-host?a=b HTTP/1.0\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    expect(raw.endsWith(`\r\n\r\nhttp://127.0.0.1:${server.port}/no-host?a=b`)).toBe(true)
  })

  it('answers 400 to a malformed Host header or request target', async () => {
    const handler = vi.fn(async () => new Response('reached'))
    const server = await start(handler)
    const badHost = await sendRaw(server, 'GET /x HTTP/1.1\r\nHost: evil.example/path?\r\nConnection: close\r\n\r\n')
    expect(badHost).toMatch(/^HTTP\/1\.1 400/)
    expect(badHost).toContain('"error":"invalid_request"')
    const badTarget = await sendRaw(server, 'GET x/y HTTP/1.1\r\nHost: gw.example.com\r\nConnection: close\r\n\r\n')
    expect(badTarget).toMatch(/^HTTP\/1\.1 400/)
    expect(handler).not.toHaveBeenCalled()
  })

  it('streams a large chunked request body to the handler before the client has finished sending it', async () => {
    const firstChunkSeen = deferred()
    const server = await start(async (request) => {
      const reader = request.body!.getReader()
      let bytes = 0
      const hash = createHash('sha256')
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        if (bytes === 0) firstChunkSeen.resolve()
        bytes += value.byteLength
        hash.update(value)
      }
      return Response.json({ bytes, sha256: hash.digest('hex') })
    })

    const chunk = randomBytes(256 * 1024)
    const chunks = 32 // 8 MiB in total
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/upload', agent: false, headers: { 'content-type': 'application/octet-stream' } })
    const expected = createHash('sha256')
    req.write(chunk)
    expected.update(chunk)
    // The handler reads the first chunk while the request is still open: nothing waits for the whole body.
    await firstChunkSeen.promise
    for (let i = 1; i < chunks; i++) {
      if (!req.write(chunk)) await once(req, 'drain')
      expected.update(chunk)
    }
    req.end()
    const [res] = (await once(req, 'response')) as [IncomingMessage]
    expect(res.headers['content-type']).toContain('application/json')
    expect(JSON.parse((await readAll(res)).toString())).toEqual({ bytes: chunk.length * chunks, sha256: expected.digest('hex') })
  })

  it('echoes a 1 MB POST body intact', async () => {
    const server = await start(async (request) => new Response(await request.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } }))
    const body = randomBytes(1024 * 1024)
    const reply = await send(server, { method: 'POST', path: '/echo', body, headers: { 'content-length': String(body.length) } })
    expect(reply.status).toBe(200)
    expect(reply.body.length).toBe(body.length)
    expect(sha256(reply.body)).toBe(sha256(body))
  })

  it('streams the response: the first chunk arrives before the handler has produced the rest', async () => {
    const release = deferred()
    const server = await start(async () => {
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode('first;'))
          await release.promise
          controller.enqueue(encoder.encode('second'))
          controller.close()
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/plain' } })
    })
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/stream', agent: false })
    req.end()
    const [res] = (await once(req, 'response')) as [IncomingMessage]
    const [first] = (await once(res, 'data')) as [Buffer]
    expect(first.toString()).toBe('first;')
    release.resolve()
    expect((await readAll(res)).toString()).toBe('second')
  })

  it('applies backpressure to the response body and cancels it when the client goes away', async () => {
    let produced = 0
    const cancelled = deferred<unknown>()
    const server = await start(async () => {
      const chunk = new Uint8Array(64 * 1024)
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          produced += chunk.byteLength
          controller.enqueue(chunk)
        },
        cancel(reason) {
          cancelled.resolve(reason)
        },
      })
      return new Response(body)
    })
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path: '/infinite', agent: false })
    req.end()
    const [res] = (await once(req, 'response')) as [IncomingMessage]
    res.pause()
    await new Promise((r) => setTimeout(r, 300))
    // An endless body would fill memory without backpressure; with it only socket and stream buffers fill up.
    expect(produced).toBeGreaterThan(0)
    expect(produced).toBeLessThan(32 * 1024 * 1024)
    const before = produced
    await new Promise((r) => setTimeout(r, 200))
    expect(produced - before).toBeLessThan(1024 * 1024)
    req.destroy()
    await cancelled.promise
  })

  it('aborts request.signal when the client closes the connection', async () => {
    const started = deferred()
    const aborted = deferred<unknown>()
    const server = await start(async (request) => {
      request.signal.addEventListener('abort', () => aborted.resolve(request.signal.reason))
      started.resolve()
      await aborted.promise
      return new Response('too late')
    })
    await hangUpOnceStarted(server, started.promise)
    const reason = await aborted.promise
    expect(reason).toBeInstanceOf(DOMException)
    expect((reason as DOMException).name).toBe('AbortError')
  })

  it('gives an aborted request.signal to a handler that asks for it after the client went away', async () => {
    const started = deferred()
    const release = deferred()
    const seen = deferred<boolean>()
    const server = await start(async (request) => {
      started.resolve()
      await release.promise
      seen.resolve(request.signal.aborted)
      return new Response('too late')
    })
    // Wait for the server to see the hang-up (not a fixed sleep: a stalled machine may take longer).
    const closed = new Promise<void>((resolve) => server.server.once('connection', (socket: Socket) => socket.once('close', () => resolve())))
    await hangUpOnceStarted(server, started.promise)
    await closed
    release.resolve()
    expect(await seen.promise).toBe(true)
  })

  it('does not abort request.signal after a complete response', async () => {
    let signal: AbortSignal | undefined
    const server = await start(async (request) => {
      signal = request.signal
      return new Response('ok')
    })
    const reply = await send(server, { path: '/' })
    expect(reply.body.toString()).toBe('ok')
    await new Promise((r) => setTimeout(r, 50))
    expect(signal!.aborted).toBe(false)
  })

  it('keeps several Set-Cookie headers separate', async () => {
    const server = await start(async () => {
      const headers = new Headers({ 'content-type': 'text/plain' })
      headers.append('set-cookie', 'a=1; Path=/; HttpOnly')
      headers.append('set-cookie', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT')
      headers.append('vary', 'Origin')
      headers.append('vary', 'Accept')
      return new Response('cookies', { headers })
    })
    const reply = await send(server)
    expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT'])
    expect(reply.headers.vary).toBe('Origin, Accept')
    expect(reply.body.toString()).toBe('cookies')
  })

  it('answers HEAD without a body and gives the handler no request body', async () => {
    let seen: Request | undefined
    const server = await start(async (request) => {
      seen = request
      return new Response('hello', { headers: { 'content-length': '5', 'content-type': 'text/plain' } })
    })
    const raw = await sendRaw(server, 'HEAD /thing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200/)
    expect(raw.toLowerCase()).toContain('content-length: 5')
    expect(raw.endsWith('\r\n\r\n')).toBe(true)
    expect(seen!.method).toBe('HEAD')
    expect(seen!.body).toBeNull()
  })

  it('passes the socket peer address as context.remoteAddress', async () => {
    const server = await start(async (_request, context) => Response.json({ remoteAddress: context?.remoteAddress }))
    const reply = await send(server, { headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(JSON.parse(reply.body.toString())).toEqual({ remoteAddress: '127.0.0.1' })
  })

  it('strips the ::ffff: prefix of IPv4-mapped addresses on a dual-stack socket', async (ctx) => {
    let server: ServeResult
    try {
      server = await start(async (_request, context) => Response.json({ remoteAddress: context?.remoteAddress }), { host: '::' })
    } catch {
      return ctx.skip('IPv6 is not available on this machine')
    }
    const reply = await send(server)
    expect(JSON.parse(reply.body.toString())).toEqual({ remoteAddress: '127.0.0.1' })
  })

  it('answers 500 without leaking the exception when the handler throws', async () => {
    const onError = vi.fn()
    const server = await start(
      async () => {
        throw new Error('db password is hunter2')
      },
      { onError },
    )
    const reply = await send(server, { path: '/boom' })
    expect(reply.status).toBe(500)
    expect(reply.headers['content-type']).toBe('application/json')
    expect(reply.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(reply.body.toString())).toEqual({ error: 'server_error', error_description: 'internal error' })
    expect(reply.body.toString()).not.toContain('hunter2')
    expect(onError).toHaveBeenCalledOnce()
    expect((onError.mock.calls[0]![0] as Error).message).toBe('db password is hunter2')
  })

  it('answers 500 when the handler does not return a Response', async () => {
    const server = await start(async () => 'not a response' as unknown as Response)
    const reply = await send(server)
    expect(reply.status).toBe(500)
    expect(JSON.parse(reply.body.toString())).toEqual({ error: 'server_error', error_description: 'internal error' })
  })

  it('keeps the connection usable for the next keep-alive request', async () => {
    let count = 0
    const server = await start(async () => new Response(String(++count)))
    const first = await fetch(server.url)
    expect(await first.text()).toBe('1')
    const second = await fetch(server.url)
    expect(await second.text()).toBe('2')
  })
})

/** A body stream that yields each chunk after a pause (so the adapter streams it). */
function slowStream(chunks: unknown[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, 10))
      if (i < chunks.length) controller.enqueue(chunks[i++] as Uint8Array)
      else controller.close()
    },
  })
}

describe('toNodeListener: what a handler\'s response may carry', () => {
  it('drops connection-level headers a handler copied (Transfer-Encoding, Keep-Alive, Connection)', async () => {
    const server = await start(async () => new Response('abc', { headers: { 'transfer-encoding': 'chunked', 'keep-alive': 'timeout=5', connection: 'keep-alive', 'x-kept': '1' } }))
    const reply = await send(server)
    expect(reply.status).toBe(200)
    expect(reply.body.toString()).toBe('abc')
    expect(reply.headers['content-length']).toBe('3')
    expect(reply.headers['transfer-encoding']).toBeUndefined()
    expect(reply.headers['x-kept']).toBe('1')
  })

  it('serves such a response over HTTP/2 too (an HTTP/2 stream refuses those headers)', async () => {
    const errors: unknown[] = []
    const server = createHttp2Server(toNodeListener(async () => new Response('h2', { headers: { 'transfer-encoding': 'chunked', 'keep-alive': 'timeout=5' } }), { onError: (e) => errors.push(e) }) as never)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    try {
      const stream = session.request({ ':path': '/' })
      const [headers] = (await once(stream, 'response')) as [Record<string, unknown>]
      const chunks: Buffer[] = []
      for await (const chunk of stream) chunks.push(chunk as Buffer)
      expect(headers[':status']).toBe(200)
      expect(Buffer.concat(chunks).toString()).toBe('h2')
      expect(errors).toEqual([])
    } finally {
      session.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('sends Latin-1 header values as Latin-1 whatever the body type', async () => {
    const disposition = 'attachment; filename="café.pdf"'
    for (const body of ['x', new Uint8Array([120])]) {
      const server = await start(async () => new Response(body, { headers: { 'content-disposition': disposition } }))
      const raw = await sendRaw(server, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
      expect(raw).toContain(`content-disposition: ${disposition}`) // read back as Latin-1: é is one byte, 0xE9
    }
  })

  it('answers HEAD for a string body with the Content-Length a GET would carry', async () => {
    const server = await start(async () => new Response('hello'))
    const raw = await sendRaw(server, 'HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    expect(raw.toLowerCase()).toContain('content-length: 5')
    expect(raw.endsWith('\r\n\r\n')).toBe(true)
  })

  it('holds a streamed body to the Content-Length the handler declared: too short or too long cuts the connection and reports it', async () => {
    for (const [declared, chunks] of [
      ['10', [new Uint8Array([1, 2, 3])]],
      ['2', [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]],
    ] as const) {
      const errors: unknown[] = []
      const server = await start(async () => new Response(slowStream([...chunks]), { headers: { 'content-length': declared } }), { onError: (e) => errors.push(e) })
      const outcome = await send(server).then(
        (reply) => `complete ${reply.body.length}`,
        (err: Error) => `cut (${err.message})`,
      )
      expect(outcome).toMatch(/^cut/)
      await vi.waitFor(() => expect(errors).toHaveLength(1))
      expect(errors[0]).toMatchObject({ code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH' })
    }
  })

  it('answers 500 (and reports it) for a body stream that fails at once or yields something other than bytes', async () => {
    for (const stream of [
      new ReadableStream({
        pull() {
          throw new Error('boom')
        },
      }),
      new ReadableStream({
        pull(controller) {
          controller.enqueue('a string')
          controller.close()
        },
      }),
    ]) {
      const errors: unknown[] = []
      const server = await start(async () => new Response(stream as ReadableStream<Uint8Array>), { onError: (e) => errors.push(e) })
      const reply = await send(server)
      expect(reply.status).toBe(500)
      expect(reply.headers['cache-control']).toBe('no-store')
      expect(JSON.parse(reply.body.toString())).toEqual({ error: 'server_error', error_description: 'internal error' })
      expect(errors).toHaveLength(1)
    }
  })
})

describe('serve', () => {
  it('listens on 127.0.0.1 by default and reports url and port', async () => {
    const server = await start(async () => new Response('up'))
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.server.listening).toBe(true)
    expect(await (await fetch(server.url)).text()).toBe('up')
  })

  it('closes on close() and on an aborted signal', async () => {
    const server = await serve(async () => new Response('up'), { port: 0 })
    await server.close()
    await server.close() // idempotent
    expect(server.server.listening).toBe(false)

    const controller = new AbortController()
    const other = await serve(async () => new Response('up'), { port: 0, signal: controller.signal })
    controller.abort()
    await once(other.server, 'close')
    expect(other.server.listening).toBe(false)
  })

  it('does not stay up when its signal is aborted while it starts', async () => {
    const controller = new AbortController()
    const starting = serve(async () => new Response('up'), { port: 0, signal: controller.signal })
    controller.abort()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('close() with a response under way on a keep-alive connection returns once it is sent, not after the keep-alive timeout', async () => {
    const started = deferred()
    const server = await serve(
      async () => {
        started.resolve()
        await new Promise((r) => setTimeout(r, 200))
        return new Response('done')
      },
      { port: 0 },
    )
    server.server.keepAliveTimeout = 30_000
    const agent = new Agent({ keepAlive: true })
    try {
      const reply = new Promise<string>((resolve, reject) => {
        get({ host: '127.0.0.1', port: server.port, agent }, (res) => void readAll(res).then((b) => resolve(b.toString()), reject)).on('error', reject)
      })
      await started.promise
      const t0 = Date.now()
      await server.close()
      expect(Date.now() - t0).toBeLessThan(5_000)
      expect(await reply).toBe('done')
    } finally {
      agent.destroy()
    }
  })

  it('validates its options', async () => {
    await expect(serve(async () => new Response(), { port: 70000 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: '"port" must be an integer between 0 and 65535' })
    await expect(serve(async () => new Response(), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it.each([
    ['options null', null, 'ERR_INVALID_ARG_TYPE', '"options" must be an object'],
    ['options a number', 8080, 'ERR_INVALID_ARG_TYPE', '"options" must be an object'],
    ['port a string', { port: '8080' }, 'ERR_INVALID_ARG_TYPE', '"port" must be an integer between 0 and 65535'],
    ['port fractional', { port: 80.5 }, 'ERR_INVALID_ARG_VALUE', '"port" must be an integer between 0 and 65535'],
    ['host empty', { host: '' }, 'ERR_INVALID_ARG_VALUE', '"host" must be a non-empty string'],
    ['host a number', { host: 127 }, 'ERR_INVALID_ARG_TYPE', '"host" must be a non-empty string'],
    ['onError a string', { onError: 'x' }, 'ERR_INVALID_ARG_TYPE', '"onError" must be a function'],
    ['signal a string', { signal: 'x' }, 'ERR_INVALID_ARG_TYPE', '"signal" must be an AbortSignal'],
    ['signal null', { signal: null }, 'ERR_INVALID_ARG_TYPE', '"signal" must be an AbortSignal'],
    // Before: its addEventListener() failed after listen(), leaving the server up.
    ['signal without addEventListener', { signal: { aborted: false, throwIfAborted() {} } }, 'ERR_INVALID_ARG_TYPE', '"signal" must be an AbortSignal (its "addEventListener" is not a function)'],
  ])('%s → %s, and nothing listens', async (_name, bad, code, message) => {
    const port = await freePort()
    const options = bad !== null && typeof bad === 'object' ? { port, ...bad } : bad
    await expect(serve(ok, options as ServeOptions)).rejects.toMatchObject({ name: 'TypeError', code, message })
    expect(await listening(port)).toBe(false)
  })

  it('the same port listens with good options (the check above can see a server)', async () => {
    const port = await freePort()
    const controller = new AbortController()
    const server = await serve(ok, { port, host: '127.0.0.1', signal: controller.signal, onError: () => {} })
    expect(await listening(port)).toBe(true)
    controller.abort()
    await server.close()
    expect(await listening(port)).toBe(false)
  })

  it('rejects when the port is taken', async () => {
    const first = await start(async () => new Response())
    await expect(serve(async () => new Response(), { port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' })
  })
})
