/**
 * The disk and NIC dicts of a runtime file ⇄ {@link RuntimeDisk} / {@link RuntimeNic}. The keys
 * this library reads (`uuid`, `mac`, `hvinfo`, `blockdev`, `netdev`) are checked strictly, since
 * they are rendered into the command line and `device_add`; every other key is the
 * orchestrator's (Ganeti keeps `nicparams`, `logical_id`, … there) and is kept verbatim, in its
 * order, in `rest`.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { sequenceT } from 'fp-ts/lib/Apply.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as RA from 'fp-ts/lib/ReadonlyArray.js'
import type { BlockdevOptions } from '../block/node.js'
import type { ObjectOptions } from '../block/object.js'
import { decodeObjects } from './objects.js'
import type { FieldError } from '../errors.js'
import { isValidId } from '../ids.js'
import { decodeHvinfo, encodeHvinfo, type HvinfoOrder } from './hvinfo.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import { child, foreignKey, isJsonObject, omit, toJson, type RuntimeDiskJson } from './json.js'
import { netdevBackend } from './netdev.js'
import type { RuntimeDisk, RuntimeNic } from './types.js'

/**
 * The keys of a NIC dict this library interprets.
 *
 * @since 0.1.0
 */
export const NIC_KEYS: ReadonlySet<string> = new Set(['uuid', 'mac', 'hvinfo', 'netdev'])

/**
 * The keys of a disk dict this library interprets.
 *
 * @since 0.1.0
 */
export const DISK_KEYS: ReadonlySet<string> = new Set(['uuid', 'hvinfo', 'blockdev', 'objects'])

const UUID = /^[A-Za-z0-9._-]{1,64}$/
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/
const MAX_NODES = 64
/** The members each block driver the library writes must have, with the kind of value. */
const REQUIRED: Readonly<Record<string, ReadonlyArray<readonly [string, 'string' | 'number' | 'object']>>> = {
  file: [['filename', 'string']],
  host_device: [['filename', 'string']],
  host_cdrom: [['filename', 'string']],
  http: [['url', 'string']],
  https: [['url', 'string']],
  raw: [['file', 'string']],
  qcow2: [['file', 'string']],
  rbd: [['pool', 'string'], ['image', 'string']],
  gluster: [['volume', 'string'], ['path', 'string'], ['server', 'object']],
  nbd: [['server', 'object']],
  iscsi: [['transport', 'string'], ['portal', 'string'], ['target', 'string'], ['lun', 'number']],
  throttle: [['file', 'string'], ['throttle-group', 'string']]
}
const BLOCK_DRIVERS = Object.keys(REQUIRED)

/** The member a node of its driver lacks (or has of the wrong kind), if any. */
const missingMember = (n: JsonObject): string | undefined => {
  const driver = n['driver']
  const required = typeof driver === 'string' && Object.prototype.hasOwnProperty.call(REQUIRED, driver) ? REQUIRED[driver] : undefined
  if (required === undefined) return 'driver'
  return required.find(([k, kind]) => (kind === 'object' ? typeof n[k] !== 'object' || n[k] === null : typeof n[k] !== kind))?.[0]
}

/** A node with its driver's members: what `-blockdev` and `blockdev-add` are given. */
const isNode = (n: JsonObject): n is JsonObject & BlockdevOptions => missingMember(n) === undefined

const err = (path: string, value: unknown, message: string): ReadonlyArray<FieldError> => [{ path, value, message }]

/**
 * Recorded block nodes: children first, each referencing only earlier ones, the top named `top`;
 * every key a QAPI member name.
 *
 * @since 0.2.0
 */
