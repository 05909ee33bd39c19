/**
 * Memory bound of the validation cache: validates `count` distinct opaque tokens through
 * `service.guard('orders')` with the default cache bound (10,000 entries / 16 MiB) and samples the
 * process RSS (and the V8 heap after a full GC) every `count / 10` tokens.
 *
 * To save time, the tokens are not obtained over the token endpoint: their records are written
 * straight into a memory store with `store.issue()` (what the endpoint stores for an opaque token).
 * Tokens are derived from their index, so the benchmark keeps no list of them. The store then holds
 * every record, so the reference point is the RSS after issuing, before validating; what grows after
 * that is the guard's.
 *
 * Run with `--expose-gc`. Prints progress lines (`# …`) and one JSON line.
 * Usage: `node --expose-gc --import tsx bench/micro/memory.ts [count] [maxSeconds]`
 */
import { createHash, randomBytes } from 'node:crypto'
import { createMemoryStore, createTokenService } from '../../src/server/index.js'
import { AUDIENCE, CLIENT_ID, gatepassConfig, PROXY, SCOPE, serviceEnv } from '../lib/common.js'

const count = Number(process.argv[2] ?? 1_000_000)
const maxSeconds = Number(process.argv[3] ?? 150)
const every = Math.max(1, Math.floor(count / 10))
const CONCURRENCY = Number(process.env.BENCH_MEMORY_CONCURRENCY ?? 64)

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const MiB = 1024 * 1024
function sample(label: string, validated: number, cacheSize: number) {
  gc()
  const m = process.memoryUsage()
  return { label, validated, rssMiB: m.rss / MiB, heapUsedMiB: m.heapUsed / MiB, cacheEntries: cacheSize }
}

const salt = randomBytes(12).toString('base64url')
const tokenOf = (i: number) => `gpb_${i.toString(36).padStart(8, '0')}_${salt}`

const store = createMemoryStore()
const service = createTokenService(gatepassConfig({ format: 'opaque' }), { store, env: serviceEnv, cleanup: false })
await service.ready()
const guard = service.guard(PROXY)
const samples = [sample('start', 0, 0)]

const t0 = performance.now()
const issuedAt = Date.now()
for (let i = 0; i < count; i++) {
  await store.issue({
    access: {
      digest: createHash('sha256').update(tokenOf(i)).digest('base64url'),
      environment: 'bench',
      clientId: CLIENT_ID,
      subject: CLIENT_ID,
      username: null,
      scope: SCOPE,
      audience: [AUDIENCE],
      binding: { kind: 'proxy', name: PROXY },
      issuedAt,
      expiresAt: issuedAt + 3_600_000,
      familyId: null,
      revokedAt: null,
    },
  })
}
const issueSeconds = (performance.now() - t0) / 1000
samples.push(sample('issued', 0, 0))
process.stdout.write(`# issued ${count.toLocaleString('en-US')} records in ${issueSeconds.toFixed(1)} s; RSS ${samples[1]!.rssMiB.toFixed(0)} MiB\n`)

const t1 = performance.now()
let validated = 0
let refused = 0
let stoppedEarly = false
const url = `${AUDIENCE}/orders`
while (validated < count) {
  const n = Math.min(CONCURRENCY, count - validated)
  const results = await Promise.all(Array.from({ length: n }, (_, k) => guard(new Request(url, { headers: { authorization: `Bearer ${tokenOf(validated + k)}` } }))))
  for (const r of results) if (!r.ok) refused++
  validated += n
  if (validated % every < CONCURRENCY && validated >= every) {
    const s = sample(`${validated}`, validated, service.stats().opaque.size)
    samples.push(s)
    process.stdout.write(`# validated ${validated.toLocaleString('en-US')}: RSS ${s.rssMiB.toFixed(0)} MiB, heap ${s.heapUsedMiB.toFixed(0)} MiB, cache ${s.cacheEntries} entries\n`)
  }
  if (validated < count && (performance.now() - t1) / 1000 > maxSeconds) {
    stoppedEarly = true
    break
  }
}
const validateSeconds = (performance.now() - t1) / 1000
const last = sample('end', validated, service.stats().opaque.size)
samples.push(last)
const stats = service.stats().opaque
process.stdout.write(
  `${JSON.stringify({ count, validated, refused, stoppedEarly, issueSeconds, validateSeconds, validationsPerSecond: validated / validateSeconds, samples, cache: stats })}\n`,
)
