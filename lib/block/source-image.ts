/**
 * What a decoded `source` becomes: the protocol node's options and the objects it names (a
 * secret, TLS credentials), named after the disk or layer; and what QEMU would refuse in it.
 *
 * @since 0.3.0
 * @category decode
 */
import type { ImageSource, SourceObject } from './node.js'
import type { SecretObject } from './object.js'
import { MASTER_KEY_ID, type SecretInput, type SourceInput } from './source.js'
import type { InetAddress, RemoteSource } from './uri.js'

/**
 * The id of a disk's secret (its rbd key or iSCSI password): `<disk id>-secret`.
 *
 * @since 0.3.0
 * @category plan
 */
export const secretId = (disk: string): string => `${disk}-secret`

/**
 * The id of a disk's TLS credentials (NBD over TLS): `<disk id>-tls`.
 *
 * @since 0.3.0
 * @category plan
 */
export const tlsId = (disk: string): string => `${disk}-tls`

const secretObject = (id: string, s: SecretInput): SecretObject =>
  'file' in s ? { 'qom-type': 'secret', id, file: s.file, format: s.format } : { 'qom-type': 'secret', id, data: s.data, iv: s.iv, keyid: MASTER_KEY_ID, format: 'base64' }

const given = <K extends string>(key: K, v: string): { readonly [P in K]?: string } => (v === '' ? {} : ({ [key]: v } as { readonly [P in K]: string }))

/**
 * The image a decoded `source` stands for, its objects named after the disk `id`.
 *
 * @since 0.3.0
 * @category decode
 */
export const sourceImage = (s: SourceInput, id: string): ImageSource => {
  const remote = (r: RemoteSource, objects: ReadonlyArray<SourceObject>): ImageSource => ({ _tag: 'remote', remote: r, ...(objects.length > 0 ? { objects } : {}) })
  switch (s.driver) {
    case 'http':
      return { _tag: 'url', driver: 'http', url: s.url }
    case 'https':
      return { _tag: 'url', driver: 'https', url: s.url, ...(s.sslverify ? {} : { sslverify: false }) }
    case 'gluster':
      return remote({ driver: 'gluster', volume: s.volume, path: s.path, server: s.server }, [])
    case 'nbd': {
      const tls = s.tls
      return remote(
        {
          driver: 'nbd',
          server: s.server,
          ...given('export', s.export),
          ...(tls === null ? {} : { 'tls-creds': tlsId(id), ...given('tls-hostname', tls.hostname) })
        },
        tls === null ? [] : [{ 'qom-type': 'tls-creds-x509', id: tlsId(id), dir: tls.dir, endpoint: 'client', 'verify-peer': tls['verify-peer'] }]
      )
    }
    case 'rbd': {
      const key = s.key
      const server: ReadonlyArray<InetAddress> = s.server
      return remote(
        {
          driver: 'rbd',
          pool: s.pool,
          ...given('namespace', s.namespace),
          image: s.image,
          ...given('snapshot', s.snapshot),
          ...given('conf', s.conf),
          ...given('user', s.user),
          ...(server.length > 0 ? { server } : {}),
          // libvirt's choice: cephx with the key, none allowed where the cluster wants none.
          ...(key === null ? {} : { 'auth-client-required': ['cephx', 'none'] as const, 'key-secret': secretId(id) })
        },
        key === null ? [] : [secretObject(secretId(id), key)]
      )
    }
    case 'iscsi': {
      const password = s.password
      const digest = s['header-digest']
      return remote(
        {
          driver: 'iscsi',
          transport: 'tcp',
          portal: s.portal,
          target: s.target,
          lun: s.lun,
          ...given('user', s.user),
          ...(password === null ? {} : { 'password-secret': secretId(id) }),
          ...given('initiator-name', s['initiator-name']),
          ...(digest === '' ? {} : { 'header-digest': digest })
        },
        password === null ? [] : [secretObject(secretId(id), password)]
      )
    }
  }
}

/**
 * What a decoded `source` says that QEMU would refuse, as `[member, message]`: an iSCSI user
 * needs its password ("CHAP username specified but no password was given"), a password its user.
 *
 * @since 0.3.0
 * @category decode
 */
export const sourceFaults = (s: SourceInput): ReadonlyArray<readonly [string, string]> => {
  if (typeof s !== 'object' || s === null) return []
  if (s.driver === 'iscsi' && s.user !== '' && s.password === null) return [['password', 'an iSCSI user needs its password as a secret (QEMU: "CHAP username specified but no password was given")']]
  if (s.driver === 'iscsi' && s.user === '' && s.password !== null) return [['user', 'an iSCSI password needs the user it belongs to']]
  return []
}
