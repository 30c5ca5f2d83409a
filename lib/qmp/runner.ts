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
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { Runtime } from '../runtime/types.js'
import { showValue } from '../errors.js'
import { isRecord, prop, totalOr } from '../total.js'
import { checkReply } from './check.js'
import { PERIPHERAL, qomList } from './commands.js'
import { deviceDeleted, unplugRefused } from './event.js'
import type { Executor } from './executor.js'
import { awaitEvent, result, send, sendAndCheck, sendChecked, transport } from './exchange.js'
import type { Leftover, LogEntry, RunOutcome, StepError } from './outcome.js'
import { isAlreadyDone, type CommandStep, type PlanStep, type QmpPlan, type Undo, type UnplugStep, type WaitStep } from './plan.js'
import { redactCommand } from './secret.js'

export type { Leftover, LogEntry, RunOutcome, StepError } from './outcome.js'
export { readReply } from './exchange.js'

type Forward =
  | { readonly _tag: 'ok' }
  | { readonly _tag: 'pending' }
  /** `unconfirmed`: an unplug whose device_del may have reached QEMU, with no DEVICE_DELETED seen. */
  | { readonly _tag: 'failed'; readonly error: StepError; readonly unconfirmed?: true }

const forwardCommand = async (x: Executor, s: CommandStep, i: number, log: LogEntry[]): Promise<Forward> => {
  const { r, checked } = await sendAndCheck(x, s, s.fd)
  const error: StepError | undefined = r._tag === 'failed' ? r.error : E.isLeft(checked) ? { _tag: 'CheckFailed', message: checked.left } : undefined
  log.push({
    step: i,
    phase: 'do',
    command: redactCommand(s.command),
    result: error === undefined ? result(r) : 'failed',
    ...(error === undefined ? {} : { error }),
    ...(r._tag === 'ok' && s.check !== undefined ? { reply: r.value } : {})
  })
  return error === undefined ? { _tag: 'ok' } : { _tag: 'failed', error }
}

const forwardWait = async (x: Executor, s: WaitStep, i: number, log: LogEntry[]): Promise<Forward> => {
  const w = await awaitEvent(x, s.until, s.failOn, s.timeoutMs)
  const error: StepError | undefined =
    w._tag === 'until'
      ? undefined
      : w._tag === 'timeout'
        ? { _tag: 'Timeout', waitedFor: s.until, timeoutMs: s.timeoutMs }
        : w._tag === 'failOn'
          ? { _tag: 'EventFailure', event: w.event.event, data: w.event.data }
          : w.error
  log.push({ step: i, phase: 'wait', result: w._tag === 'until' ? 'event' : w._tag === 'timeout' ? 'timeout' : 'failed', ...(error === undefined ? {} : { error }) })
  return error === undefined ? { _tag: 'ok' } : { _tag: 'failed', error }
}

