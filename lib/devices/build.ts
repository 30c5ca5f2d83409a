/**
 * What each kind of device becomes once placed: the one shape shared by start, hot-add and a
 * rebuild from a runtime — a disk's graph and device, a NIC's device, a CD-ROM's source — and
 * the warnings a disk's settings give.
 *
 * @since 0.2.0
 */
import { cacheSettings, diskCacheFor } from '../block/cache.js'
import { blockGraph, type BlockGraph, type ImageSource, type ImageSpec } from '../block/node.js'
import type { Placed } from '../bus/address.js'
import type { BlockDevice, NicDevice } from '../devices.js'
import type { Disk } from '../disk.js'
import type { Hvparams } from '../hvparams.js'
import { nicFeatures, type Nic } from '../nic.js'
import { deprecation } from '../qemu-changes.js'
import { features, type QemuVersion } from '../qemu-version.js'
import { limitsOf, throttleHvparam, type ThrottleKey, type ThrottleLimits } from '../block/throttle.js'
import type { FieldError } from '../errors.js'
import { ignored, type PlanWarning } from '../warnings.js'
import { driverInfo } from './catalog.js'
import { diskDriver } from './drivers.js'

/**
 * The graph of one disk, with the instance's cache, aio and discard settings. Since 0.3.0, for a
 * target `qemu` under its `driver`: a `throttle` filter on top with the instance's limits (see
 * {@link hasFilter}), and a qcow2 base with `backing: null` where the target reads JSON.
 *
 * @since 0.1.0
 */
export const diskGraph = (disk: Disk, h: Hvparams, qemu?: QemuVersion, driver: string = diskDriver(h.disk_type), limits?: ThrottleLimits): BlockGraph => {
  // Filled in place, not spread together: a plan builds one per disk, and the spreads of the
  // optional keys cost more than the rest of it. blockGraph reads the keys by name.
  const spec: { -readonly [K in keyof ImageSpec]: ImageSpec[K] } = {
    source: disk.source,
    format: disk.format,
    backing: disk.backing,
    readOnly: disk.readOnly,
    cache: cacheSettings(diskCacheFor(h.disk_cache, disk.devType))
  }
  if (hasFilter(qemu, driver)) spec.throttle = limits ?? limitsOf(h)
  if (!(qemu !== undefined && features(qemu).jsonDevice)) spec.headerBacking = true
  if (disk.source._tag === 'local') spec.aio = h.disk_aio
  // Ganeti 3.0's `default` writes no discard option: QEMU's own, ignore.
  if (h.disk_discard !== 'default') spec.discard = h.disk_discard
  return blockGraph(disk.id, spec)
}

/**
 * Whether a disk's graph gets a `throttle` filter on top: on a target that takes JSON `-object`
 * (its group's `limits` have no key=value form in 7.2), and under a frontend that is not a
 * pass-through (the filter cannot pass `scsi-block`'s SCSI ioctls, Proxmox #6680). A target the
 * caller does not know (a runtime without a stamp) gets none.
 *
 * @since 0.3.0
 */
export const hasFilter = (qemu: QemuVersion | undefined, driver: string): boolean =>
  qemu !== undefined && features(qemu).jsonDevice && driverInfo(driver)?.passthrough !== true

/**
 * The throttling hvparams a target or frontend cannot honour, as field errors: limits on disks
 * that get no filter would be silently lost.
 *
 * @since 0.3.0
 */
export const unthrottledErrors = (h: Hvparams, qemu: QemuVersion | undefined, driver: string): ReadonlyArray<FieldError> => {
  // Under a filter nothing is lost: the limits are not even read (limitsOf is not cheap).
  if (hasFilter(qemu, driver)) return []
  const limits = limitsOf(h)
  const keys = Object.keys(limits) as ReadonlyArray<ThrottleKey>
  if (keys.length === 0) return []
  const why =
    driverInfo(driver)?.passthrough === true
      ? `${driver} passes SCSI commands through, which the throttle filter cannot carry: throttle on the host instead`
      : `the throttle filter needs a target that takes JSON -object (QEMU 6.2 or later)${qemu === undefined ? ', and the runtime does not say which QEMU runs' : ''}`
  return keys.map((k) => ({ path: `hvparams.${throttleHvparam(k)}`, value: limits[k], message: why }))
}

