/**
 * Ganeti 3.0.2's own hv_kvm as a judge: the instances to ask it about, the call of judge.py, and
 * the library's answers to the same questions. The comparison itself, and the list of known
 * differences, are in judge.spec.ts; spec/qemu/ganeti-judge.spec.ts starts a sample on real QEMU.
 *
 * Ganeti is unpacked by scripts/ganeti-judge.sh into GANETI_JUDGE_PREFIX (default
 * /opt/qemu-devplan/ganeti-3.0.2) and run by Debian's /usr/bin/python3, which has the modules it
 * imports (python3-simplejson, python3-bitarray, python3-openssl).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  encodeHvinfo,
  formatError,
  parseRuntime,
  planDevices,
  planHotAdd,
  runtimeArgv,
  upgradeRuntime,
  type DeviceTree,
  type DevplanError,
  type Disk,
  type HotAddRequest,
  type JsonObject,
  type Nic,
  type QmpPlan,
  type NicBackend,
  type QemuVersion,
  type Runtime
} from '../../lib/index.js'
import type { Json, JsonObj } from '../support/fixtures.js'

export const GANETI_PREFIX = process.env['GANETI_JUDGE_PREFIX'] ?? '/opt/qemu-devplan/ganeti-3.0.2'
export const GANETI_PYTHONPATH = join(GANETI_PREFIX, 'usr/share/ganeti/3.0')
const PYTHON = '/usr/bin/python3'
const JUDGE = join(dirname(fileURLToPath(import.meta.url)), 'judge.py')

/** Why Ganeti cannot judge here, or undefined when it can. */
export const ganetiMissing = (): string | undefined =>
  !existsSync(PYTHON)
    ? `${PYTHON} not found`
    : !existsSync(join(GANETI_PYTHONPATH, 'ganeti/hypervisor/hv_kvm/__init__.py'))
      ? `Ganeti 3.0.2 not unpacked in ${GANETI_PREFIX} (run: bash scripts/ganeti-judge.sh ${GANETI_PREFIX})`
      : undefined

// ---------------------------------------------------------------------------------------------
// The instances

/** One disk as Ganeti's backend hands it to hv_kvm: the config object, its link, its uri. */
export interface DiskDesc {
  readonly uuid: string
  readonly dev_type: string
  readonly link: string
  readonly uri: string | null
  readonly access?: 'userspace' | 'kernelspace'
}

export interface NicDesc {
  readonly uuid: string
  readonly mac: string
}

/** What judge.py reads for one instance (hvparams over Ganeti's own defaults). */
export interface Desc {
  readonly name: string
  readonly uuid: string
  readonly network_port: number
  readonly beparams: { readonly maxmem: number; readonly vcpus: number }
  readonly hvparams: JsonObj
  readonly disks: ReadonlyArray<DiskDesc>
  readonly nics: ReadonlyArray<NicDesc>
  readonly hotadd: { readonly disk: DiskDesc; readonly nic: NicDesc }
}

/** Ganeti's disk templates; the shared ones (DTS_EXT_MIRROR) are blockdev, ext, gluster, rbd, sharedfile. */
export const TEMPLATES = ['plain', 'drbd', 'file', 'sharedfile', 'blockdev', 'rbd', 'ext', 'gluster'] as const
/** Templates whose link is a file (a file, or a file on a FUSE mount), not a block device. */
export const FILE_TEMPLATES: ReadonlySet<string> = new Set(['file', 'sharedfile', 'gluster'])

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0')
const uuidOf = (kind: number, inst: number, i: number): string => `${hex(kind, 1)}${hex(inst, 7)}-${hex(i, 4)}-4000-8000-${hex(inst * 64 + i, 12)}`

/**
 * The link and uri Ganeti's backend gives a disk: kernelspace, the symlink it makes in
 * `/var/run/ganeti/instance-disks/<instance>:<index>` and no uri; userspace (rbd, gluster), the
 * URI QEMU opens itself.
 */
const diskDesc = (name: string, uuid: string, template: string, index: number, userspace: boolean): DiskDesc => {
  const link = `/var/run/ganeti/instance-disks/${name}:${index}`
  if (userspace && template === 'rbd') return { uuid, dev_type: template, link, uri: `rbd:rbd/${uuid}.rbd.disk${index}`, access: 'userspace' }
  if (userspace && template === 'gluster') return { uuid, dev_type: template, link, uri: `gluster://127.0.0.1:24007/gv0/ganeti/${name}/disk${index}`, access: 'userspace' }
  return { uuid, dev_type: template, link, uri: null }
}

