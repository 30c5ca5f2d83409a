/**
 * Devices, netdevs and fds of the scripted QEMU: `device_add` checks in QEMU's order (the bus,
 * the id, the drive and netdev properties, then the place on the bus), `device_del` deletes a
 * device on a SCSI (or other non-PCI) bus at once and leaves a PCI one waiting for its guest.
 * Error texts measured on QEMU 7.2 and 10.0 unless a comment says otherwise.
 */
import type { Draft } from 'immer'
import { driverInfo } from '../devices/catalog.js'
import type { QmpReply } from '../qmp/executor.js'
import { blkName, holder, writes } from './block.js'
import { generic, isReply, need, notFound, ok, type Ctx, type Handler } from './context.js'
import { deviceOf, parsePciAddr, providedBus } from './seed.js'
import type { ScriptedDevice, ScriptedState } from './state.js'

type S = Draft<ScriptedState> | ScriptedState
type Kind = 'pci' | 'scsi' | 'ide' | 'usb' | 'virtio-serial' | 'hda' | 'isa' | 'floppy'
interface Bus { readonly kind: Kind; readonly hotplug: boolean; readonly port: boolean }

// QEMU's names of bus types in "can't go on … bus"; PCI, SCSI and IDE measured.
const LABEL: Readonly<Record<Kind, string>> = { pci: 'PCI', scsi: 'SCSI', ide: 'IDE', usb: 'USB', 'virtio-serial': 'virtio-serial', hda: 'HDA', isa: 'ISA', floppy: 'floppy' }

export const rootBus = (s: S): string => (s.machine === 'q35' ? 'pcie.0' : 'pci.0')

/** What bus `name` is: the machine's own, or one a controller or root port provides. */
export const busOf = (s: S, name: string): Bus | undefined => {
  // q35's pcie.0 takes no hotplug (measured); devices go on its root ports.
  if (name === rootBus(s)) return { kind: 'pci', hotplug: s.machine === 'pc', port: false }
  if (/^ide\.\d$/.test(name) && Number(name.slice(4)) < (s.machine === 'q35' ? 6 : 2)) return { kind: 'ide', hotplug: false, port: false }
  if (name === 'floppy-bus.0' && s.machine === 'pc') return { kind: 'floppy', hotplug: false, port: false }
  if (name === 'isa.0') return { kind: 'isa', hotplug: false, port: false }
  const owner = s.devices.find((d) => providedBus(d) === name)
  if (owner === undefined) return undefined
  if (owner.driver === 'pcie-root-port') return { kind: 'pci', hotplug: true, port: true }
  const p = driverInfo(owner.driver)?.provides
  return p === undefined || p === 'pcie-port' ? undefined : { kind: p, hotplug: true, port: false }
}

/** The bus kind a driver sits on: the catalog's, or PCI for any other `*-pci`. */
const sitsOn = (driver: string): Kind | undefined => {
  const sits = driverInfo(driver)?.sits
  if (sits !== undefined) return sits === 'pcie-port' ? 'pci' : sits
  return /-pci$/.test(driver) ? 'pci' : undefined
}

/** The QOM type that owns a property: virtio PCI proxies pass drive and netdev to their device. */
const owner = (driver: string, property: 'drive' | 'netdev'): string =>
  driver === 'virtio-blk-pci' && property === 'drive' ? 'virtio-blk-device' : driver === 'virtio-net-pci' && property === 'netdev' ? 'virtio-net-device' : driver

const pciAt = (s: S, bus: string, slot: number, fn: number): ScriptedDevice | undefined =>
  s.devices.find((d) => d.bus === bus && d.pci?.slot === slot && d.pci.function === fn)

const placePci = (s: S, driver: string, bus: string, b: Bus, addr: unknown): ScriptedDevice['pci'] | QmpReply => {
  if (addr === undefined) {
    // QEMU takes the lowest slot with nothing in it (measured: e1000 without addr got slot 2).
    for (let slot = 0; slot < (b.port ? 1 : 32); slot++) if (!s.devices.some((d) => d.bus === bus && d.pci?.slot === slot)) return { slot, function: 0 }
    return generic(`PCI: no slot/function available for ${driver}, all in use or reserved`) // not measured
  }
  const p = parsePciAddr(addr)
  if (p === undefined) return generic(`Property '${driver}.addr' doesn't take value '${String(addr)}'`) // not measured
  const there = pciAt(s, bus, p.slot, p.function)
  if (there !== undefined) return generic(`PCI: slot ${p.slot} function ${p.function} not available for ${driver}, in use by ${there.driver},id=${there.id ?? '(null)'}`)
  const fn0 = pciAt(s, bus, p.slot, 0)
  const multi = fn0?.properties['multifunction']
  if (p.function !== 0 && fn0 !== undefined && multi !== true && multi !== 'on') {
    return generic(`PCI: slot ${p.slot} function 0 already occupied by ${fn0.driver}, new func ${driver} cannot be exposed to guest.`)
  }
  return p
}

