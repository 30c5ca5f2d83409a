/**
 * Where a device sits: the one placement record inside the library, tagged by the kind of bus.
 * The planner gives every device one, the bus state is made of them, and both `-device` and
 * `device_add` render it through {@link addressProperties}. Ganeti's untagged `hvinfo` is only
 * its serialised form in runtime files (`runtime/hvinfo.ts`).
 *
 * @since 0.2.0
 */
import { PORT_BUSES, type PortBus } from '../devices/catalog.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import { isRecord, totalOr } from '../total.js'
import { showValue } from '../errors.js'

/**
 * A place on a bus, by bus kind: a PCI slot and function, a SCSI target, an IDE or floppy unit,
 * ISA resources, a numbered port on a bus a controller provides (USB, virtio-serial…).
 *
 * @since 0.2.0
 * @category plan
 */
export type Address =
  | { readonly _tag: 'pci'; readonly bus: string; readonly slot: number; readonly function: number }
  | { readonly _tag: 'scsi'; readonly bus: string; readonly channel: number; readonly target: number; readonly lun: number }
  | { readonly _tag: 'unit'; readonly bus: string; readonly unit: number }
  | { readonly _tag: 'isa'; readonly bus: string; readonly iobase: number; readonly irq: number }
  | { readonly _tag: 'port'; readonly kind: PortBus; readonly bus: string; readonly port: number }

/**
 * A device's identity and place: what the planner decides for each device before it has a
 * backend, and what a runtime records.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Placed {
  readonly driver: string
  readonly id: string
  readonly address: Address
}

/**
 * A PCI address.
 *
 * @since 0.2.0
 */
export const pciAddress = (bus: string, slot: number, fn = 0): Address => ({ _tag: 'pci', bus, slot, function: fn })

/**
 * `0x10`, or `0x1.2` off function 0: the `addr` QEMU reads (a JSON number would be read as devfn).
 *
 * @since 0.2.0
 */
export const showPciAddr = (slot: number, fn = 0): string => `0x${slot.toString(16)}${fn === 0 ? '' : `.${fn}`}`

/**
 * Reads an `addr` the way QEMU does (`%x[.%x]`: hex with or without `0x`, an optional
 * function): `"0x10"`, `"10"` and `"10.0"` are all slot 0x10, function 0.
 *
 * @since 0.2.0
 */
export const parsePciAddr = (addr: string): { readonly slot: number; readonly function: number } | undefined => {
  const m = /^(?:0[xX])?([0-9a-fA-F]{1,2})(?:\.([0-7]))?$/.exec(addr)
  if (m === null || m[1] === undefined) return undefined
  const slot = parseInt(m[1], 16)
  return slot < 32 ? { slot, function: m[2] === undefined ? 0 : Number(m[2]) } : undefined
}

/**
 * The QEMU properties that put a device at an address, in the order `-device` has always given
 * them (`bus` first).
 *
 * @since 0.2.0
 * @category render
 */
export const addressProperties = (a: Address): JsonObject =>
  // What is not an address puts a device nowhere: no properties.
  totalOr({}, () => (isRecord(a) ? (addressPropertiesOf(a) ?? {}) : {}))

const addressPropertiesOf = (a: Address): JsonObject | undefined => {
  const o: { [key: string]: Json } = {}
  return addressOnto(o, a) ? o : undefined
}

/**
 * The properties of `a` assigned onto `o`, in their order; `false` for what is no address. One
 * object per device, not one for the address spread into another: the renderer asks it of
 * every device.
 */
