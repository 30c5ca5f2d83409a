/**
 * Device ids and block node-names. QEMU accepts an id that starts with a letter and uses only
 * letters, digits, `.`, `_`, `-`; block node-names live in a 32-byte buffer, so 31 characters at
 * most. One id names a device, its top block node and its netdev, so every id must be a valid
 * node-name too.
 *
 * @since 0.1.0
 */

/**
 * QEMU's grammar for device ids and node-names, at most 31 characters so that an id fits as a
 * node-name too. Ids read from runtime files are checked against it before reaching a command line.
 *
 * @since 0.1.0
 */
export const ID_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,30}$/

/**
 * Whether QEMU accepts `id` both as a device id and as a node-name, as it must: one id names a
 * device, its top block node and its netdev.
 *
 * @since 0.1.0
 */
export const isValidId = (id: string): boolean => ID_PATTERN.test(id)

/**
 * The kinds that get uuid-derived ids.
 *
 * @since 0.1.0
 */
export type IdKind = 'disk' | 'nic'

/**
 * Ganeti's `_GenerateDeviceKVMId`: `<kind>-` plus the uuid without its last two `-` groups
 * (`uuid.rsplit("-", 2)[0]`), e.g. `932df160-7a22-4067-a566-7e0ca8386133` →
 * `disk-932df160-7a22-4067`. Kept byte for byte so ids match instances Ganeti started.
 *
 * @since 0.1.0
 */
export const deviceId = (kind: IdKind, uuid: string): string => {
  // Found by index, not split and joined: a decode asks it of every disk and NIC, and the
  // arrays cost five times the rest.
  const last = uuid.lastIndexOf('-')
  const cut = last > 0 ? uuid.lastIndexOf('-', last - 1) : -1
  // Two `-` or more: up to the second last; fewer: up to the first (all of it without one).
  return `${kind}-${cut >= 0 ? uuid.slice(0, cut) : firstGroup(uuid)}`
}

/**
 * Ganeti's id before hvinfo existed: `hot<kind>-<first uuid group>-pci-<slot>`.
 *
 * @since 0.1.0
 */
export const legacyDeviceId = (kind: IdKind, uuid: string, slot: number): string =>
  `hot${kind}-${firstGroup(uuid)}-pci-${slot}`

/** What comes before the first `-` (all of it without one): `uuid.split('-')[0]`, without the array. */
const firstGroup = (uuid: string): string => {
  const dash = uuid.indexOf('-')
  return dash < 0 ? uuid : uuid.slice(0, dash)
}

/**
 * The node-name of the protocol node under a format node.
 *
 * @since 0.1.0
 */
export const protocolNodeName = (formatNode: string): string => `${formatNode}-file`

/**
 * The node-name of the n-th (1-based) image of a backing chain below a device's top node.
 *
 * @since 0.1.0
 */
export const backingNodeName = (top: string, depth: number): string => `${top}-b${depth}`
