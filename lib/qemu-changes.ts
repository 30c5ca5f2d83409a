/**
 * What QEMU releases deprecate and remove, as far as a plan can use it: one table, read by the
 * planners to warn (deprecated in the target) or to refuse or switch form (removed). The
 * releases come from QEMU's own `docs/about/deprecated.rst` and `removed-features.rst` as shipped
 * with 10.0, and each row is proven against the real 7.2 and 10.0 binaries by
 * `spec/qemu/changes.spec.ts`.
 *
 * @since 0.2.0
 */
import { atLeast, isVersionShape, showVersion, type QemuVersion } from './qemu-version.js'

/**
 * A QEMU release, `major.minor`.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Release {
  readonly major: number
  readonly minor: number
}

/**
 * One option, driver or value whose life ends in some release.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Change {
  /** How QEMU's documents name it. */
  readonly what: string
  /** The release that deprecated it (it warns or its schema member carries `deprecated`). */
  readonly deprecated?: Release
  /** The release that removed it (the option is then an `invalid option`). */
  readonly removed?: Release
  /** What to use instead, and since when. */
  readonly instead: string
}

const r = (major: number, minor: number): Release => ({ major, minor })

/**
 * The table. Keys are what the library's code asks about.
 *
 * @since 0.2.0
 * @category plan
 */
export const CHANGES = {
  gluster: {
    what: 'the gluster block driver',
    deprecated: r(9, 2),
    instead: 'another network protocol (nbd, rbd, iscsi): QEMU will remove the driver, as GlusterFS development ceased'
  },
  runas: {
    what: '-runas',
    deprecated: r(9, 1),
    removed: r(10, 0),
    instead: '-run-with user= (QEMU 9.1 and later)'
  },
  chroot: {
    what: '-chroot',
    deprecated: r(8, 1),
    removed: r(9, 0),
    instead: '-run-with chroot= (QEMU 8.1 and later)'
  },
  noAcpi: {
    what: '-no-acpi',
    deprecated: r(8, 0),
    removed: r(9, 0),
    instead: '-machine acpi=off'
  }
} as const satisfies Readonly<Record<string, Change>>

/**
 * A key of {@link CHANGES}.
 *
 * @since 0.2.0
 * @category plan
 */
export type ChangeName = keyof typeof CHANGES

/**
 * Where a feature stands in a target QEMU.
 *
 * @since 0.2.0
 * @category plan
 */
export type Lifecycle = 'current' | 'deprecated' | 'removed'

const reached = (at: Release | undefined, v: QemuVersion): boolean => at !== undefined && atLeast(at.major, at.minor)(v)

/**
 * Where `name` stands in `v`.
 *
 * @since 0.2.0
 * @category plan
 */
export const lifecycle = (name: ChangeName, v: QemuVersion): Lifecycle => {
  // An unknown change, or what is not a version, is 'current': nothing to warn about, nothing refused.
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(CHANGES, name) || !isVersionShape(v)) return 'current'
  const c: Change = CHANGES[name]
  return reached(c.removed, v) ? 'removed' : reached(c.deprecated, v) ? 'deprecated' : 'current'
}

/**
 * Something a plan uses that its target QEMU deprecates: the plan works today, and the caller
 * is told before QEMU removes it. `path` leads to the input that asked for it.
 *
 * @since 0.2.0
 * @category plan
 */
export interface DeprecatedWarning {
  readonly _tag: 'Deprecated'
  readonly feature: ChangeName
  readonly path: string
  readonly message: string
}

const showRelease = (at: Release): string => `${at.major}.${at.minor}`

/**
 * The warning for using `name` at `path` in `v`, if `v` deprecates it.
 *
 * @since 0.2.0
 */
export const deprecation = (name: ChangeName, path: string, v: QemuVersion): ReadonlyArray<DeprecatedWarning> => {
  if (lifecycle(name, v) !== 'deprecated') return []
  const c: Change = CHANGES[name]
  const since = c.deprecated === undefined ? '' : ` since QEMU ${showRelease(c.deprecated)}`
  return [{ _tag: 'Deprecated', feature: name, path, message: `${c.what} is deprecated${since} (target ${showVersion(v)}); use ${c.instead}` }]
}
