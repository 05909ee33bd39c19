import { describe, expect, it } from 'vitest'
import { appendForwardedFor, clientIPSettingsSchema, createClientIPResolver } from '../../../src/server/http/client-ip.js'
import type { ClientIPSettings } from '../../../src/server/http/client-ip.js'

type HeaderList = Array<[string, string]>

function request(headers: HeaderList = []): Request {
  const h = new Headers()
  for (const [name, value] of headers) h.append(name, value)
  return new Request('https://gw.example.com/auth/token', { method: 'POST', headers: h })
}

const PEER = '198.51.100.1'
const LB = '10.0.0.5'

describe('position mode', () => {
  const chain = '203.0.113.1, 203.0.113.2, 203.0.113.3, 203.0.113.4, 203.0.113.5, 203.0.113.6'
  it.each<[ClientIPSettings['position'], string]>([
    [undefined, '203.0.113.1'],
    ['first', '203.0.113.1'],
    ['second', '203.0.113.2'],
    ['third', '203.0.113.3'],
    ['fourth', '203.0.113.4'],
    ['fifth', '203.0.113.5'],
    ['last', '203.0.113.6'],
  ])('position %s → %s', (position, expected) => {
    const resolve = createClientIPResolver(position ? { position } : {})
    expect(resolve(request([['x-forwarded-for', chain]]), PEER)).toBe(expected)
  })

  it.each<[string, ClientIPSettings, HeaderList, string | undefined, string | undefined]>([
    ['no header → peer', {}, [], PEER, PEER],
    ['no header, no peer → undefined', {}, [], undefined, undefined],
    ['empty header → peer', {}, [['x-forwarded-for', '']], PEER, PEER],
    ['only commas → peer', {}, [['x-forwarded-for', ' , ,']], PEER, PEER],
    ['list shorter than position → peer', { position: 'third' }, [['x-forwarded-for', '203.0.113.1, 10.0.0.1']], PEER, PEER],
    ['selected entry malformed → peer', {}, [['x-forwarded-for', 'not-an-ip, 203.0.113.9']], PEER, PEER],
    ['malformed entry elsewhere is ignored', { position: 'last' }, [['x-forwarded-for', 'not-an-ip, 203.0.113.9']], PEER, '203.0.113.9'],
    ['entry with port', {}, [['x-forwarded-for', '203.0.113.7:4711']], PEER, '203.0.113.7'],
    ['bracketed IPv6 with port', {}, [['x-forwarded-for', '[2001:DB8::7]:443']], PEER, '2001:db8::7'],
    ['bracketed IPv6 without port', {}, [['x-forwarded-for', '[2001:db8::7]']], PEER, '2001:db8::7'],
    ['bare IPv6 is lowercased and compressed', {}, [['x-forwarded-for', '2001:DB8:0:0:0:0:0:7']], PEER, '2001:db8::7'],
    ['IPv4-mapped IPv6 → IPv4', {}, [['x-forwarded-for', '::ffff:203.0.113.8']], PEER, '203.0.113.8'],
    ['zone id removed', {}, [['x-forwarded-for', 'fe80::1%eth0']], PEER, 'fe80::1'],
    ['bracketed zone id (%25) removed', {}, [['x-forwarded-for', '[fe80::1%25eth0]:80']], PEER, 'fe80::1'],
    ['IPv4 with bad port → peer', {}, [['x-forwarded-for', '203.0.113.7:http']], PEER, PEER],
    ['bracketed IPv4 → peer', {}, [['x-forwarded-for', '[203.0.113.7]']], PEER, PEER],
    ['unterminated bracket → peer', {}, [['x-forwarded-for', '[2001:db8::7']], PEER, PEER],
    ['hostname → peer', {}, [['x-forwarded-for', 'client.example.com']], PEER, PEER],
    ['junk → peer', {}, [['x-forwarded-for', '"<script>']], PEER, PEER],
    ['two header lines combine as one list', { position: 'second' }, [['x-forwarded-for', '203.0.113.1'], ['x-forwarded-for', '203.0.113.2']], PEER, '203.0.113.2'],
    ['header name is case-insensitive', { header: 'X-Real-IP' }, [['x-real-ip', '203.0.113.10']], PEER, '203.0.113.10'],
    ['x-real-ip', { header: 'x-real-ip' }, [['x-real-ip', '203.0.113.10'], ['x-forwarded-for', '203.0.113.11']], PEER, '203.0.113.10'],
    ['custom header (cf-connecting-ip)', { header: 'cf-connecting-ip' }, [['cf-connecting-ip', '2001:db8::cf']], PEER, '2001:db8::cf'],
    ['other header configured → XFF ignored', { header: 'x-real-ip' }, [['x-forwarded-for', '203.0.113.11']], PEER, PEER],
    ['disabled → peer', { enabled: false }, [['x-forwarded-for', '203.0.113.11']], PEER, PEER],
    ['peer is normalised', { enabled: false }, [], '::ffff:198.51.100.1', PEER],
    ['non-IP peer is returned as given', { enabled: false }, [], 'unix:/run/gw.sock', 'unix:/run/gw.sock'],
  ])('%s', (_name, settings, headers, peer, expected) => {
    expect(createClientIPResolver(settings)(request(headers), peer)).toBe(expected)
  })

  it('without settings the header is never read', () => {
    expect(createClientIPResolver()(request([['x-forwarded-for', '203.0.113.1']]), PEER)).toBe(PEER)
  })
})

