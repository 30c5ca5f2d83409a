/**
 * A live external snapshot (seed 000's Snapshot()): a new qcow2 overlay on top of each disk's
 * active layer, the old layer frozen read-only beneath it, the device still on its filter. Several
 * disks are snapshotted in one `transaction`, at one point in time.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { BlockdevOptions, FormatNode, ProtocolNode } from '../block/node.js'
import { absolutePath, closed, decodeOne, oneOf, withDefault } from '../codecs.js'
import { fieldError, invalidInput, type DevplanError, type FieldError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { optionsArg, runtimeArg, totalE } from '../total.js'
import { notMigrating } from './hotplug.js'
import { addNodeSteps, nextLayer, readOnly, recordedChain, withDisk, type RecordedChain } from './chain.js'
import { layerImage } from './copy-target.js'
import { jobStatus } from './event.js'
import { positiveMs } from './job.js'
import { blockdevSnapshot, jobComplete, snapshotTransaction } from './graph-commands.js'
import { commandStep, type CommandStep, type QmpPlan, type Undo } from './plan.js'

/**
 * A {@link SnapshotRequest} as a caller writes it: `kind` may be left out. Checked again when
 * decoded, for callers without the types.
 *
 * @since 0.3.0
 * @category decode
 */
export interface SnapshotRequestInput {
  readonly id: string
  readonly path: string
  readonly kind?: SnapshotRequest['kind']
}

const SnapshotRequestCodec: t.Type<SnapshotRequest, unknown, unknown> = closed(
  {
    id: t.string,
    path: absolutePath,
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), '')
  },
  'SnapshotRequest'
)

/**
 * One disk to snapshot: the device `id`, and the overlay image at `path` that the caller has
 * created (`qemu-img create -f qcow2 -b <image below> -F <its format> <path> <size>`: the header's
 * backing is for offline tools, QEMU takes the chain from the plan). `kind` says file or block
 * device, as on a disk.
 *
 * @since 0.3.0
 * @category decode
 */
export interface SnapshotRequest {
  readonly id: string
  readonly path: string
  readonly kind: '' | 'file' | 'block'
}

/**
 * Options of {@link planSnapshot}.
 *
 * @since 0.3.0
 * @category hotplug
 */
export interface SnapshotOptions {
  /** How long a rollback waits for each commit of an overlay back into its base. Default 60000. */
  readonly jobTimeoutMs?: number
  /**
   * The status `query-migrate` gives now, when the caller knows it: a migration in progress
   * refuses the plan (`MigrationInProgress`), as a graph must not change under it.
   */
  readonly migration?: string
}

const decodeRequest = decodeOne(SnapshotRequestCodec, (r) => E.right<ReadonlyArray<FieldError>, SnapshotRequest>(r), 'snapshot')

interface Planned {
  readonly chain: RecordedChain
  readonly nodes: readonly [ProtocolNode, FormatNode]
}

/**
 * Taking a snapshot back without losing what the guest wrote since: the overlay is committed
 * into the layer below (an active commit, completed once ready), after which QEMU reads the base
 * again and the overlay's nodes can be deleted by their own steps' undos. A snapshot that never
 * happened has no overlay in its chain: "… is not in this backing file chain" means done.
 */
const commitBack = (p: Planned, timeoutMs: number, then?: Undo): Undo => {
  const job = `commit-${p.chain.id}`
  return {
    command: { execute: 'block-commit', arguments: { 'job-id': job, device: p.chain.filter['node-name'], 'top-node': p.nodes[1]['node-name'], 'base-node': p.chain.active['node-name'] } },
    alreadyDone: [{ desc: 'is not in this backing file chain' }],
    await: { until: [jobStatus(job, 'ready')], timeoutMs },
    then: {
      command: jobComplete(job),
      alreadyDone: [{ desc: 'Job not found' }],
      await: { until: [jobStatus(job, 'concluded')], timeoutMs },
      ...(then === undefined ? {} : { then })
    }
  }
}

