/**
 * Userspace disk URIs (Ganeti's `access=userspace`): parsed into the structured block-node
 * options QEMU's drivers take, since `-blockdev` has no URI syntax — and gluster's server *list*
 * can only be written that way.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'

/**
 * QAPI `SocketAddress` (inet ports are strings in QAPI).
 *
 * @since 0.1.0
 * @category decode
 */
export type SocketAddress =
  | { readonly type: 'inet'; readonly host: string; readonly port: string }
  | { readonly type: 'unix'; readonly path: string }

/**
 * QAPI `InetSocketAddressBase`: a Ceph monitor, `{host, port}` without `type` (QEMU 7.2:
 * "Parameter 'server[0].type' is unexpected").
 *
 * @since 0.3.0
 * @category decode
 */
export type InetAddress = { readonly host: string; readonly port: string }

/**
 * The header digests of `iscsi` (QAPI `IscsiHeaderDigest`).
 *
 * @since 0.3.0
 * @category decode
 */
export type IscsiHeaderDigest = 'crc32c' | 'none' | 'crc32c-none' | 'none-crc32c'

/**
 * A remote image QEMU opens itself. The members ending in `-secret` and `tls-creds` name QOM
 * objects of the disk's graph (since 0.3.0): the secret itself never is a node option.
 *
 * @since 0.1.0
 * @category decode
 */
export type RemoteSource =
  | {
      readonly driver: 'rbd'
      readonly pool: string
      readonly namespace?: string
      readonly image: string
      readonly snapshot?: string
      readonly user?: string
      readonly conf?: string
      readonly server?: ReadonlyArray<InetAddress>
      readonly 'auth-client-required'?: ReadonlyArray<'cephx' | 'none'>
      readonly 'key-secret'?: string
    }
  | { readonly driver: 'gluster'; readonly volume: string; readonly path: string; readonly server: ReadonlyArray<SocketAddress> }
  | { readonly driver: 'nbd'; readonly server: SocketAddress; readonly export?: string; readonly 'tls-creds'?: string; readonly 'tls-hostname'?: string }
  | {
      readonly driver: 'iscsi'
      readonly transport: 'tcp'
      readonly portal: string
      readonly target: string
      readonly lun: number
      readonly user?: string
      readonly 'password-secret'?: string
      readonly 'initiator-name'?: string
      readonly 'header-digest'?: IscsiHeaderDigest
    }

const host = (h: string): string => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h)

const decodeSegments = (p: string): E.Either<string, ReadonlyArray<string>> => {
  try {
    return E.right(p.split('/').filter((s) => s !== '').map(decodeURIComponent))
  } catch {
    return E.left('malformed percent-encoding in the path')
  }
}