const num = (u: unknown, dflt: number): number => (typeof u === 'number' ? u : typeof u === 'string' && /^\d+$/.test(u) ? Number(u) : dflt)

const placeScsi = (s: S, bus: string, a: Readonly<Record<string, unknown>>): ScriptedDevice['scsi'] | QmpReply => {
  const channel = num(a['channel'], 0)
  const lun = num(a['lun'], 0)
  const taken = (scsiId: number): ScriptedDevice | undefined => s.devices.find((d) => d.bus === bus && d.scsi?.channel === channel && d.scsi.scsiId === scsiId && d.scsi.lun === lun)
  const given = a['scsi-id']
  const scsiId = given === undefined ? [...Array(256).keys()].find((i) => taken(i) === undefined) ?? 0 : num(given, 0)
  const there = taken(scsiId)
  return there !== undefined ? generic(`lun already used by '${there.id ?? ''}'`) : { channel, scsiId, lun }
}

const checkDrive = (s: S, driver: string, id: string | undefined, drive: unknown): QmpReply | undefined => {
  const role = driverInfo(driver)?.role
  if (drive === undefined) return role === 'disk' ? generic('drive property not set') : undefined
  const name = String(drive)
  const prop = `Property '${owner(driver, 'drive')}.drive'`
  if (!s.nodes.some((n) => n.name === name) && !s.drives.includes(name)) return generic(`${prop} can't find value '${name}'`)
  const other = holder(s, name)
  if (other === undefined) return undefined
  // A -drive backend takes one device (the text of a BlockBackend in use; not measured).
  if (s.drives.includes(name)) return generic(`${prop} can't take value '${name}', it's in use`)
  // Read-only users share a node (measured: two scsi-cd and an ide-cd on one node).
  if (!writes(s, other.driver, name) && !writes(s, driver, name)) return undefined
  return generic(`Permission conflict on node '${name}': permissions 'write' are both required by block device '${blkName(other)}' (uses node '${name}' as 'root' child) and unshared by block device '${blkName(id === undefined ? { driver } : { id, driver })}' (uses node '${name}' as 'root' child).`)
}

const checkNetdev = (s: S, driver: string, netdev: unknown): QmpReply | undefined => {
  if (netdev === undefined) return undefined
  const name = String(netdev)
  const prop = `Property '${owner(driver, 'netdev')}.netdev'`
  if (!s.netdevs.some((n) => n.id === name)) return generic(`${prop} can't find value '${name}'`)
  return s.devices.some((d) => d.netdev === name) ? generic(`${prop} can't take value '${name}', it's in use`) : undefined
}

const deviceAdd: Handler = (d, a) => {
  const driver = need(a, 'driver')
  if (isReply(driver)) return driver
  const kind = sitsOn(driver)
  if (kind === undefined) return generic(`'${driver}' is not a valid device model name`)
  const busName = typeof a['bus'] === 'string' ? a['bus'] : kind === 'pci' ? rootBus(d) : d.devices.map((x) => providedBus(x)).find((n) => n !== undefined && busOf(d, n)?.kind === kind)
  if (busName === undefined) return generic(`No '${LABEL[kind]}' bus found for device '${driver}'`) // not measured
  const bus = busOf(d, busName)
  if (bus === undefined) return generic(`Bus '${busName}' not found`)
  if (bus.kind !== kind) return generic(`Device '${driver}' can't go on ${LABEL[bus.kind]} bus`)
  if (!bus.hotplug) return generic(`Bus '${busName}' does not support hotplugging`)
  const id = typeof a['id'] === 'string' ? a['id'] : undefined
  if (id !== undefined && d.devices.some((x) => x.id === id)) return generic(`Duplicate device ID '${id}'`)
  const refused = checkDrive(d, driver, id, a['drive']) ?? checkNetdev(d, driver, a['netdev'])
  if (refused !== undefined) return refused
  const pci = kind === 'pci' ? placePci(d, driver, busName, bus, a['addr']) : undefined
  if (pci !== undefined && '_tag' in pci) return pci
  const scsi = kind === 'scsi' ? placeScsi(d, busName, a) : undefined
  if (scsi !== undefined && '_tag' in scsi) return scsi
  d.devices.push({ ...deviceOf(a, busName), ...(pci === undefined ? {} : { pci }), ...(scsi === undefined ? {} : { scsi }) })
  return ok()
}

