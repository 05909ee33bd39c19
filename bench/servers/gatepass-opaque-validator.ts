/**
 * A resource server protected by gatepass with opaque tokens, on the Node adapter:
 * `protect('orders', () => new Response('ok'))` over the given store, with or without the Redis
 * cache. At start it obtains `count` opaque tokens from its own token service (in-process
 * `service.fetch`, so they are in the store) and writes them to a temporary file, announced as
 * `LISTENING <port> <file>`.
 *
 * Mode `hit` keeps the default in-process cache (a repeated token is a cache hit); `miss` turns
 * the in-process cache off (`opaqueCacheSize: 0`), so every request asks Redis (when given) or the
 * store.
 *
 * Usage: `node --import tsx bench/servers/gatepass-opaque-validator.ts memory|sqlite|postgres none|redis hit|miss [count]`
 */
import { createTokenService } from '../../src/server/index.js'
import { gatepassConfig, serviceEnv } from '../lib/common.js'
import { openStoreAndCache, type CacheKind, type StoreKind } from '../lib/stores.js'
import { serveResourceServer } from './_resource-server.js'

const kind = (process.argv[2] ?? 'memory') as StoreKind
const cacheKind = (process.argv[3] ?? 'none') as CacheKind
const mode = process.argv[4] ?? 'hit'
const count = Number(process.argv[5] ?? 1000)

const opened = await openStoreAndCache(kind, cacheKind)
const service = createTokenService(gatepassConfig({ format: 'opaque', algorithm: 'RS256' }), {
  store: opened.store,
  env: serviceEnv,
  cleanup: false,
  validation: { ...opened.validation, ...(mode === 'miss' ? { opaqueCacheSize: 0 } : {}) },
})
await service.ready()

await serveResourceServer(service, count, 'opaque', opened.dispose)
