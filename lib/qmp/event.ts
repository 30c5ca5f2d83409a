/**
 * Which QMP event a plan waits for, as data: an event name and the members of its `data` that
 * must equal given values. Plans stay inspectable and printable (`--format json`), and the one
 * predicate the executor receives is derived here.
 *
 * @since 0.3.0
 * @category executor
 */
import type { QmpEvent } from './executor.js'

/**
 * A scalar a matched `data` member must equal (`===`).
 *
 * @since 0.3.0
 * @category executor
 */
export type EventValue = string | number | boolean | null

/**
 * An event name, and members of its `data` that must hold exactly these values; members not
 * named are not looked at. `{event: 'BLOCK_JOB_READY', data: {device: 'mirror-disk0'}}`.
 *
 * @since 0.3.0
 * @category executor
 */
export interface EventMatch {
  readonly event: string
  readonly data?: { readonly [member: string]: EventValue }
}

const member = (data: unknown, key: string): unknown =>
  typeof data === 'object' && data !== null && !Array.isArray(data) && Object.prototype.hasOwnProperty.call(data, key) ? Reflect.get(data, key) : undefined

/**
 * Does `event` match `m`? Events come from the caller's transport, so they are read as unknown.
 *
 * @since 0.3.0
 * @category executor
 */
export const matchesEvent =
  (m: EventMatch) =>
  (event: QmpEvent): boolean => {
    if (typeof event !== 'object' || event === null || event.event !== m.event) return false
    const want = m.data
    if (want === undefined) return true
    for (const key of Object.keys(want)) if (member(event.data, key) !== want[key]) return false
    return true
  }

/**
 * The first of `matches` that `event` matches, if any.
 *
 * @since 0.3.0
 * @category executor
 */
export const firstMatch =
  (matches: ReadonlyArray<EventMatch>) =>
  (event: QmpEvent): EventMatch | undefined =>
    matches.find((m) => matchesEvent(m)(event))

/**
 * `DEVICE_DELETED` of the device `id` (QEMU also sends one per block backend path, without a
 * `device`, which does not match).
 *
 * @since 0.3.0
 * @category executor
 */
export const deviceDeleted = (id: string): EventMatch => ({ event: 'DEVICE_DELETED', data: { device: id } })

/**
 * `DEVICE_UNPLUG_GUEST_ERROR` of the device `id`: the guest refused to release it.
 *
 * @since 0.3.0
 * @category executor
 */
export const unplugRefused = (id: string): EventMatch => ({ event: 'DEVICE_UNPLUG_GUEST_ERROR', data: { device: id } })

/**
 * `DEVICE_TRAY_MOVED` of the device `id` to `open` or closed.
 *
 * @since 0.3.0
 * @category executor
 */
export const trayMoved = (id: string, open: boolean): EventMatch => ({ event: 'DEVICE_TRAY_MOVED', data: { id, 'tray-open': open } })

/**
 * `JOB_STATUS_CHANGE` of job `id` to `status` (`ready`, `concluded`, …).
 *
 * @since 0.3.0
 * @category executor
 */
export const jobStatus = (id: string, status: string): EventMatch => ({ event: 'JOB_STATUS_CHANGE', data: { id, status } })
