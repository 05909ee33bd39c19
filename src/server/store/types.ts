/**
 * The store interface every persistence backend implements (memory, SQLite, PostgreSQL).
 *
 * Times are epoch milliseconds. Tokens are never stored: only their SHA-256 digests (base64url).
 *
 * @module
 */

/**
 * How the token that a record describes was obtained.
 *
 * @group Stores
 */
export type ManagementMode = 'policy' | 'acl'

/**
 * What a token is bound to: an API proxy, a proxy group, or (ACL mode) the credential's grants.
 *
 * @group Stores
 */
export interface TokenBinding {
  /** `proxy` / `group` in policy mode; `credential` in ACL mode. */
  kind: 'proxy' | 'group' | 'credential'
  /** Proxy or group name; the credential's client id in ACL mode. */
  name: string
}

/**
 * A stored opaque access token.
 *
 * @group Stores
 */
export interface AccessTokenRecord {
  /** SHA-256 digest of the token, base64url. */
  digest: string
  /** Environment that issued it. */
  environment: string
  /** Client that obtained it. */
  clientId: string
  /** Subject: the username (password grant) or the client id. */
  subject: string
  /** Username, for password-grant tokens. */
  username: string | null
  /** Granted scopes, space separated (`''` when none). */
  scope: string
  /** Audiences the token is valid for. */
  audience: string[]
  /** What the token is bound to. */
  binding: TokenBinding
  /** Issue time. */
  issuedAt: number
  /** Expiry time; `null` for never-expiring tokens. */
  expiresAt: number | null
  /** Refresh family, when issued together with a refresh token. */
  familyId: string | null
  /** Revocation time; `null` while active. */
  revokedAt: number | null
  /** Extra token-response fields (from credential metadata), replayed on introspection. */
  extra?: Record<string, unknown> | undefined
}

/**
 * A stored refresh token (always opaque, for both token formats).
 *
 * @group Stores
 */
export interface RefreshTokenRecord {
  /** SHA-256 digest of the refresh token, base64url. */
  digest: string
  /** The token family: every refresh token obtained by rotating from one grant. */
  familyId: string
  environment: string
  clientId: string
  subject: string
  username: string | null
  scope: string
  audience: string[]
  binding: TokenBinding
  /** Format of the access tokens this refresh token yields. */
  format: 'jwt' | 'opaque'
  /** How many refreshes happened before this token was issued (0 for the first one). */
  refreshCount: number
  issuedAt: number
  expiresAt: number | null
  /** Digest of the opaque access token issued with it (revoked when it is used). */
  accessDigest: string | null
  /** When it was used (rotation); `null` while unused. */
  consumedAt: number | null
  /**
   * The response produced when it was consumed, AES-GCM encrypted with a key derived from the
   * refresh token itself (so the store alone cannot read it). Replayed inside the grace window.
   */
  replay: Uint8Array | null
  revokedAt: number | null
}

/**
 * A signing key of an environment.
 *
 * @group Stores
 */
export interface KeyRecord {
  kid: string
  environment: string
  alg: string
  /** `next` keys are published but do not sign; `active` keys sign; `retired` keys only verify. */
  state: 'next' | 'active' | 'retired'
  /** Public JWK (JSON). */
  publicJwk: Record<string, unknown>
  /** Private JWK as JSON text, or its AES-GCM encryption (`enc:` prefix) when a key-encryption key is set. */
  privateKey: string
  createdAt: number
  /** When the key was retired; `null` otherwise. */
  retiredAt: number | null
}

/**
 * A batch written atomically when tokens are issued.
 *
 * @group Stores
 */
export interface IssueBatch {
  access?: AccessTokenRecord | undefined
  refresh?: RefreshTokenRecord | undefined
  /** `deletePrevious`: revoke every earlier active token (and its family) of this client + subject + binding. */
  revokePreviousOf?: { environment: string; clientId: string; subject: string; binding: TokenBinding } | undefined
}

/**
 * Input of the atomic refresh-token rotation.
 *
 * @group Stores
 */
