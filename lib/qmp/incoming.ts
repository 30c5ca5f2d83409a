/**
 * The target side of a migration: the command line that waits for the instance (`-incoming`),
 * and two plans, one that makes the target listen and one that, once the migration has ended,
 * checks that it completed and resumes the guest. Two, because the source's `migrate` may only
 * be sent once the target listens, and the target's end is known only after the source's.
 *
 * @since 0.3.0
 * @category runtime
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { fieldError, invalidInput, type DevplanError } from '../errors.js'
import { capabilityErrors, type MigrationSettings } from '../hvparams-migration.js'
import { migratableArgv } from '../runtime/migratable.js'
import type { RebuildOptions } from '../runtime/rebuild.js'
import type { Runtime } from '../runtime/types.js'
import { isRecord, prop, runtimeArg, totalE } from '../total.js'
import { cont, migrateIncoming, migrateSetCapabilities, queryMigrate } from './commands.js'
import type { MigrationRecord } from './migrate.js'
import { capabilitiesOn, capabilitiesUndo, destinationUri, migrationEnded, rebuildArg, settingsOf, timeoutArg, versionArg, type Destination } from './migration-input.js'
import type { QemuVersion } from '../qemu-version.js'
import { commandStep, waitStep, type PlanStep, type QmpPlan } from './plan.js'

/**
 * How the target waits: `defer` (`-incoming defer`, then `migrate-incoming` in the listen plan:
 * capabilities such as `multifd` can be set before it listens), or listening from the start
 * (Ganeti's `-incoming tcp:<ip>:<migration_port>`). Where: a `uri`, or an `address` and a
 * `port` (default `migration_port`).
 *
 * @since 0.3.0
 * @category runtime
 */
export type Incoming = { readonly _tag: 'defer' | 'listen' } & Destination

/**
 * What the target side needs: how it waits, and the target's own QEMU version.
 *
 * @since 0.3.0
 * @category runtime
 */
export interface IncomingOptions {
  readonly incoming: Incoming
  /** The instance's hvparams whose `migration_port` and `migration_caps` apply (Ganeti reads the current config); default: the runtime's. */
  readonly hvparams?: unknown
  /** The version of the target's QEMU (the one that will run this argv). */
  readonly target: QemuVersion | string
  /** The source's QEMU version; default: the runtime's stamp. */
  readonly source?: QemuVersion
  /** For a runtime Ganeti wrote (its NIC backends, its chroot). */
  readonly rebuild?: RebuildOptions
}

/** How and where the target waits, resolved to a URI. */
interface Resolved {
  readonly how: 'defer' | 'listen'
  readonly uri: string
}

const incomingArg = (u: unknown, settings: MigrationSettings): E.Either<DevplanError, Resolved> => {
  const how = prop(u, '_tag')
  if (how !== 'defer' && how !== 'listen') return E.left(fieldError('options.incoming', u, 'expected { _tag: "defer" | "listen", uri } or { _tag, address, port? }'))
  return E.map((uri: string): Resolved => ({ how, uri }))(destinationUri(u, 'options.incoming', settings))
}

interface Options {
  readonly incoming: Resolved
  readonly settings: MigrationSettings
  readonly target: QemuVersion
  readonly source: QemuVersion | undefined
  readonly rebuild: RebuildOptions
}

const optionsOf = (rt: Runtime, options: IncomingOptions): E.Either<DevplanError, Options> =>
  isRecord(options)
    ? pipe(
        E.Do,
        E.apS('settings', settingsOf(rt, options.hvparams)),
        E.bind('incoming', ({ settings }) => incomingArg(options.incoming, settings)),
        E.apS('target', versionArg(options.target, 'options.target')),
        E.apS('source', options.source === undefined ? E.right(undefined) : versionArg(options.source, 'options.source')),
        E.apS('rebuild', rebuildArg(options.rebuild, 'options.rebuild'))
      )
    : E.left(fieldError('options', options, 'expected { incoming, target, … }'))

/**
 * The target's command line: {@link runtimeArgv} of the runtime, checked to be one the
 * target's QEMU runs as the same machine (`NotMigratable` otherwise), plus `-S` (the guest runs
 * only once the finish plan resumes it, after the source has let go) and `-incoming defer` or
 * `-incoming <uri>`. The QMP socket is the runtime's: a target on the same host needs its own
 * (`runtimeArgv` words are the caller's to adjust, as at every start).
 *
 * @since 0.3.0
 * @category runtime
 */
export const incomingArgv = (runtime: Runtime, options: IncomingOptions): E.Either<DevplanError, ReadonlyArray<string>> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => totalE('options', () => optionsOf(runtime, options))),
    E.chain((o) =>
      totalE('runtime', () =>
        E.map((argv: ReadonlyArray<string>) => [...argv, ...(argv.includes('-S') ? [] : ['-S']), '-incoming', o.incoming.how === 'defer' ? 'defer' : o.incoming.uri])(
          migratableArgv(runtime, o.source === undefined ? { target: o.target } : { target: o.target, source: o.source }, o.rebuild)
        )
      )
    )
  )

