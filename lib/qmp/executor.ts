/**
 * The executor: the one door through which a plan reaches a QEMU. The caller implements it over
 * their own transport (a Unix socket, a libvirt-style proxy, a test double); the library only ever
 * calls these three functions, so `lib/` never performs I/O itself.
 *
 * @since 0.1.0
 */
import type { TaskEither } from 'fp-ts/lib/TaskEither.js'
import type { Option } from 'fp-ts/lib/Option.js'

/**
 * A QMP command as it goes on the wire: `{"execute": …, "arguments": …}`.
 *
 * @since 0.1.0
 * @category executor
 */
export interface QmpCommand {
  readonly execute: string
  readonly arguments?: { readonly [key: string]: unknown }
}

/**
 * What QEMU answered to one command: `return` or `error` (QMP's own two shapes).
 *
 * @since 0.1.0
 * @category executor
 */
export type QmpReply =
  | { readonly _tag: 'Return'; readonly value: unknown }
  | { readonly _tag: 'Error'; readonly class: string; readonly desc: string }

/**
 * An asynchronous QMP event such as `DEVICE_DELETED`.
 *
 * @since 0.1.0
 * @category executor
 */
export interface QmpEvent {
  readonly event: string
  readonly data: unknown
  readonly timestamp: { readonly seconds: number; readonly microseconds: number }
}

/**
 * A transport failure: the command may or may not have reached QEMU. Distinct from a QMP
 * `error` reply, which is an answer.
 *
 * @since 0.1.0
 * @category executor
 */
export interface TransportError {
  readonly _tag: 'TransportError'
  readonly message: string
}

/**
 * The interface a caller implements.
 *
 * Contract:
 * - `send` resolves with QEMU's reply to exactly that command. When `fd` is given, the transport
 *   passes the caller-held file descriptor `fd` (a descriptor of the caller's process) with the command (SCM_RIGHTS) — QMP's
 *   `getfd`/`add-fd` take the descriptor from the message that carries them.
 * - `waitEvent` resolves with the first event matching `predicate` that arrived since the
 *   previous `send` was issued (events are buffered, so one that arrives between a reply and the
 *   call is not lost), or with `none` when `timeoutMs` elapsed first. The executor owns the
 *   clock: the library never reads time.
 *
 * @since 0.1.0
 * @category executor
 */
export interface Executor {
  /** Sends one command (with the caller-held descriptor `fd`, when given) and resolves with QEMU's reply. */
  readonly send: (command: QmpCommand, fd?: number) => TaskEither<TransportError, QmpReply>
  /** The first event matching `predicate` since the previous `send`, or `none` after `timeoutMs`. */
  readonly waitEvent: (
    predicate: (event: QmpEvent) => boolean,
    timeoutMs: number
  ) => TaskEither<TransportError, Option<QmpEvent>>
}
