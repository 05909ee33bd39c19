/**
 * `gatepass keys generate`: signing key pairs for an environment. Internal.
 */
import { parseArgs } from 'node:util'
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { usageError } from './errors.js'

/** Algorithms an environment may sign with (SPEC §2). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA'] as const
type Algorithm = (typeof ALGORITHMS)[number]

const isAlgorithm = (value: string): value is Algorithm => (ALGORITHMS as readonly string[]).includes(value)

/** Runs `gatepass keys <subcommand>`; returns the exit code. */
export async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      alg: { type: 'string', default: 'RS256' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  })
  const [sub, ...extra] = positionals
  if (sub !== 'generate') throw usageError(sub === undefined ? 'missing subcommand "generate"' : `unknown subcommand "keys ${sub}"`, 'keys')
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`, 'keys')
  const alg = values.alg
  if (!isAlgorithm(alg)) throw usageError(`"--alg" must be one of ${ALGORITHMS.join(', ')}`, 'keys')

  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}) })
  const pem = await exportPKCS8(privateKey)
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  const publicJwk = { ...jwk, kid, alg, use: 'sig' }

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ kid, alg, privateKey: pem, publicJwk }, null, 2)}\n`)
  } else {
    process.stdout.write(
      `# Private key (PKCS#8 PEM), ${alg}: keep it secret (a secret manager or an environment variable)\n` +
        `${pem.trimEnd()}\n\n` +
        `# Public key (JWK), kid = ${kid}\n` +
        `${JSON.stringify(publicJwk, null, 2)}\n`,
    )
  }
  return 0
}
