/**
 * Ganeti's `migration_*` hvparams, decoded: the port a target listens on, the bandwidth and
 * downtime limits, the mode, and the `:`-separated migration capabilities, with the names QEMU
 * knows as data (which release added, deprecated or removed each one). Ganeti 3.1.1 reads them
 * from the instance's current hvparams when it migrates, not from the runtime file.
 *
 * @since 0.3.0
 * @category decode
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { guarded, intIn, oneOf, withDefault } from './codecs.js'
import { fromValidationErrors, invalidInput, showValue, type DevplanError, type FieldError } from './errors.js'
import type { Release } from './qemu-changes.js'
import { atLeast, showVersion, type QemuVersion } from './qemu-version.js'

/**
 * When a migration capability exists: `since` (absent: in every release the library renders
 * for), `deprecated`, `removed`.
 *
 * @since 0.3.0
 * @category decode
 */
export interface CapabilityLife {
  readonly since?: Release
  readonly deprecated?: Release
  readonly removed?: Release
  /** QEMU's schema marks it `unstable` (its `x-` names): accepted, as Ganeti passes it on. */
  readonly unstable?: true
}

const r = (major: number, minor: number): Release => ({ major, minor })

/**
 * QEMU's `MigrationCapability` enum. Every name QEMU 7.2's `query-qmp-schema` lists, plus those
 * 10.0 added; `compress` and `block` are gone from 10.0's (removed in 9.1), `zero-blocks` is
 * deprecated there. Checked against both live schemas by `spec/qemu/migrate.spec.ts`.
 *
 * @since 0.3.0
 * @category decode
 */
export const MIGRATION_CAPABILITIES = {
  xbzrle: {},
  'rdma-pin-all': {},
  'auto-converge': {},
  'zero-blocks': { deprecated: r(9, 1) },
  compress: { deprecated: r(8, 2), removed: r(9, 1) },
  events: {},
  'postcopy-ram': {},
  'x-colo': { unstable: true },
  'release-ram': {},
  block: { deprecated: r(8, 2), removed: r(9, 1) },
  'return-path': {},
  'pause-before-switchover': {},
  multifd: {},
  'dirty-bitmaps': {},
  'postcopy-blocktime': {},
  'late-block-activate': {},
  'x-ignore-shared': { unstable: true },
  'validate-uuid': {},
  'background-snapshot': {},
  'zero-copy-send': { since: r(7, 1) },
  'postcopy-preempt': { since: r(7, 1) },
  'switchover-ack': { since: r(8, 1) },
  'dirty-limit': { since: r(8, 1) },
  'mapped-ram': { since: r(9, 0) }
} as const satisfies Readonly<Record<string, CapabilityLife>>

/**
 * A name of {@link MIGRATION_CAPABILITIES}.
 *
 * @since 0.3.0
 * @category decode
 */
export type MigrationCapability = keyof typeof MIGRATION_CAPABILITIES

const isCapability = (s: string): s is MigrationCapability => Object.prototype.hasOwnProperty.call(MIGRATION_CAPABILITIES, s)

const CAPS_DELIM = ':'

/** `migration_caps`: Ganeti splits on `:` and sends every piece; an empty piece QEMU would refuse. */
const CapsCodec = new t.Type<ReadonlyArray<MigrationCapability>, string, unknown>(
  'MigrationCaps',
  (u): u is ReadonlyArray<MigrationCapability> => Array.isArray(u) && u.every((x) => typeof x === 'string' && isCapability(x)),
  (u, c) => {
    if (typeof u !== 'string') return t.failure(u, c, `expected "" or capability names separated by "${CAPS_DELIM}", such as "xbzrle:auto-converge"`)
    if (u === '') return t.success([])
    const names = u.split(CAPS_DELIM)
    const bad = names.filter((n) => !isCapability(n))
    if (bad.length > 0) {
      return t.failure(u, c, `${bad.map((b) => (b === '' ? 'an empty name' : showValue(b))).join(', ')} ${bad.length === 1 ? 'is not a migration capability' : 'are not migration capabilities'} QEMU knows (${Object.keys(MIGRATION_CAPABILITIES).join(', ')})`)
    }
    return t.success([...new Set(names.filter(isCapability))])
  },
  (caps) => caps.join(CAPS_DELIM)
)

/**
 * The `migration_*` hvparams' codecs, with Ganeti 3.1.1's checks and defaults: a port
 * `0 < port < 65535`, bandwidth (MiB/s) and downtime (ms) not negative, mode `live` or
 * `non-live`. The downtime is also bounded by what QEMU takes (2000 s).
 *
 * @since 0.3.0
 * @category decode
 */
