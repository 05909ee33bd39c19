/**
 * Outage tracking shared by the cache and the bus: `onError` is called once per outage, and the
 * outage ends when every connection works again. Internal module.
 */
import { CacheUnavailableError } from './errors.js'

/** The two connections: commands (GET/SET/DEL/PUBLISH) and the pub/sub subscriber. */
export type Connection = 'command' | 'subscriber'

/** Outage state of one `createRedisCache()` instance. Internal. */
export interface Health {
  /** `connection` failed with `err`; reports the outage if it is the first failure of one. */
  fail(connection: Connection, err: unknown): void
  /** `connection` is down (closed) without an error to report yet. */
  down(connection: Connection): void
  /** `connection` works again; the outage ends once both work. */
  up(connection: Connection): void
  /** `'ready'` when both connections work. */
  status(): 'ready' | 'degraded'
  /** Stops reporting (after `close()`). */
  close(): void
  /** Whether `close()` was called. */
  readonly closed: boolean
}

function describe(err: unknown): string {
  if (err instanceof CacheUnavailableError) return err.message
  const e = err as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `redis unavailable (${e.code})`
  if (typeof e?.message === 'string' && e.message !== '') return `redis unavailable: ${e.message.slice(0, 200)}`
  return 'redis unavailable'
}

/**
 * Wraps a client error in a {@link CacheUnavailableError} (the original as `cause`). Internal.
 *
 * @param err What the Redis client threw or emitted.
 */
export function cacheError(err: unknown): CacheUnavailableError {
  return err instanceof CacheUnavailableError ? err : new CacheUnavailableError(describe(err), { cause: err })
}

/**
 * Creates the outage tracker. Both connections start down (not connected yet), silently.
 *
 * @param onError Called with the first error of each outage; its exceptions are swallowed.
 */
export function createHealth(onError: (err: CacheUnavailableError) => void): Health {
  const downSet = new Set<Connection>(['command', 'subscriber'])
  let reported = false
  let closed = false
  return {
    fail(connection, err) {
      if (closed) return
      downSet.add(connection)
      if (reported) return
      reported = true
      try {
        onError(cacheError(err))
      } catch {
        // a throwing error handler must not break the cache, which never throws
      }
    },
    down(connection) {
      if (!closed) downSet.add(connection)
    },
    up(connection) {
      if (closed) return
      downSet.delete(connection)
      if (downSet.size === 0) reported = false
    },
    status: () => (closed || downSet.size > 0 ? 'degraded' : 'ready'),
    close() {
      closed = true
    },
    get closed() {
      return closed
    },
  }
}

/**
 * Bounds a Redis command by `ms`; a late answer or rejection of the command is ignored. Internal.
 *
 * @param promise The command.
 * @param ms Longest wait.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CacheUnavailableError(`redis command timed out after ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

/** Client states in which a command cannot be sent: answer at once instead of failing slowly. */
export function isOffline(status: string): boolean {
  return status === 'reconnecting' || status === 'close' || status === 'end'
}

/**
 * Runs commands on the command connection: each one rejects with a {@link CacheUnavailableError}
 * when the cache is closed, Redis is unreachable or does not answer within `timeout` ms, and its
 * outcome is reported to `health`.
 */
export function createAttempt(client: { status: string }, timeout: number, health: Health): <T>(command: () => Promise<T>) => Promise<T> {
  return async function attempt<T>(command: () => Promise<T>): Promise<T> {
    if (health.closed) throw new CacheUnavailableError('the shared cache is closed')
    if (isOffline(client.status)) throw new CacheUnavailableError('redis is unreachable')
    try {
      const value = await withTimeout(command(), timeout)
      health.up('command')
      return value
    } catch (err) {
      health.fail('command', err)
      throw err instanceof CacheUnavailableError ? err : new CacheUnavailableError('redis command failed', { cause: err })
    }
  }
}
