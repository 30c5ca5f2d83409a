/**
 * Planning the machine: its own devices, each at an explicit place (the VGA, the balloon, the
 * USB controller and its tablet or mouse, the virtio-serial bus with the guest agent's and the
 * SPICE vdagent's ports), and its options (CPU, flags, consoles, VNC or SPICE, confinement),
 * from hvparams and host facts.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { MachineDevice } from '../devices.js'
import type { Driver } from '../devices/catalog.js'
import { pciAddress } from '../bus/address.js'
import { invalidInput, type DevplanError, type FieldError } from '../errors.js'
import type { Hvparams } from '../hvparams.js'
import type { VgaType } from '../hvparams-machine.js'
import type { Instance } from '../instance.js'
import type { MachineDescription } from './description.js'
import { fixed, none, onRoleSlot, sequence, type MachineBuilder, type MachineStep } from './step.js'
import { audiodevOf, sound } from './sound.js'
import { ipFamily } from '../ip.js'
import { QGA_CHARDEV, VDAGENT_CHARDEV, type Confinement, type MachineOptions, type Spice, type Vnc } from './options.js'

/**
 * Facts of the host the plan needs and cannot know: where QEMU is confined, where SPICE's
 * certificates are, which address an interface has. The planner checks their shape only.
 *
 * @since 0.2.0
 * @category plan
 */
export interface HostFacts {
  /** The directory QEMU chroots to under `use_chroot` (Ganeti: `…/kvm-hypervisor/chroot/<name>`). */
  readonly chrootDir: string
  /** The user taken from the cluster's uid pool under `security_model` `pool`. */
  readonly poolUser: string
  /**
   * The directory of SPICE's certificates under `spice_use_tls`, with Ganeti's file names:
   * `spice-ca.pem`, and `spice.pem` holding the key and the certificate (Ganeti: `/var/lib/ganeti`).
   */
  readonly spiceCertDir?: string
  /**
   * Interface name → the address SPICE binds to when `spice_bind` names that interface. Ganeti
   * takes the first address of `spice_ip_version`'s family (of the cluster's primary family
   * when it is 0 and the interface has both) on the node; the caller does the same.
   */
  readonly interfaces?: Readonly<Record<string, string>>
  /**
   * The file of the host's 32-byte master key (raw), rendered once as `-object secret` with id
   * `devplan-master-key`: the key under which the caller encrypted every secret it gives as
   * `data` with an `iv` (libvirt's scheme). Since 0.3.0.
   */
  readonly secretMasterKey?: string
}

/**
 * No host facts: nothing to confine QEMU with, no SPICE certificates, no interfaces.
 *
 * @since 0.2.0
 */
export const NO_HOST: Required<HostFacts> = { chrootDir: '', poolUser: '', spiceCertDir: '', interfaces: {}, secretMasterKey: '' }

const VGA_DRIVER: Readonly<Record<Exclude<VgaType, '' | 'none'>, Driver>> = {
  std: 'VGA',
  cirrus: 'cirrus-vga',
  virtio: 'virtio-vga',
  qxl: 'qxl-vga'
}

const spiceOn = (h: Hvparams): boolean => h.spice_bind !== ''

const vdagentOn = (h: Hvparams): boolean => spiceOn(h) && h.spice_use_vdagent

/**
 * `""` follows Ganeti: qxl with SPICE (its `-vga qxl`), QEMU's std VGA when VNC is on, else none.
 * A `vga` that is set wins over SPICE's qxl, as in Ganeti.
 */
const vgaDriver = (h: Hvparams): Driver | undefined =>
  h.vga === 'none'
    ? undefined
    : h.vga !== ''
      ? VGA_DRIVER[h.vga]
      : spiceOn(h)
        ? VGA_DRIVER.qxl
        : h.vnc_bind_address !== ''
          ? VGA_DRIVER.std
          : undefined

/** A tablet when VNC is on and no mouse is chosen, as in Ganeti: VNC's pointer is absolute. */
const usbInput = (h: Hvparams): 'usb-tablet' | 'usb-mouse' | undefined =>
  h.usb_mouse === 'mouse' ? 'usb-mouse' : h.usb_mouse === 'tablet' || h.vnc_bind_address !== '' ? 'usb-tablet' : undefined

const serialPort = (id: string, nr: number, chardev: string, name: string): MachineDevice => ({
  kind: 'machine',
  driver: 'virtserialport',
  id,
  address: { _tag: 'port', kind: 'virtio-serial', bus: 'vserial0.0', port: nr },
  properties: { chardev, name }
})

const vga: MachineBuilder = (h) => {
  const driver = vgaDriver(h)
  return driver === undefined ? none : onRoleSlot('vga', driver, 'vga0')
}

// Ganeti always adds the balloon; the start plan inflates it to the startup memory.
const balloonDevice: MachineBuilder = () => onRoleSlot('balloon', 'virtio-balloon-pci', 'balloon0')

const usbInputs: MachineBuilder = (h, machine) => {
  const input = usbInput(h)
  const usb = machine.usb
  return input === undefined
    ? none
    : fixed([
        { kind: 'machine', driver: usb.driver, id: usb.id, address: pciAddress(machine.root.bus, usb.slot, usb.function), properties: {} },
        { kind: 'machine', driver: input, id: input === 'usb-tablet' ? 'tablet0' : 'mouse0', address: { _tag: 'port', kind: 'usb', bus: 'usb.0', port: 1 }, properties: {} }
      ])
}

