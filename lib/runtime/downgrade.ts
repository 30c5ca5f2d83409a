/**
 * Downgrading a runtime for an older reader — rolling back to a Ganeti without hvinfo, or to
 * Ganeti 2.16 — and saying, as data, what that reader cannot express. Nothing is dropped: every
 * device is still written (an older reader must know all of an instance's devices); the ones
 * it will treat differently are listed in `lost`, so a caller can refuse or proceed knowingly.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { BlockdevOptions } from '../block/node.js'
import { PCI_BUS } from '../bus/pci.js'
import type { Placed } from '../bus/address.js'
import { SCSI_BUS } from '../bus/scsi.js'
import { fieldError, formatError, type DevplanError } from '../errors.js'
import { pipe } from 'fp-ts/lib/function.js'
import { isRecord, runtimeArg, totalE } from '../total.js'
import { deviceId, legacyDeviceId, type IdKind } from '../ids.js'
import type { JsonObject } from '../qemu-opts.js'
import { runtimeHvparams } from './bus.js'
import { fixCmd, rewriteLosses } from './cmd-fixes.js'
import { encodeHvinfo, type HvinfoOrder } from './hvinfo.js'
import { omit, type RuntimeDiskJson, type RuntimeJson } from './json.js'
import { derivedGraph } from './rebuild.js'
import type { Runtime, RuntimeDisk, RuntimeNic } from './types.js'
import { legacyDriver } from './upgrade.js'

/**
 * The reader to downgrade for:
 * - `pre-hvinfo` (alias `ganeti-2.15`): Ganeti 2.10–2.15. Devices on `pci.0` get `"pci": <slot>`
 *   and lose hvinfo; the reader rebuilds their id (`hot<kind>-<uuid group>-pci-<slot>`) and
 *   driver (from hvparams) itself, and starts every other device the pre-hotplug way, placed
 *   by QEMU and not hot-pluggable.
 * - `ganeti-2.16`: Ganeti 2.16–3.x. hvinfo is kept; that reader hot-removes by the id it
 *   recomputes from the uuid (`disk-<three uuid groups>`) and tracks only `pci.0` and `scsi.0`.
 *
 * Both get four elements: no stamp, and no `blockdev`/`netdev` keys (Ganeti's `FromDict` raises
 * TypeError on a key it does not know); they derive a disk's nodes from its link or URI and open
 * their own taps.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface DowngradeTarget {
  readonly format: 'pre-hvinfo' | 'ganeti-2.15' | 'ganeti-2.16'
}

/**
 * A device the older reader cannot carry over as it is, and why.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface LostDevice {
  /**
   * The id the device is addressed by (its hvinfo id), its uuid when it has no placement, or
   * `kvm_cmd` for command-line words an older reader would rewrite, or for what it loses by this
   * library's rewrites of a Ganeti `kvm_cmd` (`-soundhw`, `-chroot`; since 0.2.0).
   */
  readonly device: string
  readonly reason: string
}

/**
 * The file for the older reader, and everything it cannot express.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface Downgraded {
  readonly json: RuntimeJson
  readonly lost: ReadonlyArray<LostDevice>
}

type Recorded = { readonly kind: IdKind; readonly uuid: string; readonly placed: Placed }

const PLACEMENT_NAME = { pci: 'PCI', scsi: 'SCSI', unit: 'IDE/floppy unit', isa: 'ISA', port: 'port' } as const

/** What a pre-hvinfo reader loses of a placed device; `pci` is the slot it keeps, if any. */
const preHvinfoLoss = (d: Recorded, hvparams: JsonObject): { readonly pci: number | undefined; readonly reasons: ReadonlyArray<string> } => {
  const a = d.placed.address
  const slot = a._tag === 'pci' && a.bus === PCI_BUS && a.function === 0 ? a.slot : undefined
  if (slot === undefined) {
    return { pci: undefined, reasons: [`its ${PLACEMENT_NAME[a._tag]} placement on ${a.bus} cannot be written as a pci slot: the older reader starts it unplaced (QEMU chooses) and cannot hot-plug it`] }
  }
  const reasons: string[] = []
  const legacy = legacyDeviceId(d.kind, d.uuid, slot)
  if (d.placed.id !== legacy) reasons.push(`its id ${d.placed.id} is not the legacy form the older reader recomputes (${legacy}): that reader could not hot-remove the running device`)
  const typeKey = d.kind === 'disk' ? 'disk_type' : 'nic_type'
  const type = typeof hvparams[typeKey] === 'string' ? (hvparams[typeKey] as string) : 'paravirtual'
  const driver = legacyDriver(d.kind, type)
  if (d.placed.driver !== driver) reasons.push(`its driver ${d.placed.driver} is not the one the older reader derives from hvparams.${typeKey} (${driver})`)
  return { pci: slot, reasons }
}

