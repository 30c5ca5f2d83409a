/**
 * The outer shape of a runtime file and its format stamp. Every generation is read here: three
 * elements (Ganeti before 2.10, no disks), four (disks added; devices with `pci` before 2.16,
 * with `hvinfo` after), five (this library: the stamp). A stamp from a newer format is refused
 * with the writer named, instead of being misread.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { invalidInput, type DevplanError, type FieldError } from '../errors.js'
import { decodeCmdDevices, decodeLayout } from './cmd-devices.js'
import type { JsonObject } from '../qemu-opts.js'
import { parseVersion } from '../qemu-version.js'
import { child, isJsonObject, isPlainObject, MAX_ARRAY, toJson, toJsonObject, youngArray, type RuntimeDiskJson, type RuntimeJson } from './json.js'
import type { CmdWord, RuntimeStamp } from './types.js'

/**
 * The runtime format this library writes and the newest it reads. Bumped whenever a file in
 * the new format would be misread by the previous version.
 *
 * @since 0.1.0
 * @category runtime
 */
export const RUNTIME_FORMAT = 2

/**
 * The writer recorded in the stamp by default.
 *
 * @since 0.1.0
 * @category runtime
 */
export const RUNTIME_WRITER = 'qemu-devplan/0.1.0'

/**
 * At most this many disks, and this many NICs: far beyond any bus (a pc machine has 32 PCI
 * slots), small enough that a hostile file cannot make a reader allocate without bound.
 *
 * @since 0.1.0
 */
export const MAX_DEVICES = 1024

const fail = (path: string, value: unknown, message: string): E.Either<DevplanError, never> => E.left(invalidInput([{ path, value, message }]))

const fromField = (e: FieldError): DevplanError => invalidInput([e])

const STAMP_KEYS: Readonly<Record<number, ReadonlyArray<string>>> = { 1: ['format', 'writer', 'qemu'], 2: ['format', 'writer', 'qemu', 'layout', 'devices'] }

/**
 * Reads the fifth element. A stamp whose format is newer than {@link RUNTIME_FORMAT} is
 * `Unsupported`, naming its writer: it was written by a newer library that may have changed
 * what the fields mean.
 *
 * @since 0.1.0
 */
export const readStamp = (u: JsonObject): E.Either<DevplanError, RuntimeStamp> => {
  const format = u['format']
  const writer = u['writer']
  const qemu = u['qemu']
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) return fail('stamp.format', format, 'expected the format number (an integer from 1)')
  const by = typeof writer === 'string' ? writer : 'an unknown writer'
  if (format > RUNTIME_FORMAT) {
    return E.left({
      _tag: 'Unsupported',
      device: 'runtime file',
      reason: `written by ${by} in runtime format ${format}; ${RUNTIME_WRITER} reads formats up to ${RUNTIME_FORMAT}. Read it with ${by} or newer (which can also downgrade it)`
    })
  }
  if (typeof writer !== 'string' || writer === '') return fail('stamp.writer', writer, 'expected the name of the writer, e.g. "qemu-devplan/0.1.0"')
  if (typeof qemu !== 'string' || parseVersion(qemu) === undefined) return fail('stamp.qemu', qemu, 'expected the QEMU version the command line was rendered for, e.g. "7.2.0"')
  const keys = STAMP_KEYS[format] ?? []
  const unknown = Object.keys(u).filter((k) => !keys.includes(k))
  if (unknown.length > 0) return fail(child('stamp', unknown[0] ?? ''), u[unknown[0] ?? ''], `unknown stamp field (format ${format} has ${keys.join(', ')})`)
  if (format === 1) return E.right({ format, writer, qemu })
  return pipe(
    E.Do,
    E.apS('layout', decodeLayout(u['layout'])),
    E.apS('devices', decodeCmdDevices(u['devices'])),
    E.bimap(invalidInput, ({ layout, devices }) => ({ format, writer, qemu, layout, devices }))
  )
}

/** Each element of an array through `f`, stopping at the first problem. */
const traverse = <A>(items: ReadonlyArray<unknown>, f: (u: unknown, i: number) => E.Either<DevplanError, A>): E.Either<DevplanError, ReadonlyArray<A>> => {
  // A loop, not RA.traverseWithIndex, which copies the array so far at every element.
  const out: A[] = youngArray()
  for (let i = 0; i < items.length; i++) {
    const r = f(items[i], i)
    if (E.isLeft(r)) return r
    out.push(r.right)
  }
  return E.right(out)
}

const boundedArray = (u: unknown, path: string, max: number, what: string): E.Either<DevplanError, ReadonlyArray<unknown>> =>
  !Array.isArray(u) ? fail(path, u, `expected ${what}`) : u.length > max ? fail(path, `(${u.length} entries)`, `at most ${max} entries`) : E.right(u)

