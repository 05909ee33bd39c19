/**
 * In-process validation benchmarks (tinybench), one op in flight, meant to run pinned to one core:
 *
 * - raw jose `jwtVerify` (RS256, public key as a `CryptoKey`, issuer/audience/alg/typ checks) over
 *   the same rotating tokens as the cold guard;
 * - `service.guard('orders')(request)` for a JWT cold (`verifiedJWTCacheSize: 0`, tokens rotated),
 *   warm (one token, default verified-token cache), an opaque token from the cache (default) and
 *   from the store (`opaqueCacheSize: 0`, memory store).
 *
 * - for reference, the SHA-256 of a token with `crypto.subtle.digest` (what the guard computes for
 *   every request) and with node:crypto `createHash`.
 *
 * Requests are built once per token before timing (the guard only reads their headers): the figures
 * are the guard's cost, not undici's `new Request()`. Each task runs a batch of calls per sample.
 * Prints one JSON line: `{ name: opsPerSecond }`.
 *
 * Usage: `node --import tsx bench/micro/validation.ts [timeMs]`
 */
import { createHash } from 'node:crypto'
import { importJWK, jwtVerify, type JWK } from 'jose'
import { Bench } from 'tinybench'
import { createMemoryStore, createTokenService, type TokenService } from '../../src/server/index.js'
import { AUDIENCE, gatepassConfig, ISSUER, PROXY, serviceEnv, TOKEN_BODY, TOKEN_HEADERS } from '../lib/common.js'

const time = Number(process.argv[2] ?? 2000)
const coldTokens = Number(process.env.BENCH_COLD_TOKENS ?? 2000)

const store = createMemoryStore()
const jwtConfig = gatepassConfig({ format: 'jwt', algorithm: 'RS256' })
const opaqueConfig = gatepassConfig({ format: 'opaque' })
const common = { store, env: serviceEnv, cleanup: false as const }
const jwtWarm = createTokenService(jwtConfig, common)
const jwtCold = createTokenService(jwtConfig, { ...common, validation: { verifiedJWTCacheSize: 0 } })
const opaqueHit = createTokenService(opaqueConfig, common)
const opaqueStore = createTokenService(opaqueConfig, { ...common, validation: { opaqueCacheSize: 0 } })
for (const s of [jwtWarm, jwtCold, opaqueHit, opaqueStore]) await s.ready()

async function obtain(service: TokenService): Promise<string> {
  const response = await service.fetch(new Request(`${ISSUER}/auth/token`, { method: 'POST', headers: TOKEN_HEADERS, body: TOKEN_BODY }))
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

const jwts: string[] = []
for (let i = 0; i < coldTokens; i++) jwts.push(await obtain(jwtWarm))
const opaque = await obtain(opaqueHit)
const requestFor = (token: string) => new Request(`${AUDIENCE}/orders`, { headers: { authorization: `Bearer ${token}` } })
const jwtRequests = jwts.map(requestFor)
const opaqueRequest = requestFor(opaque)

const jwks = (await (await jwtWarm.fetch(new Request(`${ISSUER}/auth/.well-known/jwks.json`))).json()) as { keys: JWK[] }
const publicKey = await importJWK(jwks.keys[0]!, 'RS256')
const verifyOptions = { issuer: `${ISSUER}/auth`, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' }

const guards = {
  cold: jwtCold.guard(PROXY),
  warm: jwtWarm.guard(PROXY),
  hit: opaqueHit.guard(PROXY),
  store: opaqueStore.guard(PROXY),
}

async function expectOK(guard: (r: Request) => Promise<{ ok: boolean }>, request: Request) {
  const result = await guard(request)
  if (!result.ok) throw new Error('guard refused a valid token')
}
for (const [guard, request] of [[guards.cold, jwtRequests[0]!], [guards.warm, jwtRequests[0]!], [guards.hit, opaqueRequest], [guards.store, opaqueRequest]] as const) {
  await expectOK(guard, request)
}

let next = 0
const rotate = () => {
  next = (next + 1) % jwts.length
  return next
}

const tasks: Array<{ name: string; batch: number; fn: () => Promise<void> }> = [
  {
    name: 'jose.jwtVerify RS256',
    batch: 1,
    fn: async () => {
      await jwtVerify(jwts[rotate()]!, publicKey, verifyOptions)
    },
  },
  { name: 'guard JWT cold', batch: 1, fn: () => expectOK(guards.cold, jwtRequests[rotate()]!) },
  {
    name: 'guard JWT warm',
    batch: 100,
    fn: async () => {
      for (let i = 0; i < 100; i++) await expectOK(guards.warm, jwtRequests[0]!)
    },
  },
  {
    name: 'guard opaque cache hit',
    batch: 100,
    fn: async () => {
      for (let i = 0; i < 100; i++) await expectOK(guards.hit, opaqueRequest)
    },
  },
  {
    name: 'guard opaque store hit',
    batch: 20,
    fn: async () => {
      for (let i = 0; i < 20; i++) await expectOK(guards.store, opaqueRequest)
    },
  },
]

// Profile evidence: the guard hashes every presented token (cache key) with WebCrypto.
const encoder = new TextEncoder()
tasks.push(
  {
    name: 'crypto.subtle.digest SHA-256',
    batch: 1,
    fn: async () => {
      await crypto.subtle.digest('SHA-256', encoder.encode(jwts[rotate()]!))
    },
  },
  {
    name: 'node:crypto createHash SHA-256',
    batch: 100,
    fn: async () => {
      for (let i = 0; i < 100; i++) createHash('sha256').update(jwts[rotate()]!).digest('base64url')
    },
  },
)

const results: Record<string, number> = {}
for (const task of tasks) {
  const bench = new Bench({ time, warmupTime: Math.min(1000, time / 2), iterations: 8 })
  bench.add(task.name, task.fn)
  await bench.run()
  const result = bench.tasks[0]!.result
  if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}${'error' in result ? ` ${String(result.error)}` : ''}`)
  results[task.name] = (task.batch * 1000) / result.period
  process.stdout.write(`# ${task.name}: ${Math.round(results[task.name]!).toLocaleString('en-US')} ops/s\n`)
}
process.stdout.write(`${JSON.stringify({ results, stats: { warm: jwtWarm.stats(), hit: opaqueHit.stats() } })}\n`)
