/**
 * gatepass token service on the Node adapter: `POST /auth/token` (client_credentials,
 * client_secret_basic) issuing JWTs (`jwt`, RS256 or ES256) or opaque tokens (`opaque`) kept in the
 * given store. Prints `UNAVAILABLE <reason>` and exits with code 3 when the store cannot be used.
 *
 * With `redis`, the service also has the Redis cache (second-level cache and revocation bus).
 *
 * Usage: `node --import tsx bench/servers/gatepass-issuer.ts jwt|opaque RS256|ES256 memory|sqlite|postgres [none|redis]`
 */
import { createTokenService } from '../../src/server/index.js'
import { serve } from '../../src/server/node/index.js'
import { announce, exitOnSignal, gatepassConfig, HOST, serviceEnv } from '../lib/common.js'
import { openStoreAndCache, type CacheKind, type StoreKind } from '../lib/stores.js'

const format = (process.argv[2] ?? 'jwt') as 'jwt' | 'opaque'
const algorithm = (process.argv[3] ?? 'RS256') as 'RS256' | 'ES256'
const kind = (process.argv[4] ?? 'memory') as StoreKind
const cacheKind = (process.argv[5] ?? 'none') as CacheKind

const opened = await openStoreAndCache(kind, cacheKind)
const service = createTokenService(gatepassConfig({ format, algorithm }), { store: opened.store, env: serviceEnv, cleanup: false, validation: opened.validation })
await service.ready()
const server = await serve(service.fetch, { port: 0, host: HOST })
announce(server.port)
exitOnSignal(async () => {
  await server.close()
  await opened.dispose()
})
