/**
 * A minimal "guest" for hot-unplug tests: a raw disk image whose MBR boot sector does the one
 * thing an OS does for an ACPI PCI hot-unplug on a `pc` (i440fx/PIIX4) machine — it acknowledges
 * the eject. Without a guest, `device_del` of a PCI device never completes on QEMU 7.2: the
 * device only goes once the guest writes its slot to the eject register.
 *
 * The PIIX4 ACPI PCI hotplug registers (QEMU's hw/acpi/pcihp.c, base 0xae00, 32-bit accesses
 * only: `.valid.min_access_size = 4`):
 *
 * - 0xae04 PCI_DOWN_BASE: bitmask of slots, on the bus selected by BNUM, with a pending removal.
 *   Reading does not clear it (only an eject does, and a reset).
 * - 0xae08 PCI_EJ_BASE: writing a slot mask ejects the lowest set slot (`ctz32(data)`), clears
 *   its bit in `down` and `up`, and unplugs the device there — which is when QEMU emits
 *   `DEVICE_DELETED`. Further bits are picked up by the next round of the loop.
 * - 0xae10 PCI_SEL_BASE (BNUM): selects the bus by its `acpi-pcihp-bsel`; the root bus is 0.
 *   It is written before every read, so the guest does not depend on its reset value (with
 *   `legacy_piix` the write is ignored and the default, 0, is used anyway).
 *
 * Between polls the guest halts with interrupts on: SeaBIOS leaves the PIT running at 18.2 Hz
 * with IRQ 0 unmasked, so `hlt` returns every ~55 ms. Polling without `hlt` would spin the TCG
 * vCPU through port I/O that takes QEMU's big lock on every access.
 *
 * @since 0.1.0
 */
import { writeFile } from 'node:fs/promises'
import type { Vm } from './harness.js'

/** The PIIX4 ACPI PCI hotplug register block on a `pc` machine. */
export const PCIHP_DOWN = 0xae04
export const PCIHP_EJECT = 0xae08
export const PCIHP_BNUM = 0xae10

/**
 * The boot sector's code, loaded by SeaBIOS at 0000:7c00 and entered in 16-bit real mode.
 * Every jump is relative, so the load segment does not matter. Offsets in the comments are
 * from the start of the sector.
 */
export const EJECT_LOOP: ReadonlyArray<number> = [
  // 00: cli                      ; no interrupts until the stack is ours
  0xfa,
  // 01: xor ax, ax               ; 31 /r, modrm 11 000 000
  0x31, 0xc0,
  // 03: mov ss, ax               ; 8e /r, modrm 11 010(ss) 000(ax)
  0x8e, 0xd0,
  // 05: mov sp, 0x7c00           ; b8+r (sp = 4) iw: the stack grows down below the sector
  0xbc, 0x00, 0x7c,
  // loop (08):
  // 08: sti                      ; let the timer interrupt end the hlt below
  0xfb,
  // 09: hlt                      ; sleep until the next interrupt (PIT, ~55 ms)
  0xf4,
  // 0a: mov dx, 0xae10           ; ba iw: BNUM (bus select)
  0xba, 0x10, 0xae,
  // 0d: xor eax, eax             ; 66 31 /r: eax = 0, the root bus
  0x66, 0x31, 0xc0,
  // 10: out dx, eax              ; 66 ef: select bus 0
  0x66, 0xef,
  // 12: mov dx, 0xae04           ; ba iw: PCI_DOWN_BASE
  0xba, 0x04, 0xae,
  // 15: in eax, dx               ; 66 ed: slots with a pending removal
  0x66, 0xed,
  // 17: test eax, eax            ; 66 85 /r, modrm 11 000 000
  0x66, 0x85, 0xc0,
  // 1a: jz loop                  ; 74 rel8: nothing pending; 0x08 - 0x1c = -0x14
  0x74, 0xec,
  // 1c: mov dx, 0xae08           ; ba iw: PCI_EJ_BASE
  0xba, 0x08, 0xae,
  // 1f: out dx, eax              ; 66 ef: eject (QEMU takes the lowest set slot)
  0x66, 0xef,
  // 21: jmp loop                 ; eb rel8: 0x08 - 0x23 = -0x1b
  0xeb, 0xe5
]

/**
 * The same guest for q35: ICH9's ACPI PCI hotplug block is at 0x0cc0 (QEMU's
 * `ACPI_PCIHP_ADDR_ICH9`, same register layout), and a device behind a root port sits on the
 * port's bus, which has a `acpi-pcihp-bsel` of its own. So every round selects each bsel from 0
 * to 63 in turn, and ejects whatever is pending there (slot 0 behind a port: bit 0).
 *
 * @since 0.2.0
 */
