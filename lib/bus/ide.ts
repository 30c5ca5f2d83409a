/**
 * The IDE buses of a pc machine: `ide.0` and `ide.1`, two units each (primary/secondary,
 * master/slave). ide disks and CD-ROMs get explicit bus and unit and no PCI slot.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import { allocate, emptySlots, take, type Slots } from './slots.js'

/**
 * An IDE address as `-device` takes it: `bus` (`ide.0`, `ide.1`) and `unit` (0 master,
 * 1 slave). hvinfo records it for ide-hd and ide-cd instead of a PCI slot.
 *
 * @since 0.1.0
 */
export interface IdePlace {
  readonly bus: string
  readonly unit: number
}

/**
 * Four places: ide.0 unit 0, ide.0 unit 1, ide.1 unit 0, ide.1 unit 1.
 *
 * @since 0.1.0
 */
export const pcIdeBus = (): Slots => emptySlots('ide.0/ide.1', 4)

const place = (index: number): IdePlace => ({ bus: `ide.${index >> 1}`, unit: index & 1 })

/**
 * Gives a new IDE disk or CD-ROM the first free place, in the order ide.0 unit 0, ide.0 unit 1,
 * ide.1 unit 0, ide.1 unit 1; a fifth IDE device is `BusFull`.
 *
 * @since 0.1.0
 */
export const allocateIde =
  (owner: string) =>
  (s: Slots): E.Either<DevplanError, readonly [IdePlace, Slots]> =>
    pipe(
      allocate(owner)(s),
      E.map(([i, next]) => [place(i), next] as const)
    )

/**
 * Marks the place a recorded hvinfo names as taken, when the bus state of a running instance
 * is rebuilt. Only the four places of a pc machine exist: every other bus or unit is refused.
 *
 * @since 0.1.0
 */
export const takeIde =
  (p: IdePlace, owner: string) =>
  (s: Slots): E.Either<DevplanError, Slots> => {
    const m = /^ide\.([01])$/.exec(p.bus)
    if (m === null || (p.unit !== 0 && p.unit !== 1)) {
      return E.left({ _tag: 'NoSuchPlace', bus: p.bus, place: `unit ${p.unit}`, device: owner })
    }
    return take(Number(m[1]) * 2 + p.unit, owner)(s)
  }