const addressOnto = (o: { [key: string]: Json }, a: Address): boolean => {
  switch (a._tag) {
    case 'pci':
      o['bus'] = a.bus
      o['addr'] = showPciAddr(a.slot, a.function)
      return true
    case 'scsi':
      o['bus'] = a.bus
      o['channel'] = a.channel
      o['scsi-id'] = a.target
      o['lun'] = a.lun
      return true
    case 'unit':
      o['bus'] = a.bus
      o['unit'] = a.unit
      return true
    case 'isa':
      o['bus'] = a.bus
      o['iobase'] = a.iobase
      o['irq'] = a.irq
      return true
    case 'port': {
      const p = PORT_BUSES[a.kind]
      o['bus'] = a.bus
      o[p.property] = p.text ? String(a.port) : a.port
      return true
    }
    default:
      return false
  }
}

/**
 * An address for people: `pci.0 slot 0x10`, `scsi.0 0:1:0`, `ide.0 unit 1`, `usb.0 usb port 1`.
 *
 * @since 0.2.0
 * @category render
 */
export const showAddress = (a: Address): string =>
  totalOr('(not an address)', () => (isRecord(a) ? (showAddressOf(a) ?? `(not an address: ${showValue(a)})`) : `(not an address: ${showValue(a)})`))

const showAddressOf = (a: Address): string | undefined => {
  switch (a._tag) {
    case 'pci':
      return `${a.bus} slot ${showPciAddr(a.slot, a.function)}`
    case 'scsi':
      return `${a.bus} ${a.channel}:${a.target}:${a.lun}`
    case 'unit':
      return `${a.bus} unit ${a.unit}`
    case 'isa':
      return `${a.bus} iobase 0x${a.iobase.toString(16)} irq ${a.irq}`
    case 'port':
      return `${a.bus} ${a.kind} port ${a.port}`
  }
}

/**
 * `driver`, `id`, then the address: how every `-device` and `device_add` begins.
 *
 * @since 0.2.0
 * @category render
 */
export const placedProperties = (p: Placed): JsonObject =>
  // What is not a placed device has no properties; the caller's device_add then fails in QEMU.
  totalOr({}, () => (isRecord(p) && typeof p.driver === 'string' && typeof p.id === 'string' ? { driver: p.driver, id: p.id, ...addressProperties(p.address) } : {}))

/**
 * {@link placedProperties} of a device the caller has checked (a planned tree's), as a fresh
 * object the caller may add to: the renderer asks it of every device, where the guards and
 * their closures cost more than the properties.
 *
 * @since 0.3.0
 */
export const placedPropertiesOf = (p: Placed): { [key: string]: Json } => {
  const o: { [key: string]: Json } = { driver: p.driver, id: p.id }
  addressOnto(o, p.address)
  return o
}

const int = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : undefined

/**
 * The address of a `-device` option read back from a command line QEMU was given (a `kvm_cmd`
 * Ganeti wrote, where key=value gives every number as a string); `undefined` when it names no
 * place of a kind the library plans. Its key set decides the kind: `addr`, `scsi-id`, `unit`,
 * `iobase`.
 *
 * @since 0.2.0
 */
export const addressOfProperties = (o: Readonly<Record<string, unknown>>): Address | undefined => {
  const bus = o['bus']
  if (typeof bus !== 'string') return undefined
  if (typeof o['addr'] === 'string') {
    const p = parsePciAddr(o['addr'])
    return p === undefined ? undefined : pciAddress(bus, p.slot, p.function)
  }
  if (o['scsi-id'] !== undefined) {
    const [channel, target, lun] = [int(o['channel'] ?? 0), int(o['scsi-id']), int(o['lun'] ?? 0)]
    return channel === undefined || target === undefined || lun === undefined ? undefined : { _tag: 'scsi', bus, channel, target, lun }
  }
  if (o['unit'] !== undefined) {
    const unit = int(o['unit'])
    return unit === undefined ? undefined : { _tag: 'unit', bus, unit }
  }
  if (o['iobase'] !== undefined) {
    const [iobase, irq] = [int(o['iobase']), int(o['irq'])]
    return iobase === undefined || irq === undefined ? undefined : { _tag: 'isa', bus, iobase, irq }
  }
  return undefined
}
