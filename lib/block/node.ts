/**
 * Block nodes as `-blockdev` and `blockdev-add` take them (QAPI `BlockdevOptions`), and the
 * graph of one device: a format node (raw, or qcow2 with its backing chain) over a protocol
 * node. Each node is named explicitly so that QEMU's `query-named-block-nodes` can be compared
 * with the plan, and so that teardown can address every node it created.
 *
 * @since 0.1.0
 */
import type { DiskAio } from '../hvparams.js'
import { backingNodeName, protocolNodeName } from '../ids.js'
import type { CacheSettings } from './cache.js'
import { throttleGroupId, type ObjectOptions, type SecretObject, type TlsCredsObject } from './object.js'
import type { ThrottleLimits } from './throttle.js'
import type { RemoteSource } from './uri.js'

/**
 * Where an image lives.
 *
 * @since 0.1.0
 * @category plan
 */
export type ImageSource =
  | { readonly _tag: 'local'; readonly driver: 'file' | 'host_device' | 'host_cdrom'; readonly path: string }
  | { readonly _tag: 'url'; readonly driver: 'http' | 'https'; readonly url: string; readonly sslverify?: boolean }
  | { readonly _tag: 'remote'; readonly remote: RemoteSource; readonly objects?: ReadonlyArray<SourceObject> }

/**
 * An object a protocol node names: the secret of its key or password, the TLS credentials of an
 * NBD client. Since 0.3.0.
 *
 * @since 0.3.0
 * @category plan
 */
export type SourceObject = SecretObject | TlsCredsObject

/**
 * The driver of a format node: `raw`, or `qcow2`, the only one that may have a backing chain.
 * `-blockdev` never probes an image, so the spec must say which (`raw` unless given).
 *
 * @since 0.1.0
 * @category plan
 */
export type ImageFormat = 'raw' | 'qcow2'

/**
 * Options every node carries.
 *
 * @since 0.1.0
 */
export type NodeCommon = {
  readonly 'node-name': string
  readonly 'read-only'?: boolean
  readonly cache?: { readonly direct: boolean; readonly 'no-flush': boolean }
  readonly discard?: 'ignore' | 'unmap'
}

/**
 * A protocol node.
 *
 * @since 0.1.0
 * @category plan
 */
export type ProtocolNode =
  | ({ readonly driver: 'file' | 'host_device' | 'host_cdrom'; readonly filename: string; readonly aio?: DiskAio } & NodeCommon)
  | ({ readonly driver: 'http' | 'https'; readonly url: string; readonly sslverify?: boolean } & NodeCommon)
  | (RemoteSource & NodeCommon)

/**
 * A format node over a protocol node (`file` is that node's name). A qcow2 node names its backing
 * image's node, or `null` at the base of its chain: QEMU then opens nothing the image header
 * names (since 0.3.0; before, a chain without explicit backing was left to the header). A raw
 * node takes no `backing` at all ("Parameter 'backing' is unexpected").
 *
 * @since 0.1.0
 * @category plan
 */
export type FormatNode = { readonly driver: ImageFormat; readonly file: string; readonly backing?: string | null } & NodeCommon

/**
 * A `throttle` filter: the stable top of a disk's graph. The device stays attached to it while
 * the layers below change (a snapshot's overlay, a mirror's target), and its group holds the
 * disk's limits (none is no limit).
 *
 * @since 0.3.0
 * @category plan
 */
export type FilterNode = { readonly driver: 'throttle'; readonly file: string; readonly 'throttle-group': string } & NodeCommon

/**
 * Any one node, as a `-blockdev` option or as the arguments of `blockdev-add` (the same object
 * serves both, so a hot-added disk gets the nodes it would have had at start).
 *
 * @since 0.1.0
 * @category plan
 */
export type BlockdevOptions = ProtocolNode | FormatNode | FilterNode

/**
 * One device's nodes, children before parents (the order `-blockdev` and `blockdev-add` need);
 * the last is the top node the device's `drive` names.
 *
 * Ownership is structural: every node in `nodes` is added on its own (`-blockdev`,
 * `blockdev-add`), so it is the monitor's and is deleted by `blockdev-del`, top first. A child
 * written inline in its parent's options belongs to the parent and goes with it; QEMU refuses
 * to delete it ("Node … is not owned by the monitor").
 *
 * @since 0.1.0
 * @category plan
 */
