/**
 * Mapping between store records and SQLite rows. Internal.
 */
import type { AccessTokenRecord, KeyRecord, RefreshTokenRecord, TokenBinding } from '../store/types.js'

/** An `access_tokens` row. */
export interface AccessRow {
  digest: string
  environment: string
  client_id: string
  subject: string
  username: string | null
  scope: string
  audience: string
  binding_kind: string
  binding_name: string
  issued_at: number
  expires_at: number | null
  family_id: string | null
  revoked_at: number | null
  extra: string | null
}

/** A `refresh_tokens` row. */
export interface RefreshRow {
  digest: string
  family_id: string
  environment: string
  client_id: string
  subject: string
  username: string | null
  scope: string
  audience: string
  binding_kind: string
  binding_name: string
  format: string
  refresh_count: number
  issued_at: number
  expires_at: number | null
  access_digest: string | null
  consumed_at: number | null
  replay: Uint8Array | null
  revoked_at: number | null
}

/** A `signing_keys` row. */
export interface KeyRow {
  environment: string
  kid: string
  alg: string
  state: string
  public_jwk: string
  private_key: string
  created_at: number
  retired_at: number | null
}

/** better-sqlite3 binds Buffers (a Uint8Array view of the same memory), not plain Uint8Arrays. */
function toBlob(bytes: Uint8Array): Uint8Array {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** A plain Uint8Array copy (never a Buffer, never a view of a shared slab). */
export function fromBlob(blob: Uint8Array | null): Uint8Array | null {
  return blob === null ? null : new Uint8Array(blob)
}

export function accessParams(r: AccessTokenRecord): AccessRow {
  return {
    digest: r.digest,
    environment: r.environment,
    client_id: r.clientId,
    subject: r.subject,
    username: r.username,
    scope: r.scope,
    audience: JSON.stringify(r.audience),
    binding_kind: r.binding.kind,
    binding_name: r.binding.name,
    issued_at: r.issuedAt,
    expires_at: r.expiresAt,
    family_id: r.familyId,
    revoked_at: r.revokedAt,
    extra: r.extra === undefined ? null : JSON.stringify(r.extra),
  }
}

export function accessRecord(row: AccessRow): AccessTokenRecord {
  const record: AccessTokenRecord = {
    digest: row.digest,
    environment: row.environment,
    clientId: row.client_id,
    subject: row.subject,
    username: row.username,
    scope: row.scope,
    audience: JSON.parse(row.audience) as string[],
    binding: { kind: row.binding_kind as TokenBinding['kind'], name: row.binding_name },
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    familyId: row.family_id,
    revokedAt: row.revoked_at,
  }
  if (row.extra !== null) record.extra = JSON.parse(row.extra) as Record<string, unknown>
  return record
}

export function refreshParams(r: RefreshTokenRecord): RefreshRow {
  return {
    digest: r.digest,
    family_id: r.familyId,
    environment: r.environment,
    client_id: r.clientId,
    subject: r.subject,
    username: r.username,
    scope: r.scope,
    audience: JSON.stringify(r.audience),
    binding_kind: r.binding.kind,
    binding_name: r.binding.name,
    format: r.format,
    refresh_count: r.refreshCount,
    issued_at: r.issuedAt,
    expires_at: r.expiresAt,
    access_digest: r.accessDigest,
    consumed_at: r.consumedAt,
    replay: r.replay === null ? null : toBlob(r.replay),
    revoked_at: r.revokedAt,
  }
}

export function refreshRecord(row: RefreshRow): RefreshTokenRecord {
  return {
    digest: row.digest,
    familyId: row.family_id,
    environment: row.environment,
    clientId: row.client_id,
    subject: row.subject,
    username: row.username,
    scope: row.scope,
    audience: JSON.parse(row.audience) as string[],
    binding: { kind: row.binding_kind as TokenBinding['kind'], name: row.binding_name },
    format: row.format as RefreshTokenRecord['format'],
    refreshCount: row.refresh_count,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    accessDigest: row.access_digest,
    consumedAt: row.consumed_at,
    replay: fromBlob(row.replay),
    revokedAt: row.revoked_at,
  }
}

export function keyParams(k: KeyRecord): KeyRow {
  return {
    environment: k.environment,
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    public_jwk: JSON.stringify(k.publicJwk),
    private_key: k.privateKey,
    created_at: k.createdAt,
    retired_at: k.retiredAt,
  }
}

export function keyRecord(row: KeyRow): KeyRecord {
  return {
    kid: row.kid,
    environment: row.environment,
    alg: row.alg,
    state: row.state as KeyRecord['state'],
    publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
    privateKey: row.private_key,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  }
}

/** Exported for the replay parameter of rotation. */
export { toBlob }
