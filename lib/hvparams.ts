/**
 * hvparams: the hypervisor parameters, with Ganeti's names, spellings and defaults, so that
 * configs and runtime files written by Ganeti decode as they are.
 *
 * @since 0.1.0
 */
import * as t from 'io-ts'
import { absolutePath, closed, intIn, matching, oneOf, text, withDefault } from './codecs.js'
import { showValue } from './errors.js'
import type { Driver } from './devices/catalog.js'
import { ipFamily, isInterfaceName } from './ip.js'

/**
 * `disk_type` values. The `-drive if=` era types are refused with their replacement named.
 *
 * @since 0.1.0
 */
export const DISK_TYPES = ['paravirtual', 'scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd', 'ide'] as const

/**
 * A `disk_type` value: which frontend a disk gets (see {@link diskDriver}), and so which bus.
 *
 * @since 0.1.0
 */
export type DiskType = (typeof DISK_TYPES)[number]

const RETIRED_DISK_TYPES: Readonly<Record<string, string>> = {
  scsi: 'scsi-hd',
  sd: 'scsi-hd',
  mtd: 'paravirtual',
  pflash: 'paravirtual'
}

const DiskTypeCodec = new t.Type<DiskType, DiskType, unknown>(
  'DiskType',
  (u): u is DiskType => typeof u === 'string' && (DISK_TYPES as readonly string[]).includes(u),
  (u, c) => {
    if (typeof u === 'string' && (DISK_TYPES as readonly string[]).includes(u)) return t.success(u as DiskType)
    const replacement = typeof u === 'string' ? RETIRED_DISK_TYPES[u] : undefined
    return replacement !== undefined
      ? t.failure(u, c, `"${String(u)}" is no longer supported (it needs -drive if=${String(u)}); use "${replacement}"`)
      : t.failure(u, c, `${showValue(u)} is not one of ${DISK_TYPES.map((d) => `"${d}"`).join(', ')}`)
  },
  t.identity
)

/**
 * `nic_type` values: `ne2k_isa` sits on the ISA bus, every other on `pci.0`.
 *
 * @since 0.1.0
 */
export const NIC_TYPES = ['paravirtual', 'e1000', 'i82551', 'i82557b', 'i82559er', 'ne2k_pci', 'pcnet', 'rtl8139', 'ne2k_isa'] as const

/**
 * A `nic_type` value: the NIC model, which is also QEMU's driver name except for `paravirtual`
 * (virtio-net-pci).
 *
 * @since 0.1.0
 */
export type NicType = (typeof NIC_TYPES)[number]

/**
 * `scsi_controller_type` values: the driver of the one SCSI controller, added when `disk_type`
 * or the CD-ROMs' type is SCSI. Its type bounds how many SCSI devices fit.
 *
 * @since 0.1.0
 */
export const SCSI_CONTROLLER_TYPES = ['lsi', 'megasas', 'virtio-scsi-pci'] as const

/**
 * A `scsi_controller_type` value, also the controller's QEMU driver name.
 *
 * @since 0.1.0
 */
export type ScsiControllerType = (typeof SCSI_CONTROLLER_TYPES)[number]

/**
 * `disk_cache` values, Ganeti's names for QEMU's cache modes (`default` is writeback). Under
 * `-blockdev` each splits into the device's `write-cache` and the nodes' `cache.*` options.
 *
 * @since 0.1.0
 */
export const DISK_CACHES = ['default', 'writeback', 'writethrough', 'none', 'directsync', 'unsafe'] as const

/**
 * A `disk_cache` value. `none` and `directsync` open images with O_DIRECT, which `disk_aio`
 * `native` needs.
 *
 * @since 0.1.0
 */
export type DiskCache = (typeof DISK_CACHES)[number]

/**
 * `disk_aio` values: how QEMU submits the I/O of local images. `native` needs O_DIRECT (checked
 * on decoding: `disk_cache` none or directsync), `io_uring` QEMU 5.0 (checked on planning).
 *
 * @since 0.1.0
 */
export const DISK_AIOS = ['threads', 'native', 'io_uring'] as const

/**
 * A `disk_aio` value, set as `aio` on the protocol node of a local file or block device.
 *
 * @since 0.1.0
 */
export type DiskAio = (typeof DISK_AIOS)[number]

/**
 * `boot_order` values: the first disk, first CD-ROM or first NIC gets `bootindex=1`, while the
 * floppy, which has no bootindex, is chosen with `-boot order=a`. Unused when a kernel is booted.
 *
 * @since 0.1.0
 */
export const BOOT_ORDERS = ['disk', 'cdrom', 'floppy', 'network'] as const

