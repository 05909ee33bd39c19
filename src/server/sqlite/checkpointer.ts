/**
 * WAL checkpoints in a worker thread, off the event loop.
 *
 * In WAL mode with `synchronous=NORMAL`, commits append to the WAL without syncing it; a
 * checkpoint syncs the WAL, copies its pages into the database file and syncs that. SQLite runs
 * it on the connection that commits once the WAL passes 1000 pages: with `better-sqlite3` that
 * is the event loop, blocked for the two syncs (measured here: about half the time of every
 * issuance). This runs a `PASSIVE` checkpoint (it never waits for readers or writers) on a
 * connection of its own in a worker thread every `interval` ms instead, so the event loop only
 * appends, and a committed write reaches the disk within about `interval` ms at any load (with
 * the page threshold alone, a quiet store could keep minutes of writes unsynced).
 *
 * @module
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** Consecutive failed checkpoints after which the worker gives up (and the store falls back). */
const MAX_FAILURES = 5

/** The worker's code (CommonJS, evaluated): opens the file, checkpoints on a timer, closes on request. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = NORMAL')
let failures = 0
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
    failures = 0
  } catch {
    // A disk or file error that persists: hand checkpoints back to SQLite on the writing connection.
    if (++failures < ${MAX_FAILURES}) return
    clearInterval(timer)
    try { db.close() } catch {}
    parentPort.postMessage('failed')
    parentPort.close()
  }
}, workerData.interval)
parentPort.once('message', () => {
  clearInterval(timer)
  db.close() // not the last connection: the store's own close() runs the final checkpoint
  parentPort.postMessage('closed')
})
parentPort.postMessage('ready')
`

/** A running checkpointer. */
export interface Checkpointer {
  /** Closes the worker's connection and ends the worker (at once if it has already failed). */
  close(): Promise<void>
}

/** How long `close()` waits for the worker to close its connection before stopping it. */
const CLOSE_TIMEOUT = 5000

/**
 * Starts checkpointing `file` every `interval` ms in a worker thread. Resolves with `null` when
 * that is not possible here (the driver cannot be resolved from this module, or the worker fails
 * to open the file): the caller then keeps SQLite's automatic checkpoints.
 *
 * @param file The database file (as opened by the store).
 * @param interval Milliseconds between checkpoints.
 * @param onFailure Called if the worker fails after it started (the caller restores automatic checkpoints).
 */
export async function startCheckpointer(file: string, interval: number, onFailure: () => void): Promise<Checkpointer | null> {
  let driver: string
  let worker: Worker
  try {
    driver = createRequire(import.meta.url).resolve('better-sqlite3')
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, interval } })
  } catch {
    return null // no driver to resolve from here, or no worker threads (e.g. the permission model)
  }
  worker.unref() // never what keeps a process alive
  const started = await new Promise<boolean>((resolve) => {
    worker.once('message', () => resolve(true))
    worker.once('error', () => resolve(false))
    worker.once('exit', () => resolve(false))
  })
  if (!started) {
    await worker.terminate()
    return null
  }
  let closing = false
  let ended = false
  const ends = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  const end = () => {
    if (ended) return
    ended = true
    if (!closing) onFailure()
  }
  worker.on('message', (message) => {
    if (message === 'failed') end()
  })
  worker.once('error', end)
  worker.once('exit', end)
  return {
    async close() {
      if (closing) return
      closing = true
      if (ended) {
        await worker.terminate()
        return
      }
      const closed = new Promise<void>((resolve) => worker.once('message', () => resolve()))
      worker.postMessage('close')
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([closed, ends, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT)))])
      clearTimeout(timer)
      await worker.terminate()
    },
  }
}