/**
 * The `write-cache` a frontend gets under a cache mode; `undefined` where the driver has none.
 *
 * @since 0.1.0
 */
export const writeCacheFor = (driver: string, mode: Hvparams['disk_cache']): 'on' | 'off' | undefined =>
  driverInfo(driver)?.writeCache === false ? undefined : cacheSettings(mode).writeCache

/**
 * Where a CD-ROM image lives: a local file or host CD-ROM, or an http(s) URL.
 *
 * @since 0.1.0
 */
export const cdromSource = (location: string): ImageSource =>
  location.startsWith('https://')
    ? { _tag: 'url', driver: 'https', url: location }
    : location.startsWith('http://')
      ? { _tag: 'url', driver: 'http', url: location }
      : { _tag: 'local', driver: location.startsWith('/dev/') ? 'host_cdrom' : 'file', path: location }

/**
 * What a block graph uses that `qemu` deprecates (the gluster driver from 9.2), reported at
 * `path`, the input that chose it.
 *
 * @since 0.2.0
 */
export const graphWarnings = (graph: BlockGraph, path: string, qemu: QemuVersion): ReadonlyArray<PlanWarning> =>
  graph.nodes.some((n) => n.driver === 'gluster') ? deprecation('gluster', path, qemu) : []

/**
 * The device a NIC becomes once placed: the one shape shared by start and hot-add.
 *
 * @since 0.1.0
 */
export const nicDevice = (nic: Nic, placed: Placed, h: Hvparams): NicDevice => ({
  kind: 'nic',
  uuid: nic.uuid,
  ...placed,
  mac: nic.mac,
  backend: nic.backend,
  // Ganeti's rule: vhost on paravirtual NICs only, several queues only with vhost.
  ...nicFeatures(h, nic.backend)
})

/**
 * The device a disk becomes once placed: the one shape shared by start and hot-add.
 *
 * @since 0.1.0
 */
export const diskDevice = (disk: Disk, placed: Placed, h: Hvparams, qemu?: QemuVersion, limits?: ThrottleLimits): BlockDevice => {
  const writeCache = writeCacheFor(placed.driver, diskCacheFor(h.disk_cache, disk.devType))
  // Assigned in order, not spread: a plan builds one per disk.
  const d: { -readonly [K in keyof BlockDevice]: BlockDevice[K] } = { kind: 'disk', uuid: disk.uuid, driver: placed.driver, id: placed.id, address: placed.address, graph: diskGraph(disk, h, qemu, placed.driver, limits) }
  if (writeCache !== undefined) d.writeCache = writeCache
  return d
}

/**
 * The warning for a cache mode that has no effect on a pass-through disk (`scsi-block`,
 * `scsi-generic`): their reads and writes go to the host device as SCSI commands (SG_IO), with
 * no `write-cache` property and no emulated FUA, so the device's own write cache setting applies
 * (the guest sees it and flushes as it needs). Under Ganeti's `-drive cache=writethrough` too.
 *
 * @since 0.2.0
 */
export const passthroughCacheWarnings = (h: Hvparams, disks: ReadonlyArray<Disk>, which: string): ReadonlyArray<PlanWarning> => {
  const driver = diskDriver(h.disk_type)
  // Shared storage runs cache none whatever disk_cache says: nothing of the mode is lost there.
  const affected = disks.some((d) => cacheSettings(diskCacheFor(h.disk_cache, d.devType)).writeCache === 'off')
  if (driverInfo(driver)?.writeCache !== false || !affected) return []
  return [
    ignored(
      'hvparams.disk_cache',
      h.disk_cache,
      `${which} (${driver}) runs with the host device's own write cache setting: the guest's SCSI commands pass through to it, so QEMU has no write cache to turn off (QEMU ignores the "off" half of ${JSON.stringify(h.disk_cache)} there, under Ganeti's -drive as under this plan's -blockdev)`
    )
  ]
}
