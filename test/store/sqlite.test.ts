import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createSQLiteStore, loadDriver, StoreDriverError } from '../../src/server/sqlite/index.js'
import type { SQLiteStoreOptions } from '../../src/server/sqlite/index.js'
import { migrations } from '../../src/server/sqlite/migrations.js'
import { runStoreContract } from './_contract.js'

const dir = mkdtempSync(join(tmpdir(), 'gatepass-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const file = () => join(dir, `nested-${++n}`, 'tokens.db')

runStoreContract('sqlite (file)', async () => ({ store: await createSQLiteStore({ path: file() }), cleanup: async () => {} }))
runStoreContract('sqlite (:memory:)', async () => ({ store: await createSQLiteStore({ path: ':memory:' }), cleanup: async () => {} }))

const access = (digest: string) => ({
  digest,
  environment: 'prod',
  clientId: 'c',
  subject: 'c',
  username: null,
  scope: '',
  audience: ['a'],
  binding: { kind: 'proxy' as const, name: 'p' },
  issuedAt: 1,
  expiresAt: null,
  familyId: null,
  revokedAt: null,
})

describe('createSQLiteStore', () => {
  it('creates the parent folder, uses WAL and keeps data across a reopen', async () => {
    const path = file()
    const store = await createSQLiteStore({ path })
    expect(store.database.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(store.database.pragma('synchronous', { simple: true })).toBe(1) // NORMAL
    expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(store.database.pragma('busy_timeout', { simple: true })).toBe(5000)
    await store.issue({ access: access('durable') })
    await store.close()

    const reopened = await createSQLiteStore({ path })
    expect(await reopened.findAccessToken('durable')).toEqual(access('durable'))
    await reopened.close()
  })

  it('records migrations once; a second start applies nothing', async () => {
    const path = file()
    await (await createSQLiteStore({ path })).close()
    const db = new Database(path)
    const before = db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all()
    expect(before.map((r) => (r as { version: number }).version)).toEqual(migrations.map((m) => m.version))
    db.close()
    await (await createSQLiteStore({ path })).close()
    const again = new Database(path)
    expect(again.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(before)
    again.close()
  })

  it('upgrades a version-1 database: applies the later migrations and keeps the tokens', async () => {
    const path = file()
    const first = await createSQLiteStore({ path })
    await first.issue({ access: access('kept') })
    await first.close()
    // Back to what version 1 left behind.
    const db = new Database(path)
    db.exec('DROP TABLE revoked_jwts; DELETE FROM schema_migrations WHERE version > 1')
    db.close()
    const upgraded = await createSQLiteStore({ path })
    expect(await upgraded.findAccessToken('kept')).toEqual(access('kept'))
    await upgraded.revokeJWT({ environment: 'prod', jtiDigest: 'j', clientId: 'c', expiresAt: null, revokedAt: 1 })
    expect(await upgraded.isJWTRevoked('prod', 'j')).toBe(true)
    await upgraded.close()
    const check = new Database(path)
    expect(check.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(migrations.map((m) => ({ version: m.version })))
    check.close()
  })

  it('two stores starting together on one fresh file both work', async () => {
    const path = file()
    const [a, b] = await Promise.all([createSQLiteStore({ path }), createSQLiteStore({ path })])
    await a.issue({ access: access('shared') })
    expect(await b.findAccessToken('shared')).not.toBeNull()
    await a.close()
    await b.close()
  })

  it('exactly one of several processes rotating one refresh token wins', async () => {
    const path = file()
    const store = await createSQLiteStore({ path })
    const refresh = { ...access('rt'), familyId: 'fam', format: 'opaque' as const, refreshCount: 0, accessDigest: null, consumedAt: null, replay: null }
    await store.issue({ refresh })
    await store.close()
    const worker = fileURLToPath(new URL('./fixtures/sqlite-rotate-worker.ts', import.meta.url))
    const children = Array.from({ length: 6 }, (_, i) => spawn(process.execPath, ['--import', 'tsx', worker, path, 'rt', String(i)], { stdio: ['pipe', 'pipe', 'inherit'] }))
    const lines = children.map((child) => {
      const queue: string[] = []
      const waiters: ((line: string) => void)[] = []
      let buffer = ''
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          const waiter = waiters.shift()
          if (waiter) waiter(line)
          else queue.push(line)
        }
      })
      return () => new Promise<string>((resolveLine) => (queue.length > 0 ? resolveLine(queue.shift()!) : waiters.push(resolveLine)))
    })
    expect(await Promise.all(lines.map((next) => next()))).toEqual(Array(6).fill('ready'))
    for (const child of children) child.stdin.write('go\n')
    const outcomes = await Promise.all(lines.map((next) => next()))
    await Promise.all(children.map((child) => new Promise((resolveExit) => (child.exitCode !== null ? resolveExit(null) : child.once('exit', resolveExit)))))
    expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1)
    expect(outcomes.filter((o) => o === 'consumed')).toHaveLength(5)
    const reopened = await createSQLiteStore({ path })
    const winner = outcomes.indexOf('rotated')
    expect((await reopened.findRefreshToken('rt'))!.replay).toEqual(new Uint8Array([winner]))
    expect(await reopened.findRefreshToken(`next-${winner}`)).not.toBeNull()
    await reopened.close()
  }, 30_000)

  it('uses a database it is given, and leaves it open on close', async () => {
    const db = new Database(':memory:')
    const store = await createSQLiteStore({ database: db })
    expect(store.database).toBe(db)
    await store.close()
    expect(db.open).toBe(true)
    db.close()
  })

  it('names the package and the install command when better-sqlite3 is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'better-sqlite3' imported from /app/index.js"), { code: 'ERR_MODULE_NOT_FOUND' })
    const attempt = createSQLiteStore({ path: ':memory:', [loadDriver]: () => Promise.reject(missing) })
    await expect(attempt).rejects.toBeInstanceOf(StoreDriverError)
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      packageName: 'better-sqlite3',
      message: 'the "better-sqlite3" package is not installed; install it with: npm install better-sqlite3@12',
      cause: missing,
    })
  })

  it('says the package failed to load when its native part is broken', async () => {
    const broken = new Error('Could not locate the bindings file.')
    await expect(createSQLiteStore({ path: ':memory:', [loadDriver]: () => Promise.reject(broken) })).rejects.toMatchObject({
      packageName: 'better-sqlite3',
      message: 'the "better-sqlite3" package failed to load (try: npm rebuild better-sqlite3, or npm install better-sqlite3@12)',
      cause: broken,
    })
  })

  it('turns database failures into StoreUnavailableError with the driver error as cause', async () => {
    const path = file()
    const store = await createSQLiteStore({ path, busyTimeoutDuration: 0 })
    const locker = new Database(path)
    locker.exec('BEGIN EXCLUSIVE')
    try {
      const err = await store.issue({ access: access('busy') }).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'StoreUnavailableError', code: 'ERR_STORE_UNAVAILABLE', message: 'sqlite store error (SQLITE_BUSY)' })
      expect((err as Error).cause).toMatchObject({ code: 'SQLITE_BUSY' })
    } finally {
      locker.exec('ROLLBACK')
      locker.close()
    }
    await store.issue({ access: access('busy') })
    expect(await store.findAccessToken('busy')).not.toBeNull()
    await store.close()
  })

  it('commits concurrent issuances together, and fails only the batch that breaks a constraint', async () => {
    const store = await createSQLiteStore({ path: file() })
    await store.issue({ access: access('taken') })
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.issue({ access: access(i === 7 ? 'taken' : `group-${i}`) })),
    )
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i === 7 ? 'rejected' : 'fulfilled')))
    expect((results[7] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: 'sqlite store error (SQLITE_CONSTRAINT_PRIMARYKEY)' })
    for (let i = 0; i < 20; i++) if (i !== 7) expect(await store.findAccessToken(`group-${i}`)).not.toBeNull()
    await store.close()
  })

  it('close() writes issuances still waiting for their commit', async () => {
    const path = file()
    const store = await createSQLiteStore({ path })
    const pending = store.issue({ access: access('last') })
    await store.close()
    await expect(pending).resolves.toBeUndefined()
    const reopened = await createSQLiteStore({ path })
    expect(await reopened.findAccessToken('last')).not.toBeNull()
    await reopened.close()
  })

  it('fails fast on a path it cannot open', async () => {
    const notAFolder = join(dir, 'plain-file')
    writeFileSync(notAFolder, 'not a database '.repeat(300))
    await expect(createSQLiteStore({ path: join(notAFolder, 'tokens.db') })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
    await expect(createSQLiteStore({ path: notAFolder })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', message: 'sqlite store error (SQLITE_NOTADB)' })
  })

  it('rejects bad options with ERR_INVALID_ARG_*', async () => {
    await expect(createSQLiteStore({ path: '' })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: '"path" must be a non-empty string' })
    await expect(createSQLiteStore({ path: 42 as unknown as string })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"path" must be a non-empty string' })
    await expect(createSQLiteStore({})).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"path" must be a non-empty string' })
  })

  it.each([null, 'tokens.db'])('options %j → ERR_INVALID_ARG_TYPE', async (bad) => {
    await expect(createSQLiteStore(bad as unknown as SQLiteStoreOptions)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: '"options" must be an object' })
  })

  // Before: each failed at its first pragma and came out as StoreUnavailableError "sqlite store error" (an outage).
  it.each([
    ['a string', 'tokens.db', '"database" must be a better-sqlite3 Database'],
    ['null', null, '"database" must be a better-sqlite3 Database'],
    ['an empty object', {}, '"database" must be a better-sqlite3 Database (its "pragma" is not a function)'],
    ['an object without exec', { pragma() {}, prepare() {} }, '"database" must be a better-sqlite3 Database (its "exec" is not a function)'],
  ])('database: %s → ERR_INVALID_ARG_TYPE', async (_name, bad, message) => {
    await expect(createSQLiteStore({ database: bad as unknown as Database.Database })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message })
  })

  it.each([
    [-1, 'ERR_INVALID_ARG_VALUE'],
    [1.5, 'ERR_INVALID_ARG_VALUE'],
    // SQLite would read it as 0: a write would not wait for a lock at all.
    [1e15, 'ERR_INVALID_ARG_VALUE'],
    [2_147_483_648, 'ERR_INVALID_ARG_VALUE'],
    ['5000', 'ERR_INVALID_ARG_TYPE'],
  ])('busyTimeoutDuration %j → %s', async (bad, code) => {
    await expect(createSQLiteStore({ path: ':memory:', busyTimeoutDuration: bad as number })).rejects.toMatchObject({
      name: 'TypeError',
      code,
      message: '"busyTimeoutDuration" must be an integer from 0 to 2,147,483,647 (ms)',
    })
  })

  it('busyTimeoutDuration 2,147,483,647 (the most) reaches SQLite as is', async () => {
    const store = await createSQLiteStore({ path: ':memory:', busyTimeoutDuration: 2_147_483_647 })
    expect(store.database.pragma('busy_timeout', { simple: true })).toBe(2_147_483_647)
    await store.close()
  })

  it('uses an index for every lookup', async () => {
    const store = await createSQLiteStore({ path: ':memory:' })
    const plan = (sql: string) =>
      (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ')
    expect(plan("SELECT * FROM access_tokens WHERE digest = 'x'")).toMatch(/USING PRIMARY KEY/)
    expect(plan("SELECT * FROM refresh_tokens WHERE digest = 'x'")).toMatch(/USING PRIMARY KEY/)
    expect(plan("UPDATE access_tokens SET revoked_at = 1 WHERE family_id = 'f' AND revoked_at IS NULL")).toMatch(/USING INDEX access_tokens_family/)
    expect(plan("UPDATE refresh_tokens SET revoked_at = 1 WHERE family_id = 'f' AND revoked_at IS NULL")).toMatch(/USING INDEX refresh_tokens_family/)
    expect(
      plan("UPDATE access_tokens SET revoked_at = 1 WHERE environment = 'e' AND client_id = 'c' AND subject = 's' AND binding_kind = 'proxy' AND binding_name = 'p' AND revoked_at IS NULL"),
    ).toMatch(/USING INDEX access_tokens_owner/)
    expect(plan('SELECT digest FROM access_tokens WHERE expires_at < 5 LIMIT 10')).toMatch(/USING (COVERING )?INDEX access_tokens_expires/)
    expect(plan('SELECT digest FROM refresh_tokens WHERE expires_at < 5 LIMIT 10')).toMatch(/USING (COVERING )?INDEX refresh_tokens_expires/)
    expect(plan("SELECT * FROM signing_keys WHERE environment = 'prod'")).toMatch(/USING PRIMARY KEY/)
    await store.close()
  })
})
