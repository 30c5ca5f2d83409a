/**
 * The decoders' fast paths against what io-ts alone gives: `closed` and `boundedArray` check
 * valid input without io-ts's per-key context, and the hvparams are picked in one pass. On
 * random input, valid or not, each must give exactly the value (key order included) or the
 * errors that the io-ts-only decoding they replace gives.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import * as t from 'io-ts'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { boundedArray, closed, intIn, oneOf, withDefault } from '../lib/codecs.js'
import { decodeInstance } from '../lib/index.js'
import { INSTANCE_UUID } from './support/fixtures.js'

// The io-ts-only `closed` the fast path stands for (lib/codecs.ts before it had one).
const closedReference = <P extends t.Props>(props: P, name: string) => {
  const inner = t.type(props, name)
  return (u: unknown): t.Validation<unknown> => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, [], `expected an object (${name})`)
    const unknownKeys = Object.keys(u).filter((k) => !Object.prototype.hasOwnProperty.call(props, k))
    const checked = inner.validate(u, [{ key: '', type: inner, actual: u }])
    if (unknownKeys.length === 0) return checked
    return t.failures([
      ...unknownKeys.map((k) => ({ value: Reflect.get(u, k), context: [{ key: '', type: inner, actual: u }, { key: k, type: t.never, actual: Reflect.get(u, k) }], message: `unknown field (known: ${Object.keys(props).join(', ')})` })),
      ...(E.isLeft(checked) ? checked.left : [])
    ])
  }
}

// Errors compared by what a caller sees of them: path, value and message.
const shown = (v: t.Validation<unknown>) =>
  E.isRight(v) ? { right: v.right, keys: Object.keys(v.right as object) } : { left: v.left.map((e) => ({ path: e.context.map((c) => c.key).join('.'), value: e.value, message: e.message })) }

const Inner = closed({ n: withDefault(intIn(0, 9), 3), s: withDefault(oneOf('S', ['a', 'b'] as const), 'a') }, 'Inner')
const props = {
  size: withDefault(intIn(1, 100), 10),
  mode: withDefault(oneOf('Mode', ['rw', 'ro'] as const), 'rw'),
  flag: t.boolean,
  inner: withDefault(Inner, { n: 3, s: 'a' as const }),
  list: withDefault(boundedArray(Inner, 3, 'List'), [])
}
const Outer = closed(props, 'Outer')
// boundedArray's own checks come first (an array, its length), then io-ts's array of entries.
const ioTsArray = t.readonlyArray(closedReferenceCodec(), 'List')
const referenceList = new t.Type<unknown>('List', (u): u is unknown => true, (u, c) =>
  !Array.isArray(u) ? t.failure(u, c, 'expected an array (of at most 3 entries)') : u.length > 3 ? t.failure(u, c, `at most 3 entries (got ${u.length})`) : ioTsArray.validate(u, c), t.identity)
const reference = closedReference({ ...props, list: withDefault(referenceList, []) }, 'Outer')

// io-ts's own array of the reference inner codec, for what boundedArray's fast path stands for.
function closedReferenceCodec() {
  const ref = closedReference({ n: withDefault(intIn(0, 9), 3), s: withDefault(oneOf('S', ['a', 'b'] as const), 'a') }, 'Inner')
  return new t.Type<unknown>('Inner', (u): u is unknown => true, (u, c) => {
    const r = ref(u)
    return E.isRight(r) ? r : t.failures(r.left.map((e) => ({ ...e, context: [...c, ...e.context.slice(1)] })))
  }, t.identity)
}

const value = fc.oneof(fc.integer({ min: -2, max: 120 }), fc.constantFrom('rw', 'ro', 'a', 'b', 'x'), fc.boolean(), fc.constant(undefined), fc.constant(null))
const innerValue = fc.dictionary(fc.constantFrom('n', 's', 'z'), value, { maxKeys: 3 })
const outerValue = fc.dictionary(
  fc.constantFrom('size', 'mode', 'flag', 'inner', 'list', 'typo'),
  fc.oneof(value, innerValue, fc.array(fc.oneof(innerValue, value), { maxLength: 4 })),
  { maxKeys: 6 }
)

const validInner = fc.record({ n: fc.integer({ min: 0, max: 9 }), s: fc.constantFrom('a', 'b') }, { requiredKeys: [] })
const validOuter = fc.record(
  { size: fc.integer({ min: 1, max: 100 }), mode: fc.constantFrom('rw', 'ro'), flag: fc.boolean(), inner: validInner, list: fc.array(validInner, { maxLength: 3 }) },
  { requiredKeys: ['flag'] }
)

test('closed and boundedArray give what io-ts alone gives, values and errors', () => {
  let valid = 0
  fc.assert(
    fc.property(fc.oneof(outerValue, validOuter) as fc.Arbitrary<Record<string, unknown>>, (u) => {
      const fast = Outer.decode(u)
      if (E.isRight(fast)) valid++
      const ref = reference(u)
      assert.equal(shown(fast), shown(ref))
    }),
    { numRuns: 3000 }
  )
  // Both halves are exercised: some inputs decode, most do not.
  assert.ok(valid > 500, `only ${valid} valid inputs`)
})

test('the hvparams: the given ones in their order, then the defaults in the codec’s order', () => {
  const decoded = (hvparams: Record<string, unknown>) => decodeInstance({ name: 'vm1', uuid: INSTANCE_UUID, memory: 512, hvparams })
  const all = decoded({})
  if (E.isLeft(all)) throw new Error('the defaults must decode')
  const defaults = all.right.hvparams as Readonly<Record<string, unknown>>
  const order = Object.keys(defaults)
  const choices: Record<string, ReadonlyArray<unknown>> = { disk_type: ['scsi-hd', 'ide', 'paravirtual'], disk_cache: ['none', 'writeback'], acpi: [true, false], kvm_pci_reservations: [12, 16], vga: ['std', ''] }
  const given = fc.uniqueArray(fc.constantFrom(...order, 'cpu_mask', 'migration_bandwidth', 'migration_downtime'), { maxLength: 12 }).chain((keys) =>
    fc.tuple(fc.constant(keys), fc.array(fc.nat(), { minLength: keys.length, maxLength: keys.length }))
  )
  fc.assert(
    fc.property(given, ([keys, picks]) => {
      const input: Record<string, unknown> = {}
      keys.forEach((k, i) => {
        const options = choices[k] ?? [k === 'cpu_mask' ? 'all' : k === 'migration_bandwidth' ? 32 : k === 'migration_downtime' ? 30 : defaults[k]]
        input[k] = options[(picks[i] ?? 0) % options.length]
      })
      const r = decoded(input)
      if (E.isLeft(r)) return
      const h = r.right.hvparams as Readonly<Record<string, unknown>>
      const expectedKeys = [...keys.filter((k) => order.includes(k)), ...order.filter((k) => !keys.includes(k))]
      assert.equal(Object.keys(h), expectedKeys)
      for (const k of order) assert.equal(h[k], k in input ? input[k] : defaults[k], k)
    }),
    { numRuns: 1500 }
  )
})

test.run()
