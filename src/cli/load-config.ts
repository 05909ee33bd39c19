/**
 * Loading the configuration file of `gatepass serve`. Internal.
 */
import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CLIError } from './errors.js'

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.cjs'])
const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts'])

/**
 * Reads a configuration: `.json` is parsed; `.js`/`.mjs`/`.cjs` and `.ts`/`.mts` are imported and
 * their default export used (TypeScript needs a loader such as tsx).
 *
 * @param file Path from the command line, relative to the current directory.
 * @returns The configuration as written (not validated yet).
 * @throws `CLIError` with a message fit for the terminal.
 */
export async function loadConfig(file: string): Promise<unknown> {
  const path = resolve(file)
  const ext = extname(path).toLowerCase()

  if (ext === '.json') {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      throw new CLIError(`cannot read config file "${file}" (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
    }
    try {
      return JSON.parse(text) as unknown
    } catch (err) {
      // JSON.parse quotes the text around the error, which may be a secret: say where, never what.
      throw new CLIError(`config file "${file}" is not valid JSON${jsonErrorPlace(text, err)}`)
    }
  }

  if (MODULE_EXTENSIONS.has(ext) || TYPESCRIPT_EXTENSIONS.has(ext)) {
    let mod: { default?: unknown }
    try {
      mod = (await import(pathToFileURL(path).href)) as { default?: unknown }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && TYPESCRIPT_EXTENSIONS.has(ext)) {
        throw new CLIError(
          `cannot load the TypeScript config "${file}" with plain Node: use a .json or .mjs config, or load tsx first: NODE_OPTIONS='--import tsx' npx gatepass serve …`,
          { cause: err },
        )
      }
      if (code === 'ERR_MODULE_NOT_FOUND' && (err as Error).message.includes(path)) {
        throw new CLIError(`cannot read config file "${file}" (ENOENT)`, { cause: err })
      }
      throw new CLIError(`cannot load config file "${file}": ${(err as Error).message}`, { cause: err })
    }
    if (mod.default === undefined) throw new CLIError(`config file "${file}" has no default export`)
    return mod.default
  }

  throw new CLIError(`config file "${file}" must end in .json, .js, .mjs or .ts`)
}

/**
 * Where a JSON.parse error is, as ` (line L, column C)` or ` (near line L)`, from the position or
 * the quoted excerpt its message carries (the excerpt itself is never shown); '' when neither.
 */
function jsonErrorPlace(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : ''
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length
  const position = /position (\d+)/.exec(message)
  if (position) {
    const offset = Number(position[1])
    return ` (line ${lineOf(offset)}, column ${offset - text.lastIndexOf('\n', offset - 1)})`
  }
  const excerpt = /, (?:\.\.\.)?"([\s\S]*)"(?:\.\.\.)? is not valid JSON$/.exec(message)?.[1]
  const offset = excerpt ? text.indexOf(excerpt) : -1
  return offset >= 0 ? ` (near line ${lineOf(offset + excerpt!.length)})` : ''
}
