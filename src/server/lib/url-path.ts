/**
 * The path of a request URL without parsing it again.
 *
 * `request.url` is always a serialized (normalized) URL, so for `http:` and `https:` its path is
 * everything from the first `/` after the authority up to `?` or `#`. Reading it off the string
 * costs a few index lookups where `new URL(request.url)` costs about 1 µs on every request; any
 * other scheme goes through `URL`.
 *
 * @param url A serialized absolute URL, e.g. `request.url`.
 * @returns Its path, e.g. `/auth/token`.
 */
export function pathnameOf(url: string): string {
  const scheme = url.startsWith('https://') ? 8 : url.startsWith('http://') ? 7 : 0
  if (scheme === 0) return new URL(url).pathname
  const start = url.indexOf('/', scheme)
  if (start === -1) return '/'
  let end = url.indexOf('?', start)
  const hash = url.indexOf('#', start)
  if (end === -1 || (hash !== -1 && hash < end)) end = hash
  return end === -1 ? url.slice(start) : url.slice(start, end)
}
