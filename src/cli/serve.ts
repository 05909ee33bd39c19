/**
 * `gatepass serve`: the token service of a configuration file on a node:http server. Internal.
 */
import { parseArgs } from 'node:util'
import { createTokenService } from '../server/index.js'
import type { TokenService } from '../server/index.js'
import { serve } from '../server/node/index.js'
import type { ServeResult } from '../server/node/index.js'
import { ConfigError } from '../shared/errors.js'
import type { ConfigIssue } from '../shared/errors.js'
import { CLIError, usageError } from './errors.js'
import { loadConfig } from './load-config.js'
import { createCacheFromConfig, type CacheConfig } from './cache.js'
import { createStoreFromConfig, parseStoreConfig } from './store.js'

/** How long in-flight requests get to finish after SIGINT/SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_DURATION = 10_000

function parsePort(value: string, source: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN
  if (!(port >= 0 && port <= 65535)) throw usageError(`${source} must be a port number between 0 and 65535`, 'serve')
  return port
}

/**
 * Fails before any store is opened when the `store` field is bad, listing the problems of the
 * rest of the configuration too, so one run shows every bad field.
 */
function checkConfig(config: unknown, storeConfig: unknown): void {
  let storeIssues: ConfigIssue[]
  try {
    parseStoreConfig(storeConfig)
    return
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    storeIssues = err.issues
  }
  let otherIssues: ConfigIssue[] = []
  try {
    // Validation only: the default in-memory store is never used, nothing is started.
    createTokenService(config, { env: process.env })
  } catch (err) {
    if (err instanceof ConfigError) otherIssues = err.issues.filter((issue) => !storeIssues.some((s) => s.path === issue.path) && issue.path !== 'store.kind')
  }
  throw new ConfigError([...otherIssues, ...storeIssues])
}

/** Runs `gatepass serve`; resolves once the server listens (the process then lives until a signal). */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.config === undefined) throw usageError('missing "--config <file>"', 'serve')
  const port = values.port !== undefined ? parsePort(values.port, '"--port"') : process.env.PORT ? parsePort(process.env.PORT, 'the PORT environment variable') : 8080
  const host = values.host ?? '127.0.0.1'

  const config = await loadConfig(values.config)
  const storeConfig = typeof config === 'object' && config !== null ? (config as { store?: unknown }).store : undefined
  checkConfig(config, storeConfig)
  const store = await createStoreFromConfig(storeConfig, { env: process.env })

  let service: TokenService
  let cache: Awaited<ReturnType<typeof createCacheFromConfig>> | undefined
  try {
    cache = await createCacheFromConfig((config as { cache?: CacheConfig }).cache, process.env)
    // The configuration's limits, counted on Redis when it is configured.
    const limits = (config as { rateLimit?: false | Record<string, number> }).rateLimit
    const rateLimit = limits === false ? false : cache.rateLimits ? { ...limits, store: cache.rateLimits } : undefined
    service = createTokenService(config, { env: process.env, store, validation: cache.validation, rateLimit, onError: (err) => console.error('gatepass: unexpected error', err) })
    await service.ready()
  } catch (err) {
    await store.close().catch(() => {})
    await cache?.close().catch(() => {})
    throw err
  }

  let server: ServeResult
  try {
    server = await serve(service.fetch, { port, host })
  } catch (err) {
    await service.close().catch(() => {})
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new CLIError(`port ${port} on ${host} is already in use (choose another with --port)`, { cause: err })
    if (code === 'EACCES') throw new CLIError(`not allowed to listen on port ${port} on ${host}`, { cause: err })
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new CLIError(`cannot listen on host "${host}" (${code})`, { cause: err })
    throw err
  }

  const info = service.describe()
  const lines = [`gatepass listening on ${server.url}`, `  environment: ${info.environment}`, `  issuer:      ${info.issuer}`]
  if (info.clients.length > 0) {
    const width = Math.max(...info.clients.map((c) => c.clientId.length))
    lines.push('  clients:')
    for (const c of info.clients) lines.push(`    ${c.clientId.padEnd(width)}  ${c.mode.padEnd(6)}  ${c.target}`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)

  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C: do not wait for slow requests.
      process.exit(1)
    }
    stopping = true
    process.stderr.write(`gatepass: ${signal} received, shutting down\n`)
    const force = setTimeout(() => {
      process.stderr.write('gatepass: requests still running after the grace period, exiting\n')
      process.exit(1)
    }, SHUTDOWN_GRACE_DURATION)
    force.unref()
    Promise.allSettled([server.close()])
      .then(() => Promise.all([service.close(), cache.close()]))
      .then(
        () => {
          clearTimeout(force)
          process.exitCode = 0
        },
        (err: unknown) => {
          clearTimeout(force)
          process.stderr.write(`gatepass: error while closing the store: ${(err as Error).message}\n`)
          process.exitCode = 1
        },
      )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return 0
}
