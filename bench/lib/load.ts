/**
 * The load generator (autocannon, programmatic), run as its own process pinned to the other core.
 * Gets a plan as JSON in argv[2]: the targets of one group, warm-up and segment durations.
 *
 * Each target is first warmed up (not recorded), then the targets are measured in segments in
 * the order A B C … C B A (each half of the duration per pass), so a slow or fast period of the
 * host is shared by every target of the group. While a target is loaded, its server's CPU time is
 * read from /proc to report the cores it used. Prints one JSON line with a result per target.
 */
import { readFileSync } from 'node:fs'
import autocannon, { type Options, type Result } from 'autocannon'

export interface LoadTarget {
  name: string
  url: string
  method: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** File with one bearer token per line, rotated per request (`Authorization: Bearer …`). */
  tokensFile?: string
  /** Use only the first token of `tokensFile` (a repeated token). */
  repeatFirst?: boolean
  /** Server process id (for its CPU use). */
  pid?: number
  /** Warm-up seconds for this target (default: the plan's). */
  warmup?: number
}

export interface LoadPlan {
  targets: LoadTarget[]
  connections: number
  warmup: number
  /** Measured seconds per target, split over two passes. */
  duration: number
}

export interface LoadResult {
  name: string
  /** 2xx responses per second over the measured segments. */
  rps: number
  requests: number
  non2xx: number
  errors: number
  timeouts: number
  /** Whole milliseconds (autocannon truncates samples). */
  p50: number
  p99: number
  /** req/s of each segment, in order. */
  segments: number[]
  /** Server CPU cores used while loaded (null without /proc). */
  serverCores: number | null
}

const CLK_TCK = 100

function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return null
  }
}

function options(target: LoadTarget, connections: number, duration: number): Options {
  const base: Options = { url: target.url, connections, duration, method: target.method, headers: target.headers ?? {} }
  if (target.body !== undefined) base.body = target.body
  if (target.tokensFile) {
    const all = readFileSync(target.tokensFile, 'utf8').split('\n').filter(Boolean)
    const tokens = target.repeatFirst ? all.slice(0, 1) : all
    let i = 0
    const path = new URL(target.url).pathname
    base.requests = [
      {
        method: target.method,
        path,
        setupRequest: (request) => ({ ...request, headers: { ...target.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` } }),
      },
    ]
  }
  return base
}

async function measure(target: LoadTarget, connections: number, duration: number): Promise<{ result: Result; cores: number | null }> {
  const cpu0 = cpuSeconds(target.pid)
  const t0 = process.hrtime.bigint()
  const result = await autocannon(options(target, connections, duration))
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu1 = cpuSeconds(target.pid)
  return { result, cores: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / wall }
}

async function main(plan: LoadPlan): Promise<LoadResult[]> {
  for (const target of plan.targets) {
    const warm = target.warmup ?? plan.warmup
    if (warm > 0) await autocannon(options(target, plan.connections, warm))
  }
  const half = plan.duration / 2
  const order = [...plan.targets, ...[...plan.targets].reverse()]
  const runs = new Map<string, Array<{ result: Result; cores: number | null }>>()
  for (const target of order) {
    const list = runs.get(target.name) ?? []
    list.push(await measure(target, plan.connections, half))
    runs.set(target.name, list)
  }
  return plan.targets.map((target) => {
    const list = runs.get(target.name)!
    const ok = list.reduce((n, r) => n + r.result['2xx'], 0)
    const seconds = list.reduce((n, r) => n + r.result.duration, 0)
    const cores = list.every((r) => r.cores !== null) ? list.reduce((n, r) => n + r.cores!, 0) / list.length : null
    return {
      name: target.name,
      rps: ok / seconds,
      requests: list.reduce((n, r) => n + r.result.requests.total, 0),
      non2xx: list.reduce((n, r) => n + r.result.non2xx, 0),
      errors: list.reduce((n, r) => n + r.result.errors, 0),
      timeouts: list.reduce((n, r) => n + r.result.timeouts, 0),
      p50: Math.max(...list.map((r) => r.result.latency.p50)),
      p99: Math.max(...list.map((r) => r.result.latency.p99)),
      segments: list.map((r) => Math.round(r.result['2xx'] / r.result.duration)),
      serverCores: cores,
    }
  })
}

const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan
main(plan).then(
  (results) => process.stdout.write(`${JSON.stringify(results)}\n`),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
