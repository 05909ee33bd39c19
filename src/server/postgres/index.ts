/**
 * The PostgreSQL token store, on `pg` (an optional peer dependency): for several gateway
 * instances sharing one database. Node only.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import type { Pool, PoolClient, QueryResultRow } from 'pg'
import { GatepassError, StoreUnavailableError } from '../../shared/errors.js'
import { invalidArgument } from '../../shared/lib/args.js'
import { duration, MAX_TIMER_DELAY, objectWithMethods } from '../verifiers/common.js'
import { importDriver, loadDriver } from '../sqlite/driver.js'
import type { AccessTokenRecord, IssueBatch, KeyRecord, RefreshTokenRecord, RotateOutcome, TokenBinding, TokenStore } from '../store/types.js'
import { migrations } from './migrations.js'

export { loadDriver, StoreDriverError } from '../sqlite/driver.js'

/**
 * Options of {@link createPostgresStore}.
 *
 * Available from `'gatepass/server/postgres'`.
 *
 * @group Stores
 */
export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:5432/database`. Ignored when `pool` is given. */
  connectionString?: string | undefined
  /** A `pg` pool to use instead of creating one (an object with `query`, `connect` and `on`). It is not ended by `close()`. */
  pool?: Pool | undefined
  /** Schema holding the tables (created when missing). Default `'gatepass'`. */
  schema?: string | undefined
  /** Most connections of the pool created from `connectionString`, an integer from 1 to 10,000. Default `10`. */
  max?: number | undefined
  /**
   * How long to wait for a new connection before failing, in ms: an integer from 0 to
   * 2,147,483,647 (`setTimeout`'s limit); `0` waits without limit (`pg`'s meaning). Default `5000`.
   */
  connectionTimeoutDuration?: number | undefined
  /** Loads the `pg` module instead of `import('pg')`. */
  [loadDriver]?: (() => Promise<unknown>) | undefined
}

/**
 * A {@link TokenStore} backed by PostgreSQL, with its connection pool.
 *
 * Available from `'gatepass/server/postgres'`.
 *
 * @group Stores
 */
export interface PostgresStore extends TokenStore {
  /** The `pg` pool the store queries through. */
  readonly pool: Pool
  /** The schema holding the tables. */
  readonly schema: string
}

/** What the store calls on a given `pool` (checked up front). */
const POOL_METHODS = ['query', 'connect', 'on'] as const
/** The most connections `max` may ask for (PostgreSQL's own `max_connections` is far lower by default). */
const MAX_POOL_SIZE = 10_000

const PG_PACKAGE = 'pg'
const PG_INSTALL = 'npm install pg@8'
/** First key of every advisory lock the store takes ('gate'). */
const LOCK_CLASS = 0x67617465

/** Every database failure becomes a `StoreUnavailableError` (503), the driver's error as `cause`. */
function storeError(err: unknown): Error {
  if (err instanceof GatepassError) return err
  const code = (err as { code?: unknown } | null)?.code
  return new StoreUnavailableError(typeof code === 'string' ? `postgres store error (${code})` : 'postgres store error', { cause: err })
}

/** FNV-1a, as a signed 32-bit integer: the second key of an advisory lock. */
function lockKey(value: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash | 0
}

const num = (value: string | number | null): number | null => (value === null ? null : Number(value))
const bytea = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

interface AccessRow {
  digest: string
  environment: string
  client_id: string
  subject: string
  username: string | null
  scope: string
  audience: string[]
  binding_kind: string
  binding_name: string
  issued_at: string
  expires_at: string | null
  family_id: string | null
  revoked_at: string | null
  extra: Record<string, unknown> | null
}

interface RefreshRow {
  digest: string
  family_id: string
  environment: string
  client_id: string
  subject: string
  username: string | null
  scope: string
  audience: string[]
  binding_kind: string
  binding_name: string
  format: string
  refresh_count: number
  issued_at: string
  expires_at: string | null
  access_digest: string | null
  consumed_at: string | null
  replay: Uint8Array | null
  revoked_at: string | null
}

interface KeyRow {
  environment: string
  kid: string
  alg: string
  state: string
  public_jwk: Record<string, unknown>
  private_key: string
  created_at: string
  retired_at: string | null
}

function accessRecord(row: AccessRow): AccessTokenRecord {
  const record: AccessTokenRecord = {
    digest: row.digest,
    environment: row.environment,
    clientId: row.client_id,
    subject: row.subject,
    username: row.username,
    scope: row.scope,
    audience: row.audience,
    binding: { kind: row.binding_kind as TokenBinding['kind'], name: row.binding_name },
    issuedAt: Number(row.issued_at),
    expiresAt: num(row.expires_at),
    familyId: row.family_id,
    revokedAt: num(row.revoked_at),
  }
  if (row.extra !== null) record.extra = row.extra
  return record
}

function refreshRecord(row: RefreshRow): RefreshTokenRecord {
  return {
    digest: row.digest,
    familyId: row.family_id,
    environment: row.environment,
    clientId: row.client_id,
    subject: row.subject,
    username: row.username,
    scope: row.scope,
    audience: row.audience,
    binding: { kind: row.binding_kind as TokenBinding['kind'], name: row.binding_name },
    format: row.format as RefreshTokenRecord['format'],
    refreshCount: row.refresh_count,
    issuedAt: Number(row.issued_at),
    expiresAt: num(row.expires_at),
    accessDigest: row.access_digest,
    consumedAt: num(row.consumed_at),
    replay: row.replay === null ? null : new Uint8Array(row.replay),
    revokedAt: num(row.revoked_at),
  }
}

function keyRecord(row: KeyRow): KeyRecord {
  return {
    kid: row.kid,
    environment: row.environment,
    alg: row.alg,
    state: row.state as KeyRecord['state'],
    publicJwk: row.public_jwk,
    privateKey: row.private_key,
    createdAt: Number(row.created_at),
    retiredAt: num(row.retired_at),
  }
}

const accessValues = (r: AccessTokenRecord) => [
  r.digest,
  r.environment,
  r.clientId,
  r.subject,
  r.username,
  r.scope,
  JSON.stringify(r.audience),
  r.binding.kind,
  r.binding.name,
  r.issuedAt,
  r.expiresAt,
  r.familyId,
  r.revokedAt,
  r.extra === undefined ? null : JSON.stringify(r.extra),
]

const refreshValues = (r: RefreshTokenRecord) => [
  r.digest,
  r.familyId,
  r.environment,
  r.clientId,
  r.subject,
  r.username,
  r.scope,
  JSON.stringify(r.audience),
  r.binding.kind,
  r.binding.name,
  r.format,
  r.refreshCount,
  r.issuedAt,
  r.expiresAt,
  r.accessDigest,
  r.consumedAt,
  r.replay === null ? null : bytea(r.replay),
  r.revokedAt,
]

const keyValues = (k: KeyRecord) => [k.environment, k.kid, k.alg, k.state, JSON.stringify(k.publicJwk), k.privateKey, k.createdAt, k.retiredAt]

/** Runs `fn` inside a transaction on one pooled connection; a connection that failed to roll back is discarded. */
async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    try {
      await client.query('ROLLBACK')
    } catch (rollbackError) {
      broken = rollbackError as Error
    }
    throw err
  } finally {
    client.release(broken)
  }
}

/** Runs the migrations the schema has not seen yet, under an advisory lock, in one transaction. Internal. */
async function migrate(pool: Pool, schema: string, quoted: string): Promise<number> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, lockKey(`migrate:${schema}`)])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`)
    const { rows } = await client.query<{ version: number }>(`SELECT COALESCE(MAX(version), 0)::integer AS version FROM ${quoted}.schema_migrations`)
    const current = rows[0]!.version
    let applied = 0
    for (const m of migrations) {
      if (m.version <= current) continue
      await client.query(m.sql(quoted))
      await client.query(`INSERT INTO ${quoted}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()])
      applied++
    }
    return applied
  })
}

/**
 * Creates a {@link TokenStore} on PostgreSQL: a connection pool, parameterised prepared queries,
 * versioned migrations run at start under an advisory lock (several instances may start at once),
 * row-level atomic refresh-token rotation, and signing keys shared by every instance.
 *
 * Available from `'gatepass/server/postgres'` (Node only; needs the `pg` package).
 *
 * @param options Where to connect (`connectionString` or `pool`) and the `schema` to use.
 * @returns The store, ready (migrated); pass it as `store` to `createTokenService()` and call
 *   `close()` on shutdown. Database failures reject with `StoreUnavailableError` (a 503 for the
 *   token service); the pool reconnects by itself when the server is back.
 * @throws `StoreDriverError` when `pg` is not installed, `StoreUnavailableError` when the
 *   database cannot be reached or migrated.
 * @example Share one database between gateway instances
 *
 * ```ts
 * import { createPostgresStore } from 'gatepass/server/postgres'
 *
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL, schema: 'gatepass' })
 * // … createTokenService(config, { store })
 * await store.close()
 * ```
 *
 * @group Stores
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('"options" must be an object', 'ERR_INVALID_ARG_TYPE')
  const schema = options.schema ?? 'gatepass'
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw invalidArgument('"schema" must be a plain identifier (letters, digits, underscores; at most 63 characters)', typeof schema === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE')
  }
  // A wrong pool would fail with `pool.on is not a function`, or later, as an outage.
  const given = options.pool === undefined ? undefined : objectWithMethods<Pool>(options.pool, 'pool', 'a pg Pool', POOL_METHODS)
  if (!given && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
    throw invalidArgument('"connectionString" must be a non-empty string when no "pool" is given', typeof options.connectionString === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE')
  }
  const max = duration(options.max, 'max', 10, { min: 1, max: MAX_POOL_SIZE, integer: true })
  // pg waits without limit for 0, and fires at once for a delay beyond setTimeout's limit.
  const connectionTimeout = duration(options.connectionTimeoutDuration, 'connectionTimeoutDuration', 5000, { max: MAX_TIMER_DELAY, integer: true, unit: 'ms' })

  let pool: Pool
  const owned = !given
  if (given) {
    pool = given
  } else {
    const loader = options[loadDriver] ?? (() => import('pg'))
    const driver = await importDriver<{ Pool: typeof Pool }>(PG_PACKAGE, PG_INSTALL, loader)
    pool = new driver.Pool({ connectionString: options.connectionString, max, connectionTimeoutMillis: connectionTimeout, keepAlive: true })
  }
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, it would crash
  // the process. The next query fails (StoreUnavailableError) and the pool reconnects.
  pool.on('error', () => {})
  // A connection that breaks while checked out (mid-query) emits 'error' on its client, where the
  // pool's listener does not reach; the query itself rejects, which is what callers see.
  pool.on('connect', (client) => {
    client.on('error', () => {})
  })

  const quoted = `"${schema}"`
  try {
    await migrate(pool, schema, quoted)
  } catch (err) {
    if (owned) await pool.end().catch(() => {})
    throw storeError(err)
  }
  return buildStore(pool, schema, quoted, owned)
}

function buildStore(pool: Pool, schema: string, s: string, owned: boolean): PostgresStore {
  const ACCESS_COLUMNS = 'digest, environment, client_id, subject, username, scope, audience, binding_kind, binding_name, issued_at, expires_at, family_id, revoked_at, extra'
  const REFRESH_COLUMNS =
    'digest, family_id, environment, client_id, subject, username, scope, audience, binding_kind, binding_name, format, refresh_count, issued_at, expires_at, access_digest, consumed_at, replay, revoked_at'
  const KEY_COLUMNS = 'environment, kid, alg, state, public_jwk, private_key, created_at, retired_at'
  const placeholders = (columns: string, from = 1) =>
    columns
      .split(', ')
      .map((_, i) => `$${i + from}`)
      .join(', ')
  const OWNER = 'environment = $1 AND client_id = $2 AND subject = $3 AND binding_kind = $4 AND binding_name = $5 AND revoked_at IS NULL'
  const LIVE = (family: string) => `(
      EXISTS (SELECT 1 FROM ${s}.refresh_tokens u WHERE u.family_id = ${family} AND u.revoked_at IS NULL AND (u.expires_at IS NULL OR u.expires_at >= $1))
      OR EXISTS (SELECT 1 FROM ${s}.access_tokens a WHERE a.family_id = ${family} AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at >= $1)))`

  const sql = {
    insertAccess: `INSERT INTO ${s}.access_tokens (${ACCESS_COLUMNS}) VALUES (${placeholders(ACCESS_COLUMNS)})`,
    insertRefresh: `INSERT INTO ${s}.refresh_tokens (${REFRESH_COLUMNS}) VALUES (${placeholders(REFRESH_COLUMNS)})`,
    findAccess: `SELECT ${ACCESS_COLUMNS} FROM ${s}.access_tokens WHERE digest = $1`,
    findRefresh: `SELECT ${REFRESH_COLUMNS} FROM ${s}.refresh_tokens WHERE digest = $1`,
    liveFamily: `SELECT 1 FROM ${s}.refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) LIMIT 1`,
    lockOwner: 'SELECT pg_advisory_xact_lock($1, $2)',
    // One statement: every CTE sees the snapshot taken before the updates.
    revokePrevious: `
      WITH families AS (
        SELECT family_id FROM ${s}.access_tokens WHERE ${OWNER} AND family_id IS NOT NULL
        UNION SELECT family_id FROM ${s}.refresh_tokens WHERE ${OWNER}
      ), revoked_access AS (
        UPDATE ${s}.access_tokens SET revoked_at = $6
        WHERE revoked_at IS NULL AND ((${OWNER}) OR family_id IN (SELECT family_id FROM families)) RETURNING 1
      )
      UPDATE ${s}.refresh_tokens SET revoked_at = $6
      WHERE revoked_at IS NULL AND ((${OWNER}) OR family_id IN (SELECT family_id FROM families))`,
    consume: `UPDATE ${s}.refresh_tokens SET consumed_at = $1, replay = $2 WHERE digest = $3 AND consumed_at IS NULL AND revoked_at IS NULL RETURNING access_digest`,
    revokeAccess: `UPDATE ${s}.access_tokens SET revoked_at = $1 WHERE digest = $2 AND revoked_at IS NULL`,
    revokeFamily: `
      WITH revoked_access AS (UPDATE ${s}.access_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL RETURNING 1)
      UPDATE ${s}.refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`,
    revokeAccessCascade: `
      WITH token AS (SELECT family_id FROM ${s}.access_tokens WHERE digest = $2),
      revoked_access AS (
        UPDATE ${s}.access_tokens SET revoked_at = $1
        WHERE revoked_at IS NULL AND (digest = $2 OR family_id = (SELECT family_id FROM token)) RETURNING 1
      )
      UPDATE ${s}.refresh_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM token)`,
    listKeys: `SELECT ${KEY_COLUMNS} FROM ${s}.signing_keys WHERE environment = $1 ORDER BY created_at, kid`,
    findActiveKey: `SELECT ${KEY_COLUMNS} FROM ${s}.signing_keys WHERE environment = $1 AND alg = $2 AND state = 'active' LIMIT 1`,
    findKeyAlg: `SELECT alg FROM ${s}.signing_keys WHERE environment = $1 AND kid = $2`,
    insertKeyIfNoActive: `
      INSERT INTO ${s}.signing_keys (${KEY_COLUMNS}) VALUES (${placeholders(KEY_COLUMNS)})
      ON CONFLICT (environment, alg) WHERE state = 'active' DO NOTHING RETURNING kid`,
    insertInactiveKeyIfNoActive: `
      INSERT INTO ${s}.signing_keys (${KEY_COLUMNS})
      SELECT $1::text, $2::text, $3::text, $4::text, $5::jsonb, $6::text, $7::bigint, $8::bigint
      WHERE NOT EXISTS (SELECT 1 FROM ${s}.signing_keys WHERE environment = $1 AND alg = $3 AND state = 'active')
      ON CONFLICT (environment, kid) DO UPDATE SET alg = excluded.alg, state = excluded.state, public_jwk = excluded.public_jwk,
        private_key = excluded.private_key, created_at = excluded.created_at, retired_at = excluded.retired_at
      RETURNING kid`,
    retireActive: `UPDATE ${s}.signing_keys SET state = 'retired', retired_at = $1 WHERE environment = $2 AND alg = $3 AND state = 'active' AND kid <> $4`,
    upsertKey: `
      INSERT INTO ${s}.signing_keys (${KEY_COLUMNS}) VALUES (${placeholders(KEY_COLUMNS)})
      ON CONFLICT (environment, kid) DO UPDATE SET alg = excluded.alg, state = excluded.state, public_jwk = excluded.public_jwk,
        private_key = excluded.private_key, created_at = excluded.created_at, retired_at = excluded.retired_at`,
    setKeyState: `UPDATE ${s}.signing_keys SET state = $1, retired_at = $2 WHERE environment = $3 AND kid = $4`,
    deleteKey: `DELETE FROM ${s}.signing_keys WHERE environment = $1 AND kid = $2`,
    revokeJWT: `INSERT INTO ${s}.revoked_jwts (environment, jti_digest, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
    isJWTRevoked: `SELECT 1 FROM ${s}.revoked_jwts WHERE environment = $1 AND jti_digest = $2`,
    deleteExpiredJWTs: `DELETE FROM ${s}.revoked_jwts WHERE (environment, jti_digest) IN (
      SELECT environment, jti_digest FROM ${s}.revoked_jwts WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    deleteExpiredAccess: `DELETE FROM ${s}.access_tokens WHERE digest IN (
      SELECT digest FROM ${s}.access_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    deleteExpiredRefresh: `DELETE FROM ${s}.refresh_tokens WHERE digest IN (
      SELECT digest FROM ${s}.refresh_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    deleteDeadRefresh: `DELETE FROM ${s}.refresh_tokens WHERE digest IN (
      SELECT r.digest FROM ${s}.refresh_tokens r WHERE r.revoked_at IS NOT NULL AND NOT ${LIVE('r.family_id')} LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    deleteDeadAccess: `DELETE FROM ${s}.access_tokens WHERE digest IN (
      SELECT t.digest FROM ${s}.access_tokens t WHERE t.revoked_at IS NOT NULL AND t.family_id IS NOT NULL AND NOT ${LIVE('t.family_id')}
      LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  }

  /** Named (server-side prepared) statements; the name depends on the text, so schemas never clash. */
  const names = new Map<string, string>()
  const named = (text: string) => {
    let name = names.get(text)
    if (!name) {
      name = `gp_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
      names.set(text, name)
    }
    return name
  }
  const query = <R extends QueryResultRow>(client: Pool | PoolClient, text: string, values: unknown[]) =>
    client.query<R>({ name: named(text), text, values })

  const lockFor = (...parts: string[]) => lockKey(parts.join('\u0000'))

  async function applyIssue(client: PoolClient, batch: IssueBatch, at: number) {
    const prev = batch.revokePreviousOf
    if (prev) {
      // Serialises concurrent issuance for one owner, so deletePrevious leaves one live grant.
      await query(client, sql.lockOwner, [LOCK_CLASS, lockFor(schema, prev.environment, prev.clientId, prev.subject, prev.binding.kind, prev.binding.name)])
      await query(client, sql.revokePrevious, [prev.environment, prev.clientId, prev.subject, prev.binding.kind, prev.binding.name, at])
    }
    if (batch.access) await query(client, sql.insertAccess, accessValues(batch.access))
    if (batch.refresh) await query(client, sql.insertRefresh, refreshValues(batch.refresh))
  }

  let closed = false
  async function call<T>(fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError('store is closed')
    try {
      return await fn()
    } catch (err) {
      throw storeError(err)
    }
  }

  async function addKey(key: KeyRecord, onlyIfNoActive: boolean): Promise<KeyRecord> {
    if (onlyIfNoActive && key.state === 'active') {
      // Race-safe through the partial unique index: at most one insert wins, the others read it.
      for (let attempt = 0; attempt < 5; attempt++) {
        const inserted = await query(pool, sql.insertKeyIfNoActive, keyValues(key))
        if (inserted.rowCount) return structuredClone(key)
        const { rows } = await query<KeyRow>(pool, sql.findActiveKey, [key.environment, key.alg])
        if (rows[0]) return keyRecord(rows[0])
      }
      throw new StoreUnavailableError('postgres store error (active key kept changing)')
    }
    if (onlyIfNoActive) {
      const inserted = await query(pool, sql.insertInactiveKeyIfNoActive, keyValues(key))
      if (inserted.rowCount) return structuredClone(key)
      const { rows } = await query<KeyRow>(pool, sql.findActiveKey, [key.environment, key.alg])
      if (rows[0]) return keyRecord(rows[0])
    }
    return transaction(pool, async (client) => {
      if (key.state === 'active') {
        await query(client, sql.lockOwner, [LOCK_CLASS, lockFor(schema, 'key', key.environment, key.alg)])
        await query(client, sql.retireActive, [key.createdAt, key.environment, key.alg, key.kid])
      }
      await query(client, sql.upsertKey, keyValues(key))
      return structuredClone(key)
    })
  }

  return {
    pool,
    schema,
    issue: (batch) =>
      call(async () => {
        // One row and nothing to revoke: a single statement is atomic on its own (1 round trip, not 3).
        if (!batch.revokePreviousOf && !(batch.access && batch.refresh)) {
          if (batch.access) await query(pool, sql.insertAccess, accessValues(batch.access))
          else if (batch.refresh) await query(pool, sql.insertRefresh, refreshValues(batch.refresh))
          return
        }
        await transaction(pool, (client) => applyIssue(client, batch, batch.access?.issuedAt ?? batch.refresh?.issuedAt ?? Date.now()))
      }),
    findAccessToken: (digest) =>
      call(async () => {
        const { rows } = await query<AccessRow>(pool, sql.findAccess, [digest])
        return rows[0] ? accessRecord(rows[0]) : null
      }),
    findRefreshToken: (digest) =>
      call(async () => {
        const { rows } = await query<RefreshRow>(pool, sql.findRefresh, [digest])
        return rows[0] ? refreshRecord(rows[0]) : null
      }),
    rotateRefreshToken: (input) =>
      call(async (): Promise<RotateOutcome> => {
        const rotated = await transaction(pool, async (client) => {
          // The owner's lock first, as a new grant with deletePrevious takes it: that grant then
          // either runs before (and revokes what this would consume) or after (and sees, and
          // revokes, the tokens this inserts); never between, which would leave two live grants.
          const owner = input.next.refresh ?? input.next.access
          if (owner) await query(client, sql.lockOwner, [LOCK_CLASS, lockFor(schema, owner.environment, owner.clientId, owner.subject, owner.binding.kind, owner.binding.name)])
          // Row-level atomic: concurrent callers queue on the row lock; once the winner commits,
          // `consumed_at IS NULL` no longer holds for them and they update nothing.
          const { rows } = await query<{ access_digest: string | null }>(client, sql.consume, [input.now, bytea(input.replay), input.digest])
          if (!rows[0]) return false
          if (rows[0].access_digest) await query(client, sql.revokeAccess, [input.now, rows[0].access_digest])
          await applyIssue(client, input.next, input.now)
          return true
        })
        if (rotated) return { status: 'rotated' }
        const { rows } = await query<RefreshRow>(pool, sql.findRefresh, [input.digest])
        // Unknown, or revoked before it was used (never rotated into a live successor): not_found.
        return rows[0] && rows[0].consumed_at !== null ? { status: 'consumed', record: refreshRecord(rows[0]) } : { status: 'not_found' }
      }),
    revokeFamily: (familyId, at) =>
      call(async () => {
        await query(pool, sql.revokeFamily, [at, familyId])
      }),
    revokeAccessToken: (digest, at) =>
      call(async () => {
        await query(pool, sql.revokeAccessCascade, [at, digest])
      }),
    revokeJWT: (record) =>
      call(async () => {
        await query(pool, sql.revokeJWT, [record.environment, record.jtiDigest, record.clientId, record.expiresAt, record.revokedAt])
      }),
    isJWTRevoked: (environment, jtiDigest) =>
      call(async () => {
        const { rows } = await query(pool, sql.isJWTRevoked, [environment, jtiDigest])
        return rows.length > 0
      }),
    isFamilyLive: (familyId, now) =>
      call(async () => {
        const { rows } = await query(pool, sql.liveFamily, [familyId, now])
        return rows.length > 0
      }),
    listKeys: (environment) =>
      call(async () => {
        const { rows } = await query<KeyRow>(pool, sql.listKeys, [environment])
        return rows.map(keyRecord)
      }),
    addKey: (key, options) => call(() => addKey(key, options?.onlyIfNoActive === true)),
    updateKeyState: (environment, kid, state, at) =>
      call(() =>
        transaction(pool, async (client) => {
          const { rows } = await query<{ alg: string }>(client, sql.findKeyAlg, [environment, kid])
          if (!rows[0]) return
          if (state === 'active') {
            await query(client, sql.lockOwner, [LOCK_CLASS, lockFor(schema, 'key', environment, rows[0].alg)])
            await query(client, sql.retireActive, [at, environment, rows[0].alg, kid])
          }
          await query(client, sql.setKeyState, [state, state === 'retired' ? at : null, environment, kid])
        }),
      ),
    deleteKey: (environment, kid) =>
      call(async () => {
        await query(pool, sql.deleteKey, [environment, kid])
      }),
    deleteExpired: (now, limit) =>
      call(async () => {
        let removed = 0
        for (const text of [sql.deleteExpiredAccess, sql.deleteExpiredRefresh, sql.deleteDeadRefresh, sql.deleteDeadAccess, sql.deleteExpiredJWTs]) {
          if (removed >= limit) break
          removed += (await query(pool, text, [now, limit - removed])).rowCount ?? 0
        }
        return removed
      }),
    async close() {
      if (closed) return
      closed = true
      if (owned) await pool.end()
    },
  }
}
