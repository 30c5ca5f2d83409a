/**
 * Secrets on their way to QEMU: a password read by the caller (the library never reads files)
 * travels wrapped, so that logging the input that carries it cannot print it, and every command
 * the runner records for a log has its secret arguments replaced.
 *
 * @since 0.2.0
 */
import type { QmpCommand } from './executor.js'

/**
 * A value that must not reach a log. `JSON.stringify` gives `{"_tag":"Secret"}` and
 * `util.inspect` shows only a function: the value lives in a closure.
 *
 * @since 0.2.0
 * @category executor
 */
export interface Secret {
  readonly _tag: 'Secret'
  /** The value itself, for the one command that must carry it. */
  readonly reveal: () => string
}

/**
 * Wraps a value (such as the one line of `vnc_password_file`) as a {@link Secret}.
 *
 * @example
 * ```ts
 * import { isSecret, secret } from 'qemu-devplan'
 *
 * const password = secret('correct horse battery staple') // e.g. the one line of vnc_password_file
 * console.log(JSON.stringify({ password })) // {"password":{"_tag":"Secret"}}
 * console.log(isSecret(password), password.reveal().length) // true 28
 * ```
 *
 * @since 0.2.0
 * @category executor
 */
export const secret = (value: string): Secret => ({ _tag: 'Secret', reveal: () => value })

/**
 * Is `u` a {@link Secret}? Inputs of untyped callers are checked, not trusted.
 *
 * @since 0.2.0
 * @category executor
 */
export const isSecret = (u: unknown): u is Secret => {
  // A Proxy's traps may throw: what cannot be read is no Secret.
  try {
    return typeof u === 'object' && u !== null && '_tag' in u && u._tag === 'Secret' && 'reveal' in u && typeof u.reveal === 'function'
  } catch {
    return false
  }
}

/**
 * What a log shows instead of a secret argument.
 *
 * @since 0.2.0
 * @category executor
 */
export const REDACTED = '<redacted>'

/** The arguments of each command that carry a secret: the commands that take a password. */
const SECRET_ARGUMENTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['set_password', new Set(['password'])],
  ['change-vnc-password', new Set(['password'])]
])

/**
 * The command as a log may show it: its secret arguments (the `password` of `set_password`)
 * replaced by {@link REDACTED}; any other command unchanged.
 *
 * @since 0.2.0
 * @category executor
 */
export const redactCommand = (command: QmpCommand): QmpCommand => {
  // What is not a command is given back as it is; one that cannot even be read is shown as
  // nothing but REDACTED, since a log must never risk a secret.
  if (typeof command !== 'object' || command === null) return command
  try {
    return redactOf(command)
  } catch {
    return { execute: REDACTED }
  }
}

const redactOf = (command: QmpCommand): QmpCommand => {
  const keys = SECRET_ARGUMENTS.get(command.execute)
  const args = command.arguments
  if (keys === undefined || typeof args !== 'object' || args === null) return command
  return { execute: command.execute, arguments: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, keys.has(k) ? REDACTED : v])) }
}
