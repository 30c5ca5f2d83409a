/**
 * The image a running disk is copied to by a mirror or a clone: a request naming the disk and
 * the image the caller created, and the target's two nodes, with the disk's cache, discard and aio.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { layerNames, type FormatNode, type ImageFormat, type ProtocolNode } from '../block/node.js'
import { absolutePath, closed, decodeOne, oneOf, withDefault } from '../codecs.js'
import { localSource } from '../disk.js'
import type { DevplanError, FieldError } from '../errors.js'
import type { Runtime } from '../runtime/types.js'
import { isRecord, optionsArg, prop, runtimeArg, totalE } from '../total.js'
import { notMigrating } from './hotplug.js'
import { jobTimeouts } from './job.js'
import type { QmpPlan } from './plan.js'
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

/**
 * A {@link CopyRequest} as a caller writes it: `kind` and `format` may be left out (`""`, `raw`).
 * Checked again when decoded, for callers without the types.
 *
 * @since 0.3.0
 * @category decode
 */
export interface CopyRequestInput {
  readonly id: string
  readonly path: string
  readonly kind?: CopyRequest['kind']
  readonly format?: ImageFormat
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

/**
 * The two nodes of a new image layer `<disk id>-<tag>` of a chain (a snapshot overlay, a mirror
 * or clone target), with the active layer's cache, discard and aio. A qcow2 opens no backing
 * image of its own (`backing: null`): an overlay gets its backing from blockdev-snapshot, a copy
 * stands alone.
 *
 * @since 0.3.0
 * @category executor
 */
export const layerImage = (chain: RecordedChain, tag: string, image: { readonly path: string; readonly kind: '' | 'file' | 'block'; readonly format: ImageFormat }): readonly [ProtocolNode, FormatNode] => {
  const names = layerNames(chain.id, tag)
  const src = localSource(image.path, image.kind)
  const { cache, discard } = chain.active
  const aio = 'aio' in chain.activeProtocol ? chain.activeProtocol.aio : undefined
  const common = { ...(cache === undefined ? {} : { cache }), ...(discard === undefined ? {} : { discard }) }
  const protocol: ProtocolNode = { driver: src._tag === 'local' && src.driver === 'host_device' ? 'host_device' : 'file', 'node-name': names.protocol, ...common, filename: image.path, ...(aio === undefined ? {} : { aio }) }
  const format: FormatNode = { driver: image.format, 'node-name': names.format, ...common, file: names.protocol, ...(image.format === 'qcow2' ? { backing: null } : {}) }
  return [protocol, format]
}

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
    E.map((chain: RecordedChain): CopyTarget => ({ path: r.path, chain, nodes: layerImage(chain, `${tag}${nextLayer(chain, tag)}`, r) }))(recordedChain(runtime, r.id))
  )(decodeOne(CopyRequestCodec, (x) => E.right<ReadonlyArray<FieldError>, CopyRequest>(x), 'request')(request))

/**
 * Options of {@link planMirror} and {@link planClone}.
 *
 * @since 0.3.0
 * @category hotplug
 */
export interface JobOptions {
  /** How long each wait for the job (ready, concluded) may last. Default 600000 (10 min). */
  readonly jobTimeoutMs?: number
  /**
   * How long a rollback waits for a cancelled job to conclude: its I/O in flight must drain
   * first, which under the disk's own limits takes a while. Default 60000.
   */
  readonly cancelTimeoutMs?: number
  /**
   * The status `query-migrate` gives now, when the caller knows it: a migration in progress
   * refuses the plan (`MigrationInProgress`), as a graph must not change under it.
   */
  readonly migration?: string
}

/**
 * What mirror and clone share before their steps: the arguments checked, no migration in
 * progress, the job timeouts, the request decoded with its chain and target nodes; `build` makes
 * the plan of them.
 *
 * @since 0.3.0
 * @category executor
 */
export const planCopy = (
  runtime: Runtime,
  request: CopyRequestInput,
  options: JobOptions | undefined,
  tag: string,
  build: (t: CopyTarget, timeoutMs: number, cancelMs: number) => QmpPlan
): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => optionsArg('options', options)),
    E.chain((o) => pipe(notMigrating(isRecord(request) ? String(prop(request, 'id')) : 'request', o), E.chain(() => jobTimeouts(o)))),
    E.chain(([timeoutMs, cancelMs]) => totalE('runtime', () => E.map((t: CopyTarget) => build(t, timeoutMs, cancelMs))(copyTarget(runtime, request, tag))))
  )
