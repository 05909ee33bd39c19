/**
 * Issue 4 outage test: PostgreSQL becomes unreachable in the middle of a load (the connection runs
 * through a TCP relay that is cut): issuance, introspection, revocation and opaque validation
 * answer 503 with RFC bodies, never 500, and nothing crashes; JWT validation keeps working; the
 * traffic recovers by itself once the database is back.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenService, hashClientSecret, type TokenService } from '../../src/server/index.js'
import { createPostgresStore } from '../../src/server/postgres/index.js'
import { POSTGRES_URL, probePostgres, relay } from '../_postgres.js'

const unreachable = await probePostgres()
if (unreachable && process.env.CI !== 'true') console.warn(`[postgres-outage.test] skipped: PostgreSQL unreachable (${unreachable}); under CI=true this fails instead`)

const SECRET = 'outage-secret-0123456789abcdef'
const ISSUER = 'https://gw.example.com'
const schema = `gp_outage_${Math.random().toString(36).slice(2, 10)}`
const form = (clientId: string, body: Record<string, string>) =>
  new Request(`${ISSUER}/auth/${body.token ? (body.revoke ? 'revoke' : 'introspect') : 'token'}`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`${clientId}:${SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'revoke'))),
  })

describe.skipIf(unreachable !== null && process.env.CI !== 'true')('PostgreSQL outage under load', () => {
  let link: Awaited<ReturnType<typeof relay>>
  let service: TokenService

  beforeAll(async () => {
    link = await relay()
    const url = new URL(POSTGRES_URL)
    url.port = String(link.port)
    const store = await createPostgresStore({ connectionString: url.href, schema, connectionTimeoutDuration: 500 })
    const digest = await hashClientSecret(SECRET)
    service = createTokenService({
      environment: { name: 'outage', issuer: ISSUER },
      proxies: [
        { name: 'billing', clientId: 'billing-app', clientSecret: digest, tokenPolicy: { format: 'opaque', refresh: { enabled: true } } },
        { name: 'orders', clientId: 'orders-app', clientSecret: digest },
      ],
    }, { store, validation: { opaqueCacheSize: 0 }, cleanup: false })
    await service.ready()
  })

  afterAll(async () => {
    await service?.close()
    link?.cut()
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  })

  it('answers 503 (never 500) while the database is down and recovers without a restart', async () => {
    const issue = () => service.fetch(form('billing-app', { grant_type: 'client_credentials' }))
    const okBefore = await issue()
    expect(okBefore.status).toBe(200)
    const opaque = ((await okBefore.json()) as { access_token: string }).access_token
    const jwt = ((await (await service.fetch(form('orders-app', { grant_type: 'client_credentials' }))).json()) as { access_token: string }).access_token
    const guardBilling = service.guard('billing')
    const guardOrders = service.guard('orders')

    // A load running while the link is cut.
    const statuses: number[] = []
    let stop = false
    const load = Promise.all(Array.from({ length: 8 }, async () => {
      while (!stop) statuses.push((await issue()).status)
    }))
    await new Promise((resolve) => setTimeout(resolve, 150))
    link.cut()
    await new Promise((resolve) => setTimeout(resolve, 1_500))

    const down = await issue()
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('1')
    expect(await down.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the token store is temporarily unavailable; retry later' })
    const introspection = await service.fetch(form('billing-app', { token: opaque }))
    expect(introspection.status).toBe(503)
    const revocation = await service.fetch(form('billing-app', { token: opaque, revoke: '1' }))
    expect(revocation.status).toBe(503)
    const validation = await guardBilling(new Request(`${ISSUER}/apigateway/billing/x`, { headers: { authorization: `Bearer ${opaque}` } }))
    expect(validation.ok).toBe(false)
    if (!validation.ok) expect(validation.response.status).toBe(503)
    // JWTs are checked by signature: they keep working.
    expect((await guardOrders(new Request(`${ISSUER}/apigateway/orders/x`, { headers: { authorization: `Bearer ${jwt}` } }))).ok).toBe(true)

    await link.restore()
    let recovered = 0
    for (let i = 0; i < 50 && recovered === 0; i++) {
      if ((await issue()).status === 200) recovered++
      else await new Promise((resolve) => setTimeout(resolve, 100))
    }
    stop = true
    await load
    expect(recovered).toBe(1)
    expect(statuses.length).toBeGreaterThan(10)
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([])
    expect(statuses).toContain(503)
    // The token revoked while the store was down was not revoked (no false success): still valid.
    expect((await guardBilling(new Request(`${ISSUER}/apigateway/billing/x`, { headers: { authorization: `Bearer ${opaque}` } }))).ok).toBe(true)
  }, 60_000)
})
