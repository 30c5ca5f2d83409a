/**
 * The bus state of an instance: every place on every bus and who holds it. The planner builds it
 * as it places devices; for a running instance it is derived from the recorded places (QEMU has
 * no `query-scsi`), never stored a second time.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import type { ScsiControllerType } from '../hvparams.js'
import { CATALOG, type Driver } from '../devices/catalog.js'
import type { Address, Placed } from './address.js'
import type { MachineDescription } from '../machine/description.js'
import { allocateIde, ideBus, takeIde, type IdeBus } from './ide.js'
import { allocateIsa, ne2kIsaBus, takeIsa } from './isa.js'
import { allocateControllerSlot, allocateSlot, pciRootBus, takeSlot, type PciBus } from './pci.js'
import { allocatePort, emptyPorts, occupyBehindPort, occupyPort, type PortState } from './ports.js'
import { allocateTarget, SCSI_BUS, scsiBus, takeTarget, type ScsiBus } from './scsi.js'
import { allocate, allocateAll, emptySlots, take, takeAll, type Slots } from './slots.js'

/**
 * @since 0.1.0
 * @category plan
 */
export interface BusState {
  /** The root bus. */
  readonly pci: PciBus
  /** The bus the SCSI controller provides. */
  readonly scsi: ScsiBus
  readonly ide: IdeBus
  readonly isa: Slots
  /** The units of the floppy controller. */
  readonly floppy: Slots
  /** The root ports of a machine whose root bus refuses hotplug (q35); absent on pc. */
  readonly ports?: PortState
}

/**
 * The buses of a fresh machine of a description, with the SCSI controller's bus.
 *
 * @since 0.1.0
 */
export const emptyBusState = (machine: MachineDescription, reservations: number, controller: ScsiControllerType): BusState => ({
  // With root ports, the slots below the first port are the machine's and the controllers':
  // they play the part kvm_pci_reservations plays on pc.
  pci: pciRootBus(machine.root, machine.roleSlots, machine.ports === undefined ? reservations : machine.ports.firstSlot),
  scsi: scsiBus(controller),
  ide: ideBus(machine.ide),
  isa: ne2kIsaBus(machine.isaBus),
  floppy: emptySlots(machine.floppy.bus, machine.floppy.units),
  ...(machine.ports === undefined ? {} : { ports: emptyPorts(machine.ports) })
})

/**
 * How to choose a PCI slot: above the reservations (disks, NICs; on q35 behind a root port of
 * their own) or where QEMU would put a device it places itself (controllers, CD-ROMs).
 *
 * @since 0.1.0
 */
export type PciPolicy = 'guest' | 'qemu'

/**
 * Places a new device on the bus its driver sits on (the catalog says which).
 *
 * @since 0.1.0
 */
export const place =
  (driver: Driver, id: string, policy: PciPolicy = 'guest') =>
  (s: BusState): E.Either<DevplanError, readonly [Placed, BusState]> => {
    const at = (address: Address): Placed => ({ driver, id, address })
    const sits = CATALOG[driver].sits
    switch (sits) {
      case 'pci': {
        const ports = s.ports
        if (policy === 'guest' && ports !== undefined) {
          return pipe(
            allocatePort(id)(s.pci, ports),
            E.map(([address, pci, next]) => [at(address), { ...s, pci, ports: next }] as const)
          )
        }
        return pipe(
          (policy === 'guest' ? allocateSlot(id) : allocateControllerSlot(id))(s.pci),
          E.map(([slot, pci]) => [at({ _tag: 'pci', bus: pci.bus, slot, function: 0 }), { ...s, pci }] as const)
        )
      }
      case 'scsi':
        return pipe(
          allocateTarget(id)(s.scsi),
          E.map(([target, scsi]) => [at({ _tag: 'scsi', bus: SCSI_BUS, channel: 0, target, lun: 0 }), { ...s, scsi }] as const)
        )
      case 'ide':
        return pipe(
          allocateIde(id)(s.ide),
          E.map(([p, ide]) => [at({ _tag: 'unit', bus: p.bus, unit: p.unit }), { ...s, ide }] as const)
        )
      case 'isa':
        return pipe(
          allocateIsa(id)(s.isa),
          E.map(([p, isa]) => [at({ _tag: 'isa', bus: isa.bus, iobase: p.iobase, irq: p.irq }), { ...s, isa }] as const)
        )
      case 'floppy':
        return pipe(
          allocate(id)(s.floppy),
          E.map(([unit, floppy]) => [at({ _tag: 'unit', bus: floppy.bus, unit }), { ...s, floppy }] as const)
        )
      default:
        // The buses controllers provide (usb.0, vserial0.0) hold only machine devices, which their
        // builder places (machine/plan.ts).
        return E.left({ _tag: 'Unsupported', device: id, reason: `${driver} sits on a ${sits} bus, which only the machine's own devices use` })
    }
  }

/**
 * Places new devices of one driver in order, as {@link place} one by one would. On the SCSI
 * bus and on pc's `pci.0`, where a plan puts its disks and NICs, their places are taken with
 * one copy of the bus's slots.
 *
 * @since 0.3.0
 */
