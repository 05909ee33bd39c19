/**
 * `RateLimitStore` on Redis: failure counters every gateway instance shares, one Lua script per
 * call (atomic, one round trip for all the keys of a request). Internal module.
 */
import type { Redis } from 'ioredis'
import type { RateLimitCounter, RateLimitStore } from '../rate-limit/types.js'
import type { Health } from './health.js'
import { createAttempt } from './health.js'

/** Each key's count and remaining PTTL; 0 and -2 where there is none. */
const GET = `local out = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('GET', key)
  out[#out + 1] = tonumber(count) or 0
  out[#out + 1] = count and redis.call('PTTL', key) or -2
end
return out`

/** INCR each key; a key without a TTL (new) gets the window. Answers count and PTTL pairs. */
const INCREMENT = `local out = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out`

function pairs(reply: unknown, length: number): Array<RateLimitCounter | null> {
  const values = Array.isArray(reply) ? reply.map(Number) : []
  if (values.length !== length * 2 || values.some((v) => !Number.isFinite(v))) throw new TypeError('unexpected reply to a rate-limit script')
  const counters: Array<RateLimitCounter | null> = []
  for (let i = 0; i < length; i++) {
    const count = values[2 * i]!
    const ttl = values[2 * i + 1]!
    counters.push(count > 0 && ttl > 0 ? { count, ttl } : null)
  }
  return counters
}

/**
 * Creates the counter store on the command connection. Calls reject during an outage (a
 * `CacheUnavailableError`), and the token service then counts in process.
 *
 * @param client The command connection.
 * @param prefix Prepended to every key.
 * @param timeout Longest wait for one script, in ms.
 * @param health The outage tracker.
 */
export function createRateLimitStore(client: Redis, prefix: string, timeout: number, health: Health): RateLimitStore {
  const attempt = createAttempt(client, timeout, health)
  const prefixed = (keys: readonly string[]) => keys.map((key) => prefix + key)
  return {
    async get(keys) {
      if (keys.length === 0) return []
      return pairs(await attempt(() => client.eval(GET, keys.length, ...prefixed(keys))), keys.length)
    },
    async increment(keys, window) {
      if (keys.length === 0) return []
      const reply = pairs(await attempt(() => client.eval(INCREMENT, keys.length, ...prefixed(keys), String(Math.ceil(window)))), keys.length)
      return reply.map((counter) => counter ?? { count: 1, ttl: window })
    },
  }
}
