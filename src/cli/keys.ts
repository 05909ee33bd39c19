/**
 * `gatepass keys generate`: signing key pairs for an environment. `gatepass keys import`: a key
 * made elsewhere into the store of a configuration. Internal.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { createTokenService } from '../server/token-service.js'
import { createCacheFromConfig, type CacheConfig } from './cache.js'
import { CLIError, usageError } from './errors.js'
import { loadConfig } from './load-config.js'
import { readStdin } from './stdin.js'
import { createStoreFromConfig, parseStoreConfig } from './store.js'

/** Longest key file accepted (a 16384-bit RSA PEM is about 13 KB). */
const MAX_KEY_BYTES = 64 * 1024

/** Algorithms an environment may sign with (SPEC §2). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'EdDSA'] as const
type Algorithm = (typeof ALGORITHMS)[number]

const isAlgorithm = (value: string): value is Algorithm => (ALGORITHMS as readonly string[]).includes(value)

/** Runs `gatepass keys <subcommand>`; returns the exit code. */
export async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      alg: { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string', short: 'c' },
      file: { type: 'string', short: 'f' },
    },
    strict: true,
    allowPositionals: true,
  })
  const [sub, ...extra] = positionals
  if (sub !== 'generate' && sub !== 'import') throw usageError(sub === undefined ? 'missing subcommand "generate" or "import"' : `unknown subcommand "keys ${sub}"`, 'keys')
  if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`, 'keys')
  if (values.alg !== undefined && !isAlgorithm(values.alg)) throw usageError(`"--alg" must be one of ${ALGORITHMS.join(', ')}`, 'keys')
  if (sub === 'import') return importCommand(values)
  if (values.config !== undefined || values.file !== undefined) throw usageError('"--config" and "--file" belong to "keys import"', 'keys')
  const alg = (values.alg ?? 'RS256') as Algorithm

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

/**
 * `gatepass keys import --config <file> [--alg <alg>] [--file <key>]`: the key (PKCS#8 PEM or a
 * private JWK as JSON, from `--file` or stdin) becomes the active key of its algorithm in the
 * configuration's store; running instances pick it up at once through Redis when the
 * configuration has `cache.redis`, else within a minute.
 */
async function importCommand(values: { config?: string | undefined; file?: string | undefined; alg?: string | undefined; json?: boolean | undefined }): Promise<number> {
  if (values.config === undefined) throw usageError('missing "--config <file>"', 'keys')
  let text: string | null
  if (values.file !== undefined) {
    try {
      text = await readFile(values.file, 'utf8')
    } catch (err) {
      throw new CLIError(`cannot read the key file "${values.file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
    }
    if (text.length > MAX_KEY_BYTES) throw new CLIError(`the key file "${values.file}" is longer than ${MAX_KEY_BYTES} bytes`)
  } else {
    text = await readStdin(process.stdin, 'key', MAX_KEY_BYTES)
  }
  if (text === null || text.trim() === '') throw usageError('no key: pass "--file <key.pem|key.json>" or pipe it into stdin', 'keys')
  let key: unknown = text
  if (text.trimStart().startsWith('{')) {
    try {
      key = JSON.parse(text)
    } catch {
      throw new CLIError('the key looks like JSON but does not parse; give a private JWK or a PKCS#8 PEM')
    }
  }
  const config = await loadConfig(values.config)
  const storeConfig = parseStoreConfig(typeof config === 'object' && config !== null ? (config as { store?: unknown }).store : undefined)
  if (storeConfig.kind === 'memory') throw new CLIError('the configuration uses the memory store: an imported key would be lost at exit')
  const store = await createStoreFromConfig(storeConfig, { env: process.env })
  let cache: Awaited<ReturnType<typeof createCacheFromConfig>> | undefined
  try {
    cache = await createCacheFromConfig((config as { cache?: CacheConfig }).cache, process.env)
    const service = createTokenService(config, { env: process.env, store, validation: cache.validation, cleanup: false })
    const kid = await service.importKey(key as string, values.alg === undefined ? {} : { alg: values.alg })
    process.stdout.write(values.json ? `${JSON.stringify({ kid })}\n` : `gatepass: imported key ${kid}; it signs from now on\n`)
    return 0
  } finally {
    await store.close().catch(() => {})
    await cache?.close().catch(() => {})
  }
}
