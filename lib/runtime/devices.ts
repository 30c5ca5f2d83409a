/**
 * Recorded disks and NICs ⇄ device-tree devices. Both directions go through the same hvinfo
 * and the same renderers, so a device rebuilt from a runtime (migration, hot-remove rollback)
 * is the device that was started or hot-added.
 *
 * @since 0.1.0
 */
import { blockGraph, type BlockdevOptions, type BlockGraph, type ImageSource } from '../block/node.js'
import { cacheSettings } from '../block/cache.js'
import type { BlockDevice, NicDevice } from '../devices.js'
import type { Hvinfo } from '../hvinfo.js'
import type { Hvparams } from '../hvparams.js'
import { localSource, type Disk, type Nic, type NicBackend } from '../instance.js'
import { writeCacheFor } from '../plan.js'
import type { JsonObject } from '../qemu-opts.js'
import type { RuntimeDisk, RuntimeNic } from './types.js'

const sourcePath = (s: ImageSource): string => (s._tag === 'local' ? s.path : s._tag === 'url' ? s.url : '')

/**
 * The record of a disk placed at `hvinfo` with the nodes of `graph`.
 *
 * @since 0.1.0
 */
export const diskRecord = (disk: Disk, hvinfo: Hvinfo, graph: BlockGraph): RuntimeDisk => ({
  uuid: disk.uuid,
  hvinfo,
  blockdev: graph.nodes,
  link: sourcePath(disk.source),
  uri: disk.uri,
  rest: { mode: disk.readOnly ? 'ro' : 'rw', ...(disk.name === '' ? {} : { name: disk.name }) }
})

/**
 * The record of a NIC placed at `hvinfo` with the netdev options `netdev`.
 *
 * @since 0.1.0
 */
export const nicRecord = (nic: Nic, hvinfo: Hvinfo, netdev: JsonObject): RuntimeNic => ({
  uuid: nic.uuid,
  mac: nic.mac,
  hvinfo,
  netdev,
  rest: nic.name === '' ? {} : { name: nic.name }
})

/**
 * The nodes of a recorded disk: as recorded, or — for files Ganeti wrote, which record none —
 * a raw node over the link path named after the device, as Ganeti 3.1 opened it.
 *
 * @since 0.1.0
 */
export const recordedGraph = (d: RuntimeDisk & { readonly hvinfo: Hvinfo }, h: Hvparams): BlockGraph => {
  if (d.blockdev !== undefined && d.blockdev.length > 0) {
    const top = d.blockdev[d.blockdev.length - 1]
    return { top: top?.['node-name'] ?? d.hvinfo.id, nodes: d.blockdev }
  }
  const readOnly = d.rest['mode'] === 'ro'
  return blockGraph(d.hvinfo.id, {
    source: localSource(d.link, ''),
    format: 'raw',
    backing: [],
    readOnly,
    cache: cacheSettings(h.disk_cache),
    aio: h.disk_aio,
    discard: h.disk_discard
  })
}

/**
 * A recorded disk as a device (for `device_add` and the command line).
 *
 * @since 0.1.0
 */
export const recordedDisk = (d: RuntimeDisk & { readonly hvinfo: Hvinfo }, h: Hvparams): BlockDevice => {
  const writeCache = writeCacheFor(d.hvinfo.driver, h.disk_cache)
  return { kind: 'disk', uuid: d.uuid, hvinfo: d.hvinfo, graph: recordedGraph(d, h), ...(writeCache === undefined ? {} : { writeCache }) }
}

const backendOf = (netdev: JsonObject | undefined): NicBackend =>
  netdev?.['type'] === 'user'
    ? { type: 'user' }
    : typeof netdev?.['ifname'] === 'string'
      ? { type: 'tap', ifname: netdev['ifname'] }
      : { type: 'tap', fds: [], vhostfds: [] }

/**
 * A recorded NIC as a device.
 *
 * @since 0.1.0
 */
export const recordedNic = (n: RuntimeNic & { readonly hvinfo: Hvinfo }, h: Hvparams): NicDevice => {
  const backend = backendOf(n.netdev)
  return {
    kind: 'nic',
    uuid: n.uuid,
    hvinfo: n.hvinfo,
    mac: n.mac,
    backend,
    vhost: h.vhost_net && backend.type === 'tap',
    queues: h.nic_type === 'paravirtual' && backend.type === 'tap' ? h.virtio_net_queues : 1
  }
}

/**
 * Node options by name, to re-create nodes in a rollback.
 *
 * @since 0.1.0
 */
export const nodesByName = (nodes: ReadonlyArray<BlockdevOptions>): ReadonlyMap<string, BlockdevOptions> =>
  new Map(nodes.map((n) => [n['node-name'], n]))
