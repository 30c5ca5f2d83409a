/**
 * The plans that reconfigure a running graph, without QEMU: what they send, what they record, and
 * the errors that name the field for every input they refuse. spec/qemu/graph*.spec.ts runs
 * them against real QEMUs.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, decodeLimits, decodeRuntime, encodeRuntime, runtimeArgv, planClone, planDevices, planMirror, planResize, planSnapshot, planThrottle, stepCommand, toRuntime, type DevplanError, type Runtime } from '../lib/index.js'
import { right } from './support/either.js'

const uuid = (n: number): string => `d${n.toString(16).padStart(7, '0')}-7a22-4067-a566-7e0ca8386133`
const id = (n: number): string => `disk-${uuid(n).split('-').slice(0, 3).join('-')}`

const runtimeFor = (qemu: string, hvparams: Record<string, unknown> = {}): Runtime => {
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_type: 'scsi-hd', ...hvparams }, disks: [{ uuid: uuid(1), path: '/srv/a.qcow2', format: 'qcow2' }, { uuid: uuid(2), path: '/dev/vg/b' }] }))
  return right(toRuntime(inst, right(planDevices(inst, { qemu })), { qmpSocket: '/run/vm1.qmp' }))
}

const paths = (r: E.Either<DevplanError, unknown>): ReadonlyArray<string> =>
  E.isLeft(r) ? (r.left._tag === 'InvalidInput' ? r.left.errors.map((e) => e.path) : [r.left._tag]) : []

const rt = runtimeFor('7.2')

test('planThrottle sends every member once, 0 and 1 where not given, and records the sparse limits', () => {
  const plan = right(planThrottle(rt, id(1), { 'bps-read': 1000, 'iops-total': 0 }))
  assert.is(plan.steps.length, 1)
  const cmd = stepCommand(plan.steps[0] ?? { _tag: "wait", description: "", until: [], failOn: [], timeoutMs: 0 })
  const value = (cmd?.arguments?.['value'] ?? {}) as Record<string, number>
  assert.is(Object.keys(value).length, 19)
  assert.equal([value['bps-read'], value['iops-total'], value['bps-read-max-length']], [1000, 0, 1])
  assert.equal(plan.after.disks[0]?.objects, [{ 'qom-type': 'throttle-group', id: `throttle-${id(1)}`, limits: { 'bps-read': 1000 } }])
  assert.equal(plan.before, rt)
})

test('limits QEMU would refuse are field errors, all of them at once', () => {
  const all = paths(decodeLimits({ 'iops-total': 5, 'iops-read': 5, 'bps-read-max': 10, 'bps-write': 9, 'bps-write-max': 5, 'iops-write-max-length': 3, nope: 1, 'bps-total': -1 }))
  for (const p of ['limits.nope', 'limits.bps-total', 'limits.iops-read', 'limits.bps-read-max', 'limits.bps-write-max', 'limits.iops-write-max-length']) assert.ok(all.includes(p), `${p} in ${JSON.stringify(all)}`)
  assert.equal(paths(planThrottle(rt, id(1), 'fast' as never)), ['limits'])
  assert.equal(paths(planThrottle(rt, 'disk-nope', {})), ['UnknownDevice'])
})

test('the throttling hvparams are checked at decode time and refused where no filter can carry them', () => {
  const bad = decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_bps_total: 10, disk_bps_read: 5, disk_iops_read_max: 3 } })
  assert.equal([...paths(bad)].sort(), ['hvparams.disk_bps_read', 'hvparams.disk_iops_read_max'].sort())
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_type: 'scsi-block', disk_iops_total: 10 }, disks: [{ uuid: uuid(1), path: '/dev/sdb' }] }))
  assert.equal(paths(planDevices(inst, { qemu: '7.2' })), ['hvparams.disk_iops_total'])
  const old = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_iops_total: 10 }, disks: [{ uuid: uuid(1), path: '/srv/a' }] }))
  assert.equal(paths(planDevices(old, { qemu: '6.0' })), ['hvparams.disk_iops_total'])
})

test('planResize grows the top node, records the size in MiB, and refuses sizes QEMU would', () => {
  const plan = right(planResize(rt, id(2), 2 * 1024 ** 3))
  assert.equal(stepCommand(plan.steps[0] ?? { _tag: "wait", description: "", until: [], failOn: [], timeoutMs: 0 }), { execute: 'block_resize', arguments: { 'node-name': id(2), size: 2 * 1024 ** 3 } })
  assert.is(plan.after.disks[1]?.rest['size'], 2048)
  for (const size of [0, -512, 1000, 1.5, '1G', 2 ** 60 * 16]) assert.equal(paths(planResize(rt, id(2), size as never)), ['size'], String(size))
})

test('planSnapshot: overlays <id>-s1 with backing null, one blockdev-snapshot or a transaction, the next number the second time', () => {
  const one = right(planSnapshot(rt, [{ id: id(1), path: '/srv/o1.qcow2' }]))
  assert.equal(one.steps.map((s) => stepCommand(s)?.execute), ['blockdev-add', 'blockdev-add', 'blockdev-snapshot'])
  assert.equal(stepCommand(one.steps[1] ?? { _tag: "wait", description: "", until: [], failOn: [], timeoutMs: 0 })?.arguments?.['backing'], null)
  const nodes = one.after.disks[0]?.blockdev ?? []
  assert.equal(nodes.map((n) => n['node-name']), [`${id(1)}-a-p`, `${id(1)}-a`, `${id(1)}-s1-p`, `${id(1)}-s1`, id(1)])
  assert.is(nodes[1]?.['read-only'], true)
  const two = right(planSnapshot(one.after, [{ id: id(1), path: '/srv/o2.qcow2' }, { id: id(2), path: '/dev/vg/b-s1', kind: 'block' }]))
  assert.is(stepCommand(two.steps[4] ?? { _tag: "wait", description: "", until: [], failOn: [], timeoutMs: 0 })?.execute, 'transaction')
  assert.ok((two.after.disks[0]?.blockdev ?? []).some((n) => n['node-name'] === `${id(1)}-s2`))
  assert.ok((two.after.disks[1]?.blockdev ?? []).some((n) => n['node-name'] === `${id(2)}-s1-p` && n.driver === 'host_device'))
})

test('planSnapshot names every bad request', () => {
  assert.equal(paths(planSnapshot(rt, [])), ['requests'])
  assert.equal([...paths(planSnapshot(rt, [{ id: id(1), path: 'relative' }, { id: 'disk-nope', path: '/x' }, { id: id(1), path: '/y' }, { id: id(1), path: '/z', extra: 1 } as never]))].sort(), ['requests[0].path', 'requests[1].id', 'requests[3].extra'].sort())
  assert.equal(paths(planSnapshot(rt, [{ id: id(1), path: '/a' }, { id: id(1), path: '/b' }])), ['requests[1].id'])
  // A disk without the filtered graph (a target before 6.2) cannot be reconfigured live.
  const old = runtimeFor('6.0')
  assert.equal(paths(planSnapshot(old, [{ id: id(1), path: '/a' }])), ['requests[0].id'])
  assert.equal(paths(planMirror(old, { id: id(1), path: '/a' })), ['Unsupported'])
})

test('planMirror and planClone: the job steps in order, and what they record', () => {
  const m = right(planMirror(rt, { id: id(1), path: '/srv/new.raw' }))
  assert.equal(m.steps.map((s) => (s._tag === 'wait' ? 'wait' : stepCommand(s)?.execute)), ['blockdev-add', 'blockdev-add', 'blockdev-mirror', 'wait', 'job-complete', 'wait', 'query-jobs', 'job-dismiss', 'blockdev-del', 'blockdev-del'])
  assert.equal((m.after.disks[0]?.blockdev ?? []).map((n) => n['node-name']), [`${id(1)}-m1-p`, `${id(1)}-m1`, id(1)])
  const c = right(planClone(rt, { id: id(2), path: '/srv/copy.qcow2', format: 'qcow2' }))
  assert.equal(c.steps.map((s) => (s._tag === 'wait' ? 'wait' : stepCommand(s)?.execute)), ['blockdev-add', 'blockdev-add', 'blockdev-backup', 'wait', 'query-jobs', 'job-dismiss', 'blockdev-del', 'blockdev-del'])
  assert.is(c.after, rt)
  assert.equal(paths(planMirror(rt, { id: id(1), path: '/x', format: 'vmdk' } as never)), ['request.format'])
  assert.equal(paths(planClone(rt, { id: id(1), path: '/x' }, { jobTimeoutMs: 0 })), ['options.jobTimeoutMs'])
})

test('a backing chain over the network: each layer its own source, its objects named after the layer; inconsistent chains named', () => {
  const inst = right(
    decodeInstance({
      name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128,
      disks: [{ uuid: uuid(3), path: '/srv/top.qcow2', format: 'qcow2', backing: [
        { source: { driver: 'nbd', server: { type: 'inet', host: 'nbd.example.org', port: 10809 }, export: 'mid' }, format: 'qcow2' },
        { source: { driver: 'rbd', pool: 'p', image: 'base', user: 'admin', key: { file: '/etc/ceph/key' } }, format: 'raw' }
      ] }]
    })
  )
  const g = right(planDevices(inst, { qemu: '7.2' })).disks[0]?.graph
  const d = id(3)
  assert.equal(g?.nodes.map((n) => `${n['node-name']} ${n.driver}${n['read-only'] === true ? ' ro' : ''}`), [`${d}-b2-p rbd ro`, `${d}-b2 raw ro`, `${d}-b1-p nbd ro`, `${d}-b1 qcow2 ro`, `${d}-a-p file`, `${d}-a qcow2`, `${d} throttle`])
  assert.equal(g?.objects?.map((o) => o.id), [`${d}-b2-secret`, `throttle-${d}`])
  const bad = decodeInstance({
    name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128,
    disks: [{ uuid: uuid(3), path: '/srv/top.qcow2', format: 'qcow2', backing: [
      { path: '/srv/raw-in-the-middle', format: 'raw' },
      { path: '/srv/b', source: { driver: 'nbd', server: { type: 'unix', path: '/run/nbd' } }, format: 'qcow2' },
      { format: 'qcow2' },
      { source: { driver: 'iscsi', portal: 'h', target: 'iqn.x', lun: 0, user: 'u' } }
    ] }]
  })
  assert.equal([...paths(bad)].sort(), ['disks[0].backing[0].format', 'disks[0].backing[1]', 'disks[0].backing[2]', 'disks[0].backing[3].source.password'].sort())
})

test('a migration in progress refuses every graph plan, naming it', () => {
  const during = { migration: 'active' }
  for (const r of [planThrottle(rt, id(1), {}, during), planResize(rt, id(1), 1 << 30, during), planSnapshot(rt, [{ id: id(1), path: '/o' }], during), planMirror(rt, { id: id(1), path: '/m' }, during), planClone(rt, { id: id(1), path: '/c' }, during)]) {
    assert.is(E.isLeft(r) ? r.left._tag : 'planned', 'MigrationInProgress')
  }
  assert.ok(E.isRight(planMirror(rt, { id: id(1), path: '/m' }, { migration: 'completed' })))
})

test('a reconfigured graph survives the runtime file: encode, decode, the same argv', () => {
  let r = right(planSnapshot(rt, [{ id: id(1), path: '/srv/o1.qcow2' }])).after
  r = right(planMirror(r, { id: id(2), path: '/srv/m.qcow2', format: 'qcow2' })).after
  r = right(planThrottle(r, id(1), { 'bps-total': 1000 })).after
  const again = right(decodeRuntime(JSON.parse(JSON.stringify(encodeRuntime(r)))))
  assert.equal(again.disks, r.disks)
  assert.equal(right(runtimeArgv(again)), right(runtimeArgv(r)))
  // A recorded filter naming a group the record lacks is refused, naming the place.
  const file = JSON.parse(JSON.stringify(encodeRuntime(r))) as { [k: number]: unknown }
  const disks = file[3] as Array<[Record<string, unknown>, string, string | null]>
  const first = disks[0]
  if (first !== undefined) delete first[0]['objects']
  assert.equal(paths(decodeRuntime(file)), ['disks[0].blockdev[4].throttle-group'])
})

test.run()
