/**
 * The device tree: what the planner decides and everything downstream reads. Each device holds
 * its driver, id and tagged address ({@link Placed}) and its backend (block graph or netdev); the `-device` option and the
 * `device_add` arguments are both {@link deviceOptions} of it.
 *
 * @since 0.1.0
 */
import type { BlockGraph } from './block/node.js'
import { placedProperties, placedPropertiesOf, type Placed } from './bus/address.js'
import type { NicBackend } from './nic.js'
import type { Json, JsonObject } from './qemu-opts.js'
import type { MachineOptions } from './machine/options.js'
import type { PlanWarning } from './warnings.js'
import type { QemuVersion } from './qemu-version.js'
import { isRecord, isTreeShape, totalOr } from './total.js'

/**
 * The one SCSI controller (`id=scsi`, bus `scsi.0`).
 *
 * @since 0.1.0
 * @category plan
 */
export interface ScsiController extends Placed {
  readonly kind: 'scsi-controller'
}

/**
 * A guest device backed by a block graph: a disk, a CD-ROM or the floppy drive.
 *
 * @since 0.1.0
 * @category plan
 */
export interface BlockDevice extends Placed {
  readonly kind: 'disk' | 'cdrom' | 'floppy'
  /** The Ganeti disk uuid; empty for CD-ROMs and the floppy, which have none. */
  readonly uuid: string
  readonly graph: BlockGraph
  /** Absent on frontends without the property (scsi-block, scsi-generic, CD-ROMs). */
  readonly writeCache?: 'on' | 'off'
}

/**
 * A NIC and its backend.
 *
 * @since 0.1.0
 * @category plan
 */
export interface NicDevice extends Placed {
  readonly kind: 'nic'
  readonly uuid: string
  readonly mac: string
  readonly backend: NicBackend
  readonly vhost: boolean
  /** virtio-net queues; more than one turns on `mq` with 2·queues+2 MSI-X vectors. */
  readonly queues: number
}

/**
 * A device of the machine itself: display, balloon, USB controller and input, virtio-serial
 * and its ports. Planned with an explicit place, kept in `kvm_cmd`, never hot-plugged.
 *
 * @since 0.2.0
 * @category plan
 */
export interface MachineDevice extends Placed {
  readonly kind: 'machine'
  /** Every property beyond the place (`chardev`, `name`…). */
  readonly properties: JsonObject
}

/**
 * Any device the plan gives a `-device` option: what {@link allDevices} lists and
 * {@link deviceOptions} renders. Tell them apart by `kind`.
 *
 * @since 0.1.0
 * @category plan
 */
export type Device = ScsiController | BlockDevice | NicDevice | MachineDevice

/**
 * How the guest boots: from the device with `bootindex=1`, from the floppy (whose drive has
 * no bootindex property), from the network by the legacy boot order (`boot_order` network on an
 * instance without a NIC, as Ganeti's `-boot n`: @since 0.2.0), from a kernel given directly,
 * or as the firmware decides.
 *
 * @since 0.1.0
 * @category plan
 */
export type Boot =
  | { readonly _tag: 'device'; readonly id: string }
  | { readonly _tag: 'floppy' }
  | { readonly _tag: 'network' }
  | { readonly _tag: 'kernel'; readonly kernel: string; readonly initrd: string; readonly append: string }
  | { readonly _tag: 'none' }

/**
 * A planned instance.
 *
 * @since 0.1.0
 * @category plan
 */
export interface DeviceTree {
  readonly qemu: QemuVersion
  readonly machine: string
  readonly name: string
  readonly uuid: string
  readonly memory: number
  readonly vcpus: number
  readonly binary: string
  /** From `kvm_flag`: `disabled` means TCG; anything else KVM. `RenderOptions.accel` overrides it. */
  readonly accel: 'kvm' | 'tcg'
  readonly controllers: ReadonlyArray<ScsiController>
  readonly disks: ReadonlyArray<BlockDevice>
  readonly cdroms: ReadonlyArray<BlockDevice>
  readonly floppies: ReadonlyArray<BlockDevice>
  readonly nics: ReadonlyArray<NicDevice>
  readonly boot: Boot
  /** `kvm_extra`, split into words, appended last and never parsed for buses. */
  readonly extra: ReadonlyArray<string>
  /**
   * q35's `pcie-root-port`s, before every other device (the disks and NICs behind them need
   * their buses); empty on pc.
   */
  readonly rootPorts: ReadonlyArray<MachineDevice>
  /** The devices of the machine itself, after every disk, NIC and CD-ROM on the command line. */
  readonly machineDevices: ReadonlyArray<MachineDevice>
  /** Everything else the machine is: CPU, firmware flags, consoles, display, confinement. */
  readonly machineOptions: MachineOptions
  /** What the target QEMU deprecates, and what the input set that the library does not model. */
  readonly warnings: ReadonlyArray<PlanWarning>
}

