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

/**
 * @since 0.1.0
 */
export const ISA_BUS = 'isa.0'

/**
 * @since 0.1.0
 */
export interface IsaPlace {
  readonly iobase: number
  readonly irq: number
}

/**
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
 * @since 0.1.0
 */
export const ne2kIsaBus = (): Slots => emptySlots(ISA_BUS, NE2K_ISA_PLACES.length)

/**
 * @since 0.1.0
 */
export const allocateIsa =
  (owner: string) =>
  (s: Slots): E.Either<DevplanError, readonly [IsaPlace, Slots]> =>
    pipe(
      allocate(owner)(s),
      E.chain(([i, next]) => {
        const p = NE2K_ISA_PLACES[i]
        // The bus has exactly as many places as the table: a miss would be a bug, not a default.
        return p === undefined ? E.left<DevplanError, never>({ _tag: 'BusFull', bus: ISA_BUS, device: owner, capacity: NE2K_ISA_PLACES.length }) : E.right([p, next] as const)
      })
    )

/**
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