export const MIGRATION_HVPARAMS = {
  migration_port: withDefault(intIn(1, 65534), 8102),
  // Bytes must stay a safe integer once multiplied by 1 MiB.
  migration_bandwidth: withDefault(intIn(0, Math.floor(Number.MAX_SAFE_INTEGER / (1024 * 1024))), 32),
  migration_downtime: withDefault(intIn(0, 2_000_000), 30),
  migration_mode: withDefault(oneOf('MigrationMode', ['live', 'non-live'] as const), 'live'),
  migration_caps: withDefault(CapsCodec, [])
}

/**
 * The decoded `migration_*` hvparams.
 *
 * @since 0.3.0
 * @category decode
 */
export interface MigrationSettings {
  readonly port: number
  /** MiB/s; 0 lets QEMU send as fast as it can. */
  readonly bandwidthMiB: number
  readonly downtimeMs: number
  readonly mode: 'live' | 'non-live'
  /** `migration_caps`, in their order, without repeats. */
  readonly caps: ReadonlyArray<MigrationCapability>
}

const Settings = t.type(MIGRATION_HVPARAMS)

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * Reads the `migration_*` keys of an hvparams dict (others are not looked at); errors name
 * `<path>.migration_…`.
 *
 * @since 0.3.0
 * @category decode
 */
export const decodeMigrationSettings = (hvparams: unknown, path = 'hvparams'): E.Either<DevplanError, MigrationSettings> =>
  guarded(() => settingsOf(hvparams, typeof path === 'string' ? path : 'hvparams'))

const settingsOf = (hvparams: unknown, path: string): E.Either<DevplanError, MigrationSettings> => {
  if (!isObject(hvparams)) return E.left(invalidInput([{ path, value: hvparams, message: 'expected an hvparams dict' }]))
  const picked = Object.fromEntries(Object.keys(MIGRATION_HVPARAMS).map((k) => [k, Object.prototype.hasOwnProperty.call(hvparams, k) ? hvparams[k] : undefined]))
  // The dict is the instance's whole hvparams, so other keys are fine; a migration_* this
  // library does not know is a typo, which must not pass for a default.
  const typos = Object.keys(hvparams).filter((k) => k.startsWith('migration_') && !Object.prototype.hasOwnProperty.call(MIGRATION_HVPARAMS, k))
  const d = Settings.decode(picked)
  const errors = [
    ...typos.map((k) => ({ path: `${path}.${k}`, value: hvparams[k], message: `is not a migration hvparam (known: ${Object.keys(MIGRATION_HVPARAMS).join(', ')})` })),
    ...(E.isLeft(d) ? fromValidationErrors(d.left).map((e) => ({ ...e, path: e.path === '' ? path : `${path}.${e.path}` })) : [])
  ]
  if (errors.length > 0 || E.isLeft(d)) return E.left(invalidInput(errors))
  const s = d.right
  return E.right({ port: s.migration_port, bandwidthMiB: s.migration_bandwidth, downtimeMs: s.migration_downtime, mode: s.migration_mode, caps: s.migration_caps })
}

const reached = (at: Release | undefined, v: QemuVersion): boolean => at !== undefined && atLeast(at.major, at.minor)(v)

const showRelease = (x: Release): string => `${x.major}.${x.minor}`

/**
 * The capabilities one QEMU does not have, each with why: added after it, or removed by it.
 * Which QEMU (`side`) leads each message, since a migration sets them on both sides.
 *
 * @since 0.3.0
 * @category decode
 */
export const capabilityErrors = (caps: ReadonlyArray<string>, v: QemuVersion, side: string, path: string): ReadonlyArray<FieldError> =>
  caps.flatMap((c): ReadonlyArray<FieldError> => {
    if (!isCapability(c)) return [{ path, value: c, message: `${showValue(c)} is not a migration capability QEMU knows` }]
    const life: CapabilityLife = MIGRATION_CAPABILITIES[c]
    if (life.since !== undefined && !reached(life.since, v)) return [{ path, value: c, message: `${showValue(c)} is a migration capability of QEMU ${showRelease(life.since)} and later; the ${side} runs QEMU ${showVersion(v)}` }]
    if (reached(life.removed, v)) return [{ path, value: c, message: `${showValue(c)} was removed in QEMU ${life.removed === undefined ? '' : showRelease(life.removed)}; the ${side} runs QEMU ${showVersion(v)}` }]
    return []
  })
