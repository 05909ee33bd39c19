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
