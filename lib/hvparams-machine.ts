/**
 * The values of the hvparams that shape the rest of the machine (display, sound, SPICE, CPU,
 * confinement), with their codecs: the lists callers may offer, and the shapes host facts must
 * have. The hvparams codec composes them.
 *
 * @since 0.2.0
 */
import * as t from 'io-ts'
import { matching } from './codecs.js'
import { showValue } from './errors.js'
import { ipFamily, isInterfaceName } from './ip.js'

/**
 * `soundhw` values: the PCI sound cards QEMU has, by their `-audio model=` names, each planned
 * at pc's sound slot. QEMU's ISA cards (`sb16`, `gus`, `cs4231a`, `adlib`) and the PC speaker
 * (`pcspk`) take no PCI slot and are refused by name.
 *
 * @since 0.2.0
 * @category decode
 */
export const SOUND_MODELS = ['', 'hda', 'ac97', 'es1370'] as const

/**
 * A `soundhw` value.
 *
 * @since 0.2.0
 * @category decode
 */
export type SoundModel = (typeof SOUND_MODELS)[number]

const ISA_SOUND = ['sb16', 'gus', 'cs4231a', 'adlib', 'pcspk']

export const SoundhwCodec = new t.Type<SoundModel, SoundModel, unknown>(
  'Soundhw',
  (u): u is SoundModel => typeof u === 'string' && (SOUND_MODELS as readonly string[]).includes(u),
  (u, c) => {
    const found = SOUND_MODELS.find((m) => m === u)
    if (found !== undefined) return t.success(found)
    return typeof u === 'string' && ISA_SOUND.includes(u)
      ? t.failure(u, c, `"${u}" is an ISA sound device, which takes no PCI slot and is not planned; use "hda", "ac97" or "es1370"`)
      : t.failure(u, c, `${showValue(u)} is not one of ${SOUND_MODELS.map((m) => JSON.stringify(m)).join(', ')}`)
  },
  t.identity
)

/**
 * `vga` values: QEMU's `-vga` names, each planned as its `-device` at pc's VGA slot. `""` gives
 * std VGA when VNC is on, qxl when SPICE is (as Ganeti), and no display otherwise; `none` never
 * one.
 *
 * @since 0.2.0
 * @category decode
 */
export const VGA_TYPES = ['', 'std', 'cirrus', 'virtio', 'qxl', 'none'] as const

/**
 * A `vga` value.
 *
 * @since 0.2.0
 * @category decode
 */
export type VgaType = (typeof VGA_TYPES)[number]

export const UserName = matching('"" or a user name such as "qemu-vm1" (letters, digits, "_", "-", "."; not starting with "-")', /^(|[A-Za-z_][A-Za-z0-9_.-]{0,31})$/)
export const Keymap = matching('"" or a keymap name such as "en-us" or "de-ch" (a file of /usr/share/qemu/keymaps)', /^(|[a-z]{2,3}(-[a-z]{2,6})?)$/)
// One argv word: QEMU's own grammar (a model, then ,+flag / ,-flag / ,prop=value).
export const CpuModel = matching('"" or a CPU model such as "host" or "Skylake-Server,+x2apic" (letters, digits, "_", ".", "-", "+", ",", "=")', /^(|[A-Za-z0-9][A-Za-z0-9_.+=,-]{0,255})$/)
/** An IPv4 or IPv6 address, or a directory for a unix socket; interface names are host facts. */
export const VncBind = matching('"" or an IPv4 address, an IPv6 address, or an absolute directory for a unix socket (resolve an interface name to its address first)', /^(|\/[^\0]*|\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/)

/**
 * `spice_image_compression` values (Ganeti's `HT_KVM_SPICE_VALID_LOSSLESS_IMG_COMPR_OPTIONS`,
 * QEMU's `image-compression`); `""` leaves QEMU's default.
 *
 * @since 0.2.0
 * @category decode
 */
export const SPICE_IMAGE_COMPRESSIONS = ['', 'auto_glz', 'auto_lz', 'glz', 'lz', 'off', 'quic'] as const

/**
 * `spice_jpeg_wan_compression` and `spice_zlib_glz_wan_compression` values; `""` leaves QEMU's
 * default.
 *
 * @since 0.2.0
 * @category decode
 */
export const SPICE_WAN_COMPRESSIONS = ['', 'always', 'auto', 'never'] as const

/**
 * `spice_streaming_video` values; `""` leaves QEMU's default.
 *
 * @since 0.2.0
 * @category decode
 */
export const SPICE_STREAMING_VIDEOS = ['', 'all', 'filter', 'off'] as const

/**
 * Ganeti's `spice_tls_ciphers` default (`opensslCiphers`).
 *
 * @since 0.2.0
 * @category decode
 */
export const SPICE_TLS_CIPHERS_DEFAULT = 'HIGH:-DES:-3DES:-EXPORT:-DH'

/**
 * `spice_bind`: an address, or an interface name, whose address is a host fact
 * (`target.host.interfaces`) the planner looks up.
 */
export const SpiceBind = new t.Type<string, string, unknown>(
  'SpiceBind',
  (u): u is string => typeof u === 'string' && (u === '' || ipFamily(u) !== undefined || isInterfaceName(u)),
  (u, c) =>
    typeof u === 'string' && (u === '' || ipFamily(u) !== undefined || isInterfaceName(u))
      ? t.success(u)
      : t.failure(u, c, 'expected "" or an IPv4 address, an IPv6 address, or a network interface name (its address comes from target.host.interfaces)'),
  t.identity
)

/** Ganeti's `IFACE_NO_IP_VERSION_SPECIFIED` (0), or an IP version. */
export const IpVersion = new t.Type<0 | 4 | 6, 0 | 4 | 6, unknown>(
  'IpVersion',
  (u): u is 0 | 4 | 6 => u === 0 || u === 4 || u === 6,
  (u, c) => (u === 0 || u === 4 || u === 6 ? t.success(u) : t.failure(u, c, 'expected 0 (either), 4 or 6')),
  t.identity
)

// OpenSSL's cipher-list grammar: names, `:`/`,`/` ` between them, `!+-@=` operators.
export const TlsCiphers = matching('"" or an OpenSSL cipher list such as "HIGH:-DES:-3DES:-EXPORT:-DH"', /^[A-Za-z0-9:+!@=_., -]*$/)

