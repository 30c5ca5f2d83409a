/**
 * hvinfo: the one placement record. The planner writes it, the runtime file stores it, and both
 * the `-device` option and `device_add` are rendered from it — so a device present at start and
 * the same device hot-added can never differ. Key order is Ganeti's.
 *
 * @since 0.1.0
 */
import * as t from 'io-ts'

/**
 * A device on `pci.0` (virtio-blk-pci, NICs, SCSI controllers).
 *
 * @since 0.1.0
 */
export type PciHvinfo = { readonly driver: string; readonly id: string; readonly bus: string; readonly addr: string }

/**
 * A device on a SCSI bus.
 *
 * @since 0.1.0
 */
export type ScsiHvinfo = {
  readonly driver: string
  readonly id: string
  readonly bus: string
  readonly channel: number
  readonly 'scsi-id': number
  readonly lun: number
}

/**
 * An IDE disk or CD-ROM, or the floppy drive (`bus` is then the FDC's `floppy-bus.0`).
 *
 * @since 0.1.0
 */
export type UnitHvinfo = { readonly driver: string; readonly id: string; readonly bus: string; readonly unit: number }

/**
 * An ISA NIC (`ne2k_isa`): I/O base and IRQ instead of a slot.
 *
 * @since 0.1.0
 */
export type IsaHvinfo = { readonly driver: string; readonly id: string; readonly bus: string; readonly iobase: number; readonly irq: number }

/**
 * A placement record of any kind: PCI slot, SCSI target, IDE or floppy unit, or ISA resources.
 * It has no tag, being stored and rendered in Ganeti's form: {@link placement} tells them apart.
 *
 * @since 0.1.0
 */
export type Hvinfo = PciHvinfo | ScsiHvinfo | UnitHvinfo | IsaHvinfo

/**
 * Which bus an hvinfo places its device on.
 *
 * @since 0.1.0
 */
export type Placement =
  | { readonly _tag: 'pci'; readonly hvinfo: PciHvinfo }
  | { readonly _tag: 'scsi'; readonly hvinfo: ScsiHvinfo }
  | { readonly _tag: 'unit'; readonly hvinfo: UnitHvinfo }
  | { readonly _tag: 'isa'; readonly hvinfo: IsaHvinfo }

/**
 * Which kind of placement an hvinfo is, narrowed for a `switch`. Decided by the values of the
 * placement keys, as an hvinfo read from a runtime file carries no tag.
 *
 * @since 0.1.0
 */
export const placement = (h: Hvinfo): Placement =>
  // Decide by value, not by key: a decoded object may carry a key whose value is undefined.
  'addr' in h && typeof h.addr === 'string'
    ? { _tag: 'pci', hvinfo: h }
    : 'scsi-id' in h && typeof h['scsi-id'] === 'number'
      ? { _tag: 'scsi', hvinfo: h }
      : 'unit' in h && typeof h.unit === 'number'
        ? { _tag: 'unit', hvinfo: h }
        : { _tag: 'isa', hvinfo: h as IsaHvinfo }

const base = { driver: t.string, id: t.string, bus: t.string }

/**
 * io-ts codec for a stored hvinfo (runtime files). Numbers must be integers.
 *
 * @since 0.1.0
 */
export const HvinfoCodec: t.Type<Hvinfo, Hvinfo, unknown> = t.union([
  t.type({ ...base, addr: t.string }),
  t.type({ ...base, channel: t.Int, 'scsi-id': t.Int, lun: t.Int }),
  t.type({ ...base, unit: t.Int }),
  t.type({ ...base, iobase: t.Int, irq: t.Int })
]) as unknown as t.Type<Hvinfo, Hvinfo, unknown>

/**
 * Only the placement keys, in Ganeti's order, whatever else a decoded object carried.
 *
 * @since 0.1.0
 */
export const normalize = (h: Hvinfo): Hvinfo => {
  const p = placement(h)
  switch (p._tag) {
    case 'pci':
      return { driver: h.driver, id: h.id, bus: h.bus, addr: p.hvinfo.addr }
    case 'scsi':
      return { driver: h.driver, id: h.id, bus: h.bus, channel: p.hvinfo.channel, 'scsi-id': p.hvinfo['scsi-id'], lun: p.hvinfo.lun }
    case 'unit':
      return { driver: h.driver, id: h.id, bus: h.bus, unit: p.hvinfo.unit }
    case 'isa':
      return { driver: h.driver, id: h.id, bus: h.bus, iobase: p.hvinfo.iobase, irq: p.hvinfo.irq }
  }
}
