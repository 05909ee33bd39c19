/**
 * Interfaces of the optional second-level cache and the revocation fan-out shared by several
 * gateway instances (implemented on Redis by `gatepass/server/redis`).
 *
 * @module
 */

/**
 * A key-value cache shared by every instance. Values are JSON text; entries expire after `ttl`.
 * Implementations must never throw from `get`, `set` and `delete`: on an outage they answer `null`
 * / do nothing.
 *
 * @group Caches
 */
export interface SharedCache {
  /** The value, or `null` when absent, expired or unreachable. */
  get(key: string): Promise<string | null>
  /**
   * Optional: like `get`, but rejects when the cache could not answer (an outage, a timeout)
   * instead of answering `null`. Where it exists, gatepass reads revocation markers with it, so a
   * marker it could not read counts as present (the store is asked) rather than absent.
   */
  read?(key: string): Promise<string | null>
  /** Stores a value for `ttl` milliseconds. */
  set(key: string, value: string, ttl: number): Promise<void>
  /** Deletes a value. */
  delete(key: string): Promise<void>
}

/**
 * What a revocation invalidates: one opaque token (by digest), a whole refresh family, the
 * earlier tokens of one owner, and/or the signing keys of an environment.
 *
 * @group Caches
 */
export interface RevocationEvent {
  digest?: string
  familyId?: string
  /**
   * `deletePrevious`: the earlier tokens of one client + subject + binding were revoked. An opaque
   * key (SHA-256, base64url) of that owner; see the token records' `clientId`, `subject`, `binding`.
   */
  owner?: string
  /**
   * `rotateKeys()`: the signing keys of the environment of this name changed (with `invalidate`,
   * old ones were deleted). Every instance re-reads them from the store at once.
   */
  keys?: string
  /**
   * Revocations may have been missed: the bus lost its subscription (delivered at the loss) or has
   * it back after one (delivered again then). A bus delivers this to its own listeners only; it is
   * never published. gatepass drops its in-process token caches and re-reads the signing keys.
   */
  missed?: true
}

/**
 * Publishes revocations to every instance so each drops the entries from its in-process cache.
 *
 * @group Caches
 */
export interface RevocationBus {
  /** Tells every instance (this one included) about a revocation. Never throws. */
  publish(event: RevocationEvent): Promise<void>
  /** Listens to revocations from any instance; returns the unsubscribe function. */
  subscribe(listener: (event: RevocationEvent) => void): () => void
}
