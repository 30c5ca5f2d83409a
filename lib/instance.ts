/**
 * The instance spec: what an orchestrator knows about a VM before QEMU runs. `decodeInstance`
 * turns unknown JSON into a complete, checked {@link Instance} or a list of readable errors.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { ImageFormat, ImageSource } from './block/node.js'
import { parseUri } from './block/uri.js'
import { absolutePath, closed, intIn, matching, oneOf, text, withDefault } from './codecs.js'
import { fromValidationErrors, invalidInput, type DevplanError, type FieldError } from './errors.js'
import { HvparamsCodec, type Hvparams } from './hvparams.js'
import { deviceId, isValidId, protocolNodeName } from './ids.js'

const boundedArray = <C extends t.Mixed>(codec: C, max: number, name: string): t.Type<ReadonlyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown> => {
  const arr = t.readonlyArray(codec, name)
  return new t.Type<ReadonlyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown>(
    name,
    arr.is,
    (u, c) => (Array.isArray(u) && u.length > max ? t.failure(u, c, `at most ${max} entries (got ${u.length})`) : arr.validate(u, c)),
    arr.encode
  )
}

const UUID = matching('a UUID such as "932df160-7a22-4067-a566-7e0ca8386133"', /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/)
const DeviceUuid = matching('a uuid whose first groups make a QEMU id (letters, digits, ".", "_", "-")', /^[A-Za-z0-9._-]{1,64}$/)
const Mac = matching('a MAC address such as "aa:00:00:35:d5:1f"', /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/)
const Hostname = matching('an instance name (letters, digits, ".", "_", "-", at most 253)', /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/)
const Format = oneOf('ImageFormat', ['raw', 'qcow2'] as const)

const ImageRef = closed(
  {
    path: absolutePath,
    format: withDefault(Format, 'raw'),
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), '')
  },
  'BackingImage'
)

const DiskInput = closed(
  {
    uuid: DeviceUuid,
    path: withDefault(matching('"" or an absolute path', /^(|\/[^\0]*)$/), ''),
    uri: withDefault(text, ''),
    mode: withDefault(oneOf('DiskMode', ['rw', 'ro'] as const), 'rw'),
    format: withDefault(Format, 'raw'),
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), ''),
    backing: withDefault(boundedArray(ImageRef, 16, 'BackingChain'), []),
    name: withDefault(text, ''),
    size: withDefault(t.union([t.number, t.null]), null)
  },
  'Disk'
)

const TapFds = closed(
  { type: t.literal('tap'), fds: boundedArray(intIn(0, 1048575), 8, 'fds'), vhostfds: withDefault(boundedArray(intIn(0, 1048575), 8, 'vhostfds'), []) },
  'TapFdBackend'
)
const TapName = closed({ type: t.literal('tap'), ifname: matching('an interface name (1-15 characters, no "/" or spaces)', /^[A-Za-z0-9_.:-]{1,15}$/) }, 'TapNameBackend')
const User = closed({ type: t.literal('user') }, 'UserBackend')

/**
 * How a NIC reaches the host: tap by inherited fd(s), tap by name, or QEMU's user-mode stack.
 *
 * @since 0.1.0
 */
export type NicBackend =
  | { readonly type: 'tap'; readonly fds: ReadonlyArray<number>; readonly vhostfds: ReadonlyArray<number> }
  | { readonly type: 'tap'; readonly ifname: string }
  | { readonly type: 'user' }

const Backend = new t.Type<NicBackend, NicBackend, unknown>(
  'NicBackend',
  (u): u is NicBackend => TapFds.is(u) || TapName.is(u) || User.is(u),
  (u, c) => {
    if (typeof u !== 'object' || u === null) return t.failure(u, c, 'expected {"type": "tap", "fds": [...]}, {"type": "tap", "ifname": ...} or {"type": "user"}')
    const r = u as Record<string, unknown>
    if (r['type'] === 'user') return User.validate(u, c)
    if (r['type'] === 'tap') return 'ifname' in r ? TapName.validate(u, c) : TapFds.validate(u, c)
    return t.failure(u, c, 'expected "type" to be "tap" or "user"')
  },
  t.identity
)

