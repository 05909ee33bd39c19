/**
 * The SQLite token store, on `better-sqlite3` v12 (an optional peer dependency): the embedded
 * default store of Node deployments. Node only.
 *
 * @module
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { setImmediate } from 'node:timers'
import type BetterSqlite3 from 'better-sqlite3'
import { GatepassError, StoreUnavailableError } from '../../shared/errors.js'
import { invalidArgument } from '../../shared/lib/args.js'
import { duration, MAX_TIMER_DELAY, nonEmptyString, objectWithMethods } from '../verifiers/common.js'
import type { IssueBatch, KeyRecord, RotateInput, RotateOutcome, TokenStore } from '../store/types.js'
import { startCheckpointer, type Checkpointer } from './checkpointer.js'
import { importDriver, loadDriver } from './driver.js'
import { migrations } from './migrations.js'
import type { AccessRow, KeyRow, RefreshRow } from './rows.js'
import { accessParams, accessRecord, keyParams, keyRecord, refreshParams, refreshRecord, toBlob } from './rows.js'

export { loadDriver, StoreDriverError } from './driver.js'

/**
 * Options of {@link createSQLiteStore}.
 *
 * Available from `'gatepass/server/sqlite'`.
 *
 * @group Stores
 */
export interface SQLiteStoreOptions {
  /**
   * Database file; its folder is created when missing. `':memory:'` for a private in-memory
   * database (lost on close). Ignored when `database` is given.
   */
  path?: string | undefined
  /**
   * An open `better-sqlite3` database to use instead of opening `path` (an object with `pragma`,
   * `prepare`, `exec` and `transaction`). It is not closed by `close()`.
   */
  database?: BetterSqlite3.Database | undefined
  /**
   * How long a write waits for another process's lock before failing, in ms: an integer from 0 to
   * 2,147,483,647 (SQLite's limit; `0` fails at once). Default `5000`.
   */
  busyTimeoutDuration?: number | undefined
  /**
   * Milliseconds between WAL checkpoints (an integer from 0 to 3,600,000), run in a worker thread
   * on a connection of its own, off the event loop: a committed write is synced to disk within
   * about this long, and requests never wait for a checkpoint's disk syncs. `0` leaves
   * checkpoints to SQLite (after every 1000 pages of WAL, on the connection that commits, i.e. on
   * the event loop). Default `200`.
   * Used only for a database the store opens from a file `path` with its own `better-sqlite3`
   * (not `':memory:'`, a `file:` URI, a given `database` or a driver loaded some other way); if
   * the worker cannot start, or its checkpoints keep failing, SQLite's own checkpoints take over.
   */
  checkpointInterval?: number | undefined
  /** Loads the `better-sqlite3` module instead of `import('better-sqlite3')`. */
  [loadDriver]?: (() => Promise<unknown>) | undefined
}

/**
 * A {@link TokenStore} backed by SQLite, with its database handle.
 *
 * Available from `'gatepass/server/sqlite'`.
 *
 * @group Stores
 */
export interface SQLiteStore extends TokenStore {
  /** The underlying `better-sqlite3` database (for backups and inspection). */
  readonly database: BetterSqlite3.Database
}

/** SQLite's default `wal_autocheckpoint` (pages). */
const SQLITE_AUTOCHECKPOINT = 1000
/** `wal_autocheckpoint` while the checkpointer runs: only if it falls far behind. */
const BACKSTOP_AUTOCHECKPOINT = 10_000

/** What the store calls on a given `database` (checked up front). */
const DATABASE_METHODS = ['pragma', 'prepare', 'exec', 'transaction'] as const

const SQLITE_PACKAGE = 'better-sqlite3'
const SQLITE_INSTALL = 'npm install better-sqlite3@12'

/** Every database failure becomes a `StoreUnavailableError` (503), the driver's error as `cause`. */
function storeError(err: unknown): Error {
  if (err instanceof GatepassError) return err
  const code = (err as { code?: unknown } | null)?.code
  return new StoreUnavailableError(typeof code === 'string' ? `sqlite store error (${code})` : 'sqlite store error', { cause: err })
}

/** Runs the migrations that the database has not seen yet, in one write transaction. Internal. */
function migrate(db: BetterSqlite3.Database): number {
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL)')
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }
    const current = row.version ?? 0
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    let applied = 0
    for (const m of migrations) {
      if (m.version <= current) continue
      db.exec(m.sql)
      record.run(m.version, m.name, Date.now())
      applied++
    }
    return applied
  })
  return run.immediate()
}

