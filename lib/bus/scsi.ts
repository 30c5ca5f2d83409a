/**
 * The SCSI bus of the one controller (`-device <type>,id=scsi` gives `scsi.0`). Every disk and
 * CD-ROM gets its own target (`scsi-id`) on channel 0, lun 0. The limits are what each QEMU
 * controller accepts (measured on 7.2): lsi targets 0–7, megasas 0–127, virtio-scsi 0–255.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import type { ScsiControllerType } from '../hvparams.js'
import { allocate, emptySlots, take, type Slots } from './slots.js'

/**
 * The id of the instance's one SCSI controller, Ganeti's `scsi`. QEMU names the controller's bus
 * after it (`scsi.0`), the bus that SCSI hvinfo in Ganeti's runtime files records.
 *
 * @since 0.1.0
 */
export const SCSI_CONTROLLER_ID = 'scsi'

/**
 * The bus of the SCSI controller, named by QEMU after its id: the `bus` of every SCSI device's
 * hvinfo.
 *
 * @since 0.1.0
 */
export const SCSI_BUS = 'scsi.0'

/**
 * How many targets (`scsi-id`s on channel 0) each controller type accepts, measured on QEMU 7.2.
 * One device too many is refused as `BusFull` when planning, not by QEMU with `bad scsi device id`.
 *
 * @since 0.1.0
 */
export const SCSI_TARGETS: Readonly<Record<ScsiControllerType, number>> = {
  lsi: 8,
  megasas: 128,
  'virtio-scsi-pci': 256
}

/**
 * The targets of the one SCSI controller, with the controller type that bounds them: the type
 * decides how many SCSI disks and CD-ROMs fit.
 *
 * @since 0.1.0
 */
export interface ScsiBus {
  readonly controller: ScsiControllerType
  readonly targets: Slots
}

/**
 * A fresh SCSI bus for a controller type, every target free, sized by {@link SCSI_TARGETS}.
 *
 * @since 0.1.0
 */
export const scsiBus = (controller: ScsiControllerType): ScsiBus => ({
  controller,
  targets: emptySlots(SCSI_BUS, SCSI_TARGETS[controller])
})

/**
 * The lowest free target.
 *
 * @since 0.1.0
 */
export const allocateTarget =
  (owner: string) =>
  (bus: ScsiBus): E.Either<DevplanError, readonly [number, ScsiBus]> =>
    pipe(
      allocate(owner)(bus.targets),
      E.map(([id, targets]) => [id, { ...bus, targets }] as const)
    )

/**
 * Marks a target taken by a device already placed.
 *
 * @since 0.1.0
 */
export const takeTarget =
  (scsiId: number, owner: string) =>
  (bus: ScsiBus): E.Either<DevplanError, ScsiBus> =>
    pipe(take(scsiId, owner)(bus.targets), E.map((targets) => ({ ...bus, targets })))
