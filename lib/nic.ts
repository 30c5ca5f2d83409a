/**
 * A NIC of the instance spec: its MAC and how it reaches the host (tap by inherited fds, tap by
 * name, or QEMU's user-mode stack). Its QEMU id is derived from its uuid, Ganeti's way.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { boundedArray, closed, decodeOne, DeviceUuid, intIn, matching, text, withDefault } from './codecs.js'
import { fromValidationErrors, type DevplanError, type FieldError } from './errors.js'
import type { Hvparams } from './hvparams.js'
import { deviceId } from './ids.js'
import { ignored, type IgnoredWarning } from './warnings.js'

const MacForm = matching('a MAC address such as "aa:00:00:35:d5:1f"', /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/)

/**
 * Why a well-formed MAC cannot be a NIC's: QEMU takes 00:00:00:00:00:00 for "not set" and gives
 * the NIC 52:54:00:12:34:56 while the runtime would record zeros; a multicast address (the low
 * bit of the first octet) is no station's, and a guest's stack drops frames sent from it.
 */
const macProblem = (mac: string): string | undefined =>
  /^0{2}(:0{2}){5}$/.test(mac)
    ? 'is 00:00:00:00:00:00, which QEMU takes for "not set" (it would use 52:54:00:12:34:56): give the NIC its own unicast MAC'
    : (parseInt(mac.slice(0, 2), 16) & 1) === 1
      ? 'is a multicast MAC (the low bit of its first octet is set): a NIC needs a unicast one, such as "aa:00:00:35:d5:1f"'
      : undefined

const Mac = new t.Type<string, string, unknown>(
  'a unicast MAC address',
  (u): u is string => MacForm.is(u) && macProblem(u) === undefined,
  (u, c) => {
    const form = MacForm.validate(u, c)
    if (E.isLeft(form)) return form
    const problem = macProblem(form.right)
    return problem === undefined ? form : t.failure(u, c, `${JSON.stringify(form.right)} ${problem}`)
  },
  t.identity
)

const TapFds = closed(
  { type: t.literal('tap'), fds: boundedArray(intIn(0, 1048575), 8, 'fds'), vhostfds: withDefault(boundedArray(intIn(0, 1048575), 8, 'vhostfds'), []) },
  'TapFdBackend'
)
const TapName = closed({ type: t.literal('tap'), ifname: matching('an interface name (1-15 characters, no "/" or spaces)', /^[A-Za-z0-9_.:-]{1,15}$/) }, 'TapNameBackend')
const User = closed({ type: t.literal('user') }, 'UserBackend')

/**
 * How a NIC reaches the host: tap by inherited fd(s), tap by name, or QEMU's user-mode stack.
 *
 * @since 0.1.0
 * @category decode
 */
export type NicBackend =
  | { readonly type: 'tap'; readonly fds: ReadonlyArray<number>; readonly vhostfds: ReadonlyArray<number> }
  | { readonly type: 'tap'; readonly ifname: string }
  | { readonly type: 'user' }

const Backend = new t.Type<NicBackend, NicBackend, unknown>(
  'NicBackend',
  (u): u is NicBackend => TapFds.is(u) || TapName.is(u) || User.is(u),
  (u, c) => {
    if (typeof u !== 'object' || u === null) return t.failure(u, c, 'expected {"type": "tap", "fds": [...]}, {"type": "tap", "ifname": ...} or {"type": "user"}')
    const r = u as Record<string, unknown>
    if (r['type'] === 'user') return User.validate(u, c)
    if (r['type'] === 'tap') return 'ifname' in r ? TapName.validate(u, c) : TapFds.validate(u, c)
    return t.failure(u, c, 'expected "type" to be "tap" or "user"')
  },
  t.identity
)

/**
 * A NIC backend from outside (the answer of `RebuildOptions.nicBackend`), decoded as the spec's
 * own: `vhostfds` defaults to none, anything malformed is a field error at `at`.
 *
 * @since 0.2.0
 */
export const decodeNicBackend = (u: unknown, at: string): E.Either<ReadonlyArray<FieldError>, NicBackend> =>
  E.mapLeft((errs: t.Errors) => fromValidationErrors(errs).map((e) => ({ ...e, path: e.path === '' ? at : `${at}.${e.path}` })))(Backend.decode(u))

/**
 * io-ts codec for one entry of the spec's `nics[]`, refusing unknown fields. {@link toNic}
 * completes what it decodes.
 *
 * @since 0.1.0
 */
export const NicInput = closed({ uuid: DeviceUuid, mac: Mac, backend: Backend, name: withDefault(text, '') }, 'Nic')