const NicInput = closed({ uuid: DeviceUuid, mac: Mac, backend: Backend, name: withDefault(text, '') }, 'Nic')

const InstanceInput = closed(
  {
    name: Hostname,
    uuid: UUID,
    memory: intIn(16, 16 * 1024 * 1024),
    vcpus: withDefault(intIn(1, 255), 1),
    hvparams: HvparamsCodec,
    disks: withDefault(boundedArray(DiskInput, 64, 'disks'), []),
    nics: withDefault(boundedArray(NicInput, 32, 'nics'), [])
  },
  'Instance'
)

/**
 * A disk after decoding: its QEMU id derived, its image located.
 *
 * @since 0.1.0
 */
export interface Disk {
  readonly uuid: string
  readonly id: string
  readonly name: string
  readonly readOnly: boolean
  readonly source: ImageSource
  /** The userspace URI as given (recorded in runtime files), `null` for a local image. */
  readonly uri: string | null
  readonly format: ImageFormat
  readonly backing: ReadonlyArray<{ readonly source: ImageSource; readonly format: ImageFormat }>
}

/**
 * @since 0.1.0
 */
export interface Nic {
  readonly uuid: string
  readonly id: string
  readonly name: string
  readonly mac: string
  readonly backend: NicBackend
}

/**
 * A decoded instance: every field present, every default filled.
 *
 * @since 0.1.0
 */
export interface Instance {
  readonly name: string
  readonly uuid: string
  /** MiB */
  readonly memory: number
  readonly vcpus: number
  readonly hvparams: Hvparams
  readonly disks: ReadonlyArray<Disk>
  readonly nics: ReadonlyArray<Nic>
}

/**
 * A local image: `kind` says file or block device; empty means "block device when under /dev/".
 *
 * @since 0.1.0
 */
export const localSource = (path: string, kind: '' | 'file' | 'block'): ImageSource => ({
  _tag: 'local',
  driver: kind === 'block' || (kind === '' && path.startsWith('/dev/')) ? 'host_device' : 'file',
  path
})

type DiskIn = t.TypeOf<typeof DiskInput>
type NicIn = t.TypeOf<typeof NicInput>

const toDisk = (d: DiskIn, at: string): E.Either<ReadonlyArray<FieldError>, Disk> => {
  const errors: FieldError[] = []
  const id = deviceId('disk', d.uuid)
  // The id also names the block nodes, the longest being "<id>-file": that must fit in 31 too.
  if (!isValidId(protocolNodeName(id))) errors.push({ path: `${at}.uuid`, value: d.uuid, message: `gives the device id ${JSON.stringify(id)}, which QEMU refuses (a letter first, at most 26 characters so that its node-name ${JSON.stringify(protocolNodeName(id))} fits in 31)` })
  let source: ImageSource | undefined
  if (d.uri !== '') {
    const r = parseUri(d.uri)
    if (E.isLeft(r)) errors.push({ path: `${at}.uri`, value: d.uri, message: r.left })
    else source = { _tag: 'remote', remote: r.right }
  } else if (d.path === '') {
    errors.push({ path: `${at}.path`, value: d.path, message: 'a disk needs a path (or a uri)' })
  } else {
    source = localSource(d.path, d.kind)
  }
  if (d.backing.length > 0 && d.format !== 'qcow2') {
    errors.push({ path: `${at}.backing`, value: d.backing, message: `only a qcow2 image has a backing chain (format is ${JSON.stringify(d.format)})` })
  }
  if (errors.length > 0 || source === undefined) return E.left(errors)
  return E.right({
    uuid: d.uuid,
    id,
    name: d.name,
    readOnly: d.mode === 'ro',
    source,
    uri: d.uri === '' ? null : d.uri,
    format: d.format,
    backing: d.backing.map((b) => ({ source: localSource(b.path, b.kind), format: b.format }))
  })
}

