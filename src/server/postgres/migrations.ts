/**
 * PostgreSQL schema migrations (the SQLite ones in PostgreSQL dialect). Append only: never edit a
 * migration that has shipped; add a new one. Internal.
 */

/** One schema version; `sql` receives the quoted schema name. */
export interface PostgresMigration {
  version: number
  name: string
  sql: (schema: string) => string
}

/** Every migration, in order. Internal. */
export const migrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'tokens and keys',
    sql: (s) => `
      CREATE TABLE ${s}.access_tokens (
        digest text PRIMARY KEY,
        environment text NOT NULL,
        client_id text NOT NULL,
        subject text NOT NULL,
        username text,
        scope text NOT NULL,
        audience jsonb NOT NULL,
        binding_kind text NOT NULL,
        binding_name text NOT NULL,
        issued_at bigint NOT NULL,
        expires_at bigint,
        family_id text,
        revoked_at bigint,
        extra jsonb
      );
      CREATE INDEX access_tokens_family ON ${s}.access_tokens (family_id) WHERE family_id IS NOT NULL;
      CREATE INDEX access_tokens_owner ON ${s}.access_tokens (environment, client_id, subject, binding_kind, binding_name) WHERE revoked_at IS NULL;
      CREATE INDEX access_tokens_expires ON ${s}.access_tokens (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX access_tokens_revoked ON ${s}.access_tokens (family_id) WHERE revoked_at IS NOT NULL;

      CREATE TABLE ${s}.refresh_tokens (
        digest text PRIMARY KEY,
        family_id text NOT NULL,
        environment text NOT NULL,
        client_id text NOT NULL,
        subject text NOT NULL,
        username text,
        scope text NOT NULL,
        audience jsonb NOT NULL,
        binding_kind text NOT NULL,
        binding_name text NOT NULL,
        format text NOT NULL CHECK (format IN ('jwt', 'opaque')),
        refresh_count integer NOT NULL,
        issued_at bigint NOT NULL,
        expires_at bigint,
        access_digest text,
        consumed_at bigint,
        replay bytea,
        revoked_at bigint
      );
      CREATE INDEX refresh_tokens_family ON ${s}.refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_owner ON ${s}.refresh_tokens (environment, client_id, subject, binding_kind, binding_name) WHERE revoked_at IS NULL;
      CREATE INDEX refresh_tokens_expires ON ${s}.refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX refresh_tokens_revoked ON ${s}.refresh_tokens (family_id) WHERE revoked_at IS NOT NULL;

      CREATE TABLE ${s}.signing_keys (
        environment text NOT NULL,
        kid text NOT NULL,
        alg text NOT NULL,
        state text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
        public_jwk jsonb NOT NULL,
        private_key text NOT NULL,
        created_at bigint NOT NULL,
        retired_at bigint,
        PRIMARY KEY (environment, kid)
      );
      CREATE UNIQUE INDEX signing_keys_one_active ON ${s}.signing_keys (environment, alg) WHERE state = 'active';
    `,
  },
  {
    version: 2,
    name: 'revoked JWTs',
    sql: (s) => `
      CREATE TABLE ${s}.revoked_jwts (
        environment text NOT NULL,
        jti_digest text NOT NULL,
        client_id text NOT NULL,
        expires_at bigint,
        revoked_at bigint NOT NULL,
        PRIMARY KEY (environment, jti_digest)
      );
      CREATE INDEX revoked_jwts_expires ON ${s}.revoked_jwts (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
]
