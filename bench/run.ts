/**
 * `npm run bench`: gatepass against its baselines, measured in the same run, printed as one
 * markdown table and written to bench/results/latest.md and bench/results/latest.json.
 * See bench/README.md for what each figure means.
 *
 * Environment: BENCH_DURATION (measured seconds per HTTP figure, default 6), BENCH_WARMUP
 * (seconds, default 1.5), BENCH_CONNECTIONS (default 10), BENCH_MICRO_TIME (ms per in-process
 * benchmark, default 2000), BENCH_MEMORY_TOKENS (default 1,000,000), BENCH_MEMORY_SECONDS (time
 * cap of the memory run's validation phase, default 90), BENCH_ONLY (comma-separated groups:
 * issue-rs256, issue-es256, issue-opaque, validate-http, guard, client, memory), BENCH_PG_URL.
 */
import { execSync } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { LoadPlan, LoadResult, LoadTarget } from './lib/load.js'
import { hasTaskset, runJSON, startServer, Unavailable, type RunningServer } from './lib/proc.js'

process.env.BENCH_CLIENT_SECRET ??= randomBytes(32).toString('base64url')
const { TOKEN_BODY, TOKEN_HEADERS } = await import('./lib/common.js')

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`)
  return value
}
const DURATION = num('BENCH_DURATION', 6)
const WARMUP = num('BENCH_WARMUP', 1.5)
const CONNECTIONS = num('BENCH_CONNECTIONS', 10)
const MICRO_TIME = num('BENCH_MICRO_TIME', 2000)
const MEMORY_TOKENS = num('BENCH_MEMORY_TOKENS', 1_000_000)
const MEMORY_SECONDS = num('BENCH_MEMORY_SECONDS', 90)
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null
const wanted = (group: string) => ONLY === null || ONLY.has(group)

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const log = (message: string) => process.stderr.write(`${message}\n`)

// ---------------------------------------------------------------- HTTP groups

interface ServerSpec {
  name: string
  script: string
  args?: string[]
  path: string
  method: 'GET' | 'POST'
  /** Token endpoint request (form body + Basic auth). */
  tokenRequest?: boolean
  /** Bearer tokens from the file the server announced: rotated, or only the first one repeated. */
  bearer?: 'rotate' | 'first'
  warmup?: number
}

interface GroupOutcome {
  results: Map<string, LoadResult>
  /** Servers that could not run, with the reason. */
  unavailable: Map<string, string>
  loadavg: [number, number]
}

async function runGroup(label: string, specs: ServerSpec[]): Promise<GroupOutcome> {
  log(`\n▶ ${label}: ${specs.map((s) => s.name).join(', ')}`)
  const load0 = loadavg()[0]!
  const running: Array<{ spec: ServerSpec; server: RunningServer }> = []
  const unavailable = new Map<string, string>()
  try {
    for (const spec of specs) {
      try {
        running.push({ spec, server: await startServer(spec.name, here(spec.script), spec.args ?? []) })
      } catch (err) {
        if (!(err instanceof Unavailable)) throw err
        unavailable.set(spec.name, err.message)
        log(`  ${spec.name}: n/a (${err.message})`)
      }
    }
    const targets: LoadTarget[] = running.map(({ spec, server }) => {
      const target: LoadTarget = { name: spec.name, url: `http://127.0.0.1:${server.port}${spec.path}`, method: spec.method, pid: server.pid }
      if (spec.tokenRequest) {
        target.headers = TOKEN_HEADERS
        target.body = TOKEN_BODY
      }
      if (spec.bearer) {
        target.tokensFile = server.extra[0]!
        target.repeatFirst = spec.bearer === 'first'
      }
      if (spec.warmup !== undefined) target.warmup = spec.warmup
      return target
    })
    const results = new Map<string, LoadResult>()
    if (targets.length > 0) {
      await sanityCheck(targets)
      const plan: LoadPlan = { targets, connections: CONNECTIONS, warmup: WARMUP, duration: DURATION }
      const out = await runJSON<LoadResult[]>('load generator', here('lib/load.ts'), [JSON.stringify(plan)], hasTaskset ? 1 : null)
      for (const r of out) {
        results.set(r.name, r)
        const bad = r.non2xx + r.errors + r.timeouts
        log(`  ${r.name}: ${fmt(r.rps)} req/s (segments ${r.segments.map((s) => fmt(s)).join(' / ')}; server ${r.serverCores?.toFixed(2) ?? '?'} cores)${bad ? ` ⚠ ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : ''}`)
      }
    }
    return { results, unavailable, loadavg: [load0, loadavg()[0]!] }
  } finally {
    await Promise.all(running.map(({ server }) => server.stop()))
  }
}

/** One request per target before the load: a 200 (a token response with an access token) or the run stops. */
async function sanityCheck(targets: LoadTarget[]) {
  for (const t of targets) {
    const headers: Record<string, string> = { ...t.headers }
    if (t.tokensFile) headers.authorization = `Bearer ${readFileSync(t.tokensFile, 'utf8').split('\n')[0]}`
    const init: RequestInit = { method: t.method, headers }
    if (t.body !== undefined) init.body = t.body
    const response = await fetch(t.url, init)
    const text = await response.text()
    if (response.status !== 200) throw new Error(`${t.name}: sanity request got ${response.status}: ${text.slice(0, 200)}`)
    if (t.body !== undefined && !(JSON.parse(text) as { access_token?: string }).access_token) throw new Error(`${t.name}: no access_token in ${text.slice(0, 200)}`)
  }
}

// ---------------------------------------------------------------- table

interface Row {
  figure: string
  gatepass: string
  baseline: string
  baselineValue: string
  ratio: string
  target: string
  met: string
}

const rows: Row[] = []

function fmt(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(3)
}

const NA = 'n/a'

/**
 * A ratio row; `minRatio` null = informational (no target in issue 7). `perCPU` (HTTP rows): the
 * same two figures per CPU-second of the server process, shown next to the ratio because other
 * workloads on the machine take a varying share of the server's core.
 */
function ratioRow(figure: string, unit: string, gp: number | string, baseline: string, base: number | string, minRatio: number | null, perCPU?: [number | null, number | null]) {
  const numeric = typeof gp === 'number' && typeof base === 'number'
  const ratio = numeric ? gp / base : null
  const cpuRatio = numeric && perCPU?.[0] && perCPU[1] ? perCPU[0] / perCPU[1] : null
  rows.push({
    figure,
    gatepass: typeof gp === 'number' ? `${fmt(gp)} ${unit}` : gp,
    baseline,
    baselineValue: typeof base === 'number' ? `${fmt(base)} ${unit}` : base,
    ratio: ratio === null ? NA : `${ratio.toFixed(2)}×${cpuRatio === null ? '' : ` (per CPU-s ${cpuRatio.toFixed(2)}×)`}`,
    target: minRatio === null ? '—' : `≥ ${minRatio}×`,
    met: minRatio === null ? (ratio === null ? NA : 'info') : ratio === null ? NA : ratio >= minRatio ? '✅ yes' : '❌ no',
  })
}

function httpValue(outcome: GroupOutcome | Error | undefined, name: string): number | string {
  if (outcome === undefined) return 'not run'
  if (outcome instanceof Error) return `error: ${outcome.message.split('\n')[0]}`
  const reason = outcome.unavailable.get(name)
  if (reason !== undefined) return `n/a (store not available: ${reason})`
  const r = outcome.results.get(name)
  if (!r) return NA
  if (r.non2xx + r.errors + r.timeouts > 0) return `${fmt(r.rps)} req/s ⚠ ${r.non2xx + r.errors + r.timeouts} failed`
  return r.rps
}

/** Requests per CPU-second of the server process (null when unknown). */
function perCPU(outcome: GroupOutcome | Error | undefined, name: string): number | null {
  if (outcome === undefined || outcome instanceof Error) return null
  const r = outcome.results.get(name)
  return r && r.serverCores ? r.rps / r.serverCores : null
}

async function attempt<T>(label: string, f: () => Promise<T>): Promise<T | Error> {
  try {
    return await f()
  } catch (err) {
    log(`  ✗ ${label}: ${(err as Error).message}`)
    return err as Error
  }
}

// ---------------------------------------------------------------- run

const started = new Date()
const t0 = Date.now()
const loadavgAtStart = loadavg()
log(`gatepass bench — ${started.toISOString()} — ${hasTaskset ? 'servers on core 0, load generator on core 1 (taskset)' : 'no taskset: processes not pinned'}; ${DURATION} s per HTTP figure, ${WARMUP} s warm-up, ${CONNECTIONS} connections`)

const tokenPath = '/auth/token'
const groups: Record<string, GroupOutcome | Error | undefined> = {}

if (wanted('issue-rs256')) {
  groups.rs256 = await attempt('issue-rs256', () =>
    runGroup('JWT issuance RS256', [
      { name: 'bare-rs256', script: 'baselines/bare-issuer.ts', args: ['rs256'], path: '/token', method: 'POST', tokenRequest: true },
      { name: 'gatepass-rs256', script: 'servers/gatepass-issuer.ts', args: ['jwt', 'RS256', 'memory'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'oidc-provider-rs256', script: 'baselines/oidc-provider.ts', args: ['rs256'], path: '/token', method: 'POST', tokenRequest: true, warmup: Math.max(3, WARMUP) },
    ]),
  )
}
if (wanted('issue-es256')) {
  groups.es256 = await attempt('issue-es256', () =>
    runGroup('JWT issuance ES256', [
      { name: 'bare-es256', script: 'baselines/bare-issuer.ts', args: ['es256'], path: '/token', method: 'POST', tokenRequest: true },
      { name: 'gatepass-es256', script: 'servers/gatepass-issuer.ts', args: ['jwt', 'ES256', 'memory'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'oidc-provider-es256', script: 'baselines/oidc-provider.ts', args: ['es256'], path: '/token', method: 'POST', tokenRequest: true, warmup: Math.max(3, WARMUP) },
    ]),
  )
}
if (wanted('issue-opaque')) {
  groups.opaque = await attempt('issue-opaque', () =>
    runGroup('opaque issuance', [
      { name: 'oauth2-server', script: 'baselines/oauth2-server.ts', path: '/token', method: 'POST', tokenRequest: true },
      { name: 'bare-opaque', script: 'baselines/bare-issuer.ts', args: ['opaque'], path: '/token', method: 'POST', tokenRequest: true },
      { name: 'gatepass-memory', script: 'servers/gatepass-issuer.ts', args: ['opaque', 'RS256', 'memory'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'gatepass-sqlite', script: 'servers/gatepass-issuer.ts', args: ['opaque', 'RS256', 'sqlite'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'gatepass-postgres', script: 'servers/gatepass-issuer.ts', args: ['opaque', 'RS256', 'postgres'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'gatepass-sqlite-redis', script: 'servers/gatepass-issuer.ts', args: ['opaque', 'RS256', 'sqlite', 'redis'], path: tokenPath, method: 'POST', tokenRequest: true },
      { name: 'gatepass-postgres-redis', script: 'servers/gatepass-issuer.ts', args: ['opaque', 'RS256', 'postgres', 'redis'], path: tokenPath, method: 'POST', tokenRequest: true },
    ]),
  )
}
if (wanted('validate-http')) {
  groups.validate = await attempt('validate-http', () =>
    runGroup('validation over HTTP', [
      { name: 'bare-validator', script: 'baselines/bare-validator.ts', args: ['1000'], path: '/orders', method: 'GET', bearer: 'rotate' },
      { name: 'gatepass-cold', script: 'servers/gatepass-validator.ts', args: ['cold', '1000'], path: '/orders', method: 'GET', bearer: 'rotate' },
      { name: 'gatepass-warm', script: 'servers/gatepass-validator.ts', args: ['warm', '1'], path: '/orders', method: 'GET', bearer: 'first' },
      { name: 'adapter-hello', script: 'baselines/hello.ts', args: ['adapter'], path: '/orders', method: 'GET' },
      { name: 'node-hello', script: 'baselines/hello.ts', args: ['node'], path: '/orders', method: 'GET' },
    ]),
  )
}

if (wanted('validate-opaque')) {
  const opaqueValidator = (name: string, store: string, cache: string, mode: 'hit' | 'miss'): ServerSpec => ({
    name,
    script: 'servers/gatepass-opaque-validator.ts',
    args: [store, cache, mode, '1000'],
    path: '/orders',
    method: 'GET',
    bearer: mode === 'hit' ? 'first' : 'rotate',
  })
  groups.validateOpaque = await attempt('validate-opaque', () =>
    runGroup('opaque validation over HTTP, per store', [
      opaqueValidator('opaque-hit-memory', 'memory', 'none', 'hit'),
      opaqueValidator('opaque-hit-sqlite', 'sqlite', 'none', 'hit'),
      opaqueValidator('opaque-hit-postgres', 'postgres', 'none', 'hit'),
      opaqueValidator('opaque-hit-postgres-redis', 'postgres', 'redis', 'hit'),
      opaqueValidator('opaque-miss-memory', 'memory', 'none', 'miss'),
      opaqueValidator('opaque-miss-sqlite', 'sqlite', 'none', 'miss'),
      opaqueValidator('opaque-miss-postgres', 'postgres', 'none', 'miss'),
      opaqueValidator('opaque-miss-postgres-redis', 'postgres', 'redis', 'miss'),
    ]),
  )
}

interface GuardOut {
  results: Record<string, number>
}
interface ClientOut {
  unavailable?: string
  cacheHitOps: number
  callers: number
  stampedeRequests: number
  distinct: number
  fresh: boolean
  kyOps: number
  apiOps: number
}
interface MemorySample {
  label: string
  validated: number
  rssMiB: number
  heapUsedMiB: number
  cacheEntries: number
}
interface MemoryOut {
  count: number
  validated: number
  refused: number
  stoppedEarly: boolean
  issueSeconds: number
  validateSeconds: number
  validationsPerSecond: number
  samples: MemorySample[]
  cache: { size: number; bytes: number }
}

let guardOut: GuardOut | Error | undefined
let clientOut: ClientOut | Error | undefined
let memoryOut: MemoryOut | Error | undefined
if (wanted('guard')) {
  log('\n▶ validation in-process (tinybench, pinned to core 0)')
  guardOut = await attempt('guard', () => runJSON<GuardOut>('guard micro-benchmarks', here('micro/validation.ts'), [String(MICRO_TIME)], 0))
}
if (wanted('client')) {
  log('\n▶ token client (in-process)')
  clientOut = await attempt('client', () => runJSON<ClientOut>('client benchmarks', here('micro/client.ts'), [String(MICRO_TIME), '1000'], 0))
}
if (wanted('memory')) {
  log(`\n▶ memory: ${fmt(MEMORY_TOKENS)} distinct opaque tokens through the guard (validation capped at ${MEMORY_SECONDS} s)`)
  memoryOut = await attempt('memory', () => runJSON<MemoryOut>('memory benchmark', here('micro/memory.ts'), [String(MEMORY_TOKENS), String(MEMORY_SECONDS)], 0, ['--expose-gc', '--max-old-space-size=4096']))
}

// ---------------------------------------------------------------- rows

/** An HTTP ratio row: `[group, server]` of gatepass and of the baseline. */
function httpRow(figure: string, gp: [GroupOutcome | Error | undefined, string], baseline: string, base: [GroupOutcome | Error | undefined, string], minRatio: number | null) {
  ratioRow(figure, 'req/s', httpValue(...gp), baseline, httpValue(...base), minRatio, [perCPU(...gp), perCPU(...base)])
}

if (groups.rs256) {
  httpRow('JWT issuance RS256, HTTP', [groups.rs256, 'gatepass-rs256'], 'bare node:http + jose', [groups.rs256, 'bare-rs256'], 0.95)
  httpRow('JWT issuance RS256, HTTP', [groups.rs256, 'gatepass-rs256'], 'oidc-provider (JWT)', [groups.rs256, 'oidc-provider-rs256'], 1.5)
}
if (groups.es256) {
  httpRow('JWT issuance ES256, HTTP', [groups.es256, 'gatepass-es256'], 'bare node:http + jose', [groups.es256, 'bare-es256'], null)
  httpRow('JWT issuance ES256, HTTP', [groups.es256, 'gatepass-es256'], 'oidc-provider (JWT)', [groups.es256, 'oidc-provider-es256'], null)
}
if (groups.opaque) {
  const mem: [GroupOutcome | Error | undefined, string] = [groups.opaque, 'gatepass-memory']
  httpRow('opaque issuance, memory store, HTTP', mem, '@node-oauth/oauth2-server (opaque)', [groups.opaque, 'oauth2-server'], 1.5)
  httpRow('opaque issuance, memory store, HTTP', mem, 'bare node:http opaque', [groups.opaque, 'bare-opaque'], null)
  httpRow('opaque issuance, SQLite store, HTTP', [groups.opaque, 'gatepass-sqlite'], 'gatepass memory store', mem, 0.6)
  httpRow('opaque issuance, PostgreSQL store, HTTP', [groups.opaque, 'gatepass-postgres'], 'gatepass memory store', mem, null)
  httpRow('opaque issuance, SQLite store + Redis cache, HTTP', [groups.opaque, 'gatepass-sqlite-redis'], 'gatepass memory store', mem, null)
  httpRow('opaque issuance, PostgreSQL store + Redis cache, HTTP', [groups.opaque, 'gatepass-postgres-redis'], 'gatepass memory store', mem, null)
}
if (groups.validateOpaque) {
  const g = groups.validateOpaque
  const memHit: [GroupOutcome | Error | undefined, string] = [g, 'opaque-hit-memory']
  httpRow('opaque validation over HTTP, in-process cache hit, SQLite store', [g, 'opaque-hit-sqlite'], 'cache hit, memory store', memHit, 0.9)
  httpRow('opaque validation over HTTP, in-process cache hit, PostgreSQL store', [g, 'opaque-hit-postgres'], 'cache hit, memory store', memHit, 0.9)
  httpRow('opaque validation over HTTP, in-process cache hit, PostgreSQL + Redis', [g, 'opaque-hit-postgres-redis'], 'cache hit, memory store', memHit, 0.9)
  const memMiss: [GroupOutcome | Error | undefined, string] = [g, 'opaque-miss-memory']
  httpRow('opaque validation over HTTP, no in-process cache, memory store', memMiss, 'cache hit, memory store', memHit, null)
  httpRow('opaque validation over HTTP, no in-process cache, SQLite store', [g, 'opaque-miss-sqlite'], 'no in-process cache, memory store', memMiss, null)
  httpRow('opaque validation over HTTP, no in-process cache, PostgreSQL store', [g, 'opaque-miss-postgres'], 'no in-process cache, memory store', memMiss, null)
  httpRow('opaque validation over HTTP, no in-process cache, PostgreSQL + Redis (Redis hit)', [g, 'opaque-miss-postgres-redis'], 'no in-process cache, memory store', memMiss, null)
}
if (groups.validate) {
  const bare: [GroupOutcome | Error | undefined, string] = [groups.validate, 'bare-validator']
  httpRow('validation over HTTP, JWT cold', [groups.validate, 'gatepass-cold'], 'bare node:http + jose validator', bare, 0.9)
  httpRow('validation over HTTP, JWT warm (repeated)', [groups.validate, 'gatepass-warm'], 'bare node:http + jose validator', bare, 3)
  httpRow('ceiling: Node adapter, no guard (`serve(async () => new Response("ok"))`)', [groups.validate, 'adapter-hello'], 'bare node:http + jose validator', bare, null)
  httpRow('ceiling: plain node:http "ok"', [groups.validate, 'node-hello'], 'bare node:http + jose validator', bare, null)
}
if (guardOut !== undefined) {
  const g = guardOut instanceof Error ? null : guardOut.results
  const v = (name: string) => (g ? g[name]! : `error: ${(guardOut as Error).message.split('\n')[0]}`)
  const jose = v('jose.jwtVerify RS256')
  ratioRow('guard in-process, JWT cold', 'ops/s', v('guard JWT cold'), 'jose.jwtVerify RS256', jose, 0.9)
  ratioRow('guard in-process, JWT warm', 'ops/s', v('guard JWT warm'), 'jose.jwtVerify RS256', jose, 20)
  const hit = v('guard opaque cache hit')
  rows.push({
    figure: 'guard in-process, opaque cache hit',
    gatepass: typeof hit === 'number' ? `${fmt(hit)} ops/s` : hit,
    baseline: 'absolute target (one core)',
    baselineValue: '300,000 ops/s',
    ratio: typeof hit === 'number' ? `${(hit / 300_000).toFixed(2)}×` : NA,
    target: '≥ 300,000 ops/s',
    met: typeof hit === 'number' ? (hit >= 300_000 ? '✅ yes' : '❌ no') : NA,
  })
  ratioRow('guard in-process, opaque store hit (memory)', 'ops/s', v('guard opaque store hit'), 'jose.jwtVerify RS256', jose, null)
  ratioRow('why gatepass hashes with node:crypto where it can: an awaited crypto.subtle.digest SHA-256 of a JWT', 'ops/s', v('crypto.subtle.digest SHA-256'), 'node:crypto createHash', v('node:crypto createHash SHA-256'), null)
}
if (clientOut !== undefined) {
  if (clientOut instanceof Error || clientOut.unavailable !== undefined) {
    const why = clientOut instanceof Error ? `error: ${clientOut.message.split('\n')[0]}` : `n/a (client not available: ${clientOut.unavailable})`
    rows.push({ figure: 'client getToken(), cache hit', gatepass: why, baseline: '—', baselineValue: '—', ratio: NA, target: '—', met: NA })
  } else {
    const median = 1e6 / clientOut.cacheHitOps
    rows.push({ figure: 'client getToken(), cache hit', gatepass: `${fmt(clientOut.cacheHitOps)} ops/s (${median.toFixed(2)} µs each)`, baseline: '—', baselineValue: '—', ratio: '—', target: '≤ 2 µs', met: median <= 2 ? '✅ yes' : '❌ no' })
    rows.push({ figure: 'createAPIClient request (stub fetch)', gatepass: `${fmt(clientOut.apiOps)} req/s`, baseline: 'plain ky (stub fetch)', baselineValue: `${fmt(clientOut.kyOps)} req/s`, ratio: `${(clientOut.apiOps / clientOut.kyOps).toFixed(2)}×`, target: '—', met: 'info' })
    rows.push({
      figure: `client, ${clientOut.callers} concurrent getToken() at expiry`,
      gatepass: `${clientOut.stampedeRequests} token request(s)`,
      baseline: 'single-flight',
      baselineValue: '1 request',
      ratio: '—',
      target: '= 1 (all callers get the new token)',
      met: clientOut.stampedeRequests === 1 && clientOut.distinct === 1 && clientOut.fresh ? '✅ yes' : '❌ no',
    })
  }
}
let memoryVerdict: { growthMiB: number; heapGrowthMiB: number; met: boolean } | null = null
if (memoryOut !== undefined) {
  if (memoryOut instanceof Error) {
    rows.push({ figure: 'memory, distinct opaque tokens via guard', gatepass: `error: ${memoryOut.message.split('\n')[0]}`, baseline: '—', baselineValue: '—', ratio: NA, target: '—', met: NA })
  } else {
    const issued = memoryOut.samples.find((s) => s.label === 'issued')!
    const checkpoints = memoryOut.samples.filter((s) => s.validated > 0)
    // Reference: the first sample taken once the cache reached its entry bound.
    const first = checkpoints.find((s) => s.cacheEntries >= 10_000) ?? checkpoints[0]
    const last = memoryOut.samples.at(-1)!
    if (first) {
      const later = checkpoints.slice(checkpoints.indexOf(first) + 1)
      const maxRSS = Math.max(first.rssMiB, ...later.map((s) => s.rssMiB))
      const growthMiB = maxRSS - first.rssMiB
      const heapGrowthMiB = last.heapUsedMiB - first.heapUsedMiB
      // "Bounded": once the cache is full (first checkpoint, ≥ 10× the entry bound), RSS grows by less than
      // 32 MiB (twice the 16 MiB byte bound) and the heap after a full GC by less than 8 MiB.
      const met = first.cacheEntries <= 10_000 && last.cacheEntries <= 10_000 && growthMiB < 32 && heapGrowthMiB < 8 && memoryOut.refused === 0
      memoryVerdict = { growthMiB, heapGrowthMiB, met }
      const cacheHeapMiB = first.heapUsedMiB - issued.heapUsedMiB
      rows.push({
        figure: `memory, ${fmt(memoryOut.validated)} distinct opaque tokens via guard${memoryOut.stoppedEarly ? ` (of ${fmt(memoryOut.count)}; time cap)` : ''}`,
        gatepass: `RSS ${issued.rssMiB.toFixed(0)} MiB before → ${first.rssMiB.toFixed(0)} MiB at ${fmt(first.validated)} (cache full; heap +${cacheHeapMiB.toFixed(1)} MiB) → ${last.rssMiB.toFixed(0)} MiB at end; after ${fmt(first.validated)}: RSS max +${growthMiB.toFixed(1)} MiB, heap ${heapGrowthMiB >= 0 ? '+' : ''}${heapGrowthMiB.toFixed(1)} MiB`,
        baseline: 'default cache bound',
        baselineValue: `${fmt(last.cacheEntries)} entries (bound 10,000 / 16 MiB)`,
        ratio: '—',
        target: 'no growth once the cache is full (< 32 MiB RSS, < 8 MiB heap)',
        met: met ? '✅ yes' : '❌ no',
      })
    }
  }
}

// ---------------------------------------------------------------- output

const header = '| figure | gatepass | baseline | baseline value | ratio | target | met? |\n|---|---:|---|---:|---:|---|---|'
const table = [header, ...rows.map((r) => `| ${r.figure} | ${r.gatepass} | ${r.baseline} | ${r.baselineValue} | ${r.ratio} | ${r.target} | ${r.met} |`)].join('\n')

const gitCommit = (() => {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim()
  } catch {
    return null
  }
})()
const version = (pkg: string) => {
  try {
    return (JSON.parse(readFileSync(here(`../node_modules/${pkg}/package.json`), 'utf8')) as { version: string }).version
  } catch {
    return null
  }
}
const machine = {
  cpuModel: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  date: started.toISOString(),
  gitCommit,
  pinned: hasTaskset,
  loadavgAtStart,
  versions: Object.fromEntries(['jose', 'oidc-provider', '@node-oauth/oauth2-server', 'autocannon', 'tinybench', 'better-sqlite3', 'pg'].map((p) => [p, version(p)])),
}
const settings = { durationSeconds: DURATION, warmupSeconds: WARMUP, connections: CONNECTIONS, microTimeMs: MICRO_TIME, memoryTokens: MEMORY_TOKENS, memorySeconds: MEMORY_SECONDS, only: ONLY ? [...ONLY] : null }
const elapsed = (Date.now() - t0) / 1000

const notes = [
  `Measured ${started.toISOString()} on ${machine.cpuModel} × ${machine.cores}, Node ${machine.node}, commit ${gitCommit ?? '?'}; ${elapsed.toFixed(0)} s in all.`,
  hasTaskset
    ? `HTTP servers pinned to core 0 (\`taskset -c 0\`, one fresh process each), autocannon on core 1; ${CONNECTIONS} connections, ${WARMUP} s warm-up per server (oidc-provider ≥ 3 s), then ${DURATION} s per server in two halves ordered A B C … C B A within each group, so the baselines share the host's slow and fast periods.`
    : `No taskset: servers and load generator share the cores.`,
  'Load average (1 min) of the machine, start/end of each HTTP group: ' +
    Object.entries(groups)
      .map(([k, g]) => (g && !(g instanceof Error) ? `${k} ${g.loadavg.map((x) => x.toFixed(1)).join('/')}` : null))
      .filter(Boolean)
      .join(', ') +
    ' (other workloads share the 2 cores; compare ratios, not absolute values).',
  'JWT cold = every request verifies a signature (`verifiedJWTCacheSize: 0`, 1,000 tokens rotated); warm = one token repeated, default verified-token cache. The bare validator has no cache, so one measurement (tokens rotated) serves both.',
  'In-process: tinybench, one call in flight, requests built before timing; raw jose verifies the same RS256 tokens with the public key as a CryptoKey.',
]
if (!(memoryOut instanceof Error) && memoryOut !== undefined) {
  notes.push(
    `Memory: ${fmt(memoryOut.count)} opaque token records written with \`store.issue()\` into a memory store (${memoryOut.issueSeconds.toFixed(1)} s), then ${fmt(memoryOut.validated)} validated through the guard, 64 in flight (${fmt(memoryOut.validationsPerSecond)}/s${memoryOut.stoppedEarly ? `, stopped by the ${MEMORY_SECONDS} s cap` : ''}). RSS/heap samples (after a full GC): ${memoryOut.samples.map((s) => `${s.label} ${s.rssMiB.toFixed(0)}/${s.heapUsedMiB.toFixed(0)} MiB`).join(', ')}.`,
  )
}

const markdown = `# gatepass benchmark results\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`
process.stdout.write(`\n${table}\n`)
const resultsDir = here('results')
mkdirSync(resultsDir, { recursive: true })
writeFileSync(`${resultsDir}/latest.md`, markdown)
writeFileSync(
  `${resultsDir}/latest.json`,
  `${JSON.stringify(
    {
      machine: { ...machine, loadavgAtEnd: loadavg() },
      settings,
      elapsedSeconds: elapsed,
      rows,
      http: Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g instanceof Error ? { error: g.message } : g ? { results: [...g.results.values()], unavailable: Object.fromEntries(g.unavailable), loadavg: g.loadavg } : null])),
      guard: guardOut instanceof Error ? { error: guardOut.message } : guardOut,
      client: clientOut instanceof Error ? { error: clientOut.message } : clientOut,
      memory: memoryOut instanceof Error ? { error: memoryOut.message } : memoryOut,
      memoryVerdict,
    },
    null,
    2,
  )}\n`,
)
log(`\nwritten: bench/results/latest.md, bench/results/latest.json (${elapsed.toFixed(0)} s)`)
