/**
 * Token client benchmarks, in-process: the client's `fetch` ([customFetch]) calls a gatepass
 * token service's `fetch` directly (no sockets), counting token requests.
 *
 * - `getToken()` cache hit: ops/s of `await client.getToken()` with a valid cached token
 *   (default memory cache, `crossTab: false`).
 * - Expiry stampede: the shared fake clock jumps past the token's expiry, then N callers call
 *   `getToken()` at once; reports how many token requests were made (single-flight → 1) and
 *   whether every caller got the same fresh token.
 *
 * Prints one JSON line. Usage: `node --import tsx bench/micro/client.ts [timeMs] [callers]`
 */
import { Bench } from 'tinybench'
import type * as ClientModule from '../../src/client/index.js'
import { createTokenService } from '../../src/server/index.js'
import { AUDIENCE, CLIENT_ID, CLIENT_SECRET, gatepassConfig, ISSUER, SCOPE, serviceEnv, TTL_SECONDS } from '../lib/common.js'

const time = Number(process.argv[2] ?? 2000)
const callers = Number(process.argv[3] ?? 1000)

let mod: typeof ClientModule
try {
  mod = await import('../../src/client/index.js')
  if (typeof mod.createTokenClient !== 'function') throw new Error('createTokenClient is not exported')
} catch (err) {
  process.stdout.write(`${JSON.stringify({ unavailable: (err as Error).message.split('\n')[0] })}\n`)
  process.exit(0)
}

let clock = Date.now()
const now = () => clock
const service = createTokenService(gatepassConfig({ format: 'jwt', algorithm: 'ES256' }), { env: serviceEnv, cleanup: false, now })
await service.ready()
let requests = 0
const client = mod.createTokenClient({
  tokenEndpoint: `${ISSUER}/auth/token`,
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  grant: 'client_credentials',
  scope: SCOPE,
  resource: AUDIENCE,
  crossTab: false,
  now,
  [mod.customFetch]: (request: Request) => {
    requests++
    return service.fetch(request)
  },
})

const first = await client.getToken()
const batch = 100
const bench = new Bench({ time, warmupTime: Math.min(1000, time / 2), iterations: 8 })
bench.add('getToken cache hit', async () => {
  for (let i = 0; i < batch; i++) await client.getToken()
})
await bench.run()
const result = bench.tasks[0]!.result
if (result.state !== 'completed') throw new Error(`getToken bench: ${result.state}`)
const cacheHitOps = (batch * 1000) / result.period
if (requests !== 1) throw new Error(`cache hits made ${requests - 1} extra token requests`)
process.stdout.write(`# getToken cache hit: ${Math.round(cacheHitOps).toLocaleString('en-US')} ops/s\n`)

// createAPIClient against plain ky, both on a stub fetch (no network): the cost of the token hook.
const { default: ky } = await import('ky')
const stub = async () => new Response('ok')
const plain = ky.create({ prefixUrl: 'http://api.bench', fetch: stub, retry: 0 })
const api = mod.createAPIClient({ prefixUrl: 'http://api.bench', tokens: client, fetch: stub, retry: 0 })
const apiBench = new Bench({ time, warmupTime: Math.min(1000, time / 2), iterations: 8 })
apiBench.add('plain ky', async () => {
  for (let i = 0; i < batch; i++) await plain.get('items').text()
})
apiBench.add('createAPIClient', async () => {
  for (let i = 0; i < batch; i++) await api.get('items').text()
})
await apiBench.run()
const [kyResult, apiResult] = apiBench.tasks.map((t) => t.result)
if (kyResult?.state !== 'completed' || apiResult?.state !== 'completed') throw new Error('API client bench did not complete')
const kyOps = (batch * 1000) / kyResult.period
const apiOps = (batch * 1000) / apiResult.period
process.stdout.write(`# plain ky: ${Math.round(kyOps).toLocaleString('en-US')} req/s, createAPIClient: ${Math.round(apiOps).toLocaleString('en-US')} req/s\n`)

// Expiry: every caller arrives after the token expired.
clock += (TTL_SECONDS + 60) * 1000
const before = requests
const tokens = await Promise.all(Array.from({ length: callers }, () => client.getToken()))
const stampedeRequests = requests - before
const distinct = new Set(tokens.map((t) => t.access_token)).size
const fresh = tokens[0]!.access_token !== first.access_token && (tokens[0]!.expiresAt ?? 0) > clock
process.stdout.write(`# ${callers} callers at expiry: ${stampedeRequests} token request(s), ${distinct} distinct token(s)\n`)
client.close()
process.stdout.write(`${JSON.stringify({ cacheHitOps, callers, stampedeRequests, distinct, fresh, kyOps, apiOps })}\n`)