describe('trusted mode', () => {
  const resolve = createClientIPResolver({ trustedProxies: ['10.0.0.0/8', '192.0.2.1', 'fd00::/8', '2001:db8:ffff::1'] })

  it.each<[string, HeaderList, string | undefined, string | undefined]>([
    ['untrusted peer sending XFF gets its own address (spoofing)', [['x-forwarded-for', '10.0.0.1']], PEER, PEER],
    ['untrusted peer spoofing a whole chain', [['x-forwarded-for', '203.0.113.50, 10.0.0.1, 10.0.0.2']], PEER, PEER],
    ['untrusted IPv6 peer', [['x-forwarded-for', '203.0.113.50']], '2001:db8::99', '2001:db8::99'],
    ['unknown peer → undefined', [['x-forwarded-for', '203.0.113.50']], undefined, undefined],
    ['trusted peer, single entry', [['x-forwarded-for', '203.0.113.50']], LB, '203.0.113.50'],
    ['trusted peer, no header → peer', [], LB, LB],
    ['walks right to left past trusted hops', [['x-forwarded-for', '203.0.113.50, 10.1.1.1, 192.0.2.1']], LB, '203.0.113.50'],
    ['client-supplied prefix is ignored', [['x-forwarded-for', '1.1.1.1, 203.0.113.50, 10.1.1.1']], LB, '203.0.113.50'],
    ['spoofed trusted-looking prefix is skipped only while contiguous', [['x-forwarded-for', '10.9.9.9, 203.0.113.50, 10.1.1.1']], LB, '203.0.113.50'],
    ['all entries trusted → left-most', [['x-forwarded-for', '10.1.1.1, 10.2.2.2']], LB, '10.1.1.1'],
    ['IPv6 trusted hop (CIDR)', [['x-forwarded-for', '2001:db8::50, fd12::1']], 'fd00::2', '2001:db8::50'],
    ['IPv6 trusted hop (single address, non-canonical spelling)', [['x-forwarded-for', '203.0.113.50, 2001:DB8:FFFF:0:0:0:0:1']], LB, '203.0.113.50'],
    ['IPv4-mapped peer is trusted', [['x-forwarded-for', '203.0.113.50']], '::ffff:10.0.0.5', '203.0.113.50'],
    ['IPv4-mapped entry is trusted', [['x-forwarded-for', '203.0.113.50, ::ffff:10.3.3.3']], LB, '203.0.113.50'],
    ['entries with ports', [['x-forwarded-for', '203.0.113.50:51234, 10.1.1.1:80']], LB, '203.0.113.50'],
    ['malformed entry on the walk → undefined (never a proxy address)', [['x-forwarded-for', '203.0.113.50, garbage, 10.1.1.1']], LB, undefined],
    ['malformed entry left of the client is never reached', [['x-forwarded-for', 'garbage, 203.0.113.50, 10.1.1.1']], LB, '203.0.113.50'],
    ['two header lines: client line then proxy line', [['x-forwarded-for', '1.1.1.1'], ['x-forwarded-for', '203.0.113.50']], LB, '203.0.113.50'],
  ])('%s', (_name, headers, peer, expected) => {
    expect(resolve(request(headers), peer)).toBe(expected)
  })

  it('resolve() returns the trusted chain', () => {
    expect(resolve.resolve(request([['x-forwarded-for', '1.1.1.1, 203.0.113.50, 10.1.1.1']]), LB)).toEqual({
      clientIP: '203.0.113.50',
      trustedChain: ['203.0.113.50', '10.1.1.1'],
    })
    expect(resolve.resolve(request([['x-forwarded-for', '10.1.1.1, 10.2.2.2']]), LB)).toEqual({ clientIP: '10.1.1.1', trustedChain: ['10.1.1.1', '10.2.2.2'] })
    expect(resolve.resolve(request([['x-forwarded-for', '1.1.1.1']]), PEER)).toEqual({ clientIP: PEER, trustedChain: [] })
    expect(resolve.resolve(request([['x-forwarded-for', '1.1.1.1, garbage']]), LB)).toEqual({ clientIP: undefined, trustedChain: [] })
  })

  it('trusted X-Real-IP', () => {
    const realIP = createClientIPResolver({ header: 'x-real-ip', trustedProxies: ['10.0.0.0/8'] })
    expect(realIP(request([['x-real-ip', '203.0.113.60']]), LB)).toBe('203.0.113.60')
    expect(realIP(request([['x-real-ip', '203.0.113.60']]), PEER)).toBe(PEER)
  })

  it('an empty trusted list trusts nobody', () => {
    const none = createClientIPResolver({ trustedProxies: [] })
    expect(none(request([['x-forwarded-for', '203.0.113.60']]), LB)).toBe(LB)
  })
})

