/**
 * The block layer of the scripted QEMU: `blockdev-add`/`blockdev-del`, the tray and medium
 * commands, `query-named-block-nodes` and `query-block`. Every error text was measured on QEMU
 * 7.2 and 10.0 (they agree), in the order QEMU checks.
 */
import { castDraft, type Draft } from 'immer'
import { driverInfo } from '../devices/catalog.js'
import type { QmpReply } from '../qmp/executor.js'
import { generic, isReply, need, notFound, ok, type Args, type Ctx, type Handler } from './context.js'
import type { ScriptedDevice, ScriptedNode, ScriptedState } from './state.js'

type S = Draft<ScriptedState> | ScriptedState

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)
const on = (u: unknown): boolean => u === true || u === 'on'

/** The device that holds `node` as its BlockBackend root. */
export const holder = (s: S, node: string): ScriptedDevice | undefined => s.devices.find((d) => d.drive === node)
export const parents = (s: S, node: string): ReadonlyArray<ScriptedNode> => s.nodes.filter((n) => n.children.some((c) => c.node === node))

/** QEMU's op blocker on a node that is another's backing image. */
export const busyAsBacking = (s: S, node: string): QmpReply | undefined => {
  const over = s.nodes.find((n) => n.children.some((c) => c.role === 'backing' && c.node === node))
  return over === undefined ? undefined : generic(`Node '${node}' is busy: node is used as backing hd of '${over.name}'`)
}

/** A device with a block backend of its own (the virtio-blk-pci proxy has none: its backend is a child). */
const hasBlk = (d: ScriptedDevice): boolean => /^(scsi-|ide-)/.test(d.driver) || d.driver === 'floppy'
/** Takes write permission on its node: every disk whose node is not read-only (CD-ROMs never). */
export const writes = (s: S, driver: string, node: string): boolean =>
  driverInfo(driver)?.role !== 'cdrom' && s.nodes.find((n) => n.name === node)?.readOnly !== true
/** How QEMU names a BlockBackend user in a permission conflict. */
export const blkName = (d: Pick<ScriptedDevice, 'id' | 'driver'>): string => (d.driver === 'virtio-blk-pci' ? `/machine/peripheral/${d.id ?? ''}/virtio-backend` : d.id ?? '')

/** Creates `o` and its inline children; an error reply leaves the nodes as they were. */
const addNode = (s: Draft<ScriptedState>, o: Args, monitor: boolean, fresh: ScriptedNode[]): string | QmpReply => {
  const driver = need(o, 'driver')
  if (isReply(driver)) return driver
  const given = o['node-name']
  if (given === undefined && monitor) return generic("'node-name' must be specified for the root node")
  if (given !== undefined && typeof given !== 'string') return generic("Invalid parameter type for 'node-name', expected: string")
  const children: Array<{ role: string; node: string }> = []
  // `image` names a child only for blkdebug; rbd's `image` is the name of the Ceph image.
  for (const role of driver === 'blkdebug' ? ['file', 'backing', 'image'] : ['file', 'backing']) {
    const c = o[role]
    if (typeof c === 'string') {
      const child = s.nodes.find((n) => n.name === c) ?? fresh.find((n) => n.name === c)
      if (child === undefined) return generic(`Cannot find device='${c}' nor node-name='${c}'`)
      // Two writers on one child: measured for qcow2 over one file node.
      const other = parents(s, c)[0]
      if (other !== undefined && !other.readOnly && !on(o['read-only'])) {
        return generic(`Permission conflict on node '${c}': permissions 'write, resize' are both required by node '${other.name}' (uses node '${c}' as '${role}' child) and unshared by node '${typeof given === 'string' ? given : ''}' (uses node '${c}' as '${role}' child).`)
      }
      children.push({ role, node: c })
    } else if (isRecord(c)) {
      const child = addNode(s, c, false, fresh)
      if (isReply(child)) return child
      children.push({ role, node: child })
    }
  }
  // QEMU names an unnamed inline child itself ("#block123"); a counter keeps it deterministic.
  const name = typeof given === 'string' ? given : `#block${s.nodes.length + fresh.length}`
  if (s.nodes.some((n) => n.name === name) || fresh.some((n) => n.name === name)) return generic(`Duplicate nodes with node-name='${name}'`)
  const leaf = [...s.nodes, ...fresh].find((n) => n.name === children[0]?.node)
  const cache = isRecord(o['cache']) ? o['cache'] : {}
  fresh.push({
    name,
    driver,
    children,
    monitor,
    readOnly: on(o['read-only']),
    filename: typeof o['filename'] === 'string' ? o['filename'] : leaf?.filename ?? '',
    cache: { direct: on(cache['direct']), noFlush: on(cache['no-flush']) },
    ...(typeof o['throttle-group'] === 'string' ? { group: o['throttle-group'] } : {}),
    ...(o['backing'] === null ? { backingNull: true } : {})
  })
  return name
}

const blockdevAdd: Handler = (d, a) => {
  const fresh: ScriptedNode[] = []
  const r = addNode(d, a, true, fresh)
  if (isReply(r)) return r
  d.nodes.push(...castDraft(fresh))
  return ok()
}

