/**
 * Helpers of the Redis tests: reachability probe, polling, and a throwaway `redis-server`.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process'
import { connect } from 'node:net'

/** Resolves `true` when a Redis server answers PING on `host:port` within `ms`. */
export function redisAnswers(port: number, host = '127.0.0.1', ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), ms)
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')))
  })
}

/** Polls `check` every 10 ms until it is truthy; throws after `ms`. Returns the elapsed time. */
export async function waitFor(check: () => unknown, ms = 5000, what = 'condition'): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check()) return performance.now() - start
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Path of the `redis-server` binary, or `undefined` when it is not installed. */
export function redisServerBinary(): string | undefined {
  try {
    return execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

/** Starts a throwaway `redis-server` (no persistence) on `port` and waits until it answers. */
export async function startRedisServer(binary: string, port: number): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  await waitFor(() => redisAnswers(port), 5000, `redis-server on port ${port}`)
  return child
}

/** Kills a `redis-server` child (SIGKILL: an abrupt outage) and waits for its exit. */
export async function killRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}
