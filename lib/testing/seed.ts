/**
 * The scripted QEMU's state read from a command line, or from a runtime through the command line
 * it rebuilds: the devices, block nodes, drives, netdevs and objects QEMU would have at start.
 *
 * @since 0.3.0
 * @category executor
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { driverInfo } from '../devices/catalog.js'
import type { DevplanError } from '../errors.js'
import { parseStructured } from '../qemu-opts.js'
import { runtimeArgv, type RebuildOptions } from '../runtime/rebuild.js'
import type { Runtime } from '../runtime/types.js'
import { fullLimits } from './limits.js'
import { totalOr } from '../total.js'
import { emptyState, type ScriptedDevice, type ScriptedNode, type ScriptedState } from './state.js'

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => (typeof u === 'string' ? u : typeof u === 'number' ? String(u) : undefined)
const num = (u: unknown): number | undefined => {
  const n = typeof u === 'number' ? u : typeof u === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(u) ? Number(u) : undefined
  return n !== undefined && Number.isInteger(n) ? n : undefined
}

/** A PCI `addr` as QEMU reads it: `"0x10"`, `"0x10.1"`, `"10"` (hex), or a number taken as the slot. */
export const parsePciAddr = (u: unknown): { readonly slot: number; readonly function: number } | undefined => {
  if (typeof u === 'number') return Number.isInteger(u) && u >= 0 && u < 32 ? { slot: u, function: 0 } : undefined
  if (typeof u !== 'string') return undefined
  const m = /^(?:0x)?([0-9a-f]{1,2})(?:\.([0-7]))?$/i.exec(u)
  if (m === null) return undefined
  const slot = parseInt(m[1] ?? '', 16)
  return slot < 32 ? { slot, function: m[2] === undefined ? 0 : Number(m[2]) } : undefined
}

/** The buses a device provides: `C.0` for controllers (SCSI, USB, virtio-serial), the port's own id for a root port. */
export const providedBus = (d: Pick<ScriptedDevice, 'id' | 'driver'>): string | undefined => {
  if (d.id === undefined) return undefined
  if (d.driver === 'pcie-root-port') return d.id
  const provides = driverInfo(d.driver)?.provides
  return provides === undefined || provides === 'pcie-port' ? undefined : `${d.id}.0`
}

/** Reads one `-blockdev` (JSON or key=value) into its nodes, inline children included. */
const blockdevNodes = (o: Readonly<Record<string, unknown>>, monitor: boolean, out: ScriptedNode[]): string | undefined => {
  const name = str(o['node-name'])
  const driver = str(o['driver'])
  if (name === undefined || driver === undefined) return undefined
  const children: Array<{ role: string; node: string }> = []
  for (const role of ['file', 'backing', 'image']) {
    const c = o[role]
    const child = typeof c === 'string' ? c : isRecord(c) ? blockdevNodes(c, false, out) : undefined
    if (child !== undefined) children.push({ role, node: child })
  }
  const leaf = out.find((n) => n.name === children[0]?.node)
  const cache = isRecord(o['cache']) ? o['cache'] : {}
  out.push({
    name,
    driver,
    children,
    monitor,
    readOnly: o['read-only'] === true || o['read-only'] === 'on',
    filename: str(o['filename']) ?? leaf?.filename ?? '',
    cache: { direct: cache['direct'] === true || cache['direct'] === 'on', noFlush: cache['no-flush'] === true || cache['no-flush'] === 'on' },
    ...(str(o['throttle-group']) === undefined ? {} : { group: str(o['throttle-group']) ?? '' }),
    ...(o['backing'] === null ? { backingNull: true } : {})
  })
  return name
}

/** The `-device` properties as the model keeps a device. */
export const deviceOf = (o: Readonly<Record<string, unknown>>, bus: string): ScriptedDevice => {
  const driver = str(o['driver']) ?? ''
  const id = str(o['id'])
  const pci = parsePciAddr(o['addr'])
  const scsiId = num(o['scsi-id'])
  const drive = str(o['drive'])
  const netdev = str(o['netdev'])
  return {
    ...(id === undefined ? {} : { id }),
    driver,
    bus,
    ...(pci === undefined ? {} : { pci }),
    ...(scsiId === undefined ? {} : { scsi: { channel: num(o['channel']) ?? 0, scsiId, lun: num(o['lun']) ?? 0 } }),
    ...(drive === undefined ? {} : { drive }),
    ...(netdev === undefined ? {} : { netdev }),
    ...(driverInfo(driver)?.tray === true ? { trayOpen: false } : {}),
    // A copy: the caller's command object stays theirs.
    properties: { ...o }
  }
}

