/**
 * The IDE buses of a machine, as its description lays them out: on pc `ide.0` and `ide.1`, two
 * units each (primary/secondary, master/slave). ide disks and CD-ROMs get explicit bus and unit
 * and no PCI slot.
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
 * How many IDE buses a machine has and how many units each (`ide.<n>`).
 *
 * @since 0.2.0
 */
export interface IdeLayout {
  readonly buses: number
  readonly units: number
}

/**
 * The IDE places of a machine, numbered bus by bus.
 *
 * @since 0.2.0
 */
export interface IdeBus {
  readonly layout: IdeLayout
  readonly slots: Slots
}

/**
 * Every place free: on pc ide.0 unit 0, ide.0 unit 1, ide.1 unit 0, ide.1 unit 1.
 *
 * @since 0.2.0
 */
export const ideBus = (layout: IdeLayout): IdeBus => ({
  layout,
  slots: emptySlots(Array.from({ length: layout.buses }, (_, i) => `ide.${i}`).join('/'), layout.buses * layout.units)
})

const place = (layout: IdeLayout, index: number): IdePlace => ({ bus: `ide.${Math.floor(index / layout.units)}`, unit: index % layout.units })

/**
 * Gives a new IDE disk or CD-ROM the first free place, in the order ide.0 unit 0, ide.0 unit 1,
 * ide.1 unit 0, ide.1 unit 1; past the last place (a fifth on pc), `BusFull`.
 *
 * @since 0.1.0
 */
export const allocateIde =
  (owner: string) =>
  (s: IdeBus): E.Either<DevplanError, readonly [IdePlace, IdeBus]> =>
    pipe(
      allocate(owner)(s.slots),
      E.map(([i, slots]) => [place(s.layout, i), { ...s, slots }] as const)
    )

/**
 * Marks the place a recorded hvinfo names as taken, when the bus state of a running instance
 * is rebuilt. Only the places of the layout exist: every other bus or unit is refused.
 *
 * @since 0.1.0
 */
export const takeIde =
  (p: IdePlace, owner: string) =>
  (s: IdeBus): E.Either<DevplanError, IdeBus> => {
    const m = /^ide\.(\d)$/.exec(p.bus)
    const bus = m === null ? -1 : Number(m[1])
    if (bus < 0 || bus >= s.layout.buses || !Number.isInteger(p.unit) || p.unit < 0 || p.unit >= s.layout.units) {
      return E.left({ _tag: 'NoSuchPlace', bus: p.bus, place: `unit ${p.unit}`, device: owner })
    }
    return pipe(take(bus * s.layout.units + p.unit, owner)(s.slots), E.map((slots) => ({ ...s, slots })))
  }