describe('RFC 7239 Forwarded', () => {
  const position = createClientIPResolver({ header: 'Forwarded' })
  const last = createClientIPResolver({ header: 'forwarded', position: 'last' })
  const trusted = createClientIPResolver({ header: 'forwarded', trustedProxies: ['10.0.0.0/8', '203.0.113.43'] })

  it.each<[string, HeaderList, string | undefined]>([
    // RFC 7239 §4 examples
    ['§4 for="_gazonk" (obfuscated) → peer', [['forwarded', 'for="_gazonk"']], PEER],
    ['§4 For="[2001:db8:cafe::17]:4711"', [['forwarded', 'For="[2001:db8:cafe::17]:4711"']], '2001:db8:cafe::17'],
    ['§4 for=192.0.2.60;proto=http;by=203.0.113.43', [['forwarded', 'for=192.0.2.60;proto=http;by=203.0.113.43']], '192.0.2.60'],
    ['§4 for=192.0.2.43, for=198.51.100.17 (first)', [['forwarded', 'for=192.0.2.43, for=198.51.100.17']], '192.0.2.43'],
    // RFC 7239 §6 node forms
    ['§6 obfuscated node', [['forwarded', 'for=_hidden']], PEER],
    ['§6 unknown node', [['forwarded', 'for=unknown']], PEER],
    ['§6 quoted IPv4 with port', [['forwarded', 'for="192.0.2.43:80"']], '192.0.2.43'],
    ['§6 obfuscated port', [['forwarded', 'for="[2001:db8::1]:_port"']], '2001:db8::1'],
    ['lenient unquoted v4:port', [['forwarded', 'for=192.0.2.43:80']], '192.0.2.43'],
    ['lenient unquoted bracketed v6', [['forwarded', 'for=[2001:db8::2]']], '2001:db8::2'],
    // §7.1 / §7.4 style: multiple headers, ordering, parameter names
    ['separate header lines combine', [['forwarded', 'for=192.0.2.43'], ['forwarded', 'for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com']], '192.0.2.43'],
    ['case-insensitive parameter names', [['forwarded', 'FOR=192.0.2.43;PROTO=https']], '192.0.2.43'],
    ['quoted-string escapes', [['forwarded', 'for="\\192.0.2.43"']], '192.0.2.43'],
    ['whitespace around pairs', [['forwarded', '  for=192.0.2.43 ; proto=https ,  for=198.51.100.17 ']], '192.0.2.43'],
    ['element without for → peer', [['forwarded', 'proto=https;by=203.0.113.43']], PEER],
    ['duplicate parameter → element unusable', [['forwarded', 'for=192.0.2.1;for=192.0.2.2']], PEER],
    ['unterminated quote → peer', [['forwarded', 'for="192.0.2.43']], PEER],
    ['missing = → peer', [['forwarded', 'for']], PEER],
    ['empty value → peer', [['forwarded', 'for=']], PEER],
    ['garbage → peer', [['forwarded', ';;;,,,"""']], PEER],
    ['comma inside quoted string is not a separator', [['forwarded', 'for="192.0.2.43, 10.0.0.1"']], PEER],
  ])('position first: %s', (_name, headers, expected) => {
    expect(position(request(headers), PEER)).toBe(expected)
  })

  // RFC 7239 §7.1: these three forms are equivalent.
  const section71: Array<[string, HeaderList]> = [
    ['one line', [['forwarded', 'for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown']]],
    ['one line with spaces', [['forwarded', 'for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown']]],
    ['three lines', [['forwarded', 'for=192.0.2.43'], ['forwarded', 'for="[2001:db8:cafe::17]", for=unknown']]],
  ]
  it.each(section71)('§7.1 %s', (_name, headers) => {
    expect(position(request(headers), PEER)).toBe('192.0.2.43')
    expect(createClientIPResolver({ header: 'forwarded', position: 'second' })(request(headers), PEER)).toBe('2001:db8:cafe::17')
    expect(last(request(headers), PEER)).toBe(PEER)
    expect(trusted(request(headers), LB)).toBeUndefined()
  })

  it('quoted-string with comma, quote and backslash spoils only its element', () => {
    const headers: HeaderList = [['forwarded', 'for=192.0.2.43,for="this is a valid quoted-string, \\" \\\\",for=198.51.100.17']]
    expect(createClientIPResolver({ header: 'forwarded', position: 'third' })(request(headers), PEER)).toBe('198.51.100.17')
    expect(createClientIPResolver({ header: 'forwarded', position: 'second' })(request(headers), PEER)).toBe(PEER)
  })

  it.each<[string, HeaderList, string | undefined]>([
    ['§4 for=192.0.2.43, for=198.51.100.17 (last)', [['forwarded', 'for=192.0.2.43, for=198.51.100.17']], '198.51.100.17'],
    ['syntax error spoils only its element', [['forwarded', 'for="broken, for=192.0.2.44']], '192.0.2.44'],
  ])('position last: %s', (_name, headers, expected) => {
    expect(last(request(headers), PEER)).toBe(expected)
  })

  it.each<[string, HeaderList, string | undefined, string | undefined]>([
    ['§4 chain behind a trusted proxy', [['forwarded', 'for=192.0.2.43, for=198.51.100.17;by=203.0.113.43']], LB, '198.51.100.17'],
    ['trusted hop inside the chain is skipped', [['forwarded', 'for=192.0.2.43, for=203.0.113.43']], LB, '192.0.2.43'],
    ['untrusted peer → peer', [['forwarded', 'for=192.0.2.43']], PEER, PEER],
    ['trusted hop hiding the client → undefined', [['forwarded', 'for=192.0.2.9, for=_gazonk']], LB, undefined],
    ['trusted hop sending unknown → undefined', [['forwarded', 'for=unknown']], LB, undefined],
    ['client unterminated quote cannot swallow the proxy element', [['forwarded', 'for="1.1.1.1'], ['forwarded', 'for=192.0.2.50']], LB, '192.0.2.50'],
    ['client-sent spoof on the left is ignored', [['forwarded', 'for=10.0.0.9, for=192.0.2.50, for=10.0.0.8']], LB, '192.0.2.50'],
  ])('trusted: %s', (_name, headers, peer, expected) => {
    expect(trusted(request(headers), peer)).toBe(expected)
  })
})

