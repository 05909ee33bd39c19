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
import { createTokenService } from '../../src/server/index.js'
import { gatepassConfig, serviceEnv } from '../lib/common.js'
import { serveResourceServer } from './_resource-server.js'

const mode = process.argv[2] ?? 'cold'
const count = Number(process.argv[3] ?? 1000)
const service = createTokenService(gatepassConfig({ format: 'jwt', algorithm: 'RS256' }), {
  env: serviceEnv,
  cleanup: false,
  validation: mode === 'cold' ? { verifiedJWTCacheSize: 0 } : {},
})
await service.ready()

await serveResourceServer(service, count, 'jwt')
