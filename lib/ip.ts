/**
 * IP addresses and interface names, as the display hvparams and the host facts give them. Only
 * their shape is read: which interface has which address is the host's to say.
 *
 * @since 0.2.0
 */

const V4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const V4 = new RegExp(`^${V4_OCTET}(\\.${V4_OCTET}){3}$`)
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/

/**
 * Whether `s` is a dotted-quad IPv4 address (`192.0.2.1`; no leading zeros, which some parsers
 * read as octal).
 *
 * @since 0.2.0
 */
export const isIpv4 = (s: string): boolean => V4.test(s)

const groupsOf = (part: string): ReadonlyArray<string> | undefined => {
  if (part === '') return []
  const groups = part.split(':')
  const last = groups[groups.length - 1] ?? ''
  // An embedded IPv4 address (`::ffff:192.0.2.1`) stands for two groups.
  const tail = isIpv4(last) ? ['0', '0'] : [last]
  const all = [...groups.slice(0, -1), ...tail]
  return all.every((g) => HEX_GROUP.test(g)) ? all : undefined
}

/**
 * Whether `s` is an IPv6 address in text form (RFC 4291 §2.2, without a zone index), as QEMU's
 * `getaddrinfo` reads it.
 *
 * @since 0.2.0
 */
export const isIpv6 = (s: string): boolean => {
  const halves = s.split('::')
  if (halves.length > 2) return false
  const [head = '', tail] = halves
  if (tail === undefined) return groupsOf(head)?.length === 8
  // Only the last part may end in an IPv4 address.
  if (isIpv4(head.split(':').pop() ?? '')) return false
  const a = groupsOf(head)
  const b = groupsOf(tail)
  return a !== undefined && b !== undefined && a.length + b.length <= 7
}

/**
 * The family of an IP address: 4, 6, or `undefined` when `s` is neither.
 *
 * @since 0.2.0
 */
export const ipFamily = (s: string): 4 | 6 | undefined => (isIpv4(s) ? 4 : isIpv6(s) ? 6 : undefined)

/**
 * Whether `s` can name a Linux network interface (at most 15 bytes, no `/`, `:` or blanks) and
 * cannot be mistaken for a malformed IPv4 address (it has a character besides digits and dots).
 *
 * @since 0.2.0
 */
export const isInterfaceName = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s) && !/^[0-9.]*$/.test(s)
