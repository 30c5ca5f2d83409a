/**
 * Planning the machine: its own devices, each at an explicit place (the VGA, the balloon, the
 * USB controller and its tablet or mouse, the virtio-serial bus and the guest agent's port), and
 * its options (CPU, flags, consoles, VNC, confinement), from hvparams and host facts.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { allocateRoleSlot } from '../bus/pci.js'
import { traverseSteps, type BusStep } from '../bus/state.js'
import type { MachineDevice } from '../devices.js'
import type { Driver } from '../devices/catalog.js'
import { pciAddress } from '../bus/address.js'
import { invalidInput, type DevplanError, type FieldError } from '../errors.js'
import type { Hvparams, VgaType } from '../hvparams.js'
import type { Instance } from '../instance.js'
import type { MachineDescription, MachineRole } from './description.js'
import { QGA_CHARDEV, type Confinement, type MachineOptions, type Vnc } from './options.js'

/**
 * Facts of the host the plan needs and cannot know: where QEMU is confined. The planner checks
 * their shape only.
 *
 * @since 0.2.0
 */
export interface HostFacts {
  /** The directory QEMU chroots to under `use_chroot` (Ganeti: `…/kvm-hypervisor/chroot/<name>`). */
  readonly chrootDir: string
  /** The user taken from the cluster's uid pool under `security_model` `pool`. */
  readonly poolUser: string
}

/**
 * No host facts: nothing to confine QEMU with.
 *
 * @since 0.2.0
 */
export const NO_HOST: HostFacts = { chrootDir: '', poolUser: '' }

const VGA_DRIVER: Readonly<Record<Exclude<VgaType, '' | 'none'>, Driver>> = {
  std: 'VGA',
  cirrus: 'cirrus-vga',
  virtio: 'virtio-vga',
  qxl: 'qxl-vga'
}

/** `""` follows Ganeti's QEMU default: a std VGA when there is a display to show it on. */
const vgaDriver = (h: Hvparams): Driver | undefined =>
  h.vga === 'none' || (h.vga === '' && h.vnc_bind_address === '') ? undefined : VGA_DRIVER[h.vga === '' ? 'std' : h.vga]

/** A tablet when VNC is on and no mouse is chosen, as in Ganeti: VNC's pointer is absolute. */
const usbInput = (h: Hvparams): 'usb-tablet' | 'usb-mouse' | undefined =>
  h.usb_mouse === 'mouse' ? 'usb-mouse' : h.usb_mouse === 'tablet' || h.vnc_bind_address !== '' ? 'usb-tablet' : undefined

type Step = BusStep<ReadonlyArray<MachineDevice>>

const onPci =
  (role: MachineRole, driver: Driver, id: string, properties: MachineDevice['properties'] = {}): Step =>
  (s) =>
    pipe(
      allocateRoleSlot(role, id)(s.pci),
      E.map(([slot, pci]) => [[{ kind: 'machine', driver, id, address: pciAddress(pci.bus, slot), properties }], { ...s, pci }] as const)
    )

const fixed = (devices: ReadonlyArray<MachineDevice>): Step => (s) => E.right([devices, s] as const)

const sequence = (steps: ReadonlyArray<Step>): Step => (s0) =>
  pipe(
    traverseSteps(steps, (step) => step)(s0),
    E.map(([groups, s]) => [groups.flat(), s] as const)
  )

/**
 * The devices of the machine, placed. The VGA, balloon and virtio-serial take their role's slot
 * of the machine's description; the USB controller is the one the machine has built in (on pc
 * PIIX3's own function 01.2).
 *
 * @since 0.2.0
 */