/**
 * Every device in command-line order: controllers first (their buses must exist before the
 * devices on them), then disks and NICs — the part of the command line a runtime file keeps
 * apart, as Ganeti does — then CD-ROMs, the floppy and the devices of the machine.
 *
 * @since 0.1.0
 * @category plan
 */
export const allDevices = (tree: DeviceTree): ReadonlyArray<Device> =>
  // What is not a tree holds no devices.
  totalOr([], () => (isTreeShape(tree) ? devicesOf(tree) : []))

const devicesOf = (tree: DeviceTree): ReadonlyArray<Device> => [
  ...tree.rootPorts,
  ...tree.controllers,
  ...tree.disks,
  ...tree.nics,
  ...tree.cdroms,
  ...tree.floppies,
  ...tree.machineDevices
]

/**
 * The netdev of a NIC. `fdNames` replaces inherited fd numbers with names given to QEMU by
 * `getfd` (hotplug); at start the numbers are the ones the caller lets QEMU inherit.
 *
 * @since 0.1.0
 * @category render
 */
export const netdevOptions = (nic: NicDevice, fdNames?: FdNames): JsonObject =>
  // What is not a NIC device has no netdev: no properties, which QEMU's netdev_add refuses.
  totalOr({}, () => (isRecord(nic) && isRecord(nic.backend) ? netdevOf(nic, isRecord(fdNames) && Array.isArray(fdNames.fds) && Array.isArray(fdNames.vhostfds) ? fdNames : undefined) : {}))

type FdNames = { readonly fds: ReadonlyArray<string>; readonly vhostfds: ReadonlyArray<string> }

const netdevOf = (nic: NicDevice, fdNames: FdNames | undefined): JsonObject => {
  const id = nic.id
  const b = nic.backend
  if (b.type === 'user') return { type: 'user', id }
  const vhost = nic.vhost ? { vhost: true } : {}
  if ('ifname' in b) {
    return { type: 'tap', id, ifname: b.ifname, script: 'no', downscript: 'no', ...vhost, ...(nic.queues > 1 ? { queues: nic.queues } : {}) }
  }
  const fds = fdNames?.fds ?? b.fds.map(String)
  const vhostfds = fdNames?.vhostfds ?? b.vhostfds.map(String)
  // `fd` for one queue, `fds` for several: what Ganeti writes, and what QEMU documents.
  const tapFds = fds.length === 1 ? { fd: fds[0] ?? '' } : { fds: fds.join(':') }
  const vhostFds = vhostfds.length === 0 ? {} : vhostfds.length === 1 ? { vhostfd: vhostfds[0] ?? '' } : { vhostfds: vhostfds.join(':') }
  return { type: 'tap', id, ...tapFds, ...vhost, ...vhostFds }
}

/**
 * The `-device` / `device_add` properties of a device: its driver, id and address, then what
 * connects it to its backend, then its frontend settings. `bootindex` is given only by the command line.
 *
 * @since 0.1.0
 * @category render
 */
export const deviceOptions = (device: Device, bootindex?: number): JsonObject =>
  // What is not a device has no properties; a bootindex that is not a number is left out.
  totalOr({}, () => (isRecord(device) ? (deviceOptionsWith({ ...placedProperties(device) }, device, typeof bootindex === 'number' ? bootindex : undefined) ?? {}) : {}))

/**
 * {@link deviceOptions} of a device of a planned tree, unguarded: the renderer's.
 *
 * @since 0.3.0
 */
export const deviceOptionsOf = (device: Device, bootindex: number | undefined): JsonObject | undefined => deviceOptionsWith(placedPropertiesOf(device), device, bootindex)

/** The options of `device` onto `placed`, a fresh object of its driver, id and address. */
const deviceOptionsWith = (placed: { [key: string]: Json }, device: Device, bootindex: number | undefined): JsonObject | undefined => {
  switch (device.kind) {
    case 'scsi-controller':
      return placed
    case 'machine':
      return { ...placed, ...device.properties }
    case 'nic': {
      // Assigned in order, not spread together: the same keys in the same order (an assignment
      // to a key the object has keeps its place, as a spread does).
      const o = placed
      o['netdev'] = device.id
      o['mac'] = device.mac
      if (device.queues > 1) {
        o['mq'] = true
        o['vectors'] = 2 * device.queues + 2
      }
      if (bootindex !== undefined) o['bootindex'] = bootindex
      return o
    }
    default: {
      const o = placed
      // A CD-ROM with an empty tray names no drive.
      if (device.graph.nodes.length !== 0) o['drive'] = device.graph.top
      if (device.writeCache !== undefined) o['write-cache'] = device.writeCache
      if (bootindex !== undefined) o['bootindex'] = bootindex
      return o
    }
  }
}
