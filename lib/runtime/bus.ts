/**
 * The bus state of a running instance, derived from its runtime alone (QEMU has no
 * `query-scsi`): the recorded disks and NICs, plus the devices of `kvm_cmd` that carry an
 * explicit place (controller, CD-ROMs, floppy), plus the reserved PCI slots.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { emptyBusState, occupy, occupyAll, type BusState } from '../bus/state.js'
import { fieldError, type DevplanError } from '../errors.js'
import { describeMachine } from '../machine/machines.js'
import { missingFunctionZero } from '../bus/ports.js'
import { addressOfProperties, type Placed } from '../bus/address.js'
import type { Hvparams } from '../hvparams.js'
import { parseStructured } from '../qemu-opts.js'
import { splitWords } from '../shell.js'
import type { CmdWord, Runtime } from './types.js'
import { isRuntimeShape, runtimeArg, totalE, totalOr } from '../total.js'
import { chain } from '../hot.js'

/**
 * The hvparams a runtime runs with ({@link Runtime.params}, decoded when it was read).
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeHvparams = (rt: Runtime): E.Either<DevplanError, Hvparams> =>
  pipe(
    runtimeArg('runtime', rt),
    chain(() => rt.params)
  )

/**
 * A `-device` of `kvm_cmd`: its driver, its id if any, and its place if it has one.
 *
 * @since 0.1.0
 * @category runtime
 */
export interface ReadDevice {
  readonly driver: string
  readonly id: string | undefined
  readonly placed: Placed | undefined
}

/**
 * The `-device` options of a command line, JSON or key=value, read from its words: for a
 * `kvm_cmd` whose devices were not recorded typed (Ganeti's, or a format-1 file's).
 *
 * @since 0.1.0
 */
export const cmdDevices = (cmd: ReadonlyArray<CmdWord>): ReadonlyArray<ReadDevice> => {
  const devices: Array<ReadDevice> = []
  for (let i = 0; i < cmd.length - 1; i++) {
    const value = cmd[i + 1]
    if (cmd[i] !== '-device' || typeof value !== 'string') continue
    const o = parseStructured(value)
    if (o === undefined || typeof o['driver'] !== 'string') continue
    const driver = o['driver']
    const id = typeof o['id'] === 'string' ? o['id'] : undefined
    const address = id === undefined ? undefined : addressOfProperties(o)
    devices.push({ driver, id, placed: id === undefined || address === undefined ? undefined : { driver, id, address } })
  }
  return devices
}

/** The buses the planner places devices on (q35: `pcie.0` and the buses of its root ports). */
const PLANNED_BUS = /^(pci\.0|pcie\.0|port\d{1,3}|scsi\.0|ide\.[0-5]|isa\.0|floppy-bus\.0)$/

/**
 * The machine type a runtime runs: `machine_version`, or when it is empty the `type=` of its
 * `-machine` (a plan for a target machine such as q35 records it there only), else `pc`.
 *
 * @since 0.2.0
 */
export const runtimeMachine = (rt: Runtime, h: Hvparams): string => {
  if (h.machine_version !== '') return h.machine_version
  const i = rt.cmd.findIndex((w) => w === '-machine' || w === '-M')
  const value = rt.cmd[i + 1]
  const m = i < 0 || typeof value !== 'string' ? null : /^(?:type=)?([a-z0-9][a-z0-9._-]*)(?:,|$)/.exec(value)
  return m?.[1] ?? 'pc'
}

/**
 * `kvm_cmd` without the trailing `kvm_extra` words: the README promises they are never parsed
 * for buses (a file Ganeti wrote may have them elsewhere; its own devices carry no places).
 *
 * @since 0.1.0
 */
export const withoutExtra = (cmd: ReadonlyArray<CmdWord>, kvmExtra: string): ReadonlyArray<CmdWord> => {
  const extra = splitWords(kvmExtra)
  if (E.isLeft(extra) || extra.right.length === 0 || extra.right.length > cmd.length) return cmd
  const tail = cmd.slice(cmd.length - extra.right.length)
  return tail.every((w, i) => w === extra.right[i]) ? cmd.slice(0, cmd.length - extra.right.length) : cmd
}

/**
 * The devices of `kvm_cmd`: the typed ones of the stamp, or, for a file without them, those read
 * from its words (never its `kvm_extra`, which the README promises is never parsed for buses).
 *
 * @since 0.2.0
 * @category runtime
 */