export const machineDevices = (h: Hvparams, machine: MachineDescription): Step => {
  const usb = machine.usb
  const vga = vgaDriver(h)
  const input = usbInput(h)
  return sequence([
    ...(vga === undefined ? [] : [onPci('vga', vga, 'vga0')]),
    // Ganeti always adds the balloon; the start plan inflates it to the startup memory.
    onPci('balloon', 'virtio-balloon-pci', 'balloon0'),
    ...(input === undefined
      ? []
      : [
          fixed([
            { kind: 'machine', driver: usb.driver, id: usb.id, address: pciAddress(machine.root.bus, usb.slot, usb.function), properties: {} },
            { kind: 'machine', driver: input, id: input === 'usb-tablet' ? 'tablet0' : 'mouse0', address: { _tag: 'usb', bus: 'usb.0', port: '1' }, properties: {} }
          ])
        ]),
    ...(h.use_guest_agent
      ? [
          onPci('virtioSerial', 'virtio-serial-pci', 'vserial0'),
          fixed([{ kind: 'machine', driver: 'virtserialport', id: 'qga0', address: { _tag: 'virtio-serial', bus: 'vserial0.0', nr: 1 }, properties: { chardev: QGA_CHARDEV, name: 'org.qemu.guest_agent.0' } }])
        ]
      : [])
  ])
}

const isIpv6 = (a: string): boolean => a.includes(':')

const vncOf = (inst: Instance): Vnc | undefined => {
  const h = inst.hvparams
  const bind = h.vnc_bind_address
  if (bind === '') return undefined
  // QEMU accepts TLS and a password on a unix socket too (measured on 7.2); Ganeti drops them
  // there. They are kept: a socket's file mode is the only other guard.
  const tls = !h.vnc_tls ? undefined : h.vnc_x509_path === '' ? ({ _tag: 'anon' } as const) : ({ _tag: 'x509', dir: h.vnc_x509_path, verifyPeer: h.vnc_x509_verify } as const)
  const password = h.vnc_password_file !== ''
  if (bind.startsWith('/')) return { listen: { _tag: 'unix', path: `${bind.replace(/\/+$/, '')}/${inst.name}.vnc` }, password, tls }
  if (inst.network_port < 5900) return { listen: { _tag: 'none' }, password, tls }
  const host = bind === '0.0.0.0' ? '' : isIpv6(bind) ? `[${bind}]` : bind
  return { listen: { _tag: 'inet', host, display: inst.network_port - 5900 }, password, tls }
}

const confinementOf = (h: Hvparams, host: HostFacts): E.Either<ReadonlyArray<FieldError>, Confinement> => {
  const errors: FieldError[] = []
  if (h.use_chroot && host.chrootDir === '') errors.push({ path: 'target.host.chrootDir', value: '', message: 'hvparams.use_chroot needs the directory to confine QEMU to' })
  if (h.security_model === 'pool' && host.poolUser === '') errors.push({ path: 'target.host.poolUser', value: '', message: 'security_model "pool" needs the user taken from the uid pool for this start' })
  if (errors.length > 0) return E.left(errors)
  const user = h.security_model === 'user' ? h.security_domain : h.security_model === 'pool' ? host.poolUser : undefined
  return E.right({ user, chroot: h.use_chroot ? host.chrootDir : undefined })
}

const positive = (n: number): number | undefined => (n > 0 ? n : undefined)

/**
 * The machine options of an instance.
 *
 * @since 0.2.0
 */
export const machineOptions = (inst: Instance, host: HostFacts): E.Either<DevplanError, MachineOptions> => {
  const h = inst.hvparams
  return pipe(
    confinementOf(h, host),
    E.bimap(invalidInput, (confinement): MachineOptions => {
      const sockets = positive(h.cpu_sockets)
      const cores = positive(h.cpu_cores)
      const threads = positive(h.cpu_threads)
      return {
        cpu: h.cpu_type === '' ? undefined : h.cpu_type,
        topology: { ...(sockets === undefined ? {} : { sockets }), ...(cores === undefined ? {} : { cores }), ...(threads === undefined ? {} : { threads }) },
        acpi: h.acpi,
        noReboot: h.reboot_behavior === 'exit',
        memPath: h.mem_path === '' ? undefined : h.mem_path,
        localtime: h.use_localtime,
        keymap: h.keymap === '' ? undefined : h.keymap,
        serial: h.serial_console ? { socket: `${inst.name}.serial` } : undefined,
        guestAgent: h.use_guest_agent ? { socket: `${inst.name}.qga` } : undefined,
        vnc: vncOf(inst),
        confinement
      }
    })
  )
}