/**
 * The inputs of {@link planIncoming}'s plans.
 *
 * @since 0.3.0
 * @category runtime
 */
export interface IncomingInput extends IncomingOptions {
  /** Whether the source guest was running when the migration began: then the target resumes it. Default true. */
  readonly resume?: boolean
  /** How long the finish plan waits for the migration to end; default 600000. */
  readonly timeoutMs?: number
}

/**
 * The target's two plans.
 *
 * @since 0.3.0
 * @category runtime
 */
export interface IncomingPlans {
  /** Run once the target QEMU is up, before the source's plan: capabilities, then (defer) `migrate-incoming`. */
  readonly listen: QmpPlan<MigrationRecord>
  /** Run once the source's plan is `Done`: waits for `MIGRATION`, checks `query-migrate`, resumes. */
  readonly finish: QmpPlan<MigrationRecord>
}

/** Capabilities that must be set before the target listens (QEMU opens their channels then). */
const BEFORE_LISTEN: ReadonlySet<string> = new Set(['multifd', 'postcopy-preempt'])

/**
 * The target's plans for a target started with {@link incomingArgv}:
 *
 * - `listen`: `migrate-set-capabilities` (`events`, which the target needs for its own
 *   `MIGRATION` events, then `migration_caps`, as Ganeti's `AcceptInstance` sets them), and
 *   for `defer` `migrate-incoming {uri}`. Its record stays `runs: 'source'`.
 * - `finish`: a wait for `MIGRATION` `completed` (or `failed`), `query-migrate` that must say
 *   `completed` (the target is then `paused`), and `cont` when `resume` (QEMU refuses `cont`
 *   while `inmigrate`). `Done` is `runs: 'target'`.
 *
 * When either fails, or the source's plan does not end `Done`, the target QEMU holds nothing
 * of value: stop it (a cancelled migration makes it exit by itself). Its listening cannot be
 * undone, so a rollback lists it as left over.
 *
 * @since 0.3.0
 * @category runtime
 */
export const planIncoming = (runtime: Runtime, input: IncomingInput): E.Either<DevplanError, IncomingPlans> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => totalE('input', () => optionsOf(runtime, input))),
    // The same refusal as incomingArgv's: a target that cannot run the runtime as the same
    // machine gets no plans either.
    E.chainFirst((o) => totalE('runtime', () => migratableArgv(runtime, o.source === undefined ? { target: o.target } : { target: o.target, source: o.source }, o.rebuild))),
    E.chain((o) => totalE('input', () => incomingOf(runtime, input, o)))
  )

const incomingOf = (rt: Runtime, input: IncomingInput, { incoming, target, settings: decoded }: Options): E.Either<DevplanError, IncomingPlans> =>
  pipe(
    E.Do,
    E.apS('settings', E.right(decoded)),
    E.apS('resume', input.resume === undefined || typeof input.resume === 'boolean' ? E.right(input.resume ?? true) : E.left(fieldError('input.resume', input.resume, 'expected a boolean'))),
    E.apS('timeoutMs', timeoutArg(input.timeoutMs, 'input.timeoutMs', 600_000)),
    E.chainFirst(({ settings }) => {
      const path = input.hvparams === undefined ? 'runtime.hvparams.migration_caps' : 'input.hvparams.migration_caps'
      const early = incoming.how === 'listen' ? settings.caps.filter((c) => BEFORE_LISTEN.has(c)) : []
      const errors = [
        ...capabilityErrors(settings.caps, target, 'target', path),
        ...early.map((c) => ({ path, value: c, message: `must be set before the target listens: start it with { _tag: "defer" } (-incoming defer)` }))
      ]
      return errors.length === 0 ? E.right(undefined) : E.left(invalidInput(errors))
    }),
    E.map(({ settings, resume, timeoutMs }): IncomingPlans => {
      const source: MigrationRecord = { runs: 'source', runtime: rt }
      const listenSteps: ReadonlyArray<PlanStep> = [
        commandStep(`migration capabilities: ${capabilitiesOn(settings.caps).map((c) => c.capability).join(', ')}`, migrateSetCapabilities(capabilitiesOn(settings.caps)), capabilitiesUndo(settings.caps)),
        ...(incoming.how === 'defer' ? [commandStep(`listen on ${incoming.uri} (migrate-incoming)`, migrateIncoming(incoming.uri))] : [])
      ]
      const finishSteps: ReadonlyArray<PlanStep> = [
        waitStep('wait for the incoming migration to end (MIGRATION)', migrationEnded, timeoutMs),
        commandStep('query-migrate: completed?', queryMigrate(), undefined, { check: { _tag: 'MigrationCompleted' } }),
        ...(resume ? [commandStep('resume the guest (cont)', cont())] : [])
      ]
      return {
        listen: { title: `accept a migration on ${incoming.uri}`, steps: listenSteps, before: source, after: source, warnings: [] },
        finish: { title: `finish the incoming migration${resume ? ' and resume' : ''}`, steps: finishSteps, before: source, after: { runs: 'target', runtime: rt }, warnings: [] }
      }
    })
  )
