/**
 * Changing a running disk's I/O limits: one `qom-set` of its throttle group's whole `limits`.
 * Never `block_set_io_throttle`: given a group it joins that group and overwrites its limits
 * for every disk in it (measured on 7.2), and its own limits are another mechanism besides.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { fullLimits, THROTTLE_KEYS, THROTTLE_VALUE_MAX, throttleErrors, type ThrottleKey, type ThrottleLimits } from '../block/throttle.js'
import { guarded } from '../codecs.js'
import { fieldError, invalidInput, type DevplanError, type FieldError } from '../errors.js'
import { isRecord, optionsArg, runtimeArg, totalE } from '../total.js'
import { notMigrating } from './hotplug.js'
import type { Runtime } from '../runtime/types.js'
import { recordedChain, withDisk, type RecordedChain } from './chain.js'
import { setLimits } from './graph-commands.js'
import { commandStep, type QmpPlan } from './plan.js'

const KEYS: ReadonlySet<string> = new Set(THROTTLE_KEYS)

/**
 * Decodes limits as QEMU names them (`{"iops-total": 500, "bps-read": 1e8}`): members of
 * `ThrottleLimits` only, whole numbers from 0 (no limit) to QEMU's maximum, in a combination
 * QEMU accepts. Errors are reported under `at`.
 *
 * @since 0.3.0
 * @category decode
 */
export const decodeLimits = (u: unknown, at = 'limits'): E.Either<DevplanError, ThrottleLimits> => guarded(() => limitsFrom(u, typeof at === 'string' ? at : 'limits'))

const limitsFrom = (u: unknown, at: string): E.Either<DevplanError, ThrottleLimits> => {
  if (!isRecord(u)) return E.left(fieldError(at, u, `expected an object of limits (${THROTTLE_KEYS.join(', ')})`))
  const errors: FieldError[] = []
  const out: { [K in ThrottleKey]?: number } = {}
  for (const [k, v] of Object.entries(u)) {
    if (!KEYS.has(k)) errors.push({ path: `${at}.${k}`, value: v, message: `is not a limit (expected one of ${THROTTLE_KEYS.join(', ')})` })
    else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > THROTTLE_VALUE_MAX) errors.push({ path: `${at}.${k}`, value: v, message: `expected a whole number from 0 (no limit) to ${THROTTLE_VALUE_MAX}` })
    else if (v > 0) out[k as ThrottleKey] = v
  }
  errors.push(...throttleErrors(out, (k) => `${at}.${k}`))
  return errors.length > 0 ? E.left(invalidInput(errors)) : E.right(out)
}

/**
 * Plans new limits for the running disk `id`: every member is sent, those not given as no limit,
 * since QEMU merges a partial `limits` into the current one. The undo sets the recorded limits
 * back; the runtime after records the new ones in the disk's throttle group.
 *
 * @since 0.3.0
 * @category hotplug
 */
export const planThrottle = (runtime: Runtime, id: string, limits: ThrottleLimits, options?: { readonly migration?: string }): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => optionsArg('options', options)),
    E.chain((o) => notMigrating(typeof id === 'string' ? id : 'id', o)),
    E.chain(() => (typeof id === 'string' ? E.right(id) : E.left(fieldError('id', id, 'expected the id of a disk of the runtime')))),
    E.chain(() => decodeLimits(limits)),
    E.chain((wanted) =>
      totalE('runtime', () =>
        E.map((chain: RecordedChain): QmpPlan => {
          const group = { ...chain.group, limits: wanted }
          return {
            title: `set the limits of ${id}`,
            steps: [commandStep(`qom-set the limits of ${chain.group.id}`, setLimits(chain.group.id, fullLimits(wanted)), { command: setLimits(chain.group.id, fullLimits(chain.group.limits)), alreadyDone: [] })],
            before: runtime,
            after: withDisk(runtime, chain.index, { objects: chain.objects.map((o) => (o.id === group.id ? group : o)) }),
            warnings: []
          }
        })(recordedChain(runtime, id))
      )
    )
  )
