/**
 * Hot-remove as a QMP plan: `device_del`, the wait for `DEVICE_DELETED` of that id (a guest must
 * release a PCI device), then the device's block nodes or netdev. Each step undoes by re-creating
 * what it removed, as it was.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { teardownOrder } from '../block/node.js'
import { notHotpluggable } from '../devices/catalog.js'
import { deviceOptions, type BlockDevice, type NicDevice } from '../devices.js'
import { fieldError, type DevplanError } from '../errors.js'
import { optionsArg, runtimeArg, totalE } from '../total.js'
import type { NicBackend } from '../nic.js'
import { cmdDevices, runtimeCmdDevices, runtimeHvparams } from '../runtime/bus.js'
import { nodesByName } from '../runtime/devices.js'
import { runtimeBlockDevice, runtimeBootId, runtimeNicDevice } from '../runtime/rebuild.js'
import type { Runtime, RuntimeDisk, RuntimeNic } from '../runtime/types.js'
import { blockdevAdd, blockdevDel, deviceAdd, deviceDel, netdevAdd, netdevDel } from './commands.js'
import { DEVICE_GONE, DEVICE_THERE, NETDEV_GONE, NETDEV_THERE, NODE_GONE, NODE_THERE, OBJECT_GONE, OBJECT_THERE, STILL_RELEASING } from './already.js'
import { objectAdd, objectDel } from './graph-commands.js'
import { notMigrating, unplugTimeout, type HotplugOptions } from './hotplug.js'
import { commandStep, type PlanStep, type QmpPlan } from './plan.js'
import { chain } from '../hot.js'

const unsupported = (device: string, reason: string): E.Either<DevplanError, never> => E.left({ _tag: 'Unsupported', device, reason })

const unplug = (id: string, timeoutMs: number, readd: ReturnType<typeof deviceOptions>): PlanStep => ({
  _tag: 'unplug',
  description: `device_del ${id}, then wait for its DEVICE_DELETED`,
  id,
  command: deviceDel(id),
  alreadyDone: DEVICE_GONE,
  stillPending: [{ desc: 'in the process of unplug' }],
  timeoutMs,
  // Re-created only once the runner has seen the device gone (DEVICE_DELETED or qom-list), so a
  // duplicate id here means the device_del never took effect: the device is there, as wanted.
  undo: { command: deviceAdd(readd), alreadyDone: DEVICE_THERE, retryOn: STILL_RELEASING }
})

const removeDiskSteps = (d: RuntimeDisk, dev: BlockDevice, timeoutMs: number, bootindex: number | undefined): ReadonlyArray<PlanStep> => {
  const byName = nodesByName(dev.graph.nodes)
  // Every node is deleted by name, top first. A disk without recorded nodes (a Ganeti record)
  // has the names runtimeArgv gives its derived nodes when this library started it; if Ganeti
  // started it with -drive, the nodes are gone with the device and each step is already done.
  return [
    unplug(dev.id, timeoutMs, deviceOptions(dev, bootindex)),
    ...teardownOrder(dev.graph).map((name) => {
      const node = d.blockdev === undefined ? undefined : byName.get(name)
      return commandStep(`blockdev-del ${name}`, blockdevDel(name), node === undefined ? undefined : { command: blockdevAdd(node), alreadyDone: NODE_THERE }, { alreadyDone: NODE_GONE, retryOn: STILL_RELEASING })
    }),
    // Objects go last: a node that names one holds it ("… is in use, can not be deleted").
    ...(dev.graph.objects ?? []).map((o) =>
      commandStep(`object-del ${o.id}`, objectDel(o.id), { command: objectAdd(o), alreadyDone: OBJECT_THERE }, { alreadyDone: OBJECT_GONE, retryOn: STILL_RELEASING })
    )
  ]
}

const removeNicSteps = (n: RuntimeNic, dev: NicDevice, timeoutMs: number, bootindex: number | undefined): ReadonlyArray<PlanStep> => {
  // A tap netdev's fds are gone once it is deleted: it cannot be re-created in a rollback.
  const readd = n.netdev !== undefined && (dev.backend.type === 'user' || 'ifname' in dev.backend) ? { command: netdevAdd(n.netdev), alreadyDone: NETDEV_THERE } : undefined
  return [
    unplug(dev.id, timeoutMs, deviceOptions(dev, bootindex)),
    commandStep(`netdev_del ${dev.id}`, netdevDel(dev.id), readd, { alreadyDone: NETDEV_GONE })
  ]
}

/** Ganeti recorded no netdev: its NICs were taps, whose fds are the caller's to give again. */
const ganetiTap = (): NicBackend => ({ type: 'tap', fds: [], vhostfds: [] })

