/**
 * Shared helpers of the unit specs (no QEMU): instance specs to start from, a generator of valid
 * specs, and a test-side reader of QEMU's `key=value` option syntax. Expected values in the specs
 * come from DOMAIN.md, never from the code under test; these helpers only build inputs.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, planDevices, type DeviceTree, type DevplanError, type Instance } from '../../lib/index.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObj = { [key: string]: Json }

/** The uuid DOMAIN §2 uses as its example, and the id it gives. */
export const GANETI_UUID = '932df160-7a22-4067-a566-7e0ca8386133'
export const GANETI_DISK_ID = 'disk-932df160-7a22-4067'

export const INSTANCE_UUID = '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10'

/** A distinct, well-formed uuid per (prefix, n): `a0000003-0000-4000-8000-000000000000`. */
export const uuidN = (n: number, prefix = 'a'): string => `${prefix}${n.toString(16).padStart(7, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

/** DOMAIN §2, Ganeti's `_GenerateDeviceKVMId`: `<kind>-` + the first three uuid groups. */
export const ganetiId = (kind: 'disk' | 'nic', uuid: string): string => `${kind}-${uuid.split('-').slice(0, 3).join('-')}`

export const macN = (n: number): string => `aa:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`

export const diskSpec = (n: number, extra: JsonObj = {}): JsonObj => ({ uuid: uuidN(n, 'a'), path: `/srv/vm1/disk${n}`, ...extra })
/**
 * A disk for a disk_type: under the pass-through frontends (scsi-block, scsi-generic) a raw host
 * block device without backing chain (`/dev/sdb`, `/dev/sdc`… or `/dev/sg0`, `/dev/sg1`…), as
 * QEMU requires; otherwise `diskSpec`'s file image.
 */
export const diskFor = (diskType: string, n: number, extra: JsonObj = {}): JsonObj =>
  diskType === 'scsi-block'
    ? diskSpec(n, { path: `/dev/sd${String.fromCharCode(98 + n)}`, format: 'raw', ...extra })
    : diskType === 'scsi-generic'
      ? diskSpec(n, { path: `/dev/sg${n}`, format: 'raw', ...extra })
      : diskSpec(n, extra)
export const nicSpec = (n: number, extra: JsonObj = {}): JsonObj => ({ uuid: uuidN(n, 'b'), mac: macN(n), backend: { type: 'user' }, ...extra })

/** A minimal valid spec with `disks` disks, `nics` NICs and the given hvparams. */
export const spec = (hvparams: JsonObj = {}, disks = 1, nics = 0, extra: JsonObj = {}): JsonObj => ({
  name: 'vm1.example.com',
  uuid: INSTANCE_UUID,
  memory: 512,
  hvparams,
  disks: Array.from({ length: disks }, (_, i) => diskSpec(i)),
  nics: Array.from({ length: nics }, (_, i) => nicSpec(i)),
  ...extra
})

/** Fails the test (uvu's `unreachable` is typed `void`; this one is `never`). */
export const fail = (message: string): never => {
  assert.unreachable(message)
  throw new Error(message)
}

export const showLeft = (e: DevplanError): string => `${e._tag}: ${formatError(e)}`

export const decodeOk = (input: unknown): Instance => {
  const r = decodeInstance(input)
  if (E.isLeft(r)) return fail(`expected the spec to decode, got ${showLeft(r.left)}`)
  return r.right
}

export const version = (v: string): { major: number; minor: number; micro: number } => {
  const [major = 0, minor = 0, micro = 0] = v.split('.').map(Number)
  return { major, minor, micro }
}

export const planE = (input: unknown, qemu = '7.2', machine?: string): E.Either<DevplanError, DeviceTree> =>
  planDevices(decodeOk(input), { qemu: version(qemu), ...(machine !== undefined ? { machine } : {}) })

export const planOk = (input: unknown, qemu = '7.2', machine?: string): DeviceTree => {
  const r = planE(input, qemu, machine)
  if (E.isLeft(r)) return fail(`expected a plan, got ${showLeft(r.left)}`)
  return r.right
}

export const planLeft = (input: unknown, qemu = '7.2', machine?: string): DevplanError => {
  const r = planE(input, qemu, machine)
  if (E.isRight(r)) return fail('expected planning to fail')
  return r.left
}

/**
 * QEMU's option syntax (QemuOpts and keyval), written from its documentation rather than from the
 * library: options are separated by a single `,`; `,,` stands for a literal `,`; the first `=` of
 * an option separates key and value; an option without `=` in first place is the value of the
 * implied key (`-chardev socket,…` → `backend=socket`).
 */
export const parseKeyval = (s: string, implied?: string): Array<readonly [string, string]> => {
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i)
    if (c === ',') {
      if (s.charAt(i + 1) === ',') {
        cur += ','
        i++
      } else {
        parts.push(cur)
        cur = ''
      }
    } else cur += c
  }
  parts.push(cur)
  return parts.map((p, i) => {
    const eq = p.indexOf('=')
    if (eq < 0) {
      if (i === 0 && implied !== undefined) return [implied, p] as const
      return [p, 'on'] as const
    }
    return [p.slice(0, eq), p.slice(eq + 1)] as const
  })
}

/** Which argv options carry a structured value, and their implied key (QEMU's qemu-options). */
export const STRUCTURED: Readonly<Record<string, string | undefined>> = {
  '-blockdev': 'driver',
  '-device': 'driver',
  '-netdev': 'type',
  '-chardev': 'backend',
  '-name': 'guest',
  '-machine': 'type',
  '-mon': 'chardev',
  '-boot': 'order'
}

/** A structured value as data: JSON parsed, keyval as an ordered list of pairs. */
export type Parsed = { readonly syntax: 'json'; readonly value: Json } | { readonly syntax: 'keyval'; readonly pairs: ReadonlyArray<readonly [string, string]> }

export const parseOption = (option: string, value: string): Parsed =>
  value.startsWith('{') ? { syntax: 'json', value: JSON.parse(value) as Json } : { syntax: 'keyval', pairs: parseKeyval(value, STRUCTURED[option]) }

/** The `-device`/`-blockdev`/… values of an argv, each with its option word. */
export const optionValues = (argv: ReadonlyArray<string>, option: string): string[] =>
  argv.flatMap((w, i) => (w === option && i + 1 < argv.length ? [argv[i + 1] ?? ''] : []))

/** Parses every `-device` (JSON or keyval) into a plain object of strings/numbers. */
export const devicesOf = (argv: ReadonlyArray<string>): Array<Record<string, Json>> =>
  optionValues(argv, '-device').map((v) => {
    const p = parseOption('-device', v)
    return p.syntax === 'json' ? (p.value as Record<string, Json>) : Object.fromEntries(p.pairs)
  })

// ---------------------------------------------------------------------------------------------
// Generators

export const DISK_TYPES_ = ['paravirtual', 'scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd', 'ide'] as const
export const NIC_TYPES_ = ['paravirtual', 'e1000', 'i82551', 'i82557b', 'i82559er', 'ne2k_pci', 'pcnet', 'rtl8139', 'ne2k_isa'] as const
export const CONTROLLERS_ = ['lsi', 'megasas', 'virtio-scsi-pci'] as const
export const CACHES_ = ['default', 'writeback', 'writethrough', 'none', 'directsync', 'unsafe'] as const

/**
 * Specs that satisfy every rule of DOMAIN §1 and fit every bus (at most 6 disks, 2 CD-ROMs and 4
 * NICs; IDE at most 4 places; ISA 6), so that each must decode and plan. Disks under scsi-block and
 * scsi-generic are raw `/dev/` block devices without backing chain, as pass-through requires.
 */
export const validSpecArb: fc.Arbitrary<JsonObj> = fc
  .record({
    disk_type: fc.constantFrom(...DISK_TYPES_),
    cdrom_disk_type: fc.constantFrom('', ...DISK_TYPES_),
    nic_type: fc.constantFrom(...NIC_TYPES_),
    scsi_controller_type: fc.constantFrom(...CONTROLLERS_),
    disk_cache: fc.constantFrom(...CACHES_),
    aio: fc.constantFrom('threads', 'native', 'io_uring'),
    disk_discard: fc.constantFrom('ignore', 'unmap'),
    reservations: fc.integer({ min: 3, max: 20 }),
    disks: fc.integer({ min: 0, max: 6 }),
    nics: fc.integer({ min: 0, max: 4 }),
    cdroms: fc.integer({ min: 0, max: 2 }),
    floppy: fc.boolean(),
    kernel: fc.boolean(),
    boot: fc.constantFrom('disk', 'cdrom', 'floppy', 'network'),
    ro: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    qcow2: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    vcpus: fc.integer({ min: 1, max: 8 })
  })
  .map((r) => {
    const ideCd = (r.cdrom_disk_type === '' ? r.disk_type : r.cdrom_disk_type) === 'ide'
    const disks = r.disk_type === 'ide' ? Math.min(r.disks, 4 - (ideCd ? r.cdroms : 0)) : r.disks
    const possible = ['disk', 'cdrom', 'floppy', 'network'].filter(
      (b) => (b === 'disk' && disks > 0) || (b === 'cdrom' && r.cdroms > 0) || (b === 'floppy' && r.floppy) || (b === 'network' && r.nics > 0)
    )
    const kernel = r.kernel || possible.length === 0
    const boot = possible.includes(r.boot) ? r.boot : (possible[0] ?? 'disk')
    const hvparams: JsonObj = {
      disk_type: r.disk_type,
      cdrom_disk_type: r.cdrom_disk_type,
      nic_type: r.nic_type,
      scsi_controller_type: r.scsi_controller_type,
      disk_cache: r.disk_cache,
      disk_aio: r.aio === 'native' && r.disk_cache !== 'none' && r.disk_cache !== 'directsync' ? 'threads' : r.aio,
      disk_discard: r.disk_discard,
      kvm_pci_reservations: r.reservations,
      boot_order: boot,
      ...(r.cdroms > 0 ? { cdrom_image_path: '/iso/install.iso' } : {}),
      ...(r.cdroms > 1 ? { cdrom2_image_path: 'https://mirror.example.org/drivers.iso' } : {}),
      ...(r.floppy ? { floppy_image_path: '/srv/vm1/floppy.img' } : {}),
      ...(kernel ? { kernel_path: '/boot/vmlinuz', initrd_path: '/boot/initrd.img', root_path: '/dev/vda1', kernel_args: 'ro console=ttyS0' } : {})
    }
    return {
      ...spec(hvparams, 0, 0),
      vcpus: r.vcpus,
      disks: Array.from({ length: disks }, (_, i) => {
        const mode = r.ro[i] === true && r.disk_type !== 'ide' ? 'ro' : 'rw'
        // Pass-through frontends hand a host SCSI device over: a raw block device, no backing chain.
        if (r.disk_type === 'scsi-block' || r.disk_type === 'scsi-generic') return diskFor(r.disk_type, i, { mode })
        return diskSpec(i, { mode, ...(r.qcow2[i] === true ? { format: 'qcow2', backing: [{ path: `/srv/base${i}.qcow2`, format: 'qcow2' }] } : {}) })
      }),
      nics: Array.from({ length: Math.min(r.nics, 6) }, (_, i) => nicSpec(i))
    }
  })

/** Strings that have broken command lines before, and pieces to combine them from. */
export const NASTY = [',', ',,', '=', ',file.driver=nbd', ',,,', 'json:{}', '{"a":1}', '"', "'", '\n', ' ', '\t', '-device', '\\', '$(id)', '`id`', '*', 'é', '日本', '🙂', '\u00a0', '\u2028', 'help', '?', '\r'] as const

/** Arbitrary strings without NUL (every decoder refuses NUL; C strings would cut there). */
export const nastyString: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.constantFrom(...NASTY),
    fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 6 }).map((a) => a.join(''))
  )
  .map((s) => s.replace(/\0/g, ''))
