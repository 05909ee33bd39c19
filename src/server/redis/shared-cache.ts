/**
 * `SharedCache` on Redis: GET, SET with a PX TTL, DEL, every key under a prefix. Internal module.
 */
import type { Redis } from 'ioredis'
import type { SharedCache } from '../cache/types.js'
import type { Health } from './health.js'
import { createAttempt } from './health.js'

/**
 * Creates the shared cache on the command connection. `get`, `set` and `delete` never throw: a
 * failure answers `null` or does nothing, and is reported to `health`; `read` rejects instead.
 *
 * @param client The command connection.
 * @param prefix Prepended to every key.
 * @param timeout Longest wait for one command, in ms.
 * @param health The outage tracker.
 */
export function createSharedCache(client: Redis, prefix: string, timeout: number, health: Health): SharedCache {
  /** Runs one command; rejects with a {@link CacheUnavailableError} when Redis does not answer in time. */
  const attempt = createAttempt(client, timeout, health)

  async function run<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      return await attempt(command)
    } catch {
      return undefined
    }
  }

  return {
    async get(key) {
      if (typeof key !== 'string') return null
      const value = await run(() => client.get(prefix + key))
      return typeof value === 'string' ? value : null
    },
    async read(key) {
      if (typeof key !== 'string') return null
      const value = await attempt(() => client.get(prefix + key))
      return typeof value === 'string' ? value : null
    },
    async set(key, value, ttl) {
      if (typeof key !== 'string' || typeof value !== 'string' || typeof ttl !== 'number' || !(ttl > 0)) return
      if (ttl === Infinity) await run(() => client.set(prefix + key, value))
      else await run(() => client.set(prefix + key, value, 'PX', Math.ceil(ttl)))
    },
    async delete(key) {
      if (typeof key !== 'string') return
      await run(() => client.del(prefix + key))
    },
  }
}