/**
 * Creates a {@link TokenStore} on a SQLite database file: WAL mode, prepared statements,
 * versioned migrations run at start, and transactions for every multi-row change. Several
 * processes may share one file (writes wait up to `busyTimeoutDuration` for each other).
 *
 * Available from `'gatepass/server/sqlite'` (Node only; needs the `better-sqlite3` v12 package).
 *
 * > [!WARNING]
 * > With `synchronous=NORMAL` in WAL mode a committed write survives a crash of the process
 * > (`kill -9`), but the last transactions may be lost on a power failure or OS crash.
 *
 * @param options The database file (`path`) or an open `database`.
 * @returns The store, ready (migrated); pass it as `store` to `createTokenService()` and call
 *   `close()` on shutdown.
 * @throws `StoreDriverError` when `better-sqlite3` is not installed, `StoreUnavailableError` when
 *   the file cannot be opened or migrated.
 * @example Open the store of the data folder
 *
 * ```ts
 * import { createSQLiteStore } from 'gatepass/server/sqlite'
 *
 * const store = await createSQLiteStore({ path: '.gatepass/tokens.db' })
 * // … createTokenService(config, { store })
 * await store.close()
 * ```
 *
 * @group Stores
 */
export async function createSQLiteStore(options: SQLiteStoreOptions): Promise<SQLiteStore> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  // A wrong handle would fail at its first pragma, reported as a StoreUnavailableError (an outage).
  const database = options.database === undefined ? undefined : objectWithMethods<BetterSqlite3.Database>(options.database, 'database', 'a better-sqlite3 Database', DATABASE_METHODS)
  const path = database ? undefined : nonEmptyString(options.path, 'path')
  // SQLite reads a busy_timeout beyond a 32-bit int as 0: no waiting at all.
  const busyTimeout = duration(options.busyTimeoutDuration, 'busyTimeoutDuration', 5000, { max: MAX_TIMER_DELAY, integer: true, unit: 'ms' })
  const checkpointInterval = duration(options.checkpointInterval, 'checkpointInterval', 200, { max: 3_600_000, integer: true, unit: 'ms' })

  let db: BetterSqlite3.Database
  if (database) {
    db = database
  } else {
    const loader = options[loadDriver] ?? (() => import('better-sqlite3'))
    const Database = await importDriver<typeof BetterSqlite3>(SQLITE_PACKAGE, SQLITE_INSTALL, loader)
    try {
      if (path !== ':memory:' && !path!.startsWith('file:')) mkdirSync(dirname(resolve(path!)), { recursive: true })
      db = new Database(path!)
    } catch (err) {
      throw storeError(err)
    }
  }

  try {
    db.pragma('journal_mode = WAL')
    db.pragma(`busy_timeout = ${busyTimeout}`)
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrate(db)
  } catch (err) {
    if (!database) db.close()
    throw storeError(err)
  }

  let checkpointer: Checkpointer | null = null
  // The worker loads better-sqlite3 as resolved from here: only when the store did the same. Two
  // copies of SQLite in one process do not see each other's file locks (a checkpoint by one can
  // release the other's), so a driver loaded some other way keeps SQLite's own checkpoints.
  const ownDriver = options[loadDriver] === undefined
  if (!database && ownDriver && checkpointInterval > 0 && path !== ':memory:' && !path!.startsWith('file:')) {
    checkpointer = await startCheckpointer(resolve(path!), checkpointInterval, () => {
      // The worker died: SQLite's own checkpoints take over again (the handle may be closed by now).
      try {
        db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`)
      } catch {
        // closed
      }
    })
    // SQLite's own checkpoint stays as a backstop, should the worker fall far behind.
    try {
      if (checkpointer) db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT}`)
    } catch (err) {
      await checkpointer?.close()
      db.close()
      throw storeError(err)
    }
  }

  return buildStore(db, !database, checkpointer)
}