describe('settings', () => {
  it('applies defaults', () => {
    expect(clientIPSettingsSchema.parse({})).toEqual({ enabled: true, header: 'x-forwarded-for' })
    expect(clientIPSettingsSchema.parse({ header: 'X-Real-IP', position: 'last' })).toEqual({ enabled: true, header: 'x-real-ip', position: 'last' })
  })

  it.each<[string, unknown, string]>([
    ['bad CIDR', { trustedProxies: ['10.0.0.0/8', '10.0.0.0/33'] }, 'invalid client IP settings: trustedProxies.1: "10.0.0.0/33" is not an IP address or CIDR block'],
    ['hostname in trusted list', { trustedProxies: ['lb.internal'] }, 'invalid client IP settings: trustedProxies.0: "lb.internal" is not an IP address or CIDR block'],
    ['bad header name', { header: 'x forwarded' }, 'invalid client IP settings: header: must be an HTTP header name such as "x-forwarded-for"'],
    ['bad position', { position: 'sixth' }, 'invalid client IP settings: position: must be one of "first", "second", "third", "fourth", "fifth", "last"'],
    [
      'position with trusted list',
      { position: 'last', trustedProxies: ['10.0.0.0/8'] },
      'invalid client IP settings: position: "position" cannot be combined with "trustedProxies" (trusted mode walks the list right to left)',
    ],
  ])('refuses %s', (_name, settings, message) => {
    expect(() => createClientIPResolver(settings as ClientIPSettings)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG', message }))
  })

  it('refuses unknown keys', () => {
    expect(() => createClientIPResolver({ trustedProxy: ['10.0.0.1'] } as unknown as ClientIPSettings)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }))
  })
})

