/**
 * The pc (i440fx) machine as data: where the devices of the machine itself go. QEMU would place
 * them in creation order (`-vga` at machine init, then every key=value `-device`, then every JSON
 * one), so the same instance would get other slots as its options change; the plan gives each
 * one a fixed slot inside the reserved range instead, the one QEMU's own `-vga std` and `-audio`
 * take on a fresh machine, then the next ones up.
 *
 * @since 0.2.0
 */
import type { MachineDescription, MachineRole } from './description.js'

/**
 * The fixed `pci.0` slots of the machine's own devices, one slot a role. A role's slot stays
 * free when the instance has no such device, so that adding one later moves nothing.
 *
 * @since 0.2.0
 * @category plan
 */
export const PC_SLOTS: Readonly<Record<MachineRole, number>> = {
  /** QEMU's `-vga std` lands here at machine init too. */
  vga: 0x02,
  /** Kept for sound (`soundhw`, where QEMU's `-audio` lands). */
  sound: 0x03,
  balloon: 0x04,
  /** The virtio-serial bus of the guest agent (and SPICE's vdagent). */
  virtioSerial: 0x05
}

/**
 * The pc (i440fx) machine: what `-machine pc -nodefaults` has by itself (measured on QEMU 7.2),
 * and the slots the plan gives its own devices.
 *
 * @since 0.2.0
 * @category plan
 */
export const PC: MachineDescription = {
  family: 'pc',
  root: {
    bus: 'pci.0',
    slots: 32,
    builtIn: [
      [0x00, 'host bridge'],
      [0x01, 'PIIX3 (ISA, IDE, ACPI)']
    ]
  },
  roleSlots: PC_SLOTS,
  // PIIX3's USB function, what `-usb` creates: it shares slot 1 with the rest of PIIX3.
  usb: { driver: 'piix3-usb-uhci', id: 'usb', slot: 0x01, function: 2 },
  ide: { buses: 2, units: 2 },
  isaBus: 'isa.0',
  floppy: { bus: 'floppy-bus.0', units: 2 }
}
