import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { calculateJwkThumbprint, CompactSign, compactVerify, importJWK, importPKCS8 } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { verifySecret } from '../../src/server/secrets.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'src/cli/gatepass.ts')

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the CLI from source under tsx (`node --import tsx`, what `npx tsx` does, without npx's
 * start-up cost). `input` is piped to stdin; without it stdin is /dev/null (not a TTY, empty).
 */
function run(args: string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, PORT: undefined, GATEPASS_DEBUG: undefined, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    if (options.input !== undefined) child.stdin!.end(options.input)
  })
}

const tmp = mkdtempSync(join(tmpdir(), 'gatepass-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function writeConfig(name: string, config: unknown): string {
  const file = join(tmp, name)
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config))
  return file
}

describe('gatepass (usage)', () => {
  it('exits 2 with the usage on stderr for an unknown command', async () => {
    const result = await run(['frobnicate'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('gatepass: unknown command "frobnicate"')
    expect(result.stderr).toContain('Usage: gatepass <command>')
  })

  it('exits 2 without a command, and for an unknown option of a command', async () => {
    const none = await run([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: gatepass <command>')

    const badOption = await run(['hash-secret', '--nope'])
    expect(badOption.code).toBe(2)
    expect(badOption.stderr).toContain("Unknown option '--nope'")
    expect(badOption.stderr).toContain('Usage: gatepass hash-secret')
  })

  it('prints help on stdout and exits 0', async () => {
    const main = await run(['--help'])
    expect(main.code).toBe(0)
    expect(main.stdout).toContain('Usage: gatepass <command>')
    const serve = await run(['serve', '--help'])
    expect(serve.code).toBe(0)
    expect(serve.stdout).toContain('Usage: gatepass serve --config <file>')
    const keys = await run(['help', 'keys'])
    expect(keys.code).toBe(0)
    expect(keys.stdout).toContain('Usage: gatepass keys generate')
  })
})

describe('gatepass hash-secret', () => {
  it('hashes the secret read from stdin into a digest verifySecret accepts', async () => {
    const result = await run(['hash-secret'], { input: 'orders-app-secret\n' })
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toMatch(/^sha256:[A-Za-z0-9_-]{43}\n$/)
    const digest = result.stdout.trim()
    // The final newline from `echo` is not part of the secret.
    expect(await verifySecret('orders-app-secret', digest)).toBe(true)
    expect(await verifySecret('orders-app-secret\n', digest)).toBe(false)
  })

  it('generates a secret when stdin is empty and prints it once, labelled, with its digest', async () => {
    const result = await run(['hash-secret'])
    expect(result.code).toBe(0)
    const secret = /^ {2}secret: (\S+)$/m.exec(result.stdout)?.[1]
    const digest = /^ {2}digest: (\S+)$/m.exec(result.stdout)?.[1]
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(digest).toMatch(/^sha256:/)
    expect(result.stdout.split(secret!).length - 1).toBe(1)
    expect(result.stdout).toContain('shown once')
    expect(await verifySecret(secret!, digest!)).toBe(true)
  })

  it('prints JSON with --json', async () => {
    const generated = JSON.parse((await run(['hash-secret', '--json'])).stdout) as { secret: string; digest: string }
    expect(await verifySecret(generated.secret, generated.digest)).toBe(true)
    const given = JSON.parse((await run(['hash-secret', '--json'], { input: 'abc' })).stdout) as Record<string, string>
    expect(Object.keys(given)).toEqual(['digest'])
    expect(await verifySecret('abc', given.digest!)).toBe(true)
  })

  it('hashes a password with PBKDF2 with --password', async () => {
    const result = await run(['hash-secret', '--password', '--iterations', '1000'], { input: 'correct horse battery staple\n' })
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^pbkdf2-sha256\$1000\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}\n$/)
    expect(await verifySecret('correct horse battery staple', result.stdout.trim())).toBe(true)
    expect(await verifySecret('wrong', result.stdout.trim())).toBe(false)
  })

  it('refuses a weak or misplaced --iterations with exit code 2', async () => {
    const weak = await run(['hash-secret', '--password', '--iterations', '10'], { input: 'pw' })
    expect(weak.code).toBe(2)
    expect(weak.stderr).toContain('gatepass: "--iterations" must be an integer ≥ 1000')
    const misplaced = await run(['hash-secret', '--iterations', '5000'], { input: 'pw' })
    expect(misplaced.code).toBe(2)
    expect(misplaced.stderr).toContain('"--iterations" only applies with "--password"')
  })
})

describe('gatepass keys generate', () => {
  it('prints an ES256 PKCS#8 private key and a public JWK whose kid is its thumbprint', async () => {
    const result = await run(['keys', 'generate', '--alg', 'ES256'])
    expect(result.code).toBe(0)
    const pem = /-----BEGIN PRIVATE KEY-----\n[\s\S]+?\n-----END PRIVATE KEY-----/.exec(result.stdout)?.[0]
    expect(pem).toBeDefined()
    const privateKey = await importPKCS8(pem!, 'ES256')
    const jwk = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as Record<string, string>
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    expect(jwk).not.toHaveProperty('d')
    expect(jwk.kid).toBe(await calculateJwkThumbprint(jwk, 'sha256'))

    // The two halves belong together.
    const jws = await new CompactSign(new TextEncoder().encode('payload')).setProtectedHeader({ alg: 'ES256', kid: jwk.kid }).sign(privateKey)
    const verified = await compactVerify(jws, await importJWK(jwk, 'ES256'))
    expect(verified.protectedHeader.kid).toBe(jwk.kid)
  })

  it('defaults to a 2048-bit RS256 key, and prints JSON with --json', async () => {
    const result = await run(['keys', 'generate', '--json'])
    expect(result.code).toBe(0)
    const out = JSON.parse(result.stdout) as { kid: string; alg: string; privateKey: string; publicJwk: Record<string, string> }
    expect(out.alg).toBe('RS256')
    expect(out.publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: out.kid, use: 'sig' })
    expect(out.publicJwk.n).toHaveLength(342) // 2048 bits, base64url
    await importPKCS8(out.privateKey, 'RS256')
  })

  it('refuses an unknown algorithm or subcommand with exit code 2', async () => {
    const alg = await run(['keys', 'generate', '--alg', 'HS256'])
    expect(alg.code).toBe(2)
    expect(alg.stderr).toContain('"--alg" must be one of RS256, RS384, RS512, PS256, ES256, EdDSA')
    const sub = await run(['keys', 'rotate'])
    expect(sub.code).toBe(2)
    expect(sub.stderr).toContain('unknown subcommand "keys rotate"')
  })
})

describe('gatepass keys import', () => {
  const sqliteConfig = (name: string) =>
    writeConfig(`${name}.json`, {
      environment: { name: 'test', issuer: 'https://gw.example.com' },
      store: { kind: 'sqlite', path: join(tmp, `${name}.db`) },
      proxies: [{ name: 'orders', clientId: 'orders-app', clientSecret: 'sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    })

  async function keysOf(name: string) {
    const { createSQLiteStore } = await import('../../src/server/sqlite/index.js')
    const store = await createSQLiteStore({ path: join(tmp, `${name}.db`) })
    try {
      return await store.listKeys('test')
    } finally {
      await store.close()
    }
  }

  it('makes a generated key (from --file or stdin) the active key of the store; the one it replaces is retired', async () => {
    const config = sqliteConfig('import')
    const generated = JSON.parse((await run(['keys', 'generate', '--json'])).stdout) as { kid: string; privateKey: string }
    const file = join(tmp, 'key.pem')
    writeFileSync(file, generated.privateKey)
    const first = await run(['keys', 'import', '--config', config, '--file', file])
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toBe(`gatepass: imported key ${generated.kid}; it signs from now on\n`)
    const second = JSON.parse((await run(['keys', 'generate', '--json'])).stdout) as { kid: string; privateKey: string }
    const piped = await run(['keys', 'import', '--config', config, '--json'], { input: second.privateKey })
    expect(piped.code).toBe(0)
    expect(JSON.parse(piped.stdout)).toEqual({ kid: second.kid })
    const keys = await keysOf('import')
    expect(keys.find((k) => k.kid === second.kid)?.state).toBe('active')
    expect(keys.find((k) => k.kid === generated.kid)?.state).toBe('retired')
    expect(keys.filter((k) => k.state === 'active')).toHaveLength(1)
  })

  it('exits 1 with the reason for a key it refuses, and leaves the store as it was', async () => {
    const config = sqliteConfig('refuse')
    const ec = JSON.parse((await run(['keys', 'generate', '--alg', 'ES256', '--json'])).stdout) as { privateKey: string }
    const refused = await run(['keys', 'import', '--config', config], { input: ec.privateKey })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe('gatepass: "key" is not a RS256 private key (or its PEM is damaged)\n')
    const keys = await keysOf('refuse')
    expect(keys.filter((k) => k.state === 'active')).toHaveLength(1) // the key made at start only
    expect((await run(['keys', 'import', '--config', config, '--file', join(tmp, 'missing.pem')])).stderr).toBe(`gatepass: cannot read the key file "${join(tmp, 'missing.pem')}" (ENOENT)\n`)
    const none = await run(['keys', 'import', '--config', config], { input: '' })
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no key: pass "--file <key.pem|key.json>" or pipe it into stdin')
    const memory = await run(['keys', 'import', '--config', writeConfig('memory.json', { environment: { name: 'test', issuer: 'https://gw.example.com' }, store: { kind: 'memory' } })], { input: ec.privateKey })
    expect(memory.stderr).toBe('gatepass: the configuration uses the memory store: an imported key would be lost at exit\n')
    expect((await run(['keys', 'import'], { input: ec.privateKey })).stderr).toContain('missing "--config <file>"')
    expect((await run(['keys', 'generate', '--file', 'x'])).stderr).toContain('"--config" and "--file" belong to "keys import"')
  })
})

describe('gatepass serve (failures)', () => {
  it('exits 1 and lists every bad field of an invalid config, without a stack trace', async () => {
    const result = await run(['serve', '--config', writeConfig('invalid.json', { environment: {} }), '--port', '0'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines[0]).toMatch(/^gatepass: invalid configuration \(\d+ problems?\):$/)
    expect(lines.some((l) => l.startsWith('  environment.name: '))).toBe(true)
    expect(lines.some((l) => l.startsWith('  environment.issuer: '))).toBe(true)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('reports a bad store together with the other bad fields', async () => {
    const result = await run(['serve', '--config', writeConfig('bad-store.json', { environment: { name: 'test' }, store: { kind: 'mongodb' } })])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('  store.kind: must be "memory", "sqlite" or "postgres"')
    expect(result.stderr).toContain('  environment.issuer: ')
  })

  it('exits 1 with one line for an unreadable or malformed config file', async () => {
    const missing = await run(['serve', '--config', join(tmp, 'missing.json')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe(`gatepass: cannot read config file "${join(tmp, 'missing.json')}" (ENOENT)\n`)
    const malformed = await run(['serve', '--config', writeConfig('malformed.json', '{"environment":')])
    expect(malformed.code).toBe(1)
    expect(malformed.stderr).toMatch(/^gatepass: config file ".*malformed\.json" is not valid JSON/)
    // Where, never what: JSON.parse quotes the text around the error, which may be a secret.
    const leaky = await run(['serve', '--config', writeConfig('leaky.json', '{\n  "store": { "kind": "postgres",\n    "url": postgres://app:hunter2@db/x }\n}')])
    expect(leaky.code).toBe(1)
    expect(leaky.stderr).toMatch(/^gatepass: config file ".*leaky\.json" is not valid JSON \((near )?line 3(, column \d+)?\)\n$/)
    expect(leaky.stderr).not.toContain('hunter2')
    const yaml = await run(['serve', '--config', writeConfig('config.yaml', 'environment: {}')])
    expect(yaml.code).toBe(1)
    expect(yaml.stderr).toContain('must end in .json, .js, .mjs or .ts')
  })

  it('loads .mjs and (under tsx) .ts configs through their default export', async () => {
    const mjs = await run(['serve', '--config', writeConfig('config.mjs', 'export default { environment: { name: "test" } }\n')])
    expect(mjs.code).toBe(1)
    expect(mjs.stderr).toContain('  environment.issuer: ')
    expect(mjs.stderr).not.toContain('environment.name')
    const ts = await run(['serve', '--config', writeConfig('config.ts', 'const config: { environment: object } = { environment: {} }\nexport default config\n')])
    expect(ts.code).toBe(1)
    expect(ts.stderr).toContain('  environment.name: ')
  })

  it('exits 1 for an .mjs config without a default export', async () => {
    const result = await run(['serve', '--config', writeConfig('named.mjs', 'export const config = {}\n')])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('has no default export')
  })

  it('exits 2 without --config or with a bad port', async () => {
    const noConfig = await run(['serve'])
    expect(noConfig.code).toBe(2)
    expect(noConfig.stderr).toContain('missing "--config <file>"')
    const badPort = await run(['serve', '--config', 'x.json', '--port', '99999'])
    expect(badPort.code).toBe(2)
    expect(badPort.stderr).toContain('"--port" must be a port number between 0 and 65535')
    const badEnvPort = await run(['serve', '--config', 'x.json'], { env: { PORT: 'http' } })
    expect(badEnvPort.code).toBe(2)
    expect(badEnvPort.stderr).toContain('the PORT environment variable must be a port number')
  })
})
