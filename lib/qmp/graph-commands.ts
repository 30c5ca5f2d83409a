/**
 * Typed QMP commands that reconfigure a running block graph: objects, limits, snapshots, resize,
 * and the block jobs (mirror, backup). Names and shapes are QEMU's (`qapi/block-core.json`,
 * `qapi/job.json`, `qapi/qom.json`); the schema test checks each against a real QEMU.
 *
 * @since 0.3.0
 * @category executor
 */
import type { ObjectOptions } from '../block/object.js'
import type { ThrottleLimits } from '../block/throttle.js'
import type { JsonObject } from '../qemu-opts.js'
import type { QmpCommand } from './executor.js'

const cmd = (execute: string, args: JsonObject): QmpCommand => ({ execute, arguments: args })

/**
 * `object-add`: the same object as `-object` (flat: `qom-type`, `id`, then its properties).
 *
 * @since 0.3.0
 * @category executor
 */
export const objectAdd = (o: ObjectOptions): QmpCommand => cmd('object-add', o)

/**
 * `object-del`: refused while a node still names the object ("… is in use").
 *
 * @since 0.3.0
 * @category executor
 */
export const objectDel = (id: string): QmpCommand => cmd('object-del', { id })

/**
 * `qom-set` of a throttle group's whole `limits`: QEMU merges what it is given into the current
 * limits, so every member is sent (see `fullLimits`).
 *
 * @since 0.3.0
 * @category executor
 */
export const setLimits = (groupId: string, limits: Required<ThrottleLimits>): QmpCommand =>
  cmd('qom-set', { path: `/objects/${groupId}`, property: 'limits', value: limits })

/**
 * `qom-get` of a throttle group's `limits` (`query-block` does not show a filter's limits).
 *
 * @since 0.3.0
 * @category executor
 */
export const getLimits = (groupId: string): QmpCommand => cmd('qom-get', { path: `/objects/${groupId}`, property: 'limits' })

/**
 * `blockdev-snapshot`: `overlay` (added with `backing: null`) goes on top of `node`, which
 * becomes its backing image and read-only; the parents of `node` (the filter) now read `overlay`.
 *
 * @since 0.3.0
 * @category executor
 */
export const blockdevSnapshot = (node: string, overlay: string): QmpCommand => cmd('blockdev-snapshot', { node, overlay })

/**
 * `transaction`: several `blockdev-snapshot`s at one point in time; all or none take effect.
 *
 * @since 0.3.0
 * @category executor
 */
export const snapshotTransaction = (pairs: ReadonlyArray<{ readonly node: string; readonly overlay: string }>): QmpCommand =>
  cmd('transaction', { actions: pairs.map((p) => ({ type: 'blockdev-snapshot', data: { node: p.node, overlay: p.overlay } })) })

/**
 * `block_resize` of a node (the top one, or the guest does not see the new size).
 *
 * @since 0.3.0
 * @category executor
 */
export const blockResize = (nodeName: string, size: number): QmpCommand => cmd('block_resize', { 'node-name': nodeName, size })

/**
 * `blockdev-mirror` as a job that waits to be completed and dismissed (`auto-finalize` stays on,
 * `auto-dismiss` off, so its end can be read with `query-jobs`).
 *
 * @since 0.3.0
 * @category executor
 */
export const blockdevMirror = (jobId: string, device: string, target: string, replaces: string): QmpCommand =>
  cmd('blockdev-mirror', { 'job-id': jobId, device, target, replaces, sync: 'full', 'auto-dismiss': false })

/**
 * `blockdev-backup` of the whole disk (`sync: full`) to `target`: a point-in-time copy while the
 * guest keeps writing to its own chain.
 *
 * @since 0.3.0
 * @category executor
 */
export const blockdevBackup = (jobId: string, device: string, target: string): QmpCommand =>
  cmd('blockdev-backup', { 'job-id': jobId, device, target, sync: 'full', 'auto-dismiss': false })

/**
 * `job-complete`: a ready mirror switches the device to its target.
 *
 * @since 0.3.0
 * @category executor
 */
export const jobComplete = (id: string): QmpCommand => cmd('job-complete', { id })

/**
 * `job-cancel`: a mirror stops and leaves the device on its source.
 *
 * @since 0.3.0
 * @category executor
 */
export const jobCancel = (id: string): QmpCommand => cmd('job-cancel', { id })

/**
 * `job-dismiss`: removes a concluded job.
 *
 * @since 0.3.0
 * @category executor
 */
export const jobDismiss = (id: string): QmpCommand => cmd('job-dismiss', { id })

/**
 * `query-jobs`: every job with its status and, once concluded, its error.
 *
 * @since 0.3.0
 * @category executor
 */
export const queryJobs = (): QmpCommand => ({ execute: 'query-jobs' })
