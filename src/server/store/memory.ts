import { StoreUnavailableError } from '../../shared/errors.js'
import type {
  AccessTokenRecord,
  IssueBatch,
  KeyRecord,
  RefreshTokenRecord,
  RevokedJWTRecord,
  RotateInput,
  RotateOutcome,
  TokenBinding,
  TokenStore,
} from './types.js'

const sameBinding = (a: TokenBinding, b: TokenBinding) => a.kind === b.kind && a.name === b.name

const clone = <T>(value: T): T => structuredClone(value)

// Token records are copied on every write and read (callers never share the stored object);
// field by field, as structuredClone costs more than the rest of an issuance together.
function copyAccess(record: AccessTokenRecord): AccessTokenRecord {
  const copy = { ...record, audience: [...record.audience], binding: { ...record.binding } }
  if (record.extra !== undefined) copy.extra = structuredClone(record.extra)
  return copy
}

function copyRefresh(record: RefreshTokenRecord): RefreshTokenRecord {
  return { ...record, audience: [...record.audience], binding: { ...record.binding }, replay: record.replay === null ? null : new Uint8Array(record.replay) }
}

/**
 * Creates an in-memory {@link TokenStore}: for tests, single-process development and edge demos.
 * Everything is lost when the process stops. After `close()`, every call rejects with
 * `StoreUnavailableError`.
 *
 * Available from `'gatepass/server'`.
 *
 * @returns A store to pass as `store` to `createTokenService()`.
 * @example
 *
 * ```ts
 * import { createMemoryStore, createTokenService } from 'gatepass/server'
 *
 * let config!: import('gatepass/server').GatepassConfigInput
 * const service = createTokenService(config, { store: createMemoryStore() })
 * ```
 *
 * @group Stores
 */
