/**
 * Totality: every export of the package root answers whatever a JavaScript caller passes (null,
 * undefined, numbers, arrays, Proxies whose traps throw, values of the right kind in the wrong
 * place) with a value, never a throw; the Either-returning ones with an Either. The exports are
 * enumerated from the module namespace, so a new export is covered without being listed.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as lib from '../lib/index.js'
import { decodeInstance, decodeRuntime, downgradeRuntime, planDevices, planHotAdd, renderArgv, runtimeArgv, toRuntime, toTarget, type DevplanError } from '../lib/index.js'
import { decodeOk, INSTANCE_UUID, nicSpec, planOk, spec } from './support/fixtures.js'

/** The exports that are data, not functions: each must be listed here, so none hides a function. */
const CONSTANTS = new Set([
  'BOOT_ORDERS', 'CATALOG', 'MASTER_KEY_ID', 'CHANGES', 'DISK_AIOS', 'DISK_CACHES', 'DISK_TYPES', 'NIC_TYPES', 'PC', 'PC_SLOTS', 'Q35', 'Q35_SLOTS',
  'REDACTED', 'RUNTIME_FORMAT', 'RUNTIME_WRITER', 'SCSI_CONTROLLER_TYPES', 'SOUND_MODELS', 'SPARE_PORTS_HVPARAM', 'SPICE_IMAGE_COMPRESSIONS', 'THROTTLE_KEYS',
  'SPICE_STREAMING_VIDEOS', 'SPICE_TLS_CIPHERS_DEFAULT', 'SPICE_WAN_COMPRESSIONS', 'VGA_TYPES', 'MIGRATION_CAPABILITIES',
  // A namespace: its functions are enumerated below as qmp.<name>.
  'qmp'
])

/** The exports whose answer is an Either; every other function returns a plain value. */
const EITHER = new Set([
  'decodeInstance', 'decodeTarget', 'toTarget', 'planDevices', 'decodeHvinfo', 'decodeDisk', 'decodeNic', 'planHotAdd', 'planHotRemove',
  'runtimeBusState', 'runtimeHvparams', 'decodeRuntimeParams', 'planChangeMedium', 'planStart', 'runtimeStartFacts', 'decodeRuntime',
  'parseRuntime', 'upgradeRuntime', 'downgradeRuntime', 'toRuntime', 'runtimeArgv', 'runtimeBlockDevices', 'runtimeNicDevices',
  'planMigrate', 'planIncoming', 'incomingArgv', 'decodeMigrationSettings'
])
/** Asynchronous: a Promise that must resolve, never reject. */
const ASYNC = new Set(['runPlan'])

type Fn = (...args: ReadonlyArray<unknown>) => unknown
const isFn = (u: unknown): u is Fn => typeof u === 'function'

const FUNCTIONS: ReadonlyArray<readonly [string, Fn]> = [
  ...Object.entries(lib).flatMap(([name, v]): ReadonlyArray<readonly [string, Fn]> => (isFn(v) ? [[name, v]] : [])),
  ...Object.entries(lib.qmp).flatMap(([name, v]): ReadonlyArray<readonly [string, Fn]> => (isFn(v) ? [[`qmp.${name}`, v]] : []))
]

const isEither = (u: unknown): u is E.Either<unknown, unknown> =>
  typeof u === 'object' && u !== null && (('_tag' in u && u._tag === 'Left' && 'left' in u) || ('_tag' in u && u._tag === 'Right' && 'right' in u))

// Values of the library's own kinds, to pass where another kind belongs.
const instance = decodeOk(spec({}, 2, 1))
const tree = planOk(spec({}, 2, 1))
const recorded = toRuntime(instance, tree, { qmpSocket: '/run/vm1.qmp' })
const runtime = E.isRight(recorded) ? recorded.right : undefined

const throwing = (): unknown => {
  const boom = (): never => {
    throw new Error('trap')
  }
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom })
}
const getter = (): unknown => Object.defineProperty({}, 'qemu', { enumerable: true, get: () => { throw new Error('getter') } })

const HOSTILE_PROXY = Symbol('a Proxy whose every trap throws')
const HOSTILE_GETTER = Symbol('an object whose getter throws')

const wrongShapes: ReadonlyArray<unknown> = [
  null, undefined, {}, [], 0, NaN, -1, '', 'x', true, Symbol('s'), 10n, () => 1,
  instance, tree, runtime, tree.disks[0], tree.nics[0],
  { format: 'x' }, { qemu: null }, { qemu: '7.2', machine: 7 }, { disk: {} }, { nic: null }, { disk: instance.disks[0], nic: instance.nics[0] },
  { _tag: 'pci' }, { _tag: 'InvalidInput', errors: null }, { _tag: 'Right', right: null }, { kind: 'nic', backend: null },
  { cmd: [], nics: [], hvparams: {}, disks: [], params: { _tag: 'Right', right: null } }, { cmd: null, nics: [], hvparams: {}, disks: [] },
  { head: null, tail: 'x' }, { qmpSocket: 7 }, { major: -1, minor: 0, micro: 0 }, { execute: 'set_password', arguments: null }
]

const argArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withObjectString: true, withSparseArray: true }) },
  { weight: 3, arbitrary: fc.constantFrom(...wrongShapes) },
  // fast-check itself reads the values it generates: the hostile ones are made at call time.
  { weight: 1, arbitrary: fc.constant(HOSTILE_PROXY) },
  { weight: 1, arbitrary: fc.constant(HOSTILE_GETTER) }
)
const hostile = (args: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  args.map((a) => (a === HOSTILE_PROXY ? throwing() : a === HOSTILE_GETTER ? getter() : a))
const argsArb = fc.array(argArb, { maxLength: 4 })

test('every non-function export is a listed constant, and every listed name is exported', () => {
  const values = Object.entries(lib).filter(([, v]) => !isFn(v)).map(([k]) => k).sort()
  assert.equal(values, [...CONSTANTS].sort())
  for (const name of [...EITHER, ...ASYNC]) assert.ok(FUNCTIONS.some(([n]) => n === name), `${name} is exported`)
})

for (const [name, f] of FUNCTIONS) {
  if (ASYNC.has(name)) continue
  test(`${name} never throws, whatever it is given${EITHER.has(name) ? ', and answers with an Either' : ''}`, () => {
    fc.assert(
      fc.property(argsArb, (args) => {
        let out: unknown
        try {
          out = f(...hostile(args))
        } catch (e) {
          assert.unreachable(`${name} threw ${e instanceof Error ? e.message : String(e)}`)
        }
        if (EITHER.has(name)) assert.ok(isEither(out), `${name} answered ${String(out)}`)
      }),
      { numRuns: 150 }
    )
  })
}

for (const name of ASYNC) {
  test(`${name} resolves, never rejects, whatever it is given`, async () => {
    const f = FUNCTIONS.find(([n]) => n === name)?.[1]
    assert.ok(f !== undefined)
    if (f === undefined) return
    await fc.assert(
      fc.asyncProperty(argsArb, async (args) => {
        await f(...hostile(args))
      }),
      { numRuns: 60 }
    )
  })
}

test('every Either-returning export answers a Left when given nothing, or only nulls', () => {
  for (const [name, f] of FUNCTIONS) {
    if (!EITHER.has(name)) continue
    for (const args of [[], [null], [null, null, null, null]]) {
      const out = f(...args)
      assert.ok(isEither(out) && E.isLeft(out), `${name}(${args.join(', ')}) is a Left`)
    }
  }
})

const leftAt = (r: E.Either<DevplanError, unknown>, path: string): void => {
  assert.ok(E.isLeft(r), `expected a Left at ${path}`)
  if (E.isRight(r)) return
  assert.is(r.left._tag, 'InvalidInput')
  if (r.left._tag !== 'InvalidInput') return
  assert.equal(r.left.errors.map((e) => e.path), [path])
}

test("the issue's trial: each call is a Left naming the argument, or the documented fallback", () => {
  assert.ok(runtime !== undefined)
  if (runtime === undefined) return
  leftAt(planDevices(instance, null as never), 'target')
  leftAt(toTarget(null as never), 'target')
  leftAt(planHotAdd(runtime, {} as never), 'request')
  leftAt(planHotAdd(runtime, { disk: instance.disks[0] } as never, 7 as never), 'options')
  leftAt(runtimeArgv(null as never), 'runtime')
  leftAt(downgradeRuntime(runtime, null as never), 'target')
  leftAt(downgradeRuntime(runtime, { format: 'x' } as never), 'target.format')
  leftAt(planDevices(null as never, { qemu: '7.2' }), 'instance')
  // renderArgv has no room for an error: what it cannot render gives no words at all.
  assert.equal(renderArgv(tree, undefined as never), [])
  assert.equal(renderArgv(null as never, { qmpSocket: '/run/vm1.qmp' }), [])
  assert.ok(renderArgv(tree, { qmpSocket: '/run/vm1.qmp' }).length > 10)
})

test('decodeInstance: an unknown top-level field is reported with every other error', () => {
  const r = decodeInstance({ ...spec(), memroy: 512, memory: -1, nics: [nicSpec(0, { mac: 'zz' })] })
  assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput')
  if (E.isRight(r) || r.left._tag !== 'InvalidInput') return
  assert.equal(r.left.errors.map((e) => e.path).sort(), ['memory', 'memroy', 'nics[0].mac'])
})

test('a NIC of the spec with the zero MAC or a multicast MAC is refused at nics[i].mac', () => {
  for (const mac of ['00:00:00:00:00:00', '01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '33:33:00:00:00:01']) {
    const r = decodeInstance(spec({}, 1, 0, { nics: [nicSpec(0), nicSpec(1, { mac })] }))
    leftAt(r, 'nics[1].mac')
  }
  for (const mac of ['aa:00:00:35:d5:1f', '52:54:00:12:34:56', '02:00:00:00:00:00', '00:00:00:00:00:01']) {
    assert.ok(E.isRight(decodeInstance(spec({}, 1, 0, { nics: [nicSpec(0, { mac })] }))), mac)
  }
})

test('a runtime file Ganeti wrote with such a MAC is still read (Ganeti checks only the form)', () => {
  for (const mac of ['00:00:00:00:00:00', '01:00:5e:00:00:01']) {
    const file = [['/usr/bin/kvm', '-name', 'vm1', '-uuid', INSTANCE_UUID], [{ uuid: 'b0000000-0000-4000-8000-000000000000', mac, hvinfo: {} }], {}, []]
    const r = decodeRuntime(file)
    assert.ok(E.isRight(r), mac)
  }
})

test.run()
