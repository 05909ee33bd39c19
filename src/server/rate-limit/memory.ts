/**
 * Failure counters in process: the default {@link RateLimitStore}, and the fallback while a shared
 * one is unreachable. Internal module.
 *
 * @module
 */
import { LRU } from '../lib/lru.js'
import type { RateLimitCounter, RateLimitStore } from './types.js'

/** Counters kept at most; the least recently used go first (a spray of made-up ids cannot grow memory). */
const MAX_COUNTERS = 100_000

/** Creates an in-process counter store on the service's clock. */
export function createMemoryRateLimitStore(now: () => number): RateLimitStore {
  const counters = new LRU<{ count: number; until: number }>({ maxEntries: MAX_COUNTERS, now })
  const read = (key: string): RateLimitCounter | null => {
    const counter = counters.get(key)
    return counter === undefined ? null : { count: counter.count, ttl: counter.until - now() }
  }
  return {
    async get(keys) {
      return keys.map(read)
    },
    async increment(keys, window) {
      return keys.map((key) => {
        const counter = counters.get(key) ?? { count: 0, until: now() + window }
        counter.count++
        counters.set(key, counter, counter.until)
        return { count: counter.count, ttl: counter.until - now() }
      })
    },
  }
}
