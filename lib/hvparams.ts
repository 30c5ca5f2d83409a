/**
 * hvparams: the hypervisor parameters, with Ganeti's names, spellings and defaults, so that
 * configs and runtime files written by Ganeti decode as they are.
 *
 * @since 0.1.0
 */
import * as t from 'io-ts'
import { absolutePath, closed, intIn, matching, oneOf, text, withDefault } from './codecs.js'
import { showValue } from './errors.js'
import { THROTTLE_HVPARAMS } from './block/throttle.js'
import { MIGRATION_HVPARAMS } from './hvparams-migration.js'
import { modelledPicker } from './hvparams-pick.js'
import { CpuModel, IpVersion, Keymap, SoundhwCodec, SPICE_IMAGE_COMPRESSIONS, SPICE_STREAMING_VIDEOS, SPICE_TLS_CIPHERS_DEFAULT, SPICE_WAN_COMPRESSIONS, SpiceBind, TlsCiphers, UserName, VGA_TYPES, VncBind } from './hvparams-machine.js'

/**
 * `disk_type` values. The `-drive if=` era types are refused with their replacement named.
 *
 * @since 0.1.0
 * @category decode
 */
export const DISK_TYPES = ['paravirtual', 'scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd', 'ide'] as const

/**
 * A `disk_type` value: which frontend a disk gets (see {@link diskDriver}), and so which bus.
 *
 * @since 0.1.0
 * @category decode
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
 * @category decode
 */
export const NIC_TYPES = ['paravirtual', 'e1000', 'i82551', 'i82557b', 'i82559er', 'ne2k_pci', 'pcnet', 'rtl8139', 'ne2k_isa'] as const

/**
 * A `nic_type` value: the NIC model, which is also QEMU's driver name except for `paravirtual`
 * (virtio-net-pci).
 *
 * @since 0.1.0
 * @category decode
 */
export type NicType = (typeof NIC_TYPES)[number]

/**
 * `scsi_controller_type` values: the driver of the one SCSI controller, added when `disk_type`
 * or the CD-ROMs' type is SCSI. Its type bounds how many SCSI devices fit.
 *
 * @since 0.1.0
 * @category decode
 */
export const SCSI_CONTROLLER_TYPES = ['lsi', 'megasas', 'virtio-scsi-pci'] as const

/**
 * A `scsi_controller_type` value, also the controller's QEMU driver name.
 *
 * @since 0.1.0
 * @category decode
 */
export type ScsiControllerType = (typeof SCSI_CONTROLLER_TYPES)[number]

/**
 * `disk_cache` values, Ganeti's names for QEMU's cache modes (`default` is writeback). Under
 * `-blockdev` each splits into the device's `write-cache` and the nodes' `cache.*` options.
 *
 * @since 0.1.0
 * @category decode
 */
export const DISK_CACHES = ['default', 'writeback', 'writethrough', 'none', 'directsync', 'unsafe'] as const

/**
 * A `disk_cache` value. `none` and `directsync` open images with O_DIRECT, which `disk_aio`
 * `native` needs.
 *
 * @since 0.1.0
 * @category decode
 */
export type DiskCache = (typeof DISK_CACHES)[number]

/**
 * `disk_aio` values: how QEMU submits the I/O of local images. `native` needs O_DIRECT (checked
 * on decoding: `disk_cache` none or directsync), `io_uring` QEMU 5.0 (checked on planning).
 *
 * @since 0.1.0
 * @category decode
 */
export const DISK_AIOS = ['threads', 'native', 'io_uring'] as const

/**
 * A `disk_aio` value, set as `aio` on the protocol node of a local file or block device.
 *
 * @since 0.1.0
 * @category decode
 */
export type DiskAio = (typeof DISK_AIOS)[number]

/**
 * `boot_order` values: the first disk, first CD-ROM or first NIC gets `bootindex=1`, while the
 * floppy, which has no bootindex, is chosen with `-boot order=a`. Unused when a kernel is booted.
 *
 * @since 0.1.0
 * @category decode
 */
export const BOOT_ORDERS = ['disk', 'cdrom', 'floppy', 'network'] as const

/**
 * A `boot_order` value. When the instance has no such disk, CD-ROM or NIC, no bootindex is set
 * and the firmware decides.
 *
 * @since 0.1.0
 * @category decode
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
  'cpu_mask', 'usb_devices', 'user_shutdown', 'vnet_hdr', 'cpu_cap', 'cpu_weight',
  // Newer than Ganeti 3.1:
  'virtio_disk_iothreads', 'boot_type'
] as const

const Bool = t.boolean

const modelled = {
  disk_type: withDefault(DiskTypeCodec, 'paravirtual'),
  nic_type: withDefault(oneOf('NicType', NIC_TYPES), 'paravirtual'),
  scsi_controller_type: withDefault(oneOf('ScsiControllerType', SCSI_CONTROLLER_TYPES), 'lsi'),
  kvm_pci_reservations: withDefault(intIn(0, 32), 16),
  // q35 only: free pcie-root-ports after the planned devices' for hot-adds (not Ganeti's: its
  // master until 2026-04 has no q35). 8, Incus's figure; at most 64 (KubeVirt gives 3 to 6).
  kvm_pcie_spare_ports: withDefault(intIn(0, 64), 8),
  disk_cache: withDefault(oneOf('DiskCache', DISK_CACHES), 'default'),
  disk_aio: withDefault(oneOf('DiskAio', DISK_AIOS), 'threads'),
  // `default` is Ganeti 3.0's default (no discard option: QEMU's ignore); 3.1 dropped it.
  disk_discard: withDefault(oneOf('DiskDiscard', ['ignore', 'unmap', 'default'] as const), 'ignore'),
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
  use_chroot: withDefault(Bool, false),
  // This library's, not Ganeti's: each disk's I/O limits (0: none).
  ...THROTTLE_HVPARAMS
}

const ignored = Object.fromEntries(IGNORED_HVPARAMS.map((k) => [k, t.unknown])) as Record<(typeof IGNORED_HVPARAMS)[number], t.UnknownC>

// The migration_* hvparams are checked here too, so that a bad one is named when the instance
// is decoded; migration plans read them with decodeMigrationSettings (they are not Hvparams).
const fullProps: t.Props = { ...modelled, ...ignored, ...MIGRATION_HVPARAMS }
const HvparamsFull = closed(fullProps, 'Hvparams')

/**
 * The hvparams the planner reads, every one filled with its default.
 *
 * @since 0.1.0
 * @category decode
 */
export type Hvparams = { readonly [K in keyof typeof modelled]: t.TypeOf<(typeof modelled)[K]> }

// t.exact strips every key it does not list: what keeps only the modelled hvparams, typed.
const Modelled = t.exact(t.type(modelled))

const pickModelled = (h: Hvparams): Hvparams => Modelled.encode(h)

// Valid input's modelled hvparams in one pass; io-ts's pass (HvparamsFull) words a problem.
const modelledOf = modelledPicker<Hvparams>(fullProps, modelled)

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
    const given = u === undefined ? {} : u
    const fast = modelledOf(given, c)
    if (fast !== undefined) return t.success(fast)
    const r = HvparamsFull.validate(given, c)
    return r._tag === 'Left' ? r : t.success(pickModelled(r.right as Hvparams))
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