const readDisk = (u: unknown, i: number): E.Either<DevplanError, RuntimeDiskJson> => {
  const at = `disks[${i}]`
  if (!Array.isArray(u) || u.length !== 3) return fail(at, u, 'expected [disk_dict, link_path, uri_or_null]')
  const [dict, link, uri] = u as [unknown, unknown, unknown]
  if (!isPlainObject(dict)) return fail(at, dict, 'expected the disk dict as the first element')
  if (link !== null && typeof link !== 'string') return fail(`${at}.link`, link, 'expected the link path (a string)')
  if (uri !== null && typeof uri !== 'string') return fail(`${at}.uri`, uri, 'expected the userspace URI or null')
  const d = toJsonObject(dict, at)
  return E.isLeft(d) ? E.left(fromField(d.left)) : E.right(youngArray(d.right, link, uri))
}

const readNic = (u: unknown, i: number): E.Either<DevplanError, JsonObject> => {
  const r = toJsonObject(u, `nics[${i}]`, 'a NIC dict')
  return E.isLeft(r) ? E.left(fromField(r.left)) : E.right(r.right)
}

/**
 * A number Ganeti wrote into `kvm_cmd` (`-m <maxmem>`): a non-negative safe integer, whose
 * decimal string is exact and can never start with `-` and so never be read as an option.
 */
const isCmdNumber = (w: unknown): w is number => typeof w === 'number' && Number.isSafeInteger(w) && w >= 0 && !Object.is(w, -0)

const readCmd = (u: unknown): E.Either<DevplanError, ReadonlyArray<CmdWord>> => {
  if (!Array.isArray(u)) return fail('cmd', u, 'expected kvm_cmd, a list of strings (and integers, as Ganeti writes -m <maxmem>)')
  if (u.length > MAX_ARRAY) return fail('cmd', `(${u.length} entries)`, `at most ${MAX_ARRAY} entries`)
  const words: CmdWord[] = youngArray()
  for (let i = 0; i < u.length; i++) {
    const w: unknown = u[i]
    if (typeof w === 'string' || isCmdNumber(w)) words.push(w)
    else if (typeof w === 'number') return fail(`cmd[${i}]`, w, 'a number in kvm_cmd must be a non-negative integer of at most 2^53 - 1 (Ganeti writes -m <maxmem> as one)')
    else return fail(`cmd[${i}]`, w, 'expected a string or a non-negative integer')
  }
  return E.right(words)
}

/**
 * Checks the outer shape of a runtime file of any generation and copies it into fresh, plain
 * JSON (see {@link toJson}). Three-element files get `kvm_disks = []`, as Ganeti reads them.
 * Device dicts are not interpreted here; the stamp is, so that a newer file is refused first.
 *
 * @since 0.1.0
 */
export const readRuntimeJson = (u: unknown): E.Either<DevplanError, RuntimeJson> => {
  if (!Array.isArray(u) || u.length < 3 || u.length > 5) {
    return fail('', Array.isArray(u) ? `(an array of ${u.length})` : u, 'expected a runtime file: [kvm_cmd, kvm_nics, hvparams] or [kvm_cmd, kvm_nics, hvparams, kvm_disks] (plus a stamp)')
  }
  const [cmdU, nicsU, hvU, disksU, stampU] = u as [unknown, unknown, unknown, unknown, unknown]
  let stamp: JsonObject | undefined
  if (u.length === 5) {
    const s = toJson(stampU, 'stamp')
    if (E.isLeft(s)) return E.left(fromField(s.left))
    if (!isJsonObject(s.right)) return fail('stamp', stampU, 'expected the format stamp {"format", "writer", "qemu"} as the fifth element')
    const checked = readStamp(s.right)
    if (E.isLeft(checked)) return checked
    stamp = s.right
  }
  const cmd = readCmd(cmdU)
  if (E.isLeft(cmd)) return cmd
  // Plain checks, not E.chain: fp-ts's dual wrapper copies its arguments on every call.
  const nicList = boundedArray(nicsU, 'nics', MAX_DEVICES, 'kvm_nics, a list of NIC dicts')
  if (E.isLeft(nicList)) return nicList
  const nics = traverse(nicList.right, readNic)
  if (E.isLeft(nics)) return nics
  const hv = toJsonObject(hvU, 'hvparams', 'the hvparams dict')
  if (E.isLeft(hv)) return E.left(fromField(hv.left))
  const diskList = u.length === 3 ? E.right([]) : boundedArray(disksU, 'disks', MAX_DEVICES, 'kvm_disks, a list of [disk_dict, link, uri]')
  if (E.isLeft(diskList)) return diskList
  const disks = traverse(diskList.right, readDisk)
  if (E.isLeft(disks)) return disks
  return E.right(stamp === undefined ? youngArray(cmd.right, nics.right, hv.right, disks.right) : youngArray(cmd.right, nics.right, hv.right, disks.right, stamp))
}
