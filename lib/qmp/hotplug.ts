/**
 * Hot-add and hot-remove as QMP plans. The place comes from the running instance's bus state
 * (derived from its runtime); the `blockdev-add`, `netdev_add` and `device_add` arguments come
 * from the same functions as the command line, so a hot-added device is the device it would have
 * been at start. Every step knows its undo, and every plan can be run again: errors meaning
 * "already so" count as success, which also makes the removal of disks started with `-drive`
 * (whose backend QEMU drops by itself) work.
 *
 * @since 0.1.0
 */
import { objectAdd, objectDel } from './graph-commands.js'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { place } from '../bus/state.js'
import { CATALOG, driverInfo, notHotpluggable, type Driver } from '../devices/catalog.js'
import { SCSI_CONTROLLER_ID } from '../bus/scsi.js'
import { deviceOptions, netdevOptions, type BlockDevice } from '../devices.js'
import { fieldError, invalidInput, type DevplanError, type FieldError } from '../errors.js'
import { MASTER_KEY_ID } from '../block/source.js'
import { isRecord, optionsArg, prop, runtimeArg, totalE } from '../total.js'
import { migrationRefusal } from './migration-status.js'
import type { IoSpaceWarning } from '../warnings.js'
import { type Hvparams } from '../hvparams.js'
import { diskDriver, nicDriver } from '../devices/drivers.js'
import { passthroughErrors, type Disk } from '../disk.js'
import { nicErrors, nicWarnings, type Nic } from '../nic.js'
import { diskDevice, graphWarnings, nicDevice, passthroughCacheWarnings, unthrottledErrors } from '../devices/build.js'
import { parseVersion, type QemuVersion } from '../qemu-version.js'
import { runtimeBusState, runtimeCmdDevices, runtimeHvparams, runtimeHasId } from '../runtime/bus.js'
import { diskRecord, nicRecord } from '../runtime/devices.js'
import type { Runtime } from '../runtime/types.js'
import { blockdevAdd, blockdevDel, closefd, deviceAdd, deviceDel, getfd, netdevAdd, netdevDel } from './commands.js'
import { commandStep, type PlanStep, type QmpPlan, type Undo } from './plan.js'
import { DEVICE_GONE, FD_GONE, NETDEV_GONE, NODE_GONE, OBJECT_GONE, OBJECT_THERE, STILL_RELEASING } from './already.js'
import { chain } from '../hot.js'

/**
 * What to hot-add: a disk or a NIC, decoded with `decodeDisk` / `decodeNic`.
 *
 * @since 0.1.0
 * @category hotplug
 */
export type HotAddRequest = { readonly disk: Disk } | { readonly nic: Nic }

/**
 * Options of {@link planHotAdd} and {@link planHotRemove}. Both may wait for a guest to release a
 * device; this bounds the wait.
 *
 * @since 0.1.0
 * @category hotplug
 */
export interface HotplugOptions {
  /**
   * How long a removal waits for `DEVICE_DELETED` before it ends `Pending` (the executor measures
   * it). libvirt waits 5 s; SCSI devices without a guest go at once, PCI ones wait for the guest.
   * A hot-add uses it too, when a rollback has to take back its `device_add`. Default 5000.
   */
  readonly unplugTimeoutMs?: number
  /**
   * The version of the QEMU the instance runs on, for the warnings of what it deprecates.
   * Default: the version in the runtime's stamp; a runtime Ganeti wrote has none, and its plans
   * then carry no such warning.
   */
  readonly qemu?: QemuVersion
  /**
   * The status of the instance's migration, as `query-migrate` says it (`none`, `active`, …).
   * While one is in progress the plan is refused (`MigrationInProgress`): QEMU itself refuses
   * `device_add` and `device_del` then, and a change the target was not started with would be
   * lost. Default: none in progress. Since 0.3.0.
   */
  readonly migration?: string
}

const runningQemu = (rt: Runtime, options: HotplugOptions): QemuVersion | undefined =>
  options.qemu ?? (rt.stamp === undefined ? undefined : parseVersion(rt.stamp.qemu))