export const placeAll =
  (driver: Driver, ids: ReadonlyArray<string>, policy: PciPolicy = 'guest') =>
  (s: BusState): E.Either<DevplanError, readonly [ReadonlyArray<Placed>, BusState]> => {
    const sits = CATALOG[driver].sits
    if (sits === 'scsi') {
      const r = allocateAll(ids)(s.scsi.targets)
      if (E.isLeft(r)) return r
      const [targets, slots] = r.right
      const placed = targets.map((target, i): Placed => ({ driver, id: ids[i] ?? '', address: { _tag: 'scsi', bus: SCSI_BUS, channel: 0, target, lun: 0 } }))
      return E.right([placed, { ...s, scsi: { ...s.scsi, targets: slots } }] as const)
    }
    // pc's disks and NICs on pci.0, above the reservations (q35's go behind ports of their own).
    if (sits === 'pci' && policy === 'guest' && s.ports === undefined) {
      const r = allocateAll(ids, s.pci.reservations)(s.pci.slots)
      if (E.isLeft(r)) return r
      const [slots, pciSlots] = r.right
      const bus = s.pci.bus
      const placed = slots.map((slot, i): Placed => ({ driver, id: ids[i] ?? '', address: { _tag: 'pci', bus, slot, function: 0 } }))
      return E.right([placed, { ...s, pci: { ...s.pci, slots: pciSlots } }] as const)
    }
    return traverseSteps(ids, (id) => place(driver, id, policy))(s)
  }

/**
 * Marks a recorded place as taken (rebuilding the state of a running instance). A place held
 * twice is an error naming both devices.
 *
 * @since 0.1.0
 */
export const occupy =
  (p: Placed) =>
  (s: BusState): E.Either<DevplanError, BusState> => {
    const a = p.address
    const ports = s.ports
    switch (a._tag) {
      case 'pci':
        if (ports !== undefined && a.bus === s.pci.bus && p.driver === 'pcie-root-port') {
          return pipe(occupyPort(p.id, a.slot, a.function, s.pci, ports), E.map(([pci, next]) => ({ ...s, pci, ports: next })))
        }
        if (ports !== undefined && a.bus !== s.pci.bus) return pipe(occupyBehindPort(p.id, a, ports), E.map((next) => ({ ...s, ports: next })))
        return pipe(takeSlot(a.slot, p.id)(s.pci), E.map((pci) => ({ ...s, pci })))
      case 'scsi':
        if (a.channel !== 0 || a.lun !== 0) {
          return E.left({ _tag: 'Unsupported', device: p.id, reason: `SCSI channel ${a.channel} lun ${a.lun}: only channel 0, lun 0 are planned` })
        }
        return pipe(takeTarget(a.target, p.id)(s.scsi), E.map((scsi) => ({ ...s, scsi })))
      case 'unit':
        if (a.bus === s.floppy.bus) return pipe(take(a.unit, p.id)(s.floppy), E.map((floppy) => ({ ...s, floppy })))
        return pipe(takeIde({ bus: a.bus, unit: a.unit }, p.id)(s.ide), E.map((ide) => ({ ...s, ide })))
      case 'isa':
        return pipe(takeIsa({ iobase: a.iobase, irq: a.irq }, p.id)(s.isa), E.map((isa) => ({ ...s, isa })))
      default:
        // Ports on the buses of machine devices are never hot-plugged: nothing to account for.
        return E.right(s)
    }
  }

/**
 * Marks recorded places taken, in order, as {@link occupy} one by one would (the first error
 * wins). A run of SCSI places, the most of a big runtime's records, takes its targets with one
 * copy of the bus's slots, not one each.
 *
 * @since 0.3.0
 */
export const occupyAll =
  (ps: ReadonlyArray<Placed>) =>
  (s0: BusState): E.Either<DevplanError, BusState> => {
    let s = s0
    let i = 0
    while (i < ps.length) {
      const p = ps[i]
      if (p === undefined) break
      if (p.address._tag !== 'scsi') {
        const next = occupy(p)(s)
        if (E.isLeft(next)) return next
        s = next.right
        i++
        continue
      }
      // The run of SCSI places from here: each is checked as occupy checks it, in order.
      const targets: Array<readonly [number, string]> = []
      for (; i < ps.length; i++) {
        const q = ps[i]
        if (q === undefined || q.address._tag !== 'scsi') break
        const a = q.address
        if (a.channel !== 0 || a.lun !== 0) {
          const before = takeAll(targets)(s.scsi.targets)
          if (E.isLeft(before)) return before
          return E.left({ _tag: 'Unsupported', device: q.id, reason: `SCSI channel ${a.channel} lun ${a.lun}: only channel 0, lun 0 are planned` })
        }
        targets.push([a.target, q.id])
      }
      const taken = takeAll(targets)(s.scsi.targets)
      if (E.isLeft(taken)) return taken
      s = { ...s, scsi: { ...s.scsi, targets: taken.right } }
    }
    return E.right(s)
  }

/**
 * A step of planning: takes the bus state, gives a result and the next state (StateT over
 * Either, written out).
 *
 * @since 0.2.0
 */
export type BusStep<A> = (s: BusState) => E.Either<DevplanError, readonly [A, BusState]>

/**
 * Runs a step per item, threading the bus state through them in order; the first Left stops.
 *
 * @since 0.2.0
 */
export const traverseSteps =
  <A, B>(items: ReadonlyArray<A>, f: (a: A, i: number) => BusStep<B>): BusStep<ReadonlyArray<B>> =>
  (s0) => {
    // A fresh array, local to this call until it is returned: one push per item, not a copy.
    const done: Array<B> = []
    let s = s0
    let i = 0
    for (const item of items) {
      const r = f(item, i++)(s)
      if (E.isLeft(r)) return r
      done.push(r.right[0])
      s = r.right[1]
    }
    return E.right([done, s] as const)
  }
