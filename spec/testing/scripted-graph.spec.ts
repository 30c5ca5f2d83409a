/**
 * The scripted executor's block graph without QEMU: a runtime's throttle filters and groups, a
 * mirror run by a plan through the runner (ready, completed, dismissed) in simulated time, the
 * same mirror failing by `failJob` and rolled back, snapshots in a transaction, limits and resizes.
 * spec/qemu/scripted-texts.spec.ts checks the texts and events against QEMU.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, planDevices, planHotRemove, runPlan, toRuntime, type QmpPlan, type RunOutcome, type Runtime } from '../../lib/index.js'
import { blockdevMirror, getLimits, jobCancel, jobComplete, jobDismiss, queryJobs, snapshotTransaction, blockResize } from '../../lib/qmp/graph-commands.js'
import { commandStep, waitStep } from '../../lib/qmp/plan.js'
import { fullLimits } from '../../lib/testing/limits.js'
import { scriptedExecutor, stateOfArgv, stateOfRuntime, type ScriptedExecutor } from '../../lib/testing/index.js'
import { right } from '../support/either.js'
import { hv } from '../support/placed.js'

const uuid = (n: number): string => `${(0x30000000 + n).toString(16)}-1111-4222-8333-444455556666`
const runtime = (): Runtime => {
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { kvm_path: '/usr/bin/qemu-system-x86_64', disk_type: 'scsi-hd' }, disks: [{ uuid: uuid(1), path: '/srv/a.qcow2', format: 'qcow2' }] }))
  return right(toRuntime(inst, right(planDevices(inst, { qemu: '7.2' })), { qmpSocket: '/run/vm1.qmp' }))
}
const run = async (plan: QmpPlan, sx: ScriptedExecutor): Promise<RunOutcome> => {
  const r = await runPlan(plan, sx.executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}
const argv = [
  '-object', '{"qom-type":"throttle-group","id":"throttle-d0","limits":{"iops-total":50}}',
  '-blockdev', '{"driver":"file","node-name":"d0-a-p","filename":"/img/a.qcow2"}',
  '-blockdev', '{"driver":"qcow2","node-name":"d0-a","file":"d0-a-p","backing":null}',
  '-blockdev', '{"driver":"throttle","node-name":"d0","throttle-group":"throttle-d0","file":"d0-a"}',
  '-device', '{"driver":"virtio-scsi-pci","id":"scsi"}',
  '-device', '{"driver":"scsi-hd","id":"disk0","bus":"scsi.0","scsi-id":0,"drive":"d0"}'
]
const add = (name: string, o: Readonly<Record<string, unknown>>) => commandStep(`blockdev-add ${name}`, { execute: 'blockdev-add', arguments: { 'node-name': name, ...o } }, { command: { execute: 'blockdev-del', arguments: { 'node-name': name } }, alreadyDone: [] })
const concluded = { event: 'JOB_STATUS_CHANGE', data: { id: 'm1', status: 'concluded' } }
/** A mirror of d0's image to t, as a plan: ready, completed, checked, dismissed; a cancel then a dismiss undo it. */
const mirrorPlan = (): QmpPlan => {
  const r = runtime()
  const undo = { command: jobCancel('m1'), alreadyDone: [], await: { until: [concluded], timeoutMs: 1000 }, then: { command: jobDismiss('m1'), alreadyDone: [] } }
  return {
    title: 'mirror d0', before: r, after: r, warnings: [],
    steps: [
      add('t-p', { driver: 'file', filename: '/img/t.qcow2' }),
      add('t', { driver: 'qcow2', file: 't-p', backing: null }),
      commandStep('blockdev-mirror m1', blockdevMirror('m1', 'd0', 't', 'd0-a'), undo),
      waitStep('m1 ready', [{ event: 'BLOCK_JOB_READY', data: { device: 'm1' } }], 5000, [concluded]),
      commandStep('job-complete m1', jobComplete('m1')),
      waitStep('m1 concluded', [concluded], 5000),
      commandStep('query-jobs', queryJobs(), undefined, { check: { _tag: 'JobSucceeded', id: 'm1' } }),
      commandStep('job-dismiss m1', jobDismiss('m1'))
    ]
  }
}

test('seeded from a runtime: each disk a throttle filter over its image, with its own group; the group goes with the disk', async () => {
  const rt = runtime()
  const sx = scriptedExecutor(right(stateOfRuntime(rt)))
  const top = hv(rt.disks[0])?.id ?? ''
  const group = sx.state().objects.find((o) => o.qomType === 'throttle-group')
  assert.equal(group, { id: `throttle-${top}`, qomType: 'throttle-group', limits: fullLimits({}) })
  assert.is(sx.state().nodes.find((n) => n.name === top)?.group, group?.id)
  assert.is(sx.state().nodes.find((n) => n.name === `${top}-a`)?.backingNull, true)
  assert.equal(sx.execute({ execute: 'object-del', arguments: { id: group?.id } }), { _tag: 'Error', class: 'GenericError', desc: `object '${group?.id ?? ''}' is in use, can not be deleted` })
  const removed = await run(right(planHotRemove(rt, top)), sx)
  assert.is(removed._tag, 'Done', JSON.stringify(removed.log))
  assert.equal(sx.state().objects, [])
  assert.equal(sx.state().nodes, [])
})

