/**
 * I/O limits of a disk (QAPI `ThrottleLimits`), as a `throttle-group` object that the disk's
 * `throttle` filter node names. The limits are hvparams of the instance, applied to each disk's
 * own group, and changed on a running disk with one `qom-set` of the whole `limits`.
 *
 * @since 0.3.0
 * @category plan
 */
import { intIn, withDefault } from '../codecs.js'
import type { FieldError } from '../errors.js'

/**
 * The members of `ThrottleLimits`, as QEMU names them: per second, `total` or `read`/`write`,
 * each with a burst (`-max`) and its length in seconds (`-max-length`), and `iops-size`.
 *
 * @since 0.3.0
 * @category plan
 */
export const THROTTLE_KEYS = [
  'iops-total', 'iops-total-max', 'iops-total-max-length',
  'iops-read', 'iops-read-max', 'iops-read-max-length',
  'iops-write', 'iops-write-max', 'iops-write-max-length',
  'bps-total', 'bps-total-max', 'bps-total-max-length',
  'bps-read', 'bps-read-max', 'bps-read-max-length',
  'bps-write', 'bps-write-max', 'bps-write-max-length',
  'iops-size'
] as const

/**
 * One member of `ThrottleLimits`.
 *
 * @since 0.3.0
 * @category plan
 */
export type ThrottleKey = (typeof THROTTLE_KEYS)[number]

/**
 * Limits as QEMU takes them; a member left out is no limit (QEMU's 0).
 *
 * @since 0.3.0
 * @category plan
 */
export type ThrottleLimits = { readonly [K in ThrottleKey]?: number }

/** QEMU's `THROTTLE_VALUE_MAX`: no rate, burst or length may exceed it. */
export const THROTTLE_VALUE_MAX = 1_000_000_000_000_000

type Underscored<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Underscored<B>}` : S

/**
 * The hvparam that sets one member: `disk_` and the member with `_` (`disk_iops_total`).
 *
 * @since 0.3.0
 * @category plan
 */
export const throttleHvparam = (key: ThrottleKey): string => `disk_${key.replace(/-/g, '_')}`

/**
 * The throttling hvparams (this library's, not Ganeti's): each a whole number, 0 for no limit.
 *
 * @since 0.3.0
 * @category plan
 */
export const THROTTLE_HVPARAMS = Object.fromEntries(THROTTLE_KEYS.map((k) => [throttleHvparam(k), withDefault(intIn(0, THROTTLE_VALUE_MAX), 0)])) as {
  readonly [K in ThrottleKey as `disk_${Underscored<K>}`]: ReturnType<typeof intIn>
}

/**
 * The limits the throttling hvparams set (the members that are not 0).
 *
 * @since 0.3.0
 * @category plan
 */
export const limitsOf = (h: { readonly [key: string]: unknown }): ThrottleLimits => {
  const out: { [K in ThrottleKey]?: number } = {}
  for (const [k, hvparam] of HVPARAM_OF) {
    const v = h[hvparam]
    if (typeof v === 'number' && v > 0) out[k] = v
  }
  return out
}

// Named once: every disk of every plan reads them (a regex per name per call showed in the profile).
const HVPARAM_OF: ReadonlyArray<readonly [ThrottleKey, string]> = THROTTLE_KEYS.map((k) => [k, throttleHvparam(k)] as const)

const BUCKETS = ['iops-total', 'iops-read', 'iops-write', 'bps-total', 'bps-read', 'bps-write'] as const

/**
 * What QEMU would refuse in a set of limits (`throttle_is_valid`), said before anything is sent.
 * `at` names the input of each member (an hvparam, or a field of a throttle request).
 *
 * @since 0.3.0
 * @category plan
 */
export const throttleErrors = (limits: ThrottleLimits, at: (key: ThrottleKey) => string): ReadonlyArray<FieldError> => {
  // No limits, no conflict (every check needs a member above 0): the usual case, without
  // building a key per check.
  let any = false
  for (const k in limits) if (Object.prototype.hasOwnProperty.call(limits, k)) any = true
  if (!any) return []
  const errors: FieldError[] = []
  const v = (k: ThrottleKey): number => limits[k] ?? 0
  for (const kind of ['iops', 'bps'] as const) {
    const total = `${kind}-total` as const
    for (const side of ['read', 'write'] as const) {
      const one = `${kind}-${side}` as const
      if (v(total) > 0 && v(one) > 0) errors.push({ path: at(one), value: v(one), message: `${kind} limits are either total or read/write: ${at(total)} is set too (QEMU: "bps/iops total values and read/write values cannot be used at the same time")` })
    }
  }
  for (const b of BUCKETS) {
    const max = `${b}-max` as const
    const len = `${b}-max-length` as const
    if (v(max) > 0 && v(b) === 0) errors.push({ path: at(max), value: v(max), message: `a burst needs its rate: set ${at(b)} too` })
    if (v(max) > 0 && v(max) < v(b)) errors.push({ path: at(max), value: v(max), message: `the burst cannot be lower than the rate ${at(b)} (${v(b)})` })
    if (v(len) > 1 && v(max) === 0) errors.push({ path: at(len), value: v(len), message: `a burst length needs the burst itself: set ${at(max)} too` })
    if (v(max) > 0 && v(len) > THROTTLE_VALUE_MAX / v(max)) errors.push({ path: at(len), value: v(len), message: `too long for the burst ${at(max)} (${v(max)}): their product may not exceed ${THROTTLE_VALUE_MAX}` })
  }
  return errors
}

/**
 * Every member, those not in `limits` at QEMU's "no limit" (0, and a burst length of 1): what a
 * `qom-set` of `limits` must send, since QEMU merges a partial `limits` into the current one
 * (moving from `bps-read` to `bps-total` would then fail).
 *
 * @since 0.3.0
 * @category plan
 */
export const fullLimits = (limits: ThrottleLimits): Required<ThrottleLimits> => {
  const out = {} as { [K in ThrottleKey]: number }
  for (const k of THROTTLE_KEYS) out[k] = limits[k] ?? (k.endsWith('-max-length') ? 1 : 0)
  return out
}

/**
 * The limits a full `limits` (as `qom-get` reads it) stands for: QEMU's defaults dropped.
 *
 * @since 0.3.0
 * @category plan
 */
export const sparseLimits = (limits: ThrottleLimits): ThrottleLimits => {
  const out: { [K in ThrottleKey]?: number } = {}
  for (const k of THROTTLE_KEYS) {
    const x = limits[k]
    if (x !== undefined && x !== (k.endsWith('-max-length') ? 1 : 0)) out[k] = x
  }
  return out
}
