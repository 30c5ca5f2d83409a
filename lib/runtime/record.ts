/**
 * Recording a planned instance as its runtime, the moment it is started: `kvm_cmd` is the argv
 * without the disk and NIC options, which live in the records instead (as in Ganeti's files),
 * each with its hvinfo and the exact nodes or netdev it was started with.
 *
 * @since 0.1.0
 */
import { pipe } from 'fp-ts/lib/function.js'
import * as E from 'fp-ts/lib/Either.js'
import { bootindexOf, renderSections, type RenderOptions } from '../argv.js'
import { netdevOptions, type DeviceTree } from '../devices.js'
import { fieldError, type DevplanError } from '../errors.js'
import type { Instance } from '../instance.js'
import { showVersion } from '../qemu-version.js'
import { diskRecord, nicRecord } from './devices.js'
import { RUNTIME_FORMAT, RUNTIME_WRITER } from './file.js'
import { decodeRuntimeParams } from './params.js'
import type { CmdDevice, Runtime } from './types.js'
import { instanceArg, optionsArg, renderOptionsArg, totalE, treeArg } from '../total.js'
import { chain, flatMapArray } from '../hot.js'

/**
 * Options of {@link toRuntime}.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface RecordOptions {
  /** The stamp's writer, e.g. the orchestrator's name and version; default {@link RUNTIME_WRITER}. */
  readonly writer?: string
}

/**
 * The runtime of an instance planned as `tree = planDevices(instance, …)` and started with
 * `renderArgv(tree, render)` — which is also `runtimeArgv` of the result, byte for byte. The
 * stamp is the current format, the writer, the QEMU version the tree was planned for (so that a
 * rebuilt command line uses the same syntax), the sections of `kvm_cmd` and its devices, typed.
 * hvparams are the instance's, defaults filled: they are what the instance runs with.
 *
 * `Left` when the tree is not the instance's plan.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, encodeRuntime, formatError, planDevices, renderArgv, runtimeArgv, toRuntime } from 'qemu-devplan'
 *
 * const render = { qmpSocket: '/run/qemu/vm1.qmp' }
 * const started = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) =>
 *     pipe(
 *       planDevices(instance, { qemu: '7.2' }),
 *       E.chain((tree) => pipe(toRuntime(instance, tree, render), E.map((runtime) => ({ argv: renderArgv(tree, render), runtime }))))
 *     )
 *   )
 * )
 * if (E.isLeft(started)) throw new Error(formatError(started.left))
 * const { argv, runtime } = started.right
 * const file = JSON.stringify(encodeRuntime(runtime)) // what to write as the instance's runtime file
 * const again = runtimeArgv(runtime) // a restart gets the same command line
 * console.log(file.length > 0, E.isRight(again) && again.right.join(' ') === argv.join(' ')) // true true
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const toRuntime = (instance: Instance, tree: DeviceTree, render: RenderOptions, options?: RecordOptions): E.Either<DevplanError, Runtime> =>
  pipe(
    instanceArg('instance', instance),
    chain(() => treeArg('tree', tree)),
    chain(() => renderOptionsArg('render', render)),
    chain(() => optionsArg<RecordOptions>('options', options)),
    chain((o) => totalE('tree', () => recordOf(instance, tree, render, o)))
  )

const recordOf = (instance: Instance, tree: DeviceTree, render: RenderOptions, options: RecordOptions): E.Either<DevplanError, Runtime> => {
  const diskIds = instance.disks.map((d) => d.uuid).join(' ')
  const nicIds = instance.nics.map((n) => n.uuid).join(' ')
  if (tree.disks.map((d) => d.uuid).join(' ') !== diskIds || tree.nics.map((n) => n.uuid).join(' ') !== nicIds) {
    return E.left(fieldError('tree', tree.name, "is not this instance's plan (its disks or NICs differ)"))
  }
  const s = renderSections(tree, render)
  const typed = (device: CmdDevice['device']): CmdDevice => {
    const bootindex = bootindexOf(tree, device)
    return bootindex === undefined ? { device } : { device, bootindex }
  }
  const disks = flatMapArray(tree.disks, (d, i) => {
    const disk = instance.disks[i]
    return disk === undefined ? [] : [diskRecord(disk, d, d.graph)]
  })
  const nics = flatMapArray(tree.nics, (n, i) => {
    const nic = instance.nics[i]
    return nic === undefined ? [] : [nicRecord(nic, n, netdevOptions(n))]
  })
  const hvparams = { ...instance.hvparams }
  return E.right({
    cmd: [...s.head, ...s.controllers, ...s.devices, ...s.tail],
    nics,
    hvparams,
    params: decodeRuntimeParams(hvparams),
    disks,
    stamp: {
      format: RUNTIME_FORMAT,
      writer: options.writer ?? RUNTIME_WRITER,
      qemu: showVersion(tree.qemu),
      layout: { head: s.head.length, controllers: s.controllers.length, devices: s.devices.length },
      devices: [...tree.rootPorts, ...tree.controllers, ...tree.cdroms, ...tree.floppies, ...tree.machineDevices].map(typed)
    }
  })
}
