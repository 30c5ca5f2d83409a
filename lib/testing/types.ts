/**
 * What `scriptedExecutor` takes and gives: its options, the faults it injects, its log, and the
 * executor with the levers and views of a test.
 *
 * @since 0.3.0
 */
import type * as E from 'fp-ts/lib/Either.js'
import type { Executor, QmpCommand, QmpEvent, QmpReply, TransportError } from '../qmp/executor.js'
import type { QemuVersion } from '../qemu-version.js'
import type { ScriptedState } from './state.js'

/**
 * A fault for one command: a QMP error reply instead of running it, or a transport failure,
 * either before QEMU got the command or (`delivered: true`) after it ran and the reply was lost.
 *
 * @since 0.3.0
 * @category executor
 */
export type Fault =
  | { readonly _tag: 'QmpError'; readonly class?: string; readonly desc: string }
  | { readonly _tag: 'TransportError'; readonly message?: string; readonly delivered?: boolean }

/**
 * Options of {@link scriptedExecutor}.
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedOptions {
  /** The QEMU whose texts it speaks where versions differ (only `balloon 0` so far). Default 7.2.0. */
  readonly qemu?: QemuVersion
  /**
   * A guest that releases each PCI device this many simulated milliseconds after its
   * `device_del`. Absent: no guest, as measured with QEMU under `-S`: a PCI device stays until
   * `release(id)`.
   */
  readonly guestReleaseMs?: number
  /** The virtual size of every image whose size the model was not told (by `block_resize`). Default 1 MiB. */
  readonly imageBytes?: number
  /** Simulated milliseconds a mirror takes to be ready and a backup to end. Default 10. */
  readonly jobMs?: number
}

/**
 * One command the executor received, with what it answered.
 *
 * @since 0.3.0
 * @category executor
 */
export interface SentCommand {
  readonly index: number
  readonly command: QmpCommand
  readonly fd?: number
  readonly answer: E.Either<TransportError, QmpReply>
  /** Whether the model ran it (false for an injected error reply or a transport failure before it). */
  readonly ran: boolean
}

/**
 * What {@link scriptedExecutor} gives: the executor, and the levers and views of a test.
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedExecutor {
  readonly executor: Executor
  /** The model now. */
  readonly state: () => ScriptedState
  /** Runs one command at once, outside any fault, as a test reading state back would. */
  readonly execute: (command: QmpCommand, fd?: number) => QmpReply
  /** The guest lets pending device `id` go: it is deleted and `DEVICE_DELETED` queued. False if none was pending. */
  readonly release: (id: string) => boolean
  /**
   * The guest refuses to let pending device `id` go: `DEVICE_UNPLUG_GUEST_ERROR` is queued and
   * the device stays, no longer pending, so `device_del` may be sent again. False if none was pending.
   */
  readonly refuse: (id: string) => boolean
  /**
   * Job `id` fails with `error` (as an I/O error on its target: `BLOCK_JOB_ERROR`, `aborting`,
   * `BLOCK_JOB_COMPLETED` with the error, `concluded`; `query-jobs` shows the error) now if it is
   * active, else instead of its next step of its own once it is started.
   */
  readonly failJob: (id: string, error?: string) => void
  /** Advances the simulated clock by `ms`, letting guests and jobs take their steps due by then. */
  readonly advance: (ms: number) => void
  /** The next command sent (or, with `skip`, the one after `skip` more) meets `fault`. */
  readonly failNext: (fault: Fault, skip?: number) => void
  /** Command number `index` (0-based, counting every send since the start) meets `fault`. */
  readonly failAt: (index: number, fault: Fault) => void
  /** Every command sent through `executor`, in order. */
  readonly log: () => ReadonlyArray<SentCommand>
  /** Every event emitted, in order. */
  readonly events: () => ReadonlyArray<QmpEvent>
}
