/**
 * What each kind of device becomes once placed: the one shape shared by start, hot-add and a
 * rebuild from a runtime — a disk's graph and device, a NIC's device, a CD-ROM's source — and
 * the warnings a disk's settings give.
 *
 * @since 0.2.0
 */
import { cacheSettings, diskCacheFor } from '../block/cache.js'
import { blockGraph, type BlockGraph, type ImageSource } from '../block/node.js'
import type { Placed } from '../bus/address.js'
import type { BlockDevice, NicDevice } from '../devices.js'
import type { Disk } from '../disk.js'
import type { Hvparams } from '../hvparams.js'
import { nicFeatures, type Nic } from '../nic.js'
import { deprecation } from '../qemu-changes.js'
import type { QemuVersion } from '../qemu-version.js'
import { ignored, type PlanWarning } from '../warnings.js'
import { driverInfo } from './catalog.js'
import { diskDriver } from './drivers.js'

/**
 * The graph of one disk, with the instance's cache, aio and discard settings.
 *
 * @since 0.1.0
 */
export const diskGraph = (disk: Disk, h: Hvparams): BlockGraph =>
  blockGraph(disk.id, {
    source: disk.source,
    format: disk.format,
    backing: disk.backing,
    readOnly: disk.readOnly,
    cache: cacheSettings(diskCacheFor(h.disk_cache, disk.devType)),
    ...(disk.source._tag === 'local' ? { aio: h.disk_aio } : {}),
    // Ganeti 3.0's `default` writes no discard option: QEMU's own, ignore.
    ...(h.disk_discard === 'default' ? {} : { discard: h.disk_discard })
  })

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
export const diskDevice = (disk: Disk, placed: Placed, h: Hvparams): BlockDevice => {
  const writeCache = writeCacheFor(placed.driver, diskCacheFor(h.disk_cache, disk.devType))
  return { kind: 'disk', uuid: disk.uuid, ...placed, graph: diskGraph(disk, h), ...(writeCache === undefined ? {} : { writeCache }) }
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
