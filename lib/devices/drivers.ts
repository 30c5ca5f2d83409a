/**
 * Which catalog driver an hvparam value means: `disk_type`, `cdrom_disk_type`, `nic_type`.
 *
 * @since 0.2.0
 */
import { DISK_TYPES, NIC_TYPES, type DiskType, type NicType } from '../hvparams.js'
import type { Driver } from './catalog.js'

/**
 * The frontend driver a disk_type means for a disk.
 *
 * @since 0.1.0
 * @category plan
 */
export const diskDriver = (type: DiskType): Driver => {
  // What is not a disk_type reads as the default one, paravirtual, rather than as a driver name.
  const known = DISK_TYPES.find((d) => d === type) ?? 'paravirtual'
  return known === 'paravirtual' ? 'virtio-blk-pci' : known === 'ide' ? 'ide-hd' : known
}

/**
 * The frontend driver for a CD-ROM: DOMAIN §1's mapping of a disk_type to a CD device.
 *
 * @since 0.1.0
 * @category plan
 */
export const cdromDriver = (type: DiskType): Driver =>
  type === 'paravirtual' ? 'virtio-blk-pci' : type === 'ide' ? 'ide-cd' : 'scsi-cd'

/**
 * The CD-ROM driver these hvparams give: `cdrom_disk_type`, or `disk_type` when it is empty.
 *
 * @since 0.1.0
 * @category plan
 */
export const cdromDriverOf = (h: { readonly cdrom_disk_type: '' | DiskType; readonly disk_type: DiskType }): Driver => {
  // What is not hvparams reads as the defaults (disk_type paravirtual, no cdrom_disk_type).
  try {
    return typeof h === 'object' && h !== null ? cdromDriver(h.cdrom_disk_type === '' ? h.disk_type : h.cdrom_disk_type) : cdromDriver('paravirtual')
  } catch {
    return cdromDriver('paravirtual')
  }
}

/**
 * The frontend driver a nic_type means.
 *
 * @since 0.1.0
 * @category plan
 */
export const nicDriver = (type: NicType): Driver => {
  // What is not a nic_type reads as the default one, paravirtual.
  const known = NIC_TYPES.find((n) => n === type) ?? 'paravirtual'
  return known === 'paravirtual' ? 'virtio-net-pci' : known
}
