/**
 * Which catalog driver an hvparam value means: `disk_type`, `cdrom_disk_type`, `nic_type`.
 *
 * @since 0.2.0
 */
import type { DiskType, NicType } from '../hvparams.js'
import type { Driver } from './catalog.js'

/**
 * The frontend driver a disk_type means for a disk.
 *
 * @since 0.1.0
 */
export const diskDriver = (type: DiskType): Driver => (type === 'paravirtual' ? 'virtio-blk-pci' : type === 'ide' ? 'ide-hd' : type)

/**
 * The frontend driver for a CD-ROM: DOMAIN §1's mapping of a disk_type to a CD device.
 *
 * @since 0.1.0
 */
export const cdromDriver = (type: DiskType): Driver =>
  type === 'paravirtual' ? 'virtio-blk-pci' : type === 'ide' ? 'ide-cd' : 'scsi-cd'

/**
 * The CD-ROM driver these hvparams give: `cdrom_disk_type`, or `disk_type` when it is empty.
 *
 * @since 0.1.0
 */
export const cdromDriverOf = (h: { readonly cdrom_disk_type: '' | DiskType; readonly disk_type: DiskType }): Driver =>
  cdromDriver(h.cdrom_disk_type === '' ? h.disk_type : h.cdrom_disk_type)

/**
 * The frontend driver a nic_type means.
 *
 * @since 0.1.0
 */
export const nicDriver = (type: NicType): Driver => (type === 'paravirtual' ? 'virtio-net-pci' : type)
