/**
 * A disk's `source`: a network image described field by field (`{"driver": "rbd", …}`), the
 * alternative to a `uri` where a URI cannot say it all — several Ceph monitors, a gluster server
 * list, a key or password kept in a secret, NBD over TLS. Each field is checked by io-ts, so an
 * error names the member at fault (`disks[0].source.server[1].port`).
 *
 * Secrets never reach the command line: each becomes a `-object secret` (`object-add` on
 * hot-add) that QEMU reads from a file, or whose `data` the caller encrypted under the host's
 * master key (see {@link MASTER_KEY_ID}); a pure library cannot make the IV.
 *
 * @since 0.3.0
 * @category decode
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { absolutePath, boundedArray, closed, intIn, matching, oneOf, text, withDefault } from '../codecs.js'
import type { InetAddress, IscsiHeaderDigest, SocketAddress } from './uri.js'

/**
 * The id of the host's master key secret (`target.host.secretMasterKey`): the `keyid` of every
 * secret given as encrypted `data`. Rendered once, at the head of the command line.
 *
 * @since 0.3.0
 * @category decode
 */
export const MASTER_KEY_ID = 'devplan-master-key'

const nonEmpty = matching('a non-empty string without NUL bytes', /^[^\0]+$/)
const hostName = matching('a host name or IP address (letters, digits, ".", "-", ":", "_"; IPv6 without brackets)', /^[A-Za-z0-9._:-]{1,253}$/)
const base64 = matching('base64 text', /^[A-Za-z0-9+/]+={0,2}$/)
const optionalPath = withDefault(matching('"" or an absolute path (starting with "/", no NUL bytes)', /^(|\/[^\0]*)$/), '')

/** A port as an integer or a decimal string; QAPI takes it as a string. */
const Port = new t.Type<string, string, unknown>(
  'port',
  (u): u is string => typeof u === 'string' && /^\d{1,5}$/.test(u) && Number(u) >= 1 && Number(u) <= 65535,
  (u, c) => {
    const n = typeof u === 'number' ? u : typeof u === 'string' && /^\d{1,5}$/.test(u) ? Number(u) : NaN
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? t.success(String(n)) : t.failure(u, c, 'expected a port: an integer from 1 to 65535 (or its decimal string)')
  },
  t.identity
)

/** A union told apart by one member, so errors name that member or the chosen variant's own. */
const tagged = <A>(name: string, key: string, variants: Readonly<Record<string, t.Decoder<unknown, A> & { readonly is: (u: unknown) => boolean }>>): t.Type<A, unknown, unknown> =>
  new t.Type<A, unknown, unknown>(
    name,
    (u): u is A => Object.values(variants).some((v) => E.isRight(v.decode(u))),
    (u, c) => {
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, `expected an object (${name})`)
      const tag: unknown = Reflect.get(u, key)
      const variant = typeof tag === 'string' && Object.prototype.hasOwnProperty.call(variants, tag) ? variants[tag] : undefined
      if (variant === undefined) {
        return t.failures([{ value: tag, context: [...c, { key, type: t.never, actual: tag }], message: `expected ${key} ${Object.keys(variants).map((k) => JSON.stringify(k)).join(', ')}` }])
      }
      return variant.validate(u, c)
    },
    t.identity
  )

const Inet = closed({ host: hostName, port: Port }, 'InetAddress')

const socketAddress = (defaultPort: string): t.Type<SocketAddress, unknown, unknown> =>
  tagged<SocketAddress>('SocketAddress', 'type', {
    inet: closed({ type: oneOf('inet', ['inet'] as const), host: hostName, port: withDefault(Port, defaultPort) }, 'InetSocketAddress'),
    unix: closed({ type: oneOf('unix', ['unix'] as const), path: absolutePath }, 'UnixSocketAddress')
  })

/**
 * A secret as given: a file QEMU reads (`format` of its content), or data the caller encrypted
 * under the host's master key (AES-256-CBC, base64, with its base64 IV).
 *
 * @since 0.3.0
 * @category decode
 */
export type SecretInput = { readonly file: string; readonly format: 'raw' | 'base64' } | { readonly data: string; readonly iv: string; readonly format: 'base64' }

const FileSecret = closed({ file: absolutePath, format: withDefault(oneOf('SecretFormat', ['raw', 'base64'] as const), 'raw') }, 'FileSecret')
const DataSecret = closed({ data: base64, iv: base64, format: withDefault(oneOf('SecretFormat', ['base64'] as const), 'base64') }, 'EncryptedSecret')

const Secret = new t.Type<SecretInput, unknown, unknown>(
  'Secret',
  (u): u is SecretInput => FileSecret.is(u) || DataSecret.is(u),
  (u, c) =>
    typeof u === 'object' && u !== null && !Array.isArray(u) && 'data' in u
      ? DataSecret.validate(u, c)
      : typeof u === 'object' && u !== null && !Array.isArray(u) && 'file' in u
        ? FileSecret.validate(u, c)
        : t.failure(u, c, 'expected a secret: {"file": "/…", "format"?: "raw"|"base64"} or {"data": "<base64 ciphertext>", "iv": "<base64>"} encrypted under the host master key (never the secret in clear)'),
  t.identity
)
/** A member that may be absent or `null`: the codec's own errors, not one per union member. */
const nullable = <A>(codec: t.Type<A, unknown, unknown>): t.Type<A | null, unknown, unknown> =>
  new t.Type<A | null, unknown, unknown>(codec.name, (u): u is A | null => u === null || codec.is(u), (u, c) => (u === undefined || u === null ? t.success(null) : codec.validate(u, c)), t.identity)