/** The record once the overlay is on top: the old layer read-only below it, the filter on it. */
const snapshotted = (p: Planned): ReadonlyArray<BlockdevOptions> => {
  // QEMU reopens the old format node read-only, and leaves its protocol node as it was (measured
  // on 7.2 and 10.0): a rebuilt graph must be the same.
  const below = p.chain.nodes.filter((n) => n !== p.chain.filter).map((n) => (n === p.chain.active ? readOnly(n) : n))
  const [protocol, format] = p.nodes
  return [...below, protocol, { ...format, backing: p.chain.active['node-name'] }, { ...p.chain.filter, file: format['node-name'] }]
}

/**
 * Plans a snapshot of the running disks in `requests`: each overlay is added with `backing: null`,
 * then `blockdev-snapshot` (a `transaction` of them for several disks) puts it on top. The
 * overlay is named `<disk id>-s<n>`, the next number the recorded chain has not used. A fault
 * after the snapshot took effect is undone by committing the overlay back, so the guest loses
 * nothing it wrote. The runtime after records each chain with its overlay on top.
 *
 * @since 0.3.0
 * @category hotplug
 */
export const planSnapshot = (runtime: Runtime, requests: ReadonlyArray<SnapshotRequestInput>, options?: SnapshotOptions): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => (Array.isArray(requests) && requests.length > 0 ? E.right(requests) : E.left(fieldError('requests', requests, 'expected a non-empty list of {id, path, kind?}')))),
    E.chain(() => optionsArg('options', options)),
    E.chain((o) => pipe(notMigrating('the snapshot', o), E.chain(() => totalE('runtime', () => snapshotOf(runtime, requests, o)))))
  )

const snapshotOf = (runtime: Runtime, requests: ReadonlyArray<unknown>, o: SnapshotOptions): E.Either<DevplanError, QmpPlan> => {
  const timeout = positiveMs('options.jobTimeoutMs', o.jobTimeoutMs, 60_000)
  if (E.isLeft(timeout)) return timeout
  const timeoutMs = timeout.right
  const errors: FieldError[] = []
  const planned: Planned[] = []
  requests.forEach((u, i) => {
    const r = pipe(decodeRequest(u), E.mapLeft((e) => (e._tag === 'InvalidInput' ? e.errors.map((x) => ({ ...x, path: x.path.replace(/^snapshot/, `requests[${i}]`) })) : [{ path: `requests[${i}]`, value: u, message: e._tag }])))
    if (E.isLeft(r)) return void errors.push(...r.left)
    if (planned.some((p) => p.chain.id === r.right.id)) return void errors.push({ path: `requests[${i}].id`, value: r.right.id, message: 'names a disk an earlier request snapshots already' })
    const chain = recordedChain(runtime, r.right.id)
    if (E.isLeft(chain)) return void errors.push({ path: `requests[${i}].id`, value: r.right.id, message: chain.left._tag === 'Unsupported' ? chain.left.reason : 'is not the id of a disk of the runtime' })
    planned.push({ chain: chain.right, nodes: layerImage(chain.right, `s${nextLayer(chain.right, 's')}`, { ...r.right, format: 'qcow2' }) })
  })
  if (errors.length > 0) return E.left(invalidInput(errors))
  const pairs = planned.map((p) => ({ node: p.chain.active['node-name'], overlay: p.nodes[1]['node-name'] }))
  const first = pairs[0]
  const undo = planned.reduceRight<Undo | undefined>((then, p) => commitBack(p, timeoutMs, then), undefined)
  const snapshot: CommandStep =
    pairs.length === 1 && first !== undefined
      ? commandStep(`blockdev-snapshot ${first.overlay} over ${first.node}`, blockdevSnapshot(first.node, first.overlay), undo)
      : commandStep(`transaction: ${pairs.map((p) => `${p.overlay} over ${p.node}`).join(', ')}`, snapshotTransaction(pairs), undo)
  return E.right({
    title: `snapshot ${planned.map((p) => p.chain.id).join(', ')}`,
    steps: [...planned.flatMap((p) => addNodeSteps(p.nodes)), snapshot],
    before: runtime,
    after: planned.reduce((rt, p) => withDisk(rt, p.chain.index, { nodes: snapshotted(p) }), runtime),
    warnings: []
  })
}
