/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1). Internal: not exported from the package entry.
 *
 * @module
 */

/** One parsed challenge. */
export interface AuthChallenge {
  /** Auth scheme, lowercased (`bearer`, `basic`, `dpop`). */
  scheme: string
  /** The token68 form, when the challenge uses it instead of parameters. */
  token68?: string
  /** Parameters with lowercased names and unescaped values. */
  parameters: Record<string, string>
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/

/**
 * Parses every challenge of a `WWW-Authenticate` header value, quoted-string escapes included.
 * Malformed trailing input ends parsing; the challenges read so far are returned.
 *
 * @param header The header value (several challenges may be comma-separated).
 * @returns The challenges in order.
 */
export function parseWWWAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = []
  let i = 0
  const n = header.length

  const skip = (chars: string): void => {
    while (i < n && chars.includes(header[i]!)) i++
  }
  const readToken = (): string => {
    const start = i
    while (i < n && TCHAR.test(header[i]!)) i++
    return header.slice(start, i)
  }
  const readQuoted = (): string | undefined => {
    // header[i] === '"'
    i++
    let value = ''
    while (i < n) {
      const c = header[i]!
      if (c === '\\') {
        if (i + 1 >= n) return undefined
        value += header[i + 1]
        i += 2
      } else if (c === '"') {
        i++
        return value
      } else {
        value += c
        i++
      }
    }
    return undefined
  }
  /** Is there `token BWS "="` (not `==`, i.e. not a token68 tail) at the current position? */
  const atParam = (): boolean => {
    const save = i
    const name = readToken()
    skip(' \t')
    const ok = name.length > 0 && header[i] === '=' && header[i + 1] !== '='
    i = save
    return ok
  }

  while (i < n) {
    skip(' \t,')
    if (i >= n) break
    const scheme = readToken()
    if (!scheme) break
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), parameters: {} }
    challenges.push(challenge)
    skip(' \t')
    // token68?
    if (i < n && header[i] !== ',' && !atParam()) {
      const m = TOKEN68.exec(header.slice(i))
      if (m) {
        const after = i + m[0].length
        let j = after
        while (j < n && (header[j] === ' ' || header[j] === '\t')) j++
        if (j >= n || header[j] === ',') {
          challenge.token68 = m[0]
          i = j
          continue
        }
      }
      return challenges
    }
    // auth-params, comma-separated; stop at the next challenge (a token not followed by "=")
    for (;;) {
      skip(' \t')
      while (i < n && header[i] === ',') {
        i++
        skip(' \t')
      }
      if (i >= n || !atParam()) break
      const name = readToken().toLowerCase()
      skip(' \t')
      i++ // "="
      skip(' \t')
      let value: string | undefined
      if (header[i] === '"') value = readQuoted()
      else {
        value = readToken()
        if (!value) value = undefined
      }
      if (value === undefined) return challenges
      if (!(name in challenge.parameters)) challenge.parameters[name] = value
    }
  }
  return challenges
}

/**
 * Finds the Bearer challenge of a response, if any.
 *
 * @param response A response, usually a 401 or 403.
 * @returns The parsed Bearer challenge, or `undefined`.
 */
export function bearerChallenge(response: Response): AuthChallenge | undefined {
  const header = response.headers.get('www-authenticate')
  if (!header) return undefined
  return parseWWWAuthenticate(header).find((c) => c.scheme === 'bearer')
}
