/**
 * Help texts of the `gatepass` command line. Internal.
 */

const MAIN = `Usage: gatepass <command> [options]

Commands:
  serve          Run the token service of a configuration file on a node:http server
  hash-secret    Hash a client secret (or a user password) for a configuration file
  keys generate  Generate a signing key pair (PKCS#8 PEM private key + public JWK)
  keys import    Make a key from elsewhere the active signing key of a configuration's store
  migrate        Apply the store's schema migrations (SQLite / PostgreSQL) and exit

Options:
  -h, --help     Show help (also: gatepass <command> --help, gatepass help <command>)
  -v, --version  Show the version

Exit codes: 0 success, 1 failure (bad config, store or port problem), 2 bad usage.`

const SERVE = `Usage: gatepass serve --config <file> [--port <n>] [--host <address>]

Runs the token service of one environment (and the proxies of the configuration) until
SIGINT or SIGTERM.

Options:
  -c, --config <file>  Configuration: .json, .js/.mjs (default export), or .ts (run under tsx)
  -p, --port <n>       TCP port (default: $PORT, else 8080; 0 picks a free port)
      --host <address> Interface to listen on (default 127.0.0.1; 0.0.0.0 or :: for all)
  -h, --help           Show this help

The store is chosen by the "store" field of the configuration:
  { "kind": "sqlite", "path": ".gatepass/gatepass.db" }  (default; needs better-sqlite3@12)
  { "kind": "memory" }                                   (lost on exit)
  { "kind": "postgres", "connectionString": { "env": "DATABASE_URL" }, "schema": "gatepass" }
                                                         (needs pg)
Relative SQLite paths are resolved from the current directory.`

const HASH_SECRET = `Usage: gatepass hash-secret [--password [--iterations <n>]] [--json]

Reads a secret from stdin (one line; the final newline is dropped) and prints its digest for
the configuration. With no input on stdin (or when stdin is a terminal) it generates a new
256-bit client secret and prints it once, next to its digest.

  echo -n "$CLIENT_SECRET" | gatepass hash-secret     -> sha256:...
  gatepass hash-secret                                  -> a new secret + its digest
  gatepass hash-secret --password < password.txt        -> pbkdf2-sha256$...

Options:
      --password          Hash a user password with PBKDF2-SHA256 instead (slow KDF)
      --iterations <n>    PBKDF2 iterations (default 600000; at least 1000)
      --json              Print {"digest": ..., "secret"?: ...} instead of text
  -h, --help              Show this help`

const KEYS = `Usage: gatepass keys generate [--alg <alg>] [--json]
       gatepass keys import --config <file> [--alg <alg>] [--file <key>] [--json]

generate: makes a signing key pair and prints the private key (PKCS#8 PEM; keep it secret) and
the public key as a JWK with its RFC 7638 thumbprint as "kid".

import: reads a private key (PKCS#8 PEM, or a private JWK as JSON) from --file or stdin and
makes it the active key of its algorithm in the store of the configuration; the key it replaces
keeps verifying until its tokens expire. Instances with the configuration's cache.redis pick it
up at once, others within a minute.

Options:
      --alg <alg>      RS256, RS384, RS512, PS256, ES256 or EdDSA (Ed25519); generate: default
                       RS256; import: default the environment's algorithm
  -c, --config <file>  (import) Configuration whose store receives the key
  -f, --file <key>     (import) Key file; default: stdin
      --json           Print JSON instead of text
  -h, --help           Show this help`

/** Usage text by command name (`''` for the overview). */
const MIGRATE = `Usage: gatepass migrate --config <file>

Opens the store named by the "store" field of the configuration, applies its pending schema
migrations (versioned; PostgreSQL under an advisory lock, so several instances may run it at
once) and exits. \`gatepass serve\` does the same at start.

Options:
  -c, --config <file>  Configuration file
  -h, --help           Show this help`

export const USAGE: Record<string, string> = {
  migrate: MIGRATE,
  '': MAIN,
  serve: SERVE,
  'hash-secret': HASH_SECRET,
  keys: KEYS,
}
