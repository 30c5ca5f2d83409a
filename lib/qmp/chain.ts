/**
 * A running disk's graph as the runtime records it, and the steps shared by the plans that
 * change it: which node is the filter, which is the active layer, how nodes are added and taken
 * back, and the runtime once the graph is new.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { BlockdevOptions, FilterNode, FormatNode } from '../block/node.js'
import type { ObjectOptions, ThrottleGroupObject } from '../block/object.js'
import type { DevplanError } from '../errors.js'
import type { Runtime, RuntimeDisk } from '../runtime/types.js'
import { NODE_GONE, NODE_THERE, STILL_RELEASING } from './already.js'
import { blockdevAdd, blockdevDel } from './commands.js'
import { commandStep, type CommandStep } from './plan.js'

/**
 * One recorded disk whose graph has a throttle filter on top, read apart.
 *
 * @since 0.3.0
 * @category executor
 */
export interface RecordedChain {
  readonly index: number
  readonly disk: RuntimeDisk
  /** The device's id: the filter's name, and its `drive`. */
  readonly id: string
  readonly nodes: ReadonlyArray<BlockdevOptions>
  readonly objects: ReadonlyArray<ObjectOptions>
  readonly filter: FilterNode
  readonly group: ThrottleGroupObject
  /** The format node the filter reads: the chain's active layer. */
  readonly active: FormatNode
  /** Its protocol node. */
  readonly activeProtocol: BlockdevOptions
}

const unsupported = (device: string, reason: string): DevplanError => ({ _tag: 'Unsupported', device, reason })

/**
 * The disk `id` of the runtime, with its filter, group and active layer; `Left` for an unknown
 * id, and for a disk without the filtered graph (started by Ganeti or before 0.3.0, a
 * pass-through disk, a target before 6.2), whose device is attached to a node that would change.
 *
 * @since 0.3.0
 * @category executor
 */
export const recordedChain = (runtime: Runtime, id: string): E.Either<DevplanError, RecordedChain> => {
  const index = runtime.disks.findIndex((d) => d.placed?.id === id)
  const disk = runtime.disks[index]
  if (disk === undefined) return E.left({ _tag: 'UnknownDevice', id })
  const nodes = disk.blockdev
  const top = nodes?.[nodes.length - 1]
  if (nodes === undefined || top === undefined || top.driver !== 'throttle' || top['node-name'] !== id) {
    return E.left(unsupported(id, 'its graph has no throttle filter on top (a disk started by Ganeti or by this library before 0.3.0, a pass-through disk, or a target before QEMU 6.2): restart it from a new plan to reconfigure it live'))
  }
  const group = (disk.objects ?? []).find((o): o is ThrottleGroupObject => o['qom-type'] === 'throttle-group' && o.id === top['throttle-group'])
  const active = nodes.find((n): n is FormatNode => n['node-name'] === top.file && (n.driver === 'raw' || n.driver === 'qcow2'))
  const activeProtocol = active === undefined ? undefined : nodes.find((n) => n['node-name'] === active.file)
  if (group === undefined || active === undefined || activeProtocol === undefined) return E.left(unsupported(id, 'its recorded graph is incomplete (the filter names a group or node the record lacks)'))
  return E.right({ index, disk, id, nodes, objects: disk.objects ?? [], filter: top, group, active, activeProtocol })
}

/**
 * `blockdev-add` of each node, children first, each undone by its `blockdev-del`.
 *
 * @since 0.3.0
 * @category executor
 */
export const addNodeSteps = (nodes: ReadonlyArray<BlockdevOptions>): ReadonlyArray<CommandStep> =>
  nodes.map((n) => commandStep(`blockdev-add ${n['node-name']} (${n.driver})`, blockdevAdd(n), { command: blockdevDel(n['node-name']), alreadyDone: NODE_GONE, retryOn: STILL_RELEASING }, { alreadyDone: NODE_THERE }))

/**
 * `blockdev-del` of each node, parents first, each undone by adding it again as recorded.
 *
 * @since 0.3.0
 * @category executor
 */
export const deleteNodeSteps = (nodes: ReadonlyArray<BlockdevOptions>): ReadonlyArray<CommandStep> =>
  [...nodes].reverse().map((n) => commandStep(`blockdev-del ${n['node-name']}`, blockdevDel(n['node-name']), { command: blockdevAdd(n), alreadyDone: NODE_THERE }, { alreadyDone: NODE_GONE, retryOn: STILL_RELEASING }))

/**
 * The runtime with disk `index` recording `nodes` and `objects` (and `rest`, when given).
 *
 * @since 0.3.0
 * @category executor
 */
export const withDisk = (runtime: Runtime, index: number, change: { readonly nodes?: ReadonlyArray<BlockdevOptions>; readonly objects?: ReadonlyArray<ObjectOptions>; readonly rest?: RuntimeDisk['rest'] }): Runtime => ({
  ...runtime,
  disks: runtime.disks.map((d, i) =>
    i !== index ? d : { ...d, ...(change.nodes === undefined ? {} : { blockdev: change.nodes }), ...(change.objects === undefined ? {} : { objects: change.objects }), ...(change.rest === undefined ? {} : { rest: change.rest }) }
  )
})

/**
 * The next free layer number of `tag` (`s` snapshots, `m` mirror targets, …) in a recorded chain:
 * names are recomputed from the record, never kept elsewhere.
 *
 * @since 0.3.0
 * @category executor
 */
export const nextLayer = (chain: RecordedChain, tag: string): number => {
  const re = new RegExp(`^${chain.id.replace(/[.]/g, '\\.')}-${tag}(\\d+)$`)
  const taken = chain.nodes.flatMap((n) => {
    const m = re.exec(n['node-name'])
    return m === null ? [] : [Number(m[1])]
  })
  return taken.length === 0 ? 1 : Math.max(...taken) + 1
}

/**
 * A node as it is once QEMU made it read-only (the old active layer under a snapshot).
 *
 * @since 0.3.0
 * @category executor
 */
export const readOnly = <N extends BlockdevOptions>(n: N): N => ({ ...n, 'read-only': true })

