/**
 * The `pcie-root-port`s of a q35 machine: one per hot-pluggable device (every disk and NIC on
 * PCI), each device alone at `addr 0x0` behind its port, since `pcie.0` refuses every hotplug.
 * Ports are packed 8 to a `pcie.0` slot as functions, in device order, from the description's
 * first slot; the spare ports for later hot-adds come after every planned device's port, so
 * that changing their count never moves a device.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { pciAddress, type Address } from './address.js'
import type { DevplanError } from '../errors.js'
import type { MachineDevice } from '../devices.js'
import { takeSlot, type PciBus } from './pci.js'
import { chain } from '../hot.js'

/**
 * The hvparam giving the number of spare root ports.
 *
 * @since 0.2.0
 * @category plan
 */
export const SPARE_PORTS_HVPARAM = 'kvm_pcie_spare_ports'

/**
 * Where a machine's root ports go: from `firstSlot` of the root bus upward.
 *
 * @since 0.2.0
 * @category plan
 */
export interface PortLayout {
  readonly firstSlot: number
  /**
   * How the guest learns of hot-plugs behind the ports: ACPI (the default of pc-q35 ≥ 6.1, not
   * of older ones) or native PCIe. Guests name NICs by it (Proxmox saw `ens18` become
   * `enp6s18`), so the plan sets it rather than leave it to the machine version.
   */
  readonly hotplug: 'acpi' | 'native'
}

/**
 * The `-global` that pins a layout's hotplug mode on ICH9.
 *
 * @since 0.2.0
 */
export const hotplugGlobal = (layout: PortLayout): string => `ICH9-LPC.acpi-pci-hotplug-with-bridge-support=${layout.hotplug === 'acpi' ? 'on' : 'off'}`

/**
 * One root port: its place on the root bus and the device behind it, if any.
 *
 * @since 0.2.0
 */
export interface RootPort {
  /** Also the name of the bus it provides (QEMU names a port's bus after its id). */
  readonly id: string
  readonly slot: number
  readonly function: number
  readonly holder?: string
}

/**
 * The root ports of an instance, in (slot, function) order.
 *
 * @since 0.2.0
 */
export interface PortState {
  readonly layout: PortLayout
  readonly ports: ReadonlyArray<RootPort>
  /**
   * Planning a start: a device with no free port gets a new one. A running instance has only
   * the ports it was started with (`pcie.0` takes no new port).
   */
  readonly grow: boolean
}

/**
 * `port<chassis>`: chassis numbers count from 1 in port order, unique as QEMU requires.
 *
 * @since 0.2.0
 */
export const rootPortId = (chassis: number): string => `port${chassis}`

/**
 * No ports yet.
 *
 * @since 0.2.0
 */
export const emptyPorts = (layout: PortLayout): PortState => ({ layout, ports: [], grow: true })

/**
 * A new port after the last one: the next function of its slot, or function 0 of the next free
 * root-bus slot (which the port group then holds).
 *
 * @since 0.2.0
 */
export const newPort = (pci: PciBus, ports: PortState): E.Either<DevplanError, readonly [RootPort, PciBus, PortState]> => {
  const last = ports.ports[ports.ports.length - 1]
  const id = rootPortId(ports.ports.length + 1)
  const add = (port: RootPort, bus: PciBus): readonly [RootPort, PciBus, PortState] => [port, bus, { ...ports, ports: [...ports.ports, port] }]
  if (last !== undefined && last.function < 7) return E.right(add({ id, slot: last.slot, function: last.function + 1 }, pci))
  const from = last === undefined ? ports.layout.firstSlot : last.slot + 1
  for (let slot = from; slot < pci.slots.capacity; slot++) {
    if (pci.slots.taken[slot] === undefined) return pipe(takeSlot(slot, id)(pci), E.map((bus) => add({ id, slot, function: 0 }, bus)))
  }
  // 255 ports at most: chassis is a uint8 and pcie.0 has 32 slots.
  return E.left({ _tag: 'BusFull', bus: pci.bus, device: id, capacity: pci.slots.capacity })
}

/**
 * Puts a device behind the lowest free port; on a running instance, running out is an error
 * naming {@link SPARE_PORTS_HVPARAM}.
 *
 * @since 0.2.0
 */
