/**
 * Errors of the `gatepass` command line. Internal: not exported from any entry point.
 */

/** Exit code for bad usage (unknown command or option, bad flag value), as `getopt` tools do. */
export const EXIT_USAGE = 2
/** Exit code for a failure at run time (bad config, store unreachable, port taken). */
export const EXIT_FAILURE = 1

/**
 * A failure the CLI reports as one short message on stderr (no stack) before exiting.
 * `usage` names the command whose usage text follows the message (for exit code 2).
 */
export class CLIError extends Error {
  readonly exitCode: number
  readonly usage: string | undefined
  /** Extra lines printed after the message (e.g. one per invalid config field). */
  readonly details: string[]

  constructor(message: string, options: { exitCode?: number; usage?: string; details?: string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'CLIError'
    this.exitCode = options.exitCode ?? EXIT_FAILURE
    this.usage = options.usage
    this.details = options.details ?? []
  }
}

/** A usage error: the message, then the command's usage, exit code 2. */
export function usageError(message: string, command: string): CLIError {
  return new CLIError(message, { exitCode: EXIT_USAGE, usage: command })
}
