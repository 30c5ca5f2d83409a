/**
 * The bus state of a running instance, derived from its runtime alone (QEMU has no
 * `query-scsi`): the recorded disks and NICs, plus the devices of `kvm_cmd` that carry an
 * explicit place (controller, CD-ROMs, floppy), plus the reserved PCI slots.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { emptyBusState, occupy, type BusState } from '../bus/state.js'
import { fieldError, fromValidationErrors, invalidInput, type DevplanError } from '../errors.js'
import { HvinfoCodec, normalize, type Hvinfo } from '../hvinfo.js'
import { HvparamsLenientCodec, type Hvparams } from '../hvparams.js'
import { parseStructured } from '../qemu-opts.js'
import type { Runtime } from './types.js'

/**
 * The hvparams a runtime runs with, defaults filled.
 *
 * @since 0.1.0
 */
export const runtimeHvparams = (rt: Runtime): E.Either<DevplanError, Hvparams> =>
  pipe(
    HvparamsLenientCodec.decode(rt.hvparams),
    E.mapLeft((errs) => invalidInput(fromValidationErrors(errs).map((e) => ({ ...e, path: `hvparams.${e.path}` }))))
  )

/**
 * A `-device` of `kvm_cmd`: its driver, its id if any, and its place if it has one.
 *
 * @since 0.1.0
 */
export interface CmdDevice {
  readonly driver: string
  readonly id: string | undefined
  readonly hvinfo: Hvinfo | undefined
}

const NUMERIC = new Set(['channel', 'scsi-id', 'lun', 'unit', 'iobase', 'irq'])

const toInt = (v: unknown): unknown => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)

/**
 * The `-device` options of a command line, JSON or key=value.
 *
 * @since 0.1.0
 */
export const cmdDevices = (cmd: ReadonlyArray<string>): ReadonlyArray<CmdDevice> =>
  cmd.flatMap((word, i): ReadonlyArray<CmdDevice> => {
    const value = cmd[i + 1]
    if (word !== '-device' || value === undefined) return []
    const o = parseStructured(value)
    if (o === undefined || typeof o['driver'] !== 'string') return []
    const id = typeof o['id'] === 'string' ? o['id'] : undefined
    // key=value gives every number as a string; hvinfo holds integers.
    const candidate = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, NUMERIC.has(k) ? toInt(v) : v]))
    const h = id !== undefined && typeof o['bus'] === 'string' ? HvinfoCodec.decode(candidate) : undefined
    return [{ driver: o['driver'], id, hvinfo: h !== undefined && E.isRight(h) ? normalize(h.right) : undefined }]
  })

/**
 * Every device id the runtime knows of: recorded disks and NICs and the ids in `kvm_cmd`.
 *
 * @since 0.1.0
 */
export const runtimeIds = (rt: Runtime): ReadonlySet<string> =>
  new Set([
    ...rt.disks.flatMap((d) => (d.hvinfo === undefined ? [] : [d.hvinfo.id])),
    ...rt.nics.flatMap((n) => (n.hvinfo === undefined ? [] : [n.hvinfo.id])),
    ...cmdDevices(rt.cmd).flatMap((d) => (d.id === undefined ? [] : [d.id]))
  ])

/**
 * The bus state of the instance a runtime describes. Two devices claiming one place is an
 * error naming both: such a runtime cannot be started again either.
 *
 * @since 0.1.0
 */
export const runtimeBusState = (rt: Runtime): E.Either<DevplanError, BusState> =>
  pipe(
    runtimeHvparams(rt),
    E.chain((h) => {
      const placed = [
        ...cmdDevices(rt.cmd).flatMap((d) => (d.hvinfo === undefined ? [] : [d.hvinfo])),
        ...rt.disks.flatMap((d) => (d.hvinfo === undefined ? [] : [d.hvinfo])),
        ...rt.nics.flatMap((n) => (n.hvinfo === undefined ? [] : [n.hvinfo]))
      ]
      return placed.reduce<E.Either<DevplanError, BusState>>(
        (acc, hv) => pipe(acc, E.chain(occupy(hv))),
        E.right(emptyBusState(h.kvm_pci_reservations, h.scsi_controller_type))
      )
    }),
    E.mapLeft((e) => (e._tag === 'Unsupported' ? fieldError('runtime', e.device, e.reason) : e))
  )