/** Deletes `name` and the inline children nothing else uses. */
const dropNode = (d: Draft<ScriptedState>, name: string): void => {
  const node = d.nodes.find((n) => n.name === name)
  d.nodes = d.nodes.filter((n) => n.name !== name)
  for (const c of node?.children ?? []) {
    const child = d.nodes.find((n) => n.name === c.node)
    if (child !== undefined && !child.monitor && parents(d, c.node).length === 0 && holder(d, c.node) === undefined) dropNode(d, c.node)
  }
}

const blockdevDel: Handler = (d, a) => {
  const name = need(a, 'node-name')
  if (isReply(name)) return name
  const node = d.nodes.find((n) => n.name === name)
  if (node === undefined) return generic(`Failed to find node with node-name='${name}'`)
  if (holder(d, name) !== undefined || d.jobs.some((j) => j.status !== 'concluded' && j.target === name)) return generic(`Node ${name} is in use`)
  const busy = busyAsBacking(d, name)
  if (busy !== undefined) return busy
  if (!node.monitor) return generic(`Node ${name} is not owned by the monitor`)
  if (parents(d, name).length > 0) return generic(`Block device ${name} is in use`)
  dropNode(d, name)
  return ok()
}

/** The device a tray command names, or QEMU's refusal. */
const trayDevice = (s: S, a: Args, removable: string): Draft<ScriptedDevice> | ScriptedDevice | QmpReply => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const dev = s.devices.find((x) => x.id === id)
  if (dev === undefined) return notFound(`Device '${id}' not found`)
  if (!hasBlk(dev)) return generic('Device does not have a block device backend')
  if (dev.trayOpen === undefined) return generic(removable.replace('%s', id))
  return dev
}

const isDev = (u: ScriptedDevice | QmpReply): u is ScriptedDevice => !('_tag' in u)

const moveTray = (open: boolean): Handler => (d, a, ctx) => {
  const dev = trayDevice(d, a, "Device '%s' is not removable")
  if (!isDev(dev)) return dev
  // Without a guest a forced open needs no eject request; an open tray stays open, silently.
  if (dev.trayOpen !== open) {
    setTray(d, dev.id, open)
    ctx.emit('DEVICE_TRAY_MOVED', { device: '', 'tray-open': open, id: dev.id })
  }
  return ok()
}

const setTray = (d: Draft<ScriptedState>, id: string | undefined, open: boolean): void => {
  const i = d.devices.findIndex((x) => x.id === id)
  const dev = d.devices[i]
  if (dev !== undefined) dev.trayOpen = open
}

const removeMedium: Handler = (d, a) => {
  const dev = trayDevice(d, a, "Device '%s' is not removable")
  if (!isDev(dev)) return dev
  if (dev.trayOpen !== true) return generic(`Tray of device '${dev.id ?? ''}' is not open`)
  const i = d.devices.findIndex((x) => x.id === dev.id)
  const draft = d.devices[i]
  if (draft !== undefined) delete draft.drive
  return ok()
}

const insertMedium: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const found = d.devices.find((x) => x.id === id)
  if (found === undefined) return notFound(`Device '${id}' not found`)
  if (!hasBlk(found)) return generic('Device does not have a block device backend')
  const name = need(a, 'node-name')
  if (isReply(name)) return name
  if (!d.nodes.some((n) => n.name === name)) return generic(`Node '${name}' not found`)
  if (holder(d, name) !== undefined) return generic(`Node '${name}' is already in use`)
  if (found.trayOpen === undefined) return generic('Device is not removable')
  if (!found.trayOpen) return generic('Tray of the device is not open')
  if (found.drive !== undefined) return generic('There already is a medium in the device')
  found.drive = name
  return ok()
}

const queryBlock: Handler = (d) =>
  ok(
    d.devices
      .filter((x) => x.id !== undefined && (hasBlk(x) || x.driver === 'virtio-blk-pci'))
      .map((x) => {
        const node = d.nodes.find((n) => n.name === x.drive)
        const legacy = x.drive !== undefined && d.drives.includes(x.drive)
        return {
          // -blockdev drives have no BlockBackend name; a -drive keeps its id.
          device: legacy ? x.drive : '',
          qdev: x.driver === 'virtio-blk-pci' ? `/machine/peripheral/${x.id ?? ''}/virtio-backend` : x.id,
          locked: false,
          removable: x.trayOpen !== undefined,
          ...(x.trayOpen === undefined ? {} : { tray_open: x.trayOpen }),
          ...(node === undefined ? {} : { inserted: { 'node-name': node.name, drv: node.driver, ro: node.readOnly, file: node.filename } })
        }
      })
  )

export const BLOCK: Readonly<Record<string, Handler>> = {
  'blockdev-add': blockdevAdd,
  'blockdev-del': blockdevDel,
  'blockdev-open-tray': moveTray(true),
  'blockdev-close-tray': moveTray(false),
  'blockdev-remove-medium': removeMedium,
  'blockdev-insert-medium': insertMedium,
  'query-block': queryBlock
}

export type { Args, Ctx }