/**
 * Plans the removal of a device by the id stored in its hvinfo (legacy ids such as
 * `hotdisk-9f5c5bd4-pci-5` included): `device_del`, wait for `DEVICE_DELETED` of that id, then
 * the backend. Running the same plan again finishes a removal that ended `Pending`.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, formatError, planDevices, planHotRemove, toRuntime } from 'qemu-devplan'
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
 * const plan = pipe(runtime, E.chain((rt) => planHotRemove(rt, 'disk-932df160-7a22-4067')))
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * for (const step of plan.right.steps) console.log(step.description)
 * // device_del disk-932df160-7a22-4067, then wait for its DEVICE_DELETED
 * // blockdev-del disk-932df160-7a22-4067
 * // blockdev-del disk-932df160-7a22-4067-a
 * // blockdev-del disk-932df160-7a22-4067-a-p
 * // object-del throttle-disk-932df160-7a22-4067
 * ```
 *
 * @since 0.1.0
 * @category hotplug
 */
export const planHotRemove = (runtime: Runtime, deviceId: string, options?: HotplugOptions): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    chain(() => (typeof deviceId === 'string' ? E.right(true) : E.left(fieldError('deviceId', deviceId, 'expected the id of a device of the runtime')))),
    chain(() => optionsArg('options', options)),
    chain((o) => totalE('runtime', () => removeFrom(runtime, deviceId, o)))
  )

/**
 * The array without its i-th element, as a new array: a plain filter, not a draft's splice, which
 * would proxy every element after it.
 */
const without = <A>(as: ReadonlyArray<A>, i: number): ReadonlyArray<A> => as.filter((_, j) => j !== i)

const removeFrom = (runtime: Runtime, deviceId: string, options: HotplugOptions): E.Either<DevplanError, QmpPlan> => {
  return pipe(
    notMigrating(deviceId, options),
    chain(() => unplugTimeout(options)),
    E.bindTo('timeoutMs'),
    E.apS('h', runtimeHvparams(runtime)),
    chain(({ h, timeoutMs }): E.Either<DevplanError, QmpPlan> => {
      // A rollback re-creates the device as it was, boot order included.
      const bootindexOf = (id: string): number | undefined => (runtimeBootId(runtime, h) === id ? 1 : undefined)
      const di = runtime.disks.findIndex((d) => d.placed?.id === deviceId)
      const disk = runtime.disks[di]
      const recorded = disk?.placed ?? runtime.nics.find((n) => n.placed?.id === deviceId)?.placed
      const why = recorded === undefined ? undefined : notHotpluggable(recorded.driver)
      // QEMU answers "Bus 'ide.0' does not support hotplugging": refuse before sending anything.
      if (why !== undefined) return unsupported(deviceId, why)
      const removal = (kind: 'disk' | 'nic', steps: ReadonlyArray<PlanStep>, after: Runtime): QmpPlan => ({ title: `hot-remove ${kind} ${deviceId}`, steps, before: runtime, after, warnings: [] })
      if (disk !== undefined) {
        return E.map((dev: BlockDevice) => removal('disk', removeDiskSteps(disk, dev, timeoutMs, bootindexOf(deviceId)), { ...runtime, disks: without(runtime.disks, di) }))(
          runtimeBlockDevice(disk, `disks[${di}]`, h)
        )
      }
      const ni = runtime.nics.findIndex((n) => n.placed?.id === deviceId)
      const nic = runtime.nics[ni]
      if (nic !== undefined) {
        return E.map((dev: NicDevice) => removal('nic', removeNicSteps(nic, dev, timeoutMs, bootindexOf(deviceId)), { ...runtime, nics: without(runtime.nics, ni) }))(
          runtimeNicDevice(nic, ni, h, ganetiTap)
        )
      }
      const inCmd = runtimeCmdDevices(runtime).find((d) => d.id === deviceId) ?? cmdDevices(runtime.cmd).find((d) => d.id === deviceId)
      return inCmd !== undefined
        ? unsupported(deviceId, `${inCmd.driver} is part of the command line, not a hot-pluggable disk or NIC`)
        : E.left({ _tag: 'UnknownDevice', id: deviceId })
    })
  )
}
