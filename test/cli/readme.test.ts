/**
 * The README's promise: `npm start` serves the demo gateway (examples/demo.config.json on the
 * embedded SQLite store) and the README's curl session works against it verbatim.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const cwd = mkdtempSync(join(tmpdir(), 'gatepass-demo-'))
let gateway: ChildProcess | undefined

afterAll(() => {
  gateway?.kill('SIGKILL')
  rmSync(cwd, { recursive: true, force: true })
})

function curlSession(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## A session with curl'))
  const match = /```sh\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error('the README has no curl session')
  return match[1]!
}

describe('README demo', () => {
  it('npm start prints the URL and demo clients, and the curl session works verbatim', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
    // `npm start` = tsx src/cli/gatepass.ts serve --config examples/demo.config.json (run from a scratch folder so .gatepass/ lands there)
    const args = pkg.scripts.start.split(' ')
    expect(args.slice(0, 2)).toEqual(['tsx', 'src/cli/gatepass.ts'])
    // node itself (not the tsx wrapper), so that killing it really stops the gateway.
    const loader = pathToFileURL(join(root, 'node_modules/tsx/dist/esm/index.mjs')).href
    gateway = spawn(process.execPath, ['--import', loader, join(root, args[1]!), ...args.slice(2).map((a) => (a.startsWith('examples/') ? join(root, a) : a))], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`demo did not start: ${output}`)), 30_000)
      gateway!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('mobile-demo')) {
          clearTimeout(timer)
          ready()
        }
      })
      gateway!.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      gateway!.on('exit', (code) => fail(new Error(`demo exited (${code}): ${output}`)))
    })
    expect(output).toContain('http://127.0.0.1:8080')
    for (const id of ['orders-demo', 'inventory-demo', 'retail-demo', 'mobile-demo']) expect(output).toContain(id)
    expect(existsSync(join(cwd, '.gatepass/gatepass.db'))).toBe(true)

    const transcript = execFileSync('bash', ['-euo', 'pipefail', '-c', curlSession()], { encoding: 'utf8', timeout: 60_000 })
    const bodies = transcript.split(/(?<=\})(?=\{)/).map((b) => JSON.parse(b) as Record<string, unknown>)
    expect(bodies.filter((b) => 'error' in b)).toEqual([])
    const tokens = bodies.filter((b) => typeof b.access_token === 'string')
    expect(tokens).toHaveLength(4)
    expect(tokens[1]).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) })
    expect(String(tokens[1]!.access_token)).toMatch(/^gp_/)
    expect(bodies.some((b) => Array.isArray(b.keys) && b.keys.length > 0)).toBe(true)
  }, 90_000)
})
