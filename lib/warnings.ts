/**
 * What a plan tells its caller although nothing failed: what the target QEMU deprecates, what
 * the input set that the library does not model, and what the input set that has no effect on
 * this instance (accepted, never silently ignored).
 *
 * @since 0.2.0
 */
import type { DeprecatedWarning } from './qemu-changes.js'

/**
 * An hvparam the input set and the plan does not act on.
 *
 * @since 0.2.0
 * @category plan
 */
export interface NotModelledWarning {
  readonly _tag: 'NotModelled'
  readonly path: string
  readonly value: unknown
  readonly message: string
}

/**
 * A value the input set that has no effect on this instance: Ganeti 3.0.2 ignores it (or, for a
 * pass-through disk's cache mode, QEMU does), and so does the plan. Ganeti starts such an
 * instance, so the library plans it too, where refusing it would stop a cluster's instances
 * from moving to the library; the warning says what was left out and why.
 *
 * @since 0.2.0
 * @category plan
 */
export interface IgnoredWarning {
  readonly _tag: 'Ignored'
  /** The input field, e.g. `hvparams.virtio_net_queues`. */
  readonly path: string
  readonly value: unknown
  readonly message: string
}

/**
 * q35: NICs with an IO BAR behind root ports, where the IO space runs out (QEMU docs/pcie.txt
 * §3: a 4K window per port, about 10 ports) and an empty spare port gets no IO window.
 *
 * @since 0.2.0
 * @category plan
 */
export interface IoSpaceWarning {
  readonly _tag: 'IoSpace'
  readonly path: string
  readonly value: unknown
  readonly message: string
}

/**
 * A warning a plan carries. Tell them apart by `_tag`.
 *
 * @since 0.2.0
 * @category plan
 */
export type PlanWarning = DeprecatedWarning | NotModelledWarning | IgnoredWarning | IoSpaceWarning

/**
 * An {@link IgnoredWarning} of `path`.
 *
 * @since 0.2.0
 */
export const ignored = (path: string, value: unknown, message: string): IgnoredWarning => ({ _tag: 'Ignored', path, value, message })

/**
 * The warnings for hvparams the library does not model.
 *
 * @since 0.2.0
 */
export const notModelled = (unmodelled: ReadonlyArray<{ readonly hvparam: string; readonly value: unknown }>): ReadonlyArray<NotModelledWarning> =>
  unmodelled.map(({ hvparam, value }) => ({
    _tag: 'NotModelled',
    path: `hvparams.${hvparam}`,
    value,
    message: `hvparams.${hvparam} is accepted but not modelled: the plan does nothing with it`
  }))
