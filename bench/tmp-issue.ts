import { generateKeyPair, SignJWT } from 'jose'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { createTokenService } from '../src/server/index.js'
import { createNodeRequest } from '../src/server/node/request.js'
import { deferKnownBodies, knownBody } from '../src/server/lib/known-body.js'
import { gatepassConfig, serviceEnv, TOKEN_BODY, TOKEN_HEADERS, ISSUER, AUDIENCE } from './lib/common.js'
deferKnownBodies()
const fmt = (process.argv[2] ?? 'jwt') as 'jwt' | 'opaque'
const svc = createTokenService(gatepassConfig({ format: fmt, algorithm: 'RS256' }), { env: serviceEnv, cleanup: false })
await svc.ready()
const raw: string[] = []
for (const [k, v] of Object.entries({ host: 'auth.example.com', ...TOKEN_HEADERS, 'content-length': String(TOKEN_BODY.length) })) raw.push(k, v)
const body = new TextEncoder().encode(TOKEN_BODY)
const fake = { rawHeaders: raw } as unknown as IncomingMessage
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
const variants: Record<string, () => Promise<unknown>> = {
  bare: () => new SignJWT({ scope: 'read:orders', client_id: 'bench-client' }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k' }).setIssuer(ISSUER).setSubject('bench-client').setAudience(AUDIENCE).setIssuedAt().setExpirationTime('900s').setJti(randomUUID()).sign(privateKey),
  service: async () => {
    const r = await svc.fetch(createNodeRequest(fake, 'POST', `${ISSUER}/auth/token`, body))
    if (r.status !== 200 || knownBody(r) === undefined) throw new Error(String(r.status))
  },
}
const K = 8, N = Number(process.argv[3] ?? 1000)
async function run(fn: () => Promise<unknown>) {
  const t = process.cpuUsage()
  let left = N
  await Promise.all(Array.from({ length: K }, async () => { while (left-- > 0) await fn() }))
  const d = process.cpuUsage(t)
  return (d.user + d.system) / N
}
const res: Record<string, number[]> = {}
const only = process.env.ONLY
for (let round = 0; round < 10; round++) for (const [k, fn] of Object.entries(variants)) if (!only || only === k) (res[k] ??= []).push(await run(fn))
const med = (a: number[]) => a.slice(2).sort((x, y) => x - y)[Math.floor((a.length - 2) / 2)]!
for (const [k, v] of Object.entries(res)) console.log(k, med(v).toFixed(1), 'µs cpu')
process.exit(0)
