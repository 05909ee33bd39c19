/**
 * The WAL checkpoint worker dying after it started: the store is told once (it hands checkpoints
 * back to SQLite), and closing the store still finishes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as WorkerThreads from 'node:worker_threads'
import type { Worker } from 'node:worker_threads'
import { afterAll, describe, expect, it, vi } from 'vitest'

const workers: Worker[] = []
vi.mock('node:worker_threads', async (importOriginal) => {
  const original = await importOriginal<typeof WorkerThreads>()
  class Recorded extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args)
      workers.push(this)
    }
  }
  return { ...original, Worker: Recorded, default: { ...original, Worker: Recorded } }
})

const { startCheckpointer } = await import('../../src/server/sqlite/checkpointer.js')
const { createSQLiteStore } = await import('../../src/server/sqlite/index.js')

const dir = mkdtempSync(join(tmpdir(), 'gatepass-checkpoint-death-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('a checkpoint worker that dies after it started', () => {
  it('calls onFailure once, and close() still resolves', async () => {
    const path = join(dir, 'direct.db')
    // The file must exist and be a database: the store creates it.
    const store = await createSQLiteStore({ path, checkpointInterval: 0 })
    await store.close()
    const onFailure = vi.fn()
    const checkpointer = await startCheckpointer(path, 50, onFailure)
    expect(checkpointer).not.toBeNull()
    const worker = workers.at(-1)!
    await worker.terminate()
    await vi.waitFor(() => expect(onFailure).toHaveBeenCalledTimes(1))
    await checkpointer!.close()
    expect(onFailure).toHaveBeenCalledTimes(1)
  })

  it('leaves the store writing, reading and closing after its worker died', async () => {
    const path = join(dir, 'store.db')
    const before = workers.length
    const store = await createSQLiteStore({ path, checkpointInterval: 50 })
    expect(workers.length).toBe(before + 1)
    await workers.at(-1)!.terminate()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const record = { kid: 'k1', environment: 'prod', alg: 'RS256', state: 'active' as const, publicJwk: { kty: 'RSA' }, privateKey: 'x', createdAt: 1, retiredAt: null }
    await store.addKey(record)
    expect((await store.listKeys('prod')).map((k) => k.kid)).toEqual(['k1'])
    await store.close()
  })
})