export interface RotateInput {
  /** Digest of the refresh token being used. */
  digest: string
  /** Current time; becomes `consumedAt`. */
  now: number
  /** Encrypted response to keep for replays inside the grace window. */
  replay: Uint8Array
  /** What the rotation issues. */
  next: IssueBatch
}

/**
 * Outcome of {@link TokenStore.rotateRefreshToken}.
 *
 * @group Stores
 */
export type RotateOutcome =
  | { status: 'rotated' }
  | { status: 'not_found' }
  /** The token was consumed already (by a racing or repeated request); nothing was written. */
  | { status: 'consumed'; record: RefreshTokenRecord }

/**
 * A revoked JWT access token (RFC 7009), kept until the JWT expires: `/jwt/regenerate` refuses it
 * and introspection answers `{ "active": false }` for it. (The guard checks JWTs by signature only.)
 *
 * @group Stores
 */
export interface RevokedJWTRecord {
  environment: string
  /** SHA-256 (base64url) of the JWT's `jti`. */
  jtiDigest: string
  clientId: string
  /** The JWT's `exp` in ms; `null` for a JWT that never expires (kept for good). */
  expiresAt: number | null
  revokedAt: number
}

/**
 * The persistence interface of the token service. Every method either completes or throws; a
 * throwing write leaves nothing half-written. Implementations: `createMemoryStore()` here,
 * `createSQLiteStore()` in `gatepass/server/sqlite`, `createPostgresStore()` in `gatepass/server/postgres`.
 *
 * @group Stores
 */
export interface TokenStore {
  /** Writes an issuance batch atomically. */
  issue(batch: IssueBatch): Promise<void>
  /** Looks up an opaque access token by digest (revoked and expired ones included). */
  findAccessToken(digest: string): Promise<AccessTokenRecord | null>
  /** Looks up a refresh token by digest (consumed, revoked and expired ones included). */
  findRefreshToken(digest: string): Promise<RefreshTokenRecord | null>
  /**
   * Atomically consumes an unused refresh token and writes what replaces it: marks it consumed
   * (storing `replay`), revokes the access token issued with it, and writes `next`. Exactly one of
   * any number of concurrent callers for one digest gets `rotated`.
   */
  rotateRefreshToken(input: RotateInput): Promise<RotateOutcome>
  /** Revokes every refresh and access token of a family. */
  revokeFamily(familyId: string, at: number): Promise<void>
  /**
   * Whether a refresh family still has a member that is neither revoked nor expired at `now`
   * (consumed members count: the family lives on in their successor). A JWT issued with a family
   * (`sid`) can be renewed through `/jwt/regenerate` only while it does.
   */
  isFamilyLive(familyId: string, now: number): Promise<boolean>
  /** Revokes one opaque access token (and its family when it has one). */
  revokeAccessToken(digest: string, at: number): Promise<void>
  /** Records a revoked JWT; recording it again changes nothing. */
  revokeJWT(record: RevokedJWTRecord): Promise<void>
  /** Whether the JWT whose `jti` has this digest was revoked in `environment`. */
  isJWTRevoked(environment: string, jtiDigest: string): Promise<boolean>
  /** Every key of an environment, any state. */
  listKeys(environment: string): Promise<KeyRecord[]>
  /**
   * Adds a key. With `onlyIfNoActive`, adds it only when the environment has no active key of the
   * same `alg`, and returns the active key that exists instead (start-up race between instances).
   */
  addKey(key: KeyRecord, options?: { onlyIfNoActive?: boolean }): Promise<KeyRecord>
  /** Changes a key's state (rotation, retirement). */
  updateKeyState(environment: string, kid: string, state: KeyRecord['state'], at: number): Promise<void>
  /** Deletes a key. */
  deleteKey(environment: string, kid: string): Promise<void>
  /**
   * Deletes up to `limit` tokens (and revoked-JWT records) that expired before `now` (never-expiring
   * ones are kept), and refresh families with nothing left usable. Returns how many rows went.
   */
  deleteExpired(now: number, limit: number): Promise<number>
  /** Releases connections. */
  close(): Promise<void>
}
