/**
 * The source side of a live migration as a plan, with the steps of Ganeti 3.1.1's
 * `MigrateInstance`: capabilities, bandwidth and downtime, `stop` for a non-live one, `migrate`,
 * then a wait for the end (`MIGRATION`) and `query-migrate` for how it ended. Ganeti stops the
 * guest first; here `stop` comes right before `migrate`, so that a capability or parameter QEMU
 * refuses never pauses the guest. A failure or a
 * timeout cancels the migration and resumes what the plan stopped, so the source runs on with
 * its runtime unchanged.
 *
 * @since 0.3.0
 * @category runtime
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { fieldError, invalidInput, type DevplanError } from '../errors.js'
import { capabilityErrors, decodeMigrationSettings, type MigrationCapability, type MigrationSettings } from '../hvparams-migration.js'
import { isVersionShape, type QemuVersion } from '../qemu-version.js'
import { migratableArgv, sourceVersion } from '../runtime/migratable.js'
import type { RebuildOptions } from '../runtime/rebuild.js'
import type { Runtime } from '../runtime/types.js'
import { isRecord, prop, runtimeArg, totalE, totalOr } from '../total.js'
import { cont, migrate, migrateCancel, migrateSetCapabilities, migrateSetParameters, queryMigrate, stop, type CapabilityState } from './commands.js'
import type { EventMatch } from './event.js'
import { commandStep, waitStep, type AlreadyDone, type PlanStep, type QmpPlan, type Undo } from './plan.js'

/**
 * The record a migration plan keeps: which QEMU runs the instance, and its runtime (the same on
 * both sides: the target was started from it).
 *
 * @since 0.3.0
 * @category runtime
 */
export interface MigrationRecord {
  readonly runs: 'source' | 'target'
  readonly runtime: Runtime
}

/**
 * What `migrate-set-capabilities` answers while a migration is in progress (7.2 and 10.0).
 *
 * @since 0.3.0
 * @category runtime
 */
export const MIGRATION_IN_PROGRESS: ReadonlyArray<AlreadyDone> = [{ desc: 'migration process in progress' }]

/** QEMU's defaults, which a fresh QEMU has (measured on 7.2 and 10.0). */
const DEFAULT_PARAMETERS = { 'max-bandwidth': 128 * 1024 * 1024, 'downtime-limit': 300, 'max-postcopy-bandwidth': 0 } as const

const MIB = 1024 * 1024

/**
 * A rollback must not resume a source whose migration completed (its reply, or the wait, was
 * lost): the target has the instance then, and two running copies would share the disks. So
 * it asks first, and a completed migration ends the chain as a leftover.
 */
const notMoved: Undo = { command: queryMigrate(), alreadyDone: [], check: { _tag: 'MigrationNotCompleted' } }

/**
 * `MIGRATION` with one of the statuses that end a migration.
 *
 * @since 0.3.0
 * @category runtime
 */
export const migrationEnded: ReadonlyArray<EventMatch> = ['completed', 'failed', 'cancelled'].map((status) => ({ event: 'MIGRATION', data: { status } }))

/**
 * The capabilities a plan switches on: `events` first (without it QEMU sends no `MIGRATION`
 * event, on either side), then `migration_caps`.
 *
 * @since 0.3.0
 * @category runtime
 */
export const capabilitiesOn = (caps: ReadonlyArray<MigrationCapability>): ReadonlyArray<CapabilityState> => [
  { capability: 'events', state: true },
  ...caps.filter((c) => c !== 'events').map((capability) => ({ capability, state: true }))
]

/**
 * Undoing the capabilities: `migration_caps` off again, as Ganeti clears them; `events` stays
 * on (harmless, and every later plan needs it). Refused until a cancelled migration has
 * ended, so it is retried meanwhile.
 *
 * @since 0.3.0
 * @category runtime
 */
export const capabilitiesUndo = (caps: ReadonlyArray<MigrationCapability>): Undo => ({
  command: migrateSetCapabilities([{ capability: 'events', state: true }, ...caps.filter((c) => c !== 'events').map((capability) => ({ capability, state: false }))]),
  alreadyDone: [],
  retryOn: MIGRATION_IN_PROGRESS
})

