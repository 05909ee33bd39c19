import * as z from 'zod/mini'
import { describe, expect, it } from 'vitest'
import { decodeClaims } from '../../src/client/index.js'
import { defineClaims } from '../../src/shared/schemas.js'
import { fakeJWT, rejection } from './_helpers.js'

const claims = {
  iss: 'https://id.test/auth',
  sub: 'alice',
  aud: 'https://api.test',
  iat: 1_700_000_000,
  exp: 1_700_003_600,
  jti: 'j1',
  client_id: 'web',
  scope: 'a b',
}

describe('decodeClaims', () => {
  it('decodes and validates with the default access-token schema', () => {
    expect(decodeClaims(fakeJWT({ ...claims, extra: true }))).toEqual({ ...claims, extra: true })
  })

  it('types custom claims with defineClaims()', () => {
    const decoded = decodeClaims(fakeJWT({ ...claims, tenant: 't1' }), defineClaims({ tenant: z.string() }))
    const tenant: string = decoded.tenant
    expect(tenant).toBe('t1')
  })

  it('a non-JWT → JWTDecodeError', async () => {
    for (const token of ['opaque-token', 'a.b.c', '']) {
      const err = await rejection(Promise.resolve().then(() => decodeClaims(token)))
      expect(err).toMatchObject({ code: 'ERR_JWT_DECODE', message: 'token is not a decodable JWT' })
    }
  })

  it('claims that do not match the schema → SchemaValidationError with paths', async () => {
    const err = await rejection(Promise.resolve().then(() => decodeClaims(fakeJWT({ ...claims, sub: 1, jti: undefined }))))
    expect(err).toMatchObject({ code: 'ERR_SCHEMA_VALIDATION', message: 'invalid token claims' })
    expect(err.issues.map((i: { path: string }) => i.path).sort()).toEqual(['jti', 'sub'])
  })

  it('argument misuse → TypeError', () => {
    expect(() => decodeClaims(1 as unknown as string)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }))
  })
})
