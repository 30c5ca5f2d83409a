/**
 * The device catalog: every QEMU driver the library places, in one table. Each entry says what
 * the device is to the planner (its kind), the bus kind it sits on, the bus it provides to
 * others, whether QEMU can hot-plug it (and why not), and which of the properties the library
 * sets it has. Every rule that depends on a driver reads this table; nothing guesses from a name.
 *
 * @since 0.2.0
 */

/**
 * The buses controllers provide whose places are numbered ports, and the property that numbers
 * them (a string for USB, whose ports may be paths such as `1.2`).
 *
 * @since 0.2.0
 */
export const PORT_BUSES = {
  usb: { property: 'port', text: true },
  'virtio-serial': { property: 'nr', text: false },
  hda: { property: 'cad', text: false }
} as const satisfies Readonly<Record<string, { readonly property: string; readonly text: boolean }>>

/**
 * A bus kind of {@link PORT_BUSES}.
 *
 * @since 0.2.0
 */
export type PortBus = keyof typeof PORT_BUSES

/**
 * The kinds of bus a device sits on: the machine's own (PCI, IDE, ISA, floppy), the SCSI
 * controller's, the port buses, and the one-device bus of a q35 `pcie-root-port`.
 *
 * @since 0.2.0
 * @category plan
 */
export type BusKind = 'pci' | 'scsi' | 'ide' | 'floppy' | 'isa' | 'pcie-port' | PortBus

/**
 * What a driver is to the library: a disk frontend, a CD-ROM, the floppy drive, a NIC, a SCSI
 * controller, a PCIe root port (q35: the place of one hot-pluggable device), or a device of
 * the machine itself.
 *
 * @since 0.2.0
 * @category plan
 */
export type DeviceRole = 'disk' | 'cdrom' | 'floppy' | 'nic' | 'controller' | 'port' | 'machine'

/**
 * One catalog entry.
 *
 * @since 0.2.0
 * @category plan
 */
export interface DriverInfo {
  readonly role: DeviceRole
  readonly sits: BusKind
  /** The bus kind of the bus the device provides (named `<id>.0` by QEMU), if any. */
  readonly provides?: BusKind
  /** `true`, or why QEMU cannot hot-plug it. */
  readonly hotplug: true | string
  /** Has `write-cache` (measured: `-device scsi-block,help` has none). */
  readonly writeCache: boolean
  /** Has `bootindex` (the floppy drive has none: the legacy boot order selects it). */
  readonly bootindex: boolean
  /** Has a tray with a removable medium (`blockdev-open-tray` works on it). */
  readonly tray: boolean
  /**
   * Needs an IO BAR (legacy NICs): behind PCIe root ports each such device costs a 4K IO window
   * of the 64K there are, so about 10 of them fit (QEMU docs/pcie.txt §3). virtio has none there.
   */
  readonly ioBar?: true
  /**
   * Passes a host SCSI device through (SG_IO): its graph is one raw node, with no filter on top,
   * since the `throttle` filter cannot pass the ioctls (Proxmox #6680). Since 0.3.0.
   */
  readonly passthrough?: true
}

const NO_IDE_HOTPLUG = 'IDE devices cannot be hot-plugged (the IDE controller has no hotplug support)'
const MACHINE_ONLY = 'a device of the machine itself: planned with the instance, never hot-plugged'

const disk = (sits: BusKind, writeCache: boolean, hotplug: true | string = true): DriverInfo => ({ role: 'disk', sits, hotplug, writeCache, bootindex: true, tray: false })
const cdrom = (sits: BusKind, hotplug: true | string = true): DriverInfo => ({ role: 'cdrom', sits, hotplug, writeCache: true, bootindex: true, tray: true })
const pciNic: DriverInfo = { role: 'nic', sits: 'pci', hotplug: true, writeCache: false, bootindex: true, tray: false }
const ioNic: DriverInfo = { ...pciNic, ioBar: true }
const scsiController: DriverInfo = { role: 'controller', sits: 'pci', provides: 'scsi', hotplug: true, writeCache: false, bootindex: false, tray: false }
const machine = (sits: BusKind, provides?: BusKind): DriverInfo => ({
  role: 'machine',
  sits,
  ...(provides === undefined ? {} : { provides }),
  hotplug: MACHINE_ONLY,
  writeCache: false,
  bootindex: false,
  tray: false
})

