/**
 * Durability: a SQLite-backed gateway process is killed with SIGKILL in the middle of an issuance
 * load. Every token whose response reached the client must still be valid after a restart (a
 * token is persisted before its response is sent), and the database must be intact.
 */
import Database from 'better-sqlite3'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hashClientSecret } from '../../src/server/index.js'
import { freePort, startGateway } from '../_gateway-process.js'

const SECRET = 'durability-secret-0123456789abcdef'
const dir = mkdtempSync(join(tmpdir(), 'gatepass-durability-'))
const children: ChildProcess[] = []

afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})



const basic = `Basic ${btoa(`orders-app:${SECRET}`)}`

describe('SQLite gateway killed with SIGKILL during issuance', () => {
  it('keeps every token it answered with, and an intact database', async () => {
    const port = await freePort()
    const dbPath = join(dir, 'gatepass.db')
    const configPath = join(dir, 'config.json')
    writeFileSync(configPath, JSON.stringify({
      environment: { name: 'durability', issuer: `http://127.0.0.1:${port}` },
      store: { kind: 'sqlite', path: dbPath },
      proxies: [{ name: 'orders', clientId: 'orders-app', clientSecret: await hashClientSecret(SECRET), tokenPolicy: { format: 'opaque', refresh: { enabled: true } } }],
    }))
    const base = `http://127.0.0.1:${port}`
    const gateway = await startGateway(configPath, port)
    children.push(gateway)

    const obtained: string[] = []
    let stop = false
    const worker = async () => {
      while (!stop) {
        try {
          const response = await fetch(`${base}/auth/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
          if (response.status !== 200) throw new Error(`status ${response.status}`)
          obtained.push(((await response.json()) as { access_token: string }).access_token)
        } catch {
          if (stop || gateway.exitCode !== null || gateway.signalCode !== null) return
        }
      }
    }
    const workers = Array.from({ length: 16 }, worker)
    // Let the load run, then kill the process without any chance to flush or close.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    gateway.kill('SIGKILL')
    await new Promise((resolve) => gateway.once('exit', resolve))
    stop = true
    await Promise.all(workers)
    expect(obtained.length).toBeGreaterThan(20)

    const db = new Database(dbPath)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()

    const restarted = await startGateway(configPath, port)
    children.push(restarted)
    const inactive: string[] = []
    for (const token of obtained) {
      const response = await fetch(`${base}/auth/introspect`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) })
      expect(response.status).toBe(200)
      if (!((await response.json()) as { active: boolean }).active) inactive.push(token.slice(0, 6))
    }
    expect(inactive).toEqual([])
    restarted.kill('SIGTERM')
  }, 90_000)
})
