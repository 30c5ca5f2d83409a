/**
 * `json:{…}` pseudo-filenames: a graph's image written where only a filename fits, such as the
 * backing-file field of an overlay (`blockdev-create`, `qemu-img create -b`). It is stored in the
 * image header and read by any later QEMU, so it carries only what names the image (libvirt's
 * target-only form): no node-names, no secret ids, no TLS credential ids — those are the
 * running QEMU's objects, gone after it exits.
 *
 * @since 0.3.0
 * @category plan
 */
import { activeLayer, type BlockdevOptions, type BlockGraph } from './node.js'

/** Members that belong to this QEMU's graph, not to the image (libvirt's TARGET_ONLY drops them). */
const RUNTIME_ONLY: ReadonlySet<string> = new Set([
  'node-name', 'read-only', 'cache', 'discard', 'aio', 'backing', 'file',
  'key-secret', 'password-secret', 'tls-creds', 'auth-client-required'
])

const targetOnly = (n: BlockdevOptions): Readonly<Record<string, unknown>> =>
  Object.fromEntries(Object.entries(n).filter(([k]) => !RUNTIME_ONLY.has(k)))

/**
 * The image below a graph's filter as a filename: the plain path of a local image (file,
 * host_device; its format is the caller's `backing-fmt`), else `json:{"driver": <format>, "file": {<protocol, target-only>}}` —
 * the format node on top, as `qemu-img create -b` needs ("A block device must be specified for
 * 'file'" otherwise). `undefined` for what is not such a graph.
 *
 * @since 0.3.0
 * @category plan
 */
export const backingFilename = (graph: BlockGraph): string | undefined => {
  try {
    if (typeof graph !== 'object' || graph === null || !Array.isArray(graph.nodes)) return undefined
    const byName = new Map<string, BlockdevOptions>(graph.nodes.map((n) => [n['node-name'], n]))
    const format = byName.get(activeLayer(graph))
    if (format === undefined || (format.driver !== 'raw' && format.driver !== 'qcow2')) return undefined
    const protocol = byName.get(format.file)
    if (protocol === undefined || protocol.driver === 'raw' || protocol.driver === 'qcow2' || protocol.driver === 'throttle') return undefined
    // A local image is found by its path, as libvirt writes it; its format goes beside it, in
    // the header's backing format (`backing-fmt`, `qemu-img create -F`).
    if (protocol.driver === 'file' || protocol.driver === 'host_device') return protocol.filename
    return `json:${JSON.stringify({ driver: format.driver, file: targetOnly(protocol) })}`
  } catch {
    return undefined
  }
}
