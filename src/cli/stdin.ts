/**
 * Reading what was piped into the `gatepass` command line. Internal.
 */
import { CLIError } from './errors.js'

/**
 * Reads stdin to the end; `null` when stdin is a terminal (nothing was piped in). Refuses more
 * than `maxBytes` (most likely the wrong file), naming `what` it expected.
 */
export async function readStdin(stdin: NodeJS.ReadStream, what: string, maxBytes: number): Promise<string | null> {
  if (stdin.isTTY) return null
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buffer.length
    if (size > maxBytes) throw new CLIError(`the ${what} on stdin is longer than ${maxBytes} bytes`)
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
