/**
 * From a runtime alone back to devices and to the command line: what a migration target or a
 * restart runs. Devices are rendered by the same {@link deviceArgs} as at start, from the
 * recorded hvinfo, nodes and netdev, so the argv of a runtime that {@link toRuntime} recorded
 * is the argv the instance was started with, byte for byte. For files Ganeti wrote, which
 * record no nodes and no netdev, the nodes are derived from the link or URI with the planner's
 * own functions, and the NIC backends come from the caller.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { deviceArgs } from '../argv.js'
import type { BlockGraph, ImageSource } from '../block/node.js'
import { parseHttpUri, parseUri } from '../block/uri.js'
import { diskCacheFor } from '../block/cache.js'
import { SCSI_CONTROLLER_ID } from '../bus/scsi.js'
import { parseStructured } from '../qemu-opts.js'
import type { BlockDevice, NicDevice } from '../devices.js'
import { guarded } from '../codecs.js'
import { fieldError, invalidInput, type DevplanError } from '../errors.js'
import type { Placed } from '../bus/address.js'
import { driverInfo } from '../devices/catalog.js'
import type { Hvparams } from '../hvparams.js'
import { localSource, type Disk } from '../disk.js'
import { decodeNicBackend, type NicBackend } from '../nic.js'
import { diskDevice, diskGraph, nicDevice, writeCacheFor } from '../devices/build.js'
import { parseVersion, type QemuVersion } from '../qemu-version.js'
import { runtimeHvparams } from './bus.js'
import { cmdArgv } from './cmd.js'
import { netdevBackend } from './netdev.js'
import { confinedCmd } from './confinement.js'
import type { CmdWord, Runtime, RuntimeDisk, RuntimeNic } from './types.js'
import { optionsArg, runtimeArg, totalE } from '../total.js'
import { chain } from '../hot.js'

/**
 * What a runtime without a stamp (written by Ganeti) does not say.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface RebuildOptions {
  /** The QEMU version to render for; a stamped runtime's own version wins. */
  readonly qemu?: QemuVersion
  /** The backend of a NIC that has no recorded netdev (Ganeti opened its taps itself). */
  /**
   * Where QEMU is confined under hvparams `use_chroot` when a file Ganeti 3.1 wrote has no
   * `-chroot` (Ganeti adds it at start): `…/kvm-hypervisor/chroot/<name>`.
   */
  readonly chrootDir?: string
  /** Its answer is decoded as a spec's backend would be (`vhostfds` defaults to none). */
  readonly nicBackend?: (nic: RuntimeNic, index: number) => NicBackend
}

/** The `-mon` this library renders right before the devices; `toRuntime` cuts there. */
export const QMP_MONITOR: readonly [string, string] = ['-mon', 'chardev=qmp,mode=control']


/** disk_type scsi-cd makes disks of CD frontends: a recorded disk may have either role. */
const DISK_ROLES: ReadonlySet<string> = new Set(['disk', 'cdrom'])

const unsupported = (device: string, reason: string): DevplanError => ({ _tag: 'Unsupported', device, reason })

/** Ganeti's disk template of a disk dict, `""` when it names none. */
const devTypeOf = (d: RuntimeDisk): string => (typeof d.rest['dev_type'] === 'string' ? d.rest['dev_type'] : '')

/** Ganeti's `dev_type` of a disk dict → file or block device (its link is a symlink to either). */
const kindOf = (devType: unknown): '' | 'file' | 'block' =>
  devType === 'file' || devType === 'sharedfile' || devType === 'gluster'
    ? 'file'
    : devType === 'plain' || devType === 'drbd' || devType === 'drbd8' || devType === 'blockdev' || devType === 'rbd' || devType === 'ext'
      ? 'block'
      : ''

/**
 * A disk that records no nodes (a file Ganeti wrote) as the planner's {@link Disk}: a raw image
 * at the userspace URI if there is one, else at the link (a block device unless its `dev_type`
 * says file), named after the device, read-only when its `mode` is `ro`.
 *
 * @since 0.1.0
 */