export const Q35_EJECT_LOOP: ReadonlyArray<number> = [
  // 00: cli; 01: xor ax, ax; 03: mov ss, ax; 05: mov sp, 0x7c00
  0xfa, 0x31, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x7c,
  // loop (08): sti; hlt
  0xfb, 0xf4,
  // 0a: xor ebx, ebx             ; 66 31 /r, modrm 11 011 011: bsel = 0
  0x66, 0x31, 0xdb,
  // inner (0d): mov dx, 0x0cd0   ; BNUM (bus select)
  0xba, 0xd0, 0x0c,
  // 10: mov eax, ebx             ; 66 89 /r, modrm 11 011(ebx) 000(eax)
  0x66, 0x89, 0xd8,
  // 13: out dx, eax              ; select the bus of bsel ebx
  0x66, 0xef,
  // 15: mov dx, 0x0cc4           ; PCI_DOWN_BASE
  0xba, 0xc4, 0x0c,
  // 18: in eax, dx; 1a: test eax, eax
  0x66, 0xed, 0x66, 0x85, 0xc0,
  // 1d: jz next                  ; 0x24 - 0x1f = 5
  0x74, 0x05,
  // 1f: mov dx, 0x0cc8; 22: out dx, eax   ; PCI_EJ_BASE: eject
  0xba, 0xc8, 0x0c, 0x66, 0xef,
  // next (24): inc bx; 25: cmp bx, 64 (83 /7 ib, modrm 11 111 011)
  0x43, 0x83, 0xfb, 0x40,
  // 28: jb inner                 ; 0x0d - 0x2a = -0x1d
  0x72, 0xe3,
  // 2a: jmp loop                 ; 0x08 - 0x2c = -0x24
  0xeb, 0xdc
]

const SECTOR = 512

/**
 * The 512-byte MBR: {@link EJECT_LOOP}, zeros (an empty partition table), then the 0x55 0xAA
 * boot signature SeaBIOS checks before it jumps to 0x7c00.
 *
 * @since 0.1.0
 */
export const ejectBootSector = (code: ReadonlyArray<number> = EJECT_LOOP): Uint8Array => {
  const sector = new Uint8Array(SECTOR)
  sector.set(code, 0)
  sector[SECTOR - 2] = 0x55
  sector[SECTOR - 1] = 0xaa
  return sector
}

/**
 * Writes a raw image of `sizeMiB` MiB (default 1) whose first sector is {@link ejectBootSector}.
 *
 * @since 0.1.0
 */
export const writeEjectGuest = async (path: string, sizeMiB = 1, code: ReadonlyArray<number> = EJECT_LOOP): Promise<string> => {
  const image = new Uint8Array(sizeMiB * 1024 * 1024)
  image.set(ejectBootSector(code), 0)
  await writeFile(path, image)
  return path
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Resumes the VM and waits until the vCPU sits in the eject loop: CS:IP (from HMP `info
 * registers`) inside the boot sector's code at 0x7c00. That is the proof SeaBIOS booted it.
 */
export const bootGuest = async (vm: Vm, timeoutMs = 15_000, code: ReadonlyArray<number> = EJECT_LOOP): Promise<number> => {
  const started = Date.now()
  await vm.qmp.executeOk('cont')
  const status = await vm.qmp.executeOk('query-status')
  if (!(typeof status === 'object' && status !== null && (status as Record<string, unknown>)['running'] === true)) throw new Error(`query-status after cont: ${JSON.stringify(status)}`)
  let last = ''
  while (Date.now() - started < timeoutMs) {
    const regs = await vm.qmp.executeOk('human-monitor-command', { 'command-line': 'info registers' })
    last = typeof regs === 'string' ? regs : JSON.stringify(regs)
    const eip = /EIP=([0-9a-f]+)/i.exec(last)?.[1]
    const cs = /\bCS =([0-9a-f]{4})/i.exec(last)?.[1]
    if (eip !== undefined && cs !== undefined) {
      const linear = Number.parseInt(cs, 16) * 16 + Number.parseInt(eip, 16)
      if (linear >= 0x7c00 && linear < 0x7c00 + code.length) return Date.now() - started
    }
    await sleep(50)
  }
  throw new Error(`the eject guest did not reach its loop within ${timeoutMs} ms; registers:\n${last}\nstderr: ${vm.stderr()}`)
}
