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

/**
 * `blockdev-add`: creates one node from the same options as `-blockdev`, so that a hot-added
 * disk has the nodes it would have had at start.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevAdd = (node: BlockdevOptions): QmpCommand => cmd('blockdev-add', node)
/**
 * `blockdev-del`: deletes a node nothing uses any more; a graph is deleted top node first.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevDel = (nodeName: string): QmpCommand => cmd('blockdev-del', { 'node-name': nodeName })
/** `device_add`: the same properties as `-device` (see `deviceOptions`). @since 0.1.0 @category executor */
export const deviceAdd = (options: JsonObject): QmpCommand => cmd('device_add', options)
/**
 * `device_del`: only asks for the removal. The device is gone when `DEVICE_DELETED` arrives,
 * which for a PCI device waits on the guest.
 *
 * @since 0.1.0
 * @category executor
 */
export const deviceDel = (id: string): QmpCommand => cmd('device_del', { id })
/** `netdev_add`: the same options as `-netdev` (see `netdevOptions`). @since 0.1.0 @category executor */
export const netdevAdd = (options: JsonObject): QmpCommand => cmd('netdev_add', options)
/**
 * `netdev_del`: removes a NIC's backend, once `DEVICE_DELETED` says its device is gone.
 *
 * @since 0.1.0
 * @category executor
 */
export const netdevDel = (id: string): QmpCommand => cmd('netdev_del', { id })
/** `getfd`: names the file descriptor that travels with this command (SCM_RIGHTS). @since 0.1.0 @category executor */
export const getfd = (fdname: string): QmpCommand => cmd('getfd', { fdname })
/**
 * `closefd`: closes an fd that `getfd` named; the undo of a `getfd` step.
 *
 * @since 0.1.0
 * @category executor
 */
export const closefd = (fdname: string): QmpCommand => cmd('closefd', { fdname })
/** `add-fd`: puts the descriptor that travels with this command into an fd set. @since 0.1.0 @category executor */
export const addFd = (fdsetId?: number, opaque?: string): QmpCommand =>
  cmd('add-fd', { ...(fdsetId === undefined ? {} : { 'fdset-id': fdsetId }), ...(opaque === undefined ? {} : { opaque }) })
/**
 * `remove-fd`: takes `fd`, or without it every fd, out of an fd set that `add-fd` filled. QEMU
 * closes it once no node opened through `/dev/fdset/N` still uses it.
 *
 * @since 0.1.0
 * @category executor
 */
export const removeFd = (fdsetId: number, fd?: number): QmpCommand => cmd('remove-fd', { 'fdset-id': fdsetId, ...(fd === undefined ? {} : { fd }) })
/**
 * `query-pci`: what QEMU put on each slot, to compare a running instance with its hvinfo (the
 * library never probes; this is for callers and tests).
 *
 * @since 0.1.0
 * @category executor
 */
export const queryPci = (): QmpCommand => cmd('query-pci')
/**
 * `query-block`: every drive with its medium and tray state, e.g. to see a CD-ROM change take
 * effect. `-blockdev` drives are named by `qdev`, not `device`.
 *
 * @since 0.1.0
 * @category executor
 */
export const queryBlock = (): QmpCommand => cmd('query-block')
/** `flat: true` lists every node, children included. @since 0.1.0 @category executor */
export const queryNamedBlockNodes = (): QmpCommand => cmd('query-named-block-nodes', { flat: true })
/**
 * `qom-list`: the properties and children of a QOM path; `/machine/peripheral` lists every
 * device that has an id.
 *
 * @since 0.1.0
 * @category executor
 */
export const qomList = (path: string): QmpCommand => cmd('qom-list', { path })
/**
 * The QOM container of every device given an id (`-device id=…`, `device_add`).
 *
 * @since 0.3.0
 * @category executor
 */
export const PERIPHERAL = '/machine/peripheral'
/**
 * `qom-get`: one property of a device (`/machine/peripheral/<id>`), to check a placement against
 * its hvinfo. A PCI `addr` comes back as devfn, slot × 8.
 *
 * @since 0.1.0
 * @category executor
 */
