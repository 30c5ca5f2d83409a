/**
 * The allocator every bus shares: `capacity` numbered places, each free or held by an owner.
 * A bus module maps the index to its own address (PCI slot, SCSI target, IDE bus/unit, ISA
 * iobase/irq). Updates go through immer, so a caller's bus state is never mutated.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { produce } from '../immer.js'
import type { DevplanError } from '../errors.js'

/**
 * @since 0.1.0
 */
export interface Slots {
  /** Shown in errors: `pci.0`, `scsi.0`, … */
  readonly bus: string
  readonly capacity: number
  /** index → owner (a device id, or a reason such as `reserved`) */
  readonly taken: { readonly [index: number]: string }
}

/**
 * @since 0.1.0
 */
export const emptySlots = (bus: string, capacity: number): Slots => ({ bus, capacity, taken: {} })

/**
 * Marks a place taken. Taking a taken place or one outside the bus is an error naming both.
 *
 * @since 0.1.0
 */
export const take =
  (index: number, owner: string) =>
  (s: Slots): E.Either<DevplanError, Slots> => {
    if (!Number.isInteger(index) || index < 0 || index >= s.capacity) {
      return E.left({ _tag: 'NoSuchPlace', bus: s.bus, place: `place ${index} (0 to ${s.capacity - 1})`, device: owner })
    }
    const holder = s.taken[index]
    if (holder !== undefined) {
      return E.left({ _tag: 'PlaceTaken', bus: s.bus, place: `place ${index}`, device: owner, holder })
    }
    return E.right(produce(s, (d) => { d.taken[index] = owner }))
  }

/**
 * Takes the lowest free place at or above `from`.
 *
 * @since 0.1.0
 */
export const allocate =
  (owner: string, from = 0) =>
  (s: Slots): E.Either<DevplanError, readonly [number, Slots]> => {
    for (let i = Math.max(0, from); i < s.capacity; i++) {
      if (s.taken[i] === undefined) return E.right([i, produce(s, (d) => { d.taken[i] = owner })] as const)
    }
    return E.left({ _tag: 'BusFull', bus: s.bus, device: owner, capacity: s.capacity, ...(from > 0 ? { from } : {}) })
  }