const ganeti216Loss = (d: Recorded): ReadonlyArray<string> => {
  const reasons: string[] = []
  const bus = d.placed.address.bus
  if (bus !== PCI_BUS && bus !== SCSI_BUS) reasons.push(`Ganeti 2.16 tracks only ${PCI_BUS} and ${SCSI_BUS}: its bus state (and so every hot-add) fails on a device on ${bus}`)
  const recomputed = deviceId(d.kind, d.uuid)
  if (d.placed.id !== recomputed) reasons.push(`Ganeti 2.16 hot-removes by the id it recomputes from the uuid (${recomputed}), not by the recorded ${d.placed.id}`)
  return reasons
}

/**
 * The recorded nodes as they are without their filter: a throttle filter with no limits changes
 * nothing a guest sees, so a disk under one is what an older reader opens when the nodes below
 * are (under the names the unfiltered graph gives them).
 *
 * @since 0.3.0
 * @internal
 */
export const unfiltered = (nodes: ReadonlyArray<BlockdevOptions>, top: string): ReadonlyArray<BlockdevOptions> => {
  const last = nodes[nodes.length - 1]
  if (last === undefined || last.driver !== 'throttle' || last['node-name'] !== top) return nodes
  const rename = (name: string): string => {
    const m = name.startsWith(`${top}-`) ? /^(a|b\d+)(-p)?$/.exec(name.slice(top.length + 1)) : null
    if (m === null) return name
    const format = m[1] === 'a' ? top : `${top}-${m[1] ?? ''}`
    return m[2] === undefined ? format : `${format}-file`
  }
  return nodes.slice(0, -1).map((n) => {
    const base = { ...n, 'node-name': rename(n['node-name']) }
    if (n.driver !== 'raw' && n.driver !== 'qcow2') return base
    const { backing, ...rest } = n
    return { ...rest, 'node-name': rename(n['node-name']), file: rename(n.file), ...(typeof backing === 'string' ? { backing: rename(backing) } : {}) }
  })
}

/** What an older reader, deriving the nodes itself, would open instead of the recorded ones. */
const backendLoss = (rt: Runtime, d: RuntimeDisk, i: number): ReadonlyArray<string> => {
  if (d.blockdev === undefined || d.placed === undefined) return []
  const hv = d.placed
  const derived = E.chain((h: Parameters<typeof derivedGraph>[2]) => derivedGraph(d, hv, h, `disks[${i}]`))(runtimeHvparams(rt))
  if (E.isLeft(derived)) return [`its recorded block nodes cannot be derived by the older reader (${formatError(derived.left)})`]
  const group = d.objects?.find((o) => o['qom-type'] === 'throttle-group')
  if (group !== undefined && group['qom-type'] === 'throttle-group' && Object.keys(group.limits).length > 0) {
    return [`its I/O limits (throttle group ${group.id}) are not applied by an older reader, which opens the disk without a throttle filter`]
  }
  return JSON.stringify(derived.right.nodes) === JSON.stringify(unfiltered(d.blockdev, hv.id))
    ? []
    : ['its recorded block nodes (format, backing chain, node options) differ from the raw image an older reader opens from the link or uri']
}

const nicBackendLoss = (n: RuntimeNic): ReadonlyArray<string> =>
  n.netdev !== undefined && n.netdev['type'] !== 'tap' ? [`its ${String(n.netdev['type'])} netdev: an older reader always connects a NIC through a tap it opens itself`] : []

