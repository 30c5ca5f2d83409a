/**
 * Reading what a query says about something that ended asynchronously. QEMU's job and migration
 * events say that it ended, not how: the error is only in `query-jobs` and `query-migrate`.
 *
 * @since 0.3.0
 * @category executor
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { showValue } from '../errors.js'
import type { ReplyCheck } from './plan.js'

const JobInfo = t.intersection([t.type({ id: t.string, status: t.string }), t.partial({ error: t.string })])
const MigrationInfo = t.partial({ status: t.string, 'error-desc': t.string })
const QomChild = t.type({ name: t.string })

/**
 * `Right` when the reply `value` of the check's query says what the check requires; `Left` says
 * what it says instead (QEMU's own error text when it gives one).
 *
 * @since 0.3.0
 * @category executor
 */
export const checkReply = (check: ReplyCheck, value: unknown): E.Either<string, void> => {
  switch (check._tag) {
    case 'JobSucceeded': {
      const jobs = t.array(JobInfo).decode(value)
      if (E.isLeft(jobs)) return E.left(`query-jobs answered ${showValue(value)}`)
      const job = jobs.right.find((j) => j.id === check.id)
      if (job === undefined) return check.dismissedIsDone === true ? E.right(undefined) : E.left(`job ${check.id} is not listed by query-jobs`)
      if (job.error !== undefined) return E.left(`job ${check.id} failed: ${job.error}`)
      return job.status === 'concluded' ? E.right(undefined) : E.left(`job ${check.id} is ${job.status}, not concluded`)
    }
    case 'MigrationCompleted': {
      const info = MigrationInfo.decode(value)
      if (E.isLeft(info)) return E.left(`query-migrate answered ${showValue(value)}`)
      if (info.right.status === 'completed') return E.right(undefined)
      const why = info.right['error-desc']
      return E.left(`the migration is ${info.right.status ?? 'not started'}${why === undefined ? '' : `: ${why}`}`)
    }
    case 'MigrationNotCompleted': {
      const info = MigrationInfo.decode(value)
      if (E.isLeft(info)) return E.left(`query-migrate answered ${showValue(value)}`)
      return info.right.status === 'completed' ? E.left('the migration completed: the target has the instance, and the source must not be resumed') : E.right(undefined)
    }
    case 'DeviceAbsent': {
      const children = t.array(QomChild).decode(value)
      if (E.isLeft(children)) return E.left(`qom-list answered ${showValue(value)}`)
      return children.right.some((c) => c.name === check.id) ? E.left(`device ${check.id} is still present`) : E.right(undefined)
    }
  }
}

/**
 * Whether what the check's query says may still change into what the check requires: a job
 * listed but not yet concluded. A step with `pollMs` asks again while it is so.
 *
 * @since 0.3.0
 * @category executor
 */
export const checkPending = (check: ReplyCheck, value: unknown): boolean => {
  if (check._tag !== 'JobSucceeded') return false
  const jobs = t.array(JobInfo).decode(value)
  if (E.isLeft(jobs)) return false
  const job = jobs.right.find((j) => j.id === check.id)
  return job !== undefined && job.status !== 'concluded' && job.error === undefined
}