export const qomGet = (path: string, property: string): QmpCommand => cmd('qom-get', { path, property })
/**
 * `blockdev-open-tray`: the first step of a medium change. `force` (the default here) opens a
 * tray the guest has locked, instead of only asking the guest to eject.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevOpenTray = (id: string, force = true): QmpCommand => cmd('blockdev-open-tray', { id, force })
/**
 * `blockdev-remove-medium`: takes the medium out of an open tray, so that its nodes can be
 * deleted.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevRemoveMedium = (id: string): QmpCommand => cmd('blockdev-remove-medium', { id })
/**
 * `blockdev-insert-medium`: puts node `nodeName`, added by `blockdev-add` first, into the open
 * tray of drive `id`.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevInsertMedium = (id: string, nodeName: string): QmpCommand => cmd('blockdev-insert-medium', { id, 'node-name': nodeName })
/**
 * `blockdev-close-tray`: ends a medium change, so that the guest sees the new medium.
 *
 * @since 0.1.0
 * @category executor
 */
export const blockdevCloseTray = (id: string): QmpCommand => cmd('blockdev-close-tray', { id })
/**
 * `query-commands`: the commands a running QEMU offers. The library takes its target as given;
 * this is for callers and tests that check a QEMU against it.
 *
 * @since 0.1.0
 * @category executor
 */
export const queryCommands = (): QmpCommand => cmd('query-commands')

/**
 * A display QEMU can protect with a password: QAPI's `DisplayProtocol`.
 *
 * @since 0.2.0
 * @category executor
 */
export type DisplayProtocol = 'vnc' | 'spice'

/**
 * `set_password`: the password of a display, which takes effect at once. QEMU refuses it for a
 * VNC server started without `password=on` (`Could not set password`) and for SPICE when there
 * is no SPICE server (`SPICE is not in use`, class DeviceNotActive); measured on 7.2 and 10.0.
 * The password is in the command as QEMU must receive it: log commands through `redactCommand`.
 *
 * @since 0.2.0
 * @category executor
 */
export const setPassword = (protocol: DisplayProtocol, password: string): QmpCommand => cmd('set_password', { protocol, password })
/**
 * `balloon`: the memory the guest should be left with, in bytes. QEMU only sets the balloon's
 * target; the guest's driver gives the memory back, and `query-balloon` reports `actual` as the
 * guest has it (without a guest it stays the full size). A target above `-m` is clamped to it,
 * 0 is refused.
 *
 * @since 0.2.0
 * @category executor
 */
export const balloon = (bytes: number): QmpCommand => cmd('balloon', { value: bytes })
/**
 * `cont`: resumes a paused guest (one started with `-S`). QEMU answers success to a guest that is
 * running already, and refuses one that needs a reset first (`Resetting the Virtual Machine is
 * required`).
 *
 * @since 0.2.0
 * @category executor
 */
export const cont = (): QmpCommand => cmd('cont')

/**
 * One function of a device on a PCI bus (`query-pci`), the fields the library reads.
 *
 * @since 0.1.0
 * @category executor
 */
export const PciDeviceInfo = t.type({ bus: t.number, slot: t.number, function: t.number, qdev_id: t.string, class_info: t.type({ class: t.number }) })

/**
 * io-ts codec for the `query-pci` reply: each bus with its devices, so that a caller can see
 * which id (`qdev_id`) holds which slot.
 *
 * @since 0.1.0
 * @category executor
 */
export const QueryPciReply = t.readonlyArray(t.type({ bus: t.number, devices: t.readonlyArray(PciDeviceInfo) }))

/**
 * `query-block`: `qdev` names the device (`device` is empty for `-blockdev` drives).
 *
 * @since 0.1.0
 * @category executor
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
 * @category executor
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
 * @category executor
 */
export const QomListReply = t.readonlyArray(t.type({ name: t.string, type: t.string }))

/**
 * `query-commands`.
 *
 * @since 0.1.0
 * @category executor
 */
export const QueryCommandsReply = t.readonlyArray(t.type({ name: t.string }))

/**
 * `add-fd`.
 *
 * @since 0.1.0
 * @category executor
 */
export const AddFdReply = t.type({ 'fdset-id': t.number, fd: t.number })

/**
 * `DEVICE_DELETED`: `device` is absent for devices without an id.
 *
 * @since 0.1.0
 * @category executor
 */
export const DeviceDeletedData = t.intersection([t.type({ path: t.string }), t.partial({ device: t.string })])

/**
 * `DEVICE_UNPLUG_GUEST_ERROR` (QEMU ≥ 6.2): the guest refused to release the device.
 *
 * @since 0.1.0
 * @category executor
 */
export const DeviceUnplugGuestErrorData = DeviceDeletedData

/**
 * Does this event end the unplug of device `id`, and how?
 *
 * @since 0.1.0
 * @category executor
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


export * from './migration-commands.js'
