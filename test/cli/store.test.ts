import { describe, expect, it } from 'vitest'
import { createStoreFromConfig, parseStoreConfig } from '../../src/cli/store.js'
import { ConfigError } from '../../src/shared/errors.js'

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('parseStoreConfig', () => {
  it('defaults to the embedded SQLite store', () => {
    expect(parseStoreConfig(undefined)).toEqual({ kind: 'sqlite' })
  })

  it('accepts the three kinds with their fields', () => {
    expect(parseStoreConfig({ kind: 'sqlite', path: 'data/tokens.db' })).toEqual({ kind: 'sqlite', path: 'data/tokens.db' })
    expect(parseStoreConfig({ kind: 'postgres', connectionString: { env: 'PG_URL' }, schema: 'gp' })).toEqual({ kind: 'postgres', connectionString: { env: 'PG_URL' }, schema: 'gp' })
  })

  it('names every bad field by path', () => {
    expect(issuesOf(() => parseStoreConfig('sqlite'))).toEqual([{ path: 'store', message: 'must be an object like {"kind": "memory"}' }])
    expect(issuesOf(() => parseStoreConfig({ kind: 'redis' }))).toEqual([{ path: 'store.kind', message: 'must be "memory", "sqlite" or "postgres"' }])
    expect(issuesOf(() => parseStoreConfig({ kind: 'sqlite', path: '', file: 'x' }))).toEqual([
      { path: 'store.file', message: 'unknown field for a sqlite store (allowed: kind, path)' },
      { path: 'store.path', message: 'must be a non-empty string' },
    ])
    expect(issuesOf(() => parseStoreConfig({ kind: 'postgres', connectionString: { env: 1 }, schema: 'a;b' }))).toEqual([
      { path: 'store.connectionString', message: 'must be a connection string or {"env": "NAME"}' },
      { path: 'store.schema', message: 'must be a plain identifier (letters, digits, underscores; at most 63 characters)' },
    ])
  })
})

describe('createStoreFromConfig', () => {
  it('opens a memory store', async () => {
    const store = await createStoreFromConfig({ kind: 'memory' })
    expect(await store.findAccessToken('nope')).toBeNull()
    await store.close()
  })

  it('opens a SQLite store', async () => {
    const store = await createStoreFromConfig({ kind: 'sqlite', path: ':memory:' })
    expect(await store.listKeys('test')).toEqual([])
    await store.close()
  })

  it('refuses a PostgreSQL store whose connection string variable is not set', async () => {
    await expect(createStoreFromConfig({ kind: 'postgres' }, { env: {} })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      issues: [{ path: 'store.connectionString', message: 'environment variable "DATABASE_URL" is not set' }],
    })
  })
})