const parseRbd = (uri: string): E.Either<string, RemoteSource> => {
  // rbd:pool/image[@snap][:key=value]* — the form Ganeti and qemu's legacy filename use.
  const [spec = '', ...opts] = uri.slice('rbd:'.length).split(':')
  const m = /^([^/@]+)\/([^/@]+)(?:@([^/@]+))?$/.exec(spec)
  if (m === null || m[1] === undefined || m[2] === undefined) return E.left('expected rbd:<pool>/<image>[@<snapshot>][:id=<user>][:conf=<path>]')
  let user: string | undefined
  let conf: string | undefined
  for (const o of opts) {
    const [k, v] = o.split('=', 2)
    if (k === 'id' && v !== undefined && v !== '') user = v
    else if (k === 'conf' && v !== undefined && v.startsWith('/')) conf = v
    else return E.left(`unsupported rbd option ${JSON.stringify(o)} (supported: id=<user>, conf=<absolute path>)`)
  }
  return E.right({
    driver: 'rbd',
    pool: m[1],
    image: m[2],
    ...(m[3] !== undefined ? { snapshot: m[3] } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(conf !== undefined ? { conf } : {})
  })
}

const parseGluster = (url: URL): E.Either<string, RemoteSource> => {
  const schemeTransport = url.protocol.slice(0, -1).split('+')[1]
  const transport = schemeTransport ?? url.searchParams.get('transport') ?? 'tcp'
  const segments = decodeSegments(url.pathname)
  if (E.isLeft(segments)) return segments
  const [volume, ...rest] = segments.right
  if (volume === undefined || rest.length === 0) return E.left('expected gluster://<host>[:<port>]/<volume>/<path>')
  const path = rest.join('/')
  if (transport === 'unix') {
    const socket = url.searchParams.get('socket')
    if (socket === null || !socket.startsWith('/')) return E.left('gluster+unix needs ?socket=<absolute path>')
    return E.right({ driver: 'gluster', volume, path, server: [{ type: 'unix', path: socket }] })
  }
  // QEMU maps rdma to tcp itself ("rdma feature is not supported, falling back to tcp"); the
  // plan does the same and says so (see uriWarning).
  if (transport !== 'tcp' && transport !== 'rdma') return E.left(`gluster transport ${JSON.stringify(transport)} is not supported (use tcp or unix; rdma is mapped to tcp)`)
  if (url.hostname === '') return E.left('gluster over tcp needs a host')
  return E.right({ driver: 'gluster', volume, path, server: [{ type: 'inet', host: host(url.hostname), port: url.port === '' ? '24007' : url.port }] })
}

const parseNbd = (url: URL): E.Either<string, RemoteSource> => {
  const segments = decodeSegments(url.pathname)
  if (E.isLeft(segments)) return segments
  const name = segments.right.join('/')
  const exp = name === '' ? {} : { export: name }
  if (url.protocol === 'nbd+unix:') {
    const socket = url.searchParams.get('socket')
    if (socket === null || !socket.startsWith('/')) return E.left('nbd+unix needs ?socket=<absolute path>')
    return E.right({ driver: 'nbd', server: { type: 'unix', path: socket }, ...exp })
  }
  if (url.hostname === '') return E.left('nbd:// needs a host')
  return E.right({ driver: 'nbd', server: { type: 'inet', host: host(url.hostname), port: url.port === '' ? '10809' : url.port }, ...exp })
}

const parseIscsi = (url: URL): E.Either<string, RemoteSource> => {
  if (url.username !== '' || url.password !== '') {
    return E.left('credentials in an iscsi URI would appear in the command line; configure them as a QEMU secret instead')
  }
  const segments = decodeSegments(url.pathname)
  if (E.isLeft(segments)) return segments
  const [target, lun, ...extra] = segments.right
  if (target === undefined || lun === undefined || extra.length > 0 || !/^\d+$/.test(lun) || url.hostname === '') {
    return E.left('expected iscsi://<host>[:<port>]/<target iqn>/<lun>')
  }
  return E.right({
    driver: 'iscsi',
    transport: 'tcp',
    portal: `${url.hostname}${url.port === '' ? '' : `:${url.port}`}`,
    target,
    lun: Number(lun)
  })
}

/**
 * Parses one userspace URI. `Left` carries a message saying what form was expected.
 *
 * @since 0.1.0
 */
export const parseUri = (uri: string): E.Either<string, RemoteSource> => {
  if (uri.startsWith('rbd:')) return parseRbd(uri)
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return E.left('expected rbd:, gluster://, nbd://, nbd+unix://, iscsi:// or http(s)://')
  }
  switch (url.protocol) {
    case 'gluster:':
    case 'gluster+tcp:':
    case 'gluster+unix:':
    case 'gluster+rdma:':
      return parseGluster(url)
    case 'nbd:':
    case 'nbd+tcp:':
    case 'nbd+unix:':
      return parseNbd(url)
    case 'iscsi:':
      return parseIscsi(url)
    default:
      return E.left(`unsupported scheme ${JSON.stringify(url.protocol)}: expected rbd:, gluster://, nbd://, nbd+unix://, iscsi:// or http(s)://`)
  }
}

/**
 * What a URI asks for that QEMU does not do and the plan maps: `gluster+rdma://` (or
 * `?transport=rdma`) is opened over tcp, as QEMU itself does. `undefined` for any other input.
 *
 * @since 0.3.0
 * @category decode
 */
export const uriWarning = (uri: string): string | undefined => {
  if (typeof uri !== 'string' || !/^gluster(\+[a-z]+)?:/i.test(uri)) return undefined
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  const rdma = url.protocol === 'gluster+rdma:' || (url.protocol === 'gluster:' && url.searchParams.get('transport') === 'rdma')
  return rdma ? 'QEMU has no rdma transport for gluster: the server is reached over tcp (type inet), as QEMU does itself ("rdma feature is not supported, falling back to tcp")' : undefined
}

/**
 * A disk URI QEMU reads with curl: `http://` or `https://`, without credentials (they would be
 * in the command line). `undefined` for any other scheme, `Left` for a bad http(s) URI.
 *
 * @since 0.3.0
 * @category decode
 */
export const parseHttpUri = (uri: string): E.Either<string, { readonly driver: 'http' | 'https'; readonly url: string }> | undefined => {
  if (typeof uri !== 'string' || !/^https?:/i.test(uri)) return undefined
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return E.left('expected http(s)://<host>[:<port>]/<path>')
  }
  if (url.username !== '' || url.password !== '') return E.left('credentials in an http(s) URI would appear in the command line; they are not supported')
  if (url.hostname === '') return E.left('expected http(s)://<host>[:<port>]/<path>')
  return E.right({ driver: url.protocol === 'https:' ? 'https' : 'http', url: uri })
}