/**
 * A NIC after decoding: its QEMU id derived from its uuid (`nic-<first three groups>`), and uuid
 * and MAC lowercased as Ganeti records them, so duplicates are found whatever the spelling.
 *
 * @since 0.1.0
 * @category decode
 */
export interface Nic {
  readonly uuid: string
  readonly id: string
  readonly name: string
  readonly mac: string
  readonly backend: NicBackend
}

type NicIn = t.TypeOf<typeof NicInput>

/**
 * Completes a decoded NIC with its Ganeti-style id. It cannot fail, since the codec already
 * checked the uuid; it returns an `Either` to fit {@link decodeOne} like `toDisk`.
 *
 * @since 0.1.0
 */
export const toNic = (n: NicIn, _at: string): E.Either<ReadonlyArray<FieldError>, Nic> => {
  // A UUID always gives a valid 23-character id; lowercase, as Ganeti's ids are.
  const uuid = n.uuid.toLowerCase()
  return E.right({ uuid, id: deviceId('nic', uuid), name: n.name, mac: n.mac.toLowerCase(), backend: n.backend })
}

/**
 * What a NIC gets of `vhost_net` and `virtio_net_queues`, by Ganeti 3.0.2's rule
 * (`_GetNetworkDeviceFeatures`): vhost only on a `paravirtual` NIC, and more than one queue only
 * where vhost is on; elsewhere Ganeti opens one tap fd and sets no `mq`. Only a tap backend has
 * either: QEMU's user-mode stack has no vhost and one queue.
 *
 * @since 0.2.0
 */
export const nicFeatures = (h: Hvparams, backend: NicBackend): { readonly vhost: boolean; readonly queues: number } => {
  const vhost = h.vhost_net && h.nic_type === 'paravirtual' && backend.type === 'tap'
  return { vhost, queues: vhost ? h.virtio_net_queues : 1 }
}

/**
 * The NIC hvparams Ganeti 3.0.2 ignores under the others, as warnings: `vhost_net` on a NIC type
 * other than `paravirtual`, and `virtio_net_queues` above 1 without vhost on a `paravirtual` NIC.
 *
 * @since 0.2.0
 */
export const nicWarnings = (h: Hvparams): ReadonlyArray<IgnoredWarning> => [
  ...(h.vhost_net && h.nic_type !== 'paravirtual'
    ? [ignored('hvparams.vhost_net', true, `vhost works with nic_type "paravirtual" only (it is ${JSON.stringify(h.nic_type)}): ignored, as Ganeti 3.0.2 ignores it`)]
    : []),
  ...(h.virtio_net_queues > 1 && !(h.vhost_net && h.nic_type === 'paravirtual')
    ? [
        ignored(
          'hvparams.virtio_net_queues',
          h.virtio_net_queues,
          `more than one queue needs vhost_net on nic_type "paravirtual" (vhost_net ${String(h.vhost_net)}, nic_type ${JSON.stringify(h.nic_type)}): each NIC gets one queue (one tap fd, no mq), as Ganeti 3.0.2 gives it`
        )
      ]
    : [])
]

/**
 * What a NIC's backend must satisfy under the hvparams it will run with (at start or hot-added):
 * one tap fd per queue, and vhost fds only where vhost is on (see {@link nicFeatures}).
 *
 * @since 0.1.0
 */
export const nicErrors = (n: Nic, h: Hvparams, at: string): ReadonlyArray<FieldError> => {
  if (n.backend.type !== 'tap' || !('fds' in n.backend)) return []
  const errors: FieldError[] = []
  const { vhost, queues } = nicFeatures(h, n.backend)
  if (n.backend.fds.length !== queues) {
    const why = queues === h.virtio_net_queues ? `virtio_net_queues ${h.virtio_net_queues}` : `virtio_net_queues ${h.virtio_net_queues} counts only with vhost_net on nic_type "paravirtual"; here nic_type ${h.nic_type}, vhost_net ${String(h.vhost_net)}`
    errors.push({ path: `${at}.backend.fds`, value: n.backend.fds, message: `needs exactly ${queues} tap fd(s) (one per queue: ${why})` })
  }
  if (n.backend.vhostfds.length > 0 && (!vhost || n.backend.vhostfds.length !== n.backend.fds.length)) {
    errors.push({ path: `${at}.backend.vhostfds`, value: n.backend.vhostfds, message: 'needs hvparams.vhost_net on nic_type "paravirtual", and one vhost fd per tap fd' })
  }
  return errors
}

/**
 * Decodes one NIC, as in `nics[]` of the spec (for hot-add). Errors are reported under `nic`.
 *
 * @since 0.1.0
 * @category decode
 */
export const decodeNic: (input: unknown) => E.Either<DevplanError, Nic> = decodeOne(NicInput, toNic, 'nic')