export const runtimeCmdDevices = (rt: Runtime): ReadonlyArray<ReadDevice> =>
  // No room for an error here: what is not a runtime has no devices.
  totalOr([], () => (isRuntimeShape(rt) ? cmdDevicesOf(rt) : []))

const cmdDevicesOf = (rt: Runtime): ReadonlyArray<ReadDevice> => {
  const typed = rt.stamp?.devices
  if (typed !== undefined) return typed.map(({ device: d }) => ({ driver: d.driver, id: d.id, placed: { driver: d.driver, id: d.id, address: d.address } }))
  return cmdDevices(withoutExtra(rt.cmd, E.isRight(rt.params) ? rt.params.right.kvm_extra : ''))
}

/**
 * Every device id the runtime knows of: recorded disks and NICs and the ids in `kvm_cmd`.
 *
 * @since 0.1.0
 */
export const runtimeIds = (rt: Runtime): ReadonlySet<string> => {
  const ids = new Set<string>()
  eachRuntimeId(rt, (id) => { ids.add(id) })
  return ids
}

/**
 * Whether the runtime knows a device id ({@link runtimeIds} has it), without building the set.
 *
 * @since 0.3.0
 */
export const runtimeHasId = (rt: Runtime, id: string): boolean => {
  let found = false
  eachRuntimeId(rt, (known) => { found ||= known === id })
  return found
}

const eachRuntimeId = (rt: Runtime, f: (id: string) => void): void => {
  // Loops, not flatMap: V8's flatMap costs more than the rest of a hot-add on a big runtime.
  for (const d of rt.disks) if (d.placed !== undefined) f(d.placed.id)
  for (const n of rt.nics) if (n.placed !== undefined) f(n.placed.id)
  for (const d of runtimeCmdDevices(rt)) if (d.id !== undefined) f(d.id)
  // kvm_extra's own -device ids are taken too, though their places are not the library's. A
  // file without typed devices has them anywhere in kvm_cmd; a typed one in its kvm_extra words.
  for (const d of cmdDevices(rt.stamp?.devices === undefined ? rt.cmd : extraWords(rt))) if (d.id !== undefined) f(d.id)
}

/** The kvm_extra words this library rendered last on the command line. */
const extraWords = (rt: Runtime): ReadonlyArray<CmdWord> => {
  const extra = E.isRight(rt.params) ? splitWords(rt.params.right.kvm_extra) : E.right([])
  return E.isLeft(extra) ? [] : extra.right
}

/**
 * The bus state of the instance a runtime describes. Two devices claiming one place is an
 * error naming both: such a runtime cannot be started again either.
 *
 * @since 0.1.0
 * @category runtime
 */
export const runtimeBusState = (rt: Runtime): E.Either<DevplanError, BusState> => totalE('runtime', () => busStateOf(rt))

const busStateOf = (rt: Runtime): E.Either<DevplanError, BusState> =>
  pipe(
    runtimeHvparams(rt),
    chain((h) => {
      const machine = describeMachine(runtimeMachine(rt, h))
      if (machine === undefined) return E.left(fieldError('hvparams.machine_version', h.machine_version, 'expected a pc (i440fx) or q35 machine type'))
      const empty = emptyBusState(machine, h.kvm_pci_reservations, h.scsi_controller_type)
      // Devices of kvm_cmd that sit on a bus the planner owns (the controller, CD-ROMs, the
      // floppy) hold their places; anything else there is not the library's to account for,
      // and never makes the bus state fail.
      let fromCmd = empty
      for (const d of runtimeCmdDevices(rt)) {
        if (d.placed === undefined || !PLANNED_BUS.test(d.placed.address.bus)) continue
        const next = occupy(d.placed)(fromCmd)
        if (E.isRight(next)) fromCmd = next.right
      }
      const recorded: Array<Placed> = []
      for (const d of rt.disks) if (d.placed !== undefined) recorded.push(d.placed)
      for (const n of rt.nics) if (n.placed !== undefined) recorded.push(n.placed)
      // A running instance has the root ports it started with: pcie.0 takes no new one.
      const started: BusState = fromCmd.ports === undefined ? fromCmd : { ...fromCmd, ports: { ...fromCmd.ports, grow: false } }
      const gap = started.ports === undefined ? undefined : missingFunctionZero(started.ports)[0]
      if (gap !== undefined) return E.left(gap)
      return occupyAll(recorded)(started)
    })
  )