describe('appendForwardedFor', () => {
  it.each<[string, HeadersInit, string | undefined, string[], string | null]>([
    ['appends the peer to the trusted chain', { 'x-forwarded-for': '1.1.1.1, 203.0.113.50, 10.1.1.1' }, LB, ['203.0.113.50', '10.1.1.1'], '203.0.113.50, 10.1.1.1, 10.0.0.5'],
    ['drops an untrusted chain', { 'x-forwarded-for': 'spoofed' }, PEER, [], PEER],
    ['normalises the peer', {}, '::ffff:198.51.100.1', [], PEER],
    ['no peer, no chain → header removed', { 'x-forwarded-for': 'spoofed' }, undefined, [], null],
  ])('%s', (_name, headers, peer, chain, expected) => {
    const out = appendForwardedFor(headers, peer, chain)
    expect(out.get('x-forwarded-for')).toBe(expected)
  })

  it('copies, keeping other headers and leaving the input alone', () => {
    const input = new Headers({ 'x-forwarded-for': 'spoofed', authorization: 'Bearer x' })
    const out = appendForwardedFor(input, PEER, [])
    expect(out.get('authorization')).toBe('Bearer x')
    expect(input.get('x-forwarded-for')).toBe('spoofed')
  })

  it('works on immutable request headers with the resolver output', () => {
    const resolver = createClientIPResolver({ trustedProxies: ['10.0.0.0/8'] })
    const req = request([['x-forwarded-for', '6.6.6.6, 203.0.113.50']])
    const { trustedChain } = resolver.resolve(req, LB)
    expect(appendForwardedFor(req.headers, LB, trustedChain).get('x-forwarded-for')).toBe('203.0.113.50, 10.0.0.5')
  })
})

describe('robustness', () => {
  // Deterministic pseudo-random header values built from the characters that matter to the parsers.
  const ALPHABET = ['1', '9', '0', '.', ':', '[', ']', '"', '\\', ',', ';', '=', ' ', 'f', 'for', '_x', 'unknown', '%', 'ffff', '::', '10.0.0.1', '2001:db8::1']
  let seed = 7
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648)
  const values = Array.from({ length: 500 }, () => Array.from({ length: 1 + (next() % 24) }, () => ALPHABET[next() % ALPHABET.length]).join(''))
  const resolvers = [
    createClientIPResolver({}),
    createClientIPResolver({ position: 'last' }),
    createClientIPResolver({ header: 'forwarded' }),
    createClientIPResolver({ header: 'forwarded', trustedProxies: ['10.0.0.0/8', '2001:db8::/32'] }),
    createClientIPResolver({ trustedProxies: ['10.0.0.0/8', '2001:db8::/32'] }),
  ]

  it('never throws, and returns the peer, undefined or a canonical address', () => {
    for (const value of values) {
      for (const resolve of resolvers) {
        const req = request([
          ['x-forwarded-for', value],
          ['forwarded', value],
        ])
        const result = resolve(req, LB)
        if (result !== undefined && result !== LB) expect(result).toMatch(/^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)$/)
        expect(() => resolve.resolve(req, value)).not.toThrow()
      }
    }
  })
})
