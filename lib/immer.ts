/**
 * The library's own immer instance. Auto-freeze is off: immer's default freezes every object
 * the result shares with the input, which would freeze the caller's runtime behind their back
 * (`rt.cmd.push` would then throw). Results are still new objects, and inputs are never mutated.
 *
 * @since 0.1.0
 */
import { Immer } from 'immer'

const immer = new Immer({ autoFreeze: false })

/**
 * immer's `produce`, without auto-freeze.
 *
 * @since 0.1.0
 */
export const produce: Immer['produce'] = immer.produce
