/**
 * Running a plan through the caller's executor. The one place in the library that calls out,
 * and only through the {@link Executor} it is given; time is measured by the executor too.
 *
 * Every outcome is a value: done; pending (a device the guest has not released yet — nothing
 * behind it was touched, and running the same removal plan again later finishes it); rolled
 * back (every completed step undone, newest first); or not fully rolled back, listing exactly
 * what is left in QEMU.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { showValue } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { unplugEventFor } from './commands.js'
import type { Executor, QmpCommand, QmpReply } from './executor.js'
import { isAlreadyDone, type PlanStep, type QmpPlan, type Undo } from './plan.js'
import { redactCommand } from './secret.js'

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

type Sent = { readonly _tag: 'ok' } | { readonly _tag: 'already' } | { readonly _tag: 'failed'; readonly error: StepError }

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * What an executor answered, read strictly: the documented `{_tag: 'Return' | 'Error'}` shapes,
 * or QEMU's own `{"return": …}` / `{"error": {class, desc}}` passed through. Anything else is
 * not a success: treating an unknown reply as one would record a device QEMU never created.
 *
 * @since 0.1.0
 */
export const readReply = (u: unknown): E.Either<string, QmpReply> => {
  if (!isRecord(u)) return E.left(`the executor returned ${showValue(u)} instead of a QMP reply`)
  if (u['_tag'] === 'Return' && 'value' in u) return E.right({ _tag: 'Return', value: u['value'] })
  const err = u['_tag'] === 'Error' ? u : isRecord(u['error']) ? u['error'] : undefined
  if (err !== undefined && typeof err['class'] === 'string' && typeof err['desc'] === 'string') return E.right({ _tag: 'Error', class: err['class'], desc: err['desc'] })
  if (u['_tag'] === undefined && 'return' in u) return E.right({ _tag: 'Return', value: u['return'] })
  return E.left(`the executor returned a reply that is neither {_tag: "Return", value} nor {_tag: "Error", class, desc}: ${showValue(u)}`)
}

const toStepError = (reply: QmpReply): StepError | undefined =>
  reply._tag === 'Error' ? { _tag: 'QmpError', class: reply.class, desc: reply.desc } : undefined

/** The executor's `send`, with its reply read by {@link readReply}. */
const sendChecked = async (x: Executor, command: QmpCommand, fd?: number): Promise<E.Either<{ readonly message: string }, QmpReply>> => {
  // Reading the reply is guarded too: a hostile value must end the step, not the task.
  return call(async () => {
    const r = await x.send(command, fd)()
    return E.isLeft(r) ? r : E.mapLeft((message: string) => ({ message }))(readReply(r.right as unknown))
  })
}

/**
 * Calls the executor; an executor that throws or rejects instead of answering `Left` is a
 * transport failure all the same, so that a plan always ends in an outcome (and a rollback).
 */
const call = async <A>(task: () => Promise<E.Either<{ readonly message: string }, A>>): Promise<E.Either<{ readonly message: string }, A>> => {
  try {
    return await task()
  } catch (e) {
    return E.left({ message: `the executor threw: ${e instanceof Error ? e.message : String(e)}` })
  }
}

const send = async (x: Executor, command: QmpCommand, alreadyDone: Undo['alreadyDone'], fd?: number): Promise<Sent> => {
  const r = await sendChecked(x, command, fd)
  if (E.isLeft(r)) return { _tag: 'failed', error: { _tag: 'TransportError', message: r.left.message } }
  const err = toStepError(r.right)
  if (err === undefined) return { _tag: 'ok' }
  if (err._tag === 'QmpError' && isAlreadyDone(alreadyDone)(err)) return { _tag: 'already' }
  return { _tag: 'failed', error: err }
}

type Forward = { readonly _tag: 'ok' } | { readonly _tag: 'pending' } | { readonly _tag: 'failed'; readonly error: StepError }

const forward = async (x: Executor, s: PlanStep, i: number, log: LogEntry[]): Promise<Forward> => {
  if (s._tag === 'command') {
    const r = await send(x, s.command, s.alreadyDone, s.fd)
    log.push({ step: i, phase: 'do', command: redactCommand(s.command), result: r._tag === 'ok' ? 'ok' : r._tag === 'already' ? 'already-done' : 'failed', ...(r._tag === 'failed' ? { error: r.error } : {}) })
    return r._tag === 'failed' ? r : { _tag: 'ok' }
  }
  const command = s.command
  const shown = redactCommand(command)
  const match = unplugEventFor(s.id)
  const r = await sendChecked(x, command)
  if (E.isLeft(r)) {
    const error: StepError = { _tag: 'TransportError', message: r.left.message }
    log.push({ step: i, phase: 'do', command: shown, result: 'failed', error })
    // The device_del may have reached QEMU: let a deletion in progress finish before the
    // rollback re-creates the device, or the new one would find its node still held.
    const ev = await call(() => x.waitEvent((e) => match(e) !== undefined, s.timeoutMs)())
    log.push({ step: i, phase: 'wait', result: E.isRight(ev) && O.isSome(ev.right) ? 'event' : 'timeout' })
    return { _tag: 'failed', error }
  }
  const err = toStepError(r.right)
  if (err !== undefined && err._tag === 'QmpError') {
    if (isAlreadyDone(s.alreadyDone)(err)) {
      log.push({ step: i, phase: 'do', command: shown, result: 'already-done' })
      return { _tag: 'ok' }
    }
    if (!isAlreadyDone(s.stillPending)(err)) {
      log.push({ step: i, phase: 'do', command: shown, result: 'failed', error: err })
      return { _tag: 'failed', error: err }
    }
  }
  log.push({ step: i, phase: 'do', command: shown, result: 'ok' })
  const ev = await call(() => x.waitEvent((e) => match(e) !== undefined, s.timeoutMs)())
  if (E.isLeft(ev)) {
    const error: StepError = { _tag: 'TransportError', message: ev.left.message }
    log.push({ step: i, phase: 'wait', result: 'failed', error })
    return { _tag: 'failed', error }
  }
  if (O.isNone(ev.right)) {
    log.push({ step: i, phase: 'wait', result: 'timeout' })
    return { _tag: 'pending' }
  }
  if (match(ev.right.value) === 'refused') {
    const error: StepError = { _tag: 'GuestRefused', id: s.id }
    log.push({ step: i, phase: 'wait', result: 'failed', error })
    return { _tag: 'failed', error }
  }
  log.push({ step: i, phase: 'wait', result: 'event' })
  return { _tag: 'ok' }
}

