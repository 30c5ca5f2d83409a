/**
 * What the scripted executor models of a running QEMU: its devices, block nodes, netdevs, named
 * fds, chardevs, objects, displays and balloon. Plain data, so that a test can read it, compare
 * it, or start from one written by hand; `stateOfRuntime` (seed.ts) builds one from a runtime.
 *
 * @since 0.3.0
 */

/**
 * A device as the scripted QEMU holds it. `unplug` is set once `device_del` was accepted for a
 * device that waits for its guest (PCI): it stays, with its slot, drive and netdev, until released.
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedDevice {
  /** Absent for the machine's own functions (the host bridge, PIIX3…), which QMP cannot name. */
  readonly id?: string
  readonly driver: string
  readonly bus: string
  readonly pci?: { readonly slot: number; readonly function: number }
  readonly scsi?: { readonly channel: number; readonly scsiId: number; readonly lun: number }
  /** The node attached (for a tray device: the medium inserted), or a `-drive` id. */
  readonly drive?: string
  readonly netdev?: string
  /** Only for devices with a tray (ide-cd, scsi-cd, floppy). */
  readonly trayOpen?: boolean
  /** The `device_add` (or `-device`) properties as given, for `qom-get`. */
  readonly properties: { readonly [key: string]: unknown }
  /** `releaseAtMs`: the simulated time the guest lets it go; absent: only `release(id)` does. */
  readonly unplug?: { readonly releaseAtMs?: number }
}

/**
 * A block node. `monitor` is false for a child created inline in another node's `blockdev-add`,
 * which `blockdev-del` refuses ("not owned by the monitor").
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedNode {
  readonly name: string
  readonly driver: string
  readonly children: ReadonlyArray<{ readonly role: string; readonly node: string }>
  readonly monitor: boolean
  readonly readOnly: boolean
  /** What `query-named-block-nodes` shows as `file`: the filename of the leaf below. */
  readonly filename: string
  readonly cache: { readonly direct: boolean; readonly noFlush: boolean }
  /** A `throttle` node's `throttle-group`. */
  readonly group?: string
  /** Added with `backing: null`: only such a node can become a snapshot's overlay. */
  readonly backingNull?: boolean
  /** Virtual size in bytes, once known (a `block_resize`); else `ScriptedOptions.imageBytes`. */
  readonly sizeBytes?: number
}

/**
 * A block job (`blockdev-mirror`, `blockdev-backup`) as QEMU's job layer runs it. `dueAtMs` is
 * the simulated time of its next step of its own (a mirror's `ready`, a backup's end).
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedJob {
  readonly id: string
  readonly type: 'mirror' | 'backup' | 'commit'
  readonly status: 'running' | 'ready' | 'concluded'
  readonly device: string
  readonly target: string
  readonly replaces?: string
  readonly len: number
  readonly offset: number
  readonly dueAtMs?: number
  /** Set once it failed or was cancelled, as `query-jobs` shows it. */
  readonly error?: string
  /** QEMU's default `auto-dismiss: true`: the job goes once it has concluded. */
  readonly autoDismiss?: true
}

/**
 * A QOM object; a `throttle-group` keeps its whole `limits` (QEMU's 19 members).
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedObject {
  readonly id: string
  readonly qomType: string
  readonly limits?: { readonly [key: string]: number }
}

/**
 * The whole modelled QEMU.
 *
 * @since 0.3.0
 * @category executor
 */
export interface ScriptedState {
  readonly machine: 'pc' | 'q35'
  /** `prelaunch` is QEMU's status under `-S` before the first `cont`. */
  readonly status: 'prelaunch' | 'running' | 'paused'
  readonly devices: ReadonlyArray<ScriptedDevice>
  readonly nodes: ReadonlyArray<ScriptedNode>
  /** `-drive` ids: backends without a node name, gone with their device. */
  readonly drives: ReadonlyArray<string>
  readonly netdevs: ReadonlyArray<{ readonly id: string; readonly type: string }>
  /** Names given by `getfd` and not yet consumed by `netdev_add` or closed. */
  readonly fds: ReadonlyArray<string>
  readonly chardevs: ReadonlyArray<string>
  readonly objects: ReadonlyArray<ScriptedObject>
  readonly jobs: ReadonlyArray<ScriptedJob>
  readonly vnc: 'absent' | 'no-password' | 'password'
  readonly spice: boolean
  readonly memoryBytes: number
  /** The last `balloon` target; absent before any. */
  readonly balloonTargetBytes?: number
  /** Milliseconds of simulated time: advanced only by `waitEvent` timeouts. */
  readonly clockMs: number
}

/** The machine's own PCI functions on bus 0, as `-nodefaults` leaves them (measured on 7.2). */
const BUILTINS: Readonly<Record<ScriptedState['machine'], ReadonlyArray<ScriptedDevice>>> = {
  pc: [
    { driver: 'i440FX', bus: 'pci.0', pci: { slot: 0, function: 0 }, properties: {} },
    { driver: 'PIIX3', bus: 'pci.0', pci: { slot: 1, function: 0 }, properties: {} },
    { driver: 'piix3-ide', bus: 'pci.0', pci: { slot: 1, function: 1 }, properties: {} },
    { driver: 'PIIX4_PM', bus: 'pci.0', pci: { slot: 1, function: 3 }, properties: {} }
  ],
  q35: [
    { driver: 'mch', bus: 'pcie.0', pci: { slot: 0, function: 0 }, properties: {} },
    { driver: 'ICH9-LPC', bus: 'pcie.0', pci: { slot: 0x1f, function: 0 }, properties: {} },
    { driver: 'ich9-ahci', bus: 'pcie.0', pci: { slot: 0x1f, function: 2 }, properties: {} },
    { driver: 'ICH9-SMB', bus: 'pcie.0', pci: { slot: 0x1f, function: 3 }, properties: {} }
  ]
}

/**
 * A machine with nothing but its own functions, paused as under `-S`: `-nodefaults`, 64 MiB,
 * no display, no balloon.
 *
 * @since 0.3.0
 * @category executor
 */
export const emptyState = (machine: ScriptedState['machine'] = 'pc'): ScriptedState => emptyOf(machine === 'q35' ? 'q35' : 'pc')

// A machine that is neither (a JavaScript caller's value) is read as pc: the documented fallback.
const emptyOf = (machine: ScriptedState['machine']): ScriptedState => ({
  machine,
  status: 'prelaunch',
  devices: BUILTINS[machine],
  nodes: [],
  drives: [],
  netdevs: [],
  fds: [],
  chardevs: [],
  objects: [],
  jobs: [],
  vnc: 'absent',
  spice: false,
  memoryBytes: 64 * 1024 * 1024,
  clockMs: 0
})
