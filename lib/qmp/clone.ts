/**
 * Seed 000's Clone(): a point-in-time copy of a running disk into a new image, while the guest
 * keeps running on its own chain. `blockdev-backup` with `sync: full` copies what the disk held
 * when the job started (writes after that point are first copied out), and the copy is detached
 * once the job has ended, so its image is closed and whole.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { DevplanError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { addNodeSteps, deleteNodeSteps } from './chain.js'
import { planCopy, type CopyRequestInput, type JobOptions } from './copy-target.js'
import { blockdevBackup } from './graph-commands.js'
import { cancelJob, concludeJob } from './job.js'
import { commandStep, type QmpPlan } from './plan.js'

/**
 * Plans a clone of the running disk `request.id` into the image `request.path` (created by the
 * caller, as large as the disk): the target `<disk id>-c<n>` is added, `blockdev-backup` (job
 * `clone-<disk id>`, `sync: full`) copies the disk as it was when the job started, the job's end
 * is read from `query-jobs`, and the target is detached. A job that fails or times out is
 * cancelled and its target deleted. The copy is read through the disk's filter, so the disk's
 * limits apply to it. The runtime does not change: the clone is not part of the instance.
 *
 * @since 0.3.0
 * @category hotplug
 */
export const planClone = (runtime: Runtime, request: CopyRequestInput, options?: JobOptions): E.Either<DevplanError, QmpPlan> =>
  planCopy(runtime, request, options, 'c', (t, timeoutMs, cancelMs) => {
    const job = `clone-${t.chain.id}`
    return {
      title: `clone ${t.chain.id} into ${t.path}`,
      steps: [
        ...addNodeSteps(t.nodes),
        commandStep(`blockdev-backup ${t.chain.id} to ${t.nodes[1]['node-name']} (job ${job})`, blockdevBackup(job, t.chain.filter['node-name'], t.nodes[1]['node-name']), cancelJob(job, cancelMs)),
        ...concludeJob(job, timeoutMs),
        ...deleteNodeSteps(t.nodes)
      ],
      before: runtime,
      after: runtime,
      warnings: []
    }
  })