const toNic = (n: NicIn, at: string): E.Either<ReadonlyArray<FieldError>, Nic> => {
  const id = deviceId('nic', n.uuid)
  return isValidId(id)
    ? E.right({ uuid: n.uuid, id, name: n.name, mac: n.mac.toLowerCase(), backend: n.backend })
    : E.left([{ path: `${at}.uuid`, value: n.uuid, message: `gives the device id ${JSON.stringify(id)}, which QEMU refuses (a letter first, at most 31 characters)` }])
}

const duplicates = <A>(items: ReadonlyArray<A>, key: (a: A) => string, path: (i: number) => string, what: string): ReadonlyArray<FieldError> =>
  items.flatMap((a, i) => {
    const first = items.findIndex((b) => key(b) === key(a))
    return first < i ? [{ path: path(i), value: key(a), message: `${what} is the same as ${path(first)}'s` }] : []
  })

/**
 * What a NIC's backend must satisfy under the hvparams it will run with (at start or hot-added).
 *
 * @since 0.1.0
 */
export const nicErrors = (n: Nic, h: Hvparams, at: string): ReadonlyArray<FieldError> => {
  if (n.backend.type !== 'tap' || !('fds' in n.backend)) return []
  const errors: FieldError[] = []
  const queues = h.nic_type === 'paravirtual' ? h.virtio_net_queues : 1
  if (n.backend.fds.length !== queues) {
    errors.push({ path: `${at}.backend.fds`, value: n.backend.fds, message: `needs exactly ${queues} tap fd(s) (one per queue: nic_type ${h.nic_type}, virtio_net_queues ${h.virtio_net_queues})` })
  }
  if (n.backend.vhostfds.length > 0 && (!h.vhost_net || n.backend.vhostfds.length !== n.backend.fds.length)) {
    errors.push({ path: `${at}.backend.vhostfds`, value: n.backend.vhostfds, message: 'needs hvparams.vhost_net and one vhost fd per tap fd' })
  }
  return errors
}

/** Rules that span fields; each error names the field a user would change. */
const crossFieldErrors = (inst: Instance): ReadonlyArray<FieldError> => {
  const h = inst.hvparams
  const errors: FieldError[] = []
  if (h.disk_aio === 'native' && h.disk_cache !== 'none' && h.disk_cache !== 'directsync') {
    errors.push({ path: 'hvparams.disk_aio', value: h.disk_aio, message: `"native" needs O_DIRECT: set disk_cache to "none" or "directsync" (it is ${JSON.stringify(h.disk_cache)})` })
  }
  if (h.kernel_path === '') {
    if (h.boot_order === 'cdrom' && h.cdrom_image_path === '') errors.push({ path: 'hvparams.boot_order', value: h.boot_order, message: '"cdrom" needs hvparams.cdrom_image_path' })
    if (h.boot_order === 'floppy' && h.floppy_image_path === '') errors.push({ path: 'hvparams.boot_order', value: h.boot_order, message: '"floppy" needs hvparams.floppy_image_path' })
    if (h.boot_order === 'network' && inst.nics.length === 0) errors.push({ path: 'hvparams.boot_order', value: h.boot_order, message: '"network" needs a NIC' })
    if (h.boot_order === 'disk' && inst.disks.length === 0) errors.push({ path: 'hvparams.boot_order', value: h.boot_order, message: '"disk" needs a disk (or set kernel_path, or another boot_order)' })
    if (h.initrd_path !== '') errors.push({ path: 'hvparams.initrd_path', value: h.initrd_path, message: 'an initrd needs hvparams.kernel_path' })
  }
  if (h.cdrom2_image_path !== '' && h.cdrom_image_path === '') {
    errors.push({ path: 'hvparams.cdrom2_image_path', value: h.cdrom2_image_path, message: 'a second CD-ROM needs hvparams.cdrom_image_path' })
  }
  inst.nics.forEach((n, i) => errors.push(...nicErrors(n, h, `nics[${i}]`)))
  if (h.vhost_net && h.nic_type !== 'paravirtual') {
    errors.push({ path: 'hvparams.vhost_net', value: true, message: `vhost works with nic_type "paravirtual" only (it is ${JSON.stringify(h.nic_type)})` })
  }
  if (h.disk_type === 'ide') {
    inst.disks.forEach((d, i) => {
      // QEMU refuses ide-hd on a read-only node ("Block node is read-only"): IDE disks are writable.
      if (d.readOnly) errors.push({ path: `disks[${i}].mode`, value: 'ro', message: 'an ide disk cannot be read-only in QEMU; use disk_type "scsi-hd" or "paravirtual" for read-only disks' })
    })
  }
  errors.push(...duplicates(inst.disks, (d) => d.id, (i) => `disks[${i}].uuid`, 'the device id it gives'))
  errors.push(...duplicates(inst.nics, (n) => n.id, (i) => `nics[${i}].uuid`, 'the device id it gives'))
  errors.push(...duplicates(inst.nics, (n) => n.mac, (i) => `nics[${i}].mac`, 'the MAC address'))
  return errors
}

