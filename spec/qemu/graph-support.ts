/**
 * Shared by the real-QEMU suites of the block graph: an instance started from a plan, QEMU's own
 * view of its graph, and executors that inject one fault.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import { decodeInstance, planDevices, renderArgv, runPlan, toRuntime, type Executor, type QmpPlan, type RunOutcome, type Runtime } from '../../lib/index.js'
import { losingReplyAt, refusingAt } from './faults.js'
import { qemuPath, qemuVersion, type Vm } from './harness.js'

export { losingReplyAt, refusingAt } from './faults.js'
import { right } from '../support/either.js'

export const INSTANCE_UUID = '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10'
export const uuidN = (n: number): string => `d${n.toString(16).padStart(7, '0')}-7a22-4067-a566-7e0ca8386133`
export const diskId = (n: number): string => `disk-${uuidN(n).split('-').slice(0, 3).join('-')}`

/** An instance planned for the QEMU under test, its argv, and the runtime recorded at start. */
export const started = (dir: string, hvparams: Record<string, unknown>, disks: ReadonlyArray<Record<string, unknown>>): { readonly argv: ReadonlyArray<string>; readonly runtime: Runtime } => {
  const inst = right(decodeInstance({ name: 'graph.example.com', uuid: INSTANCE_UUID, memory: 64, hvparams: { kvm_path: qemuPath(), ...hvparams }, disks }), 'decodeInstance')
  const tree = right(planDevices(inst, { qemu: qemuVersion }), 'planDevices')
  const render = { qmpSocket: `${dir}/qmp.sock`, accel: 'tcg' as const }
  return { argv: renderArgv(tree, render), runtime: right(toRuntime(inst, tree, render), 'toRuntime') }
}

export const run = async <R>(plan: QmpPlan<R>, executor: Executor): Promise<RunOutcome<R>> => {
  const r = await runPlan(plan, executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

export const done = async (vm: Vm, plan: QmpPlan): Promise<Runtime> => {
  const o = await run(plan, toExecutor(vm.qmp))
  assert.is(o._tag, 'Done', `${plan.title}: ${JSON.stringify(o._tag === 'Done' ? '' : { tag: o._tag, log: o.log })}`)
  return o.runtime
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * QEMU's graph: every named node with its driver and read-only flag, every edge between named
 * nodes (x-debug-query-block-graph), and which node each device reads.
 */
export const qemuGraph = async (vm: Vm): Promise<{ readonly nodes: ReadonlyArray<string>; readonly edges: ReadonlyArray<string>; readonly attached: ReadonlyArray<string> }> => {
  const named = (await vm.qmp.executeOk('query-named-block-nodes', { flat: true })) as ReadonlyArray<Record<string, unknown>>
  const nodes = named.map((n) => `${String(n['node-name'])} ${String(n['drv'])}${n['ro'] === true ? ' ro' : ''}`).sort()
  const graph = (await vm.qmp.executeOk('x-debug-query-block-graph')) as { nodes: ReadonlyArray<{ id: number; name: string; type: string }>; edges: ReadonlyArray<{ parent: number; child: number; name: string }> }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]))
  const edges = graph.edges
    .map((e) => ({ p: byId.get(e.parent), c: byId.get(e.child), name: e.name }))
    .filter((e) => e.p !== undefined && e.c !== undefined && e.p.type === 'block-driver' && !e.c.name.startsWith('#'))
    .map((e) => `${e.p?.name ?? ''} -${e.name}-> ${e.c?.name ?? ''}`)
    .sort()
  const blocks = (await vm.qmp.executeOk('query-block')) as ReadonlyArray<Record<string, unknown>>
  const attached = blocks
    .flatMap((b) => (isRecord(b['inserted']) && typeof b['qdev'] === 'string' ? [`${b['qdev'].replace(/^\/machine\/peripheral\//, '').replace(/\/virtio-backend$/, '')} <- ${String(b['inserted']['node-name'])}`] : []))
    .sort()
  return { nodes, edges, attached }
}

/** The graph the runtime records for its disks, in {@link qemuGraph}'s terms. */
export const recordedGraph = (rt: Runtime): { readonly nodes: ReadonlyArray<string>; readonly edges: ReadonlyArray<string>; readonly attached: ReadonlyArray<string> } => {
  const all = rt.disks.flatMap((d) => d.blockdev ?? [])
  const nodes = all.map((n) => `${n['node-name']} ${n.driver}${n['read-only'] === true ? ' ro' : ''}`).sort()
  const edges = all
    .flatMap((n) => [
      ...('file' in n && typeof n.file === 'string' ? [`${n['node-name']} -file-> ${n.file}`] : []),
      ...('backing' in n && typeof n.backing === 'string' ? [`${n['node-name']} -backing-> ${n.backing}`] : [])
    ])
    .sort()
  const attached = rt.disks.flatMap((d) => (d.placed === undefined || d.blockdev === undefined ? [] : [`${d.placed.id} <- ${d.placed.id}`])).sort()
  return { nodes, edges, attached }
}

/** The commands a plan sends forward (its wait steps send nothing). */
export const forwardCommands = (plan: QmpPlan): number => plan.steps.filter((s) => s._tag !== 'wait').length

/**
 * For every forward command k, refused and with its reply lost: the plan rolls back, the
 * runtime is its `before`, and QEMU's graph is what it was.
 */
export const faultEveryStep = async (vm: Vm, plan: QmpPlan): Promise<void> => {
  for (let k = 0; k < forwardCommands(plan); k++) {
    for (const fault of [refusingAt, losingReplyAt]) {
      const before = await qemuGraph(vm)
      const o = await run(plan, fault(toExecutor(vm.qmp), k))
      assert.is(o._tag, 'RolledBack', `${plan.title}, ${fault.name} ${k}: ${JSON.stringify(o._tag === 'RollbackIncomplete' ? { leftovers: o.leftovers, log: o.log } : o._tag)}`)
      assert.equal(o.runtime, plan.before, `${plan.title}, ${fault.name} ${k}: the runtime changed`)
      assert.equal(await qemuGraph(vm), before, `${plan.title}, ${fault.name} ${k}: QEMU's graph changed`)
    }
  }
}
