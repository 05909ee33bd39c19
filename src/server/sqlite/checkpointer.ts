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

/** The worker's code (CommonJS, evaluated): opens the file, checkpoints on a timer, closes on request. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = NORMAL')
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)') } catch {} }
const timer = setInterval(checkpoint, workerData.interval)
parentPort.once('message', () => {
  clearInterval(timer)
  checkpoint()
  db.close()
  parentPort.postMessage('closed')
})
parentPort.postMessage('ready')
`

/** A running checkpointer. */
export interface Checkpointer {
  /** Runs a last checkpoint, closes the worker's connection and ends the worker. */
  close(): Promise<void>
}

/** How long `close()` waits for the worker's last checkpoint before stopping it. */
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
  try {
    driver = createRequire(import.meta.url).resolve('better-sqlite3')
  } catch {
    return null
  }
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, interval } })
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
  const failed = () => {
    if (!closing) onFailure()
  }
  worker.once('error', failed)
  worker.once('exit', failed)
  return {
    async close() {
      if (closing) return
      closing = true
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), CLOSE_TIMEOUT)
        const finish = () => {
          clearTimeout(timer)
          resolve()
        }
        worker.once('exit', finish)
        worker.once('message', () => void worker.terminate().then(finish))
      })
      worker.postMessage('close')
      await done
    },
  }
}