export const allocatePort =
  (owner: string) =>
  (pci: PciBus, ports: PortState): E.Either<DevplanError, readonly [Address, PciBus, PortState]> => {
    const free = ports.ports.findIndex((p) => p.holder === undefined)
    const hold = (i: number, p: PortState): PortState => ({ ...p, ports: p.ports.map((q, j) => (j === i ? { ...q, holder: owner } : q)) })
    const port = ports.ports[free]
    if (port !== undefined) return E.right([pciAddress(port.id, 0), pci, hold(free, ports)] as const)
    if (!ports.grow) {
      return E.left({ _tag: 'NoSparePort', device: owner, hvparam: SPARE_PORTS_HVPARAM, ports: ports.ports.length })
    }
    return pipe(
      newPort(pci, ports),
      E.map(([p, bus, next]) => [pciAddress(p.id, 0), bus, hold(next.ports.length - 1, next)] as const)
    )
  }

/**
 * Adds `count` free ports after the last one: the spare ports of a start.
 *
 * @since 0.2.0
 */
export const addSpares = (count: number, pci: PciBus, ports: PortState): E.Either<DevplanError, readonly [PciBus, PortState]> =>
  Array.from({ length: count }).reduce<E.Either<DevplanError, readonly [PciBus, PortState]>>(
    (acc) => pipe(acc, chain(([bus, p]) => pipe(newPort(bus, p), E.map(([, b, n]) => [b, n] as const)))),
    E.right([pci, ports] as const)
  )

/**
 * The `-device pcie-root-port` of each port: `chassis` unique (its number), `port` =
 * `(slot << 3) | function` (libvirt's rule), `multifunction` on every function 0, so that the
 * slot's other functions may follow and a later change of the spare count changes no
 * existing port.
 *
 * @since 0.2.0
 */
export const portDevices = (root: string, ports: PortState): ReadonlyArray<MachineDevice> =>
  ports.ports.map((p, i) => ({
    kind: 'machine',
    driver: 'pcie-root-port',
    id: p.id,
    address: pciAddress(root, p.slot, p.function),
    properties: { chassis: i + 1, port: (p.slot << 3) | p.function, ...(p.function === 0 ? { multifunction: true } : {}) }
  }))

/**
 * Records a port of a running instance (from its typed devices).
 *
 * @since 0.2.0
 */
export const occupyPort = (id: string, slot: number, fn: number, pci: PciBus, ports: PortState): E.Either<DevplanError, readonly [PciBus, PortState]> => {
  if (ports.ports.some((p) => p.id === id || (p.slot === slot && p.function === fn))) {
    return E.left({ _tag: 'PlaceTaken', bus: pci.bus, place: `${slot}.${fn}`, device: id, holder: 'another root port' })
  }
  const sorted = [...ports.ports, { id, slot, function: fn }].sort((a, b) => a.slot - b.slot || a.function - b.function)
  // A port group's slot is held once, by any of its functions.
  const bus = pci.slots.taken[slot] === undefined ? takeSlot(slot, id)(pci) : E.right(pci)
  return pipe(bus, E.map((b) => [b, { ...ports, ports: sorted }] as const))
}

/**
 * Records the device behind a port. QEMU 7.2 accepts a device at any `addr` behind a port, but
 * guests scan only device 0 there: anything else is refused.
 *
 * @since 0.2.0
 */
export const occupyBehindPort = (owner: string, a: { readonly bus: string; readonly slot: number; readonly function: number }, ports: PortState): E.Either<DevplanError, PortState> => {
  const i = ports.ports.findIndex((p) => p.id === a.bus)
  const port = ports.ports[i]
  if (port === undefined) return E.left({ _tag: 'NoSuchPlace', bus: a.bus, place: 'the bus of a root port', device: owner })
  if (a.slot !== 0 || a.function !== 0) {
    return E.left({ _tag: 'Unsupported', device: owner, reason: `sits at addr ${a.slot}.${a.function} behind root port ${a.bus}: guests scan only addr 0x0 behind a PCIe port, so it would never be seen` })
  }
  if (port.holder !== undefined) return E.left({ _tag: 'PlaceTaken', bus: a.bus, place: 'addr 0x0', device: owner, holder: port.holder })
  return E.right({ ...ports, ports: ports.ports.map((q, j) => (j === i ? { ...q, holder: owner } : q)) })
}

/**
 * Port groups without function 0: QEMU 7.2 accepts them, guests never probe the other
 * functions of a slot whose function 0 is absent. One error per such slot.
 *
 * @since 0.2.0
 */
export const missingFunctionZero = (ports: PortState): ReadonlyArray<DevplanError> =>
  [...new Set(ports.ports.map((p) => p.slot))]
    .filter((slot) => !ports.ports.some((p) => p.slot === slot && p.function === 0))
    .map((slot) => ({ _tag: 'Unsupported', device: ports.ports.find((p) => p.slot === slot)?.id ?? '', reason: `root ports at slot 0x${slot.toString(16)} have no function 0: guests never probe the other functions of such a slot` }))
