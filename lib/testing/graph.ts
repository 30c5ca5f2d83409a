/**
 * Reconfiguring a running graph in the scripted QEMU: `block_resize`, `blockdev-snapshot` and
 * `transaction` of snapshots (all or nothing), and `query-named-block-nodes` with sizes and
 * backing depths. Texts measured on QEMU 7.2 and 10.0 (they agree), in QEMU's order of checks.
 */
import type { Draft } from 'immer'
import type { QmpReply } from '../qmp/executor.js'
import { busyAsBacking, holder, parents } from './block.js'
import { generic, isReply, need, ok, type Args, type Ctx, type Handler } from './context.js'
import type { ScriptedNode, ScriptedState } from './state.js'

type S = Draft<ScriptedState> | ScriptedState

/** Filters pass their `file` child's size and chain through (`throttle`, and the jobs' own). */
const FILTERS: ReadonlyArray<string> = ['throttle', 'copy-on-read', 'blkdebug']
/** Formats that take a backing image: a snapshot's overlay must be one. */
const BACKING: ReadonlyArray<string> = ['qcow2', 'qed', 'vmdk', 'vhdx', 'qcow']

const isRecord = (u: unknown): u is Args => typeof u === 'object' && u !== null && !Array.isArray(u)
const node = (s: S, name: string): ScriptedNode | undefined => s.nodes.find((n) => n.name === name)
const child = (n: ScriptedNode | undefined, role: string): string | undefined => n?.children.find((c) => c.role === role)?.node

/** The child a filter passes through: `file`, or a blkdebug's `image`. */
const filtered = (n: ScriptedNode): string | undefined => (FILTERS.includes(n.driver) ? child(n, 'file') ?? child(n, 'image') : undefined)

/** QEMU's lookup by device or node name. */
export const lookup = (s: S, device: string | undefined, nodeName: string | undefined): ScriptedNode | QmpReply =>
  s.nodes.find((n) => n.name === nodeName || n.name === device) ?? generic(`Cannot find device='${device ?? ''}' nor node-name='${nodeName ?? ''}'`)

export const isNode = (u: ScriptedNode | QmpReply): u is ScriptedNode => !('_tag' in u)

/** The virtual size a node shows: its own once resized, a filter's child's, else the default. */
export const sizeOf = (s: S, name: string, ctx: Pick<Ctx, 'imageBytes'>): number => {
  const n = node(s, name)
  if (n?.sizeBytes !== undefined) return n.sizeBytes
  const below = n === undefined ? undefined : filtered(n)
  return below === undefined ? ctx.imageBytes : sizeOf(s, below, ctx)
}

/** `backing_file_depth`: a filter counts its child, a format its backing chain. */
const depth = (s: S, name: string, seen = 0): number => {
  const n = node(s, name)
  if (n === undefined || seen > 64) return 0
  const next = FILTERS.includes(n.driver) ? filtered(n) : child(n, 'backing')
  return next === undefined ? 0 : 1 + depth(s, next, seen + 1)
}

const resize: Handler = (d, a) => {
  const device = typeof a['device'] === 'string' ? a['device'] : undefined
  const name = typeof a['node-name'] === 'string' ? a['node-name'] : undefined
  const target = lookup(d, device, name)
  if (!isNode(target)) return target
  const size = a['size']
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) return generic("Parameter 'size' expects a >0 size")
  if (size % 512 !== 0) return generic('The new size must be a multiple of 512')
  // A protocol node under a format node: the format node does not share 'resize'.
  const format = parents(d, target.name).find((p) => !FILTERS.includes(p.driver) && p.children.some((c) => c.role === 'file' && c.node === target.name))
  if (format !== undefined) {
    return generic(`Permission conflict on node '${target.name}': permissions 'resize' are both required by an unnamed block device (uses node '${target.name}' as 'root' child) and unshared by node '${format.name}' (uses node '${target.name}' as 'file' child).`)
  }
  // The new size goes down through filters to the first format node; the nodes above keep theirs (measured).
  for (let n: ScriptedNode | undefined = target, hops = 0; n !== undefined && hops < 64; hops++) {
    const draft = d.nodes.find((x) => x.name === n?.name)
    if (draft !== undefined) draft.sizeBytes = size
    n = node(d, filtered(n) ?? '')
  }
  return ok()
}

/** One `blockdev-snapshot` on the draft: `overlay` over `node`, `node` read-only, its parents reading `overlay`. */
const snapshot = (d: Draft<ScriptedState>, a: Args): QmpReply => {
  const name = need(a, 'node')
  if (isReply(name)) return name
  const old = lookup(d, name, name)
  if (!isNode(old)) return old
  const busy = busyAsBacking(d, old.name)
  if (busy !== undefined) return busy
  const over = need(a, 'overlay')
  if (isReply(over)) return over
  const overlay = lookup(d, over, over)
  if (!isNode(overlay)) return overlay
  if (holder(d, overlay.name) !== undefined || parents(d, overlay.name).length > 0) return generic('The overlay is already in use')
  // The model cannot read an image's header: an overlay added without `backing: null` may name a backing file.
  if (child(overlay, 'backing') !== undefined || (overlay.backingNull !== true && BACKING.includes(overlay.driver))) return generic('The overlay already has a backing image')
  if (!BACKING.includes(overlay.driver)) return generic('The overlay does not support backing images')
  for (const p of d.nodes) for (const c of p.children) if (c.node === old.name) c.node = overlay.name
  for (const dev of d.devices) if (dev.drive === old.name) dev.drive = overlay.name
  const o = d.nodes.find((n) => n.name === overlay.name)
  const b = d.nodes.find((n) => n.name === old.name)
  if (o !== undefined) {
    o.children.push({ role: 'backing', node: old.name })
    delete o.backingNull
  }
  if (b !== undefined) b.readOnly = true
  return ok()
}

const blockdevSnapshot: Handler = (d, a) => snapshot(d, a)

/** Each action in turn on the draft; the executor drops the draft of a command that failed, so none stays. */
const transaction: Handler = (d, a) => {
  const actions = Array.isArray(a['actions']) ? a['actions'] : []
  for (const act of actions) {
    const rec = isRecord(act) ? act : {}
    const type = rec['type']
    if (type !== 'blockdev-snapshot') return generic(`Parameter 'type' does not accept value '${String(type)}'`)
    const data = rec['data']
    const r = snapshot(d, isRecord(data) ? data : {})
    if (r._tag === 'Error') return r
  }
  return ok()
}

const namedNodes: Handler = (d, _a, ctx) =>
  ok(
    d.nodes.map((n) => ({
      'node-name': n.name,
      drv: n.driver,
      ro: n.readOnly,
      file: n.filename,
      backing_file_depth: depth(d, n.name),
      image: { 'virtual-size': sizeOf(d, n.name, ctx), filename: n.filename, format: n.driver },
      cache: { writeback: true, direct: n.cache.direct, 'no-flush': n.cache.noFlush }
    }))
  )

export const GRAPH: Readonly<Record<string, Handler>> = {
  block_resize: resize,
  'blockdev-snapshot': blockdevSnapshot,
  transaction,
  'query-named-block-nodes': namedNodes
}
