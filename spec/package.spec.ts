/**
 * The published entry points, as a consumer reaches them through package.json `exports`
 * (`npm test` builds dist/ first): ESM `import`, CommonJS `require`, type declarations, and the
 * names other code is documented to call. Both builds must give the same argv.
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = new URL('../', import.meta.url)
const require = createRequire(import.meta.url)
// A variable, so that typechecking (which runs before the build) does not look for dist/.
const PKG: string = 'qemu-devplan'
const API = ['decodeInstance', 'planDevices', 'renderArgv', 'planHotAdd', 'planHotRemove', 'runPlan', 'upgradeRuntime', 'downgradeRuntime', 'toRuntime', 'planChangeMedium', 'decodeRuntime', 'runtimeArgv', 'planStart', 'startFacts', 'runtimeStartFacts', 'secret', 'redactCommand']

type Api = {
  readonly decodeInstance: (u: unknown) => { readonly _tag: string; readonly right?: unknown }
  readonly planDevices: (i: unknown, t: unknown) => { readonly _tag: string; readonly right?: unknown }
  readonly renderArgv: (t: unknown, o: unknown) => ReadonlyArray<string>
}

const argvOf = (api: Api): ReadonlyArray<string> => {
  const example = JSON.parse(readFileSync(new URL('examples/instance.json', root), 'utf8')) as { instance: unknown }
  const inst = api.decodeInstance(example.instance)
  assert.is(inst._tag, 'Right')
  const tree = api.planDevices(inst.right, { qemu: { major: 7, minor: 2, micro: 0 } })
  assert.is(tree._tag, 'Right')
  return api.renderArgv(tree.right, { qmpSocket: '/run/x.qmp' })
}

test('package.json: ESM and CommonJS entry points with types, no side effects, node >= 20', () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown>
  const exp = (pkg['exports'] as Record<string, Record<string, Record<string, string>>>)['.']
  assert.ok(exp !== undefined)
  for (const cond of ['import', 'require'] as const) {
    for (const f of ['types', 'default'] as const) {
      const file = exp?.[cond]?.[f] ?? ''
      assert.ok(existsSync(new URL(file, root)), `${cond}.${f}: ${file} exists after the build`)
    }
  }
  assert.is(pkg['sideEffects'], false)
  assert.equal(pkg['engines'], { node: '>=20' })
  assert.equal(Object.keys(pkg['dependencies'] as object).sort(), ['fp-ts', 'immer', 'io-ts'])
})

test('import "qemu-devplan" (ESM build) exports the documented API', async () => {
  const esm = (await import(PKG)) as unknown as Record<string, unknown>
  for (const name of API) assert.type(esm[name], 'function', `ESM export ${name}`)
})

test('require("qemu-devplan") (CommonJS build) exports the same API and renders the same argv', async () => {
  const cjs = require(PKG) as Record<string, unknown>
  for (const name of API) assert.type(cjs[name], 'function', `CJS export ${name}`)
  assert.ok(require.resolve(PKG).includes('/dist/cjs/'), require.resolve(PKG))
  const esm = (await import(PKG)) as unknown as Api
  assert.equal(argvOf(cjs as unknown as Api), argvOf(esm))
})

/** Every export's kind, and a function's name: `qmp.…` and the other namespaces' members too. */
const shape = (m: Record<string, unknown>, prefix = ''): ReadonlyArray<string> =>
  Object.keys(m)
    .sort()
    .flatMap((k) => {
      const v = m[k]
      if (typeof v === 'function') return [`${prefix}${k}: function ${v.name}`]
      const isNamespace = prefix === '' && typeof v === 'object' && v !== null && Object.keys(v).some((kk) => typeof Reflect.get(v, kk) === 'function')
      return isNamespace ? shape(v as Record<string, unknown>, `${k}.`) : [`${prefix}${k}: ${typeof v}`]
    })

test('both builds export what lib/ does, and the bundles keep each function its name', async () => {
  // A bundle renames one of two top-level functions of the same name: an exported one must not be it.
  for (const [sub, source] of [['', '../lib/index.js'], ['/testing', '../lib/testing/index.js']] as const) {
    const want = shape((await import(source)) as Record<string, unknown>)
    assert.equal(shape((await import(`${PKG}${sub}`)) as Record<string, unknown>), want, `import ${PKG}${sub}`)
    assert.equal(shape(require(`${PKG}${sub}`) as Record<string, unknown>), want, `require ${PKG}${sub}`)
  }
})

const TESTING = ['scriptedExecutor', 'stateOfRuntime', 'stateOfArgv', 'emptyState']

test('qemu-devplan/testing: a subpath of its own in both builds, kept out of the root', async () => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown>
  const exp = (pkg['exports'] as Record<string, Record<string, Record<string, string>>>)['./testing']
  for (const cond of ['import', 'require'] as const) {
    for (const f of ['types', 'default'] as const) assert.ok(existsSync(new URL(exp?.[cond]?.[f] ?? 'missing', root)), `./testing ${cond}.${f}`)
  }
  const esm = (await import(`${PKG}/testing`)) as Record<string, unknown>
  const cjs = require(`${PKG}/testing`) as Record<string, unknown>
  assert.ok(require.resolve(`${PKG}/testing`).includes('/dist/cjs/testing/'))
  for (const name of TESTING) {
    assert.type(esm[name], 'function', `ESM testing export ${name}`)
    assert.type(cjs[name], 'function', `CJS testing export ${name}`)
  }
  const rootApi = (await import(PKG)) as Record<string, unknown>
  for (const name of TESTING) assert.is(rootApi[name], undefined, `${name} is not in the root`)
  // Both builds model the same QEMU.
  const add = { execute: 'device_add', arguments: { driver: 'e1000', id: 'e', bus: 'pci.0', addr: '0x0' } }
  const answer = (m: Record<string, unknown>): unknown => {
    const make = m['scriptedExecutor']
    const sx: unknown = typeof make === 'function' ? Reflect.apply(make, undefined, []) : undefined
    const execute = typeof sx === 'object' && sx !== null ? Reflect.get(sx, 'execute') : undefined
    return typeof execute === 'function' ? Reflect.apply(execute, undefined, [add]) : 'no execute'
  }
  assert.equal(answer(cjs), answer(esm))
  assert.equal(answer(esm), { _tag: 'Error', class: 'GenericError', desc: 'PCI: slot 0 function 0 not available for e1000, in use by i440FX,id=(null)' })
})

test.run()
