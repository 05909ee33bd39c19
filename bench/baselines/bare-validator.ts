/**
 * Baseline: the minimal resource server. `node:http`, `Authorization: Bearer <jwt>`, jose
 * `jwtVerify` (RS256, one fixed public `CryptoKey`, issuer/audience/alg/typ checks) → 200 "ok".
 * No cache: every request pays the signature check.
 *
 * At start it signs `count` distinct tokens with its own key and writes them (one per line) to a
 * temporary file, announced as `LISTENING <port> <file>`.
 *
 * Usage: `node --import tsx bench/baselines/bare-validator.ts [count]`
 */
import { randomUUID } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { announce, AUDIENCE, CLIENT_ID, exitOnSignal, HOST, ISSUER, SCOPE } from '../lib/common.js'

const count = Number(process.argv[2] ?? 1000)
const iss = `${ISSUER}/auth`
const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 })
const tokens: string[] = []
for (let i = 0; i < count; i++) {
  tokens.push(
    await new SignJWT({ scope: SCOPE, client_id: CLIENT_ID })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'bench-key' })
      .setIssuer(iss)
      .setSubject(CLIENT_ID)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti(randomUUID())
      .sign(privateKey),
  )
}
const file = join(tmpdir(), `gatepass-bench-bare-tokens-${process.pid}.txt`)
writeFileSync(file, tokens.join('\n'))

const unauthorized = (res: ServerResponse) => {
  res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-length': '0' })
  res.end()
}

const server = createServer((req, res) => {
  const header = req.headers.authorization
  if (!header?.startsWith('Bearer ')) return unauthorized(res)
  jwtVerify(header.slice(7), publicKey, { issuer: iss, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' }).then(
    () => {
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': '2' })
      res.end('ok')
    },
    () => unauthorized(res),
  )
})
server.keepAliveTimeout = 60_000
server.listen(0, HOST, () => announce((server.address() as AddressInfo).port, file))
exitOnSignal(() => {
  server.close()
  rmSync(file, { force: true })
})