/**
 * `Left` `MigrationInProgress` when `options.migration` says a migration is in progress.
 *
 * @since 0.3.0
 */
export const notMigrating = (device: string, options: { readonly migration?: unknown }): E.Either<DevplanError, void> => {
  const refused = migrationRefusal(device, prop(options, 'migration'))
  return refused === undefined ? E.right(undefined) : E.left(refused)
}

/**
 * The unplug wait of `options`, checked: the executor measures it.
 *
 * @since 0.2.0
 */
export const unplugTimeout = (options: HotplugOptions): E.Either<DevplanError, number> => {
  const t = options.unplugTimeoutMs ?? 5000
  // The executor measures it; NaN or Infinity would make a simple executor wait for ever.
  return Number.isFinite(t) && t >= 0
    ? E.right(t)
    : E.left(invalidInput([{ path: 'options.unplugTimeoutMs', value: t, message: 'expected a finite number of milliseconds, 0 or more' }]))
}

/** Undoing a device_add is an unplug: it is done when DEVICE_DELETED arrives, not when accepted. */
const undoDeviceAdd = (id: string, timeoutMs: number): Undo => ({ command: deviceDel(id), alreadyDone: DEVICE_GONE, awaitDeleted: { id, timeoutMs } })

const unsupported = (device: string, reason: string): E.Either<DevplanError, never> => E.left({ _tag: 'Unsupported', device, reason })

const hasScsiController = (rt: Runtime): boolean => runtimeCmdDevices(rt).some((d) => d.id === SCSI_CONTROLLER_ID)

const checkTarget = (rt: Runtime, kind: 'disk' | 'nic', uuid: string, id: string, driver: Driver): E.Either<DevplanError, void> => {
  const why = notHotpluggable(driver)
  if (why !== undefined) return unsupported(id, why)
  if (CATALOG[driver].sits === 'scsi' && !hasScsiController(rt)) {
    return unsupported(id, `${driver} needs the SCSI controller (id "${SCSI_CONTROLLER_ID}"), and this instance was started without one`)
  }
  if (runtimeHasId(rt, id)) return E.left({ _tag: 'DuplicateId', id })
  // A uuid recorded under another id (a legacy one) is the same device: decodeRuntime would
  // refuse the runtime this plan produces.
  const wanted = uuid.toLowerCase()
  // An ASCII first character lowercases on its own: one that differs rules a uuid out without
  // lowercasing all of it (200 recorded devices, 200 lowercasings per hot-add otherwise).
  const first = wanted.charCodeAt(0)
  const same = (u: string): boolean => {
    const c = u.charCodeAt(0)
    if (c < 128 && (c >= 65 && c <= 90 ? c + 32 : c) !== first) return false
    return u.toLowerCase() === wanted
  }
  if (rt.disks.some((d) => same(d.uuid)) || rt.nics.some((n) => same(n.uuid))) {
    return E.left(invalidInput([{ path: `${kind}.uuid`, value: uuid, message: 'is the uuid of a device the instance has already' }]))
  }
  return E.right(undefined)
}

const addDiskSteps = (dev: BlockDevice, timeoutMs: number): ReadonlyArray<PlanStep> => [
  ...(dev.graph.objects ?? []).map((o) =>
    commandStep(`object-add ${o['qom-type']} ${o.id}`, objectAdd(o), { command: objectDel(o.id), alreadyDone: OBJECT_GONE, retryOn: STILL_RELEASING }, { alreadyDone: OBJECT_THERE })
  ),
  ...dev.graph.nodes.map((n) =>
    commandStep(`blockdev-add ${n['node-name']} (${n.driver})`, blockdevAdd(n), { command: blockdevDel(n['node-name']), alreadyDone: NODE_GONE })
  ),
  commandStep(`device_add ${dev.driver} ${dev.id}`, deviceAdd(deviceOptions(dev)), undoDeviceAdd(dev.id, timeoutMs))
]

/**
 * An encrypted secret names the master key the instance started with: without it in the
 * runtime's command line, `object-add` would fail ("No secret with id …") after nothing else.
 */
