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
import type { RemoteSource } from './uri.js'

/**
 * Where an image lives.
 *
 * @since 0.1.0
 * @category plan
 */
export type ImageSource =
  | { readonly _tag: 'local'; readonly driver: 'file' | 'host_device' | 'host_cdrom'; readonly path: string }
  | { readonly _tag: 'url'; readonly driver: 'http' | 'https'; readonly url: string }
  | { readonly _tag: 'remote'; readonly remote: RemoteSource }

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
  | ({ readonly driver: 'http' | 'https'; readonly url: string } & NodeCommon)
  | (RemoteSource & NodeCommon)

/**
 * A format node over a protocol node (`file` is that node's name).
 *
 * @since 0.1.0
 * @category plan
 */
export type FormatNode = { readonly driver: ImageFormat; readonly file: string; readonly backing?: string } & NodeCommon

/**
 * Any one node, as a `-blockdev` option or as the arguments of `blockdev-add` (the same object
 * serves both, so a hot-added disk gets the nodes it would have had at start).
 *
 * @since 0.1.0
 * @category plan
 */
export type BlockdevOptions = ProtocolNode | FormatNode

/**
 * One device's nodes, children before parents (the order `-blockdev` and `blockdev-add` need);
 * the last is the top node the device's `drive` names.
 *
 * @since 0.1.0
 * @category plan
 */
export interface BlockGraph {
  readonly top: string
  readonly nodes: ReadonlyArray<BlockdevOptions>
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
}

const common = (name: string, spec: ImageSpec, readOnly: boolean): NodeCommon => ({
  'node-name': name,
  ...(readOnly ? { 'read-only': true } : {}),
  ...(spec.cache !== undefined ? { cache: { direct: spec.cache.direct, 'no-flush': spec.cache.noFlush } } : {}),
  // discard must be set on every node: referenced nodes do not inherit it, and a protocol node
  // without discard=unmap drops the guest's discards.
  ...(spec.discard !== undefined ? { discard: spec.discard } : {})
})

const protocolNode = (name: string, source: ImageSource, spec: ImageSpec, readOnly: boolean): ProtocolNode => {
  switch (source._tag) {
    case 'local':
      return {
        driver: source.driver,
        ...common(name, spec, readOnly),
        filename: source.path,
        ...(spec.aio !== undefined ? { aio: spec.aio } : {})
      }
    case 'url':
      return { driver: source.driver, ...common(name, spec, true), url: source.url }
    case 'remote':
      return { ...source.remote, ...common(name, spec, readOnly) }
  }
}

/**
 * The nodes of one device whose top node is called `top`.
 *
 * @since 0.1.0
 */
export const blockGraph = (top: string, spec: ImageSpec): BlockGraph => {
  const chain = [{ name: top, source: spec.source, format: spec.format, readOnly: spec.readOnly }].concat(
    spec.backing.map((b, i) => ({ name: backingNodeName(top, i + 1), source: b.source, format: b.format, readOnly: true }))
  )
  // Deepest image first, so every node exists before the node that references it.
  const nodes = chain
    .map((image, i): ReadonlyArray<BlockdevOptions> => {
      const below = chain[i + 1]
      const fmt: FormatNode = {
        driver: image.format,
        ...common(image.name, spec, image.readOnly),
        file: protocolNodeName(image.name),
        ...(below !== undefined ? { backing: below.name } : {})
      }
      return [protocolNode(protocolNodeName(image.name), image.source, spec, image.readOnly), fmt]
    })
    .reverse()
    .flat()
  return { top, nodes }
}

/**
 * Every node-name of a graph, top first: the order in which `blockdev-del` can remove them.
 *
 * @since 0.1.0
 */
export const teardownOrder = (g: BlockGraph): ReadonlyArray<string> => g.nodes.map((n) => n['node-name']).reverse()
