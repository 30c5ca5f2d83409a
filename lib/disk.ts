/**
 * A disk of the instance spec: its image (local file or block device, or a userspace URI), mode,
 * format and backing chain. Its QEMU id is derived from its uuid, Ganeti's way.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import type { ImageFormat, ImageSource } from './block/node.js'
import { parseHttpUri, parseUri, uriWarning, type RemoteSource } from './block/uri.js'
import { SourceCodec, type SourceInput } from './block/source.js'
import { sourceFaults, sourceImage } from './block/source-image.js'
import { ignored, type PlanWarning } from './warnings.js'
import { DISK_TEMPLATES } from './block/cache.js'
import { boundedArray, closed, decodeOne, DeviceUuid, matching, numberOrNull, oneOf, text, withDefault } from './codecs.js'
import type { DevplanError, FieldError } from './errors.js'
import { deviceId } from './ids.js'

/** A `source`, or `null` when the disk has none: one message, not one per union member. */
const OptionalSource = new t.Type<SourceInput | null, unknown, unknown>(
  'Source',
  (u): u is SourceInput | null => u === null || SourceCodec.is(u),
  (u, c) => (u === undefined || u === null ? t.success(null) : SourceCodec.validate(u, c)),
  t.identity
)

const Format = oneOf('ImageFormat', ['raw', 'qcow2'] as const)

const ImageRef = closed(
  {
    path: withDefault(matching('"" or an absolute path', /^(|\/[^\0]*)$/), ''),
    // Since 0.3.0: a backing image over the network, as a disk's own `source`.
    source: OptionalSource,
    format: withDefault(Format, 'raw'),
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), '')
  },
  'BackingImage'
)

/**
 * io-ts codec for one entry of the spec's `disks[]`, filling its defaults (`mode` rw, `format`
 * raw) and refusing unknown fields. The checks across fields are {@link toDisk}'s.
 *
 * @since 0.1.0
 */
export const DiskInput = closed(
  {
    uuid: DeviceUuid,
    path: withDefault(matching('"" or an absolute path', /^(|\/[^\0]*)$/), ''),
    uri: withDefault(text, ''),
    // Since 0.3.0: a network image field by field (see lib/block/source.ts), instead of a uri.
    source: OptionalSource,
    mode: withDefault(oneOf('DiskMode', ['rw', 'ro'] as const), 'rw'),
    format: withDefault(Format, 'raw'),
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), ''),
    dev_type: withDefault(oneOf('DiskTemplate', ['', ...DISK_TEMPLATES] as const), ''),
    // Node-names hold 31 characters: `<23-character id>-b<n>-file` fits for n ≤ 9.
    backing: withDefault(boundedArray(ImageRef, 9, 'BackingChain'), []),
    name: withDefault(text, ''),
    size: withDefault(numberOrNull, null)
  },
  'Disk'
)

/**
 * A disk after decoding: its QEMU id derived, its image located.
 *
 * @since 0.1.0
 * @category decode
 */
export interface Disk {
  readonly uuid: string
  readonly id: string
  readonly name: string
  readonly readOnly: boolean
  readonly source: ImageSource
  /** The userspace URI as given (recorded in runtime files), `null` for a local image. */
  readonly uri: string | null
  /** The spec's `path`: Ganeti's link path, recorded in runtime files even when `uri` is used. */
  readonly link: string
  readonly format: ImageFormat
  readonly backing: ReadonlyArray<{ readonly source: ImageSource; readonly format: ImageFormat }>
  /** Ganeti's disk template (`dev_type`), `""` when not given: shared storage runs cache=none. */
  readonly devType: string
  /** The spec's field the image came from: `path`, `uri` or (since 0.3.0) `source`. */
  readonly from?: 'path' | 'uri' | 'source'
  /** What the plan did differently from what was asked (`gluster+rdma` over tcp). Since 0.3.0. */
  readonly warnings?: ReadonlyArray<PlanWarning>
}

/**
 * A local image: `kind` says file or block device; empty means "block device when under /dev/".
 *
 * @since 0.1.0
 * @category decode
 */
export const localSource = (path: string, kind: '' | 'file' | 'block'): ImageSource => {
  // A path that is not a string is the empty path, which QEMU refuses to open: never a guess.
  const p = typeof path === 'string' ? path : ''
  return { _tag: 'local', driver: kind === 'block' || (kind !== 'file' && p.startsWith('/dev/')) ? 'host_device' : 'file', path: p }
}

type DiskIn = t.TypeOf<typeof DiskInput>

/**
 * Completes a decoded disk: its QEMU id from the uuid, Ganeti's way, and its image located (a
 * `uri` wins over `path`, which is kept as the link path). Every problem is reported under `at`.
 *
 * @since 0.1.0
 */
