#!/usr/bin/env node
/**
 * The `gatepass` command line: `serve`, `hash-secret`, `keys generate`, `keys import`, `migrate`. Node only.
 *
 * Internal: the package's `bin`, not an import entry point.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { isGatepassError } from '../shared/errors.js'
import type { ConfigIssue } from '../shared/errors.js'
import { CLIError, EXIT_FAILURE, EXIT_USAGE } from './errors.js'
import { hashSecretCommand } from './hash-secret.js'
import { keysCommand } from './keys.js'
import { migrateCommand } from './migrate.js'
import { serveCommand } from './serve.js'
import { USAGE } from './usage.js'

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
  'hash-secret': hashSecretCommand,
  keys: keysCommand,
  migrate: migrateCommand,
}

const isHelpFlag = (arg: string) => arg === '--help' || arg === '-h'

/** `package.json` sits two levels up from both `src/cli/` and `dist/cli/`. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function printUsage(command: string, stream: NodeJS.WriteStream): void {
  stream.write(`${USAGE[command] ?? USAGE['']}\n`)
}

/** Turns anything thrown by a command into stderr lines and an exit code; never prints a stack. */
function report(err: unknown): number {
  if (err instanceof CLIError) {
    process.stderr.write(`gatepass: ${err.message}\n`)
    for (const line of err.details) process.stderr.write(`  ${line}\n`)
    if (err.usage !== undefined) {
      process.stderr.write('\n')
      printUsage(err.usage, process.stderr)
    }
    return err.exitCode
  }
  if (isGatepassError(err) && err.code === 'ERR_INVALID_CONFIG') {
    const issues = (err as unknown as { issues: ConfigIssue[] }).issues
    process.stderr.write(`gatepass: invalid configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):\n`)
    for (const issue of issues) process.stderr.write(`  ${issue.path || '(root)'}: ${issue.message}\n`)
    return EXIT_FAILURE
  }
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    // node:util parseArgs: unknown option, missing value, unexpected positional.
    process.stderr.write(`gatepass: ${(err as Error).message}\n`)
    return EXIT_USAGE
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`gatepass: ${message}\n`)
  if (process.env.GATEPASS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
  return EXIT_FAILURE
}

/**
 * Runs the command line.
 *
 * @param argv Arguments after `node gatepass`.
 * @returns The exit code (`serve` returns 0 once listening; the process then lives on).
 */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined) {
    printUsage('', process.stderr)
    return EXIT_USAGE
  }
  if (isHelpFlag(command)) {
    printUsage('', process.stdout)
    return 0
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  if (command === 'help') {
    const topic = rest[0] ?? ''
    if (!(topic in USAGE)) return report(new CLIError(`unknown command "${topic}"`, { exitCode: EXIT_USAGE, usage: '' }))
    printUsage(topic, process.stdout)
    return 0
  }
  const run = COMMANDS[command]
  if (!run) return report(new CLIError(command.startsWith('-') ? `unknown option "${command}"` : `unknown command "${command}"`, { exitCode: EXIT_USAGE, usage: '' }))
  if (rest.some(isHelpFlag)) {
    printUsage(command, process.stdout)
    return 0
  }
  try {
    return await run(rest)
  } catch (err) {
    const code = report(err)
    if (code === EXIT_USAGE && !(err instanceof CLIError)) {
      process.stderr.write('\n')
      printUsage(command, process.stderr)
    }
    return code
  }
}

// No top-level await: the bin also works when a loader (tsx) treats it as CommonJS.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
