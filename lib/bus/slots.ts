/**
 * The allocator every bus shares: `capacity` numbered places, each free or held by an owner.
 * A bus module maps the index to its own address (PCI slot, SCSI target, IDE bus/unit, ISA
 * iobase/irq). Updates are plain spreads, never drafts: an immer draft copies `taken` with its
 * property descriptors on every place taken, the most of a hot-add's time on a big runtime. A
 * caller's bus state is never mutated.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
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
    return E.right({ ...s, taken: { ...s.taken, [index]: owner } })
  }

/**
 * Marks places taken, in order, as {@link take} one by one would (the first error wins), with
 * one copy of `taken` for them all: rebuilding the state of a running instance takes one place
 * per recorded device, and a copy each would be quadratic in their number.
 *
 * @since 0.3.0
 */
export const takeAll =
  (places: ReadonlyArray<readonly [number, string]>) =>
  (s: Slots): E.Either<DevplanError, Slots> => {
    // A fresh object, local to this call until it is returned: filling it in place is safe.
    const taken: { [index: number]: string } = { ...s.taken }
    for (const [index, owner] of places) {
      if (!Number.isInteger(index) || index < 0 || index >= s.capacity) {
        return E.left({ _tag: 'NoSuchPlace', bus: s.bus, place: `place ${index} (0 to ${s.capacity - 1})`, device: owner })
      }
      const holder = taken[index]
      if (holder !== undefined) {
        return E.left({ _tag: 'PlaceTaken', bus: s.bus, place: `place ${index}`, device: owner, holder })
      }
      taken[index] = owner
    }
    return E.right({ ...s, taken })
  }

/**
 * Takes the lowest free place at or above `from` for each owner in turn, as {@link allocate}
 * one by one would (the same places, the same `BusFull` for the first that does not fit), with
 * one copy of `taken`: a plan puts up to 64 disks on one bus, and a copy each is quadratic.
 *
 * @since 0.3.0
 */
export const allocateAll =
  (owners: ReadonlyArray<string>, from = 0) =>
  (s: Slots): E.Either<DevplanError, readonly [ReadonlyArray<number>, Slots]> => {
    // A fresh object, local to this call until it is returned: filling it in place is safe.
    const taken: { [index: number]: string } = { ...s.taken }
    const places: number[] = []
    // Each place taken is the lowest free one, so the next is above it: one scan serves all.
    let i = Math.max(0, from)
    for (const owner of owners) {
      while (i < s.capacity && taken[i] !== undefined) i++
      if (i >= s.capacity) return E.left({ _tag: 'BusFull', bus: s.bus, device: owner, capacity: s.capacity, ...(from > 0 ? { from } : {}) })
      taken[i] = owner
      places.push(i)
    }
    return E.right([places, { ...s, taken }] as const)
  }

/**
 * Takes the lowest free place at or above `from`.
 *
 * @since 0.1.0
 */
export const allocate =
  (owner: string, from = 0) =>
  (s: Slots): E.Either<DevplanError, readonly [number, Slots]> => {
    const r = allocateAll([owner], from)(s)
    return E.isLeft(r) ? r : E.right([r.right[0][0] ?? -1, r.right[1]] as const)
  }
