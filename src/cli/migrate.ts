/**
 * `gatepass migrate`: applies the store's schema migrations and exits. Internal.
 */
import { parseArgs } from 'node:util'
import { usageError } from './errors.js'
import { loadConfig } from './load-config.js'
import { createStoreFromConfig, parseStoreConfig } from './store.js'

/** Runs `gatepass migrate --config <file>`. */
export async function migrateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false })
  if (values.config === undefined) throw usageError('missing "--config <file>"', 'migrate')
  const config = await loadConfig(values.config)
  const storeConfig = parseStoreConfig(typeof config === 'object' && config !== null ? (config as { store?: unknown }).store : undefined)
  // Opening a store runs its pending migrations (SQLite in a transaction; PostgreSQL under an advisory lock).
  const store = await createStoreFromConfig(storeConfig, { env: process.env })
  await store.close()
  process.stdout.write(storeConfig.kind === 'memory' ? 'gatepass: the memory store has no schema to migrate\n' : `gatepass: ${storeConfig.kind} store is up to date\n`)
  return 0
}