const collect = <A, B>(items: ReadonlyArray<A>, f: (a: A, i: number) => E.Either<ReadonlyArray<FieldError>, B>): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<B>> => {
  const results = items.map(f)
  const errors = results.flatMap((r) => (E.isLeft(r) ? r.left : []))
  return errors.length > 0 ? E.left(errors) : E.right(results.flatMap((r) => (E.isRight(r) ? [r.right] : [])))
}

/**
 * Decodes and checks an instance spec. Never throws: every problem comes back as an
 * `InvalidInput` error listing each field path with its value and what is wrong.
 *
 * @example
 * decodeInstance({ name: 'vm1', uuid: '…', memory: 512, hvparams: { disk_type: 'scsi-hd' }, disks: [...] })
 *
 * @since 0.1.0
 */
export const decodeInstance = (input: unknown): E.Either<DevplanError, Instance> =>
  pipe(
    InstanceInput.decode(input),
    E.mapLeft(fromValidationErrors),
    E.chain((i) => {
      const disks = collect(i.disks, (d, n) => toDisk(d, `disks[${n}]`))
      const nics = collect(i.nics, (x, n) => toNic(x, `nics[${n}]`))
      const errors = [...(E.isLeft(disks) ? disks.left : []), ...(E.isLeft(nics) ? nics.left : [])]
      if (E.isLeft(disks) || E.isLeft(nics)) return E.left(errors)
      const inst: Instance = { name: i.name, uuid: i.uuid.toLowerCase(), memory: i.memory, vcpus: i.vcpus, hvparams: i.hvparams, disks: disks.right, nics: nics.right }
      const cross = crossFieldErrors(inst)
      return cross.length > 0 ? E.left(cross) : E.right(inst)
    }),
    E.mapLeft(invalidInput)
  )

const decodeOne =
  <I, A>(codec: t.Type<I, unknown, unknown>, convert: (i: I, at: string) => E.Either<ReadonlyArray<FieldError>, A>, at: string) =>
  (input: unknown): E.Either<DevplanError, A> =>
    pipe(
      codec.decode(input),
      E.mapLeft((errs) => fromValidationErrors(errs).map((e) => ({ ...e, path: e.path === '' ? at : `${at}.${e.path}` }))),
      E.chain((i) => convert(i, at)),
      E.mapLeft(invalidInput)
    )

/**
 * Decodes one disk, as in `disks[]` of the spec (for hot-add). Errors are reported under `disk`.
 *
 * @since 0.1.0
 */
export const decodeDisk: (input: unknown) => E.Either<DevplanError, Disk> = decodeOne(DiskInput as unknown as t.Type<DiskIn, unknown, unknown>, toDisk, 'disk')

/**
 * Decodes one NIC, as in `nics[]` of the spec (for hot-add). Errors are reported under `nic`.
 *
 * @since 0.1.0
 */
export const decodeNic: (input: unknown) => E.Either<DevplanError, Nic> = decodeOne(NicInput as unknown as t.Type<NicIn, unknown, unknown>, toNic, 'nic')
