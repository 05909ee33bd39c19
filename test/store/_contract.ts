/**
 * The store contract: one suite run against every `TokenStore` implementation (memory, SQLite,
 * PostgreSQL). Not collected on its own (leading `_`); each `<store>.test.ts` calls
 * `runStoreContract()` with a factory that returns a fresh, empty, isolated store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AccessTokenRecord, KeyRecord, RefreshTokenRecord, TokenBinding, TokenStore } from '../../src/server/store/types.js'

/** What a contract factory returns: an empty store and how to dispose of it. */
export interface StoreFixture {
  store: TokenStore
  cleanup(): Promise<void>
}

const T0 = 1_764_000_000_000
const HOUR = 3_600_000

let counter = 0
/** Unique, digest-shaped strings (43 chars, base64url alphabet). */
function digest(label = 'd'): string {
  counter++
  return `${label}-${counter}-${Math.random().toString(36).slice(2)}`.padEnd(43, 'x').slice(0, 43)
}

const proxyBinding: TokenBinding = { kind: 'proxy', name: 'orders-api' }

function accessRecord(overrides: Partial<AccessTokenRecord> = {}): AccessTokenRecord {
  return {
    digest: digest('a'),
    environment: 'prod',
    clientId: 'client-1',
    subject: 'client-1',
    username: null,
    scope: 'read write',
    audience: ['https://api.example.com/orders'],
    binding: proxyBinding,
    issuedAt: T0,
    expiresAt: T0 + HOUR,
    familyId: null,
    revokedAt: null,
    ...overrides,
  }
}

function refreshRecord(overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    digest: digest('r'),
    familyId: digest('f'),
    environment: 'prod',
    clientId: 'client-1',
    subject: 'alice',
    username: 'alice',
    scope: 'read',
    audience: ['https://api.example.com/orders'],
    binding: proxyBinding,
    format: 'opaque',
    refreshCount: 0,
    issuedAt: T0,
    expiresAt: T0 + 24 * HOUR,
    accessDigest: null,
    consumedAt: null,
    replay: null,
    revokedAt: null,
    ...overrides,
  }
}

/** An access + refresh pair of one family, as the token service issues them. */
function pair(overrides: { access?: Partial<AccessTokenRecord>; refresh?: Partial<RefreshTokenRecord> } = {}) {
  const familyId = digest('f')
  const access = accessRecord({ subject: 'alice', username: 'alice', familyId, ...overrides.access })
  const refresh = refreshRecord({ familyId, accessDigest: access.digest, ...overrides.refresh })
  return { access, refresh, familyId }
}

function keyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const kid = digest('k').slice(0, 20)
  return {
    kid,
    environment: 'prod',
    alg: 'ES256',
    state: 'active',
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid },
    privateKey: 'enc:AAAA.BBBB',
    createdAt: T0,
    retiredAt: null,
    ...overrides,
  }
}

const bytes = (...values: number[]) => new Uint8Array(values)

/**
 * Registers the contract suite for one store implementation.
 *
 * @param name Shown in the test report (`memory`, `sqlite (file)`, …).
 * @param factory Returns a fresh, empty store (called before every test) and its cleanup.
 */
