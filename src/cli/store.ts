/**
 * The store `gatepass serve` uses, from the `store` field of the configuration. Internal.
 *
 * The SQLite and PostgreSQL stores are imported on demand, so the `memory` store (and the other
 * commands) never load a database driver. The import paths are relative to this file, which
 * holds both in `src/` (run with tsx) and in `dist/` (`dist/cli/gatepass.js` next to
 * `dist/server/<store>/index.js`, see `tsup.config.ts`).
 */
import { ConfigError, type ConfigIssue } from '../shared/errors.js'
import { createMemoryStore } from '../server/store/memory.js'
import type { TokenStore } from '../server/store/types.js'
import { CLIError } from './errors.js'

/**
 * The `store` field of a configuration file.
 *
 * - `memory`: tokens and keys are lost on exit.
 * - `sqlite` (default, the embedded store): `path` of the database file (default `.gatepass/gatepass.db`, relative to the
 *   current directory; its folder is created).
 * - `postgres`: `connectionString`, plain or `{ "env": "NAME" }` (default: `$DATABASE_URL`), and
 *   the `schema` holding the tables (default `gatepass`).
 */
export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path?: string }
  | { kind: 'postgres'; connectionString?: string | { env: string }; schema?: string }

/** Default SQLite database file of `gatepass serve`. */
export const DEFAULT_SQLITE_PATH = '.gatepass/gatepass.db'

const KNOWN_FIELDS: Record<StoreConfig['kind'], string[]> = {
  memory: ['kind'],
  sqlite: ['kind', 'path'],
  postgres: ['kind', 'connectionString', 'schema'],
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Checks the `store` field; throws a `ConfigError` naming every bad field (`store.…`). */
export function parseStoreConfig(value: unknown): StoreConfig {
  if (value === undefined) return { kind: 'sqlite' }
  if (!isRecord(value)) throw new ConfigError([{ path: 'store', message: 'must be an object like {"kind": "memory"}' }])
  const kind = value.kind
  if (kind !== 'memory' && kind !== 'sqlite' && kind !== 'postgres') {
    throw new ConfigError([{ path: 'store.kind', message: 'must be "memory", "sqlite" or "postgres"' }])
  }
  const issues: ConfigIssue[] = []
  for (const key of Object.keys(value)) {
    if (!KNOWN_FIELDS[kind].includes(key)) issues.push({ path: `store.${key}`, message: `unknown field for a ${kind} store (allowed: ${KNOWN_FIELDS[kind].join(', ')})` })
  }
  if (kind === 'sqlite' && value.path !== undefined && (typeof value.path !== 'string' || value.path === '')) {
    issues.push({ path: 'store.path', message: 'must be a non-empty string' })
  }
  const cs = value.connectionString
  if (kind === 'postgres' && cs !== undefined && !(typeof cs === 'string' && cs !== '') && !(isRecord(cs) && typeof cs.env === 'string' && Object.keys(cs).length === 1)) {
    issues.push({ path: 'store.connectionString', message: 'must be a connection string or {"env": "NAME"}' })
  }
  if (kind === 'postgres' && value.schema !== undefined && (typeof value.schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(value.schema))) {
    issues.push({ path: 'store.schema', message: 'must be a plain identifier (letters, digits, underscores; at most 63 characters)' })
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return value as StoreConfig
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
}

/**
 * Opens the store a configuration asks for.
 *
 * @param storeConfig The `store` field of the configuration (may be absent).
 * @param options `env` resolves `{"env": "NAME"}` references and the `DATABASE_URL` default.
 * @returns The store, ready; `service.close()` closes it.
 * @throws `ConfigError` for a bad `store` field, `CLIError` when a store module is missing,
 *   `StoreUnavailableError` (e.g. `StoreDriverError` when `better-sqlite3`/`pg` is not installed).
 */
export async function createStoreFromConfig(storeConfig: unknown, options: { env?: Record<string, string | undefined> } = {}): Promise<TokenStore> {
  const config = parseStoreConfig(storeConfig)
  const env = options.env ?? {}
  switch (config.kind) {
    case 'memory':
      return createMemoryStore()
    case 'sqlite': {
      const sqlite = await import('../server/sqlite/index.js').catch((err: unknown) => {
        if (isModuleNotFound(err) && !String((err as Error).message).includes('better-sqlite3')) {
          throw new CLIError('the SQLite store is not available in this build of gatepass', { cause: err })
        }
        throw err
      })
      return sqlite.createSQLiteStore({ path: config.path ?? DEFAULT_SQLITE_PATH })
    }
    case 'postgres': {
      const ref = config.connectionString ?? { env: 'DATABASE_URL' }
      const connectionString = typeof ref === 'string' ? ref : env[ref.env]
      if (connectionString === undefined || connectionString === '') {
        throw new ConfigError([{ path: 'store.connectionString', message: `environment variable "${typeof ref === 'string' ? '' : ref.env}" is not set` }])
      }
      const postgres = await import('../server/postgres/index.js').catch((err: unknown) => {
        if (isModuleNotFound(err) && !String((err as Error).message).includes("'pg'")) {
          throw new CLIError('the PostgreSQL store is not available in this build of gatepass', { cause: err })
        }
        throw err
      })
      return postgres.createPostgresStore({ connectionString, ...(config.schema !== undefined ? { schema: config.schema } : {}) })
    }
  }
}