export interface BlockGraph {
  readonly top: string
  readonly nodes: ReadonlyArray<BlockdevOptions>
  /**
   * The objects the nodes name (a throttle group, secrets, TLS credentials): created before
   * the nodes and deleted after them. Absent: none. Since 0.3.0.
   */
  readonly objects?: ReadonlyArray<ObjectOptions>
}

/**
 * Everything a graph depends on.
 *
 * @since 0.1.0
 */
export interface ImageSpec {
  readonly source: ImageSource
  readonly format: ImageFormat
  /** Explicit backing chain, nearest first; empty lets QEMU follow the image header. */
  readonly backing: ReadonlyArray<{ readonly source: ImageSource; readonly format: ImageFormat }>
  readonly readOnly: boolean
  /** Cache, aio and discard are left to QEMU's defaults when absent (CD-ROMs). */
  readonly cache?: CacheSettings
  readonly aio?: DiskAio
  readonly discard?: 'ignore' | 'unmap'
  /**
   * Present: the graph has a `throttle` filter on top, named `top`, with its own group holding
   * these limits (`{}`: none yet). Absent: the format node is the top (CD-ROMs, floppies,
   * pass-through disks, targets before 6.2). Since 0.3.0.
   */
  readonly throttle?: ThrottleLimits
  /**
   * The base of a qcow2 chain follows its image header instead of `backing: null`: key=value
   * (targets before 6.2) has no null, and its `backing=` is deprecated. Since 0.3.0.
   */
  readonly headerBacking?: true
}

/**
 * The node-names of one image layer of a filtered graph: the format node `<top>-<tag>` and its
 * protocol node `<top>-<tag>-p`. Tags: `a` the spec's image, `b1`…`b9` its backing chain,
 * `s1`… snapshot overlays; a 23-character disk id leaves room for `-s9999-p`.
 *
 * @since 0.3.0
 * @category plan
 */
export const layerNames = (top: string, tag: string): { readonly format: string; readonly protocol: string } => ({ format: `${top}-${tag}`, protocol: `${top}-${tag}-p` })

// The node builders assign their keys in order onto one object instead of spreading optional
// ones together: a plan builds three or more nodes per disk, and the temporary objects of
// conditional spreads cost more than the rest of the graph (measured with bench/profile.ts).
type Building = { [key: string]: unknown }

/** The options every node carries, in their order, onto `o`. */
const withCommon = (o: Building, name: string, spec: ImageSpec, readOnly: boolean): void => {
  o['node-name'] = name
  if (readOnly) o['read-only'] = true
  if (spec.cache !== undefined) o['cache'] = { direct: spec.cache.direct, 'no-flush': spec.cache.noFlush }
  // discard must be set on every node: referenced nodes do not inherit it, and a protocol node
  // without discard=unmap drops the guest's discards.
  if (spec.discard !== undefined) o['discard'] = spec.discard
}

const protocolNode = (name: string, source: ImageSource, spec: ImageSpec, readOnly: boolean): ProtocolNode => {
  switch (source._tag) {
    case 'local': {
      const o: Building = { driver: source.driver }
      withCommon(o, name, spec, readOnly)
      o['filename'] = source.path
      if (spec.aio !== undefined) o['aio'] = spec.aio
      return o as ProtocolNode
    }
    case 'url': {
      // curl cannot write: read-only here, and (the disk's mode being ro) on every node above.
      const o: Building = { driver: source.driver }
      withCommon(o, name, spec, true)
      o['url'] = source.url
      if (source.driver === 'https' && source.sslverify === false) o['sslverify'] = false
      return o as ProtocolNode
    }
    case 'remote': {
      const o: Building = { ...source.remote }
      withCommon(o, name, spec, readOnly)
      return o as ProtocolNode
    }
  }
}

