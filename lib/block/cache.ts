/**
 * Cache modes split between the guest device and the block nodes (qemu(1), seed 003).
 *
 * @since 0.1.0
 */
import type { DiskCache } from '../hvparams.js'

/**
 * What one `disk_cache` mode becomes in QEMU: part of it is the guest device's `write-cache`,
 * part the nodes' `cache.*` options, since `-blockdev` has no single `cache=` any more.
 *
 * @since 0.1.0
 */
export interface CacheSettings {
  /** The device's `write-cache` (guest-visible volatile cache). */
  readonly writeCache: 'on' | 'off'
  /** The nodes' `cache.direct` (O_DIRECT). */
  readonly direct: boolean
  /** The nodes' `cache.no-flush` (flushes ignored). */
  readonly noFlush: boolean
}

/**
 * `default` is QEMU's own default, writeback.
 *
 * @since 0.1.0
 */
export const cacheSettings = (mode: DiskCache): CacheSettings => {
  switch (mode) {
    case 'default':
    case 'writeback':
      return { writeCache: 'on', direct: false, noFlush: false }
    case 'none':
      return { writeCache: 'on', direct: true, noFlush: false }
    case 'writethrough':
      return { writeCache: 'off', direct: false, noFlush: false }
    case 'directsync':
      return { writeCache: 'off', direct: true, noFlush: false }
    case 'unsafe':
      return { writeCache: 'on', direct: false, noFlush: true }
  }
}

/**
 * Ganeti's disk templates (`dev_type`), as a disk spec or a runtime's disk dict names them.
 *
 * @since 0.2.0
 */
export const DISK_TEMPLATES = ['plain', 'drbd', 'file', 'sharedfile', 'blockdev', 'rbd', 'ext', 'gluster', 'diskless'] as const

/**
 * A disk template.
 *
 * @since 0.2.0
 */
export type DiskTemplate = (typeof DISK_TEMPLATES)[number]

/**
 * The templates whose disks Ganeti always opens with cache=none, whatever `disk_cache` says
 * (`DTS_EXT_MIRROR` but rbd, in 3.0 and 3.1 alike): storage another node opens too, where a
 * host page cache would let a migration corrupt the disk.
 *
 * @since 0.2.0
 */
export const SHARED_STORAGE: ReadonlySet<string> = new Set(['sharedfile', 'blockdev', 'ext', 'gluster', 'diskless'])

/**
 * The cache mode a disk of `template` runs with under `mode`: `none` on shared storage, as Ganeti.
 *
 * @since 0.2.0
 */
export const diskCacheFor = (mode: DiskCache, template: string): DiskCache => (SHARED_STORAGE.has(template) ? 'none' : mode)
