/**
 * Runtime files ⇄ {@link Runtime}. Decoding upgrades first — every generation Ganeti wrote
 * (3 elements, `pci` fields, `hvinfo`) and this library's stamped files are read by the same
 * call — exactly as Ganeti's own reader always runs its upgrade before anything else. Encoding
 * writes the current format: four elements plus the stamp.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { invalidInput, type DevplanError, type FieldError } from '../errors.js'
import { decodeDiskEntry, decodeNicDict, encodeDiskEntry, encodeNicDict } from './dicts.js'
import { readStamp } from './file.js'
import { checkCmdDevices, encodeCmdDevice } from './cmd-devices.js'
import { decodeRuntimeParams } from './params.js'
import { parseVersion } from '../qemu-version.js'
import type { RuntimeJson } from './json.js'
import type { Runtime, RuntimeStamp } from './types.js'
import { upgradeRuntime } from './upgrade.js'
import { isRuntimeShape, totalOr } from '../total.js'

/**
 * The longest runtime file {@link parseRuntime} reads (Ganeti's are a few KiB).
 *
 * @since 0.1.0
 */
export const MAX_RUNTIME_TEXT = 16 * 1024 * 1024

const duplicates = (ids: ReadonlyArray<readonly [string, string | undefined]>, what: string): ReadonlyArray<FieldError> =>
  ids.flatMap(([path, id], i) => {
    if (id === undefined) return []
    const first = ids.findIndex(([, other]) => other === id)
    return first < i ? [{ path, value: id, message: `${what} is the same as ${ids[first]?.[0] ?? ''}'s` }] : []
  })

const decodeFile = ([cmd, nicsJ, hvparams, disksJ, stampJ]: RuntimeJson): E.Either<DevplanError, Runtime> => {
  const errors: FieldError[] = []
  cmd.forEach((w, i) => {
    // An argv word cannot hold NUL: exec would cut it there.
    if (typeof w === 'string' && w.includes('\0')) errors.push({ path: `cmd[${i}]`, value: w, message: 'a NUL byte in a command-line word' })
  })
  const nics = nicsJ.map((n, i) => decodeNicDict(n, `nics[${i}]`))
  const disks = disksJ.map((d, i) => decodeDiskEntry(d, `disks[${i}]`))
  for (const r of [...nics, ...disks]) if (E.isLeft(r)) errors.push(...r.left)
  let stamp: RuntimeStamp | undefined
  if (stampJ !== undefined) {
    const s = readStamp(stampJ)
    if (E.isLeft(s)) return s
    stamp = s.right
  }
  if (errors.length > 0) return E.left(invalidInput(errors))
  const okNics = nics.flatMap((r) => (E.isRight(r) ? [r.right] : []))
  const okDisks = disks.flatMap((r) => (E.isRight(r) ? [r.right] : []))
  const clashes = [
    ...duplicates(okDisks.map((d, i) => [`disks[${i}].uuid`, d.uuid] as const), 'the uuid'),
    ...duplicates(okNics.map((n, i) => [`nics[${i}].uuid`, n.uuid] as const), 'the uuid'),
    // One id names a device, its top node and its netdev: it must be unique across both lists.
    ...duplicates(
      [...okDisks.map((d, i) => [`disks[${i}].hvinfo.id`, d.placed?.id] as const), ...okNics.map((n, i) => [`nics[${i}].hvinfo.id`, n.placed?.id] as const)],
      'the device id'
    )
  ]
  if (clashes.length > 0) return E.left(invalidInput(clashes))
  const layout = stamp?.layout
  const devices = stamp?.devices
  const qemu = stamp === undefined ? undefined : parseVersion(stamp.qemu)
  return pipe(
    layout === undefined || devices === undefined || qemu === undefined ? E.right(undefined) : checkCmdDevices(cmd, layout, qemu, devices),
    E.map((): Runtime => ({ cmd, nics: okNics, hvparams, params: decodeRuntimeParams(hvparams), disks: okDisks, stamp }))
  )
}

/**
 * Decodes a runtime file of any generation (the parsed JSON value): upgrades it with
 * {@link upgradeRuntime} — implicitly, since the upgrade is idempotent and Ganeti's reader does
 * the same — then checks every key this library interprets. Unknown keys of disk and NIC dicts
 * land in `rest`, in order, and {@link encodeRuntime} writes them back unchanged.
 *
 * `Left` for: a stamp from a newer format (`Unsupported`, naming the writer); anything malformed
 * or hostile (`InvalidInput`, naming each path, e.g. `disks[0].hvinfo.addr`). Never throws.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, decodeRuntime, encodeRuntime, formatError, planDevices, toRuntime } from 'qemu-devplan'
 *
 * // The runtime of the running instance: recorded at its start (or parseRuntime of its file).
 * const runtime = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * // A runtime file's text, as written from encodeRuntime (or by Ganeti: older files are upgraded).
 * const text = pipe(runtime, E.map((rt) => JSON.stringify(encodeRuntime(rt))), E.getOrElse(() => '[]'))
 * const read = decodeRuntime(JSON.parse(text))
 * if (E.isLeft(read)) throw new Error(formatError(read.left))
 * console.log(read.right.disks.map((d) => d.placed?.id)) // [ 'disk-932df160-7a22-4067' ]
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const decodeRuntime = (json: unknown): E.Either<DevplanError, Runtime> => pipe(upgradeRuntime(json), E.chain(decodeFile))

/**
 * {@link decodeRuntime} of a file's text. Malformed JSON is `InvalidInput`, never an exception.
 *
 * @since 0.1.0
 * @category runtime
 */
export const parseRuntime = (text: string): E.Either<DevplanError, Runtime> => {
  if (typeof text !== 'string') return E.left(invalidInput([{ path: '', value: text, message: 'expected the text of a runtime file' }]))
  if (text.length > MAX_RUNTIME_TEXT) return E.left(invalidInput([{ path: '', value: `(${text.length} characters)`, message: `a runtime file is at most ${MAX_RUNTIME_TEXT} characters` }]))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return E.left(invalidInput([{ path: '', value: text.slice(0, 40), message: `not JSON: ${e instanceof Error ? e.message : 'parse error'}` }]))
  }
  return decodeRuntime(json)
}

/**
 * A runtime as its file: `[kvm_cmd, kvm_nics, hvparams, kvm_disks]`, plus the stamp as a fifth
 * element when the runtime has one. In each dict the interpreted keys come first (`uuid`,
 * `mac`, `hvinfo`, `blockdev`/`netdev`), then `rest` in its order; an hvinfo keeps its own key
 * order. `JSON.stringify` of the result is the file.
 *
 * @since 0.1.0
 * @category runtime
 */
export const encodeRuntime = (rt: Runtime): RuntimeJson =>
  // The type has no room for an error: what is not a runtime gives a file decodeRuntime refuses
  // (its stamp has no format), never one that reads back as an instance with no devices.
  totalOr(REFUSED_FILE, () => (isRuntimeShape(rt) ? encodeOf(rt) : REFUSED_FILE))

const REFUSED_FILE: RuntimeJson = [[], [], {}, [], {}]

const encodeOf = (rt: Runtime): RuntimeJson => {
  const base = [rt.cmd, rt.nics.map(encodeNicDict), rt.hvparams, rt.disks.map(encodeDiskEntry)] as const
  const s = rt.stamp
  if (s === undefined) return base
  const head = { format: s.format, writer: s.writer, qemu: s.qemu }
  return [...base, s.layout === undefined || s.devices === undefined ? head : { ...head, layout: { ...s.layout }, devices: s.devices.map(encodeCmdDevice) }]
}