/**
 * The runtime as an older reader needs it, with every device it cannot carry over listed in
 * `lost` (never silently dropped: the device is still in the file). For a runtime whose `lost`
 * is empty, `decodeRuntime(upgradeRuntime(json))` gives the runtime back, apart from what the
 * older format has no place for and the older reader re-derives identically: the stamp, the
 * recorded nodes, the recorded netdev (see the spec for the exact statement).
 *
 * A target whose format is not one of the three, or what is not a runtime, is a `Left`
 * (InvalidInput at `target.format` or `runtime`): a file is never written for a reader that
 * was not named.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, downgradeRuntime, formatError, planDevices, toRuntime } from 'qemu-devplan'
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
 * const down = pipe(runtime, E.chain((rt) => downgradeRuntime(rt, { format: 'ganeti-2.16' })))
 * if (E.isLeft(down)) throw new Error(formatError(down.left))
 * if (down.right.lost.length > 0) throw new Error(down.right.lost.map((l) => `${l.device}: ${l.reason}`).join('\n'))
 * console.log(JSON.stringify(down.right.json).length > 0, down.right.json.length) // true 4 (no stamp)
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const downgradeRuntime = (rt: Runtime, target: DowngradeTarget): E.Either<DevplanError, Downgraded> =>
  pipe(
    runtimeArg('runtime', rt),
    E.chain(() => totalE('target', () => formatOf(target))),
    E.chain((format) => totalE('runtime', () => E.right(downgradeTo(rt, format))))
  )

const FORMATS: ReadonlyArray<DowngradeTarget['format']> = ['pre-hvinfo', 'ganeti-2.15', 'ganeti-2.16']

const formatOf = (target: DowngradeTarget): E.Either<DevplanError, DowngradeTarget['format']> => {
  if (!isRecord(target)) return E.left(fieldError('target', target, 'expected { format: "pre-hvinfo" | "ganeti-2.15" | "ganeti-2.16" }'))
  const f = FORMATS.find((x) => x === target.format)
  return f === undefined ? E.left(fieldError('target.format', target.format, `expected one of ${FORMATS.map((x) => JSON.stringify(x)).join(', ')}`)) : E.right(f)
}

const downgradeTo = (rt: Runtime, format: DowngradeTarget['format']): Downgraded => {
  const pre = format !== 'ganeti-2.16'
  const lost: LostDevice[] = []
  const note = (device: string, reasons: ReadonlyArray<string>): void => {
    for (const reason of reasons) lost.push({ device, reason })
  }
  const placedDict = (kind: IdKind, uuid: string, placed: Placed | undefined, order: HvinfoOrder | undefined, extra: JsonObject, rest: JsonObject, more: ReadonlyArray<string>): JsonObject => {
    const name = placed?.id ?? uuid
    // A stale `pci` kept next to hvinfo is not written again: it would be read as the placement.
    const others = omit(rest, new Set(['uuid', 'mac', 'hvinfo', 'blockdev', 'objects', 'netdev', 'pci']))
    if (placed === undefined) {
      note(name, more)
      return pre ? { uuid, ...extra, ...others } : { uuid, ...extra, hvinfo: {}, ...others }
    }
    if (!pre) {
      note(name, [...ganeti216Loss({ kind, uuid, placed }), ...more])
      return { uuid, ...extra, hvinfo: encodeHvinfo(placed, order), ...others }
    }
    const loss = preHvinfoLoss({ kind, uuid, placed }, rt.hvparams)
    note(name, [...loss.reasons, ...more])
    return { uuid, ...extra, ...(loss.pci === undefined ? {} : { pci: loss.pci }), ...others }
  }
  const nics = rt.nics.map((n) => placedDict('nic', n.uuid, n.placed, n.hvinfoOrder, { mac: n.mac }, n.rest, nicBackendLoss(n)))
  const disks = rt.disks.map((d, i): RuntimeDiskJson => [placedDict('disk', d.uuid, d.placed, d.hvinfoOrder, {}, d.rest, backendLoss(rt, d, i)), d.link, d.uri])
  // Without the stamp, the file reads as Ganeti's: its upgrade would rewrite these words (they
  // can only come from kvm_extra, which this library renders verbatim).
  const fixed = fixCmd(rt.cmd)
  const changed = fixed.filter((w, i) => w !== rt.cmd[i])
  if (fixed.length !== rt.cmd.length || changed.length > 0) {
    note('kvm_cmd', ['it holds options that Ganeti\'s upgrade rewrites (-localtime, -balloon, -vnc tls/x509): read back by an older reader, the command line changes'])
  }
  // A runtime Ganeti wrote holds the upgrade's new forms in place of its own: say what of the
  // old ones an older reader misses (a stamped command line was rendered, not rewritten).
  if (rt.stamp === undefined) note('kvm_cmd', rewriteLosses(rt.cmd, rt.hvparams))
  return { json: [rt.cmd, nics, rt.hvparams, disks], lost }
}
