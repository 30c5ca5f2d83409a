/**
 * A QMP plan: the ordered steps of one hotplug, each with what it sends, which error replies
 * mean "already so" (so that every plan can be run again safely), and how to undo it. The plan
 * also carries the runtime before and after, so the caller's record changes only with QEMU.
 *
 * @since 0.1.0
 */
import type { PlanWarning } from '../warnings.js'
import type { Runtime } from '../runtime/types.js'
import type { QmpCommand } from './executor.js'

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
}

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
export type PlanStep = CommandStep | UnplugStep

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
  extra: { readonly fd?: number; readonly alreadyDone?: ReadonlyArray<AlreadyDone> } = {}
): CommandStep => ({
  _tag: 'command',
  description,
  command,
  alreadyDone: extra.alreadyDone ?? [],
  ...(extra.fd === undefined ? {} : { fd: extra.fd }),
  ...(undo === undefined ? {} : { undo })
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