/**
 * A migration URI the plans accept: `tcp:<host>:<port>` (an IPv6 address in brackets) or
 * `unix:<absolute path>`. Not `exec:` (a shell command) nor `fd:`, `rdma:`, `file:`.
 *
 * @since 0.3.0
 * @category runtime
 */
export const checkUri = (uri: unknown, path: string): E.Either<DevplanError, string> => {
  if (typeof uri !== 'string') return E.left(fieldError(path, uri, 'expected a migration URI such as "tcp:192.0.2.10:8102" or "unix:/run/vm1.migrate"'))
  const tcp = /^tcp:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(uri)
  if (tcp !== null) {
    const port = Number(tcp[2])
    return port > 0 && port < 65536 ? E.right(uri) : E.left(fieldError(path, uri, 'has a port outside 1..65535'))
  }
  if (/^unix:\/[^\0]*$/.test(uri)) return E.right(uri)
  return E.left(fieldError(path, uri, 'expected "tcp:<host>:<port>" (IPv6 in brackets) or "unix:<absolute path>"'))
}

/**
 * The URI of `tcp:` for an address and port, IPv6 in brackets: Ganeti's `tcp:%s:%s` with
 * `migration_port`.
 *
 * @since 0.3.0
 * @category runtime
 */
export const tcpUri = (address: string, port: number): string => totalOr('', () => `tcp:${String(address).includes(':') ? `[${String(address)}]` : String(address)}:${String(port)}`)

/**
 * Where a migration goes, as the caller says it: `{ uri }`, or `{ address, port? }` for
 * `tcp:<address>:<port>` with `migration_port` when no port is given (Ganeti's way).
 *
 * @since 0.3.0
 * @category runtime
 */
export type Destination = { readonly uri: string } | { readonly address: string; readonly port?: number }

/**
 * The URI of a {@link Destination}, checked; errors name `<path>.uri`, `.address` or `.port`.
 *
 * @since 0.3.0
 * @category runtime
 */
