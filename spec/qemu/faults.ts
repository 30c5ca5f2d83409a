/**
 * Executors that inject one fault into a real QEMU session, for the suites that check a plan
 * rolls back: command number k refused, or sent with its reply lost.
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Executor } from '../../lib/index.js'

/** An executor whose command number `k` is answered with an error instead of being sent. */
export const refusingAt = (inner: Executor, k: number): Executor => {
  let n = 0
  return {
    send: (command, fd) => async () => (n++ === k ? E.right({ _tag: 'Error', class: 'GenericError', desc: `injected failure at command ${k} (${command.execute})` }) : inner.send(command, fd)()),
    waitEvent: inner.waitEvent
  }
}

/** An executor that sends command number `k` to QEMU and then loses its reply (a transport failure). */
export const losingReplyAt = (inner: Executor, k: number): Executor => {
  let n = 0
  return {
    send: (command, fd) => async () => {
      const i = n++
      const r = await inner.send(command, fd)()
      return i === k ? E.left({ _tag: 'TransportError', message: `reply to command ${k} (${command.execute}) lost` }) : r
    },
    waitEvent: inner.waitEvent
  }
}