test('a mirror run by a plan: ready and concluded in simulated time, then the filter reads the target and the source nodes stay', async () => {
  const sx = scriptedExecutor(stateOfArgv(argv), { jobMs: 40 })
  const started = Date.now()
  const done = await run(mirrorPlan(), sx)
  assert.is(done._tag, 'Done', JSON.stringify(done.log))
  assert.ok(Date.now() - started < 1000, 'no real waiting')
  assert.is(sx.state().clockMs, 40)
  assert.equal(sx.state().nodes.find((n) => n.name === 'd0')?.children, [{ role: 'file', node: 't' }])
  assert.ok(sx.state().nodes.some((n) => n.name === 'd0-a') && sx.state().nodes.some((n) => n.name === 'd0-a-p'))
  assert.equal(sx.state().jobs, [])
  const statuses = sx.events().flatMap((e) => (e.event === 'JOB_STATUS_CHANGE' && typeof e.data === 'object' && e.data !== null ? [String(Reflect.get(e.data, 'status'))] : [e.event]))
  assert.equal(statuses, ['created', 'running', 'ready', 'BLOCK_JOB_READY', 'waiting', 'pending', 'BLOCK_JOB_COMPLETED', 'concluded', 'null'])
})

test('failJob: the mirror fails instead of getting ready; the cancel of the rollback meets a job already concluded (left over), and query-jobs shows the error', async () => {
  const sx = scriptedExecutor(stateOfArgv(argv))
  sx.failJob('m1', 'No space left on device')
  const failed = await run(mirrorPlan(), sx)
  assert.is(failed._tag, 'RollbackIncomplete', JSON.stringify(failed.log))
  assert.is(failed._tag === 'RollbackIncomplete' ? failed.failedStep : -1, 3)
  assert.ok(sx.events().some((e) => e.event === 'BLOCK_JOB_COMPLETED' && JSON.stringify(e.data).includes('No space left on device')))
  // A concluded job refuses the cancel; the nodes of the plan are deleted and d0 still reads its image.
  assert.equal(sx.state().nodes.find((n) => n.name === 'd0')?.children, [{ role: 'file', node: 'd0-a' }])
  assert.not.ok(sx.state().nodes.some((n) => n.name === 't'))
  assert.equal(sx.execute(queryJobs()), { _tag: 'Return', value: [{ 'current-progress': 0, status: 'concluded', 'total-progress': 1048576, type: 'mirror', id: 'm1', error: 'No space left on device' }] })
  // An active job fails at once.
  sx.execute(jobDismiss('m1'))
  sx.execute({ execute: 'blockdev-add', arguments: { driver: 'qcow2', 'node-name': 'u', backing: null, file: { driver: 'file', filename: '/img/u.qcow2' } } })
  sx.execute(blockdevMirror('m2', 'd0', 'u', 'd0-a'))
  sx.failJob('m2')
  assert.equal(sx.state().jobs.map((j) => [j.id, j.status, j.error]), [['m2', 'concluded', 'Input/output error']])
})

test('snapshots in a transaction, all or none; limits merged; a resize of the top node', () => {
  const sx = scriptedExecutor(stateOfArgv(argv))
  for (const o of ['o1', 'o2']) sx.execute({ execute: 'blockdev-add', arguments: { driver: 'qcow2', 'node-name': o, backing: null, file: { driver: 'file', filename: `/img/${o}.qcow2` } } })
  const refused = sx.execute(snapshotTransaction([{ node: 'd0-a', overlay: 'o1' }, { node: 'd0-a', overlay: 'o2' }]))
  assert.equal(refused, { _tag: 'Error', class: 'GenericError', desc: "Node 'd0-a' is busy: node is used as backing hd of 'o1'" })
  assert.equal(sx.state().nodes.find((n) => n.name === 'd0')?.children, [{ role: 'file', node: 'd0-a' }])
  assert.equal(sx.execute(snapshotTransaction([{ node: 'd0-a', overlay: 'o1' }])), { _tag: 'Return', value: {} })
  assert.equal(sx.state().nodes.find((n) => n.name === 'd0')?.children, [{ role: 'file', node: 'o1' }])
  assert.is(sx.state().nodes.find((n) => n.name === 'd0-a')?.readOnly, true)
  assert.equal(sx.execute({ execute: 'qom-set', arguments: { path: '/objects/throttle-d0', property: 'limits', value: { 'bps-read': 10, 'iops-total': 0 } } }), { _tag: 'Return', value: {} })
  assert.equal(sx.execute({ execute: 'qom-set', arguments: { path: '/objects/throttle-d0', property: 'limits', value: { 'bps-total': 5 } } }), { _tag: 'Error', class: 'GenericError', desc: 'bps/iops/max total values and read/write values cannot be used at the same time' })
  const limits = sx.execute(getLimits('throttle-d0'))
  assert.equal(limits._tag === 'Return' ? limits.value : undefined, fullLimits({ 'bps-read': 10 }))
  assert.equal(sx.execute(blockResize('d0', 4 * 1024 * 1024)), { _tag: 'Return', value: {} })
  assert.equal(sx.state().nodes.filter((n) => n.sizeBytes !== undefined).map((n) => n.name), ['d0', 'o1'])
})

test.run()
