/**
 * What a plan tells its caller although nothing failed: what the target QEMU deprecates, and
 * what the input set that the library does not model (accepted, never silently ignored).
 *
 * @since 0.2.0
 */
import type { DeprecatedWarning } from './qemu-changes.js'

/**
 * An hvparam the input set and the plan does not act on.
 *
 * @since 0.2.0
 */
export interface NotModelledWarning {
  readonly _tag: 'NotModelled'
  readonly path: string
  readonly value: unknown
  readonly message: string
}

/**
 * q35: NICs with an IO BAR behind root ports, where the IO space runs out (QEMU docs/pcie.txt
 * §3: a 4K window per port, about 10 ports) and an empty spare port gets no IO window.
 *
 * @since 0.2.0
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
 */
export type PlanWarning = DeprecatedWarning | NotModelledWarning | IoSpaceWarning

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
