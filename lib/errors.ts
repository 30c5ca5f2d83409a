/**
 * The library's one error type: a tagged union, so callers can `switch` on `_tag`, plus a
 * readable rendering. Every failure the library reports is data; nothing in `lib/` throws.
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts'

/**
 * One rejected input: where (`hvparams.disk_type`, `disks[2].uuid`), what was there, and why.
 *
 * @since 0.1.0
 * @category decode
 */
export interface FieldError {
  readonly path: string
  readonly value: unknown
  readonly message: string
}

/**
 * Everything that can go wrong, by kind.
 *
 * @since 0.1.0
 * @category decode
 */
export type DevplanError =
  | { readonly _tag: 'InvalidInput'; readonly errors: ReadonlyArray<FieldError> }
  | { readonly _tag: 'BusFull'; readonly bus: string; readonly device: string; readonly capacity: number; readonly from?: number }
  | { readonly _tag: 'Unsupported'; readonly device: string; readonly reason: string }
  | { readonly _tag: 'DuplicateId'; readonly id: string }
  | { readonly _tag: 'PlaceTaken'; readonly bus: string; readonly place: string; readonly device: string; readonly holder: string }
  | { readonly _tag: 'NoSuchPlace'; readonly bus: string; readonly place: string; readonly device: string }
  | { readonly _tag: 'UnknownDevice'; readonly id: string }
  /** q35: every spare `pcie-root-port` holds a device; `hvparam` gives their number. */
  | { readonly _tag: 'NoSparePort'; readonly device: string; readonly hvparam: string; readonly ports: number }
  /** A hotplug or medium change while a migration is in progress (`status`, as `query-migrate` says it). Since 0.3.0. */
  | { readonly _tag: 'MigrationInProgress'; readonly device: string; readonly status: string }
  /** The target's QEMU (`target`, its version) cannot run the runtime as the same machine. Since 0.3.0. */
  | { readonly _tag: 'NotMigratable'; readonly target: string; readonly reasons: ReadonlyArray<string> }

/**
 * Wraps field errors into one `InvalidInput`, so that a caller gets every rejected field of an
 * input at once rather than only the first.
 *
 * @since 0.1.0
 */
export const invalidInput = (errors: ReadonlyArray<FieldError>): DevplanError => ({ _tag: 'InvalidInput', errors })

/**
 * An `InvalidInput` about one field: for checks made after decoding, where the path (such as
 * `hvparams.kvm_extra`) must still lead the caller to the value at fault.
 *
 * @since 0.1.0
 */
export const fieldError = (path: string, value: unknown, message: string): DevplanError =>
  invalidInput([{ path, value, message }])

/**
 * A value as it appears in messages: JSON, shortened so that a huge input cannot flood a log.
 *
 * @since 0.1.0
 */
export const showValue = (value: unknown): string => {
  let s: string
  // A hostile input nested thousands deep makes JSON.stringify and String recurse until the
  // stack overflows, some milliseconds per message: such a value is named by its kind, as the
  // overflow would leave it (a cycle too, as String names it).
  if (nestsDeep(value)) return shown(() => (Array.isArray(value) ? '[object Array]' : String(value)))
  try {
    // A bigint looks like a valid number once stringified: keep its n.
    s = value === undefined ? 'undefined' : typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value))
  } catch {
    // BigInt, cycles; String() itself throws on null-prototype objects.
    try {
      s = String(value)
    } catch {
      // A Proxy can throw from every trap, Symbol.toStringTag's included.
      try { s = Object.prototype.toString.call(value) } catch { s = '(unreadable)' }
    }
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

const shown = (f: () => string): string => {
  try {
    return f()
  } catch {
    return '(unreadable)'
  }
}

/** Levels of nesting from which {@link showValue} does not walk a value: far below any stack's limit, far above any real input's. */
const SHOW_DEPTH = 256

/**
 * Whether `value` nests {@link SHOW_DEPTH} levels or more among its first ten thousand objects
 * and arrays: walked with a stack of its own, never recursively, and without calling a getter
 * of a value that is not plain data (a Proxy or an accessor reads as shallow).
 */
const nestsDeep = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null) return false
  try {
    const stack: Array<readonly [object, number]> = [[value, 0]]
    for (let budget = 10_000; budget > 0; budget--) {
      const top = stack.pop()
      if (top === undefined) return false
      const [v, depth] = top
      if (depth >= SHOW_DEPTH) return true
      const children: ReadonlyArray<unknown> = Array.isArray(v) ? v : Object.getPrototypeOf(v) === Object.prototype ? Object.values(v) : []
      for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1])
    }
    return false
  } catch {
    return false
  }
}