/** One image of a chain, with the names of its two nodes. */
interface Layer {
  readonly format: string
  readonly protocol: string
  readonly source: ImageSource
  readonly driver: ImageFormat
  readonly readOnly: boolean
}

const formatNode = (layer: Layer, below: string | null, spec: ImageSpec): FormatNode => {
  const o: Building = { driver: layer.driver }
  withCommon(o, layer.format, spec, layer.readOnly)
  o['file'] = layer.protocol
  // Nothing is probed: a qcow2 base says it has no backing image.
  if (layer.driver === 'qcow2' && !(below === null && spec.headerBacking === true)) o['backing'] = below
  return o as FormatNode
}

/**
 * The nodes of one image, over the nodes of the image below it (`below`: its format node's
 * name, `null` at the base of a qcow2 chain).
 *
 * @since 0.3.0
 * @category plan
 */
export const layerNodes = (layer: Layer, below: string | null, spec: ImageSpec): ReadonlyArray<BlockdevOptions> => [
  protocolNode(layer.protocol, layer.source, spec, layer.readOnly),
  formatNode(layer, below, spec)
]

/** The names of the image at `depth` of a chain (0: the spec's own image). */
const namesAt = (top: string, filtered: boolean, depth: number): { readonly format: string; readonly protocol: string } => {
  if (filtered) return layerNames(top, depth === 0 ? 'a' : `b${depth}`)
  const format = depth === 0 ? top : backingNodeName(top, depth)
  return { format, protocol: protocolNodeName(format) }
}

/**
 * The nodes of one device whose top node is called `top`: with `spec.throttle`, a `throttle`
 * filter named `top` over the spec's image `<top>-a`; without, the image's format node is the
 * top (the names this library always gave those).
 *
 * @since 0.1.0
 */
export const blockGraph = (top: string, spec: ImageSpec): BlockGraph => {
  const filtered = spec.throttle !== undefined
  const nodes: BlockdevOptions[] = []
  // Deepest image first, so every node exists before the node that references it.
  let below: string | null = null
  for (let depth = spec.backing.length; depth >= 0; depth--) {
    const image = depth === 0 ? spec : spec.backing[depth - 1]
    if (image === undefined) continue
    const { format, protocol } = namesAt(top, filtered, depth)
    const layer: Layer = {
      format,
      protocol,
      source: image.source,
      driver: image.format,
      readOnly: depth === 0 ? spec.readOnly : true
    }
    nodes.push(protocolNode(layer.protocol, layer.source, spec, layer.readOnly), formatNode(layer, below, spec))
    below = format
  }
  // Only the spec's own image is remote (a backing chain is local): its secrets and TLS
  // credentials come first, before anything that could name them.
  const objects: ObjectOptions[] = []
  if (spec.source._tag === 'remote' && spec.source.objects !== undefined) objects.push(...spec.source.objects)
  for (const b of spec.backing) if (b.source._tag === 'remote' && b.source.objects !== undefined) objects.push(...b.source.objects)
  if (spec.throttle === undefined) return objects.length > 0 ? { top, nodes, objects } : { top, nodes }
  const group = throttleGroupId(top)
  const filter: Building = { driver: 'throttle' }
  withCommon(filter, top, spec, spec.readOnly)
  filter['file'] = namesAt(top, true, 0).format
  filter['throttle-group'] = group
  nodes.push(filter as FilterNode)
  objects.push({ 'qom-type': 'throttle-group', id: group, limits: spec.throttle })
  return { top, nodes, objects }
}

/**
 * Every node-name of a graph, top first: the order in which `blockdev-del` can remove them.
 *
 * @since 0.1.0
 */
export const teardownOrder = (g: BlockGraph): ReadonlyArray<string> => g.nodes.map((n) => n['node-name']).reverse()

/**
 * The node a graph's device reads through, below its filter: what `blockdev-mirror` replaces and
 * `blockdev-snapshot` puts an overlay on. The top itself when the graph has no filter.
 *
 * @since 0.3.0
 * @category plan
 */
export const activeLayer = (g: BlockGraph): string => {
  const top = g.nodes.find((n) => n['node-name'] === g.top)
  return top !== undefined && top.driver === 'throttle' ? top.file : g.top
}