/**
 * Every driver the planner emits.
 *
 * @since 0.2.0
 * @category plan
 */
export const CATALOG = {
  'virtio-blk-pci': disk('pci', true),
  'scsi-hd': disk('scsi', true),
  'scsi-block': { ...disk('scsi', false), passthrough: true },
  'scsi-generic': { ...disk('scsi', false), passthrough: true },
  'ide-hd': disk('ide', true, NO_IDE_HOTPLUG),
  'scsi-cd': cdrom('scsi'),
  'ide-cd': cdrom('ide', NO_IDE_HOTPLUG),
  floppy: { role: 'floppy', sits: 'floppy', hotplug: 'the floppy drive cannot be hot-plugged', writeCache: true, bootindex: false, tray: true },
  'virtio-net-pci': pciNic,
  e1000: ioNic,
  i82551: ioNic,
  i82557b: ioNic,
  i82559er: ioNic,
  ne2k_pci: ioNic,
  pcnet: ioNic,
  rtl8139: ioNic,
  ne2k_isa: { role: 'nic', sits: 'isa', hotplug: 'ISA devices (ne2k_isa) cannot be hot-plugged', writeCache: false, bootindex: true, tray: false },
  lsi: scsiController,
  megasas: scsiController,
  'virtio-scsi-pci': scsiController,
  // On pcie.0, which refuses every hotplug (measured on 7.2): ports exist from the start.
  'pcie-root-port': { role: 'port', sits: 'pci', provides: 'pcie-port', hotplug: "Bus 'pcie.0' does not support hotplugging: root ports are planned with the instance", writeCache: false, bootindex: false, tray: false },
  VGA: machine('pci'),
  'cirrus-vga': machine('pci'),
  'virtio-vga': machine('pci'),
  'qxl-vga': machine('pci'),
  'virtio-balloon-pci': machine('pci'),
  'piix3-usb-uhci': machine('pci', 'usb'),
  'qemu-xhci': machine('pci', 'usb'),
  'usb-tablet': machine('usb'),
  'usb-mouse': machine('usb'),
  'virtio-serial-pci': machine('pci', 'virtio-serial'),
  virtserialport: machine('virtio-serial'),
  'intel-hda': machine('pci', 'hda'),
  'hda-duplex': machine('hda'),
  AC97: machine('pci'),
  ES1370: machine('pci')
} as const satisfies Readonly<Record<string, DriverInfo>>

/**
 * A driver of the catalog.
 *
 * @since 0.2.0
 * @category plan
 */
export type Driver = keyof typeof CATALOG

/**
 * Whether a name read from outside (a runtime file, `kvm_cmd`) is a catalog driver.
 *
 * @since 0.2.0
 * @category plan
 */
export const isDriver = (name: string): name is Driver => typeof name === 'string' && Object.prototype.hasOwnProperty.call(CATALOG, name)

/**
 * Names a runtime file may record for a catalog driver: Ganeti records `ide` for a disk under
 * disk_type ide, which it starts as `-drive if=ide` and QEMU makes an `ide-hd` of.
 *
 * @since 0.2.0
 */
export const GANETI_DRIVERS: Readonly<Record<string, Driver>> = { ide: 'ide-hd' }

/**
 * The catalog entry of a driver (or of the one a Ganeti name stands for); `undefined` for a
 * driver the library never emits.
 *
 * @since 0.2.0
 * @category plan
 */
export const driverInfo = (name: string): DriverInfo | undefined => {
  if (typeof name !== 'string') return undefined
  const driver = isDriver(name) ? name : Object.prototype.hasOwnProperty.call(GANETI_DRIVERS, name) ? GANETI_DRIVERS[name] : undefined
  return driver === undefined ? undefined : CATALOG[driver]
}

/**
 * Why QEMU cannot hot-plug a driver, if it cannot; `undefined` for a hot-pluggable one or one
 * outside the catalog (QEMU then decides).
 *
 * @since 0.2.0
 */
export const notHotpluggable = (name: string): string | undefined => {
  const h = driverInfo(name)?.hotplug
  return h === undefined || h === true ? undefined : h
}
