import { defineConfig } from 'tsup'

/** Entry list = the exports map of package.json (checked by test/package/exports.test.ts). */
export const entries = {
  'shared/index': 'src/shared/index.ts',
  'server/index': 'src/server/index.ts',
  'server/node/index': 'src/server/node/index.ts',
  'server/sqlite/index': 'src/server/sqlite/index.ts',
  'server/postgres/index': 'src/server/postgres/index.ts',
  'server/redis/index': 'src/server/redis/index.ts',
  'client/index': 'src/client/index.ts',
  'cli/gatepass': 'src/cli/gatepass.ts',
}

export default defineConfig({
  entry: entries,
  format: ['esm'],
  // The Node-only subpaths need Node's types; the runtime-neutral ones are checked without them by `npm run typecheck`.
  dts: { entry: Object.fromEntries(Object.entries(entries).filter(([k]) => !k.startsWith('cli/'))), compilerOptions: { types: ['node'] } },
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  treeshake: true,
  clean: true,
  sourcemap: false,
  external: ['better-sqlite3', 'pg', 'ioredis', /^node:/],
})
