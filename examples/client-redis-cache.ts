/**
 * A Redis-backed token cache for Node fleets: every process of a service shares one token per
 * (endpoint, client, subject, scope, resource) instead of each fetching its own.
 *
 * In your app, import from 'gatepass/client'; this example imports the source so it type-checks
 * inside the repository.
 *
 * Run: REDIS_URL=redis://127.0.0.1:6379 CLIENT_SECRET=… npx tsx examples/client-redis-cache.ts
 */
import { Redis } from 'ioredis'
import { createAPIClient, createTokenClient } from '../src/client/index.js'
import type { TokenCache, TokenCacheEntry } from '../src/client/index.js'

/**
 * Keeps entries as JSON under `prefix` + the (already hashed) cache key. Entries expire in Redis a
 * little after the access token, plus `refreshGraceMs` so the refresh token can still be used.
 *
 * > Entries hold access and refresh tokens (never the client secret or a password): protect Redis
 * > like any credential store (ACLs, TLS, no public exposure).
 */
export function redisTokenCache(redis: Redis, { prefix = 'gatepass:token:', refreshGraceMs = 24 * 3_600_000 } = {}): TokenCache {
  return {
    async get(key) {
      const raw = await redis.get(prefix + key)
      if (raw === null) return undefined
      try {
        return JSON.parse(raw) as TokenCacheEntry
      } catch {
        await redis.del(prefix + key)
        return undefined
      }
    },
    async set(key, entry) {
      const value = JSON.stringify(entry)
      if (entry.expiresAt === null) {
        await redis.set(prefix + key, value)
      } else {
        const ttl = Math.max(1, entry.expiresAt - Date.now() + refreshGraceMs)
        await redis.set(prefix + key, value, 'PX', ttl)
      }
    },
    async delete(key) {
      await redis.del(prefix + key)
    },
  }
}

async function main() {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  const tokens = createTokenClient({
    tokenEndpoint: process.env.TOKEN_ENDPOINT ?? 'http://127.0.0.1:8080/auth/token',
    clientId: process.env.CLIENT_ID ?? 'billing',
    clientSecret: process.env.CLIENT_SECRET ?? 'change-me',
    grant: 'client_credentials',
    cache: redisTokenCache(redis),
    crossTab: false, // browsers only; processes share through Redis instead
  })
  // A failing Redis never fails getToken(): the client reports it and keeps its own copy.
  tokens.on('error', ({ error, reason }) => console.error('token client:', reason, error))

  const api = createAPIClient({ prefixUrl: process.env.API_URL ?? 'http://127.0.0.1:8080/api', tokens })
  console.log(await api.get('health').text())
  redis.disconnect()
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
