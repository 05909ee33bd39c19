import { describe, expect, it } from 'vitest'
import { parseWWWAuthenticate } from '../../src/client/lib/www-authenticate.js'

describe('parseWWWAuthenticate', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    expect(parseWWWAuthenticate('Bearer realm="api", error="invalid_token", error_description="The token expired"')).toEqual([
      { scheme: 'bearer', parameters: { realm: 'api', error: 'invalid_token', error_description: 'The token expired' } },
    ])
  })

  it('unescapes quoted-pair escapes and keeps commas inside quotes', () => {
    const [c] = parseWWWAuthenticate(String.raw`Bearer error_description="say \"hi\", then \\ leave", error=invalid_token`)
    expect(c!.parameters).toEqual({ error_description: 'say "hi", then \\ leave', error: 'invalid_token' })
  })

  it('parses several challenges, token68 and bare schemes', () => {
    expect(parseWWWAuthenticate('Negotiate abc+/de==, Basic realm="x", DPoP algs="ES256 PS256", Bearer')).toEqual([
      { scheme: 'negotiate', token68: 'abc+/de==', parameters: {} },
      { scheme: 'basic', parameters: { realm: 'x' } },
      { scheme: 'dpop', parameters: { algs: 'ES256 PS256' } },
      { scheme: 'bearer', parameters: {} },
    ])
  })

  it('lowercases scheme and parameter names, tolerates whitespace around "="', () => {
    expect(parseWWWAuthenticate('BEARER Error = "invalid_token" ,  Realm=x')).toEqual([
      { scheme: 'bearer', parameters: { error: 'invalid_token', realm: 'x' } },
    ])
  })

  it('keeps the first of duplicated parameters', () => {
    expect(parseWWWAuthenticate('Bearer error="invalid_token", error="insufficient_scope"')[0]!.parameters.error).toBe('invalid_token')
  })

  it('stops at malformed input and returns what it read', () => {
    expect(parseWWWAuthenticate('Bearer realm="unterminated')).toEqual([{ scheme: 'bearer', parameters: {} }])
    expect(parseWWWAuthenticate('')).toEqual([])
    expect(parseWWWAuthenticate('Basic realm="a", Bearer error=')).toEqual([
      { scheme: 'basic', parameters: { realm: 'a' } },
      { scheme: 'bearer', parameters: {} },
    ])
  })
})
