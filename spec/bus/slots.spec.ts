/**
 * The batch allocators against the one-by-one ones they stand for: the same places, the same
 * state and the same error for the first owner that does not fit, on random buses.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allocate, allocateAll, emptySlots, takeAll, type Slots } from '../../lib/bus/slots.js'
import { emptyBusState, place, placeAll, traverseSteps } from '../../lib/bus/state.js'
import { describeMachine } from '../../lib/machine/machines.js'
import type { Driver } from '../../lib/devices/catalog.js'
import type { DevplanError } from '../../lib/errors.js'

// The allocator's rule written out on its own: the lowest free place at or above `from`.
const lowestFree = (owner: string, from: number, s: Slots): E.Either<DevplanError, readonly [number, Slots]> => {
  for (let i = Math.max(0, from); i < s.capacity; i++) if (s.taken[i] === undefined) return E.right([i, { ...s, taken: { ...s.taken, [i]: owner } }] as const)
  return E.left({ _tag: 'BusFull', bus: s.bus, device: owner, capacity: s.capacity, ...(from > 0 ? { from } : {}) })
}

const oneByOne = (owners: ReadonlyArray<string>, from: number, s0: Slots, one: typeof lowestFree) => {
  const places: number[] = []
  let s = s0
  for (const owner of owners) {
    const r = one(owner, from, s)
    if (E.isLeft(r)) return r
    places.push(r.right[0])
    s = r.right[1]
  }
  return E.right([places, s] as const)
}

const bus = fc
  .record({ capacity: fc.integer({ min: 0, max: 40 }), held: fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 30 }) })
  .map(({ capacity, held }) => {
    const r = takeAll(held.filter((i) => i < capacity).map((i) => [i, `held-${i}`] as const))(emptySlots('scsi.0', capacity))
    if (E.isLeft(r)) throw new Error('the held places must fit')
    return r.right
  })

test('allocateAll and allocate give the lowest free places, one owner at a time, errors included', () => {
  fc.assert(
    fc.property(bus, fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 45 }), fc.integer({ min: 0, max: 45 }), (s, owners, from) => {
      const expected = oneByOne(owners, from, s, lowestFree)
      assert.equal(allocateAll(owners, from)(s), expected)
      assert.equal(oneByOne(owners, from, s, (o, f, x) => allocate(o, f)(x)), expected)
    }),
    { numRuns: 500 }
  )
})

test('allocateAll leaves the bus it is given as it was', () => {
  const s = emptySlots('scsi.0', 4)
  const r = allocateAll(['a', 'b'])(s)
  assert.ok(E.isRight(r))
  assert.equal(s.taken, {})
  assert.equal(r.right[0], [0, 1])
})

test('placeAll places what place gives one device at a time, on every bus and machine', () => {
  const drivers: ReadonlyArray<Driver> = ['scsi-hd', 'virtio-blk-pci', 'virtio-net-pci', 'e1000', 'ide-hd']
  fc.assert(
    fc.property(
      fc.constantFrom('pc', 'q35'),
      fc.constantFrom(...drivers),
      fc.integer({ min: 0, max: 32 }),
      fc.constantFrom('lsi', 'megasas', 'virtio-scsi-pci'),
      fc.integer({ min: 0, max: 40 }),
      fc.constantFrom('guest', 'qemu'),
      (machine, driver, reservations, controller, count, policy) => {
        const description = describeMachine(machine)
        if (description === undefined) throw new Error(`no ${machine}`)
        const s = emptyBusState(description, reservations, controller as 'lsi')
        const ids = Array.from({ length: count }, (_, i) => `dev${i}`)
        const p = policy as 'guest' | 'qemu'
        assert.equal(placeAll(driver, ids, p)(s), traverseSteps(ids, (id) => place(driver, id, p))(s))
      }
    ),
    { numRuns: 400 }
  )
})

test.run()