export const derivedDisk = (d: RuntimeDisk, placed: Placed, at: string): E.Either<DevplanError, Disk> => {
  let source: ImageSource
  // An http(s) image is recorded by its URL, as uri or (a typed source, a CD-ROM) as link.
  const http = (d.uri === null || d.uri === '' ? undefined : parseHttpUri(d.uri)) ?? (d.uri === null || d.uri === '' ? parseHttpUri(d.link) : undefined)
  if (http !== undefined) {
    if (E.isLeft(http)) return E.left(fieldError(`${at}.uri`, d.uri, http.left))
    source = { _tag: 'url', ...http.right }
  } else if (d.uri !== null && d.uri !== '') {
    const r = parseUri(d.uri)
    if (E.isLeft(r)) return E.left(fieldError(`${at}.uri`, d.uri, r.left))
    source = { _tag: 'remote', remote: r.right }
  } else if (d.link.startsWith('/')) {
    source = localSource(d.link, kindOf(d.rest['dev_type']))
  } else {
    return E.left(fieldError(`${at}.link`, d.link, 'a disk without recorded nodes needs its link path (or a userspace uri)'))
  }
  return E.right({ uuid: d.uuid, id: placed.id, name: '', readOnly: d.rest['mode'] === 'ro' || source._tag === 'url', source, uri: d.uri, link: d.link, format: 'raw', backing: [], devType: devTypeOf(d) })
}

/**
 * The nodes an older reader (or this library, for a file without recorded nodes) opens for a
 * disk: the planner's {@link diskGraph} of {@link derivedDisk}, with the runtime's cache, aio and
 * discard.
 *
 * @since 0.1.0
 */
export const derivedGraph = (d: RuntimeDisk, placed: Placed, h: Hvparams, at: string): E.Either<DevplanError, BlockGraph> =>
  E.map((disk: Disk) => diskGraph(disk, h))(derivedDisk(d, placed, at))

/**
 * One recorded disk as a device, for `device_add` and the command line. `Left` for a disk with
 * no recorded placement (`hvinfo: {}`, a pre-hotplug Ganeti disk QEMU placed itself) or a driver
 * this library does not render.
 *
 * @since 0.1.0
 */
export const runtimeBlockDevice = (d: RuntimeDisk, at: string, h: Hvparams, idePlace?: number): E.Either<DevplanError, BlockDevice> => {
  const recorded = d.placed
  if (recorded === undefined) return E.left(unsupported(`${at} (${d.uuid})`, 'no placement recorded (hvinfo {}): QEMU placed it when Ganeti started the instance, so no command line can put it back for certain; restart the instance from a new plan'))
  const p = recorded.driver === GANETI_IDE ? ganetiIdeDisk(recorded, idePlace) : recorded
  if (p === undefined) return E.left(unsupported(recorded.id, 'an IDE disk of Ganeti past the fourth IDE place (ide.0/ide.1 × 2), which QEMU refuses'))
  if (!DISK_ROLES.has(driverInfo(p.driver)?.role ?? '')) return E.left(unsupported(p.id, `driver ${JSON.stringify(p.driver)} is not a disk frontend this library renders`))
  if (d.blockdev === undefined) return E.map((disk: Disk) => diskDevice(disk, p, h))(derivedDisk(d, p, at))
  const writeCache = writeCacheFor(p.driver, diskCacheFor(h.disk_cache, devTypeOf(d)))
  return E.right({ kind: 'disk', uuid: d.uuid, ...p, graph: { top: p.id, nodes: d.blockdev, ...(d.objects === undefined ? {} : { objects: d.objects }) }, ...(writeCache === undefined ? {} : { writeCache }) })
}

/**
 * The disks of a runtime as devices (each as `runtimeBlockDevice` rebuilds it).
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeBlockDevices = (rt: Runtime): E.Either<DevplanError, ReadonlyArray<BlockDevice>> =>
  pipe(
    runtimeArg('runtime', rt),
    chain(() => totalE('runtime', () => blockDevicesOf(rt)))
  )

const blockDevicesOf = (rt: Runtime): E.Either<DevplanError, ReadonlyArray<BlockDevice>> =>
  pipe(
    runtimeHvparams(rt),
    chain((h) => {
      // Ganeti's IDE disks follow the IDE drives of kvm_cmd (its CD-ROMs) in QEMU's order.
      const first = ideDrivesIn(rt.cmd)
      const ideIndex = (i: number): number => first + rt.disks.slice(0, i).filter((d) => d.placed?.driver === GANETI_IDE).length
      return E.sequenceArray(rt.disks.map((d, i) => runtimeBlockDevice(d, `disks[${i}]`, h, ideIndex(i))))
    })
  )

/** The driver Ganeti records for a disk under disk_type ide, which it starts as `-drive if=ide`. */
const GANETI_IDE = 'ide'