export const destinationUri = (d: unknown, path: string, settings: MigrationSettings): E.Either<DevplanError, string> => {
  const uri = prop(d, 'uri')
  const address = prop(d, 'address')
  if (uri !== undefined && address !== undefined) return E.left(fieldError(path, d, 'give either uri or address (and port), not both'))
  if (address === undefined) return checkUri(uri, `${path}.uri`)
  if (typeof address !== 'string' || !/^([0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[A-Za-z0-9][A-Za-z0-9.-]*)$/.test(address)) {
    return E.left(fieldError(`${path}.address`, address, 'expected an IPv4 or IPv6 address or a host name'))
  }
  const port = prop(d, 'port') ?? settings.port
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return E.left(fieldError(`${path}.port`, port, 'expected a port 1..65535 (default: hvparams.migration_port)'))
  return checkUri(tcpUri(address, port), `${path}.address`)
}

/**
 * A finite wait in ms: the executor measures it, and Infinity would wait for ever.
 *
 * @since 0.3.0
 * @category runtime
 */
export const timeoutArg = (v: unknown, path: string, fallback: number): E.Either<DevplanError, number> => {
  const ms = v === undefined ? fallback : v
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? E.right(ms) : E.left(fieldError(path, ms, 'expected a finite number of milliseconds, 0 or more'))
}

/**
 * A QEMU version given by the caller, checked.
 *
 * @since 0.3.0
 * @category runtime
 */
export const versionArg = (v: unknown, path: string): E.Either<DevplanError, QemuVersion> =>
  isVersionShape(v) ? E.right(v) : E.left(fieldError(path, v, 'expected a QEMU version { major, minor, micro }, such as parseVersion("7.2.0") gives'))

/**
 * Rebuild options, when given, are an object.
 *
 * @since 0.3.0
 * @category runtime
 */
export const rebuildArg = (u: RebuildOptions | undefined, path: string): E.Either<DevplanError, RebuildOptions> =>
  u === undefined ? E.right({}) : isRecord(u) ? E.right(u) : E.left(fieldError(path, u, 'expected rebuild options, or nothing'))

/**
 * The migration hvparams: the caller's (the instance's current config, as Ganeti reads them),
 * else the runtime's (a file Ganeti wrote carries them; `toRuntime` records the modelled
 * hvparams only, so its runtimes give Ganeti's defaults).
 *
 * @since 0.3.0
 * @category runtime
 */
export const settingsOf = (rt: Runtime, hvparams: unknown): E.Either<DevplanError, MigrationSettings> =>
  hvparams === undefined ? decodeMigrationSettings(rt.hvparams, 'runtime.hvparams') : decodeMigrationSettings(hvparams, 'input.hvparams')

/**
 * The inputs of {@link planMigrate}.
 *
 * @since 0.3.0
 * @category runtime
 */
export type MigrateInput = MigrateOptions & Destination

/**
 * The options of {@link planMigrate} besides where to: the target listens at `uri`
 * (`tcp:<ip>:<port>`, see {@link tcpUri}, or `unix:<path>`), or at `address` and `port`
 * (default `migration_port`).
 *
 * @since 0.3.0
 * @category runtime
 */
export interface MigrateOptions {
  /** The target's QEMU version: the runtime must be one it can run (machine type, devices). */
  readonly target: QemuVersion
  /** The source's QEMU version; default: the runtime's stamp (a runtime Ganeti wrote has none). */
  readonly source?: QemuVersion
  /** The instance's hvparams whose `migration_*` apply (Ganeti reads the current config); default: the runtime's. */
  readonly hvparams?: unknown
  /** Overrides `migration_mode` (Ganeti's `gnt-instance migrate --non-live`). */
  readonly mode?: 'live' | 'non-live'
  /** Whether the source guest runs now (`query-status`); default true. A paused one is not stopped, nor resumed on failure. */
  readonly running?: boolean
  /** How long the plan waits for the migration to end; default 600000 (10 min). */
  readonly timeoutMs?: number
  /** For a runtime Ganeti wrote: what its command line needs to be rebuilt for the check. */
  readonly rebuild?: RebuildOptions
}

const Mode = t.union([t.literal('live'), t.literal('non-live')])

/**
 * The source plan of a migration, after checking that the target's QEMU can run the runtime
 * (`NotMigratable` otherwise) and that both QEMUs have each of `migration_caps`:
 *
 * 1. `migrate-set-capabilities`: `events`, then `migration_caps`;
 * 2. `migrate-set-parameters`: `max-bandwidth` (`migration_bandwidth` MiB/s, and Ganeti's
 *    `max-postcopy-bandwidth`), `downtime-limit` (`migration_downtime` ms);
 * 3. `stop`, for a non-live migration of a running guest;
 * 4. `migrate {uri}`;
 * 5. a wait for `MIGRATION` `completed`, `failed` or `cancelled`;
 * 6. `query-migrate`, which must say `completed`; else the step fails with its `error-desc`.
 *
 * A failure or timeout rolls back: `migrate_cancel`, then — once `query-migrate` says the
 * migration did not complete after all (else the step is left over: the target has the
 * instance, and the source is not resumed) — `cont` of what step 3 stopped, the
 * parameters back to QEMU's defaults (what a fresh QEMU has; the plan cannot know others),
 * `migration_caps` off. A live source keeps running by itself. `Done` means the target has the
 * instance (`runs: 'target'`): run the target's finish plan and stop this QEMU; any other
 * outcome keeps `runs: 'source'` with the runtime unchanged. The figures of a completed
 * migration are in the log ({@link migrationFigures}).
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, formatError, parseVersion, planDevices, planMigrate, toRuntime } from 'qemu-devplan'
 *
 * const runtime = pipe(
 *   decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512, disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }] }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * const target = parseVersion('7.2.0')
 * if (target === undefined) throw new Error('not a version')
 * // To tcp:192.0.2.10 on the instance's migration_port (Ganeti's 8102 by default).
 * const plan = pipe(runtime, E.chain((rt) => planMigrate(rt, { address: '192.0.2.10', target })))
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * for (const step of plan.right.steps) console.log(step.description)
 * ```
 *
 * @since 0.3.0
 * @category runtime
 */
export const planMigrate = (runtime: Runtime, input: MigrateInput): E.Either<DevplanError, QmpPlan<MigrationRecord>> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => (isRecord(input) ? E.right(input) : E.left(fieldError('input', input, 'expected { uri or address, target, … }')))),
    E.chain((i) => totalE('input', () => migrateOf(runtime, i)))
  )

