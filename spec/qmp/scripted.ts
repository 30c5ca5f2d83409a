/**
 * A scripted executor for runner tests: a tiny model of QEMU's QMP semantics (nodes, devices,
 * netdevs, fd names, unplug events) that records every command, and can be told to fail a
 * given forward command. No QEMU needed; the real-QEMU tests check the same plans for real.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import type { Executor, QmpCommand, QmpEvent, QmpReply } from '../../lib/index.js'

export interface Model {
  nodes: Set<string>
  devices: Map<string, 'present' | 'unplugging'>
  netdevs: Set<string>
  fds: Set<string>
}

export interface ScriptOptions {
  /** 0-based index among all commands sent; that one gets an error reply (nothing changes). */
  readonly failAt?: number | ReadonlyArray<number>
  /** Devices the "guest" never releases (like PCI devices without a guest). */
  readonly holdDevices?: ReadonlySet<string>
  /** Refuse fd passing like a transport without SCM_RIGHTS. */
  readonly noFds?: boolean
}

export const emptyModel = (): Model => ({ nodes: new Set(), devices: new Map(), netdevs: new Set(), fds: new Set() })

const err = (cls: string, desc: string): QmpReply => ({ _tag: 'Error', class: cls, desc })
const ok: QmpReply = { _tag: 'Return', value: {} }

export const scripted = (model: Model, opts: ScriptOptions = {}) => {
  const sent: QmpCommand[] = []
  const events: QmpEvent[] = []
  let cursor = 0
  const apply = (c: QmpCommand): QmpReply => {
    const a = (c.arguments ?? {}) as Record<string, unknown>
    const s = (k: string): string => String(a[k])
    switch (c.execute) {
      case 'blockdev-add': {
        const n = s('node-name')
        if (model.nodes.has(n)) return err('GenericError', `Duplicate nodes with node-name='${n}'`)
        const file = a['file']
        if (typeof file === 'string' && !model.nodes.has(file)) return err('GenericError', `Cannot find device='' nor node-name='${file}'`)
        model.nodes.add(n)
        return ok
      }
      case 'blockdev-del': {
        const n = s('node-name')
        if (!model.nodes.has(n)) return err('GenericError', `Failed to find node with node-name='${n}'`)
        model.nodes.delete(n)
        return ok
      }
      case 'device_add': {
        const id = s('id')
        if (model.devices.has(id)) return err('GenericError', `Duplicate device ID '${id}' for device`)
        const drive = a['drive']
        if (typeof drive === 'string' && !model.nodes.has(drive)) return err('GenericError', `Property '${s('driver')}.drive' can't find value '${drive}'`)
        const netdev = a['netdev']
        if (typeof netdev === 'string' && !model.netdevs.has(netdev)) return err('GenericError', `Property '${s('driver')}.netdev' can't find value '${netdev}'`)
        model.devices.set(id, 'present')
        return ok
      }
      case 'device_del': {
        const id = s('id')
        const st = model.devices.get(id)
        if (st === undefined) return err('DeviceNotFound', `Device '${id}' not found`)
        if (st === 'unplugging') return err('GenericError', `Device ${id} is already in the process of unplug`)
        if (opts.holdDevices?.has(id)) model.devices.set(id, 'unplugging')
        else {
          model.devices.delete(id)
          events.push({ event: 'DEVICE_DELETED', data: { device: id, path: `/machine/peripheral/${id}` }, timestamp: { seconds: 0, microseconds: 0 } })
        }
        return ok
      }
      case 'netdev_add': {
        const id = s('id')
        if (model.netdevs.has(id)) return err('GenericError', `Duplicate ID '${id}' for netdev`)
        for (const k of ['fd', 'fds', 'vhostfd', 'vhostfds']) {
          if (typeof a[k] !== 'string') continue
          for (const name of String(a[k]).split(':')) {
            if (!model.fds.has(name)) return err('GenericError', `File descriptor named '${name}' has not been found`)
            model.fds.delete(name)
          }
        }
        model.netdevs.add(id)
        return ok
      }
      case 'netdev_del': {
        const id = s('id')
        if (!model.netdevs.delete(id)) return err('DeviceNotFound', `Device '${id}' not found`)
        return ok
      }
      case 'getfd':
        model.fds.add(s('fdname'))
        return ok
      case 'closefd':
        return model.fds.delete(s('fdname')) ? ok : err('GenericError', `File descriptor named '${s('fdname')}' not found`)
      default:
        return err('CommandNotFound', `The command ${c.execute} has not been found`)
    }
  }
  const executor: Executor = {
    send: (command, fd) => async () => {
      const index = sent.length
      sent.push(command)
      cursor = events.length
      if (fd !== undefined && opts.noFds === true) return E.left({ _tag: 'TransportError', message: 'no fd passing' })
      if (index === opts.failAt || (Array.isArray(opts.failAt) && opts.failAt.includes(index))) return E.right(err('GenericError', `injected failure at command ${index}`))
      return E.right(apply(command))
    },
    waitEvent: (predicate) => async () => {
      const found = events.slice(cursor).find(predicate)
      return E.right(found === undefined ? O.none : O.some(found))
    }
  }
  return { executor, sent, events }
}