/**
 * A `boot_order` value. When the instance has no such disk, CD-ROM or NIC, no bootindex is set
 * and the firmware decides.
 *
 * @since 0.1.0
 */
export type BootOrder = (typeof BOOT_ORDERS)[number]

/**
 * An image path or an http(s) URL (read through QEMU's curl driver), or `""` for none.
 *
 * @since 0.1.0
 */
export const ImageLocation = matching('"" or an absolute path or an http:// or https:// URL', /^(|\/[^\0]*|https?:\/\/[^\s\0]+)$/)
const OptionalPath = matching('"" or an absolute path', /^(|\/[^\0]*)$/)
const MachineVersion = matching('"" or a machine type such as "pc", "pc-i440fx-7.2", "q35"', /^(|[a-z0-9][a-z0-9._-]*)$/)

/**
 * Ganeti KVM hvparams this library does not model: accepted (a Ganeti config carries all of
 * them), and listed in every plan's warnings as `NotModelled` when the input sets them, so
 * nothing is ignored silently. Anything else unknown is refused, so a typo cannot pass for a
 * default.
 *
 * @since 0.1.0
 */
export const IGNORED_HVPARAMS = [
  'cpu_mask', 'migration_bandwidth', 'migration_caps', 'migration_downtime', 'migration_mode', 'migration_port',
  'usb_devices', 'user_shutdown', 'vnet_hdr', 'cpu_cap', 'cpu_weight',
  // Newer than Ganeti 3.1:
  'virtio_disk_iothreads', 'boot_type'
] as const

/**
 * `soundhw` values: the PCI sound cards QEMU has, by their `-audio model=` names, each planned
 * at pc's sound slot. QEMU's ISA cards (`sb16`, `gus`, `cs4231a`, `adlib`) and the PC speaker
 * (`pcspk`) take no PCI slot and are refused by name.
 *
 * @since 0.2.0
 */
export const SOUND_MODELS = ['', 'hda', 'ac97', 'es1370'] as const

/**
 * A `soundhw` value.
 *
 * @since 0.2.0
 */
export type SoundModel = (typeof SOUND_MODELS)[number]

const ISA_SOUND = ['sb16', 'gus', 'cs4231a', 'adlib', 'pcspk']