/** How many `-drive …,if=ide` a `kvm_cmd` holds: each takes the next IDE place, in order. */
const ideDrivesIn = (cmd: ReadonlyArray<CmdWord>): number =>
  cmd.filter((w, i) => i > 0 && cmd[i - 1] === '-drive' && typeof w === 'string' && /(^|,)if=ide(,|$)/.test(w)).length

/**
 * A disk Ganeti recorded with driver `ide` (and a PCI slot QEMU never used): Ganeti starts it
 * as `-drive if=ide`, which QEMU puts at the next IDE place, ide.0 unit 0 first. It is rebuilt
 * as the `ide-hd` QEMU made of it, at that place.
 */
const ganetiIdeDisk = (p: Placed, index: number | undefined): Placed | undefined =>
  index === undefined || index > 3 ? undefined : { driver: 'ide-hd', id: p.id, address: { _tag: 'unit', bus: `ide.${index >> 1}`, unit: index & 1 } }

/**
 * One recorded NIC as a device. The backend is the recorded netdev's; for a NIC without one
 * (Ganeti) it comes from `nicBackend`, and vhost and queues follow the runtime's hvparams as the
 * planner sets them.
 *
 * @since 0.1.0
 */
export const runtimeNicDevice = (n: RuntimeNic, i: number, h: Hvparams, nicBackend: RebuildOptions['nicBackend']): E.Either<DevplanError, NicDevice> => {
  const at = `nics[${i}]`
  const hv = n.placed
  if (hv === undefined) return E.left(unsupported(`${at} (${n.uuid})`, 'no placement recorded (hvinfo {}): QEMU placed it when Ganeti started the instance; restart the instance from a new plan'))
  if (driverInfo(hv.driver)?.role !== 'nic') return E.left(unsupported(hv.id, `driver ${JSON.stringify(hv.driver)} is not a NIC this library renders`))
  const base = { kind: 'nic', uuid: n.uuid, ...hv, mac: n.mac } as const
  if (n.netdev !== undefined) {
    return pipe(
      netdevBackend(n.netdev, hv, n.mac),
      E.bimap((reason) => fieldError(`${at}.netdev`, n.netdev, reason), (b): NicDevice => ({ ...base, ...b }))
    )
  }
  if (nicBackend === undefined) return E.left(fieldError(`${at}.netdev`, undefined, 'no netdev recorded (a runtime Ganeti wrote): pass options.nicBackend to say how this NIC reaches the host'))
  // The caller's answer is outside input like the spec's backends: decoded, never trusted, and
  // a callback that throws is an error, not an exception.
  return pipe(
    guarded(() => E.mapLeft(invalidInput)(decodeNicBackend(nicBackend(n, i), `options.nicBackend(${at})`))),
    E.map((backend) => nicDevice({ uuid: n.uuid, id: hv.id, name: '', mac: n.mac, backend }, hv, h))
  )
}

/**
 * The NICs of a runtime as devices (each as `runtimeNicDevice` rebuilds it).
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeNicDevices = (rt: Runtime, options?: RebuildOptions): E.Either<DevplanError, ReadonlyArray<NicDevice>> =>
  pipe(
    runtimeArg('runtime', rt),
    chain(() => optionsArg('options', options)),
    chain((o) => totalE('runtime', () => nicDevicesOf(rt, o)))
  )

const nicDevicesOf = (rt: Runtime, options: RebuildOptions): E.Either<DevplanError, ReadonlyArray<NicDevice>> =>
  pipe(
    runtimeHvparams(rt),
    chain((h) => E.sequenceArray(rt.nics.map((n, i) => runtimeNicDevice(n, i, h, options.nicBackend))))
  )

/**
 * The recorded device that gets `bootindex=1`, as the planner chooses it: the first disk
 * (`boot_order` disk) or NIC (network), unless a kernel is booted.
 *
 * @since 0.1.0
 */
export const runtimeBootId = (rt: Runtime, h: Hvparams): string | undefined =>
  h.kernel_path !== '' ? undefined : h.boot_order === 'disk' ? rt.disks[0]?.placed?.id : h.boot_order === 'network' ? rt.nics[0]?.placed?.id : undefined

