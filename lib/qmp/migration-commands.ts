/**
 * The typed QMP commands of migration, re-exported by `commands.ts` (so they are `qmp.*` too).
 *
 * @since 0.3.0
 * @category executor
 */
import type { JsonObject } from '../qemu-opts.js'
import type { QmpCommand } from './executor.js'

const cmd = (execute: string, args?: JsonObject): QmpCommand => (args === undefined ? { execute } : { execute, arguments: args })

/**
 * One migration capability and whether it is on, as `migrate-set-capabilities` takes it.
 *
 * @since 0.3.0
 * @category executor
 */
export type CapabilityState = { readonly capability: string; readonly state: boolean }

/**
 * The parameters a migration plan sets.
 *
 * @since 0.3.0
 * @category executor
 */
export type MigrationParameters = { readonly 'max-bandwidth'?: number; readonly 'downtime-limit'?: number; readonly 'max-postcopy-bandwidth'?: number }

/**
 * `migrate-set-capabilities`: switches migration capabilities on or off. QEMU refuses it while a
 * migration is in progress ("There's a migration process in progress").
 *
 * @since 0.3.0
 * @category executor
 */
export const migrateSetCapabilities = (capabilities: ReadonlyArray<CapabilityState>): QmpCommand => cmd('migrate-set-capabilities', { capabilities })

/**
 * `migrate-set-parameters`: `max-bandwidth` in bytes per second, `downtime-limit` in ms (QEMU's
 * defaults: 128 MiB/s and 300 ms), `max-postcopy-bandwidth` in bytes per second (0: unlimited).
 * Accepted during a migration too.
 *
 * @since 0.3.0
 * @category executor
 */
export const migrateSetParameters = (parameters: MigrationParameters): QmpCommand => cmd('migrate-set-parameters', parameters)

/**
 * `migrate`: starts an outgoing migration to `uri` (`tcp:<host>:<port>`, `unix:<path>`). The
 * reply only says it started; the `MIGRATION` event (with the `events` capability) says how it
 * ended, and `query-migrate` why.
 *
 * @since 0.3.0
 * @category executor
 */
export const migrate = (uri: string): QmpCommand => cmd('migrate', { uri })

/**
 * `migrate-incoming`: makes a QEMU started with `-incoming defer` listen on `uri`.
 *
 * @since 0.3.0
 * @category executor
 */
export const migrateIncoming = (uri: string): QmpCommand => cmd('migrate-incoming', { uri })

/**
 * `migrate_cancel`: cancels the outgoing migration; with none in progress, a harmless no-op.
 *
 * @since 0.3.0
 * @category executor
 */
export const migrateCancel = (): QmpCommand => cmd('migrate_cancel')

/**
 * `query-migrate`: the state of the last migration, its error (`error-desc`) and its figures.
 *
 * @since 0.3.0
 * @category executor
 */
export const queryMigrate = (): QmpCommand => cmd('query-migrate')

/**
 * `query-migrate-capabilities`.
 *
 * @since 0.3.0
 * @category executor
 */
export const queryMigrateCapabilities = (): QmpCommand => cmd('query-migrate-capabilities')

/**
 * `query-migrate-parameters`.
 *
 * @since 0.3.0
 * @category executor
 */
export const queryMigrateParameters = (): QmpCommand => cmd('query-migrate-parameters')

/**
 * `stop`: pauses the guest (a non-live migration's first step). Harmless on a paused guest.
 *
 * @since 0.3.0
 * @category executor
 */
export const stop = (): QmpCommand => cmd('stop')

/**
 * `query-status`: the run state (`running`, `paused`, `inmigrate`, `postmigrate`, …).
 *
 * @since 0.3.0
 * @category executor
 */
export const queryStatus = (): QmpCommand => cmd('query-status')
