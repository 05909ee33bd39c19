/**
 * `gatepass hash-secret`: digests of client secrets and user passwords for configuration files.
 * Internal.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_PBKDF2_ITERATIONS, generateClientSecret, hashClientSecret, hashPassword } from '../server/secrets.js'
import { CLIError, usageError } from './errors.js'

/** Longest secret accepted on stdin; anything longer is most likely the wrong file. */
const MAX_INPUT_BYTES = 64 * 1024

/** Reads stdin to the end; `null` when stdin is a terminal (nothing was piped in). */
async function readStdin(stdin: NodeJS.ReadStream): Promise<string | null> {
  if (stdin.isTTY) return null
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buffer.length
    if (size > MAX_INPUT_BYTES) throw new CLIError(`the secret on stdin is longer than ${MAX_INPUT_BYTES} bytes`)
    chunks.push(buffer)
  }
  // One trailing newline comes from `echo` or an editor; it is not part of the secret.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

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

  const input = await readStdin(process.stdin)
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
