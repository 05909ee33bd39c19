/**
 * A `TypeError` with a Node-style `code`, thrown for argument misuse. Internal: not exported.
 */
export function invalidArgument(message: string, code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' = 'ERR_INVALID_ARG_VALUE'): TypeError & { code: string } {
  const err = new TypeError(message) as TypeError & { code: string }
  err.code = code
  return err
}
