/**
 * ISA NE2000 cards (`ne2k_isa`): no slot, but each needs its own I/O base and IRQ, or the second
 * card collides with the first. The table is QEMU's own for `-net nic,model=ne2k_isa`.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import { allocate, emptySlots, take, type Slots } from './slots.js'
import { chain } from '../hot.js'

/**
 * The pc machine's ISA bus, which every `ne2k_isa` NIC names as its `bus`. It has no slots:
 * a card's place is its iobase/irq pair.
 *
 * @since 0.1.0
 */
export const ISA_BUS = 'isa.0'

/**
 * Where an ISA NIC sits: its I/O port base and IRQ line. QEMU gives every ne2k_isa the same
 * defaults, so each card must be given its own pair explicitly.
 *
 * @since 0.1.0
 */
export interface IsaPlace {
  readonly iobase: number
  readonly irq: number
}

/**
 * The pairs an NE2000 ISA card may take, in QEMU's order (hw/i386/pc.c), so the n-th card gets
 * what `-net nic,model=ne2k_isa` would give it. Six places: a seventh ISA NIC is `BusFull`.
 *
 * @since 0.1.0
 */
export const NE2K_ISA_PLACES: ReadonlyArray<IsaPlace> = [
  { iobase: 0x300, irq: 9 },
  { iobase: 0x320, irq: 10 },
  { iobase: 0x340, irq: 11 },
  { iobase: 0x360, irq: 3 },
  { iobase: 0x280, irq: 4 },
  { iobase: 0x380, irq: 5 }
]

/**
 * A fresh ISA bus with one free place per entry of {@link NE2K_ISA_PLACES}.
 *
 * @since 0.1.0
 */
export const ne2kIsaBus = (bus: string = ISA_BUS): Slots => emptySlots(bus, NE2K_ISA_PLACES.length)

/**
 * Gives a new ne2k_isa NIC the first free iobase/irq pair of the table; `BusFull` once all six
 * are held.
 *
 * @since 0.1.0
 */
export const allocateIsa =
  (owner: string) =>
  (s: Slots): E.Either<DevplanError, readonly [IsaPlace, Slots]> =>
    pipe(
      allocate(owner)(s),
      chain(([i, next]) => {
        const p = NE2K_ISA_PLACES[i]
        // The bus has exactly as many places as the table: a miss would be a bug, not a default.
        return p === undefined ? E.left<DevplanError, never>({ _tag: 'BusFull', bus: ISA_BUS, device: owner, capacity: NE2K_ISA_PLACES.length }) : E.right([p, next] as const)
      })
    )

/**
 * Marks the pair a recorded hvinfo names as taken, when the bus state of a running instance is
 * rebuilt. A pair that is not in the table is refused rather than ignored.
 *
 * @since 0.1.0
 */
export const takeIsa =
  (p: IsaPlace, owner: string) =>
  (s: Slots): E.Either<DevplanError, Slots> => {
    const i = NE2K_ISA_PLACES.findIndex((q) => q.iobase === p.iobase && q.irq === p.irq)
    return i < 0
      ? E.left({ _tag: 'NoSuchPlace', bus: s.bus, place: `iobase 0x${p.iobase.toString(16)} irq ${p.irq}`, device: owner })
      : take(i, owner)(s)
  }
