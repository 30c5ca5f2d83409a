/**
 * How a plan run ends, as values: the error of the step that failed, the log of every exchange
 * (safe to print), and what a rollback could not take back.
 *
 * @since 0.3.0
 */
import type { Runtime } from '../runtime/types.js'
import type { EventMatch } from './event.js'
import type { QmpCommand } from './executor.js'

/**
 * Why a step failed.
 *
 * @since 0.1.0
 * @category executor
 */
export type StepError =
  | { readonly _tag: 'QmpError'; readonly class: string; readonly desc: string }
  | { readonly _tag: 'TransportError'; readonly message: string }
  | { readonly _tag: 'GuestRefused'; readonly id: string }
  /** A wait step saw none of its events in time (since 0.3.0). */
  | { readonly _tag: 'Timeout'; readonly waitedFor: ReadonlyArray<EventMatch>; readonly timeoutMs: number }
  /** A wait step saw one of its `failOn` events, e.g. a job's `BLOCK_JOB_COMPLETED` with an error (since 0.3.0). */
  | { readonly _tag: 'EventFailure'; readonly event: string; readonly data: unknown }
  /** A command succeeded but its reply fails the step's {@link ReplyCheck} (since 0.3.0). */
  | { readonly _tag: 'CheckFailed'; readonly message: string }
  /** What `runPlan` was given is not a plan, or one of its steps is not a step (since 0.3.0): nothing of it was sent. */
  | { readonly _tag: 'InvalidPlan'; readonly message: string }

/**
 * One exchange with QEMU, for the caller's log. Safe to print: `command` is what was sent with
 * its secret arguments redacted (`set_password`'s `password`, since 0.2.0).
 *
 * @since 0.1.0
 * @category executor
 */
export interface LogEntry {
  readonly step: number
  readonly phase: 'do' | 'undo' | 'wait'
  readonly command?: QmpCommand
  readonly result: 'ok' | 'already-done' | 'failed' | 'event' | 'timeout'
  readonly error?: StepError
  /** The reply of a step with a {@link ReplyCheck} (a query such as `query-migrate`): its figures. Since 0.3.0. */
  readonly reply?: unknown
}

/**
 * A step whose effect is still in QEMU after a failed rollback.
 *
 * @since 0.1.0
 * @category executor
 */
export interface Leftover {
  readonly step: number
  readonly description: string
  /** The undo that failed (redacted as in {@link LogEntry}), or `undefined` for a step that has none. */
  readonly undo: QmpCommand | undefined
  readonly error: StepError | undefined
}

/**
 * How a plan ended, always with the record the caller must keep (`R`, since 0.2.0: the runtime,
 * or `undefined` for a start): the plan's `after` only when `Done`, else its `before`, which
 * QEMU still matches (but for any `leftovers`).
 *
 * @since 0.1.0
 * @category executor
 */
export type RunOutcome<R = Runtime> =
  | { readonly _tag: 'Done'; readonly runtime: R; readonly log: ReadonlyArray<LogEntry> }
  | { readonly _tag: 'Pending'; readonly deviceId: string; readonly runtime: R; readonly log: ReadonlyArray<LogEntry> }
  | { readonly _tag: 'RolledBack'; readonly failedStep: number; readonly error: StepError; readonly runtime: R; readonly log: ReadonlyArray<LogEntry> }
  | {
      readonly _tag: 'RollbackIncomplete'
      readonly failedStep: number
      readonly error: StepError
      readonly leftovers: ReadonlyArray<Leftover>
      /** The record before the plan: QEMU differs from it by exactly the leftovers. */
      readonly runtime: R
      readonly log: ReadonlyArray<LogEntry>
    }