/** Deletes a device and what sits on the buses it provides, children first, each with its event. */
export const deleteDevice = (d: Draft<ScriptedState>, id: string, ctx: Pick<Ctx, 'emit'>): void => {
  const dev = d.devices.find((x) => x.id === id)
  if (dev === undefined) return
  const bus = providedBus(dev)
  for (const child of d.devices.filter((x) => bus !== undefined && x.bus === bus)) if (child.id !== undefined) deleteDevice(d, child.id, ctx)
  d.devices = d.devices.filter((x) => x.id !== id)
  // A -drive backend goes with its device (DOMAIN §7: blockdev-del then finds nothing).
  if (dev.drive !== undefined) d.drives = d.drives.filter((n) => n !== dev.drive)
  ctx.emit('DEVICE_DELETED', { device: id, path: `/machine/peripheral/${id}` })
}

/** Whether a device leaves only when its guest lets go: anything on a PCI bus (ACPI or PCIe hotplug). */
export const waitsForGuest = (s: S, dev: ScriptedDevice): boolean => busOf(s, dev.bus)?.kind === 'pci'

export const deviceDel = (releaseAfterMs: number | undefined): Handler => (d, a, ctx) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const dev = d.devices.find((x) => x.id === id)
  if (dev === undefined) return notFound(`Device '${id}' not found`)
  const bus = busOf(d, dev.bus)
  if (bus !== undefined && !bus.hotplug) return generic(`Bus '${dev.bus}' does not support hotplugging`)
  if (dev.unplug !== undefined) return generic(`Device ${id} is already in the process of unplug`)
  if (waitsForGuest(d, dev)) dev.unplug = releaseAfterMs === undefined ? {} : { releaseAtMs: d.clockMs + releaseAfterMs }
  else deleteDevice(d, id, ctx)
  return ok()
}

const netdevAdd: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const type = need(a, 'type')
  if (isReply(type)) return type
  if (d.netdevs.some((n) => n.id === id)) return generic(`Duplicate ID '${id}'`)
  for (const key of ['fd', 'fds', 'vhostfd', 'vhostfds']) {
    const v = a[key]
    if (typeof v !== 'string') continue
    for (const name of v.split(':')) {
      // QEMU takes each named fd out of the monitor as it opens it: a later failure keeps the earlier ones consumed.
      if (!d.fds.includes(name)) return generic(`File descriptor named '${name}' has not been found`)
      d.fds = d.fds.filter((f) => f !== name)
    }
  }
  d.netdevs.push({ id, type })
  return ok()
}

const netdevDel: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  if (!d.netdevs.some((n) => n.id === id)) return notFound(`Device '${id}' not found`)
  d.netdevs = d.netdevs.filter((n) => n.id !== id)
  // Measured: accepted even while its NIC is there (unplug pending); the NIC just loses its peer.
  for (const x of d.devices) if (x.netdev === id) delete x.netdev
  return ok()
}

const getfd: Handler = (d, a, ctx) => {
  const name = need(a, 'fdname')
  if (isReply(name)) return name
  if (ctx.fd === undefined) return generic('No file descriptor supplied via SCM_RIGHTS')
  if (!d.fds.includes(name)) d.fds.push(name)
  return ok()
}

const closefd: Handler = (d, a) => {
  const name = need(a, 'fdname')
  if (isReply(name)) return name
  if (!d.fds.includes(name)) return generic(`File descriptor named '${name}' not found`)
  d.fds = d.fds.filter((f) => f !== name)
  return ok()
}

export const DEVICES = (releaseAfterMs: number | undefined): Readonly<Record<string, Handler>> => ({
  device_add: deviceAdd,
  device_del: deviceDel(releaseAfterMs),
  netdev_add: netdevAdd,
  netdev_del: netdevDel,
  getfd,
  closefd
})
