/**
 * What both sides of a migration take in: the destination URI (or an address and
 * `migration_port`), the timeouts and versions, the rebuild options, Ganeti's `migration_*`
 * settings, and the capability steps each side sets and takes back.
 *
 * @since 0.3.0
 * @category runtime
 */
import * as E from 'fp-ts/lib/Either.js'
import { fieldError, type DevplanError } from '../errors.js'
import { decodeMigrationSettings, type MigrationCapability, type MigrationSettings } from '../hvparams-migration.js'
import { isVersionShape, parseVersion, type QemuVersion } from '../qemu-version.js'
import type { RebuildOptions } from '../runtime/rebuild.js'
import type { Runtime } from '../runtime/types.js'
import { isRecord, prop, totalOr } from '../total.js'
import { migrateSetCapabilities, type CapabilityState } from './commands.js'
import type { EventMatch } from './event.js'
import type { AlreadyDone, Undo } from './plan.js'

/**
 * What `migrate-set-capabilities` answers while a migration is in progress (7.2 and 10.0).
 *
 * @since 0.3.0
 * @category runtime
 */
export const MIGRATION_IN_PROGRESS: ReadonlyArray<AlreadyDone> = [{ desc: 'migration process in progress' }]

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
export const versionArg = (v: unknown, path: string): E.Either<DevplanError, QemuVersion> => {
  // A version as text ("7.2", "10.0.2"), as a target's `qemu` takes it, or as parseVersion gives it.
  const parsed = typeof v === 'string' ? parseVersion(v) : isVersionShape(v) ? v : undefined
  return parsed !== undefined ? E.right(parsed) : E.left(fieldError(path, v, 'expected a QEMU version: "7.2" or { major, minor, micro }, such as parseVersion("7.2.0") gives'))
}

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
