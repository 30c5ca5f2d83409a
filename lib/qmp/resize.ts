/**
 * Growing a running disk: `block_resize` of its top node. Resizing a node below the filter grows
 * that node and its file, but the filter, which is what the guest reads, keeps its size
 * (measured on 7.2; Proxmox says the same of 10.0).
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { fieldError, type DevplanError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { optionsArg, runtimeArg, totalE } from '../total.js'
import { notMigrating } from './hotplug.js'
import { recordedChain, withDisk, type RecordedChain } from './chain.js'
import { blockResize } from './graph-commands.js'
import { commandStep, type QmpPlan } from './plan.js'

const MIB = 1024 * 1024

/**
 * Plans the new `size` (bytes: a multiple of 512, as QEMU's block layer counts) of the running
 * disk `id`. The image must be growable (a file, a qcow2; a block device the caller has grown
 * already). There is no undo: shrinking back would cut off what the guest may have written
 * there, so the plan is its one step. The runtime after records the size in the disk's `size`
 * (MiB, as Ganeti keeps it) when it is a whole number of MiB.
 *
 * @since 0.3.0
 * @category hotplug
 */
export const planResize = (runtime: Runtime, id: string, size: number, options?: { readonly migration?: string }): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => optionsArg('options', options)),
    E.chain((o) => notMigrating(typeof id === 'string' ? id : 'id', o)),
    E.chain(() => (typeof id === 'string' ? E.right(id) : E.left(fieldError('id', id, 'expected the id of a disk of the runtime')))),
    E.chain(() =>
      typeof size === 'number' && Number.isSafeInteger(size) && size > 0 && size % 512 === 0
        ? E.right(size)
        : E.left(fieldError('size', size, 'expected the new size in bytes: a whole, positive multiple of 512'))
    ),
    E.chain((bytes) =>
      totalE('runtime', () =>
        E.map((chain: RecordedChain): QmpPlan => ({
          title: `resize ${id} to ${bytes} bytes`,
          // The filter is the top: the node the guest's size comes from.
          steps: [commandStep(`block_resize ${chain.filter['node-name']} to ${bytes}`, blockResize(chain.filter['node-name'], bytes))],
          before: runtime,
          after: bytes % MIB === 0 ? withDisk(runtime, chain.index, { rest: { ...chain.disk.rest, size: bytes / MIB } }) : runtime,
          warnings: []
        }))(recordedChain(runtime, id))
      )
    )
  )