function buildStore(db: BetterSqlite3.Database, owned: boolean, checkpointer: Checkpointer | null): SQLiteStore {
  const ACCESS_COLUMNS = 'digest, environment, client_id, subject, username, scope, audience, binding_kind, binding_name, issued_at, expires_at, family_id, revoked_at, extra'
  const REFRESH_COLUMNS =
    'digest, family_id, environment, client_id, subject, username, scope, audience, binding_kind, binding_name, format, refresh_count, issued_at, expires_at, access_digest, consumed_at, replay, revoked_at'
  const KEY_COLUMNS = 'environment, kid, alg, state, public_jwk, private_key, created_at, retired_at'
  const values = (columns: string) =>
    columns
      .split(', ')
      .map((c) => `@${c}`)
      .join(', ')
  const OWNER = 'environment = @environment AND client_id = @client_id AND subject = @subject AND binding_kind = @binding_kind AND binding_name = @binding_name AND revoked_at IS NULL'
  const LIVE = (family: string) => `(
      EXISTS (SELECT 1 FROM refresh_tokens u WHERE u.family_id = ${family} AND u.revoked_at IS NULL AND (u.expires_at IS NULL OR u.expires_at >= @now))
      OR EXISTS (SELECT 1 FROM access_tokens a WHERE a.family_id = ${family} AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at >= @now)))`

  const s = {
    insertAccess: db.prepare<AccessRow>(`INSERT INTO access_tokens (${ACCESS_COLUMNS}) VALUES (${values(ACCESS_COLUMNS)})`),
    insertRefresh: db.prepare<RefreshRow>(`INSERT INTO refresh_tokens (${REFRESH_COLUMNS}) VALUES (${values(REFRESH_COLUMNS)})`),
    findAccess: db.prepare<[string], AccessRow>(`SELECT ${ACCESS_COLUMNS} FROM access_tokens WHERE digest = ?`),
    findRefresh: db.prepare<[string], RefreshRow>(`SELECT ${REFRESH_COLUMNS} FROM refresh_tokens WHERE digest = ?`),
    liveFamily: db.prepare<[string, number], { live: number }>(
      'SELECT 1 AS live FROM refresh_tokens WHERE family_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) LIMIT 1',
    ),
    ownerFamilies: db.prepare<Record<string, string>, { family_id: string }>(
      `SELECT family_id FROM access_tokens WHERE ${OWNER} AND family_id IS NOT NULL UNION SELECT family_id FROM refresh_tokens WHERE ${OWNER}`,
    ),
    revokeOwnerAccess: db.prepare(`UPDATE access_tokens SET revoked_at = @at WHERE ${OWNER}`),
    revokeOwnerRefresh: db.prepare(`UPDATE refresh_tokens SET revoked_at = @at WHERE ${OWNER}`),
    revokeFamilyAccess: db.prepare<[number, string]>('UPDATE access_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
    revokeFamilyRefresh: db.prepare<[number, string]>('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
    revokeAccess: db.prepare<[number, string]>('UPDATE access_tokens SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL'),
    accessFamily: db.prepare<[string], { family_id: string | null }>('SELECT family_id FROM access_tokens WHERE digest = ?'),
    consume: db.prepare<[number, Uint8Array, string], { access_digest: string | null }>(
      'UPDATE refresh_tokens SET consumed_at = ?, replay = ? WHERE digest = ? AND consumed_at IS NULL AND revoked_at IS NULL RETURNING access_digest',
    ),
    listKeys: db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE environment = ? ORDER BY created_at, kid`),
    findActiveKey: db.prepare<[string, string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE environment = ? AND alg = ? AND state = 'active' LIMIT 1`),
    findKey: db.prepare<[string, string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE environment = ? AND kid = ?`),
    retireActive: db.prepare<[number, string, string, string]>(
      "UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE environment = ? AND alg = ? AND state = 'active' AND kid <> ?",
    ),
    upsertKey: db.prepare<KeyRow>(
      `INSERT INTO signing_keys (${KEY_COLUMNS}) VALUES (${values(KEY_COLUMNS)})
       ON CONFLICT (environment, kid) DO UPDATE SET alg = excluded.alg, state = excluded.state, public_jwk = excluded.public_jwk,
         private_key = excluded.private_key, created_at = excluded.created_at, retired_at = excluded.retired_at`,
    ),
    setKeyState: db.prepare<[string, number | null, string, string]>('UPDATE signing_keys SET state = ?, retired_at = ? WHERE environment = ? AND kid = ?'),
    deleteKey: db.prepare<[string, string]>('DELETE FROM signing_keys WHERE environment = ? AND kid = ?'),
    revokeJWT: db.prepare<[string, string, string, number | null, number]>(
      'INSERT INTO revoked_jwts (environment, jti_digest, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    isJWTRevoked: db.prepare<[string, string], { revoked: number }>('SELECT 1 AS revoked FROM revoked_jwts WHERE environment = ? AND jti_digest = ?'),
    deleteExpiredJWTs: db.prepare<[number, number]>(
      'DELETE FROM revoked_jwts WHERE (environment, jti_digest) IN (SELECT environment, jti_digest FROM revoked_jwts WHERE expires_at < ? LIMIT ?)',
    ),
    deleteExpiredAccess: db.prepare<[number, number]>(
      'DELETE FROM access_tokens WHERE digest IN (SELECT digest FROM access_tokens WHERE expires_at < ? LIMIT ?)',
    ),
    deleteExpiredRefresh: db.prepare<[number, number]>(
      'DELETE FROM refresh_tokens WHERE digest IN (SELECT digest FROM refresh_tokens WHERE expires_at < ? LIMIT ?)',
    ),
    deleteDeadRefresh: db.prepare<{ now: number; limit: number }>(
      `DELETE FROM refresh_tokens WHERE digest IN (
         SELECT r.digest FROM refresh_tokens r WHERE r.revoked_at IS NOT NULL AND NOT ${LIVE('r.family_id')} LIMIT @limit)`,
    ),
    deleteDeadAccess: db.prepare<{ now: number; limit: number }>(
      `DELETE FROM access_tokens WHERE digest IN (
         SELECT t.digest FROM access_tokens t WHERE t.revoked_at IS NOT NULL AND t.family_id IS NOT NULL AND NOT ${LIVE('t.family_id')} LIMIT @limit)`,
    ),
  }

  function revokeFamilyNow(familyId: string, at: number) {
    s.revokeFamilyRefresh.run(at, familyId)
    s.revokeFamilyAccess.run(at, familyId)
  }

  function applyIssue(batch: IssueBatch, at: number) {
    const prev = batch.revokePreviousOf
    if (prev) {
      const owner = { environment: prev.environment, client_id: prev.clientId, subject: prev.subject, binding_kind: prev.binding.kind, binding_name: prev.binding.name }
      const families = s.ownerFamilies.all(owner).map((r) => r.family_id)
      s.revokeOwnerAccess.run({ ...owner, at })
      s.revokeOwnerRefresh.run({ ...owner, at })
      for (const familyId of families) revokeFamilyNow(familyId, at)
    }
    if (batch.access) s.insertAccess.run(accessParams(batch.access))
    if (batch.refresh) s.insertRefresh.run(refreshParams(batch.refresh))
  }

  const issueAt = (batch: IssueBatch) => batch.access?.issuedAt ?? batch.refresh?.issuedAt ?? Date.now()
  const issueTx = db.transaction((batch: IssueBatch) => applyIssue(batch, issueAt(batch)))
  const issueGroupTx = db.transaction((batches: IssueBatch[]) => {
    for (const batch of batches) applyIssue(batch, issueAt(batch))
  })

  /**
   * Group commit: issuances requested during one turn of the event loop are written in one
   * transaction (one WAL commit), and each promise resolves once that commit is done. If the group
   * fails, each batch is retried on its own so one bad batch fails alone.
   */
  let queue: { batch: IssueBatch; resolve: () => void; reject: (err: Error) => void }[] = []
  function flushIssues() {
    const group = queue
    queue = []
    if (group.length === 0) return
    try {
      if (group.length === 1) issueTx.immediate(group[0]!.batch)
      else issueGroupTx.immediate(group.map((g) => g.batch))
      for (const g of group) g.resolve()
    } catch (err) {
      // A constraint failure belongs to one batch: retry each alone. Anything else (busy, I/O) fails them all.
      const code = (err as { code?: unknown } | null)?.code
      if (group.length === 1 || typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) {
        for (const g of group) g.reject(storeError(err))
        return
      }
      for (const g of group) {
        try {
          issueTx.immediate(g.batch)
          g.resolve()
        } catch (single) {
          g.reject(storeError(single))
        }
      }
    }
  }

  const rotateTx = db.transaction((input: RotateInput): RotateOutcome => {
    const consumed = s.consume.get(input.now, toBlob(input.replay), input.digest)
    if (!consumed) {
      const row = s.findRefresh.get(input.digest)
      // Unknown, or revoked before it was used: nothing to rotate.
      return row && row.consumed_at !== null ? { status: 'consumed', record: refreshRecord(row) } : { status: 'not_found' }
    }
    if (consumed.access_digest) s.revokeAccess.run(input.now, consumed.access_digest)
    applyIssue(input.next, input.now)
    return { status: 'rotated' }
  })

  const revokeFamilyTx = db.transaction(revokeFamilyNow)

  const revokeAccessTx = db.transaction((digest: string, at: number) => {
    const row = s.accessFamily.get(digest)
    if (!row) return
    s.revokeAccess.run(at, digest)
    if (row.family_id) revokeFamilyNow(row.family_id, at)
  })

  const addKeyTx = db.transaction((key: KeyRecord, onlyIfNoActive: boolean): KeyRecord => {
    if (onlyIfNoActive) {
      const existing = s.findActiveKey.get(key.environment, key.alg)
      if (existing) return keyRecord(existing)
    }
    if (key.state === 'active') s.retireActive.run(key.createdAt, key.environment, key.alg, key.kid)
    s.upsertKey.run(keyParams(key))
    return structuredClone(key)
  })

  const updateKeyStateTx = db.transaction((environment: string, kid: string, state: KeyRecord['state'], at: number) => {
    const found = s.findKey.get(environment, kid)
    if (!found) return
    if (state === 'active') s.retireActive.run(at, environment, found.alg, kid)
    s.setKeyState.run(state, state === 'retired' ? at : null, environment, kid)
  })

  const deleteExpiredTx = db.transaction((now: number, limit: number): number => {
    let removed = 0
    const left = () => limit - removed
    if (left() > 0) removed += s.deleteExpiredAccess.run(now, left()).changes
    if (left() > 0) removed += s.deleteExpiredRefresh.run(now, left()).changes
    if (left() > 0) removed += s.deleteDeadRefresh.run({ now, limit: left() }).changes
    if (left() > 0) removed += s.deleteDeadAccess.run({ now, limit: left() }).changes
    if (left() > 0) removed += s.deleteExpiredJWTs.run(now, left()).changes
    return removed
  })

  let closed = false
  /** Runs a synchronous database call, mapping failures to `StoreUnavailableError`. */
  function call<T>(fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new StoreUnavailableError('store is closed'))
    try {
      return Promise.resolve(fn())
    } catch (err) {
      return Promise.reject(storeError(err))
    }
  }

  return {
    database: db,
    issue: (batch) =>
      new Promise<void>((resolve, reject) => {
        if (closed) return reject(new StoreUnavailableError('store is closed'))
        queue.push({ batch, resolve, reject })
        if (queue.length === 1) setImmediate(flushIssues)
      }),
    findAccessToken: (digest) =>
      call(() => {
        const row = s.findAccess.get(digest)
        return row ? accessRecord(row) : null
      }),
    findRefreshToken: (digest) =>
      call(() => {
        const row = s.findRefresh.get(digest)
        return row ? refreshRecord(row) : null
      }),
    rotateRefreshToken: (input) => call(() => rotateTx.immediate(input)),
    revokeFamily: (familyId, at) => call(() => revokeFamilyTx.immediate(familyId, at)),
    isFamilyLive: (familyId, now) => call(() => s.liveFamily.get(familyId, now) !== undefined),
    revokeAccessToken: (digest, at) => call(() => revokeAccessTx.immediate(digest, at)),
    revokeJWT: (record) =>
      call(() => {
        s.revokeJWT.run(record.environment, record.jtiDigest, record.clientId, record.expiresAt, record.revokedAt)
      }),
    isJWTRevoked: (environment, jtiDigest) => call(() => s.isJWTRevoked.get(environment, jtiDigest) !== undefined),
    listKeys: (environment) => call(() => s.listKeys.all(environment).map(keyRecord)),
    addKey: (key, options) => call(() => addKeyTx.immediate(key, options?.onlyIfNoActive === true)),
    updateKeyState: (environment, kid, state, at) => call(() => updateKeyStateTx.immediate(environment, kid, state, at)),
    deleteKey: (environment, kid) =>
      call(() => {
        s.deleteKey.run(environment, kid)
      }),
    deleteExpired: (now, limit) => call(() => (limit > 0 ? deleteExpiredTx.immediate(now, limit) : 0)),
    async close() {
      if (closed) return
      closed = true
      flushIssues()
      await checkpointer?.close()
      if (owned) db.close()
    },
  }
}