const masterKeyErrors = (rt: Runtime, disk: Disk): ReadonlyArray<FieldError> => {
  const encrypted = disk.source._tag === 'remote' && (disk.source.objects ?? []).some((o) => o['qom-type'] === 'secret' && 'data' in o)
  const started = rt.cmd.some((w) => typeof w === 'string' && (w.includes(`"id":"${MASTER_KEY_ID}"`) || w.includes(`id=${MASTER_KEY_ID},`)))
  return encrypted && !started
    ? [{ path: 'disk.source', value: disk.uuid, message: `a secret given as encrypted data needs the master key secret "${MASTER_KEY_ID}", which this instance was not started with (target.host.secretMasterKey): give the secret as a file instead, or restart the instance with the master key` }]
    : []
}

const planAddDisk = (rt: Runtime, h: Hvparams, disk: Disk, timeoutMs: number, qemu: QemuVersion | undefined): E.Either<DevplanError, QmpPlan> => {
  const driver = diskDriver(h.disk_type)
  const errors = [...passthroughErrors(disk, driver, 'disk'), ...unthrottledErrors(h, qemu, driver), ...masterKeyErrors(rt, disk)]
  if (errors.length > 0) return E.left(invalidInput(errors))
  return pipe(
    checkTarget(rt, 'disk', disk.uuid, disk.id, driver),
    chain(() => runtimeBusState(rt)),
    chain(place(driver, disk.id)),
    E.map(([hvinfo]) => {
      const dev = diskDevice(disk, hvinfo, h, qemu)
      return {
        title: `hot-add disk ${disk.id}`,
        steps: addDiskSteps(dev, timeoutMs),
        before: rt,
        // A plain spread: a draft would walk every recorded disk when it is finalized.
        after: { ...rt, disks: [...rt.disks, diskRecord(disk, hvinfo, dev.graph)] },
        warnings: [...(disk.warnings ?? []), ...(qemu === undefined ? [] : graphWarnings(dev.graph, disk.from === 'source' ? 'disk.source' : 'disk.uri', qemu)), ...passthroughCacheWarnings(h, [disk], 'the disk')]
      }
    })
  )
}

const fdSteps = (id: string, fds: ReadonlyArray<number>, prefix: string): { readonly names: ReadonlyArray<string>; readonly steps: ReadonlyArray<PlanStep> } => {
  const names = fds.map((_, i) => `${prefix}${i}`)
  return {
    names,
    steps: fds.map((fd, i) =>
      // netdev_add consumes the names it uses, so closing one afterwards finds nothing: fine.
      commandStep(`getfd ${names[i] ?? ''} for ${id}`, getfd(names[i] ?? ''), { command: closefd(names[i] ?? ''), alreadyDone: FD_GONE }, { fd })
    )
  }
}

/** q35: the firmware gave the empty spare port no IO window (measured on 7.2: SeaBIOS, no io-reserve). */
const ioBarHotAdd = (driver: Driver): IoSpaceWarning => ({
  _tag: 'IoSpace',
  path: 'hvparams.nic_type',
  value: driver,
  message: `${driver} needs an IO BAR, and a spare pcie-root-port got no IO window from the firmware: the guest may find the hot-added NIC without its IO BAR. Use nic_type "paravirtual" (virtio needs none)`
})

