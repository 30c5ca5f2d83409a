/**
 * What the differential tests of the scripted executor share: an instance started from a runtime,
 * the model seeded from the same runtime, and `both`, which runs one plan on each (with the same
 * injected fault, if any) and requires the same outcome, log and state afterwards.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import { decodeInstance, planDevices, renderArgv, runPlan, toRuntime, type Executor, type QmpPlan, type QmpReply, type RunOutcome, type Runtime } from '../../lib/index.js'
import { scriptedExecutor, stateOfRuntime, type Fault, type ScriptedExecutor } from '../../lib/testing/index.js'
import { right } from '../support/either.js'
import { makeImage, qemuPath, qemuVersion, type Vm } from './harness.js'

export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)
export const value = (r: QmpReply, what: string): unknown => {
  if (r._tag === 'Error') throw new Error(`${what}: ${r.class}: ${r.desc}`)
  return r.value
}

/** What both sides are compared on after every plan. */
export interface Observed {
  readonly devices: ReadonlyArray<string>
  readonly nodes: ReadonlyArray<string>
  readonly backends: ReadonlyArray<string>
  readonly netdevs: ReadonlyArray<string>
}

export const observe = (ask: (execute: string, args?: Readonly<Record<string, unknown>>) => Promise<QmpReply>, netdevs: () => Promise<ReadonlyArray<string>>) => async (): Promise<Observed> => {
  const list = value(await ask('qom-list', { path: '/machine/peripheral' }), 'qom-list')
  const nodes = value(await ask('query-named-block-nodes', { flat: true }), 'query-named-block-nodes')
  const blocks = value(await ask('query-block'), 'query-block')
  const rows = (u: unknown): ReadonlyArray<Readonly<Record<string, unknown>>> => (Array.isArray(u) ? u.filter(isRecord) : [])
  return {
    devices: rows(list).filter((p) => String(p['type']).startsWith('child<')).map((p) => `${String(p['name'])}:${String(p['type'])}`).sort(),
    // QEMU names inline children itself ("#block123"); neither side's plans make any.
    nodes: rows(nodes).map((n) => String(n['node-name'])).sort(),
    backends: rows(blocks)
      .map((b) => `${String(b['qdev'])} removable=${String(b['removable'])} tray_open=${String(b['tray_open'])} medium=${isRecord(b['inserted']) ? String(b['inserted']['node-name']) : '-'}`)
      .sort(),
    netdevs: [...(await netdevs())].sort()
  }
}

/** Netdevs from HMP `info network`: every client that is not a NIC (measured format, 7.2 and 10.0). */
export const realNetdevs = async (vm: Vm): Promise<ReadonlyArray<string>> => {
  const out = String(await vm.qmp.executeOk('human-monitor-command', { 'command-line': 'info network' }))
  return out.split(/\r?\n/).flatMap((line) => {
    const m = /^\s*(?:\\\s*)?([^:\s]+): index=\d+,type=([^,]+)/.exec(line)
    return m === null || m[2] === 'nic' ? [] : [m[1] ?? '']
  })
}

/** The same fault for both sides: an error reply instead of command k, or its reply lost after QEMU ran it. */
export type Injected = { readonly k: number; readonly fault: Fault }

export const wrapReal = (inner: Executor, f: Injected | undefined): Executor => {
  if (f === undefined) return inner
  let n = 0
  return {
    send: (command, fd) => async () => {
      const i = n++
      if (i !== f.k) return inner.send(command, fd)()
      if (f.fault._tag === 'QmpError') return E.right({ _tag: 'Error', class: f.fault.class ?? 'GenericError', desc: f.fault.desc })
      if (f.fault.delivered === true) await inner.send(command, fd)()
      return E.left({ _tag: 'TransportError', message: f.fault.message ?? '' })
    },
    waitEvent: inner.waitEvent
  }
}

export const refused = (k: number): Injected => ({ k, fault: { _tag: 'QmpError', desc: `injected failure at command ${k}` } })
export const lost = (k: number): Injected => ({ k, fault: { _tag: 'TransportError', delivered: true, message: `reply to command ${k} lost` } })

export const outcome = async (plan: QmpPlan, x: Executor): Promise<RunOutcome> => {
  const r = await runPlan(plan, x)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

/** Everything of an outcome but the runtime (both come from the same plan). */
export const shape = (o: RunOutcome) => ({
  tag: o._tag,
  log: o.log,
  ...(o._tag === 'RolledBack' || o._tag === 'RollbackIncomplete' ? { failedStep: o.failedStep, error: o.error } : {}),
  ...(o._tag === 'RollbackIncomplete' ? { leftovers: o.leftovers } : {}),
  ...(o._tag === 'Pending' ? { deviceId: o.deviceId } : {})
})

export interface Pair {
  /** Runs `plan` on both, asserts they agree (and, when given, on the expected tag); QEMU's outcome. */
  readonly both: (what: string, plan: QmpPlan, expected: RunOutcome['_tag'], fault?: Injected) => Promise<RunOutcome>
  readonly sx: ScriptedExecutor
}

export const pair = (vm: Vm, sx: ScriptedExecutor): Pair => {
  const real = observe((c, a) => vm.qmp.execute(c, a), () => realNetdevs(vm))
  const model = observe(async (c, a) => sx.execute(a === undefined ? { execute: c } : { execute: c, arguments: a }), async () => sx.state().netdevs.map((n) => n.id))
  return {
    sx,
    both: async (what, plan, expected, fault) => {
      if (fault !== undefined) sx.failAt(sx.log().length + fault.k, fault.fault)
      const q = await outcome(plan, wrapReal(toExecutor(vm.qmp), fault))
      const s = await outcome(plan, sx.executor)
      assert.equal(shape(s), shape(q), `${what}: the scripted outcome differs from QEMU's`)
      assert.is(q._tag, expected, `${what}: QEMU's outcome ${JSON.stringify(shape(q))}`)
      assert.equal(await model(), await real(), `${what}: the scripted state differs from QEMU's`)
      return q
    }
  }
}

/** An instance with a CD-ROM; disks and NICs come by hotplug. */
export const start = async (dir: string, name: string, params: Readonly<Record<string, unknown>>): Promise<{ readonly argv: ReadonlyArray<string>; readonly runtime: Runtime }> => {
  const iso = await makeImage(dir, `${name}.iso`, 'raw')
  const hvparams = { kvm_path: qemuPath(), boot_order: 'cdrom', cdrom_image_path: iso, ...params }
  const inst = right(decodeInstance({ name, uuid: '5c8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', memory: 64, hvparams }))
  const tree = right(planDevices(inst, { qemu: qemuVersion }))
  const render = { qmpSocket: `${dir}/qmp.sock`, accel: 'tcg' } as const
  return { argv: renderArgv(tree, render), runtime: right(toRuntime(inst, tree, render)) }
}

export const scripted = (rt: Runtime): ScriptedExecutor => scriptedExecutor(right(stateOfRuntime(rt)), { qemu: qemuVersion })
