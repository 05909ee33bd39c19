/**
 * The expired-token cleaner: deletes expired tokens and exhausted refresh families in bounded
 * batches, on an interval or on demand (cron, serverless).
 *
 * @module
 */
import { invalidArgument } from '../shared/lib/args.js'
import type { TokenStore } from './store/types.js'

/**
 * Options of the periodic cleanup.
 *
 * @group Stores
 */
export interface CleanupOptions {
  /** Time between runs, ms. Default 60,000. */
  interval?: number
  /** Rows deleted per store call; a run repeats until a batch comes back short. Default 1,000. */
  batchSize?: number
  /** Most batches per run, so one run never holds the store for long. Default 100. */
  maxBatches?: number
}

/**
 * Checks cleanup options up front: a zero, negative or fractional batch size would make every run
 * delete nothing (silently), and a zero or non-finite interval would scan the store without pause.
 */
export function checkCleanupOptions(options: CleanupOptions): CleanupOptions {
  if (typeof options !== 'object' || options === null) throw invalidArgument('"cleanup" must be an object or false', 'ERR_INVALID_ARG_TYPE')
  const positiveInteger = (name: keyof CleanupOptions, max: number) => {
    const value = options[name]
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max)) {
      throw invalidArgument(`"cleanup.${name}" must be an integer from 1 to ${max.toLocaleString('en-US')}`)
    }
  }
  positiveInteger('interval', 2_147_483_647) // setInterval's limit
  positiveInteger('batchSize', 1_000_000)
  positiveInteger('maxBatches', 1_000_000)
  return options
}

/** Deletes expired rows in batches; returns how many went. */
export async function runCleanup(store: TokenStore, now: number, options: CleanupOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 1_000
  const maxBatches = options.maxBatches ?? 100
  let total = 0
  for (let i = 0; i < maxBatches; i++) {
    const removed = await store.deleteExpired(now, batchSize)
    total += removed
    if (removed < batchSize) break
  }
  return total
}

/** Runs {@link runCleanup} every `interval` ms until the returned function is called. */
export function startCleanup(store: TokenStore, now: () => number, options: CleanupOptions & { onError?: (error: unknown) => void; onRun?: (removed: number) => void } = {}): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    runCleanup(store, now(), options)
      .then((removed) => options.onRun?.(removed), (err: unknown) => options.onError?.(err))
      .finally(() => (running = false))
  }, options.interval ?? 60_000)
  ;(timer as { unref?: () => void }).unref?.()
  return () => clearInterval(timer)
}
