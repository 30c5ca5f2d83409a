/**
 * The steps of a block job's life that mirror and clone share: wait for it to be ready or to end,
 * read how it ended, dismiss it, and cancel it in a rollback. Job events say that a job moved,
 * not why: the error is in `query-jobs`, read before the job is dismissed (`auto-dismiss: false`).
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { fieldError, type DevplanError } from '../errors.js'
import { prop } from '../total.js'
import { jobStatus } from './event.js'
import { jobCancel, jobDismiss, queryJobs } from './graph-commands.js'
import { commandStep, waitStep, type AlreadyDone, type CommandStep, type Undo, type WaitStep } from './plan.js'

/** `job-…` of a job that is gone (dismissed, or never made). */
export const JOB_GONE: ReadonlyArray<AlreadyDone> = [{ desc: 'Job not found' }]

/** A verb the job's state refuses: `cancel` of a job that has concluded, `complete` of one that is completing. */
export const JOB_PAST = (verb: string): AlreadyDone => ({ desc: `cannot accept command verb '${verb}'` })

/**
 * The undo of starting a job: cancel it (before a mirror's switch, the device stays on its
 * source), wait for it to conclude, dismiss it. A job that has concluded already (it failed)
 * refuses the cancel, and is dismissed all the same.
 *
 * @since 0.3.0
 * @category executor
 */
export const cancelJob = (id: string, timeoutMs: number): Undo => ({
  command: jobCancel(id),
  alreadyDone: [...JOB_GONE, JOB_PAST('cancel')],
  await: { until: [jobStatus(id, 'concluded')], timeoutMs },
  then: { command: jobDismiss(id), alreadyDone: JOB_GONE }
})

/**
 * Wait for job `id` to be `ready` (a mirror in sync); `aborting` fails the step.
 *
 * @since 0.3.0
 * @category executor
 */
export const waitReady = (id: string, timeoutMs: number): WaitStep =>
  waitStep(`wait for job ${id} to be ready`, [jobStatus(id, 'ready')], timeoutMs, [jobStatus(id, 'aborting'), jobStatus(id, 'concluded')])

/**
 * Wait for job `id` to conclude, then read from `query-jobs` that it ended without an error, then
 * dismiss it. None of the three changes anything a rollback must take back.
 *
 * @since 0.3.0
 * @category executor
 */
export const concludeJob = (id: string, timeoutMs: number): ReadonlyArray<WaitStep | CommandStep> => [
  waitStep(`wait for job ${id} to conclude`, [jobStatus(id, 'concluded')], timeoutMs),
  commandStep(`query-jobs: job ${id} ended without an error`, queryJobs(), undefined, { check: { _tag: 'JobSucceeded', id } }),
  commandStep(`job-dismiss ${id}`, jobDismiss(id), undefined, { alreadyDone: JOB_GONE, changes: false })
]

/**
 * A timeout given at `path` (`fallback` when absent): a positive whole number of milliseconds.
 *
 * @since 0.3.0
 * @category executor
 */
export const positiveMs = (path: string, u: unknown, fallback: number): E.Either<DevplanError, number> => {
  const ms = u ?? fallback
  return typeof ms === 'number' && Number.isSafeInteger(ms) && ms > 0 ? E.right(ms) : E.left(fieldError(path, ms, 'expected a positive whole number of milliseconds'))
}

/**
 * The timeouts of a job's waits (`options.jobTimeoutMs`, default 10 minutes) and of a cancelled
 * job's end (`options.cancelTimeoutMs`, default 1 minute).
 *
 * @since 0.3.0
 * @category executor
 */
export const jobTimeouts = (o: unknown): E.Either<DevplanError, readonly [number, number]> =>
  E.chain((job: number) => E.map((cancel: number) => [job, cancel] as const)(positiveMs('options.cancelTimeoutMs', prop(o, 'cancelTimeoutMs'), 60_000)))(positiveMs('options.jobTimeoutMs', prop(o, 'jobTimeoutMs'), 600_000))
