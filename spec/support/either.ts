/** Test helpers for Either results. */
import * as E from 'fp-ts/lib/Either.js'
import { downgradeRuntime, formatError, makeRuntime, type DevplanError, type Downgraded, type DowngradeTarget, type Runtime } from '../../lib/index.js'

const isDevplanError = (u: unknown): u is DevplanError => typeof u === 'object' && u !== null && '_tag' in u

/** The Right value, or a thrown error that says what failed and why (readable for DevplanError). */
export const right = <A>(e: E.Either<unknown, A>, what = 'expected Right'): A => {
  if (E.isLeft(e)) throw new Error(`${what}: ${isDevplanError(e.left) ? formatError(e.left) : JSON.stringify(e.left)}`)
  return e.right
}

/** A runtime built in memory, its hvparams decoded as a file's would be. */
export const runtimeOf = (parts: Omit<Runtime, 'params'>): Runtime => makeRuntime(parts)

/** downgradeRuntime for a runtime and format known to be sound: the Downgraded, or a thrown error. */
export const downgradeOk = (rt: Runtime, target: DowngradeTarget): Downgraded => right(downgradeRuntime(rt, target), 'downgradeRuntime')
