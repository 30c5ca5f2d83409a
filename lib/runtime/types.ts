/**
 * The runtime: what a running instance *is*, as recorded when it was started and updated by
 * every hotplug. Migration and restart rebuild QEMU from it alone, and hotplug derives the bus
 * state from it. On disk it is Ganeti's JSON array `[kvm_cmd, kvm_nics, hvparams, kvm_disks]`
 * plus a fifth element, the format stamp.
 *
 * @since 0.1.0
 */
import type { ObjectOptions } from '../block/object.js'
import type { BlockdevOptions } from '../block/node.js'
import type { BlockDevice, MachineDevice, ScsiController } from '../devices.js'
import type * as E from 'fp-ts/lib/Either.js'
import type { DevplanError } from '../errors.js'
import type { Hvparams } from '../hvparams.js'
import type { Placed } from '../bus/address.js'
import type { HvinfoOrder } from './hvinfo.js'
import type { JsonObject } from '../qemu-opts.js'

/**
 * Where the sections of the command line lie in `kvm_cmd`, by length: the head, then the
 * controllers, then — where the disk and NIC options go back — the other devices, then the tail.
 *
 * @since 0.2.0
 * @category runtime
 */
export interface CmdLayout {
  readonly head: number
  readonly controllers: number
  readonly devices: number
}

/**
 * A device of `kvm_cmd` (not a disk or NIC, which have records of their own) as it was planned:
 * the SCSI controller, a CD-ROM or the floppy with its current medium, a device of the machine.
 *
 * @since 0.2.0
 * @category runtime
 */
export interface CmdDevice {
  readonly device: ScsiController | BlockDevice | MachineDevice
  /** `1` on the device the instance boots from. */
  readonly bootindex?: number
}

/**
 * Who wrote a runtime file and in which format; absent in files Ganeti wrote.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface RuntimeStamp {
  /** Incremented whenever the file format changes incompatibly. */
  readonly format: number
  /** e.g. `qemu-devplan/0.1.0` */
  readonly writer: string
  /** The QEMU version the command line was rendered for, e.g. `7.2.0`. */
  readonly qemu: string
  /**
   * Format 2: the sections of `kvm_cmd` and its devices, typed. A format-1 file has neither, and
   * its devices are read from the words once, when it is decoded, as a Ganeti file's are.
   */
  readonly layout?: CmdLayout
  readonly devices?: ReadonlyArray<CmdDevice>
}

/**
 * One disk of `kvm_disks`: `[disk_dict, link_path, uri_or_null]`.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface RuntimeDisk {
  readonly uuid: string
  /** The placement (its `hvinfo`); `undefined` for a disk none was ever recorded for (`hvinfo: {}`). */
  readonly placed: Placed | undefined
  /** How the file wrote the hvinfo's keys (written back the same way); absent: Ganeti's planner order. */
  readonly hvinfoOrder?: HvinfoOrder
  /**
   * The block nodes the disk was started or hot-added with, children first (key `blockdev` of
   * the disk dict). `undefined` in files Ganeti wrote: the nodes then follow from `link`/`uri`.
   */
  readonly blockdev: ReadonlyArray<BlockdevOptions> | undefined
  /** The objects those nodes name (key `objects`: a throttle group, secrets); absent: none. Since 0.3.0. */
  readonly objects?: ReadonlyArray<ObjectOptions>
  readonly link: string
  readonly uri: string | null
  /** Every other key of the disk dict, unchanged and in its order (orchestrators keep data here). */
  readonly rest: JsonObject
}

/**
 * One NIC dict of `kvm_nics`.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface RuntimeNic {
  readonly uuid: string
  readonly mac: string
  /** The placement (its `hvinfo`); `undefined` for a NIC none was ever recorded for (`hvinfo: {}`). */
  readonly placed: Placed | undefined
  readonly hvinfoOrder?: HvinfoOrder
  /** The netdev options it was started or hot-added with (key `netdev` of the NIC dict). */
  readonly netdev: JsonObject | undefined
  readonly rest: JsonObject
}

/**
 * One word of `kvm_cmd`: a string, or a number where Ganeti wrote one (it appends
 * `beparams[maxmem]` after `-m`, and older versions `beparams[vcpus]` after `-smp`, as JSON
 * integers). Kept as it was read, so that a file written back holds the same JSON; an argv
 * always has its decimal string ({@link cmdArgv} in `cmd.ts`). Only non-negative safe integers
 * are read: their decimal string never starts with `-`, so a number can never become an option.
 *
 * @since 0.2.0
 * @category runtime
 */
export type CmdWord = string | number

/**
 * A decoded runtime.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface Runtime {
  /**
   * `kvm_cmd`: the command line without the disk and NIC options, numbers where the file had
   * numbers (since 0.2.0; before, such a file was refused). Turn it into argv with `cmdArgv`.
   */
  readonly cmd: ReadonlyArray<CmdWord>
  readonly nics: ReadonlyArray<RuntimeNic>
  /** The hvparams the instance runs with, as stored (written back as they were read). */
  readonly hvparams: JsonObject
  /**
   * The same hvparams decoded once, when the runtime was read or recorded: defaults filled,
   * values Ganeti retired read leniently, Ganeti's cache override under native aio applied.
   * They win over the current config. A file whose hvparams this library cannot render is still
   * read (and upgraded, downgraded, written back): `Left` says why, to whatever needs them.
   */
  readonly params: E.Either<DevplanError, Hvparams>
  readonly disks: ReadonlyArray<RuntimeDisk>
  readonly stamp: RuntimeStamp | undefined
}