const migrateOf = (rt: Runtime, input: MigrateInput): E.Either<DevplanError, QmpPlan<MigrationRecord>> =>
  pipe(
    E.Do,
    E.apS('target', versionArg(prop(input, 'target'), 'input.target')),
    E.apS('source', input.source === undefined ? E.right(undefined) : versionArg(input.source, 'input.source')),
    E.apS('timeoutMs', timeoutArg(input.timeoutMs, 'input.timeoutMs', 600_000)),
    E.apS('running', input.running === undefined || typeof input.running === 'boolean' ? E.right(input.running ?? true) : E.left(fieldError('input.running', input.running, 'expected a boolean'))),
    E.apS('mode', input.mode === undefined || Mode.is(input.mode) ? E.right(input.mode) : E.left(fieldError('input.mode', input.mode, 'expected "live" or "non-live"'))),
    E.apS('rebuild', rebuildArg(input.rebuild, 'input.rebuild')),
    E.apS('settings', settingsOf(rt, input.hvparams)),
    E.bind('uri', ({ settings }) => destinationUri(input, 'input', settings)),
    E.chainFirst(({ target, source, rebuild }) => migratableArgv(rt, source === undefined ? { target } : { target, source }, rebuild)),
    E.chainFirst(({ settings, target, source }) => {
      const from = sourceVersion(rt, source === undefined ? { target } : { target, source })
      const path = input.hvparams === undefined ? 'runtime.hvparams.migration_caps' : 'input.hvparams.migration_caps'
      const errors = [...(from === undefined ? [] : capabilityErrors(settings.caps, from, 'source', path)), ...capabilityErrors(settings.caps, target, 'target', path)]
      return errors.length === 0 ? E.right(undefined) : E.left(invalidInput(errors))
    }),
    E.map(({ uri, timeoutMs, running, mode, settings }) => {
      const nonLive = (mode ?? settings.mode) === 'non-live'
      const steps: ReadonlyArray<PlanStep> = [
        commandStep(`migration capabilities: ${capabilitiesOn(settings.caps).map((c) => c.capability).join(', ')}`, migrateSetCapabilities(capabilitiesOn(settings.caps)), capabilitiesUndo(settings.caps)),
        commandStep(
          `max-bandwidth ${settings.bandwidthMiB} MiB/s, downtime-limit ${settings.downtimeMs} ms`,
          migrateSetParameters({ 'max-bandwidth': settings.bandwidthMiB * MIB, 'downtime-limit': settings.downtimeMs, 'max-postcopy-bandwidth': settings.bandwidthMiB * MIB }),
          { command: migrateSetParameters(DEFAULT_PARAMETERS), alreadyDone: [] }
        ),
        ...(nonLive && running ? [commandStep('stop the guest (non-live migration)', stop(), { ...notMoved, then: { command: cont(), alreadyDone: [] } })] : []),
        commandStep(`migrate to ${uri}`, migrate(uri), {
          command: migrateCancel(),
          alreadyDone: [],
          // A barrier: QEMU refuses capabilities until the cancelled migration has ended, and
          // answers at once when it had ended already (when no MIGRATION event would come).
          then: { command: migrateSetCapabilities([{ capability: 'events', state: true }]), alreadyDone: [], retryOn: MIGRATION_IN_PROGRESS, then: notMoved }
        }),
        waitStep('wait for the migration to end (MIGRATION)', migrationEnded, timeoutMs),
        commandStep('query-migrate: completed?', queryMigrate(), undefined, { check: { _tag: 'MigrationCompleted' } })
      ]
      return {
        title: `migrate ${nonLive ? 'non-live' : 'live'} to ${uri}`,
        steps,
        before: { runs: 'source', runtime: rt },
        after: { runs: 'target', runtime: rt },
        warnings: []
      }
    })
  )
