/**
 * Ganeti's `hvinfo` ⇄ {@link Placed}: the one codec of the untagged placement dicts a runtime
 * file stores for each disk and NIC, and the only code that reads or writes their keys. Inside
 * the library a place is a tagged {@link Address}.
 *
 * Ganeti stores four forms, told apart by their keys: `driver, id, bus, addr` (PCI),
 * `… channel, scsi-id, lun` (SCSI), `… unit` (IDE, floppy) and `… iobase, irq` (ISA).
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { PCI_SLOTS } from '../bus/pci.js'
import { showPciAddr, type Address, type Placed } from '../bus/address.js'
import type { FieldError } from '../errors.js'
import { ID_PATTERN } from '../ids.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import { child, isJsonObject } from './json.js'
import { isRecord, totalOr } from '../total.js'

/**
 * How a file wrote an hvinfo's keys, kept so that a file written back is the file read:
 * Ganeti's planner writes `driver, id, bus, addr`; its upgrade of a `pci` slot appends `addr`
 * before `bus`.
 *
 * @since 0.2.0
 * @category runtime
 */
export type HvinfoOrder = 'bus-addr' | 'addr-bus'

const VARIANTS: ReadonlyArray<readonly [Address['_tag'], ReadonlyArray<string>]> = [
  ['pci', ['driver', 'id', 'bus', 'addr']],
  ['scsi', ['driver', 'id', 'bus', 'channel', 'scsi-id', 'lun']],
  ['unit', ['driver', 'id', 'bus', 'unit']],
  ['isa', ['driver', 'id', 'bus', 'iobase', 'irq']]
]

const DRIVER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const BUS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
/** Canonical addr, as Ganeti's hex() and the planner write it: slots 0x0–0x1f. */
const ADDR = /^0x(1?[0-9a-f])$/

const err = (path: string, value: unknown, message: string): ReadonlyArray<FieldError> => [{ path, value, message }]

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535

/**
 * A stored hvinfo and the order of its keys: `{}` is "no placement recorded" (`undefined`);
 * anything else must be exactly one of the four forms, with a valid QEMU id and a canonical slot.
 *
 * @since 0.2.0
 * @category runtime
 */
export const decodeHvinfo = (u: Json | undefined, at: string): E.Either<ReadonlyArray<FieldError>, readonly [Placed, HvinfoOrder] | undefined> => {
  const path = typeof at === 'string' ? at : 'hvinfo'
  try {
    return hvinfoOf(u, path)
  } catch (e) {
    // A Proxy or a throwing getter: not JSON data, whatever it claims.
    return E.left(err(path, undefined, `cannot be read as plain JSON data (${e instanceof Error ? e.message : 'it threw'})`))
  }
}

const hvinfoOf = (u: Json | undefined, at: string): E.Either<ReadonlyArray<FieldError>, readonly [Placed, HvinfoOrder] | undefined> => {
  if (!isJsonObject(u)) return E.left(err(at, u, 'expected the hvinfo dict ({} when no placement was recorded)'))
  const keys = Object.keys(u)
  if (keys.length === 0) return E.right(undefined)
  const variant = VARIANTS.find(([, v]) => v.length === keys.length && v.every((k) => k in u))
  if (variant === undefined) {
    return E.left(err(at, u, 'expected an hvinfo with exactly the keys driver, id, bus and addr (PCI) | channel, scsi-id, lun (SCSI) | unit (IDE, floppy) | iobase, irq (ISA)'))
  }
  const errors: FieldError[] = []
  const str = (k: string, re: RegExp, message: string): string => {
    const v = u[k]
    if (typeof v === 'string' && re.test(v)) return v
    errors.push({ path: child(at, k), value: v, message })
    return ''
  }
  const driver = str('driver', DRIVER, 'expected a QEMU device driver name')
  const id = str('id', ID_PATTERN, 'expected a QEMU id (a letter first, then letters, digits, ".", "_", "-"; at most 31)')
  const bus = str('bus', BUS, 'expected a bus name such as "pci.0"')
  const [tag] = variant
  const num = (k: string): number => {
    const v = u[k]
    if (isInt(v)) return v
    errors.push({ path: child(at, k), value: v, message: 'expected an integer from 0 to 65535' })
    return 0
  }
  let address: Address
  switch (tag) {
    case 'pci': {
      const addr = str('addr', ADDR, 'expected a slot of pci.0 written as Ganeti writes it ("0x5", "0x1f")')
      const slot = parseInt(addr.slice(2), 16)
      address = { _tag: 'pci', bus, slot: slot < PCI_SLOTS ? slot : 0, function: 0 }
      break
    }
    case 'scsi':
      address = { _tag: 'scsi', bus, channel: num('channel'), target: num('scsi-id'), lun: num('lun') }
      break
    case 'unit':
      address = { _tag: 'unit', bus, unit: num('unit') }
      break
    default:
      address = { _tag: 'isa', bus, iobase: num('iobase'), irq: num('irq') }
  }
  if (errors.length > 0) return E.left(errors)
  const order: HvinfoOrder = tag === 'pci' && keys.indexOf('addr') < keys.indexOf('bus') ? 'addr-bus' : 'bus-addr'
  return E.right([{ driver, id, address }, order] as const)
}

/**
 * A place as Ganeti stores it. Only the four forms Ganeti knows have an hvinfo; the ports of
 * machine devices (USB, virtio-serial) are never recorded as disks or NICs, and give `{}`.
 *
 * @since 0.2.0
 * @category runtime
 */
export const encodeHvinfo = (p: Placed, order: HvinfoOrder = 'bus-addr'): JsonObject =>
  // What is not a placed device records no placement: {}, hvinfo's own "none recorded".
  totalOr({}, () => (isRecord(p) && isRecord(p.address) ? (hvinfoDictOf(p, order === 'addr-bus' ? 'addr-bus' : 'bus-addr') ?? {}) : {}))

/**
 * The hvinfo an upgrade writes for a legacy device, key by key onto `{}`: an object literal with
 * properties has an allocation site, which V8 pretenures once a caller keeps upgraded files,
 * and then every upgrade's hvinfo (and its id and addr strings) ends in the old generation.
 */
const pciAddrBus = (driver: string, id: string, addr: string, bus: string): JsonObject => {
  const o: { [key: string]: Json } = {}
  o['driver'] = driver
  o['id'] = id
  o['addr'] = addr
  o['bus'] = bus
  return o
}

const hvinfoDictOf = (p: Placed, order: HvinfoOrder): JsonObject | undefined => {
  const a = p.address
  // Literals, not a shared head spread into each: an upgrade writes one per legacy device.
  switch (a._tag) {
    case 'pci':
      // Ganeti's hvinfo has no function: a record is always function 0.
      return order === 'addr-bus' ? pciAddrBus(p.driver, p.id, showPciAddr(a.slot), a.bus) : { driver: p.driver, id: p.id, bus: a.bus, addr: showPciAddr(a.slot) }
    case 'scsi':
      return { driver: p.driver, id: p.id, bus: a.bus, channel: a.channel, 'scsi-id': a.target, lun: a.lun }
    case 'unit':
      return { driver: p.driver, id: p.id, bus: a.bus, unit: a.unit }
    case 'isa':
      return { driver: p.driver, id: p.id, bus: a.bus, iobase: a.iobase, irq: a.irq }
    default:
      return {}
  }
}
