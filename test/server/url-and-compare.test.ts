/**
 * Two small helpers on every token request: the path of `request.url` read off the string, and
 * the constant-time comparison of digests.
 */
import { describe, expect, it } from 'vitest'
import { timingSafeEqual } from '../../src/server/lib/crypto.js'
import { pathnameOf } from '../../src/server/lib/url-path.js'

describe('pathnameOf', () => {
  it.each([
    'http://localhost/auth/token',
    'https://auth.example.com:8443/auth/token?x=1',
    'http://[::1]:8080/a/b#frag',
    'http://h/a#f?not-a-query',
    'http://h/',
    'https://user:pw@h/p?q#f',
    'http://h/%2e%2e/x?y=/z',
  ])('agrees with URL for %s', (raw) => {
    const url = new URL(raw).href // what request.url holds
    expect(pathnameOf(url)).toBe(new URL(url).pathname)
  })

  it('falls back to URL for other schemes', () => {
    expect(pathnameOf('file:///etc/hosts')).toBe('/etc/hosts')
  })
})

describe('timingSafeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['abd', 'abc', false],
    ['ab', 'abc', false],
    ['abcd', 'abc', false],
    ['', 'abc', false],
    ['abc', '', false],
    ['', '', true],
    ['\u0000bc', 'abc', false],
    ['héllo', 'héllo', true],
    ['hèllo', 'héllo', false],
  ])('%j vs %j → %s', (actual, expected, equal) => {
    expect(timingSafeEqual(actual, expected)).toBe(equal)
  })
})
