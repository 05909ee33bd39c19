/**
 * What both validation servers do once their token service is ready: obtain `count` tokens into a
 * file, serve `protect('orders', () => new Response('ok'))`, announce `LISTENING <port> <file>`,
 * and clean up on a signal.
 */
import { rmSync } from 'node:fs'
import type { TokenService } from '../../src/server/index.js'
import { serve } from '../../src/server/node/index.js'
import { announce, exitOnSignal, HOST, PROXY, tokensFile } from '../lib/common.js'

export async function serveResourceServer(service: TokenService, count: number, label: string, dispose: () => Promise<void> = async () => {}): Promise<void> {
  const file = await tokensFile(service, count, label)
  const server = await serve(service.protect(PROXY, () => new Response('ok')), { port: 0, host: HOST })
  announce(server.port, file)
  exitOnSignal(async () => {
    await server.close()
    await service.close()
    await dispose()
    rmSync(file, { force: true })
  })
}
