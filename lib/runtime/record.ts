/**
 * Recording a planned instance as its runtime, the moment it is started: `kvm_cmd` is the argv
 * without the disk and NIC options, which live in the records instead (as in Ganeti's files),
 * each with its hvinfo and the exact nodes or netdev it was started with.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { deviceArgs } from '../argv.js'
import { netdevOptions, type DeviceTree } from '../devices.js'
import { fieldError, type DevplanError } from '../errors.js'
import type { Instance } from '../instance.js'
import { showVersion } from '../qemu-version.js'
import { diskRecord, nicRecord } from './devices.js'
import { RUNTIME_FORMAT, RUNTIME_WRITER } from './file.js'
import { QMP_MONITOR } from './rebuild.js'
import type { Runtime } from './types.js'

/**
 * Options of {@link toRuntime}.
 *
 * @since 0.1.0
 */
export interface RecordOptions {
  /** The stamp's writer, e.g. the orchestrator's name and version; default {@link RUNTIME_WRITER}. */
  readonly writer?: string
}

const sameWords = (a: ReadonlyArray<string>, at: number, b: ReadonlyArray<string>): boolean => b.every((w, i) => a[at + i] === w)

/**
 * The runtime of an instance started with `argv = renderArgv(tree, …)`, where `tree =
 * planDevices(instance, …)`. The stamp is the current format, the writer, and the QEMU version
 * the tree was planned for (so that a rebuilt command line uses the same syntax). hvparams are
 * the instance's, defaults filled: they are what the instance runs with.
 *
 * `Left` when the tree is not the instance's plan or the argv was not rendered from the tree
 * (the disk and NIC options are not where {@link renderArgv} puts them).
 *
 * @example
 * pipe(planDevices(inst, target), E.chain((tree) => toRuntime(inst, tree, renderArgv(tree, opts))))
 *
 * @since 0.1.0
 */
export const toRuntime = (instance: Instance, tree: DeviceTree, argv: ReadonlyArray<string>, options: RecordOptions = {}): E.Either<DevplanError, Runtime> => {
  const diskIds = instance.disks.map((d) => d.uuid).join(' ')
  const nicIds = instance.nics.map((n) => n.uuid).join(' ')
  if (tree.disks.map((d) => d.uuid).join(' ') !== diskIds || tree.nics.map((n) => n.uuid).join(' ') !== nicIds) {
    return E.left(fieldError('tree', tree.name, "is not this instance's plan (its disks or NICs differ)"))
  }
  const boot = tree.boot._tag === 'device' ? tree.boot.id : undefined
  const mon = argv.findIndex((w, i) => w === QMP_MONITOR[0] && argv[i + 1] === QMP_MONITOR[1])
  const controllers = tree.controllers.flatMap((c) => deviceArgs(tree.qemu, c))
  const records = [...tree.disks, ...tree.nics].flatMap((d) => deviceArgs(tree.qemu, d, d.id === boot ? 1 : undefined))
  const at = mon + 2 + controllers.length
  if (mon < 0 || !sameWords(argv, mon + 2, controllers) || !sameWords(argv, at, records)) {
    return E.left(fieldError('argv', argv.length, 'was not rendered from this tree: its disk and NIC options are not where renderArgv puts them'))
  }
  const disks = tree.disks.flatMap((d, i) => {
    const disk = instance.disks[i]
    return disk === undefined ? [] : [diskRecord(disk, d, d.graph)]
  })
  const nics = tree.nics.flatMap((n, i) => {
    const nic = instance.nics[i]
    return nic === undefined ? [] : [nicRecord(nic, n, netdevOptions(n))]
  })
  return E.right({
    cmd: [...argv.slice(0, at), ...argv.slice(at + records.length)],
    nics,
    hvparams: { ...instance.hvparams },
    disks,
    stamp: { format: RUNTIME_FORMAT, writer: options.writer ?? RUNTIME_WRITER, qemu: showVersion(tree.qemu) }
  })
}
