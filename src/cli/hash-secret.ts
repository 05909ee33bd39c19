/**
 * `gatepass hash-secret`: digests of client secrets and user passwords for configuration files.
 * Internal.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_PBKDF2_ITERATIONS, generateClientSecret, hashClientSecret, hashPassword } from '../server/secrets.js'
import { usageError } from './errors.js'
import { readStdin } from './stdin.js'

/** Longest secret accepted on stdin; anything longer is most likely the wrong file. */
const MAX_INPUT_BYTES = 64 * 1024

/** Runs `gatepass hash-secret`; returns the exit code. */
export async function hashSecretCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      password: { type: 'boolean', default: false },
      iterations: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  })

  let iterations: number | undefined
  if (values.iterations !== undefined) {
    if (!values.password) throw usageError('"--iterations" only applies with "--password"', 'hash-secret')
    iterations = /^\d{1,9}$/.test(values.iterations) ? Number(values.iterations) : NaN
    if (!(iterations >= 1000)) throw usageError('"--iterations" must be an integer ≥ 1000', 'hash-secret')
  }

  // One trailing newline comes from `echo` or an editor; it is not part of the secret.
  const input = (await readStdin(process.stdin, 'secret', MAX_INPUT_BYTES))?.replace(/\r?\n$/, '') ?? null
  const generated = input === null || input === '' ? generateClientSecret() : null
  const secret = generated ?? input!
  const digest = values.password ? await hashPassword(secret, { iterations: iterations ?? DEFAULT_PBKDF2_ITERATIONS }) : await hashClientSecret(secret)

  if (values.json) {
    process.stdout.write(`${JSON.stringify(generated === null ? { digest } : { secret: generated, digest })}\n`)
  } else if (generated === null) {
    process.stdout.write(`${digest}\n`)
  } else {
    const what = values.password ? 'password' : 'client secret'
    process.stdout.write(
      `Generated ${what} (shown once; give it to its owner, never put it in the config):\n` +
        `  secret: ${generated}\n` +
        `Digest for the configuration:\n` +
        `  digest: ${digest}\n`,
    )
  }
  return 0
}
