/**
 * The PostgreSQL store against the real server (127.0.0.1:5432, database `test`). Every store gets
 * its own fresh schema `gp_test_<random>`, dropped afterwards. Skipped with a message when the
 * server is unreachable, except under `CI=true`, where that fails.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createPostgresStore, loadDriver, StoreDriverError } from '../../src/server/postgres/index.js'
import type { PostgresStoreOptions } from '../../src/server/postgres/index.js'
import { migrations } from '../../src/server/postgres/migrations.js'
import { POSTGRES_URL, probePostgres, relay } from '../_postgres.js'
import { runStoreContract } from './_contract.js'

const url = POSTGRES_URL
const unreachable = await probePostgres()
const admin = unreachable ? null : new pg.Pool({ connectionString: url, max: 2 })
const schemas: string[] = []
const freshSchema = () => {
  const name = `gp_test_${randomBytes(6).toString('hex')}`
  schemas.push(name)
  return name
}
const dropSchema = async (name: string) => {
  await admin!.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
}

afterAll(async () => {
  if (!admin) return
  for (const name of schemas) await dropSchema(name)
  await admin.end()
})

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

if (unreachable) {
  if (process.env.CI === 'true') {
    describe('PostgreSQL store', () => {
      it(`needs PostgreSQL at ${url} under CI=true`, () => {
        throw new Error(`PostgreSQL at ${url} is unreachable (${unreachable}); CI=true requires it`)
      })
    })
  } else {
    console.warn(`[postgres.test] skipped: PostgreSQL at ${url} is unreachable (${unreachable}). Under CI=true this fails instead.`)
    describe.skip(`PostgreSQL store (skipped: ${url} unreachable: ${unreachable})`, () => {
      it('runs the store contract', () => {})
    })
  }
} else {
  runStoreContract('postgres', async () => {
    const schema = freshSchema()
    const store = await createPostgresStore({ connectionString: url, schema, max: 10 })
    return { store, cleanup: () => dropSchema(schema) }
  })

  describe('createPostgresStore', () => {
    it('stores replay as bytea, arrays and JSON as jsonb, times as bigint', async () => {
      const schema = freshSchema()
      const store = await createPostgresStore({ connectionString: url, schema })
      const { rows } = await admin!.query<{ table_name: string; column_name: string; data_type: string }>(
        'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1',
        [schema],
      )
      const type = (table: string, column: string) => rows.find((r) => r.table_name === table && r.column_name === column)?.data_type
      expect(type('refresh_tokens', 'replay')).toBe('bytea')
      expect(type('refresh_tokens', 'audience')).toBe('jsonb')
      expect(type('access_tokens', 'extra')).toBe('jsonb')
      expect(type('signing_keys', 'public_jwk')).toBe('jsonb')
      expect(type('access_tokens', 'expires_at')).toBe('bigint')
      expect(type('refresh_tokens', 'consumed_at')).toBe('bigint')
      await store.close()
    })

    it('records migrations once; a second start applies nothing', async () => {
      const schema = freshSchema()
      await (await createPostgresStore({ connectionString: url, schema })).close()
      const read = async () => (await admin!.query(`SELECT version, name, applied_at FROM "${schema}".schema_migrations ORDER BY version`)).rows
      const before = await read()
      expect(before.map((r) => r.version)).toEqual(migrations.map((m) => m.version))
      await (await createPostgresStore({ connectionString: url, schema })).close()
      expect(await read()).toEqual(before)
    })

    it('two stores starting together on one fresh schema both succeed (advisory lock)', async () => {
      const schema = freshSchema()
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => createPostgresStore({ connectionString: url, schema })))
      await a!.issue({ access: access('shared') })
      expect(await b!.findAccessToken('shared')).toEqual(access('shared'))
      const { rows } = await admin!.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`)
      expect(rows[0].n).toBe(migrations.length)
      await Promise.all([a!.close(), b!.close(), c!.close()])
    })

    it('a token issued through one store is found, revoked and rotated through another (two instances)', async () => {
      const schema = freshSchema()
      const [a, b] = await Promise.all([createPostgresStore({ connectionString: url, schema }), createPostgresStore({ connectionString: url, schema })])
      await a.issue({ access: access('cross') })
      await b.revokeAccessToken('cross', 5)
      expect((await a.findAccessToken('cross'))!.revokedAt).toBe(5)
      await Promise.all([a.close(), b.close()])
    })

    it('a deletePrevious grant arriving while a refresh rotation of the same owner waits does not leave two live grants (owner lock)', async () => {
      // Order forced through locks: the rotation is made to wait on its refresh row (held by a
      // third connection) while the grant arrives; without the owner's lock in the rotation, the
      // grant's revocation would run on a snapshot without the rotation's new token, and both
      // the rotated family and the new grant would stay live.
      const schema = freshSchema()
      // Its own application_name, so only this store's backends are counted as waiting.
      const tagged = new URL(url)
      tagged.searchParams.set('application_name', schema)
      const store = await createPostgresStore({ connectionString: tagged.href, schema, max: 4 })
      const owner = { environment: 'prod', clientId: 'app', subject: 'alice', username: 'alice', scope: '', audience: ['a'], binding: { kind: 'proxy' as const, name: 'p' } }
      const refresh = (digest: string, familyId: string) => ({ ...owner, digest, familyId, format: 'opaque' as const, refreshCount: 0, issuedAt: 1, expiresAt: null, accessDigest: null, consumedAt: null, replay: null, revokedAt: null })
      await store.issue({ refresh: refresh('r1', 'family-old') })
      const holder = await admin!.connect()
      const waiting = async (n: number) => {
        for (let i = 0; i < 200; i++) {
          const { rows } = await admin!.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [schema])
          if (rows[0]!.n >= n) return
          await new Promise((r) => setTimeout(r, 10))
        }
        throw new Error(`expected ${n} waiting backends`)
      }
      try {
        await holder.query('BEGIN')
        await holder.query(`SELECT 1 FROM "${schema}".refresh_tokens WHERE digest = 'r1' FOR UPDATE`)
        const rotation = store.rotateRefreshToken({ digest: 'r1', now: 10, replay: new Uint8Array([1]), next: { refresh: refresh('r2', 'family-old') } })
        await waiting(1)
        const grant = store.issue({ refresh: refresh('g1', 'family-new'), revokePreviousOf: { environment: 'prod', clientId: 'app', subject: 'alice', binding: owner.binding } })
        await waiting(2)
        await holder.query('COMMIT')
        expect(await rotation).toEqual({ status: 'rotated' })
        await grant
      } finally {
        holder.release()
      }
      const { rows } = await admin!.query<{ digest: string }>(`SELECT digest FROM "${schema}".refresh_tokens WHERE revoked_at IS NULL ORDER BY digest`)
      expect(rows.map((r) => r.digest)).toEqual(['g1'])
      await store.close()
    })

    it('has an index for every lookup', async () => {
      const schema = freshSchema()
      const store = await createPostgresStore({ connectionString: url, schema })
      const client = await admin!.connect()
      try {
        await client.query('BEGIN')
        const q = `"${schema}"`
        // Realistic statistics: many distinct families, owners and expiry times.
        for (const table of ['access_tokens', 'refresh_tokens']) {
          const refreshOnly = table === 'refresh_tokens' ? ", 'opaque', 0" : ''
          const refreshCols = table === 'refresh_tokens' ? ', format, refresh_count' : ''
          await client.query(
            `INSERT INTO ${q}.${table} (digest, environment, client_id, subject, scope, audience, binding_kind, binding_name, issued_at, expires_at, family_id${refreshCols})
             SELECT 'd' || i, 'prod', 'c' || (i % 50), 's' || i, '', '[]', 'proxy', 'p', i, i, 'f' || i${refreshOnly} FROM generate_series(1, 5000) AS i`,
          )
          await client.query(`ANALYZE ${q}.${table}`)
        }
        await client.query('SET LOCAL enable_seqscan = off')
        const plan = async (sql: string) => (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n')
        expect(await plan(`SELECT * FROM ${q}.access_tokens WHERE digest = 'x'`)).toMatch(/Index Scan using access_tokens_pkey/)
        expect(await plan(`SELECT * FROM ${q}.refresh_tokens WHERE digest = 'x'`)).toMatch(/Index Scan using refresh_tokens_pkey/)
        expect(await plan(`SELECT * FROM ${q}.access_tokens WHERE family_id = 'f' AND revoked_at IS NULL`)).toMatch(/access_tokens_family/)
        expect(await plan(`SELECT * FROM ${q}.refresh_tokens WHERE family_id = 'f' AND revoked_at IS NULL`)).toMatch(/refresh_tokens_family/)
        expect(
          await plan(`SELECT * FROM ${q}.refresh_tokens WHERE environment = 'e' AND client_id = 'c' AND subject = 's' AND binding_kind = 'proxy' AND binding_name = 'p' AND revoked_at IS NULL`),
        ).toMatch(/refresh_tokens_owner/)
        expect(await plan(`SELECT digest FROM ${q}.access_tokens WHERE expires_at < 5 LIMIT 10`)).toMatch(/access_tokens_expires/)
        expect(await plan(`SELECT * FROM ${q}.signing_keys WHERE environment = 'prod'`)).toMatch(/signing_keys_pkey/)
      } finally {
        await client.query('ROLLBACK')
        client.release()
        await store.close()
      }
    })

    it('uses a pool it is given, and leaves it open on close', async () => {
      const schema = freshSchema()
      const pool = new pg.Pool({ connectionString: url, max: 2 })
      const store = await createPostgresStore({ pool, schema })
      expect(store.pool).toBe(pool)
      await store.close()
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
      await pool.end()
    })

    it('rejects with StoreUnavailableError when the server refuses connections', async () => {
      const err = await createPostgresStore({ connectionString: 'postgresql://postgres@127.0.0.1:1/test', schema: freshSchema() }).catch((e: unknown) => e)
      expect(err).toMatchObject({ name: 'StoreUnavailableError', code: 'ERR_STORE_UNAVAILABLE', message: 'postgres store error (ECONNREFUSED)' })
      expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' })
    })

    it('turns an ended pool into StoreUnavailableError', async () => {
      const pool = new pg.Pool({ connectionString: url, max: 2 })
      const store = await createPostgresStore({ pool, schema: freshSchema() })
      await pool.end()
      await expect(store.findAccessToken('x')).rejects.toMatchObject({ name: 'StoreUnavailableError', code: 'ERR_STORE_UNAVAILABLE' })
      await expect(store.issue({ access: access('x') })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
    })

    it('fails with StoreUnavailableError while the database is unreachable, and recovers without a restart', async () => {
      const schema = freshSchema()
      const link = await relay()
      const target = new URL(url)
      target.host = `127.0.0.1:${link.port}`
      const store = await createPostgresStore({ connectionString: target.toString(), schema, connectionTimeoutDuration: 1000 })
      try {
        await store.issue({ access: access('before') })
        link.cut()
        const during = await store.findAccessToken('before').catch((e: unknown) => e)
        expect(during).toMatchObject({ name: 'StoreUnavailableError', code: 'ERR_STORE_UNAVAILABLE' })
        await expect(store.issue({ access: access('during') })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
        await link.restore()
        expect(await store.findAccessToken('before')).toEqual(access('before'))
        expect(await store.findAccessToken('during')).toBeNull() // nothing half-written
        await store.issue({ access: access('after') })
        expect(await store.findAccessToken('after')).not.toBeNull()
      } finally {
        await store.close()
        link.cut()
      }
    })

    it('names the package and the install command when pg is missing', async () => {
      const missing = Object.assign(new Error("Cannot find package 'pg' imported from /app/index.js"), { code: 'ERR_MODULE_NOT_FOUND' })
      const attempt = createPostgresStore({ connectionString: url, [loadDriver]: () => Promise.reject(missing) })
      await expect(attempt).rejects.toBeInstanceOf(StoreDriverError)
      await expect(attempt).rejects.toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
        packageName: 'pg',
        message: 'the "pg" package is not installed; install it with: npm install pg@8',
        cause: missing,
      })
    })

    it('rejects bad options with ERR_INVALID_ARG_VALUE', async () => {
      await expect(createPostgresStore({ connectionString: url, schema: 'bad"; DROP SCHEMA public; --' })).rejects.toMatchObject({
        name: 'TypeError',
        code: 'ERR_INVALID_ARG_VALUE',
        message: '"schema" must be a plain identifier (letters, digits, underscores; at most 63 characters)',
      })
      await expect(createPostgresStore({ connectionString: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: '"connectionString" must be a non-empty string when no "pool" is given' })
      await expect(createPostgresStore({ connectionString: url, max: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
    })

    it('accepts the bounds: max 10,000, connectionTimeoutDuration 0 (no limit, pg\'s meaning) and 2,147,483,647', async () => {
      for (const [max, connectionTimeoutDuration] of [
        [10_000, 2_147_483_647],
        [1, 0],
      ] as const) {
        const store = await createPostgresStore({ connectionString: url, schema: freshSchema(), max, connectionTimeoutDuration })
        try {
          expect(store.pool.options).toMatchObject({ max, connectionTimeoutMillis: connectionTimeoutDuration })
          await store.issue({ access: access('bounds') })
          expect(await store.findAccessToken('bounds')).toEqual(access('bounds'))
        } finally {
          await store.close()
        }
      }
    })

    it('uses a pool it is given, and leaves it open on close', async () => {
      const pool = new pg.Pool({ connectionString: url, max: 2 })
      try {
        const store = await createPostgresStore({ pool, schema: freshSchema() })
        expect(store.pool).toBe(pool)
        await store.close()
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      } finally {
        await pool.end()
      }
    })
  })
}

// Checked before any connection: no server needed.
describe('createPostgresStore: options', () => {
  const fail = (options: unknown, code: string, message: string) =>
    expect(createPostgresStore(options as PostgresStoreOptions)).rejects.toMatchObject({ name: 'TypeError', code, message })

  it.each([null, 'postgresql://x'])('options %j → ERR_INVALID_ARG_TYPE', async (bad) => {
    await fail(bad, 'ERR_INVALID_ARG_TYPE', '"options" must be an object')
  })

  // Before: `pool.on is not a function`, or an outage-looking StoreUnavailableError later.
  it.each([
    ['a string', 'x', '"pool" must be a pg Pool'],
    ['null', null, '"pool" must be a pg Pool'],
    ['an empty object', {}, '"pool" must be a pg Pool (its "query" is not a function)'],
    ['an object without on', { query() {}, connect() {} }, '"pool" must be a pg Pool (its "on" is not a function)'],
    ['an object without connect', { query() {}, on() {} }, '"pool" must be a pg Pool (its "connect" is not a function)'],
  ])('pool: %s → ERR_INVALID_ARG_TYPE', async (_name, pool, message) => {
    await fail({ pool }, 'ERR_INVALID_ARG_TYPE', message)
  })

  it.each([
    [{ connectionString: 5 }, 'ERR_INVALID_ARG_TYPE', '"connectionString" must be a non-empty string when no "pool" is given'],
    [{}, 'ERR_INVALID_ARG_TYPE', '"connectionString" must be a non-empty string when no "pool" is given'],
    [{ connectionString: url, schema: 5 }, 'ERR_INVALID_ARG_TYPE', '"schema" must be a plain identifier (letters, digits, underscores; at most 63 characters)'],
    [{ connectionString: url, max: 0 }, 'ERR_INVALID_ARG_VALUE', '"max" must be an integer from 1 to 10,000'],
    [{ connectionString: url, max: 10_001 }, 'ERR_INVALID_ARG_VALUE', '"max" must be an integer from 1 to 10,000'],
    [{ connectionString: url, max: '10' }, 'ERR_INVALID_ARG_TYPE', '"max" must be an integer from 1 to 10,000'],
    [{ connectionString: url, connectionTimeoutDuration: -1 }, 'ERR_INVALID_ARG_VALUE', '"connectionTimeoutDuration" must be an integer from 0 to 2,147,483,647 (ms)'],
    // Beyond setTimeout's limit pg's connection timer would fire after 1 ms.
    [{ connectionTimeoutDuration: 3e9, connectionString: url }, 'ERR_INVALID_ARG_VALUE', '"connectionTimeoutDuration" must be an integer from 0 to 2,147,483,647 (ms)'],
    [{ connectionString: url, connectionTimeoutDuration: 2_147_483_648 }, 'ERR_INVALID_ARG_VALUE', '"connectionTimeoutDuration" must be an integer from 0 to 2,147,483,647 (ms)'],
    [{ connectionString: url, connectionTimeoutDuration: '5s' }, 'ERR_INVALID_ARG_TYPE', '"connectionTimeoutDuration" must be an integer from 0 to 2,147,483,647 (ms)'],
  ])('%j → %s', async (bad, code, message) => {
    await fail(bad, code, message)
  })
})
