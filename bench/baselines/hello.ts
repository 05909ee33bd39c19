/**
 * HTTP ceilings for the validation figures: `node` answers "ok" from a plain `node:http` handler;
 * `adapter` answers "ok" from a Fetch handler (`() => new Response('ok')`) behind gatepass's
 * `serve()`, i.e. the Node adapter's own cost with no guard at all.
 *
 * Usage: `node --import tsx bench/baselines/hello.ts node|adapter`
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '../../src/server/node/index.js'
import { announce, exitOnSignal, HOST } from '../lib/common.js'

if (process.argv[2] === 'adapter') {
  const server = await serve(async () => new Response('ok'), { port: 0, host: HOST })
  announce(server.port)
  exitOnSignal(() => server.close())
} else {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': '2' })
    res.end('ok')
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, HOST, () => announce((server.address() as AddressInfo).port))
  exitOnSignal(() => server.close())
}
