/**
 * A resource server protected by gatepass on the Node adapter:
 * `protect('orders', () => new Response('ok'))`. At start it obtains `count` RS256 JWTs from its
 * own token service (in-process `service.fetch`) and writes them to a temporary file, announced as
 * `LISTENING <port> <file>`.
 *
 * Mode `cold` creates the service with `validation: { verifiedJWTCacheSize: 0 }`, so every request
 * pays the signature check (like a token never seen before); `warm` keeps the default verified-token
 * cache (a repeated token skips it).
 *
 * Usage: `node --import tsx bench/servers/gatepass-validator.ts cold|warm [count]`
 */
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTokenService } from '../../src/server/index.js'
import { serve } from '../../src/server/node/index.js'
import { announce, exitOnSignal, gatepassConfig, HOST, ISSUER, PROXY, serviceEnv, TOKEN_BODY, TOKEN_HEADERS } from '../lib/common.js'

const mode = process.argv[2] ?? 'cold'
const count = Number(process.argv[3] ?? 1000)
const service = createTokenService(gatepassConfig({ format: 'jwt', algorithm: 'RS256' }), {
  env: serviceEnv,
  cleanup: false,
  validation: mode === 'cold' ? { verifiedJWTCacheSize: 0 } : {},
})
await service.ready()

const tokens: string[] = []
for (let i = 0; i < count; i++) {
  const response = await service.fetch(new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: TOKEN_HEADERS, body: TOKEN_BODY }))
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`)
  tokens.push(((await response.json()) as { access_token: string }).access_token)
}
const file = join(tmpdir(), `gatepass-bench-tokens-${process.pid}.txt`)
writeFileSync(file, tokens.join('\n'))

const handler = service.protect(PROXY, () => new Response('ok'))
const server = await serve(handler, { port: 0, host: HOST })
announce(server.port, file)
exitOnSignal(async () => {
  await server.close()
  await service.close()
  rmSync(file, { force: true })
})