// A directory (a unix socket) is left out: Ganeti 3.0.2 passes it to netutils.IsValidInterface,
// which raises "path joining resulted in different prefix" and the instance never starts.
const VNC = ['', '', '127.0.0.1', '0.0.0.0', '::1'] as const

/**
 * The hvparams Ganeti's hv_kvm reads, each over its Ganeti values, weighted toward Ganeti's
 * defaults so that most instances are ordinary. Only combinations Ganeti's own
 * CheckParameterSyntax accepts (judge.spec.ts checks that it accepted every one).
 */
const descArb = (index: number): fc.Arbitrary<Desc> =>
  fc
    .record({
      disk_type: fc.constantFrom('paravirtual', 'paravirtual', 'scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd', 'ide'),
      nic_type: fc.constantFrom('paravirtual', 'paravirtual', 'e1000', 'i82551', 'i82557b', 'i82559er', 'ne2k_pci', 'pcnet', 'rtl8139', 'ne2k_isa'),
      reservations: fc.oneof({ weight: 3, arbitrary: fc.constant(12) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 20 }) }),
      scsi_controller_type: fc.constantFrom('lsi', 'megasas', 'virtio-scsi-pci'),
      disk_cache: fc.constantFrom('default', 'default', 'writeback', 'writethrough', 'none'),
      native: fc.boolean(),
      disk_discard: fc.constantFrom('default', 'default', 'ignore', 'unmap'),
      vhost_net: fc.boolean(),
      queues: fc.constantFrom(1, 1, 2, 4),
      cdrom: fc.constantFrom('', '', '/srv/iso/install.iso', 'https://mirror.example.org/install.iso'),
      cdrom2: fc.constantFrom('', '', '/srv/iso/drivers.iso'),
      cdrom_disk_type: fc.constantFrom('', '', 'ide', 'paravirtual', 'scsi-cd'),
      floppy: fc.constantFrom('', '', '/srv/floppy.img'),
      kernel: fc.constantFrom('', '', '/boot/vmlinuz-3-kvmU'),
      initrd: fc.constantFrom('', '', '/boot/initrd.img-3-kvmU'),
      boot_order: fc.constantFrom('disk', 'disk', 'cdrom', 'floppy', 'network'),
      use_chroot: fc.boolean(),
      security_user: fc.boolean(),
      serial_console: fc.boolean(),
      vnc: fc.constantFrom(...VNC),
      usb_mouse: fc.constantFrom('', '', 'mouse', 'tablet'),
      use_guest_agent: fc.boolean(),
      machine_version: fc.constantFrom('', '', 'pc', 'pc-i440fx-7.2', 'pc-i440fx-6.2'),
      acpi: fc.constantFrom(true, true, false),
      disks: fc.array(fc.record({ template: fc.constantFrom(...TEMPLATES), userspace: fc.boolean() }), { minLength: 0, maxLength: 9 }),
      nics: fc.integer({ min: 0, max: 4 }),
      hotTemplate: fc.constantFrom(...TEMPLATES),
      vcpus: fc.integer({ min: 1, max: 4 }),
      maxmem: fc.constantFrom(128, 512, 1024)
    })
    .map((r): Desc => {
      const name = `vm${index}.example.com`
      const uuid = uuidOf(0xc, index, 0)
      // Ganeti's check_boot_parameters: booting from a CD-ROM needs its image.
      const boot_order = r.boot_order === 'cdrom' && r.cdrom === '' ? 'disk' : r.boot_order
      const hvparams: JsonObj = {
        kvm_path: '/usr/bin/qemu-system-x86_64',
        disk_type: r.disk_type,
        nic_type: r.nic_type,
        kvm_pci_reservations: r.reservations,
        scsi_controller_type: r.scsi_controller_type,
        // Ganeti's check_disk_cache_parameters: aio native needs cache none.
        disk_cache: r.native ? 'none' : r.disk_cache,
        disk_aio: r.native ? 'native' : 'threads',
        disk_discard: r.disk_discard,
        vhost_net: r.vhost_net,
        virtio_net_queues: r.queues,
        cdrom_image_path: r.cdrom,
        cdrom2_image_path: r.cdrom2,
        cdrom_disk_type: r.cdrom_disk_type,
        floppy_image_path: r.floppy,
        kernel_path: r.kernel,
        initrd_path: r.initrd,
        boot_order,
        use_chroot: r.use_chroot,
        security_model: r.security_user ? 'user' : 'none',
        security_domain: r.security_user ? 'qemu-vm' : '',
        serial_console: r.serial_console,
        vnc_bind_address: r.vnc,
        usb_mouse: r.usb_mouse,
        use_guest_agent: r.use_guest_agent,
        machine_version: r.machine_version,
        acpi: r.acpi
      }
      return {
        name,
        uuid,
        network_port: 11000 + index,
        beparams: { maxmem: r.maxmem, vcpus: r.vcpus },
        hvparams,
        disks: r.disks.map((d, i) => diskDesc(name, uuidOf(0xa, index, i), d.template, i, d.userspace)),
        nics: Array.from({ length: r.nics }, (_, i) => ({ uuid: uuidOf(0xb, index, i), mac: `aa:00:00:${hex(index >> 8, 2)}:${hex(index & 0xff, 2)}:${hex(i, 2)}` })),
        hotadd: {
          disk: diskDesc(name, uuidOf(0xa, index, 63), r.hotTemplate, r.disks.length, false),
          nic: { uuid: uuidOf(0xb, index, 63), mac: `aa:00:00:${hex(index >> 8, 2)}:${hex(index & 0xff, 2)}:ff` }
        }
      }
    })

