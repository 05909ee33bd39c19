/**
 * IPv4/IPv6 address parsing and CIDR matching on plain strings (no Node `net` module).
 *
 * Addresses are normalised the same way everywhere: IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
 * become IPv4, zone ids (`%eth0`) are dropped and IPv6 is written in RFC 5952 form (lowercase,
 * longest run of zero groups compressed).
 *
 * @module
 */
import { invalidArgument } from '../../shared/lib/args.js'

/**
 * A parsed IP address, as returned by {@link parseIP}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Branch on the family
 *
 * ```ts
 * import { parseIP } from 'gatepass/server'
 *
 * const ip = parseIP('2001:db8::1')
 * if (ip?.version === 6) console.log(ip.address, ip.bytes.length) // '2001:db8::1' 16
 * ```
 *
 * @group Client IP
 */
export interface ParsedIP {
  /** Address family after normalisation (an IPv4-mapped IPv6 address is reported as `4`). */
  version: 4 | 6
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  bytes: Uint8Array
  /** Canonical text form: dotted quad, or RFC 5952 IPv6 without a zone id. */
  address: string
}

/**
 * A parsed CIDR block (a bare address is a block of one), as returned by {@link parseCIDR}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Read the prefix length
 *
 * ```ts
 * import { parseCIDR } from 'gatepass/server'
 *
 * parseCIDR('2001:db8::/32')?.prefix // 32
 * ```
 *
 * @group Client IP
 */
export interface ParsedCIDR {
  /** Address family of the block. */
  version: 4 | 6
  /** Network-order bytes of the network address (host bits cleared). */
  bytes: Uint8Array
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  prefix: number
}

/**
 * A predicate telling whether an address belongs to a precompiled allow-list; see {@link createIPMatcher}.
 *
 * Available from `'gatepass/server'`.
 *
 * @example Keep a matcher per credential
 *
 * ```ts
 * import { createIPMatcher, type IPMatcher } from 'gatepass/server'
 *
 * const allowLists = new Map<string, IPMatcher>([['client-a', createIPMatcher(['192.0.2.0/24'])]])
 * allowLists.get('client-a')?.('192.0.2.10') // true
 * ```
 *
 * @group Client IP
 */
export type IPMatcher = (ip: string) => boolean

const DECIMAL_OCTET = /^(?:0|[1-9]\d{0,2})$/
const HEX_GROUP = /^[0-9a-f]{1,4}$/
const ZONE = /^[0-9A-Za-z._~-]+$/
const PREFIX = /^(?:0|[1-9]\d{0,2})$/

function parseIPv4Bytes(input: string): Uint8Array | undefined {
  const parts = input.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    // Leading zeros are refused: `010` is octal to some parsers and decimal to others.
    if (!DECIMAL_OCTET.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    bytes[i] = n
  }
  return bytes
}

function parseGroups(part: string, allowIPv4Tail: boolean): number[] | undefined {
  if (part === '') return []
  const pieces = part.split(':')
  const words: number[] = []
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!
    if (allowIPv4Tail && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIPv4Bytes(piece)
      if (!v4) return undefined
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else {
      if (!HEX_GROUP.test(piece)) return undefined
      words.push(parseInt(piece, 16))
    }
  }
  return words
}

function parseIPv6Bytes(input: string): Uint8Array | undefined {
  let s = input
  const percent = s.indexOf('%')
  if (percent !== -1) {
    if (!ZONE.test(s.slice(percent + 1))) return undefined
    s = s.slice(0, percent)
  }
  s = s.toLowerCase()
  if (!/^[0-9a-f:.]+$/.test(s)) return undefined
  const gap = s.indexOf('::')
  let words: number[]
  if (gap === -1) {
    const all = parseGroups(s, true)
    if (!all || all.length !== 8) return undefined
    words = all
  } else {
    if (s.indexOf('::', gap + 1) !== -1) return undefined
    const head = parseGroups(s.slice(0, gap), false)
    const tail = parseGroups(s.slice(gap + 2), true)
    if (!head || !tail || head.length + tail.length > 7) return undefined
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  }
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    bytes[i * 2] = words[i]! >> 8
    bytes[i * 2 + 1] = words[i]! & 0xff
  }
  return bytes
}

function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((bytes[i * 2]! << 8) | bytes[i * 2 + 1]!)
  // RFC 5952 §4.2: compress the longest run (first on a tie) of two or more zero groups.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = words.map((w) => w.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/**
 * Parses an IPv4 or IPv6 address (no brackets, no port) into bytes and a canonical string.
 *
 * IPv4 must be a dotted quad without leading zeros. IPv6 may use `::` compression, an embedded
 * IPv4 tail and a zone id (`fe80::1%eth0`, dropped). IPv4-mapped IPv6 addresses are returned as IPv4.
 *
 * Available from `'gatepass/server'`.
 *
 * @param input Candidate address.
 * @returns The parsed address, or `undefined` when `input` is not an IP address.
 * @example Normalise an address
 *
 * ```ts
 * import { parseIP } from 'gatepass/server'
 *
 * parseIP('::FFFF:192.0.2.1')?.address // '192.0.2.1'
 * parseIP('2001:DB8:0:0:0:0:0:1')?.address // '2001:db8::1'
 * parseIP('192.0.2.256') // undefined
 * ```
 *
 * @group Client IP
 */