export const toDisk = (d: DiskIn, at: string): E.Either<ReadonlyArray<FieldError>, Disk> => {
  const errors: FieldError[] = []
  const uuid = d.uuid.toLowerCase()
  const id = deviceId('disk', uuid)
  let source: ImageSource | undefined
  const warnings: PlanWarning[] = []
  const readOnlyCurl = (field: string): void => {
    // curl cannot write ("curl driver does not support writes"): the mode must say so, rather
    // than a rw disk silently becoming ro.
    if (d.mode !== 'ro') errors.push({ path: `${at}.mode`, value: d.mode, message: `an http(s) image is read-only (QEMU's curl driver does not write): set mode "ro" for this ${field}` })
  }
  if (d.source !== null) {
    if (d.uri !== '') errors.push({ path: `${at}.source`, value: d.source, message: 'give the image as a uri or as a source, not both' })
    for (const [member, message] of sourceFaults(d.source)) errors.push({ path: `${at}.source.${member}`, value: Reflect.get(d.source, member), message })
    if (d.source.driver === 'http' || d.source.driver === 'https') readOnlyCurl('source')
    source = sourceImage(d.source, id)
  } else if (d.uri !== '') {
    const http = parseHttpUri(d.uri)
    const r = http === undefined ? E.map((remote: RemoteSource): ImageSource => ({ _tag: 'remote', remote }))(parseUri(d.uri)) : E.map((u: { readonly driver: 'http' | 'https'; readonly url: string }): ImageSource => ({ _tag: 'url', ...u }))(http)
    if (E.isLeft(r)) errors.push({ path: `${at}.uri`, value: d.uri, message: r.left })
    else source = r.right
    if (http !== undefined && E.isRight(http)) readOnlyCurl('uri')
    const w = uriWarning(d.uri)
    if (w !== undefined) warnings.push(ignored(`${at}.uri`, d.uri, w))
  } else if (d.path === '') {
    errors.push({ path: `${at}.path`, value: d.path, message: 'a disk needs a path (or a uri, or a source)' })
  } else {
    source = localSource(d.path, d.kind)
  }
  if (d.backing.length > 0 && d.format !== 'qcow2') {
    errors.push({ path: `${at}.backing`, value: d.backing, message: `only a qcow2 image has a backing chain (format is ${JSON.stringify(d.format)})` })
  }
  d.backing.forEach((b, i) => {
    const here = `${at}.backing[${i}]`
    if ((b.path === '') === (b.source === null)) errors.push({ path: here, value: b, message: 'a backing image is a path or a source, exactly one of them' })
    if (b.source !== null) for (const [member, message] of sourceFaults(b.source)) errors.push({ path: `${here}.source.${member}`, value: Reflect.get(b.source, member), message })
    // Only the last image of a chain may be raw: a raw node takes no backing.
    if (b.format === 'raw' && i < d.backing.length - 1) errors.push({ path: `${here}.format`, value: b.format, message: 'a raw image has no backing image of its own: only the last of the chain may be raw' })
  })
  if (errors.length > 0 || source === undefined) return E.left(errors)
  const disk: { -readonly [K in keyof Disk]: Disk[K] } = {
    uuid,
    id,
    name: d.name,
    readOnly: d.mode === 'ro',
    source,
    uri: d.uri === '' ? null : d.uri,
    link: d.path,
    format: d.format,
    // A backing image's objects (its secret, its TLS credentials) are named after its layer.
    backing: d.backing.map((b, i) => ({ source: b.source === null ? localSource(b.path, b.kind) : sourceImage(b.source, `${id}-b${i + 1}`), format: b.format })),
    devType: d.dev_type,
    from: d.source !== null ? 'source' : d.uri !== '' ? 'uri' : 'path'
  }
  // Assigned, not spread into the literal: a decode makes one per disk.
  if (warnings.length > 0) disk.warnings = warnings
  return E.right(disk)
}

/**
 * Decodes one disk, as in `disks[]` of the spec (for hot-add). Errors are reported under `disk`.
 *
 * @since 0.1.0
 * @category decode
 */
export const decodeDisk: (input: unknown) => E.Either<DevplanError, Disk> = decodeOne(DiskInput, toDisk, 'disk')

/**
 * What a disk must be under a pass-through frontend: `scsi-block` and `scsi-generic` hand a host
 * SCSI device to the guest, so QEMU refuses anything but a raw block device ("cannot get SG_IO
 * version number"). Checked at decode time and on hot-add alike.
 *
 * @since 0.1.0
 */
export const passthroughErrors = (disk: Disk, driver: string, at: string): ReadonlyArray<FieldError> =>
  (driver === 'scsi-block' || driver === 'scsi-generic') &&
  !(disk.source._tag === 'local' && disk.source.driver === 'host_device' && disk.format === 'raw' && disk.backing.length === 0)
    ? [{ path: at, value: disk.source._tag === 'local' ? disk.source.path : disk.uri, message: `${driver} passes a host SCSI device through: the disk must be a raw block device (kind "block" or a /dev/ path), without backing chain` }]
    : []