/** `count` instances, the same ones on every run (seeded). */
export const instances = (count: number, seed = 13): ReadonlyArray<Desc> =>
  Array.from({ length: count }, (_, i) => fc.sample(descArb(i), { numRuns: 1, seed: seed * 100_003 + i })[0] as Desc)

// ---------------------------------------------------------------------------------------------
// Ganeti's answers

export interface Taps {
  readonly fds: ReadonlyArray<number>
  readonly vhostfds: ReadonlyArray<number>
}

export type HotAddAnswer = { readonly hvinfo: JsonObj; readonly taps?: Taps } | { readonly refused: string }

export type GanetiAnswer =
  | {
      readonly ok: true
      readonly syntax: string | null
      readonly file: string
      readonly upgraded: string
      readonly argv: ReadonlyArray<string>
      readonly taps: ReadonlyArray<Taps>
      readonly hvinfo: { readonly disks: ReadonlyArray<JsonObj>; readonly nics: ReadonlyArray<JsonObj> }
      readonly hotadd: { readonly disk?: HotAddAnswer; readonly nic?: HotAddAnswer }
    }
  | { readonly ok: false; readonly error: string; readonly trace: string }

export interface Judgement {
  readonly ganeti: string
  readonly qemuHelp: string
  readonly results: ReadonlyArray<GanetiAnswer>
}

/** Runs judge.py once for every instance, Ganeti learning QEMU's features from `qemu`. */
export const askGaneti = (descs: ReadonlyArray<Desc>, qemu: string): Judgement => {
  const r = spawnSync(PYTHON, [JUDGE], {
    input: JSON.stringify({ qemu, instances: descs }),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PYTHONPATH: GANETI_PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1' }
  })
  if (r.status !== 0) throw new Error(`judge.py failed (${String(r.status ?? r.signal)}): ${r.stderr}`)
  const out = JSON.parse(r.stdout) as { ganeti: string; qemu_help: string; results: GanetiAnswer[] }
  if (out.results.length !== descs.length) throw new Error(`judge.py answered ${out.results.length} of ${descs.length}`)
  return { ganeti: out.ganeti, qemuHelp: out.qemu_help, results: out.results }
}

// ---------------------------------------------------------------------------------------------
// The library's answers to the same questions

export type Answer<A> = { readonly _tag: 'ok'; readonly value: A } | { readonly _tag: 'refused'; readonly error: string } | { readonly _tag: 'threw'; readonly error: string }

const show = (e: DevplanError): string => `${e._tag}: ${formatError(e)}`

export const attempt = <A>(f: () => E.Either<DevplanError, A>): Answer<A> => {
  try {
    const r = f()
    return E.isRight(r) ? { _tag: 'ok', value: r.right } : { _tag: 'refused', error: show(r.left) }
  } catch (e) {
    return { _tag: 'threw', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }
  }
}