const OptionalSecret = nullable(Secret)

const Rbd = closed(
  {
    driver: oneOf('driver', ['rbd'] as const),
    pool: nonEmpty,
    namespace: withDefault(text, ''),
    // Ceph allows any name; JSON carries it unchanged (no ':' or '@' escaping as in rbd: URIs).
    image: nonEmpty,
    snapshot: withDefault(text, ''),
    conf: optionalPath,
    user: withDefault(text, ''),
    server: withDefault(boundedArray(Inet, 16, 'MonitorList'), []),
    key: OptionalSecret
  },
  'RbdSource'
)

const Gluster = closed(
  {
    driver: oneOf('driver', ['gluster'] as const),
    volume: nonEmpty,
    path: nonEmpty,
    server: boundedArray(socketAddress('24007'), 16, 'GlusterServerList')
  },
  'GlusterSource'
)

const Tls = closed({ dir: absolutePath, hostname: withDefault(text, ''), 'verify-peer': withDefault(t.boolean, true) }, 'NbdTls')

const Nbd = closed(
  {
    driver: oneOf('driver', ['nbd'] as const),
    server: socketAddress('10809'),
    export: withDefault(text, ''),
    tls: nullable(Tls)
  },
  'NbdSource'
)

const Iscsi = closed(
  {
    driver: oneOf('driver', ['iscsi'] as const),
    portal: matching('a portal "<host>[:<port>]" or "[<IPv6>][:<port>]"', /^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/),
    target: matching('an iSCSI target name such as "iqn.2000-01.com.example:storage"', /^[^\0\s/]+$/),
    lun: withDefault(intIn(0, 16383), 0),
    user: withDefault(text, ''),
    password: OptionalSecret,
    'initiator-name': withDefault(matching('"" or an initiator name such as "iqn.2000-01.com.example:host1"', /^[^\0\s]*$/), ''),
    'header-digest': withDefault(oneOf('IscsiHeaderDigest', ['', 'crc32c', 'none', 'crc32c-none', 'none-crc32c'] as const), '')
  },
  'IscsiSource'
)

const httpUrl = (scheme: 'http' | 'https'): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(
    `${scheme} URL`,
    (u): u is string => typeof u === 'string',
    (u, c) => {
      if (typeof u !== 'string' || !u.startsWith(`${scheme}://`) || u.includes('\0')) return t.failure(u, c, `expected a URL starting with ${scheme}://`)
      try {
        const url = new URL(u)
        if (url.username !== '' || url.password !== '') return t.failure(u, c, 'credentials in the URL would appear in the command line')
        return url.hostname === '' ? t.failure(u, c, 'expected a host in the URL') : t.success(u)
      } catch {
        return t.failure(u, c, `expected a URL such as ${scheme}://host/image.raw`)
      }
    },
    t.identity
  )

const Http = closed({ driver: oneOf('driver', ['http'] as const), url: httpUrl('http') }, 'HttpSource')
const Https = closed({ driver: oneOf('driver', ['https'] as const), url: httpUrl('https'), sslverify: withDefault(t.boolean, true) }, 'HttpsSource')

/**
 * A decoded `source`: one of the network drivers, its members checked and defaults filled
 * (`""`, `null`: not given).
 *
 * @since 0.3.0
 * @category decode
 */
export type SourceInput =
  | {
      readonly driver: 'rbd'
      readonly pool: string
      readonly namespace: string
      readonly image: string
      readonly snapshot: string
      readonly conf: string
      readonly user: string
      readonly server: ReadonlyArray<InetAddress>
      readonly key: SecretInput | null
    }
  | { readonly driver: 'gluster'; readonly volume: string; readonly path: string; readonly server: ReadonlyArray<SocketAddress> }
  | {
      readonly driver: 'nbd'
      readonly server: SocketAddress
      readonly export: string
      readonly tls: { readonly dir: string; readonly hostname: string; readonly 'verify-peer': boolean } | null
    }
  | {
      readonly driver: 'iscsi'
      readonly portal: string
      readonly target: string
      readonly lun: number
      readonly user: string
      readonly password: SecretInput | null
      readonly 'initiator-name': string
      readonly 'header-digest': '' | IscsiHeaderDigest
    }
  | { readonly driver: 'http'; readonly url: string }
  | { readonly driver: 'https'; readonly url: string; readonly sslverify: boolean }

/**
 * io-ts codec of a disk's `source`, told apart by `driver`.
 *
 * @since 0.3.0
 * @category decode
 */
export const SourceCodec: t.Type<SourceInput, unknown, unknown> = tagged<SourceInput>('Source', 'driver', {
  rbd: Rbd,
  gluster: Gluster,
  nbd: Nbd,
  iscsi: Iscsi,
  http: Http,
  https: Https
})