const agents: MachineBuilder = (h) => {
  // Fixed port numbers (0 is QEMU's, kept for virtconsole): turning one agent on or off never
  // renumbers the other.
  const ports = [
    ...(h.use_guest_agent ? [serialPort('qga0', 1, QGA_CHARDEV, 'org.qemu.guest_agent.0')] : []),
    ...(vdagentOn(h) ? [serialPort('vdagent0', 2, VDAGENT_CHARDEV, 'com.redhat.spice.0')] : [])
  ]
  return ports.length === 0 ? none : sequence([onRoleSlot('virtioSerial', 'virtio-serial-pci', 'vserial0'), fixed(ports)])
}

/**
 * The builders of the machine's devices, in command-line order. A new kind of device is one
 * builder here (and its drivers in the catalog).
 *
 * @since 0.2.0
 */
export const MACHINE_BUILDERS: ReadonlyArray<MachineBuilder> = [vga, balloonDevice, usbInputs, agents, sound]

/**
 * The devices of the machine, placed. The VGA, balloon and virtio-serial take their role's slot
 * of the machine's description; the USB controller is the one the machine has built in (on pc
 * PIIX3's own function 01.2). The guest agent and the SPICE vdagent share one virtio-serial bus,
 * each on a port number of its own.
 *
 * @since 0.2.0
 */
export const machineDevices = (h: Hvparams, machine: MachineDescription): MachineStep => sequence(MACHINE_BUILDERS.map((build) => build(h, machine)))

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

const orNone = (s: string): string | undefined => (s === '' ? undefined : s)

const spiceOf = (inst: Instance, host: HostFacts): E.Either<ReadonlyArray<FieldError>, Spice | undefined> => {
  const h = inst.hvparams
  const bind = h.spice_bind
  if (bind === '') return E.right(undefined)
  const errors: FieldError[] = []
  const bindFamily = ipFamily(bind)
  // Ganeti resolves an interface on the node when it builds the command (a FIXME in its code).
  const interfaces = host.interfaces ?? {}
  // Own keys only: "constructor" is no interface of the host's.
  const addr = bindFamily !== undefined ? bind : Object.hasOwn(interfaces, bind) ? interfaces[bind] : undefined
  const family = addr === undefined ? undefined : ipFamily(addr)
  if (addr === undefined) errors.push({ path: 'hvparams.spice_bind', value: bind, message: 'names an interface: target.host.interfaces must give its address' })
  else if (family === undefined) errors.push({ path: `target.host.interfaces.${bind}`, value: addr, message: 'expected an IPv4 or IPv6 address' })
  else if (bindFamily === undefined && h.spice_ip_version !== 0 && family !== h.spice_ip_version) {
    errors.push({ path: 'hvparams.spice_ip_version', value: h.spice_ip_version, message: `interface ${bind} has the address ${addr} in target.host.interfaces, an IPv${family} address` })
  }
  const certDir = host.spiceCertDir ?? ''
  if (h.spice_use_tls && certDir === '') errors.push({ path: 'target.host.spiceCertDir', value: '', message: 'hvparams.spice_use_tls needs the directory holding spice.pem and spice-ca.pem (Ganeti: /var/lib/ganeti)' })
  if (errors.length > 0 || addr === undefined) return E.left(errors)
  const dir = certDir.replace(/\/+$/, '')
  return E.right({
    addr,
    port: inst.network_port,
    tls: h.spice_use_tls ? { caCertFile: `${dir}/spice-ca.pem`, certFile: `${dir}/spice.pem`, keyFile: `${dir}/spice.pem`, ciphers: orNone(h.spice_tls_ciphers) } : undefined,
    // An interface's family is always said, as Ganeti does; an address's only when given.
    ipVersion: bindFamily === undefined ? family : h.spice_ip_version === 0 ? undefined : h.spice_ip_version,
    password: h.spice_password_file !== '',
    imageCompression: orNone(h.spice_image_compression),
    jpegWanCompression: orNone(h.spice_jpeg_wan_compression),
    zlibGlzWanCompression: orNone(h.spice_zlib_glz_wan_compression),
    streamingVideo: orNone(h.spice_streaming_video),
    playbackCompression: h.spice_playback_compression,
    vdagent: vdagentOn(h)
  })
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

/** An encrypted secret is useless without the key it was encrypted under: the host must say where it is. */
const masterKeyErrors = (inst: Instance, host: HostFacts): ReadonlyArray<FieldError> => {
  const encrypted = inst.disks.findIndex((d) => d.source._tag === 'remote' && (d.source.objects ?? []).some((o) => o['qom-type'] === 'secret' && 'data' in o))
  if (encrypted < 0 || (host.secretMasterKey ?? '') !== '') return []
  return [{ path: 'target.host.secretMasterKey', value: '', message: `disks[${encrypted}] gives a secret as encrypted data: say where the host's master key file is (its -object secret has id "devplan-master-key")` }]
}

/**
 * The machine options of an instance.
 *
 * @since 0.2.0
 */
export const machineOptions = (inst: Instance, host: HostFacts): E.Either<DevplanError, MachineOptions> => {
  const h = inst.hvparams
  const confined = confinementOf(h, host)
  const spiced = spiceOf(inst, host)
  const keyed = masterKeyErrors(inst, host)
  return pipe(
    E.isLeft(confined) || E.isLeft(spiced) || keyed.length > 0
      ? E.left([...(E.isLeft(confined) ? confined.left : []), ...(E.isLeft(spiced) ? spiced.left : []), ...keyed])
      : E.right({ confinement: confined.right, spice: spiced.right }),
    E.bimap(invalidInput, ({ confinement, spice }): MachineOptions => {
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
        spice,
        audio: audiodevOf(h),
        confinement,
        masterKey: host.secretMasterKey === undefined || host.secretMasterKey === '' ? undefined : host.secretMasterKey
      }
    })
  )
}
