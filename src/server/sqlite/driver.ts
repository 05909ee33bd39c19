/**
 * Loading the optional database drivers (`better-sqlite3`, `pg`), shared by the SQLite and
 * PostgreSQL stores.
 */
import { StoreUnavailableError } from '../../shared/errors.js'

/**
 * Option key of the SQLite and PostgreSQL store factories: a function that loads the database
 * driver module instead of the default dynamic `import()`. For bundlers that cannot resolve the
 * optional peer dependency, and for tests.
 *
 * Available from `'gatepass/server/sqlite'` and `'gatepass/server/postgres'`.
 *
 * @example Hand a bundled driver to the store
 *
 * ```ts
 * import Database from 'better-sqlite3'
 * import { createSQLiteStore, loadDriver } from 'gatepass/server/sqlite'
 *
 * const store = await createSQLiteStore({ path: '.gatepass/tokens.db', [loadDriver]: async () => Database })
 * ```
 *
 * @group Stores
 */
export const loadDriver: unique symbol = Symbol.for('gatepass.loadDriver')

/**
 * Thrown by `createSQLiteStore()` and `createPostgresStore()` when their database driver package
 * is not installed or cannot be loaded. A kind of {@link StoreUnavailableError}; `packageName` says
 * which package to install.
 *
 * Available from `'gatepass/server/sqlite'` and `'gatepass/server/postgres'`.
 *
 * @example Tell the operator what to install
 *
 * ```ts
 * import { createSQLiteStore, StoreDriverError } from 'gatepass/server/sqlite'
 *
 * try {
 *   await createSQLiteStore({ path: '.gatepass/tokens.db' })
 * } catch (err) {
 *   if (err instanceof StoreDriverError) console.error(`npm install ${err.packageName}`)
 * }
 * ```
 *
 * @group Stores
 */
export class StoreDriverError extends StoreUnavailableError {
  /** The npm package the store needs (`better-sqlite3`, `pg`). */
  readonly packageName: string

  /**
   * @param packageName The missing package.
   * @param message What went wrong and how to fix it.
   * @param options `cause` is the original loading error.
   */
  constructor(packageName: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.packageName = packageName
  }
}

function isModuleNotFound(err: unknown, packageName: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  return (
    typeof e === 'object' &&
    e !== null &&
    (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(`'${packageName}'`)
  )
}

/**
 * Loads an optional driver module, unwrapping a CommonJS default export. Internal.
 *
 * @param packageName For the error message.
 * @param install The install command to suggest.
 * @param loader The loader (the default dynamic import, or the `[loadDriver]` option).
 */
export async function importDriver<T>(packageName: string, install: string, loader: () => Promise<unknown>): Promise<T> {
  let mod: unknown
  try {
    mod = await loader()
  } catch (err) {
    if (isModuleNotFound(err, packageName)) {
      throw new StoreDriverError(packageName, `the "${packageName}" package is not installed; install it with: ${install}`, { cause: err })
    }
    throw new StoreDriverError(packageName, `the "${packageName}" package failed to load (try: npm rebuild ${packageName}, or ${install})`, { cause: err })
  }
  if (mod === null || mod === undefined) {
    throw new StoreDriverError(packageName, `the "${packageName}" package is not installed; install it with: ${install}`)
  }
  const withDefault = mod as { default?: unknown }
  return (typeof mod === 'object' && withDefault.default !== undefined ? withDefault.default : mod) as T
}
