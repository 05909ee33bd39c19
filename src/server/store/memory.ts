import type {
  AccessTokenRecord,
  IssueBatch,
  KeyRecord,
  RefreshTokenRecord,
  RotateInput,
  RotateOutcome,
  TokenBinding,
  TokenStore,
} from './types.js'

const sameBinding = (a: TokenBinding, b: TokenBinding) => a.kind === b.kind && a.name === b.name

const clone = <T>(value: T): T => structuredClone(value)

/**
 * Creates an in-memory {@link TokenStore}: for tests, single-process development and edge demos.
 * Everything is lost when the process stops.
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
  const keyId = (environment: string, kid: string) => `${environment}\u0000${kid}`

  function revokeFamilyNow(familyId: string, at: number) {
    for (const r of refresh.values()) if (r.familyId === familyId && r.revokedAt === null) r.revokedAt = at
    for (const a of access.values()) if (a.familyId === familyId && a.revokedAt === null) a.revokedAt = at
  }

  function applyIssue(batch: IssueBatch, at: number) {
    const prev = batch.revokePreviousOf
    if (prev) {
      for (const a of access.values()) {
        if (a.revokedAt === null && a.environment === prev.environment && a.clientId === prev.clientId && a.subject === prev.subject && sameBinding(a.binding, prev.binding)) {
          a.revokedAt = at
          if (a.familyId) revokeFamilyNow(a.familyId, at)
        }
      }
    }
    if (batch.access) access.set(batch.access.digest, clone(batch.access))
    if (batch.refresh) refresh.set(batch.refresh.digest, clone(batch.refresh))
  }

  return {
    async issue(batch) {
      applyIssue(batch, batch.access?.issuedAt ?? batch.refresh?.issuedAt ?? Date.now())
    },
    async findAccessToken(digest) {
      const found = access.get(digest)
      return found ? clone(found) : null
    },
    async findRefreshToken(digest) {
      const found = refresh.get(digest)
      return found ? clone(found) : null
    },
    async rotateRefreshToken(input: RotateInput): Promise<RotateOutcome> {
      const current = refresh.get(input.digest)
      if (!current) return { status: 'not_found' }
      if (current.consumedAt !== null) return { status: 'consumed', record: clone(current) }
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
      revokeFamilyNow(familyId, at)
    },
    async revokeAccessToken(digest, at) {
      const found = access.get(digest)
      if (!found) return
      if (found.revokedAt === null) found.revokedAt = at
      if (found.familyId) revokeFamilyNow(found.familyId, at)
    },
    async listKeys(environment) {
      return [...keys.values()].filter((k) => k.environment === environment).map(clone)
    },
    async addKey(key, options) {
      if (options?.onlyIfNoActive) {
        const existing = [...keys.values()].find((k) => k.environment === key.environment && k.alg === key.alg && k.state === 'active')
        if (existing) return clone(existing)
      }
      keys.set(keyId(key.environment, key.kid), clone(key))
      return clone(key)
    },
    async updateKeyState(environment, kid, state, at) {
      const found = keys.get(keyId(environment, kid))
      if (!found) return
      found.state = state
      found.retiredAt = state === 'retired' ? at : null
    },
    async deleteKey(environment, kid) {
      keys.delete(keyId(environment, kid))
    },
    async deleteExpired(now, limit) {
      let removed = 0
      for (const [digest, a] of access) {
        if (removed >= limit) break
        if (a.expiresAt !== null && a.expiresAt < now) {
          access.delete(digest)
          removed++
        }
      }
      for (const [digest, r] of refresh) {
        if (removed >= limit) break
        if (r.expiresAt !== null && r.expiresAt < now) {
          refresh.delete(digest)
          removed++
        }
      }
      return removed
    },
    async close() {
      access.clear()
      refresh.clear()
      keys.clear()
    },
  }
}
