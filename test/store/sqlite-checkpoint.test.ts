/**
 * WAL checkpoints in a worker thread (`checkpointInterval`): written pages reach the database file
 * without the store's own connection checkpointing, and closing leaves no connection behind.
 *
 * A checkpoint copies WAL pages into the database file, so the file's size tells from the outside
 * whether one ran (asking SQLite would run one).
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startCheckpointer } from '../../src/server/sqlite/checkpointer.js'
import { createSQLiteStore, loadDriver } from '../../src/server/sqlite/index.js'

const dir = mkdtempSync(join(tmpdir(), 'gatepass-checkpoint-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `t${++n}.db`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const access = (i: number) => ({
  digest: `digest-${i}-${'x'.repeat(40)}`,
  environment: 'prod',
  clientId: 'client',
  subject: `subject-${i}`,
  username: null,
  scope: 'orders:read orders:write',
  audience: ['https://api.example.com/orders'],
  binding: { kind: 'proxy' as const, name: 'orders' },
  issuedAt: 1_000 + i,
  expiresAt: 9_000_000_000_000,
  familyId: null,
  revokedAt: null,
})

/** Issues `count` tokens; returns the database file's size once it has settled before them. */
async function writeSome(store: Awaited<ReturnType<typeof createSQLiteStore>>, path: string, count: number): Promise<number> {
  await sleep(400) // the migrations' pages, checkpointed or not
  const before = statSync(path).size
  // Issued together: one group commit, far below the 1000 WAL pages of SQLite's own checkpoint.
  await Promise.all(Array.from({ length: count }, (_, i) => store.issue({ access: access(i) })))
  return before
}

async function grows(path: string, from: number, within: number): Promise<boolean> {
  const until = Date.now() + within
  while (Date.now() < until) {
    if (statSync(path).size > from) return true
    await sleep(25)
  }
  return false
}

describe('SQLite WAL checkpoints in a worker thread', () => {
  it('copies committed pages into the database file within the interval, while the store connection only appends', async () => {
    const path = file()
    const store = await createSQLiteStore({ path, checkpointInterval: 100 })
    // SQLite's own checkpoint on the store connection is only a far-off backstop now.
    expect(store.database.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000)
    const before = await writeSome(store, path, 300)
    expect(await grows(path, before, 2_000)).toBe(true)
    expect((await store.findAccessToken(access(299).digest))?.subject).toBe('subject-299')
    await store.close()
  })

  it('checkpointInterval: 0 leaves checkpoints to SQLite (none before 1000 pages of WAL)', async () => {
    const path = file()
    const store = await createSQLiteStore({ path, checkpointInterval: 0 })
    expect(store.database.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000)
    const before = await writeSome(store, path, 300)
    expect(await grows(path, before, 600)).toBe(false)
    await store.close()
  })

  it('close() leaves no connection open: the WAL file is removed (the last connection to close removes it)', async () => {
    const path = file()
    const store = await createSQLiteStore({ path })
    await writeSome(store, path, 50)
    expect(existsSync(`${path}-wal`)).toBe(true)
    await store.close()
    expect(existsSync(`${path}-wal`)).toBe(false)
    // And nothing written was lost.
    const reopened = await createSQLiteStore({ path, checkpointInterval: 0 })
    expect((await reopened.findAccessToken(access(49).digest))?.subject).toBe('subject-49')
    await reopened.close()
  })

  it('keeps SQLite\'s own checkpoints for a driver loaded some other way (two SQLite copies would not share file locks)', async () => {
    const store = await createSQLiteStore({ path: file(), [loadDriver]: () => import('better-sqlite3') })
    expect(store.database.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000)
    await store.close()
  })

  it('a worker that cannot open the file does not start (the store keeps SQLite\'s own checkpoints)', async () => {
    const notADatabase = file()
    writeFileSync(notADatabase, 'not a database '.repeat(500))
    let failures = 0
    expect(await startCheckpointer(notADatabase, 20, () => failures++)).toBeNull()
    expect(await startCheckpointer(join(dir, 'missing.db'), 20, () => failures++)).toBeNull()
    expect(failures).toBe(0)
  })

  it('refuses a checkpointInterval that is not a whole number of milliseconds', async () => {
    for (const bad of [-1, 1.5, Number.NaN, 3_600_001, '200']) {
      await expect(createSQLiteStore({ path: file(), checkpointInterval: bad as number })).rejects.toMatchObject({
        name: 'TypeError',
        code: typeof bad === 'number' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE',
        message: '"checkpointInterval" must be an integer from 0 to 3,600,000 (ms)',
      })
    }
  })
})
