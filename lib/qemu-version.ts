/**
 * The target QEMU: its version decides which syntax and features the plan may use. It is an
 * input, never probed, so the same plan comes out on every machine.
 *
 * @since 0.1.0
 */
import * as t from 'io-ts'

/**
 * A target QEMU version. `micro` is kept for display and runtime stamps; features depend on
 * major.minor only.
 *
 * @since 0.1.0
 * @category decode
 */
export interface QemuVersion {
  readonly major: number
  readonly minor: number
  readonly micro: number
}

const VERSION = /^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$/

/**
 * Parses `"7.2"` or `"7.2.22"`.
 *
 * @since 0.1.0
 * @category decode
 */
export const parseVersion = (s: string): QemuVersion | undefined => {
  // Only a string is a version string: a Proxy's toString could throw, an object's means nothing.
  if (typeof s !== 'string') return undefined
  const m = VERSION.exec(s)
  if (m === null) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? '0') }
}

/**
 * io-ts codec: a version string such as `"7.2"` ⇄ {@link QemuVersion}.
 *
 * @since 0.1.0
 */
export const QemuVersionFromString = new t.Type<QemuVersion, string, unknown>(
  'QemuVersion',
  (u): u is QemuVersion =>
    typeof u === 'object' && u !== null && 'major' in u && 'minor' in u && 'micro' in u,
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, 'expected a QEMU version such as "7.2" or "7.2.0"')
    const v = parseVersion(u)
    return v === undefined ? t.failure(u, c, 'expected a QEMU version such as "7.2" or "7.2.0"') : t.success(v)
  },
  (v) => `${v.major}.${v.minor}.${v.micro}`
)

/**
 * Whether a version is `major.minor` or later. Micro releases are ignored: QEMU adds features
 * only in major.minor releases.
 *
 * @since 0.1.0
 */
export const atLeast =
  (major: number, minor: number) =>
  (v: QemuVersion): boolean =>
    v.major > major || (v.major === major && v.minor >= minor)

/**
 * What a target QEMU can do, as far as the plan cares: each flag picks a syntax or allows a
 * setting. The result of {@link features}.
 *
 * @since 0.1.0
 * @category decode
 */
export interface Features {
  /** `-blockdev` became stable in 2.9; the library renders nothing older. */
  readonly blockdev: boolean
  /** `-device` parses JSON since 6.2 (keyval before: QemuOpts with `,,` escaping). */
  readonly jsonDevice: boolean
  /** `-netdev` parses JSON since 7.1. */
  readonly jsonNetdev: boolean
  /** `aio=io_uring` since 5.0. */
  readonly ioUring: boolean
}

/**
 * What a version can do. Thresholds are the QEMU releases that introduced each feature.
 *
 * @since 0.1.0
 * @category decode
 */
export const features = (v: QemuVersion): Features =>
  // What is not a version can do nothing: every feature off, the oldest QEMU's answers.
  isVersionShape(v) ? featuresOf(v) : NO_FEATURES

const NO_FEATURES: Features = { blockdev: false, jsonDevice: false, jsonNetdev: false, ioUring: false }

/** Three non-negative integers, read without trusting getters. */
export const isVersionShape = (v: unknown): v is QemuVersion => {
  try {
    if (typeof v !== 'object' || v === null) return false
    const parts: ReadonlyArray<unknown> = [Reflect.get(v, 'major'), Reflect.get(v, 'minor'), Reflect.get(v, 'micro')]
    return parts.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)
  } catch {
    return false
  }
}

const featuresOf = (v: QemuVersion): Features =>
  ({
    blockdev: atLeast(2, 9)(v),
    jsonDevice: atLeast(6, 2)(v),
    jsonNetdev: atLeast(7, 1)(v),
    ioUring: atLeast(5, 0)(v)
  }) as const

/**
 * A version as messages and runtime stamps show it, always with all three parts (`7.2.0`).
 *
 * @since 0.1.0
 */
export const showVersion = (v: QemuVersion): string => `${v.major}.${v.minor}.${v.micro}`
