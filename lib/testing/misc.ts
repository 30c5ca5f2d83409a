/**
 * The rest of what plans send or read back: chardevs, `set_password`, `balloon`,
 * `cont`/`stop`, and the queries `query-pci`, `qom-list`, `qom-get`, `query-status`,
 * `query-balloon`. Error texts measured on QEMU 7.2 and 10.0.
 */
import { generic, isReply, need, notFound, ok, type Handler } from './context.js'
import { objectProperty, OBJECTS } from './limits.js'
import { parsePciAddr } from './seed.js'

const chardevAdd: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  if (d.chardevs.includes(id)) return generic(`Chardev with id '${id}' already exists`)
  d.chardevs.push(id)
  return ok()
}

const chardevRemove: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  if (!d.chardevs.includes(id)) return generic(`Chardev '${id}' not found`)
  d.chardevs = d.chardevs.filter((c) => c !== id)
  return ok()
}

const setPassword: Handler = (d, a) => {
  const protocol = need(a, 'protocol')
  if (isReply(protocol)) return protocol
  if (protocol === 'spice') return d.spice ? ok() : { _tag: 'Error', class: 'DeviceNotActive', desc: 'SPICE is not in use' }
  // A VNC server without password=on refuses it as one without VNC does.
  return protocol === 'vnc' && d.vnc === 'password' ? ok() : generic('Could not set password')
}

const hasBalloon = (d: { readonly devices: ReadonlyArray<{ readonly driver: string }> }): boolean => d.devices.some((x) => x.driver === 'virtio-balloon-pci')
const noBalloon = { _tag: 'Error', class: 'DeviceNotActive', desc: 'No balloon device has been activated' } as const

const balloon: Handler = (d, a, ctx) => {
  if (!hasBalloon(d)) return noBalloon
  const v = a['value']
  // The parameter was renamed in QAPI's error text: 'target' on 7.2, 'value' on 10.0 (measured).
  if (typeof v !== 'number' || v <= 0) return generic(`Parameter '${ctx.qemu.major >= 8 ? 'value' : 'target'}' expects a size`)
  d.balloonTargetBytes = Math.min(v, d.memoryBytes)
  return ok()
}

// Without a guest driver the balloon never moves: `actual` stays all of -m (measured).
const queryBalloon: Handler = (d) => (hasBalloon(d) ? ok({ actual: d.memoryBytes }) : noBalloon)

const cont: Handler = (d, _a, ctx) => {
  if (d.status !== 'running') {
    d.status = 'running'
    ctx.emit('RESUME', undefined)
  }
  return ok()
}

const stop: Handler = (d, _a, ctx) => {
  if (d.status === 'running') {
    d.status = 'paused'
    ctx.emit('STOP', undefined)
  }
  return ok()
}

const queryStatus: Handler = (d) => ok({ status: d.status, running: d.status === 'running' })

/** query-pci of bus 0 (the root bus): the slots, functions and ids; class codes are not modelled. */
const queryPci: Handler = (d) => {
  const root = d.machine === 'q35' ? 'pcie.0' : 'pci.0'
  const devices = d.devices
    .filter((x) => x.bus === root && x.pci !== undefined)
    .map((x) => ({ bus: 0, slot: x.pci?.slot ?? 0, function: x.pci?.function ?? 0, qdev_id: x.id ?? '', class_info: { class: 0 } }))
    .sort((p, q) => p.slot * 8 + p.function - (q.slot * 8 + q.function))
  return ok([{ bus: 0, devices }])
}

const PERIPHERAL = '/machine/peripheral'

const qomList: Handler = (d, a) => {
  const path = need(a, 'path')
  if (isReply(path)) return path
  if (path === PERIPHERAL) return ok([{ name: 'type', type: 'string' }, ...d.devices.flatMap((x) => (x.id === undefined ? [] : [{ name: x.id, type: `child<${x.driver}>` }]))])
  const dev = d.devices.find((x) => x.id !== undefined && `${PERIPHERAL}/${x.id}` === path)
  if (dev === undefined) return notFound(`Device '${path}' not found`)
  return ok([{ name: 'type', type: 'string' }, ...Object.keys(dev.properties).filter((k) => k !== 'driver' && k !== 'id').map((name) => ({ name, type: 'str' }))])
}

/** The properties the model knows: placement as QOM gives it (addr as devfn), else as they were given. */
const qomGet: Handler = (d, a, ctx) => {
  const object = objectProperty(false)(d, a, ctx)
  if (object !== undefined) return object
  const path = need(a, 'path')
  if (isReply(path)) return path
  const property = need(a, 'property')
  if (isReply(property)) return property
  const dev = d.devices.find((x) => x.id !== undefined && `${PERIPHERAL}/${x.id}` === path)
  if (dev === undefined) return notFound(`Device '${path}' not found`)
  const placed: Readonly<Record<string, unknown>> = {
    ...(dev.pci === undefined ? {} : { addr: dev.pci.slot * 8 + dev.pci.function }),
    ...(dev.scsi === undefined ? {} : { channel: dev.scsi.channel, 'scsi-id': dev.scsi.scsiId, lun: dev.scsi.lun }),
    ...(dev.drive === undefined ? {} : { drive: dev.drive })
  }
  const v = placed[property] ?? (property === 'addr' ? undefined : dev.properties[property])
  if (property === 'addr' && dev.pci === undefined && dev.properties['addr'] !== undefined) {
    const p = parsePciAddr(dev.properties['addr'])
    if (p !== undefined) return ok(p.slot * 8 + p.function)
  }
  return v === undefined ? generic(`Property '${dev.driver}.${property}' not found`) : ok(v)
}

/** `qom-set`: of a throttle group's limits only; a device's properties are not modelled as settable. */
const qomSet: Handler = (d, a, ctx) => {
  const object = objectProperty(true)(d, a, ctx)
  if (object !== undefined) return object
  const path = need(a, 'path')
  if (isReply(path)) return path
  return d.devices.some((x) => x.id !== undefined && `${PERIPHERAL}/${x.id}` === path) ? generic('qom-set of a device property is not modelled') : notFound(`Device '${path}' not found`)
}

export const MISC: Readonly<Record<string, Handler>> = {
  ...OBJECTS,
  'chardev-add': chardevAdd,
  'chardev-remove': chardevRemove,
  set_password: setPassword,
  balloon,
  'query-balloon': queryBalloon,
  cont,
  stop,
  'query-status': queryStatus,
  'query-pci': queryPci,
  'qom-list': qomList,
  'qom-get': qomGet,
  'qom-set': qomSet
}
