/**
 * The context `kvm_extra` is checked against (lib/extra.ts): what a planned tree holds that a
 * device of `kvm_extra` must leave alone.
 *
 * @since 0.3.0
 */
import { PCI_BUS, pciRootBus } from './bus/pci.js'
import { PC } from './machine/pc.js'
import { allDevices, type DeviceTree } from './devices.js'
import { flatMapArray } from './hot.js'

/**
 * What `kvm_extra` must leave alone: the reservation boundary, the `pci.0` slots of the plan,
 * the other buses the plan places devices on, and the device ids it gives.
 *
 * @since 0.2.0
 */
export interface ExtraContext {
  /** `kvm_pci_reservations`: slots from here up belong to disks, NICs and later hot-adds. */
  readonly reservations: number
  /** slot → who holds it (a planned device id, or the machine's own part). */
  readonly usedSlots: ReadonlyMap<number, string>
  /** A bus other than `pci.0` that the plan places devices on → one device id there. */
  readonly usedBuses: ReadonlyMap<string, string>
  /** Every device id of the plan: QEMU refuses a second device with one of them. */
  readonly usedIds: ReadonlySet<string>
}

/**
 * The bus a `bus=` names: QEMU also takes a path (`/i440FX-pcihost/pci.0`); its last part is the bus.
 *
 * @since 0.3.0
 */
export const busName = (bus: string): string => bus.split('/').filter((p) => p !== '').pop() ?? ''

/**
 * The context of a planned tree: the slots a fresh `pci.0` holds (the machine's own, and the
 * slots kept for its roles) plus the `pci.0` address of every device the tree lists, the other
 * buses they sit on (and the SCSI controllers' own, which hot-adds use), and their ids.
 *
 * @since 0.2.0
 */
export const extraContext = (tree: DeviceTree, reservations: number): ExtraContext => {
  const devices = allDevices(tree)
  const fresh = Object.entries(pciRootBus(PC.root, PC.roleSlots, reservations).slots.taken).map(([slot, owner]): readonly [number, string] => [Number(slot), owner])
  const placed = flatMapArray(devices, (d): ReadonlyArray<readonly [number, string]> => (d.address._tag === 'pci' && busName(d.address.bus) === PCI_BUS ? [[d.address.slot, d.id]] : []))
  const onBuses = flatMapArray(devices, (d): ReadonlyArray<readonly [string, string]> => (busName(d.address.bus) === PCI_BUS ? [] : [[busName(d.address.bus), d.id]]))
  const controllerBuses = tree.controllers.map((c): readonly [string, string] => [`${c.id}.0`, `the bus of ${c.id}, where disks are hot-added`])
  // q35: a spare port's bus is empty in the plan, but hot-adds go there.
  const portBuses = tree.rootPorts.map((p): readonly [string, string] => [p.id, `the bus of root port ${p.id}, kept for one planned or hot-added device`])
  return {
    reservations,
    usedSlots: new Map([...fresh, ...placed]),
    usedBuses: new Map([...controllerBuses, ...portBuses, ...onBuses]),
    usedIds: new Set(devices.map((d) => d.id))
  }
}
