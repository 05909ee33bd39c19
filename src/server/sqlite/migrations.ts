/**
 * SQLite schema migrations. Append only: never edit a migration that has shipped; add a new one.
 */

/** One schema version. */
export interface Migration {
  version: number
  name: string
  sql: string
}

/** Every migration, in order. Internal. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tokens and keys',
    sql: `
      CREATE TABLE access_tokens (
        digest TEXT PRIMARY KEY NOT NULL,
        environment TEXT NOT NULL,
        client_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        username TEXT,
        scope TEXT NOT NULL,
        audience TEXT NOT NULL,
        binding_kind TEXT NOT NULL,
        binding_name TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER,
        family_id TEXT,
        revoked_at INTEGER,
        extra TEXT
      ) WITHOUT ROWID;
      CREATE INDEX access_tokens_family ON access_tokens (family_id) WHERE family_id IS NOT NULL;
      CREATE INDEX access_tokens_owner ON access_tokens (environment, client_id, subject, binding_kind, binding_name) WHERE revoked_at IS NULL;
      CREATE INDEX access_tokens_expires ON access_tokens (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX access_tokens_revoked ON access_tokens (family_id) WHERE revoked_at IS NOT NULL;

      CREATE TABLE refresh_tokens (
        digest TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL,
        environment TEXT NOT NULL,
        client_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        username TEXT,
        scope TEXT NOT NULL,
        audience TEXT NOT NULL,
        binding_kind TEXT NOT NULL,
        binding_name TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('jwt', 'opaque')),
        refresh_count INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER,
        access_digest TEXT,
        consumed_at INTEGER,
        replay BLOB,
        revoked_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_owner ON refresh_tokens (environment, client_id, subject, binding_kind, binding_name) WHERE revoked_at IS NULL;
      CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX refresh_tokens_revoked ON refresh_tokens (family_id) WHERE revoked_at IS NOT NULL;

      CREATE TABLE signing_keys (
        environment TEXT NOT NULL,
        kid TEXT NOT NULL,
        alg TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
        public_jwk TEXT NOT NULL,
        private_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        PRIMARY KEY (environment, kid)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (environment, alg) WHERE state = 'active';
    `,
  },
  {
    version: 2,
    name: 'revoked JWTs',
    sql: `
      CREATE TABLE revoked_jwts (
        environment TEXT NOT NULL,
        jti_digest TEXT NOT NULL,
        client_id TEXT NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER NOT NULL,
        PRIMARY KEY (environment, jti_digest)
      ) WITHOUT ROWID;
      CREATE INDEX revoked_jwts_expires ON revoked_jwts (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
]
