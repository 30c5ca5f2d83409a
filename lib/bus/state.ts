/**
 * The bus state of an instance: every place on every bus and who holds it. The planner builds it
 * as it places devices; for a running instance it is derived from the recorded hvinfo (QEMU has
 * no `query-scsi`), never stored a second time.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import type { ScsiControllerType } from '../hvparams.js'
import { busKind } from '../frontend.js'
import { placement, type Hvinfo } from '../hvinfo.js'
import { allocateIde, pcIdeBus, takeIde } from './ide.js'
import { allocateIsa, ISA_BUS, ne2kIsaBus, takeIsa } from './isa.js'
import { allocateControllerSlot, allocateSlot, pcPciBus, PCI_BUS, takeSlot, type PciBus } from './pci.js'
import { allocateTarget, SCSI_BUS, scsiBus, takeTarget, type ScsiBus } from './scsi.js'
import { allocate, emptySlots, take, type Slots } from './slots.js'

/**
 * @since 0.1.0
 */
export interface BusState {
  readonly pci: PciBus
  readonly scsi: ScsiBus
  readonly ide: Slots
  readonly isa: Slots
  /** The units of the pc's floppy controller (0 and 1). */
  readonly floppy: Slots
}

/** The floppy controller's bus, built in even with -nodefaults. */
const FLOPPY_BUS = 'floppy-bus.0'

/**
 * The buses of a fresh pc machine.
 *
 * @since 0.1.0
 */
export const emptyBusState = (reservations: number, controller: ScsiControllerType): BusState => ({
  pci: pcPciBus(reservations),
  scsi: scsiBus(controller),
  ide: pcIdeBus(),
  isa: ne2kIsaBus(),
  floppy: emptySlots(FLOPPY_BUS, 2)
})

/**
 * How to choose a PCI slot: above the reservations (disks, NICs) or where QEMU would put a
 * device it places itself (controllers, CD-ROMs).
 *
 * @since 0.1.0
 */
export type PciPolicy = 'guest' | 'qemu'

/**
 * Places a new device on the bus its driver belongs to and returns its hvinfo.
 *
 * @since 0.1.0
 */
export const place =
  (driver: string, id: string, policy: PciPolicy = 'guest') =>
  (s: BusState): E.Either<DevplanError, readonly [Hvinfo, BusState]> => {
    switch (busKind(driver)) {
      case 'pci':
        return pipe(
          (policy === 'guest' ? allocateSlot(id) : allocateControllerSlot(id))(s.pci),
          E.map(([addr, pci]) => [{ driver, id, bus: PCI_BUS, addr }, { ...s, pci }] as const)
        )
      case 'scsi':
        return pipe(
          allocateTarget(id)(s.scsi),
          E.map(([target, scsi]) => [{ driver, id, bus: SCSI_BUS, channel: 0, 'scsi-id': target, lun: 0 }, { ...s, scsi }] as const)
        )
      case 'ide':
        return pipe(
          allocateIde(id)(s.ide),
          E.map(([p, ide]) => [{ driver, id, bus: p.bus, unit: p.unit }, { ...s, ide }] as const)
        )
      case 'isa':
        return pipe(
          allocateIsa(id)(s.isa),
          E.map(([p, isa]) => [{ driver, id, bus: ISA_BUS, iobase: p.iobase, irq: p.irq }, { ...s, isa }] as const)
        )
      case 'floppy':
        return pipe(
          allocate(id)(s.floppy),
          E.map(([unit, floppy]) => [{ driver, id, bus: FLOPPY_BUS, unit }, { ...s, floppy }] as const)
        )
    }
  }

/**
 * Marks the place a recorded hvinfo names as taken (rebuilding the state of a running
 * instance). A place held twice is an error naming both devices.
 *
 * @since 0.1.0
 */
export const occupy =
  (h: Hvinfo) =>
  (s: BusState): E.Either<DevplanError, BusState> => {
    const p = placement(h)
    switch (p._tag) {
      case 'pci':
        return pipe(takeSlot(p.hvinfo.addr, h.id)(s.pci), E.map((pci) => ({ ...s, pci })))
      case 'scsi':
        if (p.hvinfo.channel !== 0 || p.hvinfo.lun !== 0) {
          return E.left({ _tag: 'Unsupported', device: h.id, reason: `SCSI channel ${p.hvinfo.channel} lun ${p.hvinfo.lun}: only channel 0, lun 0 are planned` })
        }
        return pipe(takeTarget(p.hvinfo['scsi-id'], h.id)(s.scsi), E.map((scsi) => ({ ...s, scsi })))
      case 'unit':
        if (h.driver === 'floppy') return pipe(take(p.hvinfo.unit, h.id)(s.floppy), E.map((floppy) => ({ ...s, floppy })))
        return pipe(takeIde({ bus: p.hvinfo.bus, unit: p.hvinfo.unit }, h.id)(s.ide), E.map((ide) => ({ ...s, ide })))
      case 'isa':
        return pipe(takeIsa({ iobase: p.hvinfo.iobase, irq: p.hvinfo.irq }, h.id)(s.isa), E.map((isa) => ({ ...s, isa })))
    }
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
  (s0) =>
    items.reduce<E.Either<DevplanError, readonly [ReadonlyArray<B>, BusState]>>(
      (acc, item, i) =>
        pipe(
          acc,
          E.chain(([done, s]) => pipe(f(item, i)(s), E.map(([b, next]) => [[...done, b], next] as const)))
        ),
      E.right([[], s0] as const)
    )