const SoundhwCodec = new t.Type<SoundModel, SoundModel, unknown>(
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
 */
export const VGA_TYPES = ['', 'std', 'cirrus', 'virtio', 'qxl', 'none'] as const

/**
 * A `vga` value.
 *
 * @since 0.2.0
 */
export type VgaType = (typeof VGA_TYPES)[number]

const Bool = t.boolean
const UserName = matching('"" or a user name such as "qemu-vm1" (letters, digits, "_", "-", "."; not starting with "-")', /^(|[A-Za-z_][A-Za-z0-9_.-]{0,31})$/)
const Keymap = matching('"" or a keymap name such as "en-us" or "de-ch" (a file of /usr/share/qemu/keymaps)', /^(|[a-z]{2,3}(-[a-z]{2,6})?)$/)
// One argv word: QEMU's own grammar (a model, then ,+flag / ,-flag / ,prop=value).
const CpuModel = matching('"" or a CPU model such as "host" or "Skylake-Server,+x2apic" (letters, digits, "_", ".", "-", "+", ",", "=")', /^(|[A-Za-z0-9][A-Za-z0-9_.+=,-]{0,255})$/)
/** An IPv4 or IPv6 address, or a directory for a unix socket; interface names are host facts. */
const VncBind = matching('"" or an IPv4 address, an IPv6 address, or an absolute directory for a unix socket (resolve an interface name to its address first)', /^(|\/[^\0]*|\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)$/)

/**
 * `spice_image_compression` values (Ganeti's `HT_KVM_SPICE_VALID_LOSSLESS_IMG_COMPR_OPTIONS`,
 * QEMU's `image-compression`); `""` leaves QEMU's default.
 *
 * @since 0.2.0
 */
export const SPICE_IMAGE_COMPRESSIONS = ['', 'auto_glz', 'auto_lz', 'glz', 'lz', 'off', 'quic'] as const

/**
 * `spice_jpeg_wan_compression` and `spice_zlib_glz_wan_compression` values; `""` leaves QEMU's
 * default.
 *
 * @since 0.2.0
 */
export const SPICE_WAN_COMPRESSIONS = ['', 'always', 'auto', 'never'] as const

/**
 * `spice_streaming_video` values; `""` leaves QEMU's default.
 *
 * @since 0.2.0
 */
export const SPICE_STREAMING_VIDEOS = ['', 'all', 'filter', 'off'] as const

/**
 * Ganeti's `spice_tls_ciphers` default (`opensslCiphers`).
 *
 * @since 0.2.0
 */
export const SPICE_TLS_CIPHERS_DEFAULT = 'HIGH:-DES:-3DES:-EXPORT:-DH'

/**
 * `spice_bind`: an address, or an interface name, whose address is a host fact
 * (`target.host.interfaces`) the planner looks up.
 */
const SpiceBind = new t.Type<string, string, unknown>(
  'SpiceBind',
  (u): u is string => typeof u === 'string' && (u === '' || ipFamily(u) !== undefined || isInterfaceName(u)),
  (u, c) =>
    typeof u === 'string' && (u === '' || ipFamily(u) !== undefined || isInterfaceName(u))
      ? t.success(u)
      : t.failure(u, c, 'expected "" or an IPv4 address, an IPv6 address, or a network interface name (its address comes from target.host.interfaces)'),
  t.identity
)

/** Ganeti's `IFACE_NO_IP_VERSION_SPECIFIED` (0), or an IP version. */
const IpVersion = new t.Type<0 | 4 | 6, 0 | 4 | 6, unknown>(
  'IpVersion',
  (u): u is 0 | 4 | 6 => u === 0 || u === 4 || u === 6,
  (u, c) => (u === 0 || u === 4 || u === 6 ? t.success(u) : t.failure(u, c, 'expected 0 (either), 4 or 6')),
  t.identity
)

// OpenSSL's cipher-list grammar: names, `:`/`,`/` ` between them, `!+-@=` operators.
const TlsCiphers = matching('"" or an OpenSSL cipher list such as "HIGH:-DES:-3DES:-EXPORT:-DH"', /^[A-Za-z0-9:+!@=_., -]*$/)

const modelled = {
  disk_type: withDefault(DiskTypeCodec, 'paravirtual'),
  nic_type: withDefault(oneOf('NicType', NIC_TYPES), 'paravirtual'),
  scsi_controller_type: withDefault(oneOf('ScsiControllerType', SCSI_CONTROLLER_TYPES), 'lsi'),
  kvm_pci_reservations: withDefault(intIn(0, 32), 16),
  disk_cache: withDefault(oneOf('DiskCache', DISK_CACHES), 'default'),
  disk_aio: withDefault(oneOf('DiskAio', DISK_AIOS), 'threads'),
  disk_discard: withDefault(oneOf('DiskDiscard', ['ignore', 'unmap'] as const), 'ignore'),
  cdrom_image_path: withDefault(ImageLocation, ''),
  cdrom2_image_path: withDefault(ImageLocation, ''),
  cdrom_disk_type: withDefault(oneOf('CdromDiskType', ['', ...DISK_TYPES] as const), ''),
  floppy_image_path: withDefault(OptionalPath, ''),
  boot_order: withDefault(oneOf('BootOrder', BOOT_ORDERS), 'disk'),
  kernel_path: withDefault(OptionalPath, ''),
  initrd_path: withDefault(OptionalPath, ''),
  root_path: withDefault(text, ''),
  kernel_args: withDefault(text, ''),
  machine_version: withDefault(MachineVersion, ''),
  kvm_extra: withDefault(text, ''),
  kvm_path: withDefault(absolutePath, '/usr/bin/kvm'),
  kvm_flag: withDefault(oneOf('KvmFlag', ['', 'enabled', 'disabled'] as const), ''),
  vhost_net: withDefault(t.boolean, false),
  virtio_net_queues: withDefault(intIn(1, 8), 1),
  // The rest of the machine (Ganeti 3.1.1's names and defaults).
  acpi: withDefault(Bool, true),
  reboot_behavior: withDefault(oneOf('RebootBehavior', ['reboot', 'exit'] as const), 'reboot'),
  mem_path: withDefault(OptionalPath, ''),
  use_localtime: withDefault(Bool, false),
  keymap: withDefault(Keymap, ''),
  cpu_type: withDefault(CpuModel, ''),
  cpu_cores: withDefault(intIn(0, 255), 0),
  cpu_threads: withDefault(intIn(0, 255), 0),
  cpu_sockets: withDefault(intIn(0, 255), 0),
  serial_console: withDefault(Bool, true),
  serial_speed: withDefault(intIn(50, 4_000_000), 38400),
  vga: withDefault(oneOf('Vga', VGA_TYPES), ''),
  soundhw: withDefault(SoundhwCodec, ''),
  usb_mouse: withDefault(oneOf('UsbMouse', ['', 'mouse', 'tablet'] as const), ''),
  use_guest_agent: withDefault(Bool, false),
  vnc_bind_address: withDefault(VncBind, ''),
  vnc_tls: withDefault(Bool, false),
  vnc_x509_path: withDefault(OptionalPath, ''),
  vnc_x509_verify: withDefault(Bool, false),
  vnc_password_file: withDefault(OptionalPath, ''),
  spice_bind: withDefault(SpiceBind, ''),
  spice_ip_version: withDefault(IpVersion, 0),
  spice_password_file: withDefault(OptionalPath, ''),
  spice_image_compression: withDefault(oneOf('SpiceImageCompression', SPICE_IMAGE_COMPRESSIONS), ''),
  spice_jpeg_wan_compression: withDefault(oneOf('SpiceWanCompression', SPICE_WAN_COMPRESSIONS), ''),
  spice_zlib_glz_wan_compression: withDefault(oneOf('SpiceWanCompression', SPICE_WAN_COMPRESSIONS), ''),
  spice_streaming_video: withDefault(oneOf('SpiceStreamingVideo', SPICE_STREAMING_VIDEOS), ''),
  spice_playback_compression: withDefault(Bool, true),
  spice_use_tls: withDefault(Bool, false),
  spice_tls_ciphers: withDefault(TlsCiphers, SPICE_TLS_CIPHERS_DEFAULT),
  spice_use_vdagent: withDefault(Bool, true),
  security_model: withDefault(oneOf('SecurityModel', ['none', 'user', 'pool'] as const), 'none'),
  security_domain: withDefault(UserName, ''),
  use_chroot: withDefault(Bool, false)
}

const ignored = Object.fromEntries(IGNORED_HVPARAMS.map((k) => [k, t.unknown])) as Record<(typeof IGNORED_HVPARAMS)[number], t.UnknownC>

const HvparamsFull = closed({ ...modelled, ...ignored }, 'Hvparams')

/**
 * The hvparams the planner reads, every one filled with its default.
 *
 * @since 0.1.0
 */
export type Hvparams = { readonly [K in keyof typeof modelled]: t.TypeOf<(typeof modelled)[K]> }

// t.exact strips every key it does not list: what keeps only the modelled hvparams, typed.
const Modelled = t.exact(t.type(modelled))

const pickModelled = (h: Hvparams): Hvparams => Modelled.encode(h)

/**
 * io-ts codec for hvparams: decodes a Ganeti hvparams dict (missing keys take Ganeti's
 * defaults) and keeps the modelled keys.
 *
 * @since 0.1.0
 */
export const HvparamsCodec = new t.Type<Hvparams, Hvparams, unknown>(
  'Hvparams',
  (u): u is Hvparams => HvparamsFull.is(u),
  (u, c) => {
    const r = HvparamsFull.validate(u === undefined ? {} : u, c)
    return r._tag === 'Left' ? r : t.success(pickModelled(r.right))
  },
  t.identity
)

const HvparamsOpen = t.type(modelled, 'Hvparams')

/**
 * Like {@link HvparamsCodec} but accepting keys it does not know: for hvparams stored in runtime
 * files, which carry every hvparam of the Ganeti version that wrote them.
 *
 * @since 0.1.0
 */
export const HvparamsLenientCodec = new t.Type<Hvparams, Hvparams, unknown>(
  'Hvparams',
  (u): u is Hvparams => HvparamsOpen.is(u),
  (u, c) => {
    const r = Modelled.validate(u === undefined ? {} : u, c)
    return r._tag === 'Left' ? r : t.success(r.right)
  },
  t.identity
)

/**
 * The frontend driver a disk_type means for a disk.
 *
 * @since 0.1.0
 */
export const diskDriver = (type: DiskType): Driver => (type === 'paravirtual' ? 'virtio-blk-pci' : type === 'ide' ? 'ide-hd' : type)

/**
 * The frontend driver for a CD-ROM: DOMAIN §1's mapping of a disk_type to a CD device.
 *
 * @since 0.1.0
 */
export const cdromDriver = (type: DiskType): Driver =>
  type === 'paravirtual' ? 'virtio-blk-pci' : type === 'ide' ? 'ide-cd' : 'scsi-cd'

/**
 * The CD-ROM driver these hvparams give: `cdrom_disk_type`, or `disk_type` when it is empty.
 *
 * @since 0.1.0
 */
export const cdromDriverOf = (h: { readonly cdrom_disk_type: '' | DiskType; readonly disk_type: DiskType }): Driver =>
  cdromDriver(h.cdrom_disk_type === '' ? h.disk_type : h.cdrom_disk_type)

/**
 * The frontend driver a nic_type means.
 *
 * @since 0.1.0
 */
export const nicDriver = (type: NicType): Driver => (type === 'paravirtual' ? 'virtio-net-pci' : type)
