/**
 * What the library knows about each QEMU frontend driver it places, in one table: the bus it
 * sits on, whether it has a `write-cache` property (measured: `-device scsi-block,help` has
 * none), a tray with a removable medium, and whether QEMU can hot-plug it at all. Every rule that
 * depends on the driver reads this table.
 *
 * @since 0.1.0
 */

/**
 * The bus kinds the planner places devices on.
 *
 * @since 0.1.0
 */
export type BusKind = 'pci' | 'scsi' | 'ide' | 'isa' | 'floppy'

/**
 * What one driver is, as far as placement, rendering and hotplug are concerned.
 *
 * @since 0.1.0
 */
export interface Frontend {
  readonly role: 'disk' | 'cdrom' | 'nic' | 'controller' | 'floppy'
  readonly bus: BusKind
  readonly writeCache: boolean
  readonly removable: boolean
  readonly hotpluggable: boolean
}

const pciNic: Frontend = { role: 'nic', bus: 'pci', writeCache: false, removable: false, hotpluggable: true }
const controller: Frontend = { role: 'controller', bus: 'pci', writeCache: false, removable: false, hotpluggable: true }

/**
 * Every driver the planner emits.
 *
 * @since 0.1.0
 */
export const FRONTENDS: Readonly<Record<string, Frontend>> = {
  'virtio-blk-pci': { role: 'disk', bus: 'pci', writeCache: true, removable: false, hotpluggable: true },
  'scsi-hd': { role: 'disk', bus: 'scsi', writeCache: true, removable: false, hotpluggable: true },
  'scsi-cd': { role: 'cdrom', bus: 'scsi', writeCache: true, removable: true, hotpluggable: true },
  'scsi-block': { role: 'disk', bus: 'scsi', writeCache: false, removable: false, hotpluggable: true },
  'scsi-generic': { role: 'disk', bus: 'scsi', writeCache: false, removable: false, hotpluggable: true },
  'ide-hd': { role: 'disk', bus: 'ide', writeCache: true, removable: false, hotpluggable: false },
  'ide-cd': { role: 'cdrom', bus: 'ide', writeCache: true, removable: true, hotpluggable: false },
  floppy: { role: 'floppy', bus: 'floppy', writeCache: true, removable: true, hotpluggable: false },
  'virtio-net-pci': pciNic,
  e1000: pciNic,
  i82551: pciNic,
  i82557b: pciNic,
  i82559er: pciNic,
  ne2k_pci: pciNic,
  pcnet: pciNic,
  rtl8139: pciNic,
  ne2k_isa: { role: 'nic', bus: 'isa', writeCache: false, removable: false, hotpluggable: false },
  lsi: controller,
  megasas: controller,
  'virtio-scsi-pci': controller
}

/**
 * The table entry of a driver; `undefined` for a driver the library never emits (a runtime file
 * may name one, e.g. Ganeti's legacy `ide`).
 *
 * @since 0.1.0
 */
export const frontend = (driver: string): Frontend | undefined =>
  Object.prototype.hasOwnProperty.call(FRONTENDS, driver) ? FRONTENDS[driver] : undefined

/**
 * The bus a driver sits on. Drivers outside the table are read as QEMU names them: `scsi-*` on a
 * SCSI bus, everything else on PCI.
 *
 * @since 0.1.0
 */
export const busKind = (driver: string): BusKind => frontend(driver)?.bus ?? (driver.startsWith('scsi-') ? 'scsi' : 'pci')

/**
 * Why QEMU cannot hot-plug a driver, if it cannot.
 *
 * @since 0.1.0
 */
export const notHotpluggable = (driver: string): string | undefined => {
  const f = frontend(driver)
  if (f === undefined || f.hotpluggable) return undefined
  switch (f.bus) {
    case 'ide':
      return 'IDE devices cannot be hot-plugged (the IDE controller has no hotplug support)'
    case 'isa':
      return 'ISA devices (ne2k_isa) cannot be hot-plugged'
    default:
      return 'the floppy drive cannot be hot-plugged'
  }
}
