/**
 * The pc (i440fx) machine as data: where the devices of the machine itself go. QEMU would place
 * them in creation order (`-vga` at machine init, then every key=value `-device`, then every JSON
 * one), so the same instance would get other slots as its options change; the plan gives each
 * one a fixed slot inside the reserved range instead, the one QEMU's own `-vga std` and `-audio`
 * take on a fresh machine, then the next ones up.
 *
 * @since 0.2.0
 */

/**
 * The fixed `pci.0` slots of the machine's own devices, one slot a role. A role's slot stays
 * free when the instance has no such device, so that adding one later moves nothing.
 *
 * @since 0.2.0
 */
export const PC_SLOTS = {
  /** QEMU's `-vga std` lands here at machine init too. */
  vga: 0x02,
  /** Kept for sound (`soundhw`, where QEMU's `-audio` lands). */
  sound: 0x03,
  balloon: 0x04,
  /** The virtio-serial bus of the guest agent (and SPICE's vdagent). */
  virtioSerial: 0x05
} as const

/**
 * PIIX3's USB function: what `-usb` creates on pc (`piix3-usb-uhci` at 01.2). It shares slot 1
 * with the rest of PIIX3, which the bus state holds already.
 *
 * @since 0.2.0
 */
export const PC_USB = { slot: 0x01, function: 2 } as const

/**
 * A machine role of {@link PC_SLOTS}.
 *
 * @since 0.2.0
 */
export type MachineRole = keyof typeof PC_SLOTS