export const decodeBlockdev = (u: Json, top: string, at: string): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<BlockdevOptions>> => {
  if (!Array.isArray(u) || u.length === 0 || u.length > MAX_NODES) return E.left(err(at, u, `expected the list of block nodes (1 to ${MAX_NODES})`))
  const seen = new Set<string>()
  const checked: BlockdevOptions[] = []
  for (let i = 0; i < u.length; i++) {
    const n: Json | undefined = u[i]
    const p = child(at, i)
    if (!isJsonObject(n)) return E.left(err(p, n, 'expected a block node (an object)'))
    const name = n['node-name']
    if (typeof name !== 'string' || !isValidId(name) || seen.has(name)) return E.left(err(child(p, 'node-name'), name, 'expected a valid node-name, not used by an earlier node'))
    if (typeof n['driver'] !== 'string' || !BLOCK_DRIVERS.includes(n['driver'])) return E.left(err(child(p, 'driver'), n['driver'], `expected one of ${BLOCK_DRIVERS.join(', ')}`))
    const missing = missingMember(n)
    if (missing !== undefined || !isNode(n)) return E.left(err(child(p, missing ?? 'driver'), n[missing ?? 'driver'], `a ${String(n['driver'])} node needs ${missing ?? 'its members'}`))
    const badKey = foreignKey(n, p)
    if (badKey !== undefined) return E.left(err(badKey, undefined, 'is not a QAPI member name: recorded nodes are rendered into -blockdev, where such a key would change the options'))
    for (const ref of ['file', 'backing']) {
      const r = n[ref]
      // A qcow2 base's `backing: null` says it has none.
      if (r === null && ref === 'backing' && n['driver'] === 'qcow2') continue
      if (r !== undefined && (typeof r !== 'string' || !seen.has(r))) return E.left(err(child(p, ref), r, 'expected the node-name of an earlier node'))
    }
    seen.add(name)
    checked.push(n)
  }
  const last = checked[checked.length - 1]
  if (last === undefined || last['node-name'] !== top) return E.left(err(at, u, `expected the last (top) node to be named ${JSON.stringify(top)}, the device's id`))
  return E.right(checked)
}

const uuidOf = (d: JsonObject, at: string): E.Either<ReadonlyArray<FieldError>, string> => {
  const uuid = d['uuid']
  return typeof uuid === 'string' && UUID.test(uuid) ? E.right(uuid) : E.left(err(child(at, 'uuid'), uuid, 'expected the device uuid (letters, digits, ".", "_", "-")'))
}

/** The key order worth keeping: only Ganeti's upgrade order differs from the default. */
const orderOf = (hv: readonly [unknown, HvinfoOrder] | undefined): { readonly hvinfoOrder?: HvinfoOrder } =>
  hv !== undefined && hv[1] === 'addr-bus' ? { hvinfoOrder: 'addr-bus' } : {}

/** Both results, or the errors of either or both: io-ts's field errors accumulate. */
const both = <A, B>(a: E.Either<ReadonlyArray<FieldError>, A>, b: E.Either<ReadonlyArray<FieldError>, B>): E.Either<ReadonlyArray<FieldError>, readonly [A, B]> =>
  sequenceT(E.getApplicativeValidation(RA.getSemigroup<FieldError>()))(a, b)

/**
 * One NIC dict (already upgraded).
 *
 * @since 0.1.0
 */
export const decodeNicDict = (d: JsonObject, at: string): E.Either<ReadonlyArray<FieldError>, RuntimeNic> => {
  const mac = d['mac']
  const macE: E.Either<ReadonlyArray<FieldError>, string> = typeof mac === 'string' && MAC.test(mac) ? E.right(mac) : E.left(err(child(at, 'mac'), mac, 'expected a MAC address such as "aa:00:00:35:d5:1f"'))
  const head = both(both(uuidOf(d, at), macE), decodeHvinfo(d['hvinfo'], child(at, 'hvinfo')))
  if (E.isLeft(head)) return head
  const [[uuid, macS], hv] = head.right
  const placed = hv?.[0]
  const netdev = d['netdev']
  if (netdev !== undefined) {
    if (!isJsonObject(netdev) || placed === undefined) return E.left(err(child(at, 'netdev'), netdev, 'expected the netdev options object of a placed NIC'))
    const checked = netdevBackend(netdev, placed, macS)
    if (E.isLeft(checked)) return E.left(err(child(at, 'netdev'), netdev, checked.left))
  }
  return E.right({ uuid, mac: macS, placed, ...orderOf(hv), netdev: isJsonObject(netdev) ? netdev : undefined, rest: omit(d, NIC_KEYS) })
}