/**
 * A tap backend with the fds Ganeti opened, in the README's form: `vhostfds` only where Ganeti
 * opened some, unless `emptyVhost` asks for an explicit empty list.
 */
export const tapBackend = (t: Taps | undefined, emptyVhost = false): NicBackend =>
  (t !== undefined && t.vhostfds.length > 0 ? { type: 'tap', fds: [...t.fds], vhostfds: [...t.vhostfds] } : { type: 'tap', fds: [...(t?.fds ?? [])], ...(emptyVhost ? { vhostfds: [] } : {}) }) as NicBackend

export const QEMU_7_2: QemuVersion = { major: 7, minor: 2, micro: 0 }

/** runtimeArgv of Ganeti's file, with the fds Ganeti opened for each NIC. */
export const rebuiltArgv = (rt: Runtime, taps: ReadonlyArray<Taps>, qemu: QemuVersion = QEMU_7_2, emptyVhost = false): Answer<ReadonlyArray<string>> =>
  attempt(() => runtimeArgv(rt, { qemu, nicBackend: (_n, i) => tapBackend(taps[i], emptyVhost) }))

/** The library's disk spec of a Ganeti disk: the link (or userspace uri), a file or a block device by template. */
export const diskSpecOf = (d: DiskDesc): JsonObj => ({ uuid: d.uuid, path: d.link, ...(d.uri !== null ? { uri: d.uri } : {}), kind: FILE_TEMPLATES.has(d.dev_type) ? 'file' : 'block' })

/**
 * The library's instance spec of a description, with the hvparams exactly as Ganeti stored them
 * in its runtime file (all of Ganeti's, defaults filled) and each NIC on the taps Ganeti opened.
 */
export const librarySpec = (desc: Desc, storedHvparams: JsonObj, taps: ReadonlyArray<Taps>): JsonObj => ({
  name: desc.name,
  uuid: desc.uuid,
  memory: desc.beparams.maxmem,
  vcpus: desc.beparams.vcpus,
  network_port: desc.network_port,
  hvparams: storedHvparams,
  disks: desc.disks.map(diskSpecOf),
  nics: desc.nics.map((n, i) => ({ uuid: n.uuid, mac: n.mac, backend: tapBackend(taps[i]) as unknown as Json }))
})

export const chrootDir = (name: string): string => `/var/run/ganeti/kvm-hypervisor/chroot/${name}`

export const libraryPlan = (desc: Desc, spec: JsonObj): Answer<DeviceTree> =>
  attempt(() => E.chain((inst: Parameters<typeof planDevices>[0]) => planDevices(inst, { qemu: QEMU_7_2, host: { chrootDir: chrootDir(desc.name), poolUser: '' } }))(decodeInstance(spec)))

/** The hvinfo planHotAdd gives the added device, read from the plan's runtime after. */
export const libraryHotAdd = (rt: Runtime, kind: 'disk' | 'nic', desc: Desc, taps: Taps | undefined): Answer<JsonObject> =>
  attempt(() => {
    const request: E.Either<DevplanError, HotAddRequest> =
      kind === 'disk'
        ? E.map((disk: Disk): HotAddRequest => ({ disk }))(decodeDisk(diskSpecOf(desc.hotadd.disk)))
        : E.map((nic: Nic): HotAddRequest => ({ nic }))(decodeNic({ uuid: desc.hotadd.nic.uuid, mac: desc.hotadd.nic.mac, backend: tapBackend(taps) }))
    return E.chain((req: HotAddRequest) =>
      E.chain((plan: QmpPlan): E.Either<DevplanError, JsonObject> => {
        const list = kind === 'disk' ? plan.after.disks : plan.after.nics
        const added = list[list.length - 1]
        return added?.placed === undefined ? E.left({ _tag: 'Unsupported', device: kind, reason: 'no placement after the hot-add' }) : E.right(encodeHvinfo(added.placed))
      })(planHotAdd(rt, req))
    )(request)
  })

export const parsedRuntime = (file: string): Answer<Runtime> => attempt(() => parseRuntime(file))
export const upgradedFile = (file: string): Answer<ReadonlyArray<Json>> => attempt(() => upgradeRuntime(JSON.parse(file)) as E.Either<DevplanError, ReadonlyArray<Json>>)
