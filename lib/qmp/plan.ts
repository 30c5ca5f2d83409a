/**
 * A QMP plan: the ordered steps of one hotplug, each with what it sends, which error replies
 * mean "already so" (so that every plan can be run again safely), and how to undo it. The plan
 * also carries the runtime before and after, so the caller's record changes only with QEMU.
 *
 * @since 0.1.0
 */
import type { PlanWarning } from '../warnings.js'
import type { Runtime } from '../runtime/types.js'
import type { EventMatch } from './event.js'
import type { QmpCommand } from './executor.js'
import { isRecord, prop } from '../total.js'

/**
 * An error reply that means the step's goal already holds (e.g. `blockdev-del` of a node that
 * is gone). Matched on the error class and a substring of its description.
 *
 * @since 0.1.0
 * @category executor
 */
export interface AlreadyDone {
  readonly class?: string
  readonly desc: string
}

/**
 * How to take a completed step back.
 *
 * @since 0.1.0
 * @category executor
 */
export interface Undo {
  readonly command: QmpCommand
  readonly alreadyDone: ReadonlyArray<AlreadyDone>
  /**
   * For an undo by `device_del`: the device is gone only when its `DEVICE_DELETED` arrives (a
   * PCI device waits for the guest), so the rollback waits for it and reports a leftover when
   * it does not come in time.
   */
  readonly awaitDeleted?: { readonly id: string; readonly timeoutMs: number }
  /**
   * An event to wait for once the command is accepted, before the next undo runs (a cancelled
   * job's `concluded`): the undo is done only when it comes. Since 0.3.0.
   */
  readonly await?: { readonly until: ReadonlyArray<EventMatch>; readonly timeoutMs: number }
  /** What is undone next as part of the same step (a cancelled job is then dismissed). Since 0.3.0. */
  readonly then?: Undo
  /** Errors that mean "not yet": the command is sent again after a pause (see {@link CommandStep.retryOn}). Since 0.3.0. */
  readonly retryOn?: ReadonlyArray<AlreadyDone>
  /**
   * What the undo's reply must also say (a query before a resume: a migration that completed
   * must not be undone by resuming the source). When it does not, the chain stops there and the
   * step is left over. Since 0.3.0.
   */
  readonly check?: ReplyCheck
  /**
   * While the check's query says "not yet" (a job not yet concluded), ask again every 100 ms
   * (through the executor's clock) for up to this long. Since 0.3.0.
   */
  readonly pollMs?: number
}

/**
 * What a command's successful reply must also say for the step to count as done, for queries
 * that report the end of something asynchronous (QEMU's job and migration events carry no error).
 *
 * - `JobSucceeded`: `query-jobs` lists job `id` as `concluded`, without an `error`; with
 *   `dismissedIsDone`, a job no longer listed passes too (the plan dismissed it only once it had
 *   read that it succeeded).
 * - `MigrationCompleted`: `query-migrate` says `completed`.
 * - `DeviceAbsent`: `qom-list /machine/peripheral` has no child `id`.
 * - `MigrationNotCompleted`: `query-migrate` says anything but `completed` (since 0.3.0): the
 *   instance did not move, so the source may be resumed.
 *
 * @since 0.3.0
 * @category executor
 */
export type ReplyCheck =
  | { readonly _tag: 'JobSucceeded'; readonly id: string; readonly dismissedIsDone?: true }
  | { readonly _tag: 'MigrationCompleted' }
  | { readonly _tag: 'DeviceAbsent'; readonly id: string }
  | { readonly _tag: 'MigrationNotCompleted' }

/**
 * Send one command (with a file descriptor, when `fd` is set).
 *
 * @since 0.1.0
 * @category executor
 */
export interface CommandStep {
  readonly _tag: 'command'
  readonly description: string
  readonly command: QmpCommand
  /** The caller's fd that travels with the command (`getfd`, `add-fd`). */
  readonly fd?: number
  readonly alreadyDone: ReadonlyArray<AlreadyDone>
  /** Absent: the step cannot be undone (the runner then reports it as left over). */
  readonly undo?: Undo
  /**
   * `false`: the step changes nothing a rollback must take back (a query, the dismissal of a job
   * that has ended), so it needs no undo and is never a leftover. Since 0.3.0.
   */
  readonly changes?: false
  /**
   * What a successful reply must also say (a query read after a job ended). Since 0.3.0. Only
   * queries carry a check, so a checked step without undo changes nothing and a rollback passes
   * it by rather than listing it as left over.
   */
  readonly check?: ReplyCheck
  /**
   * While the check's query says "not yet" (a job not yet concluded), ask again every 100 ms
   * (through the executor's clock) for up to this long. Since 0.3.0.
   */
  readonly pollMs?: number
  /**
   * Errors that mean "not yet": QEMU lets go of a deleted device's block backend and boot index
   * a moment after the device leaves the QOM tree, so a `blockdev-del` or re-add right then
   * meets "is in use" or "Permission conflict". The runner pauses (through the executor's
   * clock) and sends the command again, a bounded number of times. Since 0.3.0.
   */
  readonly retryOn?: ReadonlyArray<AlreadyDone>
}