const forwardUnplug = async (x: Executor, s: UnplugStep, i: number, log: LogEntry[]): Promise<Forward> => {
  const shown = redactCommand(s.command)
  const until = [deviceDeleted(s.id)]
  const failOn = [unplugRefused(s.id)]
  const r = await sendChecked(x, s.command)
  if (E.isLeft(r)) {
    const error = transport(r.left.message)
    log.push({ step: i, phase: 'do', command: shown, result: 'failed', error })
    // The device_del may have reached QEMU: give a deletion in progress its time, so that the
    // rollback's check finds the device either gone or still there, not half-way.
    const w = await awaitEvent(x, until, failOn, s.timeoutMs)
    log.push({ step: i, phase: 'wait', result: w._tag === 'until' ? 'event' : w._tag === 'timeout' ? 'timeout' : 'failed' })
    return w._tag === 'until' ? { _tag: 'failed', error } : { _tag: 'failed', error, unconfirmed: true }
  }
  if (r.right._tag === 'Error') {
    const err: StepError = { _tag: 'QmpError', class: r.right.class, desc: r.right.desc }
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
  const w = await awaitEvent(x, until, failOn, s.timeoutMs)
  switch (w._tag) {
    case 'until':
      log.push({ step: i, phase: 'wait', result: 'event' })
      return { _tag: 'ok' }
    case 'timeout':
      log.push({ step: i, phase: 'wait', result: 'timeout' })
      return { _tag: 'pending' }
    case 'failOn': {
      const error: StepError = { _tag: 'GuestRefused', id: s.id }
      log.push({ step: i, phase: 'wait', result: 'failed', error })
      return { _tag: 'failed', error }
    }
    case 'failed':
      log.push({ step: i, phase: 'wait', result: 'failed', error: w.error })
      // QEMU accepted the device_del and the guest may still be releasing the device.
      return { _tag: 'failed', error: w.error, unconfirmed: true }
  }
}

/**
 * What is wrong with a step a JavaScript caller built, if anything: the runner sends nothing it
 * cannot read as one of the three step kinds.
 */
const malformed = (s: unknown): string | undefined => {
  const tag = prop(s, '_tag')
  const command = prop(s, 'command')
  const sends = isRecord(command) && typeof prop(command, 'execute') === 'string'
  if (tag === 'command') return sends && Array.isArray(prop(s, 'alreadyDone')) ? undefined : 'a command step needs a command {execute, arguments?} and its alreadyDone list'
  if (tag === 'unplug') return sends && typeof prop(s, 'id') === 'string' && Array.isArray(prop(s, 'alreadyDone')) && Array.isArray(prop(s, 'stillPending')) && isRecord(prop(s, 'undo')) ? undefined : 'an unplug step needs its id, command, alreadyDone, stillPending and undo'
  if (tag === 'wait') return Array.isArray(prop(s, 'until')) && Array.isArray(prop(s, 'failOn')) && typeof prop(s, 'timeoutMs') === 'number' ? undefined : 'a wait step needs until, failOn and timeoutMs'
  return `${showValue(s)} is not a plan step (command, unplug or wait)`
}

const forward = (x: Executor, s: PlanStep, i: number, log: LogEntry[]): Promise<Forward> => {
  const wrong = totalOr('it cannot be read', () => malformed(s))
  if (wrong !== undefined) return Promise.resolve({ _tag: 'failed', error: { _tag: 'InvalidPlan', message: `step ${i}: ${wrong}` } })
  return s._tag === 'command' ? forwardCommand(x, s, i, log) : s._tag === 'wait' ? forwardWait(x, s, i, log) : forwardUnplug(x, s, i, log)
}

/**
 * Before an unplug's device is re-created, QEMU must have let go of it: re-adding while the
 * deletion is still running fails ("The bootindex 1 has already been used", a node's
 * "Permission conflict") and would leave the disk gone while the record keeps it.
 */
const confirmRemoved = async (x: Executor, s: UnplugStep, i: number, log: LogEntry[]): Promise<E.Either<{ readonly why: string; readonly error: StepError | undefined }, void>> => {
  const r = await send(x, qomList(PERIPHERAL), [])
  const command = qomList(PERIPHERAL)
  if (r._tag !== 'ok') {
    log.push({ step: i, phase: 'undo', command, result: 'failed', ...(r._tag === 'failed' ? { error: r.error } : {}) })
    return E.left({ why: 'QEMU could not be asked whether the device is gone', error: r._tag === 'failed' ? r.error : undefined })
  }
  const absent = checkReply({ _tag: 'DeviceAbsent', id: s.id }, r.value)
  log.push({ step: i, phase: 'undo', command, result: 'ok' })
  if (E.isRight(absent)) return absent
  // Still there: its deletion may be under way (the guest is ejecting it), or never started.
  const w = await awaitEvent(x, [deviceDeleted(s.id)], [], s.timeoutMs)
  log.push({ step: i, phase: 'wait', result: w._tag === 'until' ? 'event' : w._tag === 'timeout' ? 'timeout' : 'failed' })
  return w._tag === 'until'
    ? E.right(undefined)
    : E.left({ why: `${absent.left} and its device_del may still be pending, so it was not re-created (run the removal plan again to finish it)`, error: w._tag === 'failed' ? w.error : undefined })
}

/** Runs one undo and the ones chained to it; the first that fails ends the chain. */
const runUndo = async (x: Executor, s: PlanStep, undo: Undo, i: number, log: LogEntry[]): Promise<Leftover | undefined> => {
  const { r, checked } = await sendAndCheck(x, undo)
  const shown = redactCommand(undo.command)
  log.push({ step: i, phase: 'undo', command: shown, result: result(r), ...(r._tag === 'failed' ? { error: r.error } : {}) })
  if (r._tag === 'failed') return { step: i, description: undo.command.execute === 'device_del' ? `${s.description} (device_del refused)` : s.description, undo: shown, error: r.error }
  if (E.isLeft(checked)) return { step: i, description: `${s.description}: ${checked.left}`, undo: shown, error: { _tag: 'CheckFailed', message: checked.left } }
  const awaited = undo.awaitDeleted
  if (r._tag === 'ok' && awaited !== undefined) {
    const w = await awaitEvent(x, [deviceDeleted(awaited.id)], [], awaited.timeoutMs)
    log.push({ step: i, phase: 'wait', result: w._tag === 'until' ? 'event' : w._tag === 'timeout' ? 'timeout' : 'failed' })
    // Accepted is not done: without DEVICE_DELETED the device is still in QEMU (a PCI device
    // waits for its guest), and the caller must hear of it.
    if (w._tag !== 'until') return { step: i, description: `${s.description}: its device_del is pending (no DEVICE_DELETED within ${awaited.timeoutMs} ms)`, undo: shown, error: w._tag === 'failed' ? w.error : undefined }
  }
  const ev = undo.await
  if (r._tag === 'ok' && ev !== undefined) {
    const w = await awaitEvent(x, ev.until, [], ev.timeoutMs)
    log.push({ step: i, phase: 'wait', result: w._tag === 'until' ? 'event' : w._tag === 'timeout' ? 'timeout' : 'failed' })
    if (w._tag !== 'until') return { step: i, description: `${s.description}: ${undo.command.execute} was accepted, but no ${ev.until.map((m) => m.event).join(' or ')} came within ${ev.timeoutMs} ms`, undo: shown, error: w._tag === 'failed' ? w.error : undefined }
  }
  return undo.then === undefined ? undefined : runUndo(x, s, undo.then, i, log)
}

const rollback = async (x: Executor, steps: ReadonlyArray<PlanStep>, completed: number, unconfirmed: number | undefined, log: LogEntry[]): Promise<ReadonlyArray<Leftover>> => {
  const leftovers: Leftover[] = []
  for (let i = completed - 1; i >= 0; i--) {
    const s = steps[i]
    // A wait, a query, a dismissal changed nothing in QEMU: there is nothing to undo.
    if (s === undefined || s._tag === 'wait' || (s._tag === 'command' && s.changes === false)) continue
    // A checked query (query-migrate, query-jobs) changed nothing either.
    if (s._tag === 'command' && s.undo === undefined && s.check !== undefined) continue
    if (s.undo === undefined) {
      leftovers.push({ step: i, description: s.description, undo: undefined, error: undefined })
      continue
    }
    if (s._tag === 'unplug' && i === unconfirmed) {
      const gone = await confirmRemoved(x, s, i, log)
      if (E.isLeft(gone)) {
        leftovers.push({ step: i, description: `${s.description}: ${gone.left.why}`, undo: redactCommand(s.undo.command), error: gone.left.error })
        continue
      }
    }
    const left = await runUndo(x, s, s.undo, i, log)
    if (left !== undefined) leftovers.push(left)
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
    // What is not a plan sends nothing, and its outcome says why (the record is whatever it holds).
    if (!totalOr(false, () => isRecord(plan) && Array.isArray(plan.steps))) {
      const before = totalOr(undefined, () => prop(plan, 'before')) as R
      return E.right({ _tag: 'RolledBack', failedStep: 0, error: { _tag: 'InvalidPlan', message: `expected a QmpPlan {title, steps, before, after, warnings}, got ${totalOr('a value that cannot be shown', () => showValue(plan))}` }, runtime: before, log })
    }
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
        const leftovers = await rollback(executor, plan.steps, r.error._tag === 'TransportError' ? i + 1 : i, r.unconfirmed === true ? i : undefined, log)
        return E.right(
          leftovers.length === 0
            ? { _tag: 'RolledBack', failedStep: i, error: r.error, runtime: plan.before, log }
            : { _tag: 'RollbackIncomplete', failedStep: i, error: r.error, leftovers, runtime: plan.before, log }
        )
      }
    }
    return E.right({ _tag: 'Done', runtime: plan.after, log })
  }
