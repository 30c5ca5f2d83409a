/**
 * Recorded disks and NICs ⇄ device-tree devices. Both directions go through the same place
 * and the same renderers, so a device rebuilt from a runtime (migration, hot-remove rollback)
 * is the device that was started or hot-added.
 *
 * @since 0.1.0
 */
import type { BlockdevOptions, BlockGraph, ImageSource } from '../block/node.js'
import type { Placed } from '../bus/address.js'
import type { Disk } from '../disk.js'
import type { Nic } from '../nic.js'
import type { JsonObject } from '../qemu-opts.js'
import type { RuntimeDisk, RuntimeNic } from './types.js'

const sourcePath = (s: ImageSource): string => (s._tag === 'local' ? s.path : s._tag === 'url' ? s.url : '')

/**
 * The record of a disk placed at `placed` with the nodes of `graph`.
 *
 * @since 0.1.0
 */
export const diskRecord = (disk: Disk, placed: Placed, graph: BlockGraph): RuntimeDisk => ({
  uuid: disk.uuid,
  placed: { driver: placed.driver, id: placed.id, address: placed.address },
  blockdev: graph.nodes,
  ...(graph.objects === undefined ? {} : { objects: graph.objects }),
  link: disk.link !== '' ? disk.link : sourcePath(disk.source),
  uri: disk.uri,
  rest: { mode: disk.readOnly ? 'ro' : 'rw', ...(disk.name === '' ? {} : { name: disk.name }), ...(disk.devType === '' ? {} : { dev_type: disk.devType }) }
})

/**
 * The record of a NIC placed at `placed` with the netdev options `netdev`.
 *
 * @since 0.1.0
 */
export const nicRecord = (nic: Nic, placed: Placed, netdev: JsonObject): RuntimeNic => ({
  uuid: nic.uuid,
  mac: nic.mac,
  placed: { driver: placed.driver, id: placed.id, address: placed.address },
  netdev,
  rest: nic.name === '' ? {} : { name: nic.name }
})

/**
 * Node options by name, to re-create nodes in a rollback.
 *
 * @since 0.1.0
 */
export const nodesByName = (nodes: ReadonlyArray<BlockdevOptions>): ReadonlyMap<string, BlockdevOptions> =>
  new Map(nodes.map((n) => [n['node-name'], n]))