/**
 * Wait for one of the events `until`; one of `failOn` first, or none within `timeoutMs`, fails
 * the step (and rolls the plan back). A wait changes nothing in QEMU, so it has no undo.
 * Since 0.3.0, for job events (`BLOCK_JOB_READY`, `JOB_STATUS_CHANGE`), `MIGRATION`, …
 *
 * @since 0.3.0
 * @category executor
 */
export interface WaitStep {
  readonly _tag: 'wait'
  readonly description: string
  readonly until: ReadonlyArray<EventMatch>
  readonly failOn: ReadonlyArray<EventMatch>
  readonly timeoutMs: number
}

/**
 * `device_del`, then wait for `DEVICE_DELETED` of exactly this id. A guest may hold the device
 * for ever: when `timeoutMs` passes the plan ends `Pending`, with nothing behind it torn down.
 *
 * @since 0.1.0
 * @category executor
 */
export interface UnplugStep {
  readonly _tag: 'unplug'
  readonly description: string
  readonly id: string
  /** `device_del` of `id`. */
  readonly command: QmpCommand
  /** Errors meaning the device is gone already (a previous run, or the guest, finished it). */
  readonly alreadyDone: ReadonlyArray<AlreadyDone>
  /** Errors meaning an earlier `device_del` still waits for the guest: wait for the same event. */
  readonly stillPending: ReadonlyArray<AlreadyDone>
  readonly timeoutMs: number
  /** Re-creates the device (`device_add` with its recorded properties) for a rollback. */
  readonly undo: Undo
}

/**
 * One step of a plan: send a command, or unplug a device and wait for the guest to release it.
 *
 * @since 0.1.0
 * @category executor
 */
export type PlanStep = CommandStep | UnplugStep | WaitStep

/**
 * A hotplug, medium change or start as data: nothing is sent until the caller hands it to
 * `runPlan`, so it can be inspected first. `after` is the record to keep once every step
 * succeeded: the runtime for a hotplug or medium change (`R`, since 0.2.0, defaults to it); a
 * start changes no record, and its plan is a `QmpPlan<undefined>`.
 *
 * A plan holds its commands as QEMU must receive them, a start's password included: log the
 * runner's `LogEntry`s, or each command through `redactCommand`, rather than the plan.
 *
 * @since 0.1.0
 * @category executor
 */
export interface QmpPlan<R = Runtime> {
  /** `hot-add disk-…`, `hot-remove nic-…`: for logs. */
  readonly title: string
  readonly steps: ReadonlyArray<PlanStep>
  readonly before: R
  /** The record once every step succeeded. */
  readonly after: R
  /** What the running QEMU deprecates and the plan still uses; empty when nothing. */
  readonly warnings: ReadonlyArray<PlanWarning>
}

/**
 * A command step; `undo` and the extras default to none.
 *
 * @since 0.1.0
 */
export const commandStep = (
  description: string,
  command: QmpCommand,
  undo?: Undo,
  extra: { readonly fd?: number; readonly alreadyDone?: ReadonlyArray<AlreadyDone>; readonly check?: ReplyCheck; readonly retryOn?: ReadonlyArray<AlreadyDone>; readonly changes?: false } = {}
): CommandStep => ({
  _tag: 'command',
  description,
  command,
  alreadyDone: extra.alreadyDone ?? [],
  ...(extra.fd === undefined ? {} : { fd: extra.fd }),
  ...(undo === undefined ? {} : { undo }),
  ...(extra.check === undefined ? {} : { check: extra.check }),
  ...(extra.retryOn === undefined ? {} : { retryOn: extra.retryOn }),
  ...(extra.changes === undefined ? {} : { changes: extra.changes })
})

/**
 * A wait step; nothing in `failOn` unless given.
 *
 * @since 0.3.0
 * @category executor
 */
export const waitStep = (description: string, until: ReadonlyArray<EventMatch>, timeoutMs: number, failOn: ReadonlyArray<EventMatch> = []): WaitStep => ({
  _tag: 'wait',
  description,
  until,
  failOn,
  timeoutMs
})

/**
 * Does an error reply match one of the "already so" cases?
 *
 * @since 0.1.0
 */
export const isAlreadyDone =
  (cases: ReadonlyArray<AlreadyDone>) =>
  (error: { readonly class: string; readonly desc: string }): boolean =>
    cases.some((c) => (c.class === undefined || c.class === error.class) && error.desc.includes(c.desc))

const isCommand = (u: unknown): u is QmpCommand => isRecord(u) && typeof prop(u, 'execute') === 'string'

/**
 * The command a step sends, if it sends one (an unplug step's is its `device_del`; a wait sends
 * nothing, and so does anything that is not a step).
 *
 * @since 0.3.0
 * @category executor
 */
export const stepCommand = (s: PlanStep): QmpCommand | undefined => {
  const command = prop(s, 'command')
  return prop(s, '_tag') !== 'wait' && isCommand(command) ? command : undefined
}

/**
 * Every command a step's undo sends, in order (an undo may chain: cancel a job, then dismiss it).
 *
 * @since 0.3.0
 * @category executor
 */
export const undoCommands = (s: PlanStep): ReadonlyArray<QmpCommand> => {
  const out: QmpCommand[] = []
  // Bounded, so that a cyclic `then` a caller built cannot loop for ever.
  for (let u = prop(s, 'undo'); isRecord(u) && out.length < 64; u = prop(u, 'then')) {
    const command = prop(u, 'command')
    if (isCommand(command)) out.push(command)
  }
  return out
}
