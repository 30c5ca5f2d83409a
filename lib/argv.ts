/**
 * Rendering a device tree as a QEMU command line. Structured options use JSON where the target
 * QEMU parses it and `key=value` with `,,` escaping before; either way a string from the spec is
 * always one value and can never add, drop or change an option.
 *
 * @since 0.1.0
 */
import type { ObjectOptions } from './block/object.js'
import { driverInfo } from './devices/catalog.js'
import { deviceOptionsOf, netdevOptions, type Device, type DeviceTree } from './devices.js'
import { escapeValue, toJson, toKeyval } from './qemu-opts.js'
import { machineHeadArgs, machineProperties, machineTailArgs, smpValue } from './machine/render.js'
import { features, type Features, type QemuVersion } from './qemu-version.js'
import { quoteWord } from './shell.js'
import { describeMachine } from './machine/machines.js'
import { hotplugGlobal } from './bus/ports.js'
import { isRenderOptions, isTreeShape, prop, totalOr } from './total.js'
import { flatMapArray } from './hot.js'

/**
 * What the command line needs beyond the tree: where the QMP socket goes, and the accelerator
 * when it must differ from the plan's (`tcg` for tests on a machine without /dev/kvm).
 *
 * @since 0.1.0
 * @category render
 */
export interface RenderOptions {
  readonly qmpSocket: string
  readonly accel?: 'kvm' | 'tcg'
  /**
   * Where the serial console's and guest agent's sockets go (`<name>.serial`, `<name>.qga`, as
   * Ganeti names them in its control directory). Default: the QMP socket's directory.
   */
  readonly controlDir?: string
}

const dirOf = (path: string): string => {
  const i = path.lastIndexOf('/')
  return i <= 0 ? (i === 0 ? '' : '.') : path.slice(0, i)
}

/**
 * One `-object`: JSON, or key=value with the type first (`secret,id=…,file=…`). A throttle
 * group only exists where JSON does: 7.2's key=value refuses `limits.*`.
 *
 * @since 0.3.0
 */
export const objectOption = (json: boolean, o: ObjectOptions): string => {
  if (json) return toJson(o)
  const { 'qom-type': type, ...props } = o
  return `${type},${toKeyval(props)}`
}

/**
 * `1` for the device the tree boots from, if its driver has a bootindex.
 *
 * @since 0.2.0
 */
export const bootindexOf = (tree: DeviceTree, device: Device): number | undefined =>
  tree.boot._tag === 'device' && device.id === tree.boot.id && driverInfo(device.driver)?.bootindex === true ? 1 : undefined

/**
 * The command-line options of one device for a target QEMU: `-blockdev`s then `-device` for a
 * block device, `-netdev` then `-device` for a NIC. The one renderer of devices: a command line
 * rebuilt from a runtime uses it too, so it is byte-identical to the one the instance started
 * with.
 *
 * @since 0.1.0
 */
export const deviceArgs = (qemu: QemuVersion, device: Device, bootindex?: number): ReadonlyArray<string> => {
  const out: string[] = []
  pushDeviceArgs(out, features(qemu), device, bootindex)
  return out
}

/**
 * {@link deviceArgs} onto `out`, for a device of a planned tree: the renderer asks the target's
 * features once per command line, not once per device, and builds no array per device.
 */
const pushDeviceArgs = (out: string[], f: Features, device: Device, bootindex: number | undefined): void => {
  const json = f.jsonDevice
  switch (device.kind) {
    case 'scsi-controller':
    case 'machine':
      break
    case 'nic':
      out.push('-netdev', f.jsonNetdev ? toJson(netdevOptions(device)) : toKeyval(netdevOptions(device)))
      break
    default:
      // JSON -blockdev predates JSON -device; keyval is kept for old targets all the same, so
      // one syntax is used per command line.
      for (const o of device.graph.objects ?? []) out.push('-object', objectOption(json, o))
      for (const n of device.graph.nodes) out.push('-blockdev', json ? toJson(n) : toKeyval(n))
  }
  const options = deviceOptionsOf(device, bootindex) ?? {}
  out.push('-device', json ? toJson(options) : toKeyval(options))
}

const bootArgs = (tree: DeviceTree): ReadonlyArray<string> => {
  switch (tree.boot._tag) {
    case 'kernel':
      return [
        '-kernel',
        tree.boot.kernel,
        ...(tree.boot.initrd === '' ? [] : ['-initrd', tree.boot.initrd]),
        ...(tree.boot.append === '' ? [] : ['-append', tree.boot.append])
      ]
    case 'floppy':
      // The floppy drive has no bootindex property; the legacy boot order still selects it.
      return ['-boot', 'order=a']
    case 'network':
      // No NIC to take a bootindex: the firmware is asked for the network, then boots what it
      // finds, as under Ganeti's -boot n.
      return ['-boot', 'order=n']
    default:
      return []
  }
}

/**
 * The command line in its named sections, in order. A runtime keeps the `records` (disks and
 * NICs) apart, as Ganeti does, and knows where each section starts without searching the words.
 *
 * @since 0.2.0
 * @category render
 */
export interface ArgvSections {
  /** `kvm_path`, the machine, memory, CPUs, the machine's head options, the QMP monitor. */
  readonly head: ReadonlyArray<string>
  /** q35's root ports, then the SCSI controller: their buses must exist before the devices on them. */
  readonly controllers: ReadonlyArray<string>
  /** Every disk, then every NIC: what a runtime records in `kvm_disks` and `kvm_nics`. */
  readonly records: ReadonlyArray<string>
  /** CD-ROMs, the floppy and the devices of the machine. */
  readonly devices: ReadonlyArray<string>
  /** Consoles, display, confinement, boot, and `kvm_extra` last. */
  readonly tail: ReadonlyArray<string>
}

