/**
 * `pci.0`, the i440fx root bus: 32 slots, function 0 only. QEMU keeps what the machine puts
 * there (0x00 host bridge, 0x01 PIIX3) and the first `kvm_pci_reservations` slots are left to
 * devices QEMU places itself; disks and NICs go above.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import { allocate, take, type Slots } from './slots.js'

/**
 * The root PCI bus of an i440fx pc machine: the `bus` of every PCI device's hvinfo.
 *
 * @since 0.1.0
 */
export const PCI_BUS = 'pci.0'

/**
 * Slots of one conventional PCI bus, 0x00 to 0x1f. Only function 0 is used, so this is also
 * the most devices the bus holds; an `addr` of 0x20 or more does not exist.
 *
 * @since 0.1.0
 */
export const PCI_SLOTS = 32

/**
 * A machine's root PCI bus as its description gives it: its name, its slots, and what the
 * machine puts there by itself.
 *
 * @since 0.2.0
 */
export interface RootBus {
  readonly bus: string
  readonly slots: number
  readonly builtIn: ReadonlyArray<readonly [number, string]>
}

/**
 * The slots of `pci.0` with the `kvm_pci_reservations` boundary: disks and NICs are placed at or
 * above it, the SCSI controller and virtio CD-ROMs on the lowest free slot, as QEMU would.
 *
 * @since 0.1.0
 */
export interface PciBus {
  readonly bus: string
  readonly slots: Slots
  /** Slots below this are QEMU's to fill. */
  readonly reservations: number
  /** The fixed slot of each role of the machine's own devices. */
  readonly roles: Readonly<Record<string, number>>
}

/**
 * Who holds a machine role's slot while the role has no device: shown in place conflicts.
 *
 * @since 0.2.0
 */
export const roleHolder = (role: string): string => `(kept for the ${role} of the machine)`

/**
 * A fresh root bus. The slots of the machine's own roles (VGA, sound, balloon, virtio-serial)
 * that lie inside the reserved range are held for them whether or not the instance has such a
 * device, so that the SCSI controller and CD-ROMs, which take the lowest free slot, never move
 * when one is added later.
 *
 * @since 0.2.0
 */
export const pciRootBus = (root: RootBus, roles: Readonly<Record<string, number>>, reservations: number): PciBus => ({
  bus: root.bus,
  reservations,
  roles,
  slots: rootSlots(root, roles, reservations)
})

/** The slots a fresh root bus holds: each as {@link take} would take it (one it refuses is skipped), in one object. */
const rootSlots = (root: RootBus, roles: Readonly<Record<string, number>>, reservations: number): Slots => {
  const taken: { [index: number]: string } = {}
  const hold = (slot: number, owner: string): void => {
    if (Number.isInteger(slot) && slot >= 0 && slot < root.slots && taken[slot] === undefined) taken[slot] = owner
  }
  for (const [slot, owner] of root.builtIn) hold(slot, owner)
  for (const [role, slot] of Object.entries(roles)) if (slot < reservations) hold(slot, roleHolder(role))
  return { bus: root.bus, capacity: root.slots, taken }
}

/**
 * Places a device of the machine's own: at its role's fixed slot when the reserved range holds
 * it, else on the lowest free slot, as a controller.
 *
 * @since 0.2.0
 */
export const allocateRoleSlot =
  (role: string, owner: string) =>
  (bus: PciBus): E.Either<DevplanError, readonly [number, PciBus]> => {
    const slot = bus.roles[role]
    if (slot === undefined || slot >= bus.reservations) return allocateControllerSlot(owner)(bus)
    return E.right([slot, { ...bus, slots: { ...bus.slots, taken: { ...bus.slots.taken, [slot]: owner } } }] as const)
  }

/**
 * Places a disk or NIC on the lowest free slot above the reservations.
 *
 * @since 0.1.0
 */
export const allocateSlot =
  (owner: string) =>
  (bus: PciBus): E.Either<DevplanError, readonly [number, PciBus]> =>
    pipe(
      allocate(owner, bus.reservations)(bus.slots),
      E.map(([slot, slots]) => [slot, { ...bus, slots }] as const)
    )

/**
 * Places a controller on the slot QEMU itself would choose: the lowest free one inside the
 * reserved range, or the lowest free one at all when the reservations leave none. Making it
 * explicit keeps the plan exact and stable when more devices are added later.
 *
 * @since 0.1.0
 */
export const allocateControllerSlot =
  (owner: string) =>
  (bus: PciBus): E.Either<DevplanError, readonly [number, PciBus]> =>
    pipe(
      allocate(owner, 0)(bus.slots),
      E.map(([slot, slots]) => [slot, { ...bus, slots }] as const)
    )

/**
 * Marks a slot taken by a device already placed (from a runtime's records). Any function holds
 * its slot: the bus state places function 0 only.
 *
 * @since 0.1.0
 */
export const takeSlot =
  (slot: number, owner: string) =>
  (bus: PciBus): E.Either<DevplanError, PciBus> =>
    pipe(take(slot, owner)(bus.slots), E.map((slots) => ({ ...bus, slots })))
