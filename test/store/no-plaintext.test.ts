/**
 * Issue 4: a database dump after real traffic contains no raw access token, refresh token, client
 * secret or password — on SQLite and on PostgreSQL.
 */
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createTokenService, hashClientSecret, hashPassword, type TokenStore } from '../../src/server/index.js'
import { createPostgresStore } from '../../src/server/postgres/index.js'
import { createSQLiteStore } from '../../src/server/sqlite/index.js'
import { POSTGRES_URL, probePostgres } from '../_postgres.js'

const SECRET = 'plaintext-check-secret-0123456789'
const PASSWORD = 'plaintext-check-password'
const unreachable = await probePostgres()
const dir = mkdtempSync(join(tmpdir(), 'gatepass-dump-'))
const schema = `gp_dump_${Math.random().toString(36).slice(2, 10)}`

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (unreachable) return
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.end()
})

/** Issues, refreshes, introspects and revokes tokens of both formats; returns every secret value seen. */
async function traffic(store: TokenStore): Promise<string[]> {
  const digest = await hashClientSecret(SECRET)
  const service = createTokenService({
    environment: { name: 'dump', issuer: 'https://gw.example.com' },
    proxies: [
      { name: 'billing', clientId: 'billing-app', clientSecret: digest, tokenPolicy: { format: 'opaque', grants: ['client_credentials', 'password'], refresh: { enabled: true } } },
      { name: 'orders', clientId: 'orders-app', clientSecret: digest, tokenPolicy: { refresh: { enabled: true } } },
    ],
    users: [{ username: 'alice', passwordHash: await hashPassword(PASSWORD, { iterations: 1000 }), roles: [] }],
  }, { store, cleanup: false })
  const post = async (path: string, clientId: string, body: Record<string, string>) => {
    const response = await service.fetch(new Request(`https://gw.example.com/auth/${path}`, { method: 'POST', headers: { authorization: `Basic ${btoa(`${clientId}:${SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) }))
    expect(response.status).toBe(200)
    return path === 'revoke' ? {} : ((await response.json()) as Record<string, string>)
  }
  const seen: string[] = [SECRET, PASSWORD]
  for (const clientId of ['billing-app', 'orders-app']) {
    const first = await post('token', clientId, { grant_type: 'client_credentials' })
    const second = await post('token', clientId, { grant_type: 'refresh_token', refresh_token: first.refresh_token! })
    seen.push(first.access_token!, first.refresh_token!, second.access_token!, second.refresh_token!)
    await post('introspect', clientId, { token: second.access_token! })
    await post('revoke', clientId, { token: first.access_token! })
  }
  const password = await post('token', 'billing-app', { grant_type: 'password', username: 'alice', password: PASSWORD })
  seen.push(password.access_token!, password.refresh_token!)
  await service.close()
  return seen
}

/** Rows as text, byte columns (the encrypted replay) included as raw bytes. */
function dumpRows(rows: unknown[]): string {
  return JSON.stringify(rows.map((row) => Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v]))))
}

function expectNoneIn(dump: string, secrets: string[]) {
  expect(dump.length).toBeGreaterThan(1000)
  for (const secret of secrets) {
    expect(dump.includes(secret), `a raw value (${secret.slice(0, 6)}…) is stored`).toBe(false)
    // Also the opaque part of prefixed tokens and each JWT segment (the signature is the secret part).
    for (const part of secret.split('.')) if (part.length >= 20) expect(dump.includes(part)).toBe(false)
  }
}

describe('no token, secret or password in plain text in the database', () => {
  it('SQLite', async () => {
    const path = join(dir, 'dump.db')
    const seen = await traffic(await createSQLiteStore({ path }))
    const db = new Database(path, { readonly: true })
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>
    const dump = tables.map(({ name }) => dumpRows(db.prepare(`SELECT * FROM "${name}"`).all())).join('\n')
    db.close()
    expectNoneIn(dump, seen)
  })

  it.skipIf(unreachable !== null && process.env.CI !== 'true')('PostgreSQL', async () => {
    const seen = await traffic(await createPostgresStore({ connectionString: POSTGRES_URL, schema }))
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      const { rows: tables } = await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, [schema])
      const parts: string[] = []
      for (const { table_name } of tables) {
        const { rows } = await client.query(`SELECT * FROM "${schema}"."${table_name}"`)
        parts.push(dumpRows(rows))
      }
      expectNoneIn(parts.join('\n'), seen)
    } finally {
      await client.end()
    }
  })
})
