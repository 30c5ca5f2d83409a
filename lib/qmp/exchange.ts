/**
 * One exchange with the caller's executor, guarded: a command sent and its reply read strictly,
 * bounded resends of "not yet" errors and polls of "not yet" checks (paused by the executor's
 * clock), and a wait for one of several events. Whatever the executor does — answer `Left`,
 * throw, reject, return garbage — the result is a value.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import { showValue } from '../errors.js'
import { checkPending, checkReply } from './check.js'
import { firstMatch, type EventMatch } from './event.js'
import type { Executor, QmpCommand, QmpEvent, QmpReply } from './executor.js'
import type { LogEntry, StepError } from './outcome.js'
import { isAlreadyDone, type ReplyCheck, type Undo } from './plan.js'

export type Sent =
  | { readonly _tag: 'ok'; readonly value: unknown }
  | { readonly _tag: 'already' }
  | { readonly _tag: 'failed'; readonly error: StepError }

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

/** The executor's `send`, with its reply read by {@link readReply}. */
export const sendChecked = async (x: Executor, command: QmpCommand, fd?: number): Promise<E.Either<{ readonly message: string }, QmpReply>> => {
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
export const call = async <A>(task: () => Promise<E.Either<{ readonly message: string }, A>>): Promise<E.Either<{ readonly message: string }, A>> => {
  try {
    return await task()
  } catch (e) {
    return E.left({ message: `the executor threw: ${e instanceof Error ? e.message : String(e)}` })
  }
}

export const transport = (message: string): StepError => ({ _tag: 'TransportError', message })

/** How often, and how long apart, a command that met a "not yet" error is sent again. */
const RETRIES = 10
export const RETRY_PAUSE_MS = 100

export const send = async (x: Executor, command: QmpCommand, alreadyDone: Undo['alreadyDone'], fd?: number, retryOn: Undo['alreadyDone'] = []): Promise<Sent> => {
  for (let attempt = 0; ; attempt++) {
    const r = await sendChecked(x, command, fd)
    if (E.isLeft(r)) return { _tag: 'failed', error: transport(r.left.message) }
    if (r.right._tag === 'Return') return { _tag: 'ok', value: r.right.value }
    const err: StepError = { _tag: 'QmpError', class: r.right.class, desc: r.right.desc }
    if (isAlreadyDone(alreadyDone)(err)) return { _tag: 'already' }
    if (attempt >= RETRIES || !isAlreadyDone(retryOn)(err)) return { _tag: 'failed', error: err }
    // The executor owns the clock: a wait for no event is the pause.
    const paused = await call(() => x.waitEvent(() => false, RETRY_PAUSE_MS)())
    if (E.isLeft(paused)) return { _tag: 'failed', error: err }
  }
}

export const result = (r: Sent): LogEntry['result'] => (r._tag === 'ok' ? 'ok' : r._tag === 'already' ? 'already-done' : 'failed')

export type Waited = { readonly _tag: 'until' } | { readonly _tag: 'failOn'; readonly event: QmpEvent } | { readonly _tag: 'timeout' } | { readonly _tag: 'failed'; readonly error: StepError }

/** Waits for the first event of `until` or `failOn`. */
export const awaitEvent = async (x: Executor, until: ReadonlyArray<EventMatch>, failOn: ReadonlyArray<EventMatch>, timeoutMs: number): Promise<Waited> => {
  const good = firstMatch(until)
  const bad = firstMatch(failOn)
  const ev = await call(() => x.waitEvent((e) => good(e) !== undefined || bad(e) !== undefined, timeoutMs)())
  if (E.isLeft(ev)) return { _tag: 'failed', error: transport(ev.left.message) }
  if (O.isNone(ev.right)) return { _tag: 'timeout' }
  // The executor's answer is checked again: a transport that ignores the predicate must not
  // turn an unrelated event into success.
  if (good(ev.right.value) !== undefined) return { _tag: 'until' }
  if (bad(ev.right.value) !== undefined) return { _tag: 'failOn', event: ev.right.value }
  return { _tag: 'failed', error: transport(`the executor's waitEvent returned an event that matches nothing waited for: ${showValue(ev.right.value)}`) }
}

/**
 * Sends a command and checks its reply; a check that says "not yet" is asked again, after a
 * pause, until `pollMs` has passed.
 */
export const sendAndCheck = async (
  x: Executor,
  c: { readonly command: QmpCommand; readonly alreadyDone: Undo['alreadyDone']; readonly retryOn?: Undo['alreadyDone']; readonly check?: ReplyCheck; readonly pollMs?: number },
  fd?: number
): Promise<{ readonly r: Sent; readonly checked: E.Either<string, void> }> => {
  for (let waited = 0; ; waited += RETRY_PAUSE_MS) {
    const r = await send(x, c.command, c.alreadyDone, fd, c.retryOn)
    const checked = r._tag === 'ok' && c.check !== undefined ? checkReply(c.check, r.value) : E.right(undefined)
    if (E.isRight(checked) || r._tag !== 'ok' || c.check === undefined || waited >= (c.pollMs ?? 0) || !checkPending(c.check, r.value)) return { r, checked }
    const paused = await call(() => x.waitEvent(() => false, RETRY_PAUSE_MS)())
    if (E.isLeft(paused)) return { r, checked }
  }
}