/**
 * Where the disk and NIC options go in `kvm_cmd`: after the head and the controllers, as the
 * stamp's layout says; in a format-1 file right after the `-mon` of the QMP socket and the
 * controllers that follow it; at the end of Ganeti's `kvm_cmd`, to which Ganeti appended them.
 *
 * @since 0.1.0
 */
export const devicesPosition = (rt: Runtime): number | 'end' => {
  const layout = rt.stamp?.layout
  return layout !== undefined ? layout.head + layout.controllers : legacyDevicesPosition(rt.cmd)
}

/** A format-1 file has no layout: its own words say where its head ends. */
const legacyDevicesPosition = (cmd: ReadonlyArray<CmdWord>): number | 'end' => {
  const mon = cmd.findIndex((w, i) => w === QMP_MONITOR[0] && cmd[i + 1] === QMP_MONITOR[1])
  if (mon < 0) return 'end'
  // The controllers are read from the command line itself, not re-derived from hvparams, which a
  // medium change may have changed since (an ejected SCSI CD-ROM keeps its controller).
  let at = mon + 2
  const value = (i: number): string => {
    const w = cmd[i]
    return typeof w === 'string' ? w : ''
  }
  while (cmd[at] === '-device' && parseStructured(value(at + 1))?.['id'] === SCSI_CONTROLLER_ID) at += 2
  return at
}

/**
 * The complete command line of a runtime: `kvm_cmd` (numbers as decimal strings) with every recorded disk (`-blockdev`s,
 * `-device`) and NIC (`-netdev`, `-device`) put back, rendered by the renderer of
 * {@link renderArgv} in the syntax of the QEMU the stamp names (`options.qemu` for a runtime
 * without stamp); `write-cache` from the runtime's `disk_cache` and each driver; `bootindex=1`
 * on the first disk (`boot_order` disk) or NIC (network) unless a kernel is booted.
 *
 * For a runtime from {@link toRuntime} it equals `renderArgv` of the plan byte for byte. For a
 * Ganeti file the devices are appended, NICs first, as Ganeti's `_ExecuteKVMRuntime` does
 * (with `-net none` when there is no NIC, which Ganeti adds too); what Ganeti adds from the
 * current config at execution time (`-runas`, `-k`, `-incoming`, `-qmp` sockets, `-S`) stays
 * the caller's.
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeArgv = (rt: Runtime, options?: RebuildOptions): E.Either<DevplanError, ReadonlyArray<string>> =>
  pipe(
    runtimeArg('runtime', rt),
    chain(() => optionsArg('options', options)),
    chain((o) => totalE('runtime', () => argvOf(rt, o)))
  )

const argvOf = (rt: Runtime, options: RebuildOptions): E.Either<DevplanError, ReadonlyArray<string>> => {
  const qemu = rt.stamp !== undefined ? parseVersion(rt.stamp.qemu) : options.qemu
  if (qemu === undefined) return E.left(fieldError('stamp', undefined, 'a runtime without a stamp (written by Ganeti) needs options.qemu, the QEMU version to render for'))
  return pipe(
    E.Do,
    E.apS('h', runtimeHvparams(rt)),
    E.apS('disks', runtimeBlockDevices(rt)),
    E.apS('nics', runtimeNicDevices(rt, options)),
    chain(({ h, disks, nics }) => {
      const boot = runtimeBootId(rt, h)
      const render = (d: BlockDevice | NicDevice): ReadonlyArray<string> => deviceArgs(qemu, d, d.id === boot ? 1 : undefined)
      const diskWords = disks.flatMap(render)
      const nicWords = nics.length === 0 ? [] : nics.flatMap(render)
      const at = devicesPosition(rt)
      // Numbers of kvm_cmd (Ganeti's -m <maxmem>) become their decimal strings here.
      const cmd = cmdArgv(rt.cmd)
      // A file Ganeti wrote: its confinement in the target's form (this library renders its own).
      if (at === 'end') return E.map((c: ReadonlyArray<string>) => [...c, ...(nics.length === 0 ? ['-net', 'none'] : nicWords), ...diskWords])(confinedCmd(cmd, h, qemu, options.chrootDir))
      return E.right([...cmd.slice(0, at), ...diskWords, ...nicWords, ...cmd.slice(at)])
    })
  )
}