export function createMemoryStore(): TokenStore {
  const access = new Map<string, AccessTokenRecord>()
  const refresh = new Map<string, RefreshTokenRecord>()
  const keys = new Map<string, KeyRecord>()
  const revokedJWTs = new Map<string, RevokedJWTRecord>()
  const keyId = (environment: string, kid: string) => `${environment}\u0000${kid}`
  let closed = false

  function open() {
    if (closed) throw new StoreUnavailableError('store is closed')
  }

  function revokeFamilyNow(familyId: string, at: number) {
    for (const r of refresh.values()) if (r.familyId === familyId && r.revokedAt === null) r.revokedAt = at
    for (const a of access.values()) if (a.familyId === familyId && a.revokedAt === null) a.revokedAt = at
  }

  function applyIssue(batch: IssueBatch, at: number) {
    const prev = batch.revokePreviousOf
    if (prev) {
      const owned = (t: AccessTokenRecord | RefreshTokenRecord) =>
        t.revokedAt === null && t.environment === prev.environment && t.clientId === prev.clientId && t.subject === prev.subject && sameBinding(t.binding, prev.binding)
      const families = new Set<string>()
      for (const a of access.values()) {
        if (!owned(a)) continue
        a.revokedAt = at
        if (a.familyId) families.add(a.familyId)
      }
      // Refresh tokens too: JWT-format grants store no access token.
      for (const r of refresh.values()) {
        if (!owned(r)) continue
        r.revokedAt = at
        families.add(r.familyId)
      }
      for (const familyId of families) revokeFamilyNow(familyId, at)
    }
    if (batch.access) access.set(batch.access.digest, copyAccess(batch.access))
    if (batch.refresh) refresh.set(batch.refresh.digest, copyRefresh(batch.refresh))
  }

  /** Keeps one active key per environment + alg: retires the others. */
  function retireActive(environment: string, alg: string, exceptKid: string, at: number) {
    for (const k of keys.values()) {
      if (k.environment === environment && k.alg === alg && k.state === 'active' && k.kid !== exceptKid) {
        k.state = 'retired'
        k.retiredAt = at
      }
    }
  }

  /** A family is live while one of its tokens is neither revoked nor expired (consumed ones count). */
  /** Cleanup: whether anything of a family (refresh or access token) is still unrevoked and not expired before `now`. */
  function familyHasKeepers(familyId: string, now: number) {
    const live = (t: { revokedAt: number | null; expiresAt: number | null }) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt >= now)
    for (const r of refresh.values()) if (r.familyId === familyId && live(r)) return true
    for (const a of access.values()) if (a.familyId === familyId && live(a)) return true
    return false
  }

  return {
    async issue(batch) {
      open()
      applyIssue(batch, batch.access?.issuedAt ?? batch.refresh?.issuedAt ?? Date.now())
    },
    async findAccessToken(digest) {
      open()
      const found = access.get(digest)
      return found ? copyAccess(found) : null
    },
    async findRefreshToken(digest) {
      open()
      const found = refresh.get(digest)
      return found ? copyRefresh(found) : null
    },
    async rotateRefreshToken(input: RotateInput): Promise<RotateOutcome> {
      open()
      const current = refresh.get(input.digest)
      if (!current) return { status: 'not_found' }
      if (current.consumedAt !== null) return { status: 'consumed', record: copyRefresh(current) }
      // Revoked (e.g. by a racing reuse detection): never rotate it into a live successor.
      if (current.revokedAt !== null) return { status: 'not_found' }
      current.consumedAt = input.now
      current.replay = input.replay.slice()
      if (current.accessDigest) {
        const old = access.get(current.accessDigest)
        if (old && old.revokedAt === null) old.revokedAt = input.now
      }
      applyIssue(input.next, input.now)
      return { status: 'rotated' }
    },
    async revokeFamily(familyId, at) {
      open()
      revokeFamilyNow(familyId, at)
    },
    async isFamilyLive(familyId, now) {
      open()
      for (const r of refresh.values()) if (r.familyId === familyId && r.revokedAt === null && (r.expiresAt === null || r.expiresAt > now)) return true
      return false
    },
    async revokeJWT(record) {
      open()
      const id = keyId(record.environment, record.jtiDigest)
      if (!revokedJWTs.has(id)) revokedJWTs.set(id, { ...record })
    },
    async isJWTRevoked(environment, jtiDigest) {
      open()
      return revokedJWTs.has(keyId(environment, jtiDigest))
    },
    async revokeAccessToken(digest, at) {
      open()
      const found = access.get(digest)
      if (!found) return
      if (found.revokedAt === null) found.revokedAt = at
      if (found.familyId) revokeFamilyNow(found.familyId, at)
    },
    async listKeys(environment) {
      open()
      return [...keys.values()].filter((k) => k.environment === environment).map(clone)
    },
    async addKey(key, options) {
      open()
      if (options?.onlyIfNoActive) {
        const existing = [...keys.values()].find((k) => k.environment === key.environment && k.alg === key.alg && k.state === 'active')
        if (existing) return clone(existing)
      }
      if (key.state === 'active') retireActive(key.environment, key.alg, key.kid, key.createdAt)
      keys.set(keyId(key.environment, key.kid), clone(key))
      return clone(key)
    },
    async updateKeyState(environment, kid, state, at) {
      open()
      const found = keys.get(keyId(environment, kid))
      if (!found) return
      if (state === 'active') retireActive(environment, found.alg, kid, at)
      found.state = state
      found.retiredAt = state === 'retired' ? at : null
    },
    async deleteKey(environment, kid) {
      open()
      keys.delete(keyId(environment, kid))
    },
    async deleteExpired(now, limit) {
      open()
      let removed = 0
      const expired = (t: { expiresAt: number | null }) => t.expiresAt !== null && t.expiresAt < now
      for (const [digest, a] of access) {
        if (removed >= limit) return removed
        if (expired(a)) {
          access.delete(digest)
          removed++
        }
      }
      for (const [digest, r] of refresh) {
        if (removed >= limit) return removed
        if (expired(r)) {
          refresh.delete(digest)
          removed++
        }
      }
      // Families with nothing left usable: every remaining token is revoked.
      for (const [digest, r] of refresh) {
        if (removed >= limit) return removed
        if (r.revokedAt !== null && !familyHasKeepers(r.familyId, now)) {
          refresh.delete(digest)
          removed++
        }
      }
      for (const [digest, a] of access) {
        if (removed >= limit) return removed
        if (a.revokedAt !== null && a.familyId !== null && !familyHasKeepers(a.familyId, now)) {
          access.delete(digest)
          removed++
        }
      }
      for (const [id, j] of revokedJWTs) {
        if (removed >= limit) return removed
        if (expired(j)) {
          revokedJWTs.delete(id)
          removed++
        }
      }
      return removed
    },
    async close() {
      closed = true
      access.clear()
      refresh.clear()
      keys.clear()
    },
  }
}