/**
 * The state of a QEMU started with `argv` (what `renderArgv` or `runtimeArgv` give): its
 * `-machine`, `-m`, `-device`, `-blockdev`, `-drive`, `-netdev`, `-chardev`, `-object`, `-vnc`,
 * `-spice` and `-S`. A `-device` without `bus` sits on the machine's PCI root bus. The machine's
 * own functions are those of `-nodefaults`: without it QEMU adds a VGA, an e1000 and an IDE
 * CD-ROM, which the model does not.
 *
 * @since 0.3.0
 * @category executor
 */
export const stateOfArgv = (given: ReadonlyArray<string>): ScriptedState => {
  // What is not a list of words reads as an empty command line: the documented fallback.
  const argv: ReadonlyArray<string> = totalOr([], () => (Array.isArray(given) ? given.filter((w): w is string => typeof w === 'string') : []))
  const opts = (flag: string): ReadonlyArray<Readonly<Record<string, unknown>>> =>
    argv.flatMap((w, i) => {
      const v = argv[i + 1]
      const o = w === flag && v !== undefined ? parseStructured(v, flag === '-machine' ? 'type' : flag === '-netdev' || flag === '-chardev' ? 'type' : flag === '-object' ? 'qom-type' : 'driver') : undefined
      return o === undefined ? [] : [o]
    })
  const type = str(opts('-machine')[0]?.['type']) ?? 'pc'
  const machine: ScriptedState['machine'] = /q35/.test(type) ? 'q35' : 'pc'
  const base = emptyState(machine)
  const root = machine === 'q35' ? 'pcie.0' : 'pci.0'
  const nodes: ScriptedNode[] = []
  for (const o of opts('-blockdev')) blockdevNodes(o, true, nodes)
  const mem = argv[argv.indexOf('-m') + 1]
  const mib = mem === undefined || argv.indexOf('-m') < 0 ? undefined : num(mem.split(',')[0]?.replace(/^size=/, '').replace(/M$/i, ''))
  const vnc = opts('-vnc')[0]
  const devices = opts('-device').map((o) => deviceOf(o, str(o['bus']) ?? root))
  return {
    ...base,
    status: argv.includes('-S') ? 'prelaunch' : 'running',
    devices: [...base.devices, ...devices],
    nodes,
    drives: opts('-drive').flatMap((o) => (str(o['id']) === undefined ? [] : [str(o['id']) ?? ''])),
    netdevs: opts('-netdev').flatMap((o) => (str(o['id']) === undefined ? [] : [{ id: str(o['id']) ?? '', type: str(o['type']) ?? '' }])),
    chardevs: opts('-chardev').flatMap((o) => (str(o['id']) === undefined ? [] : [str(o['id']) ?? ''])),
    objects: opts('-object').flatMap((o) => {
      const id = str(o['id'])
      const qomType = str(o['qom-type']) ?? ''
      return id === undefined ? [] : [{ id, qomType, ...(qomType === 'throttle-group' ? { limits: fullLimits(isRecord(o['limits']) ? o['limits'] : {}) } : {}) }]
    }),
    vnc: vnc === undefined ? 'absent' : vnc['password'] === 'on' || vnc['password'] === true ? 'password' : 'no-password',
    spice: argv.includes('-spice'),
    ...(mib === undefined ? {} : { memoryBytes: mib * 1024 * 1024 })
  }
}

/**
 * The state of the QEMU a runtime describes: the argv `runtimeArgv` rebuilds from it (its disks
 * and NICs included), read by {@link stateOfArgv}, running as a started instance is (no `-S`
 * unless the runtime has it). `options` are `runtimeArgv`'s: a runtime Ganeti wrote has no stamp and
 * needs `qemu`. `Left` when the runtime cannot be rebuilt.
 *
 * @since 0.3.0
 * @category executor
 */
export const stateOfRuntime = (runtime: Runtime, options?: RebuildOptions): E.Either<DevplanError, ScriptedState> => pipe(runtimeArgv(runtime, options), E.map(stateOfArgv))
