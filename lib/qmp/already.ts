/**
 * The "already so" tables of hot-add and hot-remove: the QMP errors that mean a step's goal holds
 * already (the node, fd, netdev or device is gone, or there), so that running a plan again, or
 * undoing a step whose reply was lost, finishes instead of failing.
 *
 * @since 0.2.0
 */
import type { AlreadyDone } from './plan.js'

export const NODE_GONE: ReadonlyArray<AlreadyDone> = [{ desc: 'Failed to find node with node-name' }]
export const FD_GONE: ReadonlyArray<AlreadyDone> = [{ desc: 'not found' }]
export const NETDEV_GONE: ReadonlyArray<AlreadyDone> = [{ class: 'DeviceNotFound', desc: '' }, { desc: 'not found' }]
export const DEVICE_GONE: ReadonlyArray<AlreadyDone> = [{ class: 'DeviceNotFound', desc: '' }]
// For undos that re-create what a step removed: when the step's command never took effect
// (a transport failure leaves that open), the thing is still there, which is the undo's goal.
export const NODE_THERE: ReadonlyArray<AlreadyDone> = [{ desc: 'Duplicate nodes with node-name' }]
export const DEVICE_THERE: ReadonlyArray<AlreadyDone> = [{ desc: 'Duplicate device ID' }]
export const NETDEV_THERE: ReadonlyArray<AlreadyDone> = [{ desc: 'Duplicate ID' }]
// QEMU releases a deleted device's block backend and boot index a moment after the device
// leaves the QOM tree: until then a blockdev-del or a re-add of the device meets these.
export const STILL_RELEASING: ReadonlyArray<AlreadyDone> = [{ desc: 'is in use' }, { desc: 'Permission conflict' }, { desc: 'has already been used' }]
// object-add of an id that exists; object-del of one that does not (measured on 7.2).
export const OBJECT_THERE: ReadonlyArray<AlreadyDone> = [{ desc: 'attempt to add duplicate property' }]
export const OBJECT_GONE: ReadonlyArray<AlreadyDone> = [{ desc: "' not found" }]
