/**
 * A machine type as data: its root bus and what sits there from the start, the fixed slots of
 * its own devices, and the other buses it has built in. The bus state of an instance is built
 * from its machine's description plus the buses its controllers provide, so a second machine
 * type is a second description, not a second planner.
 *
 * @since 0.2.0
 */
import type { Driver } from '../devices/catalog.js'
import type { IdeLayout } from '../bus/ide.js'
import type { RootBus } from '../bus/pci.js'
import type { PortLayout } from '../bus/ports.js'

/**
 * The roles of the machine's own devices that have a fixed slot on the root bus.
 *
 * @since 0.2.0
 * @category plan
 */
export type MachineRole = 'vga' | 'sound' | 'balloon' | 'virtioSerial'

/**
 * Everything the planner needs to know about a machine type.
 *
 * @since 0.2.0
 * @category plan
 */
export interface MachineDescription {
  /** The family of `-machine type=` values it describes (`pc`, `pc-i440fx-7.2`; `q35`, `pc-q35-7.2`). */
  readonly family: 'pc' | 'q35'
  readonly root: RootBus
  /** One root-bus slot per role, kept free for the role while it has no device. */
  readonly roleSlots: Readonly<Record<MachineRole, number>>
  /** The USB controller the machine has as a function of a built-in device. */
  readonly usb: { readonly driver: Driver; readonly id: string; readonly slot: number; readonly function: number }
  readonly ide: IdeLayout
  /** The ISA bus `ne2k_isa` cards sit on. */
  readonly isaBus: string
  /** The floppy controller's bus and units, built in even with `-nodefaults` (0 units: none). */
  readonly floppy: { readonly bus: string; readonly units: number }
  /**
   * Where the `pcie-root-port`s go when the root bus refuses hotplug (q35): each disk and NIC
   * then sits behind a port of its own. Absent: they sit on the root bus itself (pc).
   */
  readonly ports?: PortLayout
}
