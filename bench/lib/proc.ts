/**
 * Child processes of the benchmark: servers pinned to core 0, the load generator and in-process
 * benchmarks pinned as asked, all run with `node --import tsx` (TypeScript straight from source).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2

/** Extra node flags for every child (e.g. `--cpu-prof` via `BENCH_NODE_FLAGS`). */
const extraFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)

function command(script: string, args: string[], core: number | null, nodeFlags: string[] = []): [string, string[]] {
  const node = [process.execPath, ...extraFlags, ...nodeFlags, '--import', 'tsx', script, ...args]
  return hasTaskset && core !== null ? ['taskset', ['-c', String(core), ...node]] : [node[0]!, node.slice(1)]
}

export interface RunningServer {
  name: string
  port: number
  pid: number
  /** Words after `LISTENING <port>` (e.g. a tokens file). */
  extra: string[]
  stop(): Promise<void>
}

/** Thrown when a server reports `UNAVAILABLE <reason>` (e.g. a store module that does not exist yet). */
export class Unavailable extends Error {}

/** Starts a server script pinned to core 0 and waits for its `LISTENING` line. */
export function startServer(name: string, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<RunningServer> {
  const [cmd, argv] = command(script, args, 0)
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name}: no LISTENING line within ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const unavailable = /^UNAVAILABLE (.*)$/m.exec(out)
      if (unavailable) {
        clearTimeout(timer)
        reject(new Unavailable(unavailable[1]!))
        return
      }
      const match = /^LISTENING (\d+)(.*)$/m.exec(out)
      if (!match) return
      clearTimeout(timer)
      resolve({ name, port: Number(match[1]), pid: child.pid!, extra: match[2]!.trim().split(' ').filter(Boolean), stop: () => stop(child) })
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with code ${code} before listening\n${stderr}`))
    })
  })
}

/** SIGTERM (the servers exit by themselves), SIGKILL after 3 s. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/**
 * Runs a script to completion (pinned to `core` when possible) and returns the JSON of the last
 * stdout line. Lines starting with `#` are progress, echoed to stderr.
 */
export function runJSON<T>(name: string, script: string, args: string[], core: number | null, nodeFlags: string[] = [], timeoutMs = 10 * 60_000): Promise<T> {
  const [cmd, argv] = command(script, args, core, nodeFlags)
  const child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString()
    out += text
    for (const line of text.split('\n')) if (line.startsWith('#')) process.stderr.write(`  ${line}\n`)
  })
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const last = out.split('\n').filter((l) => l.trim() && !l.startsWith('#')).pop()
      if (code !== 0 || last === undefined) {
        reject(new Error(`${name} failed (exit ${code})\n${err}`))
        return
      }
      try {
        resolve(JSON.parse(last) as T)
      } catch {
        reject(new Error(`${name}: last line is not JSON: ${last}\n${err}`))
      }
    })
  })
}