const rollback = async (x: Executor, steps: ReadonlyArray<PlanStep>, completed: number, log: LogEntry[]): Promise<ReadonlyArray<Leftover>> => {
  const leftovers: Leftover[] = []
  for (let i = completed - 1; i >= 0; i--) {
    const s = steps[i]
    if (s === undefined) continue
    if (s.undo === undefined) {
      leftovers.push({ step: i, description: s.description, undo: undefined, error: undefined })
      continue
    }
    const r = await send(x, s.undo.command, s.undo.alreadyDone)
    const shown = redactCommand(s.undo.command)
    log.push({ step: i, phase: 'undo', command: shown, result: r._tag === 'ok' ? 'ok' : r._tag === 'already' ? 'already-done' : 'failed', ...(r._tag === 'failed' ? { error: r.error } : {}) })
    if (r._tag === 'failed') {
      leftovers.push({ step: i, description: s.undo.command.execute === 'device_del' ? `${s.description} (device_del refused)` : s.description, undo: shown, error: r.error })
      continue
    }
    const awaited = s.undo.awaitDeleted
    if (r._tag === 'ok' && awaited !== undefined) {
      const match = unplugEventFor(awaited.id)
      const ev = await call(() => x.waitEvent((e) => match(e) === 'deleted', awaited.timeoutMs)())
      const gone = E.isRight(ev) && O.isSome(ev.right)
      log.push({ step: i, phase: 'wait', result: gone ? 'event' : E.isLeft(ev) ? 'failed' : 'timeout' })
      // Accepted is not done: without DEVICE_DELETED the device is still in QEMU (a PCI device
      // waits for its guest), and the caller must hear of it.
      if (!gone) leftovers.push({ step: i, description: `${s.description}: its device_del is pending (no DEVICE_DELETED within ${awaited.timeoutMs} ms)`, undo: shown, error: E.isLeft(ev) ? { _tag: 'TransportError', message: ev.left.message } : undefined })
    }
  }
  return leftovers
}

/**
 * Runs a plan step by step through `executor`. Never fails as a task: every way a plan can end
 * is a {@link RunOutcome}, and the runtime to keep is in it (`plan.after` only when `Done`).
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as O from 'fp-ts/lib/Option.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeDisk, decodeInstance, formatError, planDevices, planHotAdd, runPlan, toRuntime, type Executor } from 'qemu-devplan'
 *
 * // An executor that answers every command with success; a real one talks QMP to QEMU
 * // (examples/qmp-client.ts has one over a Unix socket).
 * const executor: Executor = {
 *   send: (command) => {
 *     console.log('->', command.execute)
 *     return TE.right({ _tag: 'Return', value: {} })
 *   },
 *   waitEvent: () => TE.right(O.none)
 * }
 *
 * // The runtime of the running instance: recorded at its start (or parseRuntime of its file).
 * const runtime = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * const plan = pipe(
 *   runtime,
 *   E.chain((rt) => pipe(decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/vm1-data' }), E.chain((disk) => planHotAdd(rt, { disk }))))
 * )
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * const outcome = await runPlan(plan.right, executor)() // never a Left: every ending is a RunOutcome
 * if (E.isRight(outcome)) console.log(outcome.right._tag, outcome.right.runtime.disks.length) // Done 2
 * ```
 *
 * @since 0.1.0
 * @category executor
 */
export const runPlan =
  <R = Runtime>(plan: QmpPlan<R>, executor: Executor): TE.TaskEither<never, RunOutcome<R>> =>
  async () => {
    const log: LogEntry[] = []
    for (let i = 0; i < plan.steps.length; i++) {
      const s = plan.steps[i]
      if (s === undefined) continue
      const r = await forward(executor, s, i, log)
      if (r._tag === 'pending' && s._tag === 'unplug') {
        return E.right({ _tag: 'Pending', deviceId: s.id, runtime: plan.before, log })
      }
      if (r._tag === 'failed') {
        // A transport failure leaves open whether QEMU ran the command: undo it too (every undo
        // accepts "already so"). A QMP error means it did not take effect.
        const leftovers = await rollback(executor, plan.steps, r.error._tag === 'TransportError' ? i + 1 : i, log)
        return E.right(
          leftovers.length === 0
            ? { _tag: 'RolledBack', failedStep: i, error: r.error, runtime: plan.before, log }
            : { _tag: 'RollbackIncomplete', failedStep: i, error: r.error, leftovers, runtime: plan.before, log }
        )
      }
    }
    return E.right({ _tag: 'Done', runtime: plan.after, log })
  }
