import { describe, expectTypeOf, it } from 'vitest'
import type { KyInstance } from 'ky'
import * as z from 'zod/mini'
import { createAPIClient, createTokenClient, decodeClaims } from '../../src/client/index.js'
import type { errors } from '../../src/client/index.js'
import type { AnyClientError, TokenCacheEntry, TokenResult } from '../../src/client/index.js'
import { defineClaims } from '../../src/shared/schemas.js'

describe('public types', () => {
  it('getToken resolves to a TokenResult without refresh_token in its declared members', () => {
    const tokens = createTokenClient({ tokenEndpoint: 'https://id.test/token', clientId: 'a', grant: 'client_credentials', crossTab: false })
    expectTypeOf(tokens.getToken).returns.resolves.toEqualTypeOf<TokenResult>()
    expectTypeOf<TokenResult['expiresAt']>().toEqualTypeOf<number | null>()
    expectTypeOf<TokenCacheEntry['refresh_token']>().toEqualTypeOf<string | undefined>()
    expectTypeOf(createAPIClient({ tokens })).toEqualTypeOf<KyInstance>()
    tokens.close()
  })

  it('AnyClientError narrows on code', () => {
    const handle = (err: AnyClientError) => {
      if (err.code === 'ERR_RESPONSE_BODY') expectTypeOf(err).toEqualTypeOf<errors.ResponseBodyError>()
      if (err.code === 'ERR_ABORTED') expectTypeOf(err).toEqualTypeOf<errors.AbortedError>()
    }
    expectTypeOf(handle).toBeFunction()
  })

  it('decodeClaims infers custom claims', () => {
    const schema = defineClaims({ tenant: z.string() })
    const read = (t: string) => decodeClaims(t, schema)
    expectTypeOf(read).returns.toHaveProperty('tenant').toEqualTypeOf<string>()
    expectTypeOf(decodeClaims).returns.toHaveProperty('sub').toEqualTypeOf<string>()
  })

  it('rejects a grant that is neither client_credentials nor password', () => {
    // @ts-expect-error 'implicit' is not a grant
    const bad = () => createTokenClient({ tokenEndpoint: 'https://id.test/token', clientId: 'a', grant: 'implicit' })
    expectTypeOf(bad).toBeFunction()
  })
})
