/**
 * The devices of `kvm_cmd` — the SCSI controller, CD-ROMs, the floppy, the machine's own — kept
 * typed in the stamp of a format-2 file, so that nothing reads them back out of the words this
 * library rendered. Decoding checks that they render to exactly the words their sections of
 * `kvm_cmd` hold: the typed devices and the command line can never disagree.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as RA from 'fp-ts/lib/ReadonlyArray.js'
import * as t from 'io-ts'
import { deviceArgs } from '../argv.js'
import type { Address } from '../bus/address.js'
import { driverInfo, PORT_BUSES } from '../devices/catalog.js'
import type { BlockDevice, MachineDevice, ScsiController } from '../devices.js'
import { invalidInput, type DevplanError, type FieldError } from '../errors.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import type { QemuVersion } from '../qemu-version.js'
import { decodeBlockdev } from './dicts.js'
import { child, isJsonObject, toJson } from './json.js'
import type { CmdDevice, CmdLayout, CmdWord } from './types.js'

const place = { bus: t.string }

/**
 * io-ts codec of a tagged {@link Address} as the stamp stores it.
 *
 * @since 0.2.0
 */
export const AddressCodec: t.Type<Address, Address, unknown> = t.union([
  t.strict({ _tag: t.literal('pci'), ...place, slot: t.number, function: t.number }),
  t.strict({ _tag: t.literal('scsi'), ...place, channel: t.number, target: t.number, lun: t.number }),
  t.strict({ _tag: t.literal('unit'), ...place, unit: t.number }),
  t.strict({ _tag: t.literal('isa'), ...place, iobase: t.number, irq: t.number }),
  t.strict({ _tag: t.literal('port'), kind: t.keyof(PORT_BUSES), ...place, port: t.number })
])

const Head = t.strict({ driver: t.string, id: t.string, address: AddressCodec })

const err = (path: string, value: unknown, message: string): ReadonlyArray<FieldError> => [{ path, value, message }]

const fromIoTs = (at: string, u: unknown, what: string) => (e: t.Errors): ReadonlyArray<FieldError> =>
  err(at, u, `expected ${what}${e[0]?.context.length ? ` (at ${e[0].context.map((c) => c.key).filter((k) => k !== '').join('.')})` : ''}`)

const decodeDevice = (u: Json, at: string): E.Either<ReadonlyArray<FieldError>, CmdDevice['device']> => {
  if (!isJsonObject(u)) return E.left(err(at, u, 'expected a device'))
  const head = pipe(Head.decode(u), E.mapLeft(fromIoTs(at, u, 'a device with its driver, id and address')))
  if (E.isLeft(head)) return head
  const { driver, id, address } = head.right
  switch (u['kind']) {
    case 'scsi-controller':
      return E.right({ kind: 'scsi-controller', driver, id, address })
    case 'machine': {
      const props = u['properties']
      return isJsonObject(props) ? E.right({ kind: 'machine', driver, id, address, properties: props }) : E.left(err(child(at, 'properties'), props, 'expected the properties object'))
    }
    case 'cdrom':
    case 'floppy': {
      const kind = u['kind']
      const graph = u['graph']
      const writeCache = u['writeCache']
      if (writeCache !== undefined && writeCache !== 'on' && writeCache !== 'off') return E.left(err(child(at, 'writeCache'), writeCache, 'expected "on" or "off"'))
      // An empty tray has no graph: the device then names no drive.
      if (graph === null) return E.right({ kind, uuid: '', driver, id, address, graph: { top: '', nodes: [] }, ...(writeCache === undefined ? {} : { writeCache }) })
      if (!isJsonObject(graph) || typeof graph['top'] !== 'string') return E.left(err(child(at, 'graph'), graph, 'expected the medium: {top, nodes}, or null for an empty tray'))
      return pipe(
        decodeBlockdev(graph['nodes'] ?? null, graph['top'], child(child(at, 'graph'), 'nodes')),
        E.map((nodes): BlockDevice => ({ kind, uuid: '', driver, id, address, graph: { top: nodes[nodes.length - 1]?.['node-name'] ?? '', nodes }, ...(writeCache === undefined ? {} : { writeCache }) }))
      )
    }
    default:
      return E.left(err(child(at, 'kind'), u['kind'], 'expected "scsi-controller", "cdrom", "floppy" or "machine"'))
  }
}

