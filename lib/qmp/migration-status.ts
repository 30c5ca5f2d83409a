/**
 * What a migration's state means for other plans: the figures `query-migrate` gave when it
 * ended, and the refusal of hotplug while one is in progress.
 *
 * @since 0.3.0
 * @category runtime
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { DevplanError } from '../errors.js'
import { totalOr } from '../total.js'
import type { LogEntry } from './runner.js'

/**
 * What `query-migrate` said of a completed migration: times in ms, RAM in bytes.
 *
 * @since 0.3.0
 * @category runtime
 */
export interface MigrationFigures {
  readonly status: string
  readonly totalTimeMs?: number
  readonly downtimeMs?: number
  readonly ramTransferred?: number
  readonly ramTotal?: number
}

const Info = t.intersection([
  t.type({ status: t.string }),
  t.partial({ 'total-time': t.number, downtime: t.number, ram: t.partial({ transferred: t.number, total: t.number }) })
])

/**
 * The figures of the last `query-migrate` a plan's log holds (the reply of its checked step),
 * if any.
 *
 * @since 0.3.0
 * @category runtime
 */
export const migrationFigures = (log: ReadonlyArray<LogEntry>): MigrationFigures | undefined =>
  totalOr(undefined, () => {
    const entry = [...log].reverse().find((l) => l.command?.execute === 'query-migrate' && l.reply !== undefined)
    const d = Info.decode(entry?.reply)
    if (E.isLeft(d)) return undefined
    const i = d.right
    return {
      status: i.status,
      ...(i['total-time'] === undefined ? {} : { totalTimeMs: i['total-time'] }),
      ...(i.downtime === undefined ? {} : { downtimeMs: i.downtime }),
      ...(i.ram?.transferred === undefined ? {} : { ramTransferred: i.ram.transferred }),
      ...(i.ram?.total === undefined ? {} : { ramTotal: i.ram.total })
    }
  })

/** `query-migrate` statuses after which nothing is in flight. */
const SETTLED: ReadonlySet<string> = new Set(['none', 'completed', 'failed', 'cancelled'])

/**
 * The refusal of a hotplug or medium change while `status` (`query-migrate`'s) says a
 * migration is in progress; `undefined` when none is (or no status is given).
 *
 * @since 0.3.0
 * @category runtime
 */
export const migrationRefusal = (device: string, status: unknown): DevplanError | undefined =>
  status === undefined || (typeof status === 'string' && SETTLED.has(status)) ? undefined : { _tag: 'MigrationInProgress', device, status: typeof status === 'string' ? status : String(totalOr('?', () => JSON.stringify(status))) }
