/**
 * The machine beyond its devices, as the plan decides it: CPU model and topology, firmware and
 * clock flags, the serial console and guest-agent sockets, VNC or SPICE, and the confinement
 * QEMU runs in. Planned from hvparams and host facts; rendered as the `machine` section of the
 * argv in the form the target QEMU reads.
 *
 * @since 0.2.0
 */
import type { Audiodev } from './sound.js'

/**
 * Where VNC listens: `-vnc <host>:<display>`, a unix socket, or `none` (a network port below
 * 5900 has no display number).
 *
 * @since 0.2.0
 * @category plan
 */
export type VncListen =
  | { readonly _tag: 'inet'; readonly host: string; readonly display: number }
  | { readonly _tag: 'unix'; readonly path: string }
  | { readonly _tag: 'none' }

/**
 * VNC's TLS: anonymous (`tls-creds-anon`) or with certificates (`tls-creds-x509`).
 *
 * @since 0.2.0
 * @category plan
 */
export type VncTls = { readonly _tag: 'anon' } | { readonly _tag: 'x509'; readonly dir: string; readonly verifyPeer: boolean }

/**
 * The VNC server. The password itself never appears: `password=on` makes QEMU wait for
 * `set_password`, which the start plan sends.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Vnc {
  readonly listen: VncListen
  readonly password: boolean
  readonly tls: VncTls | undefined
}

/**
 * SPICE's TLS: the certificate files as Ganeti keeps them in its data directory (`spice-ca.pem`,
 * and `spice.pem` holding both the key and the certificate), and the cipher list.
 *
 * @since 0.2.0
 * @category plan
 */
export interface SpiceTls {
  readonly caCertFile: string
  readonly certFile: string
  readonly keyFile: string
  /** `tls-ciphers`; `undefined` leaves SPICE's default. */
  readonly ciphers: string | undefined
}

/**
 * The SPICE server. With TLS the port is the TLS port and there is no plain one, as in Ganeti.
 * The password never appears: without `disable-ticketing=on` SPICE refuses every client until
 * the start plan sends `set_password {protocol: spice}`.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Spice {
  /** An IP address: spice_bind, or the host's address of the interface it names. */
  readonly addr: string
  readonly port: number
  readonly tls: SpiceTls | undefined
  /** `ipv4=on` / `ipv6=on`: spice_ip_version, or the family of an interface's address. */
  readonly ipVersion: 4 | 6 | undefined
  readonly password: boolean
  readonly imageCompression: string | undefined
  readonly jpegWanCompression: string | undefined
  readonly zlibGlzWanCompression: string | undefined
  readonly streamingVideo: string | undefined
  readonly playbackCompression: boolean
  /** The vdagent's channel (`-chardev spicevmc`); without it `agent-mouse=off`. */
  readonly vdagent: boolean
}

/**
 * What QEMU runs as: the user it switches to and the directory it chroots to, just before the
 * guest starts.
 *
 * @since 0.2.0
 * @category plan
 */
export interface Confinement {
  readonly user: string | undefined
  readonly chroot: string | undefined
}

/**
 * Everything the machine is apart from its devices.
 *
 * @since 0.2.0
 * @category plan
 */
export interface MachineOptions {
  /** `-cpu`, verbatim from `cpu_type`. */
  readonly cpu: string | undefined
  /** The members of `-smp` given (QEMU computes the others). */
  readonly topology: { readonly sockets?: number; readonly cores?: number; readonly threads?: number }
  readonly acpi: boolean
  /** `reboot_behavior` `exit`: a guest reboot ends QEMU instead. */
  readonly noReboot: boolean
  readonly memPath: string | undefined
  readonly localtime: boolean
  readonly keymap: string | undefined
  /** The serial console's unix socket, by file name in the control directory (`<name>.serial`). */
  readonly serial: { readonly socket: string } | undefined
  /** The guest agent's unix socket, by file name in the control directory (`<name>.qga`). */
  readonly guestAgent: { readonly socket: string } | undefined
  readonly vnc: Vnc | undefined
  readonly spice: Spice | undefined
  /** The sound card's audio backend (`-audiodev`). */
  readonly audio: Audiodev | undefined
  readonly confinement: Confinement
  /** The host's master key file (`target.host.secretMasterKey`), the `keyid` of encrypted secrets. Since 0.3.0. */
  readonly masterKey?: string | undefined
}

/**
 * The id of the serial console's chardev (`query-chardev` lists it).
 *
 * @since 0.2.0
 */
export const SERIAL_CHARDEV = 'serial0'

/**
 * The id of the guest agent's chardev.
 *
 * @since 0.2.0
 */
export const QGA_CHARDEV = 'qga0'

/**
 * The id of the SPICE vdagent's chardev (`spicevmc`, Ganeti's id).
 *
 * @since 0.2.0
 */
export const VDAGENT_CHARDEV = 'spicechannel0'

/**
 * The id of VNC's TLS credentials object.
 *
 * @since 0.2.0
 */
export const VNC_TLS_ID = 'vnctls0'
