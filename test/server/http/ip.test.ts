import { describe, expect, it } from 'vitest'
import { createIPMatcher, ipInCIDR, parseCIDR, parseIP } from '../../../src/server/http/ip.js'

describe('parseIP', () => {
  it.each([
    ['192.0.2.1', 4, '192.0.2.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['2001:DB8:0:0:0:0:0:1', 6, '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', 6, '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:0', 6, '2001:db8:0:0:1::'],
    ['2001:db8:1:1:1:1:1:0', 6, '2001:db8:1:1:1:1:1:0'],
    ['2001:db8::1:0:0:1', 6, '2001:db8::1:0:0:1'],
    ['1::', 6, '1::'],
    ['fe80::1%eth0', 6, 'fe80::1'],
    ['fe80::1%25', 6, 'fe80::1'],
    ['::ffff:192.0.2.128', 4, '192.0.2.128'],
    ['::FFFF:c000:0280', 4, '192.0.2.128'],
    ['0:0:0:0:0:ffff:192.0.2.1', 4, '192.0.2.1'],
    ['64:ff9b::192.0.2.33', 6, '64:ff9b::c000:221'],
    ['::192.0.2.1', 6, '::c000:201'],
  ])('%s → IPv%d %s', (input, version, address) => {
    expect(parseIP(input)).toMatchObject({ version, address })
  })

  it('returns network-order bytes', () => {
    expect([...parseIP('10.1.2.3')!.bytes]).toEqual([10, 1, 2, 3])
    expect([...parseIP('2001:db8::ff')!.bytes]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff])
  })

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '0x7f.0.0.1',
    '1.2.3.4:80',
    '[::1]',
    ':::',
    '1:::2',
    '::1::',
    '1::2::3',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4::5:6:7:8',
    '12345::',
    'g::1',
    '::1.2.3',
    '1.2.3.4::',
    '::ffff:256.0.0.1',
    'fe80::1%',
    'fe80::1%eth 0',
    'unknown',
    '_hidden',
    'localhost',
  ])('rejects %j', (input) => {
    expect(parseIP(input)).toBeUndefined()
  })

  it('never throws on non-strings', () => {
    expect(parseIP(undefined as unknown as string)).toBeUndefined()
    expect(parseIP(42 as unknown as string)).toBeUndefined()
  })
})

describe('parseCIDR', () => {
  it.each([
    ['10.0.0.0/8', 4, [10, 0, 0, 0], 8],
    ['10.1.2.3/8', 4, [10, 0, 0, 0], 8],
    ['192.0.2.7', 4, [192, 0, 2, 7], 32],
    ['192.0.2.7/32', 4, [192, 0, 2, 7], 32],
    ['0.0.0.0/0', 4, [0, 0, 0, 0], 0],
    ['172.16.0.0/12', 4, [172, 16, 0, 0], 12],
    ['::ffff:10.0.0.0/104', 4, [10, 0, 0, 0], 8],
    ['::ffff:0:0/96', 4, [0, 0, 0, 0], 0],
  ])('%s → IPv%d %j/%d', (input, version, bytes, prefix) => {
    const block = parseCIDR(input)
    expect(block).toMatchObject({ version, prefix })
    expect([...block!.bytes]).toEqual(bytes)
  })

  it.each([
    ['2001:db8::/32', 32],
    ['::/0', 0],
    ['::1/128', 128],
    ['2001:db8::1', 128],
    ['fd00::/8', 8],
  ])('%s is IPv6 /%d', (input, prefix) => {
    expect(parseCIDR(input)).toMatchObject({ version: 6, prefix })
  })

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '10.0.0/8', '::/129', 'fe80::/10%eth0', 'fe80::1%eth0/64', '/8', 'example.com/8', '::ffff:10.0.0.0/129'])(
    'rejects %j',
    (input) => {
      expect(parseCIDR(input)).toBeUndefined()
    },
  )
})

describe('ipInCIDR', () => {
  it.each([
    ['10.255.255.255', '10.0.0.0/8', true],
    ['11.0.0.0', '10.0.0.0/8', false],
    ['9.255.255.255', '10.0.0.0/8', false],
    ['172.31.255.255', '172.16.0.0/12', true],
    ['172.32.0.0', '172.16.0.0/12', false],
    ['192.0.2.7', '192.0.2.7/32', true],
    ['192.0.2.8', '192.0.2.7/32', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['255.255.255.255', '0.0.0.0/0', true],
    ['::1', '0.0.0.0/0', false],
    ['1.2.3.4', '::/0', false],
    ['2001:db8::1', '::/0', true],
    ['2001:db8:ffff::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['2001:db8::1', '2001:db8::1/128', true],
    ['2001:db8::2', '2001:db8::1/128', false],
    ['2001:DB8::1', '2001:db8::/127', true],
    ['fe80::1%eth0', 'fe80::/10', true],
    ['febf::1', 'fe80::/10', true],
    ['fec0::1', 'fe80::/10', false],
    ['::ffff:10.1.2.3', '10.0.0.0/8', true],
    ['10.1.2.3', '::ffff:10.0.0.0/104', true],
    ['192.168.1.1', '::ffff:10.0.0.0/104', false],
    ['not-an-ip', '10.0.0.0/8', false],
    ['10.0.0.1', 'not-a-cidr', false],
  ])('%s in %s → %s', (ip, cidr, expected) => {
    expect(ipInCIDR(ip, cidr)).toBe(expected)
  })
})

describe('createIPMatcher', () => {
  const match = createIPMatcher(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1'])

  it.each([
    ['10.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['2001:db8::abcd', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::2', false],
    ['8.8.8.8', false],
    ['', false],
    ['garbage', false],
  ])('%s → %s', (ip, expected) => {
    expect(match(ip)).toBe(expected)
  })

  it('an empty list matches nothing', () => {
    expect(createIPMatcher([])('10.0.0.1')).toBe(false)
  })

  it('validates the list up front, naming the bad entry', () => {
    expect(() => createIPMatcher(['10.0.0.0/8', '10.0.0.0/40'])).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: '"list[1]" must be an IP address or CIDR block, got "10.0.0.0/40"' }),
    )
    expect(() => createIPMatcher('10.0.0.0/8' as unknown as string[])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }))
  })
})