/**
 * One `[disk_dict, link, uri]` entry (already upgraded). A `null` link reads as `""`.
 *
 * @since 0.1.0
 */
export const decodeDiskEntry = ([d, link, uri]: RuntimeDiskJson, at: string): E.Either<ReadonlyArray<FieldError>, RuntimeDisk> => {
  const head = both(uuidOf(d, at), decodeHvinfo(d['hvinfo'], child(at, 'hvinfo')))
  if (E.isLeft(head)) return head
  const [uuid, hv] = head.right
  const placed = hv?.[0]
  const mode = d['mode']
  if (mode !== undefined && mode !== 'rw' && mode !== 'ro') return E.left(err(child(at, 'mode'), mode, 'expected "rw" or "ro"'))
  const raw = d['blockdev']
  let blockdev: ReadonlyArray<BlockdevOptions> | undefined
  if (raw !== undefined) {
    if (placed === undefined) return E.left(err(child(at, 'blockdev'), raw, 'recorded block nodes need a recorded placement (hvinfo)'))
    const b = decodeBlockdev(raw, placed.id, child(at, 'blockdev'))
    if (E.isLeft(b)) return b
    blockdev = b.right
  }
  const rawObjects = d['objects']
  let objects: ReadonlyArray<ObjectOptions> | undefined
  if (rawObjects !== undefined) {
    if (blockdev === undefined) return E.left(err(child(at, 'objects'), rawObjects, 'recorded objects belong to recorded block nodes (blockdev)'))
    const o = decodeObjects(rawObjects, child(at, 'objects'))
    if (E.isLeft(o)) return o
    objects = o.right
  }
  const ids = new Set((objects ?? []).map((o) => o.id))
  const orphan = (blockdev ?? []).findIndex((n) => n.driver === 'throttle' && !ids.has(n['throttle-group']))
  if (orphan >= 0) return E.left(err(child(child(child(at, 'blockdev'), orphan), 'throttle-group'), (blockdev ?? [])[orphan], 'names no recorded throttle-group object'))
  if ((link ?? '').includes('\0') || (uri ?? '').includes('\0')) return E.left(err(at, [link, uri], 'a NUL byte in the link or uri'))
  return E.right({ uuid, placed, ...orderOf(hv), blockdev, ...(objects === undefined ? {} : { objects }), link: link ?? '', uri, rest: omit(d, DISK_KEYS) })
}

/**
 * A NIC as its dict: the interpreted keys first, then `rest` in its order.
 *
 * @since 0.1.0
 */
export const encodeNicDict = (n: RuntimeNic): JsonObject => ({
  uuid: n.uuid,
  mac: n.mac,
  hvinfo: n.placed === undefined ? {} : encodeHvinfo(n.placed, n.hvinfoOrder),
  ...(n.netdev === undefined ? {} : { netdev: n.netdev }),
  ...omit(n.rest, NIC_KEYS)
})

/**
 * A disk as its `[dict, link, uri]` entry.
 *
 * @since 0.1.0
 */
export const encodeDiskEntry = (d: RuntimeDisk): RuntimeDiskJson => [
  {
    uuid: d.uuid,
    hvinfo: d.placed === undefined ? {} : encodeHvinfo(d.placed, d.hvinfoOrder),
    // Recorded nodes are plain data: the copy cannot fail.
    ...(d.blockdev === undefined ? {} : { blockdev: pipe(toJson(d.blockdev, 'blockdev'), E.getOrElseW(() => null)) }),
    ...(d.objects === undefined ? {} : { objects: pipe(toJson(d.objects, 'objects'), E.getOrElseW(() => null)) }),
    ...omit(d.rest, DISK_KEYS)
  },
  d.link,
  d.uri
]
