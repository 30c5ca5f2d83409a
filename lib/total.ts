/**
 * What keeps every export total: a JavaScript caller can pass anything (null, a number, a Proxy
 * whose getters throw), and the library must answer with an error or a documented fallback,
 * never a TypeError. Exported functions check the outer shape of each argument here, so that
 * the error names the argument (`runtime`, `options`, `target`), and run their body under a
 * backstop, because a value that merely looks right at the top can still be garbage deeper in.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { fieldError, showValue, type DevplanError } from './errors.js'

/** An object that is not an array: the shape every options, runtime or tree argument has. */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** Reads a property of anything: a Proxy or a getter may throw, which reads as absent. */
export const prop = (u: unknown, key: string): unknown => {
  try {
    return isRecord(u) ? u[key] : undefined
  } catch {
    return undefined
  }
}

const thrown = (e: unknown): string => {
  try {
    return e instanceof Error ? e.message : showValue(e)
  } catch {
    return 'it threw'
  }
}

/**
 * Runs the body of an Either-returning export. Its arguments passed the shape checks, so a throw
 * here means a value that is not what the library made (a hand-built tree, a mutated runtime):
 * that is an input error about `path`, the argument the caller is told to look at.
 */
export const totalE = <A>(path: string, body: () => E.Either<DevplanError, A>): E.Either<DevplanError, A> => {
  try {
    return body()
  } catch (e) {
    return E.left(fieldError(path, undefined, `is not a value this library made or decoded (reading it threw: ${thrown(e)})`))
  }
}

/**
 * Runs the body of an export whose return type has no room for an error (a string, an argv, a
 * JSON object): a throw gives the documented fallback instead. Only garbage input gets there.
 */
export const totalOr = <A>(fallback: A, body: () => A): A => {
  try {
    return body()
  } catch {
    return fallback
  }
}

/** Options may be left out; anything given must be an object. */
export const optionsArg = <A>(path: string, u: A | undefined): E.Either<DevplanError, A | Record<string, never>> =>
  u === undefined ? E.right({}) : isRecord(u) ? E.right(u) : E.left(fieldError(path, u, 'expected an object of options, or nothing'))

/** The outer shape of a runtime (from decodeRuntime, makeRuntime or toRuntime). */
export const isRuntimeShape = (u: unknown): boolean =>
  isRecord(u) &&
  Array.isArray(u['cmd']) &&
  Array.isArray(u['nics']) &&
  isRecord(u['hvparams']) &&
  Array.isArray(u['disks']) &&
  isRecord(u['params']) &&
  (u['params']['_tag'] === 'Left' || u['params']['_tag'] === 'Right') &&
  (u['stamp'] === undefined || isRecord(u['stamp']))

export const runtimeArg = (path: string, u: unknown): E.Either<DevplanError, true> =>
  totalE(path, () => (isRuntimeShape(u) ? E.right(true) : E.left(fieldError(path, u, 'expected a runtime, as decodeRuntime, makeRuntime or toRuntime give it'))))

const TREE_LISTS = ['controllers', 'disks', 'cdroms', 'floppies', 'nics', 'extra', 'rootPorts', 'machineDevices', 'warnings'] as const

/** The outer shape of a device tree (from planDevices). */
export const isTreeShape = (u: unknown): boolean =>
  isRecord(u) && isRecord(u['qemu']) && typeof u['machine'] === 'string' && typeof u['binary'] === 'string' && isRecord(u['machineOptions']) && isRecord(u['boot']) && TREE_LISTS.every((k) => Array.isArray(u[k]))

export const treeArg = (path: string, u: unknown): E.Either<DevplanError, true> =>
  totalE(path, () => (isTreeShape(u) ? E.right(true) : E.left(fieldError(path, u, 'expected a device tree, as planDevices gives it'))))

/** The outer shape of a decoded instance (from decodeInstance). */
export const isInstanceShape = (u: unknown): boolean =>
  isRecord(u) && Array.isArray(u['disks']) && Array.isArray(u['nics']) && isRecord(u['hvparams']) && typeof u['name'] === 'string'

export const instanceArg = (path: string, u: unknown): E.Either<DevplanError, true> =>
  totalE(path, () => (isInstanceShape(u) ? E.right(true) : E.left(fieldError(path, u, 'expected an instance, as decodeInstance gives it'))))

/** Render options: the QMP socket is the one thing the rendering cannot do without. */
export const isRenderOptions = (u: unknown): boolean =>
  isRecord(u) && typeof u['qmpSocket'] === 'string' && (u['accel'] === undefined || u['accel'] === 'kvm' || u['accel'] === 'tcg') && (u['controlDir'] === undefined || typeof u['controlDir'] === 'string')

export const renderOptionsArg = (path: string, u: unknown): E.Either<DevplanError, true> =>
  totalE(path, () => (isRenderOptions(u) ? E.right(true) : E.left(fieldError(path, u, 'expected render options { qmpSocket, accel?, controlDir? }'))))
