import { build } from 'esbuild'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { entries } from '../../tsup.config.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> }
const typedoc = JSON.parse(readFileSync(new URL('../../typedoc.json', import.meta.url), 'utf8')) as { entryPoints: string[] }

async function bundle(entry: string) {
  const result = await build({
    entryPoints: [entry],
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
    // Ceiling (measured 18.2 KB): ky ~5 KB + zod/mini with the response schemas ~6.6 KB + jose's
    // decodeJwt + the client itself ~7.6 KB. Raise it only with a reason.
    expect(gzipSync(code).byteLength).toBeLessThan(20 * 1024)
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
