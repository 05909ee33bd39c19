import { build } from 'esbuild'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { entries } from '../../tsup.config.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> }
const typedoc = JSON.parse(readFileSync(new URL('../../typedoc.json', import.meta.url), 'utf8')) as { entryPoints: string[] }

async function bundle(entry: string, nodePaths?: string) {
  const result = await build({
    entryPoints: [entry],
    ...(nodePaths ? { nodePaths: [join(nodePaths, 'node_modules')] } : {}),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    minify: true,
    logLevel: 'silent',
    metafile: true,
  })
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) }
}

describe('runtime-neutral entries bundle for the browser', () => {
  it.each(['src/shared/index.ts', 'src/server/index.ts', 'src/client/index.ts'])('%s has no Node built-in', async (entry) => {
    const { code, inputs } = await bundle(entry)
    // esbuild fails to resolve a `node:` import for the browser; this also catches Node-only subpaths.
    expect(inputs.filter((i) => i.startsWith('node:') || /^src\/server\/(node|sqlite|postgres|redis)\//.test(i))).toEqual([])
    expect(code).not.toMatch(/\bfrom\s*["']node:|require\(["']node:|\bBuffer\.from\(/)
  })

  it('the client bundle pulls no server code and no zod classic', async () => {
    const { code, inputs } = await bundle('src/client/index.ts')
    expect(inputs.filter((i) => i.startsWith('src/server/'))).toEqual([])
    for (const name of ['SignJWT', 'importPKCS8', 'createTokenService', 'generateKeyPair']) expect(code).not.toContain(name)
    expect(inputs.some((i) => /zod\/v4\/classic\//.test(i))).toBe(false)
  })

  it('createTokenClient + createAPIClient: gzip size, and what gatepass adds to ky + zod/mini', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatepass-size-'))
    try {
      const root = fileURLToPath(new URL('../../', import.meta.url))
      const entry = join(dir, 'app.ts')
      writeFileSync(entry, `export { createTokenClient, createAPIClient } from ${JSON.stringify(join(root, 'src/client/index.ts'))}\n`)
      // The floor: ky and the zod/mini schemas the client validates responses with, nothing of ours.
      const floorEntry = join(dir, 'floor.ts')
      writeFileSync(
        floorEntry,
        `export { default as ky } from 'ky'\nexport { tokenResponseSchema, errorResponseSchema, introspectionResponseSchema, authorizationServerMetadataSchema } from ${JSON.stringify(join(root, 'src/shared/schemas.ts'))}\n`,
      )
      const app = await bundle(entry, root)
      const floor = await bundle(floorEntry, root)
      for (const name of ['createTokenService', 'SignJWT', 'better-sqlite3', 'ioredis']) expect(app.code).not.toContain(name)
      expect(app.inputs.some((i) => /zod\/v4\/classic\//.test(i))).toBe(false)
      const total = gzipSync(app.code).byteLength
      const own = total - gzipSync(floor.code).byteLength
      // Measured: 19.1 KB in all, of which ky + zod/mini are 11.3 KB: issue 6's 12 KB ceiling cannot
      // hold with the two libraries the brief prescribes (docs/decisions.md, "Client bundle size").
      // What is ours is held to 8.5 KB (7.2 KB until every public client function checked its
      // options up front, 0.8 KB); raise either bound only with a reason.
      expect(own).toBeLessThan(8.5 * 1024)
      expect(total).toBeLessThan(20 * 1024)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('exports map, build entries and docs entry points agree', () => {
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json').map((k) => k.slice(2))

  it('every export has a tsup entry and a typedoc entry point', () => {
    for (const sub of subpaths) {
      expect(entries).toHaveProperty(`${sub}/index`, `src/${sub}/index.ts`)
      expect(typedoc.entryPoints).toContain(`src/${sub}/index.ts`)
    }
    const built = Object.keys(entries).filter((k) => !k.startsWith('cli/')).map((k) => k.replace(/\/index$/, ''))
    expect(built.sort()).toEqual([...subpaths].sort())
  })

  it('each export lists types first', () => {
    for (const [key, value] of Object.entries(pkg.exports)) {
      if (key === './package.json') continue
      expect(Object.keys(value as object)).toEqual(['types', 'default'])
    }
  })
})