export function runStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`TokenStore contract: ${name}`, () => {
    let fixture: StoreFixture
    let store: TokenStore
    let closed = false

    beforeEach(async () => {
      fixture = await factory()
      store = fixture.store
      closed = false
    })

    afterEach(async () => {
      if (!closed) await store.close()
      await fixture.cleanup()
    })

    describe('issue / find round-trips', () => {
      it('round-trips every field of an access token', async () => {
        const record = accessRecord({
          username: 'alice',
          subject: 'alice',
          audience: ['https://a.example', 'https://b.example'],
          binding: { kind: 'group', name: 'billing' },
          familyId: digest('f'),
          extra: { tenant: 'acme', limits: { rpm: 60 }, tags: ['a', 'b'], flag: true, none: null },
        })
        await store.issue({ access: record })
        expect(await store.findAccessToken(record.digest)).toEqual(record)
      })

      it('round-trips nulls, empty values, never-expiring tokens and a missing extra', async () => {
        const record = accessRecord({ scope: '', audience: [], expiresAt: null, binding: { kind: 'credential', name: 'client-1' } })
        await store.issue({ access: record })
        const found = await store.findAccessToken(record.digest)
        expect(found).toEqual(record)
        expect(found!.expiresAt).toBeNull()
        expect(found!.username).toBeNull()
        expect(found!.familyId).toBeNull()
        expect(found!.extra ?? undefined).toBeUndefined()
      })

      it('keeps large millisecond timestamps exact', async () => {
        const far = 8_640_000_000_000_000 // the largest Date: beyond 32 bits, still a safe integer
        const record = accessRecord({ issuedAt: T0 + 123, expiresAt: far })
        await store.issue({ access: record })
        const found = await store.findAccessToken(record.digest)
        expect(found!.issuedAt).toBe(T0 + 123)
        expect(found!.expiresAt).toBe(far)
        expect(typeof found!.issuedAt).toBe('number')
      })

      it('round-trips every field of a refresh token, with and without replay', async () => {
        const { access, refresh } = pair({ refresh: { format: 'jwt', refreshCount: 3, expiresAt: null } })
        await store.issue({ access, refresh })
        expect(await store.findRefreshToken(refresh.digest)).toEqual(refresh)
        expect(await store.findAccessToken(access.digest)).toEqual(access)

        const replay = bytes(0, 1, 2, 254, 255, 0)
        expect(await store.rotateRefreshToken({ digest: refresh.digest, now: T0 + 5, replay, next: {} })).toEqual({ status: 'rotated' })
        const consumed = await store.findRefreshToken(refresh.digest)
        expect(consumed).toEqual({ ...refresh, consumedAt: T0 + 5, replay })
        expect(consumed!.replay).toBeInstanceOf(Uint8Array)
        expect([...consumed!.replay!]).toEqual([0, 1, 2, 254, 255, 0])
      })

      it('writes a refresh token without an access token (JWT format)', async () => {
        const refresh = refreshRecord({ format: 'jwt', accessDigest: null })
        await store.issue({ refresh })
        expect(await store.findRefreshToken(refresh.digest)).toEqual(refresh)
      })

      it('returns null for unknown digests', async () => {
        expect(await store.findAccessToken(digest())).toBeNull()
        expect(await store.findRefreshToken(digest())).toBeNull()
      })

      it('returns copies: mutating a result does not change the store', async () => {
        const record = accessRecord({ audience: ['x'] })
        await store.issue({ access: record })
        const found = await store.findAccessToken(record.digest)
        found!.audience.push('y')
        found!.revokedAt = 1
        expect(await store.findAccessToken(record.digest)).toEqual(record)
      })

      it('keeps its own copy of what it is given and of what it returns: binding, extra, replay', async () => {
        const access = accessRecord({ binding: { kind: 'proxy', name: 'orders-api' }, extra: { tier: { level: 1 } } })
        const refresh = refreshRecord({ binding: { kind: 'proxy', name: 'orders-api' } })
        await store.issue({ access, refresh })
        access.binding.name = 'changed'
        ;(access.extra!.tier as { level: number }).level = 2
        refresh.binding.name = 'changed'
        const foundAccess = await store.findAccessToken(access.digest)
        expect(foundAccess!.binding.name).not.toBe('changed')
        expect(foundAccess!.extra).toEqual({ tier: { level: 1 } })
        ;(foundAccess!.extra!.tier as { level: number }).level = 3
        expect((await store.findAccessToken(access.digest))!.extra).toEqual({ tier: { level: 1 } })
        expect((await store.findRefreshToken(refresh.digest))!.binding.name).not.toBe('changed')

        const next = refreshRecord({ familyId: refresh.familyId })
        const replay = new Uint8Array([1, 2, 3])
        expect((await store.rotateRefreshToken({ digest: refresh.digest, now: Date.now(), replay, next: { refresh: next } })).status).toBe('rotated')
        replay[0] = 9
        const consumed = await store.findRefreshToken(refresh.digest)
        expect([...consumed!.replay!]).toEqual([1, 2, 3])
        consumed!.replay![1] = 9
        expect([...(await store.findRefreshToken(refresh.digest))!.replay!]).toEqual([1, 2, 3])
      })

      it('an empty batch is a no-op', async () => {
        await expect(store.issue({})).resolves.toBeUndefined()
      })
    })

    describe('issue with revokePreviousOf (deletePrevious)', () => {
      it('revokes earlier tokens of the same environment + client + subject + binding and their families, and leaves others', async () => {
        const old = pair()
        const oldStandalone = accessRecord({ subject: 'alice', username: 'alice' })
        const oldJWTRefresh = refreshRecord({ format: 'jwt' }) // JWT format: only the refresh token is stored
        const otherSubject = pair({ access: { subject: 'bob', username: 'bob' }, refresh: { subject: 'bob', username: 'bob' } })
        const otherClient = accessRecord({ clientId: 'client-2', subject: 'alice' })
        const otherBindingName = accessRecord({ subject: 'alice', binding: { kind: 'proxy', name: 'other-api' } })
        const otherBindingKind = accessRecord({ subject: 'alice', binding: { kind: 'group', name: 'orders-api' } })
        const otherEnvironment = accessRecord({ environment: 'test', subject: 'alice' })
        for (const batch of [
          { access: old.access, refresh: old.refresh },
          { access: oldStandalone },
          { refresh: oldJWTRefresh },
          { access: otherSubject.access, refresh: otherSubject.refresh },
          { access: otherClient },
          { access: otherBindingName },
          { access: otherBindingKind },
          { access: otherEnvironment },
        ]) {
          await store.issue(batch)
        }
        // A later member of the old family (already rotated) must go too.
        const oldFamilyAccess2 = accessRecord({ subject: 'alice', familyId: old.familyId })
        await store.issue({ access: oldFamilyAccess2 })

        const fresh = pair({ access: { issuedAt: T0 + 10 }, refresh: { issuedAt: T0 + 10 } })
        await store.issue({
          access: fresh.access,
          refresh: fresh.refresh,
          revokePreviousOf: { environment: 'prod', clientId: 'client-1', subject: 'alice', binding: { ...proxyBinding } },
        })

        for (const d of [old.access.digest, oldStandalone.digest, oldFamilyAccess2.digest]) {
          expect((await store.findAccessToken(d))!.revokedAt, d).toBe(T0 + 10)
        }
        for (const d of [old.refresh.digest, oldJWTRefresh.digest]) {
          expect((await store.findRefreshToken(d))!.revokedAt, d).toBe(T0 + 10)
        }
        for (const d of [otherSubject.access.digest, otherClient.digest, otherBindingName.digest, otherBindingKind.digest, otherEnvironment.digest, fresh.access.digest]) {
          expect((await store.findAccessToken(d))!.revokedAt, d).toBeNull()
        }
        for (const d of [otherSubject.refresh.digest, fresh.refresh.digest]) {
          expect((await store.findRefreshToken(d))!.revokedAt, d).toBeNull()
        }
      })

      it('keeps the revocation time of tokens that were revoked already', async () => {
        const old = accessRecord({ subject: 'alice', revokedAt: T0 + 1 })
        await store.issue({ access: old })
        await store.issue({ access: accessRecord({ subject: 'alice', issuedAt: T0 + 10 }), revokePreviousOf: { environment: 'prod', clientId: 'client-1', subject: 'alice', binding: proxyBinding } })
        expect((await store.findAccessToken(old.digest))!.revokedAt).toBe(T0 + 1)
      })
    })

    describe('rotateRefreshToken', () => {
      it('rotates: consumes the token, stores the replay, revokes its access token and writes the next batch', async () => {
        const first = pair()
        await store.issue({ access: first.access, refresh: first.refresh })
        const next = pair({ access: { familyId: first.familyId, issuedAt: T0 + 60_000 }, refresh: { familyId: first.familyId, refreshCount: 1, issuedAt: T0 + 60_000 } })
        next.access.familyId = first.familyId
        next.refresh.familyId = first.familyId
        const replay = bytes(9, 8, 7)

        const outcome = await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 60_000, replay, next: { access: next.access, refresh: next.refresh } })

        expect(outcome).toEqual({ status: 'rotated' })
        const used = await store.findRefreshToken(first.refresh.digest)
        expect(used!.consumedAt).toBe(T0 + 60_000)
        expect(used!.replay).toEqual(replay)
        expect(used!.revokedAt).toBeNull()
        expect((await store.findAccessToken(first.access.digest))!.revokedAt).toBe(T0 + 60_000)
        expect(await store.findAccessToken(next.access.digest)).toEqual(next.access)
        expect(await store.findRefreshToken(next.refresh.digest)).toEqual(next.refresh)
      })

      it('does not move the revocation time of an access token revoked earlier', async () => {
        const first = pair({ access: { revokedAt: T0 + 1 } })
        await store.issue({ access: first.access, refresh: first.refresh })
        await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 50, replay: bytes(1), next: {} })
        expect((await store.findAccessToken(first.access.digest))!.revokedAt).toBe(T0 + 1)
      })

      it('returns not_found for an unknown digest and writes nothing', async () => {
        const next = accessRecord()
        expect(await store.rotateRefreshToken({ digest: digest(), now: T0, replay: bytes(1), next: { access: next } })).toEqual({ status: 'not_found' })
        expect(await store.findAccessToken(next.digest)).toBeNull()
      })

      it('returns not_found for a revoked, unused token and writes nothing (a racing revocation wins)', async () => {
        const first = pair()
        await store.issue({ access: first.access, refresh: first.refresh })
        await store.revokeFamily(first.familyId, T0 + 5)
        const next = refreshRecord({ familyId: first.familyId })
        expect(await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 10, replay: bytes(1), next: { refresh: next } })).toEqual({ status: 'not_found' })
        expect(await store.findRefreshToken(next.digest)).toBeNull()
        expect((await store.findRefreshToken(first.refresh.digest))!.consumedAt).toBeNull()
      })

      it('returns consumed (with the replay) for a token that was used and then revoked', async () => {
        const first = pair()
        await store.issue({ access: first.access, refresh: first.refresh })
        await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 10, replay: bytes(4, 2), next: {} })
        await store.revokeFamily(first.familyId, T0 + 20)
        const outcome = await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 30, replay: bytes(1), next: {} })
        expect(outcome).toMatchObject({ status: 'consumed', record: { consumedAt: T0 + 10, revokedAt: T0 + 20, replay: bytes(4, 2) } })
      })

      it('returns consumed with the record (including the replay) on a second use, and writes nothing', async () => {
        const first = pair()
        await store.issue({ access: first.access, refresh: first.refresh })
        const replay = bytes(1, 2, 3, 4)
        expect((await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 10, replay, next: {} })).status).toBe('rotated')

        const late = refreshRecord({ familyId: first.familyId })
        const outcome = await store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 20, replay: bytes(5), next: { refresh: late } })
        expect(outcome.status).toBe('consumed')
        if (outcome.status !== 'consumed') return
        expect(outcome.record).toEqual({ ...first.refresh, consumedAt: T0 + 10, replay })
        expect(outcome.record.replay).toBeInstanceOf(Uint8Array)
        expect(await store.findRefreshToken(late.digest)).toBeNull()
        expect((await store.findRefreshToken(first.refresh.digest))!.consumedAt).toBe(T0 + 10)
      })

      it('50 concurrent rotations of one token: exactly one rotated, the others consumed with the winner\'s replay', async () => {
        const first = pair()
        await store.issue({ access: first.access, refresh: first.refresh })
        const attempts = Array.from({ length: 50 }, (_, i) => {
          const next = refreshRecord({ familyId: first.familyId, refreshCount: 1 })
          return { next, replay: bytes(i, i, i) }
        })
        const outcomes = await Promise.all(
          attempts.map((a) => store.rotateRefreshToken({ digest: first.refresh.digest, now: T0 + 100, replay: a.replay, next: { refresh: a.next } })),
        )
        const winners = outcomes.flatMap((o, i) => (o.status === 'rotated' ? [i] : []))
        expect(winners).toHaveLength(1)
        const winner = attempts[winners[0]!]!
        for (const o of outcomes) {
          if (o.status === 'rotated') continue
          expect(o.status).toBe('consumed')
          if (o.status === 'consumed') expect(o.record.replay).toEqual(winner.replay)
        }
        const written = await Promise.all(attempts.map((a) => store.findRefreshToken(a.next.digest)))
        expect(written.filter(Boolean)).toHaveLength(1)
        expect(await store.findRefreshToken(winner.next.digest)).toEqual(winner.next)
      })
    })

    describe('revocation', () => {
      it('revokeFamily revokes every refresh and access token of the family and nothing else', async () => {
        const fam = pair()
        const sibling = accessRecord({ familyId: fam.familyId })
        const siblingRefresh = refreshRecord({ familyId: fam.familyId, consumedAt: T0 + 1, replay: bytes(1) })
        const earlier = accessRecord({ familyId: fam.familyId, revokedAt: T0 + 2 })
        const other = pair()
        await store.issue({ access: fam.access, refresh: fam.refresh })
        await store.issue({ access: sibling, refresh: siblingRefresh })
        await store.issue({ access: earlier })
        await store.issue({ access: other.access, refresh: other.refresh })

        await store.revokeFamily(fam.familyId, T0 + 99)

        for (const d of [fam.access.digest, sibling.digest]) expect((await store.findAccessToken(d))!.revokedAt).toBe(T0 + 99)
        for (const d of [fam.refresh.digest, siblingRefresh.digest]) expect((await store.findRefreshToken(d))!.revokedAt).toBe(T0 + 99)
        expect((await store.findAccessToken(earlier.digest))!.revokedAt).toBe(T0 + 2)
        expect((await store.findAccessToken(other.access.digest))!.revokedAt).toBeNull()
        expect((await store.findRefreshToken(other.refresh.digest))!.revokedAt).toBeNull()
      })

      it('isFamilyLive: true while a member is neither revoked nor expired (consumed ones count), false otherwise', async () => {
        const live = pair()
        const consumedOnly = refreshRecord({ familyId: digest('f'), consumedAt: T0 + 1, replay: bytes(1) })
        const expiring = refreshRecord({ familyId: digest('f'), expiresAt: T0 + 10 })
        const forever = refreshRecord({ familyId: digest('f'), expiresAt: null })
        const revoked = pair()
        for (const r of [live.refresh, consumedOnly, expiring, forever, revoked.refresh]) await store.issue({ refresh: r })
        await store.revokeFamily(revoked.familyId, T0 + 2)

        expect(await store.isFamilyLive(live.familyId, T0 + 5)).toBe(true)
        expect(await store.isFamilyLive(consumedOnly.familyId, T0 + 5)).toBe(true)
        expect(await store.isFamilyLive(expiring.familyId, T0 + 9)).toBe(true)
        expect(await store.isFamilyLive(expiring.familyId, T0 + 10)).toBe(false)
        expect(await store.isFamilyLive(forever.familyId, T0 + 1000 * HOUR)).toBe(true)
        expect(await store.isFamilyLive(revoked.familyId, T0 + 5)).toBe(false)
        expect(await store.isFamilyLive(digest('f'), T0)).toBe(false) // unknown
      })

      it('revokeJWT records a JWT by jti digest per environment; recording it again changes nothing', async () => {
        const record = { environment: 'prod', jtiDigest: digest('j'), clientId: 'client-1', expiresAt: T0 + HOUR, revokedAt: T0 }
        expect(await store.isJWTRevoked('prod', record.jtiDigest)).toBe(false)
        await store.revokeJWT(record)
        await expect(store.revokeJWT({ ...record, revokedAt: T0 + 5, expiresAt: T0 + 1 })).resolves.toBeUndefined()
        expect(await store.isJWTRevoked('prod', record.jtiDigest)).toBe(true)
        expect(await store.isJWTRevoked('test', record.jtiDigest)).toBe(false)
        expect(await store.isJWTRevoked('prod', digest('j'))).toBe(false)
        // The first record stands: its expiry (not the second one's) decides when cleanup drops it.
        expect(await store.deleteExpired(T0 + 10, 100)).toBe(0)
        expect(await store.isJWTRevoked('prod', record.jtiDigest)).toBe(true)
      })

      it('revokeFamily of an unknown family resolves', async () => {
        await expect(store.revokeFamily(digest('f'), T0)).resolves.toBeUndefined()
      })

      it('revokeAccessToken revokes the token and cascades to its family', async () => {
        const fam = pair()
        const other = pair()
        await store.issue({ access: fam.access, refresh: fam.refresh })
        await store.issue({ access: other.access, refresh: other.refresh })
        await store.revokeAccessToken(fam.access.digest, T0 + 7)
        expect((await store.findAccessToken(fam.access.digest))!.revokedAt).toBe(T0 + 7)
        expect((await store.findRefreshToken(fam.refresh.digest))!.revokedAt).toBe(T0 + 7)
        expect((await store.findAccessToken(other.access.digest))!.revokedAt).toBeNull()
        expect((await store.findRefreshToken(other.refresh.digest))!.revokedAt).toBeNull()
      })

      it('revokeAccessToken without a family revokes only that token; unknown digests resolve', async () => {
        const a = accessRecord()
        const b = accessRecord()
        await store.issue({ access: a })
        await store.issue({ access: b })
        await store.revokeAccessToken(a.digest, T0 + 3)
        expect((await store.findAccessToken(a.digest))!.revokedAt).toBe(T0 + 3)
        expect((await store.findAccessToken(b.digest))!.revokedAt).toBeNull()
        await expect(store.revokeAccessToken(digest(), T0)).resolves.toBeUndefined()
      })

      it('revoking twice keeps the first revocation time', async () => {
        const fam = pair()
        await store.issue({ access: fam.access, refresh: fam.refresh })
        await store.revokeAccessToken(fam.access.digest, T0 + 3)
        await store.revokeAccessToken(fam.access.digest, T0 + 4)
        await store.revokeFamily(fam.familyId, T0 + 5)
        expect((await store.findAccessToken(fam.access.digest))!.revokedAt).toBe(T0 + 3)
        expect((await store.findRefreshToken(fam.refresh.digest))!.revokedAt).toBe(T0 + 3)
      })
    })

    describe('keys', () => {
      const byKid = (a: KeyRecord, b: KeyRecord) => (a.kid < b.kid ? -1 : 1)

      it('adds and lists keys per environment, round-tripping every field', async () => {
        const a = keyRecord()
        const b = keyRecord({ state: 'next', alg: 'RS256', publicJwk: { kty: 'RSA', n: 'abc', e: 'AQAB' }, privateKey: '{"kty":"RSA"}', createdAt: T0 + 1 })
        const other = keyRecord({ environment: 'test' })
        expect(await store.addKey(a)).toEqual(a)
        await store.addKey(b)
        await store.addKey(other)
        expect((await store.listKeys('prod')).sort(byKid)).toEqual([a, b].sort(byKid))
        expect(await store.listKeys('test')).toEqual([other])
        expect(await store.listKeys('nowhere')).toEqual([])
      })

      it('onlyIfNoActive adds when there is no active key of that alg, and returns the existing active key otherwise', async () => {
        const first = keyRecord()
        expect(await store.addKey(first, { onlyIfNoActive: true })).toEqual(first)
        const second = keyRecord()
        expect(await store.addKey(second, { onlyIfNoActive: true })).toEqual(first)
        const otherAlg = keyRecord({ alg: 'RS256' })
        expect(await store.addKey(otherAlg, { onlyIfNoActive: true })).toEqual(otherAlg)
        const otherEnv = keyRecord({ environment: 'test' })
        expect(await store.addKey(otherEnv, { onlyIfNoActive: true })).toEqual(otherEnv)
        expect((await store.listKeys('prod')).map((k) => k.kid).sort()).toEqual([first.kid, otherAlg.kid].sort())
      })

      it('onlyIfNoActive ignores next and retired keys', async () => {
        await store.addKey(keyRecord({ state: 'next' }))
        await store.addKey(keyRecord({ state: 'retired', retiredAt: T0 }))
        const active = keyRecord()
        expect(await store.addKey(active, { onlyIfNoActive: true })).toEqual(active)
      })

      it('10 concurrent onlyIfNoActive adds leave exactly one active key, which every caller gets', async () => {
        const candidates = Array.from({ length: 10 }, () => keyRecord())
        const results = await Promise.all(candidates.map((k) => store.addKey(k, { onlyIfNoActive: true })))
        const listed = await store.listKeys('prod')
        expect(listed.filter((k) => k.state === 'active')).toHaveLength(1)
        expect(listed).toHaveLength(1)
        expect(new Set(results.map((r) => r.kid))).toEqual(new Set([listed[0]!.kid]))
      })

      it('updateKeyState changes the state and records the retirement time', async () => {
        const active = keyRecord()
        const next = keyRecord({ state: 'next' })
        await store.addKey(active)
        await store.addKey(next)
        await store.updateKeyState('prod', active.kid, 'retired', T0 + 10)
        await store.updateKeyState('prod', next.kid, 'active', T0 + 10)
        const keys = await store.listKeys('prod')
        expect(keys.find((k) => k.kid === active.kid)).toEqual({ ...active, state: 'retired', retiredAt: T0 + 10 })
        expect(keys.find((k) => k.kid === next.kid)).toEqual({ ...next, state: 'active', retiredAt: null })
      })

      it('activating a key retires the previously active key of the same alg (one active key per environment + alg)', async () => {
        const old = keyRecord()
        const rs = keyRecord({ alg: 'RS256' })
        const next = keyRecord({ state: 'next' })
        await store.addKey(old)
        await store.addKey(rs)
        await store.addKey(next)
        await store.updateKeyState('prod', next.kid, 'active', T0 + 20)
        const keys = await store.listKeys('prod')
        expect(keys.find((k) => k.kid === old.kid)).toMatchObject({ state: 'retired', retiredAt: T0 + 20 })
        expect(keys.find((k) => k.kid === next.kid)).toMatchObject({ state: 'active' })
        expect(keys.find((k) => k.kid === rs.kid)).toMatchObject({ state: 'active' })
      })

      it('adding an active key without onlyIfNoActive retires the active key it replaces', async () => {
        const old = keyRecord()
        await store.addKey(old)
        const replacement = keyRecord({ createdAt: T0 + 30 })
        await store.addKey(replacement)
        const keys = await store.listKeys('prod')
        expect(keys.filter((k) => k.state === 'active').map((k) => k.kid)).toEqual([replacement.kid])
        expect(keys.find((k) => k.kid === old.kid)).toMatchObject({ state: 'retired', retiredAt: T0 + 30 })
      })

      it('updateKeyState and deleteKey are scoped to the environment', async () => {
        const prod = keyRecord({ kid: 'same-kid' })
        const test = keyRecord({ kid: 'same-kid', environment: 'test' })
        await store.addKey(prod)
        await store.addKey(test)
        await store.updateKeyState('test', 'same-kid', 'retired', T0 + 1)
        expect((await store.listKeys('prod'))[0]).toEqual(prod)
        await store.deleteKey('test', 'same-kid')
        expect(await store.listKeys('test')).toEqual([])
        expect(await store.listKeys('prod')).toEqual([prod])
        await expect(store.deleteKey('prod', 'unknown')).resolves.toBeUndefined()
        await expect(store.updateKeyState('prod', 'unknown', 'retired', T0)).resolves.toBeUndefined()
      })
    })

    describe('deleteExpired', () => {
      it('deletes tokens that expired before now, up to limit, keeps never-expiring and unexpired ones, and returns the count', async () => {
        const expired = Array.from({ length: 5 }, (_, i) => accessRecord({ expiresAt: T0 + i }))
        const expiredRefresh = Array.from({ length: 3 }, (_, i) => refreshRecord({ expiresAt: T0 + i }))
        const forever = accessRecord({ expiresAt: null })
        const foreverRefresh = refreshRecord({ expiresAt: null })
        const boundary = accessRecord({ expiresAt: T0 + 100 })
        const live = accessRecord({ expiresAt: T0 + HOUR })
        for (const access of [...expired, forever, boundary, live]) await store.issue({ access })
        for (const refresh of [...expiredRefresh, foreverRefresh]) await store.issue({ refresh })

        expect(await store.deleteExpired(T0 + 100, 3)).toBe(3)
        expect(await store.deleteExpired(T0 + 100, 3)).toBe(3)
        expect(await store.deleteExpired(T0 + 100, 3)).toBe(2)
        expect(await store.deleteExpired(T0 + 100, 3)).toBe(0)

        for (const a of expired) expect(await store.findAccessToken(a.digest)).toBeNull()
        for (const r of expiredRefresh) expect(await store.findRefreshToken(r.digest)).toBeNull()
        expect(await store.findAccessToken(forever.digest)).toEqual(forever)
        expect(await store.findRefreshToken(foreverRefresh.digest)).toEqual(foreverRefresh)
        expect(await store.findAccessToken(boundary.digest)).toEqual(boundary) // expires exactly at now: kept
        expect(await store.findAccessToken(live.digest)).toEqual(live)
      })

      it('deletes revoked families with nothing left usable, keeps consumed tokens of live families', async () => {
        const revoked = pair({ access: { expiresAt: null }, refresh: { expiresAt: null } })
        const live = pair()
        const consumed = refreshRecord({ familyId: live.familyId, consumedAt: T0 + 1, replay: bytes(1) })
        await store.issue({ access: revoked.access, refresh: revoked.refresh })
        await store.issue({ access: live.access, refresh: live.refresh })
        await store.issue({ refresh: consumed })
        await store.revokeFamily(revoked.familyId, T0 + 2)

        expect(await store.deleteExpired(T0 + 10, 100)).toBe(2)
        expect(await store.findAccessToken(revoked.access.digest)).toBeNull()
        expect(await store.findRefreshToken(revoked.refresh.digest)).toBeNull()
        expect(await store.findRefreshToken(consumed.digest)).toEqual(consumed)
        expect(await store.findAccessToken(live.access.digest)).toEqual(live.access)
        expect(await store.findRefreshToken(live.refresh.digest)).toEqual(live.refresh)
      })

      it('keeps a revoked refresh token while an access token of its family is still usable', async () => {
        const fam = pair()
        await store.issue({ access: fam.access, refresh: { ...fam.refresh, revokedAt: T0 + 1 } })
        expect(await store.deleteExpired(T0 + 10, 100)).toBe(0)
        expect(await store.findRefreshToken(fam.refresh.digest)).not.toBeNull()
      })

      it('deletes revoked-JWT records whose JWT expired before now, keeps never-expiring ones', async () => {
        const old = Array.from({ length: 3 }, (_, i) => ({ environment: 'prod', jtiDigest: digest('j'), clientId: 'client-1', expiresAt: T0 + i, revokedAt: T0 }))
        const forever = { environment: 'prod', jtiDigest: digest('j'), clientId: 'client-1', expiresAt: null, revokedAt: T0 }
        const live = { environment: 'prod', jtiDigest: digest('j'), clientId: 'client-1', expiresAt: T0 + HOUR, revokedAt: T0 }
        for (const r of [...old, forever, live]) await store.revokeJWT(r)
        expect(await store.deleteExpired(T0 + 100, 2)).toBe(2)
        expect(await store.deleteExpired(T0 + 100, 2)).toBe(1)
        expect(await store.deleteExpired(T0 + 100, 2)).toBe(0)
        for (const r of old) expect(await store.isJWTRevoked('prod', r.jtiDigest)).toBe(false)
        expect(await store.isJWTRevoked('prod', forever.jtiDigest)).toBe(true)
        expect(await store.isJWTRevoked('prod', live.jtiDigest)).toBe(true)
      })

      it('returns 0 on an empty store and with limit 0', async () => {
        expect(await store.deleteExpired(T0, 100)).toBe(0)
        await store.issue({ access: accessRecord({ expiresAt: T0 }) })
        expect(await store.deleteExpired(T0 + 1, 0)).toBe(0)
      })
    })

    describe('close', () => {
      it('resolves, is idempotent, and later calls reject with ERR_STORE_UNAVAILABLE', async () => {
        await store.issue({ access: accessRecord() })
        await expect(store.close()).resolves.toBeUndefined()
        closed = true
        await expect(store.close()).resolves.toBeUndefined()
        await expect(store.findAccessToken(digest())).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', name: 'StoreUnavailableError' })
        await expect(store.issue({ access: accessRecord() })).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' })
      })
    })
  })
}
