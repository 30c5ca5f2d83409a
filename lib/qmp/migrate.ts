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
import { capabilityErrors } from '../hvparams-migration.js'
import type { QemuVersion } from '../qemu-version.js'
import { migratableArgv, sourceVersion } from '../runtime/migratable.js'
import type { RebuildOptions } from '../runtime/rebuild.js'
import type { Runtime } from '../runtime/types.js'
import { isRecord, prop, runtimeArg, totalE } from '../total.js'
import { cont, migrate, migrateCancel, migrateSetCapabilities, migrateSetParameters, queryMigrate, stop } from './commands.js'
import { capabilitiesOn, capabilitiesUndo, destinationUri, MIGRATION_IN_PROGRESS, migrationEnded, rebuildArg, settingsOf, timeoutArg, versionArg, type Destination } from './migration-input.js'

export { MIGRATION_IN_PROGRESS, tcpUri, type Destination } from './migration-input.js'
import { commandStep, waitStep, type PlanStep, type QmpPlan, type Undo } from './plan.js'

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
  readonly target: QemuVersion | string
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
