/**
 * Brute-force protection of the token endpoints: checks the failure counters of a request before
 * any secret is verified, and counts its failures. Internal module.
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'
import { sha256 } from '../lib/crypto.js'
import { OAuthError } from '../lib/responses.js'
import { duration, isObject, objectWithMethods } from '../verifiers/common.js'
import { createMemoryRateLimitStore } from './memory.js'
import type { RateLimitCounter, RateLimitOptions, RateLimitStore } from './types.js'

/** Who a token-endpoint request speaks for, as far as the limits are concerned. */
export interface Attempt {
  /** The client's address; `undefined` when unknown (the per-IP limit then does not apply). */
  ip: string | undefined
  /** The client id presented, if any. */
  clientId: string | undefined
  /** The username of a password grant, if any. */
  username: string | undefined
}

/** The limits of one token service. */
export interface RateLimiter {
  /** Throws `429 slow_down` when a counter covering the attempt has reached its limit. */
  check(attempt: Attempt): Promise<void>
  /** Counts a failed client authentication (wrong or unknown client, wrong secret). */
  clientFailed(attempt: Attempt): Promise<void>
  /** Counts a failed user authentication (password grant). */
  userFailed(attempt: Attempt): Promise<void>
}

const DEFAULTS = { window: 60_000, perIP: 30, perClient: 100, perUser: 10 }
const MAX_LIMIT = 1_000_000_000

/** Throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` naming the first bad field. */
export function checkRateLimitOptions(options: unknown): RateLimitOptions | false | undefined {
  if (options === undefined || options === false) return options
  if (!isObject(options)) throw invalidArgument('"rateLimit" must be an object or false', 'ERR_INVALID_ARG_TYPE')
  const o = options as RateLimitOptions
  duration(o.window, 'rateLimit.window', 0, { min: 1_000, max: 86_400_000, integer: true, unit: 'ms' })
  for (const name of ['perIP', 'perClient', 'perUser'] as const) duration(o[name], `rateLimit.${name}`, 0, { max: MAX_LIMIT, integer: true })
  if (o.store !== undefined) objectWithMethods(o.store, 'rateLimit.store', 'an object with get and increment', ['get', 'increment'])
  return o
}

/** A key part that is short whatever was presented: long values (a made-up client id) are hashed. */
async function part(value: string): Promise<string> {
  return value.length <= 128 ? value : `#${await sha256(value)}`
}

/**
 * Creates the limiter of a service.
 *
 * @param options Checked options (see {@link checkRateLimitOptions}).
 * @param environment Names the counters, so environments sharing a store count apart.
 * @param now The service's clock.
 * @param onError Told when the shared store fails (the service then counts in process).
 */
export function createRateLimiter(options: RateLimitOptions, environment: string, now: () => number, onError?: (error: unknown) => void): RateLimiter {
  const window = options.window ?? DEFAULTS.window
  const limits = { ip: options.perIP ?? DEFAULTS.perIP, client: options.perClient ?? DEFAULTS.perClient, user: options.perUser ?? DEFAULTS.perUser }
  const local = createMemoryRateLimitStore(now)
  const shared = options.store

  /** Runs on the shared store, or in process while it fails. */
  async function use<T>(run: (store: RateLimitStore) => Promise<T>): Promise<T> {
    if (shared === undefined) return run(local)
    try {
      return await run(shared)
    } catch (error) {
      onError?.(error)
      return run(local)
    }
  }

  type Kind = keyof typeof limits
  async function keysOf(attempt: Attempt, kinds: readonly Kind[]): Promise<Array<{ kind: Kind; key: string }>> {
    const keys: Array<{ kind: Kind; key: string }> = []
    for (const kind of kinds) {
      if (limits[kind] === 0) continue
      if (kind === 'ip' && attempt.ip !== undefined) keys.push({ kind, key: `rl:${environment}:ip:${attempt.ip}` })
      if (kind === 'client' && attempt.clientId !== undefined) keys.push({ kind, key: `rl:${environment}:client:${await part(attempt.clientId)}` })
      // usernames are personal data: the key holds a digest
      if (kind === 'user' && attempt.clientId !== undefined && attempt.username !== undefined) {
        keys.push({ kind, key: `rl:${environment}:user:${await sha256(JSON.stringify([attempt.clientId, attempt.username]))}` })
      }
    }
    return keys
  }

  async function count(attempt: Attempt, kinds: readonly Kind[]): Promise<void> {
    const keys = await keysOf(attempt, kinds)
    if (keys.length > 0) await use((store) => store.increment(keys.map((k) => k.key), window))
  }

  return {
    async check(attempt) {
      const keys = await keysOf(attempt, ['ip', 'client', 'user'])
      if (keys.length === 0) return
      const counters: Array<RateLimitCounter | null> = await use((store) => store.get(keys.map((k) => k.key)))
      let wait = 0
      keys.forEach(({ kind }, i) => {
        const counter = counters[i]
        if (counter && counter.count >= limits[kind] && counter.ttl > 0) wait = Math.max(wait, counter.ttl)
      })
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000)
        throw new OAuthError('slow_down', `too many failed attempts; retry in ${seconds} s`, 429, { 'retry-after': String(seconds) })
      }
    },
    clientFailed: (attempt) => count(attempt, ['ip', 'client']),
    userFailed: (attempt) => count(attempt, ['ip', 'user']),
  }
}