const planAddNic = (rt: Runtime, h: Hvparams, nic: Nic, timeoutMs: number): E.Either<DevplanError, QmpPlan> => {
  const driver = nicDriver(h.nic_type)
  const holder = rt.nics.find((n) => n.mac.toLowerCase() === nic.mac)
  const errors = [
    ...nicErrors(nic, h, 'nic'),
    ...(holder === undefined ? [] : [{ path: 'nic.mac', value: nic.mac, message: `is the MAC address of ${holder.placed?.id ?? holder.uuid} already` }])
  ]
  if (errors.length > 0) return E.left(invalidInput(errors))
  return pipe(
    checkTarget(rt, 'nic', nic.uuid, nic.id, driver),
    chain(() => runtimeBusState(rt)),
    chain(place(driver, nic.id)),
    E.map(([hvinfo, s]) => {
      const dev = nicDevice(nic, hvinfo, h)
      const b = nic.backend
      const taps = b.type === 'tap' && 'fds' in b ? fdSteps(nic.id, b.fds, `${nic.id}-`) : { names: [], steps: [] }
      const vhosts = b.type === 'tap' && 'fds' in b ? fdSteps(nic.id, b.vhostfds, `${nic.id}-vhost-`) : { names: [], steps: [] }
      const netdev = b.type === 'tap' && 'fds' in b ? netdevOptions(dev, { fds: taps.names, vhostfds: vhosts.names }) : netdevOptions(dev)
      return {
        title: `hot-add nic ${nic.id}`,
        steps: [
          ...taps.steps,
          ...vhosts.steps,
          commandStep(`netdev_add ${String(netdev['type'])} ${nic.id}`, netdevAdd(netdev), { command: netdevDel(nic.id), alreadyDone: NETDEV_GONE }),
          commandStep(`device_add ${driver} ${nic.id}`, deviceAdd(deviceOptions(dev)), undoDeviceAdd(nic.id, timeoutMs))
        ],
        before: rt,
        // The record keeps what a start would render (the caller's fd numbers), not the getfd
        // names, which netdev_add consumes: a restart or migration gets fresh fds.
        after: { ...rt, nics: [...rt.nics, nicRecord(nic, hvinfo, netdevOptions(dev))] },
        // The runtime's hvparams decide, as at start: what Ganeti ignores there is ignored here.
        warnings: [...nicWarnings(h), ...(s.ports !== undefined && driverInfo(driver)?.ioBar === true ? [ioBarHotAdd(driver)] : [])]
      }
    })
  )
}

/**
 * Plans a hot-add on a running instance: the device is placed on the bus state derived from
 * `runtime`, with the runtime's own hvparams (they win over the current config). `Left` for a
 * device that cannot be hot-plugged (IDE, floppy, `ne2k_isa`), an id in use, or a full bus.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeDisk, decodeInstance, formatError, planDevices, planHotAdd, toRuntime } from 'qemu-devplan'
 *
 * // The runtime of the running instance: recorded at its start (or parseRuntime of its file).
 * const runtime = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * const plan = pipe(
 *   runtime,
 *   E.chain((rt) => pipe(decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/vm1-data' }), E.chain((disk) => planHotAdd(rt, { disk }))))
 * )
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * for (const step of plan.right.steps) console.log(step.description)
 * // blockdev-add disk-3c9d1e7a-5b2f-4a8c-file (host_device)
 * // blockdev-add disk-3c9d1e7a-5b2f-4a8c (raw)
 * // device_add scsi-hd disk-3c9d1e7a-5b2f-4a8c
 * ```
 *
 * @since 0.1.0
 * @category hotplug
 */
export const planHotAdd = (runtime: Runtime, request: HotAddRequest, options?: HotplugOptions): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    chain(() => requestArg(request)),
    chain(() => optionsArg('options', options)),
    chain((o) =>
      // Past the shape checks, a throw comes from inside a hand-built disk or NIC far more often
      // than from a decoded runtime: the request is named.
      totalE('request', () =>
        pipe(
          notMigrating('disk' in request ? request.disk.id : request.nic.id, o),
          chain(() => unplugTimeout(o)),
          E.bindTo('timeoutMs'),
          E.apS('h', runtimeHvparams(runtime)),
          chain(({ h, timeoutMs }) => ('disk' in request ? planAddDisk(runtime, h, request.disk, timeoutMs, runningQemu(runtime, o)) : planAddNic(runtime, h, request.nic, timeoutMs)))
        )
      )
    )
  )

// A disk or NIC given in code is trusted as decoded (decodeDisk, decodeNic); only the request's
// own shape is checked, so that `{}` or a typo such as `{ disks: … }` is named.
const requestArg = (request: unknown): E.Either<DevplanError, true> =>
  totalE('request', () =>
    isRecord(request) && (isRecord(request['disk']) || isRecord(request['nic'])) && !(isRecord(request['disk']) && isRecord(request['nic']))
      ? E.right(true)
      : E.left(fieldError('request', request, 'expected { disk } (from decodeDisk) or { nic } (from decodeNic)'))
  )
