/**
 * What a builder of the machine's devices is, and the few steps they are made of: a device at
 * its role's slot of the root bus, devices whose places are fixed, and a sequence of steps with
 * the bus state threaded through.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { pciAddress } from '../bus/address.js'
import { allocateRoleSlot } from '../bus/pci.js'
import { traverseSteps, type BusStep } from '../bus/state.js'
import type { MachineDevice } from '../devices.js'
import type { Driver } from '../devices/catalog.js'
import type { Hvparams } from '../hvparams.js'
import type { MachineDescription, MachineRole } from './description.js'

/**
 * A step that places some of the machine's devices.
 *
 * @since 0.2.0
 */
export type MachineStep = BusStep<ReadonlyArray<MachineDevice>>

/**
 * The devices one hvparam (or a few) give the machine: one builder per kind of device.
 *
 * @since 0.2.0
 */
export type MachineBuilder = (h: Hvparams, machine: MachineDescription) => MachineStep

/**
 * A device at its role's slot of the root bus.
 *
 * @since 0.2.0
 */
export const onRoleSlot =
  (role: MachineRole, driver: Driver, id: string, properties: MachineDevice['properties'] = {}): MachineStep =>
  (s) =>
    pipe(
      allocateRoleSlot(role, id)(s.pci),
      E.map(([slot, pci]) => [[{ kind: 'machine', driver, id, address: pciAddress(pci.bus, slot), properties }], { ...s, pci }] as const)
    )

/**
 * Devices whose places are fixed (ports on a bus their controller provides).
 *
 * @since 0.2.0
 */
export const fixed = (devices: ReadonlyArray<MachineDevice>): MachineStep => (s) => E.right([devices, s] as const)

/**
 * Steps in order, the bus state threaded through, their devices in one list.
 *
 * @since 0.2.0
 */
export const sequence = (steps: ReadonlyArray<MachineStep>): MachineStep => (s0) =>
  pipe(
    traverseSteps(steps, (step) => step)(s0),
    E.map(([groups, s]) => [groups.flat(), s] as const)
  )

/**
 * No devices.
 *
 * @since 0.2.0
 */
export const none: MachineStep = fixed([])
