/**
 * gatepass token service on the Node adapter: `POST /auth/token` (client_credentials,
 * client_secret_basic) issuing JWTs (`jwt`, RS256 or ES256) or opaque tokens (`opaque`) kept in the
 * given store. Prints `UNAVAILABLE <reason>` and exits with code 3 when the store cannot be used.
 *
 * Usage: `node --import tsx bench/servers/gatepass-issuer.ts jwt|opaque RS256|ES256 memory|sqlite|postgres`
 */
import { createTokenService } from '../../src/server/index.js'
import { serve } from '../../src/server/node/index.js'
import { announce, exitOnSignal, gatepassConfig, HOST, serviceEnv } from '../lib/common.js'
import { openStore, StoreUnavailable, type StoreKind } from '../lib/stores.js'

const format = (process.argv[2] ?? 'jwt') as 'jwt' | 'opaque'
const algorithm = (process.argv[3] ?? 'RS256') as 'RS256' | 'ES256'
const kind = (process.argv[4] ?? 'memory') as StoreKind

let opened: Awaited<ReturnType<typeof openStore>>
try {
  opened = await openStore(kind)
} catch (err) {
  if (!(err instanceof StoreUnavailable)) throw err
  process.stdout.write(`UNAVAILABLE ${err.message}\n`)
  process.exit(3)
}
const service = createTokenService(gatepassConfig({ format, algorithm }), { store: opened.store, env: serviceEnv, cleanup: false })
await service.ready()
const server = await serve(service.fetch, { port: 0, host: HOST })
announce(server.port)
exitOnSignal(async () => {
  await server.close()
  await opened.dispose()
})