const pathOf = (context: t.Context): string =>
  context
    .slice(1)
    .map((entry) => entry.key)
    .filter((key) => key !== '')
    .reduce((acc, key) => (/^\d+$/.test(key) ? `${acc}[${key}]` : acc === '' ? key : `${acc}.${key}`), '')

/**
 * Turns io-ts validation errors into field errors. A union reports one error per member; only
 * the deepest (most specific) ones of a path are kept, so a typo gives one line, not ten.
 *
 * @since 0.1.0
 */
export const fromValidationErrors = (errors: t.Errors): ReadonlyArray<FieldError> => {
  const byPath = new Map<string, { depth: number; error: FieldError }>()
  for (const e of errors) {
    const path = pathOf(e.context)
    const last = e.context[e.context.length - 1]
    // Fields with a default never fail on undefined: an undefined value is a missing field.
    const expected = e.message ?? `expected ${last?.type.name ?? 'a valid value'}`
    const message = e.value === undefined ? `is required: ${expected}` : expected
    const depth = e.message === undefined ? e.context.length : e.context.length + 1000
    const seen = byPath.get(path)
    if (seen === undefined || depth > seen.depth) byPath.set(path, { depth, error: { path, value: e.value, message } })
  }
  return [...byPath.values()].map((v) => v.error)
}

/**
 * One line per problem, e.g. `hvparams.disk_type: "scsi" is no longer supported; use "scsi-hd"`.
 *
 * @since 0.1.0
 * @category decode
 */
export const formatError = (error: DevplanError): string => {
  // A JavaScript caller may hand over anything as an error; it is shown, never thrown over.
  try {
    return formatOf(error) ?? `(not a DevplanError: ${showValue(error)})`
  } catch {
    return `(not a DevplanError: ${showValue(error)})`
  }
}

const formatOf = (error: DevplanError): string | undefined => {
  if (typeof error !== 'object' || error === null) return undefined
  switch (error._tag) {
    case 'InvalidInput':
      return error.errors
        .map((e) => `${e.path === '' ? '(input)' : e.path}: ${e.value === undefined || e.message.includes(showValue(e.value)) ? e.message : `${e.message}, got ${showValue(e.value)}`}`)
        .join('\n')
    case 'BusFull':
      return error.from === undefined || error.from <= 0
        ? `${error.device}: no free place on bus ${error.bus} (it holds ${error.capacity})`
        : `${error.device}: no free place on bus ${error.bus} from ${error.from} to ${error.capacity - 1} (of its ${error.capacity}, those below ${error.from} are reserved)`
    case 'Unsupported':
      return `${error.device}: ${error.reason}`
    case 'DuplicateId':
      return `${error.id}: a device with this id exists already`
    case 'PlaceTaken':
      return `${error.device}: ${error.place} on ${error.bus} is held by ${error.holder} already`
    case 'NoSuchPlace':
      return `${error.device}: ${error.place} is not a place on ${error.bus}`
    case 'UnknownDevice':
      return `${error.id}: no such device in the runtime`
    case 'NoSparePort':
      return `${error.device}: every one of the ${error.ports} pcie-root-ports holds a device (pcie.0 takes no hot-added port): raise hvparams.${error.hvparam} and restart the instance`
    case 'MigrationInProgress':
      return `${error.device}: refused while a migration of the instance is in progress (query-migrate says ${error.status}): QEMU's target was started from the runtime as it was, so the change would be lost or refused; wait until the migration has ended`
    case 'NotMigratable':
      return error.reasons.map((r) => `cannot migrate to QEMU ${error.target}: ${r}`).join('\n')
  }
}
