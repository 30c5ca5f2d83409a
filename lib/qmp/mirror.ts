/**
 * Moving a running disk to a new image (seed 004's reconfiguration of a running graph): a
 * `blockdev-mirror` job copies the whole disk while the guest writes, and once it is in sync,
 * `job-complete` switches the filter to the copy. The old chain stays in QEMU (explicitly added
 * nodes do) until the plan deletes it, last, so that until then a rollback can mirror back.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { DevplanError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { addNodeSteps, deleteNodeSteps, withDisk } from './chain.js'
import { planCopy, type CopyTarget, type CopyRequestInput, type JobOptions } from './copy-target.js'
import { jobStatus } from './event.js'
import { blockdevMirror, jobComplete, jobDismiss, queryJobs } from './graph-commands.js'
import { cancelJob, concludeJob, JOB_GONE, JOB_PAST, waitReady } from './job.js'
import { commandStep, type QmpPlan, type Undo } from './plan.js'

/**
 * Undoing the switch: make sure it happened (a `job-complete` whose reply was lost may not have
 * arrived), check that the job ended well — a failed job left the device on its source, and
 * mirroring the target back would overwrite the source with an incomplete copy — then mirror
 * the target back onto the old chain, which the plan has kept.
 */
const mirrorBack = (t: CopyTarget, job: string, timeoutMs: number): Undo => {
  const back = `${job}-back`
  const filter = t.chain.filter['node-name']
  const ended = (id: string, then?: Undo): Undo => ({ command: queryJobs(), alreadyDone: [], check: { _tag: 'JobSucceeded', id, dismissedIsDone: true }, pollMs: timeoutMs, then: { command: jobDismiss(id), alreadyDone: JOB_GONE, ...(then === undefined ? {} : { then }) } })
  return {
    command: jobComplete(job),
    alreadyDone: [...JOB_GONE, JOB_PAST('complete')],
    then: ended(job, {
      command: blockdevMirror(back, filter, t.chain.active['node-name'], t.nodes[1]['node-name']),
      alreadyDone: [],
      await: { until: [jobStatus(back, 'ready')], timeoutMs },
      then: { command: jobComplete(back), alreadyDone: [], then: ended(back) }
    })
  }
}

/**
 * Plans the move of the running disk `request.id` onto the image `request.path` (created by the
 * caller, as large as the disk): the target `<disk id>-m<n>` is added, `blockdev-mirror` (job
 * `mirror-<disk id>`, `replaces` the node below the filter, `sync: full`) runs until ready,
 * `job-complete` switches, the job's end is read from `query-jobs`, and the old chain is deleted.
 * A job that fails or times out before the switch is cancelled and its target deleted; after the
 * switch the undo mirrors back onto the old chain. The copy goes through the disk's filter, so it
 * is throttled by the disk's own limits. The runtime after records the target as the whole chain.
 *
 * @since 0.3.0
 * @category hotplug
 */
export const planMirror = (runtime: Runtime, request: CopyRequestInput, options?: JobOptions): E.Either<DevplanError, QmpPlan> =>
  planCopy(runtime, request, options, 'm', (t, timeoutMs, cancelMs) => {
    const { chain } = t
    const job = `mirror-${chain.id}`
    const old = chain.nodes.filter((n) => n !== chain.filter)
    return {
      title: `mirror ${chain.id} to ${t.path}`,
      steps: [
        ...addNodeSteps(t.nodes),
        commandStep(`blockdev-mirror ${chain.id} to ${t.nodes[1]['node-name']} (job ${job})`, blockdevMirror(job, chain.filter['node-name'], t.nodes[1]['node-name'], chain.active['node-name']), cancelJob(job, cancelMs)),
        waitReady(job, timeoutMs),
        commandStep(`job-complete ${job}: the device reads ${t.nodes[1]['node-name']}`, jobComplete(job), mirrorBack(t, job, timeoutMs)),
        ...concludeJob(job, timeoutMs),
        ...deleteNodeSteps(old)
      ],
      before: runtime,
      after: withDisk(runtime, chain.index, { nodes: [...t.nodes, { ...chain.filter, file: t.nodes[1]['node-name'] }] }),
      warnings: []
    }
  })