/**
 * The complete command line, section by section (see {@link renderArgv}).
 *
 * @since 0.2.0
 * @category render
 */
export const renderSections = (tree: DeviceTree, options: RenderOptions): ArgvSections =>
  // The type has no room for an error: what is not a tree with its render options renders as no
  // words at all, which no caller can start, rather than as a guess at a machine.
  totalOr(NO_SECTIONS, () => (isTreeShape(tree) && isRenderOptions(options) ? sectionsOf(tree, options) : NO_SECTIONS))

const NO_SECTIONS: ArgvSections = { head: [], controllers: [], records: [], devices: [], tail: [] }

const sectionsOf = (tree: DeviceTree, options: RenderOptions): ArgvSections => {
  const f = features(tree.qemu)
  const args = (groups: ReadonlyArray<ReadonlyArray<Device>>): ReadonlyArray<string> => {
    const out: string[] = []
    for (const devices of groups) for (const d of devices) pushDeviceArgs(out, f, d, bootindexOf(tree, d))
    return out
  }
  return {
    head: headArgs(tree, options),
    controllers: args([tree.rootPorts, tree.controllers]),
    records: args([tree.disks, tree.nics]),
    devices: args([tree.cdroms, tree.floppies, tree.machineDevices]),
    tail: [...machineTailArgs(tree.machineOptions, options.controlDir ?? dirOf(options.qmpSocket)), ...bootArgs(tree), ...tree.extra]
  }
}

/**
 * The sections as one argv.
 *
 * @since 0.2.0
 * @category render
 */
export const joinSections = (s: ArgvSections): ReadonlyArray<string> =>
  // A missing or foreign section adds nothing, and only strings are words of an argv.
  totalOr([], () => flatMapArray(['head', 'controllers', 'records', 'devices', 'tail'] as const, (k) => words(prop(s, k))))

const words = (u: unknown): ReadonlyArray<string> => (Array.isArray(u) ? u.filter((w): w is string => typeof w === 'string') : [])

/**
 * The complete command line, `argv[0]` being `kvm_path`. Deterministic: the same tree and
 * options give the same array, byte for byte.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, formatError, planDevices, renderArgv, showArgv } from 'qemu-devplan'
 *
 * const argv = pipe(
 *   decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512, hvparams: { kvm_path: '/usr/bin/qemu-system-x86_64' } }),
 *   E.chain((instance) => planDevices(instance, { qemu: '7.2' })),
 *   E.map((tree) => renderArgv(tree, { qmpSocket: '/run/ganeti/kvm-hypervisor/ctrl/vm1.qmp' })),
 *   E.getOrElseW((err) => {
 *     throw new Error(formatError(err))
 *   })
 * )
 * console.log(argv[0]) // /usr/bin/qemu-system-x86_64
 * console.log(showArgv(argv)) // one option per line, quoted for a shell
 * ```
 *
 * @since 0.1.0
 * @category render
 */
export const renderArgv = (tree: DeviceTree, options: RenderOptions): ReadonlyArray<string> =>
  // The sections of a checked tree hold only strings: joined as they are, without joinSections' filter.
  totalOr([], () => {
    if (!(isTreeShape(tree) && isRenderOptions(options))) return []
    const s = sectionsOf(tree, options)
    return s.head.concat(s.controllers, s.records, s.devices, s.tail)
  })

/** q35: the hotplug mode of its description, whatever the machine version's default. */
const pinnedGlobals = (machine: string): ReadonlyArray<string> => {
  const ports = describeMachine(machine)?.ports
  return ports === undefined ? [] : ['-global', hotplugGlobal(ports)]
}

const headArgs = (tree: DeviceTree, options: RenderOptions): ReadonlyArray<string> => [
  tree.binary,
  '-name',
  `guest=${escapeValue(tree.name)}`,
  '-uuid',
  tree.uuid,
  '-machine',
  `type=${escapeValue(tree.machine)},accel=${options.accel ?? tree.accel}${machineProperties(tree.machineOptions, tree.qemu)}`,
  ...pinnedGlobals(tree.machine),
  '-m',
  String(tree.memory),
  '-smp',
  smpValue(tree.vcpus, tree.machineOptions),
  ...machineHeadArgs(tree.machineOptions, tree.qemu),
  '-nodefaults',
  '-chardev',
  `socket,id=qmp,path=${escapeValue(options.qmpSocket)},server=on,wait=off`,
  '-mon',
  'chardev=qmp,mode=control'
]

/**
 * An argv for people: one option and its value per line, shell-quoted, continued with `\`.
 *
 * @since 0.1.0
 * @category render
 */
export const showArgv = (argv: ReadonlyArray<string>): string =>
  // Only the strings of an array are shown: anything else is not an argv, and shows as nothing.
  totalOr('', () => showWords(words(argv)))

const showWords = (argv: ReadonlyArray<string>): string => {
  const lines: string[] = []
  for (const word of argv) {
    const q = quoteWord(word)
    const last = lines.length - 1
    if (last >= 0 && !word.startsWith('-') && (lines[last] ?? '').startsWith('-') && !(lines[last] ?? '').includes(' ')) lines[last] = `${lines[last] ?? ''} ${q}`
    else lines.push(q)
  }
  return lines.join(' \\\n  ')
}
