/**
 * Typed QMP commands — one constructor for every command the library emits — and io-ts codecs
 * for the replies and events it reads. Argument names and shapes are QEMU's (`qapi/*.json`);
 * a test checks every constructor against the schema a real QEMU reports.
 *
 * @since 0.1.0
 */
import * as t from 'io-ts'
import type { BlockdevOptions } from '../block/node.js'
import type { JsonObject } from '../qemu-opts.js'
import type { QmpCommand } from './executor.js'

const cmd = (execute: string, args?: JsonObject): QmpCommand => (args === undefined ? { execute } : { execute, arguments: args })

/** @since 0.1.0 */
export const blockdevAdd = (node: BlockdevOptions): QmpCommand => cmd('blockdev-add', node)
/** @since 0.1.0 */
export const blockdevDel = (nodeName: string): QmpCommand => cmd('blockdev-del', { 'node-name': nodeName })
/** `device_add`: the same properties as `-device` (see `deviceOptions`). @since 0.1.0 */
export const deviceAdd = (options: JsonObject): QmpCommand => cmd('device_add', options)
/** @since 0.1.0 */
export const deviceDel = (id: string): QmpCommand => cmd('device_del', { id })
/** `netdev_add`: the same options as `-netdev` (see `netdevOptions`). @since 0.1.0 */
export const netdevAdd = (options: JsonObject): QmpCommand => cmd('netdev_add', options)
/** @since 0.1.0 */
export const netdevDel = (id: string): QmpCommand => cmd('netdev_del', { id })
/** `getfd`: names the file descriptor that travels with this command (SCM_RIGHTS). @since 0.1.0 */
export const getfd = (fdname: string): QmpCommand => cmd('getfd', { fdname })
/** @since 0.1.0 */
export const closefd = (fdname: string): QmpCommand => cmd('closefd', { fdname })
/** `add-fd`: puts the descriptor that travels with this command into an fd set. @since 0.1.0 */
export const addFd = (fdsetId?: number, opaque?: string): QmpCommand =>
  cmd('add-fd', { ...(fdsetId === undefined ? {} : { 'fdset-id': fdsetId }), ...(opaque === undefined ? {} : { opaque }) })
/** @since 0.1.0 */
export const removeFd = (fdsetId: number, fd?: number): QmpCommand => cmd('remove-fd', { 'fdset-id': fdsetId, ...(fd === undefined ? {} : { fd }) })
/** @since 0.1.0 */
export const queryPci = (): QmpCommand => cmd('query-pci')
/** @since 0.1.0 */
export const queryBlock = (): QmpCommand => cmd('query-block')
/** `flat: true` lists every node, children included. @since 0.1.0 */
export const queryNamedBlockNodes = (): QmpCommand => cmd('query-named-block-nodes', { flat: true })
/** @since 0.1.0 */
export const qomList = (path: string): QmpCommand => cmd('qom-list', { path })
/** @since 0.1.0 */
export const qomGet = (path: string, property: string): QmpCommand => cmd('qom-get', { path, property })
/** @since 0.1.0 */
export const blockdevOpenTray = (id: string, force = true): QmpCommand => cmd('blockdev-open-tray', { id, force })
/** @since 0.1.0 */
export const blockdevRemoveMedium = (id: string): QmpCommand => cmd('blockdev-remove-medium', { id })
/** @since 0.1.0 */
export const blockdevInsertMedium = (id: string, nodeName: string): QmpCommand => cmd('blockdev-insert-medium', { id, 'node-name': nodeName })
/** @since 0.1.0 */
export const blockdevCloseTray = (id: string): QmpCommand => cmd('blockdev-close-tray', { id })
/** @since 0.1.0 */
export const queryCommands = (): QmpCommand => cmd('query-commands')

/**
 * One function of a device on a PCI bus (`query-pci`), the fields the library reads.
 *
 * @since 0.1.0
 */
export const PciDeviceInfo = t.type({ bus: t.number, slot: t.number, function: t.number, qdev_id: t.string, class_info: t.type({ class: t.number }) })

/**
 * @since 0.1.0
 */
export const QueryPciReply = t.readonlyArray(t.type({ bus: t.number, devices: t.readonlyArray(PciDeviceInfo) }))

/**
 * `query-block`: `qdev` names the device (`device` is empty for `-blockdev` drives).
 *
 * @since 0.1.0
 */
export const QueryBlockReply = t.readonlyArray(
  t.intersection([
    t.type({ device: t.string, locked: t.boolean, removable: t.boolean }),
    t.partial({ qdev: t.string, tray_open: t.boolean, inserted: t.type({ 'node-name': t.string, drv: t.string, ro: t.boolean, file: t.string }) })
  ])
)

/**
 * `query-named-block-nodes`.
 *
 * @since 0.1.0
 */
export const NamedBlockNodesReply = t.readonlyArray(
  t.type({
    'node-name': t.string,
    drv: t.string,
    ro: t.boolean,
    file: t.string,
    cache: t.type({ writeback: t.boolean, direct: t.boolean, 'no-flush': t.boolean })
  })
)

/**
 * `qom-list`.
 *
 * @since 0.1.0
 */
export const QomListReply = t.readonlyArray(t.type({ name: t.string, type: t.string }))

/**
 * `query-commands`.
 *
 * @since 0.1.0
 */
export const QueryCommandsReply = t.readonlyArray(t.type({ name: t.string }))

/**
 * `add-fd`.
 *
 * @since 0.1.0
 */
export const AddFdReply = t.type({ 'fdset-id': t.number, fd: t.number })

/**
 * `DEVICE_DELETED`: `device` is absent for devices without an id.
 *
 * @since 0.1.0
 */
export const DeviceDeletedData = t.intersection([t.type({ path: t.string }), t.partial({ device: t.string })])

/**
 * `DEVICE_UNPLUG_GUEST_ERROR` (QEMU ≥ 6.2): the guest refused to release the device.
 *
 * @since 0.1.0
 */
export const DeviceUnplugGuestErrorData = DeviceDeletedData

/**
 * Does this event end the unplug of device `id`, and how?
 *
 * @since 0.1.0
 */
export const unplugEventFor =
  (id: string) =>
  (event: { readonly event: string; readonly data: unknown }): 'deleted' | 'refused' | undefined => {
    // Events come from the caller's transport: read them as unknown.
    if (typeof event !== 'object' || event === null) return undefined
    const r = DeviceDeletedData.decode(event.data)
    if (r._tag === 'Left' || r.right.device !== id) return undefined
    return event.event === 'DEVICE_DELETED' ? 'deleted' : event.event === 'DEVICE_UNPLUG_GUEST_ERROR' ? 'refused' : undefined
  }
