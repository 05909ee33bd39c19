/**
 * Opens the token store a benchmark asks for. The SQLite and PostgreSQL stores are imported
 * dynamically: when their module is missing or fails to load, the benchmark reports the figure as
 * "n/a (store not available)" instead of failing the run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMemoryStore, type TokenStore } from '../../src/server/index.js'

export type StoreKind = 'memory' | 'sqlite' | 'postgres'

/** Thrown when a store cannot be used here; the message says why. */
export class StoreUnavailable extends Error {}

/** Default PostgreSQL URL; the user defaults to `PGUSER` or `postgres`. Override with `BENCH_PG_URL`. */
export function postgresURL(): string {
  if (process.env.BENCH_PG_URL) return process.env.BENCH_PG_URL
  return `postgresql://${encodeURIComponent(process.env.PGUSER ?? 'postgres')}@127.0.0.1:5432/test`
}

async function importOptional(relative: string): Promise<Record<string, unknown>> {
  const specifier = new URL(relative, import.meta.url).href
  try {
    return (await import(specifier)) as Record<string, unknown>
  } catch (err) {
    throw new StoreUnavailable(`cannot import ${relative.replace(/^(\.\.\/)+/, '')}: ${(err as Error).message.split('\n')[0]}`)
  }
}

/** A store and how to dispose of it (closing it and removing temp files / the throwaway schema). */
export async function openStore(kind: StoreKind): Promise<{ store: TokenStore; dispose: () => Promise<void> }> {
  if (kind === 'memory') {
    const store = createMemoryStore()
    return { store, dispose: () => store.close() }
  }
  if (kind === 'sqlite') {
    const mod = await importOptional('../../src/server/sqlite/index.ts')
    if (typeof mod.createSQLiteStore !== 'function') throw new StoreUnavailable('src/server/sqlite does not export createSQLiteStore')
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-bench-sqlite-'))
    const store = (await (mod.createSQLiteStore as (o: { path: string }) => Promise<TokenStore>)({ path: join(dir, 'bench.db') })) as TokenStore
    return {
      store,
      dispose: async () => {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const mod = await importOptional('../../src/server/postgres/index.ts')
  if (typeof mod.createPostgresStore !== 'function') throw new StoreUnavailable('src/server/postgres does not export createPostgresStore')
  const connectionString = postgresURL()
  const schema = `gatepass_bench_${process.pid}_${Date.now().toString(36)}`
  const pg = (await import('pg')).default
  const admin = new pg.Client({ connectionString, connectionTimeoutMillis: 3_000 })
  try {
    await admin.connect()
  } catch (err) {
    throw new StoreUnavailable(`PostgreSQL unreachable at 127.0.0.1:5432 (${(err as Error).message})`)
  }
  await admin.query(`CREATE SCHEMA "${schema}"`)
  const store = (await (mod.createPostgresStore as (o: { connectionString: string; schema: string }) => Promise<TokenStore> | TokenStore)({ connectionString, schema })) as TokenStore
  return {
    store,
    dispose: async () => {
      await store.close().catch(() => {})
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
      await admin.end()
    },
  }
}

/** `'redis'`: gatepass's Redis cache (second-level cache + revocation bus); `'none'`: in-process only. */
export type CacheKind = 'none' | 'redis'

/** Redis URL of the benchmarks. Override with `BENCH_REDIS_URL`. */
export function redisURL(): string {
  return process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
}

/**
 * The `validation` options that put the Redis cache behind the in-process one (under a prefix of
 * this process, so runs do not share entries), or none.
 */
export async function openCache(kind: CacheKind): Promise<{ validation: Record<string, unknown>; dispose: () => Promise<void> }> {
  if (kind === 'none') return { validation: {}, dispose: async () => {} }
  const mod = await importOptional('../../src/server/redis/index.ts')
  if (typeof mod.createRedisCache !== 'function') throw new StoreUnavailable('src/server/redis does not export createRedisCache')
  const create = mod.createRedisCache as (o: Record<string, unknown>) => Promise<{ cache: unknown; bus: unknown; close(): Promise<void>; status(): string }>
  const redis = await create({ url: redisURL(), prefix: `gatepass-bench:${process.pid}:`, onError: () => {} })
  if (redis.status() !== 'ready') {
    await redis.close()
    throw new StoreUnavailable(`Redis unreachable at ${redisURL()}`)
  }
  return { validation: { sharedCache: redis.cache, revocationBus: redis.bus }, dispose: () => redis.close() }
}

/**
 * {@link openStore} and {@link openCache} for a benchmark server: when either cannot be used here,
 * prints `UNAVAILABLE <reason>` and exits with code 3 (the orchestrator reports the figure as n/a).
 */
export async function openStoreAndCache(kind: StoreKind, cacheKind: CacheKind) {
  try {
    const opened = await openStore(kind)
    const cache = await openCache(cacheKind).catch(async (err: unknown) => {
      await opened.dispose()
      throw err
    })
    return {
      store: opened.store,
      validation: cache.validation,
      dispose: async () => {
        await cache.dispose()
        await opened.dispose()
      },
    }
  } catch (err) {
    if (!(err instanceof StoreUnavailable)) throw err
    process.stdout.write(`UNAVAILABLE ${err.message}\n`)
    process.exit(3)
  }
}