export function parseIP(input: string): ParsedIP | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > 100) return undefined
  if (!input.includes(':')) {
    const bytes = parseIPv4Bytes(input)
    return bytes && { version: 4, bytes, address: bytes.join('.') }
  }
  const bytes = parseIPv6Bytes(input)
  if (!bytes) return undefined
  if (isIPv4Mapped(bytes)) {
    const v4 = bytes.slice(12)
    return { version: 4, bytes: v4, address: v4.join('.') }
  }
  return { version: 6, bytes, address: formatIPv6(bytes) }
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8))
    out[i] = bits === 0 ? 0 : bytes[i]! & ((0xff << (8 - bits)) & 0xff)
  }
  return out
}

/**
 * Parses a CIDR block such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a full-length block.
 *
 * Host bits below the prefix are cleared (`10.1.2.3/8` is `10.0.0.0/8`). An IPv4-mapped IPv6 block
 * with a prefix of 96 or more (`::ffff:10.0.0.0/104`) is turned into the IPv4 block it covers.
 *
 * Available from `'gatepass/server'`.
 *
 * @param input Candidate block.
 * @returns The parsed block, or `undefined` when `input` is neither a CIDR block nor an address.
 * @example Validate a trusted-proxy entry
 *
 * ```ts
 * import { parseCIDR } from 'gatepass/server'
 *
 * parseCIDR('10.0.0.0/8') // { version: 4, bytes: Uint8Array [10, 0, 0, 0], prefix: 8 }
 * parseCIDR('10.0.0.0/33') // undefined
 * ```
 *
 * @group Client IP
 */
export function parseCIDR(input: string): ParsedCIDR | undefined {
  if (typeof input !== 'string') return undefined
  const slash = input.indexOf('/')
  const addressPart = slash === -1 ? input : input.slice(0, slash)
  if (addressPart.includes('%')) return undefined
  const ip = parseIP(addressPart)
  if (!ip) return undefined
  const max = ip.version === 4 ? 32 : 128
  let prefix = max
  if (slash !== -1) {
    const text = input.slice(slash + 1)
    if (!PREFIX.test(text)) return undefined
    prefix = Number(text)
    // parseIP folded a mapped address to IPv4: the prefix was written against 128 bits.
    if (ip.version === 4 && addressPart.includes(':')) {
      if (prefix > 128) return undefined
      if (prefix < 96) {
        const bytes = parseIPv6Bytes(addressPart)!
        return { version: 6, bytes: maskBytes(bytes, prefix), prefix }
      }
      prefix -= 96
    }
    if (prefix > max) return undefined
  }
  return { version: ip.version, bytes: maskBytes(ip.bytes, prefix), prefix }
}

function contains(block: ParsedCIDR, ip: ParsedIP): boolean {
  if (block.version !== ip.version) return false
  const full = block.prefix >> 3
  for (let i = 0; i < full; i++) if (block.bytes[i] !== ip.bytes[i]) return false
  const rest = block.prefix & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (ip.bytes[full]! & mask) === block.bytes[full]
}

/**
 * Whether an address lies inside a CIDR block (or equals a bare address).
 *
 * Families never mix: `0.0.0.0/0` matches every IPv4 address, `::/0` every IPv6 address; an
 * IPv4-mapped IPv6 address counts as IPv4.
 *
 * Available from `'gatepass/server'`.
 *
 * @param ip Address to test.
 * @param cidr Block such as `192.0.2.0/24`, `2001:db8::/32` or a bare address.
 * @returns `true` when `ip` is inside `cidr`; `false` when it is not or either value is invalid.
 * @example Check one address
 *
 * ```ts
 * import { ipInCIDR } from 'gatepass/server'
 *
 * ipInCIDR('192.0.2.77', '192.0.2.0/24') // true
 * ipInCIDR('::ffff:10.1.2.3', '10.0.0.0/8') // true
 * ipInCIDR('2001:db8::1', '10.0.0.0/8') // false
 * ```
 *
 * @group Client IP
 */
export function ipInCIDR(ip: string, cidr: string): boolean {
  const address = parseIP(ip)
  const block = parseCIDR(cidr)
  return address !== undefined && block !== undefined && contains(block, address)
}

/**
 * Precompiles a list of addresses and CIDR blocks into a fast membership test.
 *
 * The list is validated up front; the returned predicate never throws and answers `false` for
 * anything that is not an IP address.
 *
 * Available from `'gatepass/server'`.
 *
 * @param list Addresses and CIDR blocks, IPv4 and IPv6 mixed.
 * @returns A predicate; pass it resolved client addresses (see {@link createClientIPResolver}).
 * @throws `TypeError` with code `ERR_INVALID_ARG_VALUE` naming the first invalid entry.
 * @example Allow-list a credential
 *
 * ```ts
 * import { createIPMatcher } from 'gatepass/server'
 *
 * const allowed = createIPMatcher(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'])
 * allowed('10.20.30.40') // true
 * allowed('192.0.2.8') // false
 * ```
 *
 * @group Client IP
 */
export function createIPMatcher(list: readonly string[]): IPMatcher {
  if (!Array.isArray(list)) throw invalidArgument('"list" must be an array of IP addresses or CIDR blocks', 'ERR_INVALID_ARG_TYPE')
  const blocks: ParsedCIDR[] = list.map((entry, index) => {
    const block = parseCIDR(entry)
    if (!block) throw invalidArgument(`"list[${index}]" must be an IP address or CIDR block, got ${JSON.stringify(entry)}`)
    return block
  })
  return function matchIP(ip: string): boolean {
    const address = parseIP(ip)
    if (!address) return false
    for (const block of blocks) if (contains(block, address)) return true
    return false
  }
}
