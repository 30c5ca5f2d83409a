/**
 * The q35 machine as data. `pcie.0` refuses every hotplug, so the machine's own devices, which
 * never leave, are integrated endpoints at fixed slots below the root ports, and every disk and
 * NIC sits behind a `pcie-root-port` of its own (lib/bus/ports.ts).
 *
 * @since 0.2.0
 */
import type { MachineDescription, MachineRole } from './description.js'

/**
 * The fixed `pcie.0` slots of the machine's own devices. VGA at 0x01 and the balloon at 0x02
 * are where QEMU 7.2 puts `-vga std` and an auto-placed balloon on q35 (measured).
 *
 * @since 0.2.0
 * @category plan
 */
export const Q35_SLOTS: Readonly<Record<MachineRole, number>> = { vga: 0x01, balloon: 0x02, virtioSerial: 0x03, sound: 0x04 }

/**
 * The q35 machine: what `-machine q35 -nodefaults` has by itself (measured on QEMU 7.2 and 10.0:
 * host bridge 00.0, ICH9 LPC/AHCI/SMBus 1f.0/.2/.3, no floppy controller), the slots of its own
 * devices, then the root ports from 0x08: the USB controller at 0x05, the SCSI controller and
 * CD-ROMs on PCI at the lowest free slots (0x06, 0x07), all below the ports, so that no port
 * group ever moves them. `kvm_pci_reservations` has no effect here (as in Ganeti's q35).
 *
 * @since 0.2.0
 * @category plan
 */
export const Q35: MachineDescription = {
  family: 'q35',
  root: {
    bus: 'pcie.0',
    slots: 32,
    builtIn: [
      [0x00, 'host bridge'],
      [0x05, '(kept for the USB controller of the machine)'],
      [0x1f, 'ICH9 (LPC, AHCI, SMBus)']
    ]
  },
  roleSlots: Q35_SLOTS,
  // q35 has no PIIX3 UHCI; qemu-xhci is one PCIe function (ICH9's EHCI/UHCI would take four).
  usb: { driver: 'qemu-xhci', id: 'usb', slot: 0x05, function: 0 },
  // ICH9 AHCI: six ports, one unit each, none hot-pluggable (measured).
  ide: { buses: 6, units: 1 },
  isaBus: 'isa.0',
  floppy: { bus: 'floppy-bus.0', units: 0 },
  ports: { firstSlot: 0x08, hotplug: 'acpi' }
}
