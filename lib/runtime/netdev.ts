/**
 * A NIC's recorded netdev options read back into the backend they were rendered from. Only the
 * exact forms {@link netdevOptions} writes are accepted: the recorded options go into `-netdev`
 * verbatim when the command line is rebuilt, so a file must not be able to smuggle in others
 * (`script=`, `helper=`, …).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { netdevOptions, type NicDevice } from '../devices.js'
import type { Placed } from '../bus/address.js'
import type { NicBackend } from '../nic.js'
import type { JsonObject } from '../qemu-opts.js'

/**
 * What a recorded netdev says about its NIC.
 *
 * @since 0.1.0
 */
export interface NetdevBackend {
  readonly backend: NicBackend
  readonly vhost: boolean
  readonly queues: number
}

const FD = /^(0|[1-9][0-9]{0,6})$/

const fdList = (v: unknown, many: boolean): ReadonlyArray<number> | undefined => {
  if (typeof v !== 'string') return undefined
  const parts = many ? v.split(':') : [v]
  return parts.every((p) => FD.test(p)) ? parts.map(Number) : undefined
}

const guess = (n: JsonObject): NetdevBackend | undefined => {
  const vhost = n['vhost'] === true
  if (n['type'] === 'user') return { backend: { type: 'user' }, vhost: false, queues: 1 }
  if (n['type'] !== 'tap') return undefined
  const ifname = n['ifname']
  if (typeof ifname === 'string') {
    const queues = n['queues']
    return { backend: { type: 'tap', ifname }, vhost, queues: typeof queues === 'number' && Number.isInteger(queues) ? queues : 1 }
  }
  const fds = 'fd' in n ? fdList(n['fd'], false) : fdList(n['fds'], true)
  const vhostfds = 'vhostfd' in n ? fdList(n['vhostfd'], false) : 'vhostfds' in n ? fdList(n['vhostfds'], true) : []
  if (fds === undefined || vhostfds === undefined) return undefined
  return { backend: { type: 'tap', fds, vhostfds }, vhost, queues: fds.length }
}

/**
 * The backend, vhost and queue count a recorded netdev was rendered from, or `Left` with the
 * reason when the options are not in the form this library writes (checked by rendering the
 * result again and comparing byte for byte).
 *
 * @since 0.1.0
 */
export const netdevBackend = (netdev: JsonObject, placed: Placed, mac: string): E.Either<string, NetdevBackend> => {
  const g = guess(netdev)
  if (g === undefined) return E.left('expected the netdev options qemu-devplan writes: {"type": "user", "id"}, a tap with "fd"/"fds" (and "vhostfd"/"vhostfds"), or a tap with "ifname"')
  const nic: NicDevice = { kind: 'nic', uuid: '', ...placed, mac, ...g }
  const again = netdevOptions(nic)
  return JSON.stringify(again) === JSON.stringify(netdev)
    ? E.right(g)
    : E.left(`not in the form qemu-devplan writes for this NIC (expected ${JSON.stringify(again)})`)
}
