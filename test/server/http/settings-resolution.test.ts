import { describe, expect, it } from 'vitest'
import { resolveEdgeSettings } from '../../../src/server/http/settings-resolution.js'
import type { EdgeSettings, EdgeSettingsMode } from '../../../src/server/http/settings-resolution.js'

const proxyCORS = { allowOrigins: ['https://proxy.test'] }
const groupCORS = { allowOrigins: ['https://group.test'] }
const envCORS = { allowOrigins: ['https://env.test'] }
const proxyIP = { header: 'x-real-ip' }
const groupIP = { position: 'last' as const }
const envIP = { trustedProxies: ['10.0.0.0/8'] }

const FULL = { cors: proxyCORS, clientIP: proxyIP }
const GROUP = { cors: groupCORS, clientIP: groupIP }
const ENV = { cors: envCORS, clientIP: envIP }

type Row = [string, EdgeSettingsMode, EdgeSettings | undefined, EdgeSettings | undefined, EdgeSettings, unknown, unknown]

describe('resolveEdgeSettings', () => {
  it.each<Row>([
    ['policy: proxy wins', 'policy', FULL, GROUP, ENV, proxyCORS, proxyIP],
    ['policy: group when proxy has none', 'policy', {}, GROUP, ENV, groupCORS, groupIP],
    ['policy: group when no proxy given', 'policy', undefined, GROUP, ENV, groupCORS, groupIP],
    ['policy: environment when neither', 'policy', {}, {}, ENV, envCORS, envIP],
    ['policy: environment when no group', 'policy', undefined, undefined, ENV, envCORS, envIP],
    ['policy: each setting resolved on its own', 'policy', { cors: proxyCORS }, { clientIP: groupIP }, ENV, proxyCORS, groupIP],
    ['policy: explicit undefined falls through', 'policy', { cors: undefined, clientIP: proxyIP }, undefined, ENV, envCORS, proxyIP],
    ['policy: nothing anywhere', 'policy', {}, {}, {}, undefined, undefined],
    ['acl: environment even when proxy and group have settings', 'acl', FULL, GROUP, ENV, envCORS, envIP],
    ['acl: environment without settings → none', 'acl', FULL, GROUP, {}, undefined, undefined],
    ['acl: partial environment', 'acl', FULL, GROUP, { cors: envCORS }, envCORS, undefined],
    ['api: proxy wins', 'api', FULL, GROUP, ENV, proxyCORS, proxyIP],
    ['api: group when proxy has none', 'api', {}, GROUP, ENV, groupCORS, groupIP],
    ['api: never the environment token settings', 'api', {}, {}, ENV, undefined, undefined],
    ['api: no proxy, no group', 'api', undefined, undefined, ENV, undefined, undefined],
    ['api: each setting resolved on its own', 'api', { clientIP: proxyIP }, { cors: groupCORS }, ENV, groupCORS, proxyIP],
  ])('%s', (_name, mode, proxy, group, environment, cors, clientIP) => {
    expect(resolveEdgeSettings({ mode, proxy, group, environment })).toEqual({ cors, clientIP })
  })

  it('returns values as given, so handlers can be resolved too', () => {
    const handler = { kind: 'compiled' }
    expect(resolveEdgeSettings<typeof handler, string>({ mode: 'policy', proxy: { cors: handler }, environment: { clientIP: 'env' } })).toEqual({ cors: handler, clientIP: 'env' })
  })

  it.each(['ACL', 'proxy', undefined, 'toString'])('refuses mode %j', (mode) => {
    expect(() => resolveEdgeSettings({ mode: mode as EdgeSettingsMode, environment: {} })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: '"mode" must be one of "policy", "acl", "api"' }),
    )
  })
})
