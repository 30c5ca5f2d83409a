/**
 * The image a running disk is copied to by a mirror or a clone: a request naming the disk and
 * the image the caller created, and the target's two nodes, with the disk's cache, discard and aio.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { layerNames, type FormatNode, type ImageFormat, type ProtocolNode } from '../block/node.js'
import { absolutePath, closed, decodeOne, oneOf, withDefault } from '../codecs.js'
import { localSource } from '../disk.js'
import type { DevplanError, FieldError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { nextLayer, recordedChain, type RecordedChain } from './chain.js'

/**
 * What to copy where: the disk `id`, and the target image at `path` (created by the caller, as
 * large as the disk), of `format`; `kind` says file or block device, as on a disk.
 *
 * @since 0.3.0
 * @category decode
 */
export interface CopyRequest {
  readonly id: string
  readonly path: string
  readonly kind: '' | 'file' | 'block'
  readonly format: ImageFormat
}

const CopyRequestCodec: t.Type<CopyRequest, unknown, unknown> = closed(
  {
    id: t.string,
    path: absolutePath,
    kind: withDefault(oneOf('ImageKind', ['', 'file', 'block'] as const), ''),
    format: withDefault(oneOf('ImageFormat', ['raw', 'qcow2'] as const), 'raw')
  },
  'CopyRequest'
)

/** A decoded request with the disk's chain and the target's nodes. */
export interface CopyTarget {
  readonly path: string
  readonly chain: RecordedChain
  readonly nodes: readonly [ProtocolNode, FormatNode]
}

/**
 * Decodes `request` (errors under `request`) and plans the target's nodes, named
 * `<disk id>-<tag><n>` with the next number the chain has not used.
 *
 * @since 0.3.0
 * @category executor
 */
export const copyTarget = (runtime: Runtime, request: unknown, tag: string): E.Either<DevplanError, CopyTarget> =>
  E.chain((r: CopyRequest) =>
    E.map((chain: RecordedChain): CopyTarget => {
      const names = layerNames(chain.id, `${tag}${nextLayer(chain, tag)}`)
      const src = localSource(r.path, r.kind)
      const { cache, discard } = chain.active
      const aio = 'aio' in chain.activeProtocol ? chain.activeProtocol.aio : undefined
      const common = { ...(cache === undefined ? {} : { cache }), ...(discard === undefined ? {} : { discard }) }
      const protocol: ProtocolNode = { driver: src._tag === 'local' && src.driver === 'host_device' ? 'host_device' : 'file', 'node-name': names.protocol, ...common, filename: r.path, ...(aio === undefined ? {} : { aio }) }
      // A full copy stands alone: its qcow2 opens no backing image.
      const format: FormatNode = { driver: r.format, 'node-name': names.format, ...common, file: names.protocol, ...(r.format === 'qcow2' ? { backing: null } : {}) }
      return { path: r.path, chain, nodes: [protocol, format] }
    })(recordedChain(runtime, r.id))
  )(decodeOne(CopyRequestCodec, (x) => E.right<ReadonlyArray<FieldError>, CopyRequest>(x), 'request')(request))