const decodeEntry = (u: Json, i: number): E.Either<ReadonlyArray<FieldError>, CmdDevice> => {
  const at = `stamp.devices[${i}]`
  if (!isJsonObject(u)) return E.left(err(at, u, 'expected {device, bootindex?}'))
  const b = u['bootindex']
  if (b !== undefined && b !== 1) return E.left(err(child(at, 'bootindex'), b, 'expected 1 (the boot device) or nothing'))
  return pipe(
    decodeDevice(u['device'] ?? null, child(at, 'device')),
    E.map((device) => (b === 1 ? { device, bootindex: 1 } : { device }))
  )
}

/**
 * The stamp's `layout`.
 *
 * @since 0.2.0
 */
export const decodeLayout = (u: Json | undefined): E.Either<ReadonlyArray<FieldError>, CmdLayout> => {
  const ok = (v: Json | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  if (!isJsonObject(u) || !ok(u['head']) || !ok(u['controllers']) || !ok(u['devices']) || Object.keys(u).length !== 3) {
    return E.left(err('stamp.layout', u, 'expected {head, controllers, devices}: the lengths of the sections of kvm_cmd'))
  }
  return E.right({ head: u['head'], controllers: u['controllers'], devices: u['devices'] })
}

/**
 * The stamp's `devices`.
 *
 * @since 0.2.0
 */
export const decodeCmdDevices = (u: Json | undefined): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<CmdDevice>> =>
  Array.isArray(u) && u.length <= 256 ? pipe(u as ReadonlyArray<Json>, RA.traverseWithIndex(E.Applicative)((i, d) => decodeEntry(d, i))) : E.left(err('stamp.devices', u, 'expected the list of typed devices of kvm_cmd (at most 256)'))

const renderAll = (qemu: QemuVersion, devices: ReadonlyArray<CmdDevice>): ReadonlyArray<string> => devices.flatMap((d) => deviceArgs(qemu, d.device, d.bootindex))

/**
 * The two device sections a layout gives `kvm_cmd`, rendered from typed devices: controllers
 * first (their buses must exist before the devices on them), the rest after the disks and NICs.
 *
 * @since 0.2.0
 */
export const cmdSections = (qemu: QemuVersion, devices: ReadonlyArray<CmdDevice>): { readonly controllers: ReadonlyArray<string>; readonly devices: ReadonlyArray<string> } => ({
  controllers: renderAll(qemu, devices.filter((d) => inControllers(d))),
  devices: renderAll(qemu, devices.filter((d) => !inControllers(d)))
})

/** The SCSI controller and q35's root ports (which the stamp lists first) provide buses. */
const inControllers = (d: CmdDevice): boolean => d.device.kind === 'scsi-controller' || driverInfo(d.device.driver)?.role === 'port'

const same = (words: ReadonlyArray<CmdWord>, from: number, expected: ReadonlyArray<string>): boolean => expected.every((w, i) => words[from + i] === w)

/**
 * Checks that typed devices are the devices of `kvm_cmd`: rendered, they are exactly the words
 * of their sections.
 *
 * @since 0.2.0
 */
export const checkCmdDevices = (cmd: ReadonlyArray<CmdWord>, layout: CmdLayout, qemu: QemuVersion, devices: ReadonlyArray<CmdDevice>): E.Either<DevplanError, void> => {
  const s = cmdSections(qemu, devices)
  const fits = layout.head + layout.controllers + layout.devices <= cmd.length && s.controllers.length === layout.controllers && s.devices.length === layout.devices
  return fits && same(cmd, layout.head, s.controllers) && same(cmd, layout.head + layout.controllers, s.devices)
    ? E.right(undefined)
    : E.left(invalidInput([{ path: 'stamp.devices', value: `(${devices.length} devices)`, message: 'are not the devices of kvm_cmd: rendered, they differ from the words the layout gives them (was kvm_cmd edited?)' }]))
}

/**
 * A typed device as the stamp stores it.
 *
 * @since 0.2.0
 */
export const encodeCmdDevice = (d: CmdDevice): Json => {
  const dev = d.device
  const body: ScsiController | MachineDevice | BlockDevice | { readonly graph: null } =
    dev.kind === 'cdrom' || dev.kind === 'floppy' ? (dev.graph.nodes.length === 0 ? { ...dev, graph: null } : dev) : dev
  // Typed devices are plain data: the copy cannot fail.
  const device = pipe(toJson(body, 'device'), E.getOrElseW(() => null))
  const json: JsonObject = { device: isJsonObject(device) ? withoutUuid(device) : null }
  return d.bootindex === undefined ? json : { ...json, bootindex: d.bootindex }
}

/** CD-ROMs and the floppy have no uuid: an empty one is not written. */
const withoutUuid = (o: JsonObject): JsonObject => Object.fromEntries(Object.entries(o).filter(([k, v]) => !(k === 'uuid' && v === '')))
