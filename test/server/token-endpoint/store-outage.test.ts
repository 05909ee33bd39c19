/**
 * Store outage: a store whose methods throw → 503 `temporarily_unavailable` with `Retry-After`,
 * nothing half-written, no internal detail leaked, and recovery once the store is back.
 */
import { describe, expect, it, vi } from 'vitest'
import { createMemoryStore, StoreUnavailableError, type IssueBatch, type TokenStore } from '../../../src/server/index.js'
import { creds, digestOf, expectError, expectToken, makeService, PASSWORDS, post, type TestService } from '../_fixtures.js'

const LEAK = 'connect ECONNREFUSED 10.0.0.5:5432 password=db-super-secret'

/** Wraps a memory store; methods named in `failing` throw until removed. Records issue batches. */
function flakyStore() {
  const inner = createMemoryStore()
  const failing = new Set<keyof TokenStore>()
  const attempted: IssueBatch[] = []
  const store = {} as Record<string, unknown>
  for (const name of Object.keys(inner) as Array<keyof TokenStore>) {
    const method = inner[name] as unknown as (...args: unknown[]) => Promise<unknown>
    store[name] = async (...args: unknown[]) => {
      if (name === 'issue') attempted.push(args[0] as IssueBatch)
      if (name === 'rotateRefreshToken') attempted.push((args[0] as { next: IssueBatch }).next)
      if (failing.has(name)) throw new Error(LEAK)
      return method.apply(inner, args)
    }
  }
  return { store: store as unknown as TokenStore, inner, failing, attempted }
}

async function expectUnavailable(response: Response): Promise<void> {
  expect(response.headers.get('retry-after')).toMatch(/^\d+$/)
  const text = await response.clone().text()
  expect(text).not.toContain('ECONNREFUSED')
  expect(text).not.toContain('db-super-secret')
  await expectError(response, 503, 'temporarily_unavailable', 'the token store is temporarily unavailable; retry later')
}

const billingCC = (t: TestService) => post(t.service, '/auth/token', { grant_type: 'client_credentials', ...creds('billing-app') })

describe('store outage', () => {
  it('answers 503 when issue() throws, with nothing written', async () => {
    const flaky = flakyStore()
    const onError = vi.fn()
    const t = makeService(undefined, { store: flaky.store, onError })
    await t.service.ready()
    flaky.failing.add('issue')
    await expectUnavailable(await billingCC(t))
    await expectUnavailable(await post(t.service, '/auth/token', { grant_type: 'password', username: 'alice', password: PASSWORDS.alice, ...creds('orders-app') }))
    expect(flaky.attempted).toHaveLength(2)
    for (const batch of flaky.attempted) {
      if (batch.access) expect(await flaky.inner.findAccessToken(batch.access.digest)).toBeNull()
      if (batch.refresh) expect(await flaky.inner.findRefreshToken(batch.refresh.digest)).toBeNull()
    }
    expect(onError).toHaveBeenCalledWith(expect.any(StoreUnavailableError))
    expect(onError.mock.calls[0]![0]).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', cause: expect.objectContaining({ message: LEAK }) })
    // Back to normal once the store is.
    flaky.failing.clear()
    await expectToken(await billingCC(t))
  })

  it('answers 503 when the rotation throws, leaving the refresh token usable', async () => {
    const flaky = flakyStore()
    const t = makeService(undefined, { store: flaky.store })
    const first = await expectToken(await billingCC(t))
    flaky.failing.add('rotateRefreshToken')
    const refresh = () => post(t.service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') })
    await expectUnavailable(await refresh())
    const failed = flaky.attempted.at(-1)!
    expect(await flaky.inner.findAccessToken(failed.access!.digest)).toBeNull()
    expect(await flaky.inner.findRefreshToken(failed.refresh!.digest)).toBeNull()
    expect(await flaky.inner.findRefreshToken(await digestOf(first.refresh_token!))).toMatchObject({ consumedAt: null, revokedAt: null })
    expect(await flaky.inner.findAccessToken(await digestOf(first.access_token))).toMatchObject({ revokedAt: null })
    flaky.failing.clear()
    const second = await expectToken(await refresh())
    expect(second.refresh_token).not.toBe(first.refresh_token)
  })

  it('answers 503 when a lookup throws', async () => {
    const flaky = flakyStore()
    const t = makeService(undefined, { store: flaky.store })
    const first = await expectToken(await billingCC(t))
    flaky.failing.add('findRefreshToken')
    await expectUnavailable(await post(t.service, '/auth/token', { grant_type: 'refresh_token', refresh_token: first.refresh_token!, ...creds('billing-app') }))
  })

  it('answers 503 while the keys cannot be loaded at start-up, then recovers', async () => {
    const flaky = flakyStore()
    flaky.failing.add('listKeys')
    const t = makeService(undefined, { store: flaky.store })
    await expectUnavailable(await post(t.service, '/auth/token', { grant_type: 'client_credentials', ...creds('orders-app') }))
    await expectUnavailable(await t.service.fetch(new Request('https://gw.example.com/auth/.well-known/jwks.json')))
    flaky.failing.clear()
    await expectToken(await post(t.service, '/auth/token', { grant_type: 'client_credentials', ...creds('orders-app') }))
  })

  it('answers 503 for a closed store (StoreUnavailableError thrown by the store itself)', async () => {
    const store = createMemoryStore()
    const t = makeService(undefined, { store })
    await t.service.ready()
    await store.close()
    await expectUnavailable(await billingCC(t))
  })
})
