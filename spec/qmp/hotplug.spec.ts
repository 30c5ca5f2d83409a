import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  formatError,
  planDevices,
  planHotAdd,
  planHotRemove,
  planChangeMedium,
  decodeRuntime,
  encodeRuntime,
  renderArgv,
  runPlan,
  runtimeArgv,
  toRuntime,
  type Executor,
  type QmpPlan,
  type RunOutcome,
  type Runtime
} from '../../lib/index.js'
import { scriptedExecutor, stateOfRuntime, type ScriptedExecutor, type ScriptedOptions, type ScriptedState } from '../../lib/testing/index.js'
import { hv } from '../support/placed.js'
import { runtimeOf } from '../support/either.js'

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}

/** A runtime as recorded at start for an instance with no disks and no NICs: cmd is its argv. */
const bareRuntime = (hvparams: Record<string, unknown>): Runtime => {
  const hv = { kernel_path: '/boot/vmlinuz', kvm_path: '/usr/bin/qemu-system-x86_64', ...hvparams }
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: hv }))
  const tree = right(planDevices(inst, { qemu: { major: 7, minor: 2, micro: 0 } }))
  return runtimeOf({ cmd: renderArgv(tree, { qmpSocket: '/tmp/vm1.qmp', accel: 'tcg' }), nics: [], hvparams: hv as Runtime['hvparams'], disks: [], stamp: undefined })
}

const uuid = (n: number): string => `${(0x10000000 + n).toString(16)}-1111-4222-8333-444455556666`
const disk = (n: number, extra: Record<string, unknown> = {}) => right(decodeDisk({ uuid: uuid(n), path: `/srv/img${n}.raw`, ...extra }))
const nic = (n: number, backend: unknown) => right(decodeNic({ uuid: uuid(n), mac: `aa:00:00:00:00:${(n & 0xff).toString(16).padStart(2, '0')}`, backend }))

/** The scripted QEMU (qemu-devplan/testing) as the runtime says it was started. */
const QEMU = { major: 7, minor: 2, micro: 0 }
const qemuOf = (rt: Runtime, options: ScriptedOptions = {}): ScriptedExecutor => scriptedExecutor(right(stateOfRuntime(rt, { qemu: QEMU })), options)

/** Runs `plan`; each command number in `failAt` (counted from this run's first) gets an error reply. */
const run = async (plan: QmpPlan, sx: ScriptedExecutor, failAt: ReadonlyArray<number> = []): Promise<{ outcome: RunOutcome; sent: number }> => {
  const base = sx.log().length
  for (const k of failAt) sx.failAt(base + k, { _tag: 'QmpError', desc: `injected failure at command ${k}` })
  const r = await runPlan(plan, sx.executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return { outcome: r.right, sent: sx.log().length - base }
}

const snapshot = (sx: ScriptedExecutor): string => {
  const s = sx.state()
  return JSON.stringify({ devices: s.devices, nodes: s.nodes, netdevs: s.netdevs, fds: s.fds, drives: s.drives })
}

const ids = (sx: ScriptedExecutor, prefix: string): ReadonlyArray<string> => sx.state().devices.flatMap((d) => (d.id?.startsWith(prefix) === true ? [d.id] : [])).sort()
const nodeNames = (sx: ScriptedExecutor): ReadonlyArray<string> => sx.state().nodes.map((n) => n.name)

test('hot-added SCSI disks take targets 0, 1, 2 and are recorded with their nodes', async () => {
  let rt = bareRuntime({ disk_type: 'scsi-hd', scsi_controller_type: 'lsi' })
  const model = qemuOf(rt)
  for (const n of [1, 2, 3]) {
    const plan = right(planHotAdd(rt, { disk: disk(n) }))
    const { outcome } = await run(plan, model)
    assert.is(outcome._tag, 'Done')
    rt = outcome.runtime
  }
  assert.equal(rt.disks.map((d) => hv(d)), [1, 2, 3].map((n, i) => ({ driver: 'scsi-hd', id: `disk-${(0x10000000 + n).toString(16)}-1111-4222`, bus: 'scsi.0', channel: 0, 'scsi-id': i, lun: 0 })))
  assert.equal([...nodeNames(model)].sort(), rt.disks.flatMap((d) => (d.blockdev ?? []).map((n) => n['node-name'])).sort())
  assert.equal(ids(model, 'disk-'), rt.disks.map((d) => hv(d)?.id ?? '').sort())
  assert.equal(model.state().devices.filter((d) => d.id?.startsWith('disk-')).map((d) => d.scsi?.scsiId), [0, 1, 2])
})

test('device_add carries exactly the hvinfo, the drive and write-cache, like -device', () => {
  const rt = bareRuntime({ disk_type: 'paravirtual', disk_cache: 'writethrough' })
  const plan = right(planHotAdd(rt, { disk: disk(1) }))
  const last = plan.steps[plan.steps.length - 1]
  assert.ok(last !== undefined && last._tag === 'command')
  if (last?._tag !== 'command') return
  const id = `disk-${(0x10000001).toString(16)}-1111-4222`
  assert.equal(last.command, { execute: 'device_add', arguments: { driver: 'virtio-blk-pci', id, bus: 'pci.0', addr: '0x10', drive: id, 'write-cache': 'off' } })
})

test('lsi takes 8 targets; the 9th hot-add is BusFull naming the disk', async () => {
  let rt = bareRuntime({ disk_type: 'scsi-hd', scsi_controller_type: 'lsi' })
  for (let n = 1; n <= 8; n++) rt = right(planHotAdd(rt, { disk: disk(n) })).after
  const r = planHotAdd(rt, { disk: disk(9) })
  assert.ok(E.isLeft(r))
  if (E.isLeft(r)) {
    assert.is(r.left._tag, 'BusFull')
    assert.match(formatError(r.left), `disk-${(0x10000009).toString(16)}-1111-4222`)
  }
})

test('refused: IDE disks, ne2k_isa NICs, a reused id, SCSI without a controller', () => {
  const ide = planHotAdd(bareRuntime({ disk_type: 'ide' }), { disk: disk(1) })
  assert.ok(E.isLeft(ide) && ide.left._tag === 'Unsupported' && /IDE/.test(formatError(ide.left)))
  const isa = planHotAdd(bareRuntime({ nic_type: 'ne2k_isa' }), { nic: nic(1, { type: 'user' }) })
  assert.ok(E.isLeft(isa) && isa.left._tag === 'Unsupported' && /ISA/.test(formatError(isa.left)))
  const rt = right(planHotAdd(bareRuntime({}), { disk: disk(1) })).after
  const dup = planHotAdd(rt, { disk: disk(1) })
  assert.ok(E.isLeft(dup) && dup.left._tag === 'DuplicateId')
  const noController: Runtime = runtimeOf({ ...bareRuntime({ disk_type: 'paravirtual' }), hvparams: { kernel_path: '/boot/vmlinuz', disk_type: 'scsi-hd' } })
  const scsi = planHotAdd(noController, { disk: disk(2) })
  assert.ok(E.isLeft(scsi) && /controller/.test(formatError(scsi.left)))
})

test('PCI slots are never reused while a removal is pending', async () => {
  let rt = bareRuntime({ disk_type: 'paravirtual' })
  const model = qemuOf(rt)
  const first = right(planHotAdd(rt, { disk: disk(1) }))
  rt = (await run(first, model)).outcome.runtime
  const id = hv(rt.disks[0])?.id ?? ''
  // No guest: the PCI device waits, as QEMU's does.
  const removal = await run(right(planHotRemove(rt, id, { unplugTimeoutMs: 10 })), model)
  assert.is(removal.outcome._tag, 'Pending')
  rt = removal.outcome.runtime
  const second = right(planHotAdd(rt, { disk: disk(2) }))
  assert.is(hv(second.after.disks[1])?.addr ?? '', '0x11')
  assert.is((await run(second, model)).outcome._tag, 'Done', 'QEMU takes the plan: slot 0x11 is free there')
})

test('a pending removal touches nothing behind the device, and the same plan finishes it later', async () => {
  let rt = bareRuntime({ disk_type: 'paravirtual' })
  const model = qemuOf(rt)
  rt = (await run(right(planHotAdd(rt, { disk: disk(1) })), model)).outcome.runtime
  const id = hv(rt.disks[0])?.id ?? ''
  const plan = right(planHotRemove(rt, id, { unplugTimeoutMs: 10 }))
  const nodesBefore = nodeNames(model)
  const p1 = await run(plan, model)
  assert.is(p1.outcome._tag, 'Pending')
  assert.equal(p1.outcome.runtime, rt)
  assert.equal(nodeNames(model), nodesBefore)
  // Still held: the second device_del is answered "already in the process of unplug"; still pending.
  const p2 = await run(plan, model)
  assert.is(p2.outcome._tag, 'Pending')
  assert.ok(model.log().some((c) => E.isRight(c.answer) && c.answer.right._tag === 'Error' && c.answer.right.desc === `Device ${id} is already in the process of unplug`))
  // The guest lets go while nobody waits (its DEVICE_DELETED is not seen): the same plan finishes.
  assert.ok(model.release(id))
  const p3 = await run(plan, model)
  assert.is(p3.outcome._tag, 'Done')
  assert.equal(nodeNames(model), [])
  assert.equal(p3.outcome.runtime.disks, [])
})

test('removing a disk started with -drive: no nodes to delete is success (idempotent teardown)', async () => {
  const rt0 = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: disk(1) })).after
  const legacy: Runtime = { ...rt0, disks: rt0.disks.map((d) => ({ ...d, blockdev: undefined })) }
  const id = hv(legacy.disks[0])?.id ?? ''
  // Started with -drive: the device's backend is the drive id, with no node QMP can name.
  const s0 = right(stateOfRuntime(legacy, { qemu: QEMU }))
  const started: ScriptedState = { ...s0, nodes: [], drives: [id], devices: s0.devices.map((d) => (d.id === id ? { ...d, drive: id } : d)) }
  const model = scriptedExecutor(started)
  const { outcome } = await run(right(planHotRemove(legacy, id)), model)
  assert.is(outcome._tag, 'Done')
  assert.equal(ids(model, 'disk-'), [])
  assert.equal(model.state().drives, [], 'the -drive backend went with its device')
  assert.ok(outcome.log.filter((l) => l.result === 'already-done').length >= 1, 'blockdev-del found nothing: already done')
})

test('unknown ids and command-line devices are refused for removal', () => {
  const rt = bareRuntime({ disk_type: 'scsi-hd' })
  const a = planHotRemove(rt, 'disk-nothere')
  assert.ok(E.isLeft(a) && a.left._tag === 'UnknownDevice')
  const b = planHotRemove(rt, 'scsi')
  assert.ok(E.isLeft(b) && b.left._tag === 'Unsupported')
})

const faultMatrix = async (name: string, rt: Runtime, makePlan: (model: ScriptedExecutor) => Promise<QmpPlan>, options: ScriptedOptions = {}): Promise<void> => {
  const probe = qemuOf(rt, options)
  const plan = await makePlan(probe)
  const clone = (): ScriptedExecutor => scriptedExecutor(probe.state(), options)
  const count = (await run(plan, clone())).sent
  assert.ok(count >= 2, `${name}: expected a multi-step plan`)
  for (let k = 0; k < count; k++) {
    const model = clone()
    const before = snapshot(model)
    const { outcome } = await run(plan, model, [k])
    assert.is(outcome._tag, 'RolledBack', `${name}: failing command ${k} should roll back, got ${outcome._tag}`)
    assert.is(snapshot(model), before, `${name}: failing command ${k} left QEMU changed`)
    assert.equal(outcome.runtime, plan.before, `${name}: failing command ${k} changed the runtime`)
  }
}

test('fault injection: every failing step of a disk hot-add rolls back completely', async () => {
  const chain = { format: 'qcow2', backing: [{ path: '/srv/base.qcow2', format: 'qcow2' }] }
  // scsi-block and scsi-generic pass a host device through: a raw block device, no chain.
  const cases: Array<[string, Record<string, unknown>]> = [
    ['paravirtual', chain],
    ['scsi-hd', chain],
    ['scsi-block', { path: '/dev/sdb', format: 'raw' }],
    ['scsi-generic', { path: '/dev/sg0', format: 'raw' }]
  ]
  for (const [t, extra] of cases) {
    const rt = bareRuntime({ disk_type: t })
    await faultMatrix(`add ${t}`, rt, async () => right(planHotAdd(rt, { disk: disk(1, extra) })))
  }
})

test('refused: a scsi-block or scsi-generic hot-add of anything but a raw block device, naming disk', () => {
  const refused: Array<Record<string, unknown>> = [
    {},
    { path: '/dev/sdb', format: 'qcow2' },
    { path: '/dev/sdb', format: 'qcow2', backing: [{ path: '/srv/base.qcow2', format: 'qcow2' }] },
    { path: '', uri: 'rbd:rbd/img:id=vm1' }
  ]
  for (const t of ['scsi-block', 'scsi-generic']) {
    const rt = bareRuntime({ disk_type: t })
    for (const extra of refused) {
      const d = disk(1, extra)
      const r = planHotAdd(rt, { disk: d })
      const value = d.source._tag === 'local' ? d.source.path : d.uri
      assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors.some((e) => e.path === 'disk' && e.value === value), `${t} ${JSON.stringify(extra)}: ${JSON.stringify(r)}`)
      if (E.isLeft(r)) assert.ok(formatError(r.left).includes(t), formatError(r.left))
    }
    assert.ok(E.isRight(planHotAdd(rt, { disk: disk(1, { path: '/dev/sdb' }) })))
    assert.ok(E.isRight(planHotAdd(rt, { disk: disk(1, { path: '/srv/lun1', kind: 'block' }) })))
  }
})

test('fault injection: every failing step of a multiqueue vhost NIC hot-add rolls back, fds closed', async () => {
  const rt = bareRuntime({ nic_type: 'paravirtual', virtio_net_queues: 2, vhost_net: true })
  await faultMatrix('add nic', rt, async () => right(planHotAdd(rt, { nic: nic(1, { type: 'tap', fds: [10, 11], vhostfds: [12, 13] }) })))
})

test('fault injection: every failing step of a SCSI disk hot-remove restores device and nodes', async () => {
  const rt = bareRuntime({ disk_type: 'scsi-hd' })
  await faultMatrix('remove scsi disk', rt, async (model) => {
    const added = await run(right(planHotAdd(rt, { disk: disk(1) })), model)
    return right(planHotRemove(added.outcome.runtime, hv(added.outcome.runtime.disks[0])?.id ?? ''))
  })
})

test('fault injection: every failing step of a user NIC hot-remove restores device and netdev', async () => {
  // An e1000 is a PCI device: a guest that lets it go at once, so that the steps behind the wait run.
  const rt = bareRuntime({ nic_type: 'e1000' })
  await faultMatrix('remove nic', rt, async (model) => {
    const added = await run(right(planHotAdd(rt, { nic: nic(1, { type: 'user' }) })), model)
    return right(planHotRemove(added.outcome.runtime, hv(added.outcome.runtime.nics[0])?.id ?? ''))
  }, { guestReleaseMs: 0 })
})

test('an undo that fails too is reported as a leftover, naming the step', async () => {
  const plan = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: disk(1) }))
  // commands: 0 add file node, 1 add format node, 2 device_add (fails), 3 undo: del format node (fails), 4 undo: del file node
  const model = qemuOf(plan.before)
  const { outcome } = await run(plan, model, [2, 3])
  assert.is(outcome._tag, 'RollbackIncomplete')
  if (outcome._tag === 'RollbackIncomplete') {
    assert.is(outcome.failedStep, 2)
    // The file node is still the format node's child: QEMU refuses it as "Block device … is in use".
    assert.equal(outcome.leftovers.map((l) => l.step), [1, 0])
    const name = (i: number): string => { const st = plan.steps[i]; return st?._tag === 'command' ? String(st.command.arguments?.['node-name']) : '' }
    assert.equal(outcome.leftovers[1]?.error, { _tag: 'QmpError', class: 'GenericError', desc: `Block device ${name(0)} is in use` })
    assert.equal([...nodeNames(model)].sort(), [name(0), name(1)].sort())
  }
})

test('a transport that cannot pass fds makes a tap-fd NIC add fail cleanly', async () => {
  const plan = right(planHotAdd(bareRuntime({}), { nic: nic(1, { type: 'tap', fds: [9] }) }))
  const model = qemuOf(plan.before)
  const before = snapshot(model)
  const noFds: Executor = {
    send: (command, fd) => (fd === undefined ? model.executor.send(command) : async () => E.left({ _tag: 'TransportError', message: 'no fd passing' })),
    waitEvent: model.executor.waitEvent
  }
  const r = await runPlan(plan, noFds)()
  const outcome = E.isRight(r) ? r.right : undefined
  assert.is(outcome?._tag, 'RolledBack')
  if (outcome?._tag === 'RolledBack') assert.is(outcome.error._tag, 'TransportError')
  assert.is(snapshot(model), before)
})

test('plans do not mutate the runtime they were given', () => {
  const rt = bareRuntime({ disk_type: 'scsi-hd' })
  const frozen = JSON.stringify(rt)
  const plan = right(planHotAdd(rt, { disk: disk(1) }))
  assert.is(JSON.stringify(rt), frozen)
  assert.is(plan.before, rt)
  assert.is.not(plan.after, rt)
})

test('command-line devices of every bus are read back from kvm_cmd (IDE CD-ROM, SCSI CD-ROM)', () => {
  for (const cd of ['ide', 'scsi-hd']) {
    const rt = bareRuntime({ kernel_path: '', boot_order: 'cdrom', cdrom_image_path: '/srv/boot.iso', cdrom_disk_type: cd, disk_type: 'scsi-hd' })
    const plan = planHotAdd(rt, { disk: disk(1) })
    assert.ok(E.isRight(plan), JSON.stringify(plan))
    // The SCSI CD-ROM holds target 0 on the command line, so the disk gets target 1.
    const h = E.isRight(plan) ? hv(plan.right.after.disks[0]) : undefined
    assert.is(h !== undefined && 'scsi-id' in h ? h['scsi-id'] : -1, cd === 'ide' ? 0 : 1)
  }
})

test('a hot-added tap NIC is recorded with the fds a restart inherits, not the consumed getfd names', () => {
  const plan = right(planHotAdd(bareRuntime({ vhost_net: true }), { nic: nic(1, { type: 'tap', fds: [10], vhostfds: [11] }) }))
  const id = hv(plan.after.nics[0])?.id ?? ''
  const netdevAdd = plan.steps.find((st) => st._tag === 'command' && st.command.execute === 'netdev_add')
  assert.equal(netdevAdd?._tag === 'command' ? netdevAdd.command.arguments : undefined, { type: 'tap', id, fd: `${id}-0`, vhost: true, vhostfd: `${id}-vhost-0` })
  assert.equal(plan.after.nics[0]?.netdev, { type: 'tap', id, fd: '10', vhost: true, vhostfd: '11' })
  const back = decodeRuntime(encodeRuntime({ ...plan.after, stamp: { format: 1, writer: 'test', qemu: '7.2.0' } }))
  assert.ok(E.isRight(back), JSON.stringify(back))
})

test('rolling back the removal of the boot disk re-creates it with its bootindex', () => {
  const params = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'disk', disk_type: 'scsi-hd' }
  const inst = right(decodeInstance({ name: 'vm2', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e11', memory: 128, hvparams: params, disks: [{ uuid: uuid(1), path: '/srv/a' }, { uuid: uuid(2), path: '/srv/b' }] }))
  const tree = right(planDevices(inst, { qemu: '7.2' }))
  const rt = right(toRuntime(inst, tree, { qmpSocket: '/tmp/vm2.qmp' }))
  const undoOf = (id: string): unknown => {
    const first = right(planHotRemove(rt, id)).steps[0]
    return first?._tag === 'unplug' ? first.undo.command.arguments?.['bootindex'] : 'no unplug step'
  }
  assert.is(undoOf(hv(rt.disks[0])?.id ?? ''), 1)
  assert.is(undoOf(hv(rt.disks[1])?.id ?? ''), undefined)
})

test('an executor that throws instead of answering Left still gets a rollback and an outcome', async () => {
  const plan = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: disk(1) }))
  const model = qemuOf(plan.before)
  const inner = model.executor
  let n = 0
  const throwing: typeof inner = {
    send: (command, fd) => {
      if (n++ === 2) return () => Promise.reject(new Error('socket exploded'))
      return inner.send(command, fd)
    },
    waitEvent: inner.waitEvent
  }
  const r = await runPlan(plan, throwing)()
  assert.ok(E.isRight(r))
  if (E.isRight(r)) {
    assert.is(r.right._tag, 'RolledBack')
    if (r.right._tag === 'RolledBack') assert.match(r.right.error._tag === 'TransportError' ? r.right.error.message : '', 'socket exploded')
  }
  assert.equal(nodeNames(model), [])
})

test('replies are read strictly: QEMU\'s raw shapes work, anything else fails the step and rolls back', async () => {
  const plan = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: disk(1) }))
  const viaRaw = (reply: (tagged: unknown) => unknown, model: ScriptedExecutor): Executor => {
    const inner = model.executor
    return {
      send: (command, fd) => async () => {
        const r = await inner.send(command, fd)()
        return E.isLeft(r) ? r : (E.right(reply(r.right)) as never)
      },
      waitEvent: inner.waitEvent
    }
  }
  // QEMU's wire format passed through: {"return": …} / {"error": {class, desc}}.
  const wire = (t: unknown): unknown => {
    const x = t as { _tag: string; value?: unknown; class?: string; desc?: string }
    return x._tag === 'Return' ? { return: x.value } : { error: { class: x.class, desc: x.desc } }
  }
  const m1 = qemuOf(plan.before)
  const ok = await runPlan(plan, viaRaw(wire, m1))()
  assert.ok(E.isRight(ok) && ok.right._tag === 'Done')
  // A failing device_add in wire format is a failure, not a success.
  const s0 = right(stateOfRuntime(plan.before, { qemu: QEMU }))
  const m2 = scriptedExecutor({ ...s0, devices: [...s0.devices, { id: hv(plan.after.disks[0])?.id ?? '', driver: 'scsi-hd', bus: 'scsi.0', scsi: { channel: 0, scsiId: 5, lun: 0 }, properties: {} }] })
  const refused = await runPlan(plan, viaRaw(wire, m2))()
  assert.ok(E.isRight(refused) && refused.right._tag === 'RolledBack', JSON.stringify(refused))
  // Something that is no reply at all.
  const m3 = qemuOf(plan.before)
  let replies = 0
  const junk = await runPlan(plan, viaRaw((t) => (replies++ === 0 ? { ok: true } : t), m3))()
  assert.ok(E.isRight(junk) && junk.right._tag === 'RolledBack')
  if (E.isRight(junk) && junk.right._tag === 'RolledBack') assert.is(junk.right.error._tag, 'TransportError')
  assert.equal(nodeNames(m3), [])
})

test('removing a device QEMU cannot hot-unplug (IDE disk, ne2k_isa NIC) is refused before anything is sent', () => {
  const params = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'disk', disk_type: 'ide', nic_type: 'ne2k_isa' }
  const inst = right(decodeInstance({ name: 'vm3', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e12', memory: 128, hvparams: params, disks: [{ uuid: uuid(1), path: '/srv/a' }], nics: [{ uuid: uuid(2), mac: 'aa:00:00:00:00:02', backend: { type: 'user' } }] }))
  const tree = right(planDevices(inst, { qemu: '7.2' }))
  const rt = right(toRuntime(inst, tree, { qmpSocket: '/tmp/vm3.qmp' }))
  for (const id of [hv(rt.disks[0])?.id ?? '', hv(rt.nics[0])?.id ?? '']) {
    const r = planHotRemove(rt, id)
    assert.ok(E.isLeft(r) && r.left._tag === 'Unsupported', `${id}: ${JSON.stringify(r)}`)
  }
})

test('a hot-added NIC may not reuse a MAC address of the instance', () => {
  const rt = right(planHotAdd(bareRuntime({}), { nic: nic(1, { type: 'user' }) })).after
  const again = right(decodeNic({ uuid: uuid(9), mac: rt.nics[0]?.mac.toUpperCase() ?? '', backend: { type: 'user' } }))
  const r = planHotAdd(rt, { nic: again })
  assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors.some((e) => e.path === 'nic.mac'), JSON.stringify(r))
})

test('unplugTimeoutMs must be a finite number of milliseconds', () => {
  const rt = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: disk(1) })).after
  const id = hv(rt.disks[0])?.id ?? ''
  for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
    const r = planHotRemove(rt, id, { unplugTimeoutMs: bad })
    assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors[0]?.path === 'options.unplugTimeoutMs', String(bad))
    assert.ok(E.isLeft(planHotAdd(rt, { disk: disk(2) }, { unplugTimeoutMs: bad })))
  }
  assert.ok(E.isRight(planHotRemove(rt, id, { unplugTimeoutMs: 0 })))
})

test('a medium change records the new image in the runtime hvparams, an eject records none', () => {
  const rt = bareRuntime({ kernel_path: '', boot_order: 'cdrom', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'ide' })
  const changed = right(planChangeMedium(rt, 'cdrom1', '/srv/b.iso')).after
  assert.is(changed.hvparams['cdrom_image_path'], '/srv/b.iso')
  assert.is(right(planChangeMedium(changed, 'cdrom1', null)).after.hvparams['cdrom_image_path'], '')
})

test('a disk given by uri records its path as Ganeti\'s link', () => {
  const d = right(decodeDisk({ uuid: uuid(5), path: '/var/run/ganeti/instance-disks/vm1:0', uri: 'rbd:rbd/vm1-disk0' }))
  const rt = right(planHotAdd(bareRuntime({ disk_type: 'scsi-hd' }), { disk: d })).after
  assert.is(rt.disks[0]?.link, '/var/run/ganeti/instance-disks/vm1:0')
  assert.is(rt.disks[0]?.uri, 'rbd:rbd/vm1-disk0')
})

test('review regressions: kvm_extra devices, hex addr, uuids recorded under legacy ids, hostile replies, frozen inputs', async () => {
  // kvm_extra devices are never taken for placements, not even behind a bridge at "0x10".
  const extra = '-device pci-bridge,id=br1,chassis_nr=1,bus=pci.0,addr=0x9 -device virtio-rng-pci,bus=br1,addr=0x10'
  const withExtra = bareRuntime({ disk_type: 'paravirtual', kvm_extra: extra })
  const a = right(planHotAdd(withExtra, { disk: disk(1) }))
  const h = hv(a.after.disks[0])
  assert.is(h !== undefined && 'addr' in h ? h.addr : '', '0x10')
  // QEMU reads addr as hex: a recorded device at "11" holds slot 0x11.
  const hexRt: Runtime = { ...a.after, disks: a.after.disks.map((d) => ({ ...d, placed: d.placed === undefined || d.placed.address._tag !== 'pci' ? d.placed : { ...d.placed, address: { ...d.placed.address, slot: 0x11 } } })) }
  const b = right(planHotAdd(hexRt, { disk: disk(2) }))
  const h2 = hv(b.after.disks[1])
  assert.is(h2 !== undefined && 'addr' in h2 ? h2.addr : '', '0x10')
  // The same uuid under another (legacy) id is the same device.
  const legacy: Runtime = { ...a.after, disks: a.after.disks.map((d) => ({ ...d, placed: d.placed === undefined ? undefined : { ...d.placed, id: 'hotdisk-10000001-pci-16' } })) }
  const dup = planHotAdd(legacy, { disk: disk(1) })
  assert.ok(E.isLeft(dup) && dup.left._tag === 'InvalidInput' && dup.left.errors[0]?.path === 'disk.uuid', JSON.stringify(dup))
  // A reply JSON cannot show still ends in an outcome.
  const inner = qemuOf(bareRuntime({})).executor
  const hostile = { send: () => async () => E.right({ _tag: 'Return', value: BigInt(1), weird: BigInt(2) } as never), waitEvent: inner.waitEvent }
  const odd = { send: () => async () => E.right({ nonsense: BigInt(1) } as never), waitEvent: inner.waitEvent }
  for (const x of [hostile, odd]) {
    const r = await runPlan(right(planHotAdd(bareRuntime({}), { disk: disk(3) })), x)()
    assert.ok(E.isRight(r))
  }
  // Planning never freezes the caller's runtime.
  const mine = bareRuntime({ disk_type: 'scsi-hd' })
  right(planHotAdd(mine, { disk: disk(4) }))
  assert.not.ok(Object.isFrozen(mine.cmd) || Object.isFrozen(mine.hvparams) || Object.isFrozen(mine))
})

test('after ejecting a SCSI CD-ROM the rebuilt argv keeps the controller ahead of the disks', () => {
  const hv = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'disk', disk_type: 'paravirtual', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'scsi-cd', scsi_controller_type: 'lsi' }
  const inst = right(decodeInstance({ name: 'vm4', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e13', memory: 128, hvparams: hv, disks: [{ uuid: uuid(1), path: '/srv/a' }] }))
  const tree = right(planDevices(inst, { qemu: '7.2' }))
  const argv = renderArgv(tree, { qmpSocket: '/tmp/vm4.qmp' })
  const rt = right(toRuntime(inst, tree, { qmpSocket: '/tmp/vm4.qmp' }))
  const ejected = right(planChangeMedium(rt, 'cdrom1', null)).after
  const rebuilt = right(runtimeArgv(ejected))
  const controller = rebuilt.findIndex((w) => w.includes('"id":"scsi"'))
  const firstDisk = rebuilt.findIndex((w) => w.includes('"node-name":"disk-'))
  assert.ok(controller > 0 && controller < firstDisk, `controller at ${controller}, first disk node at ${firstDisk}`)
  // Everything but the CD-ROM's own options is unchanged.
  const withoutCd = (words: ReadonlyArray<string>): ReadonlyArray<string> =>
    words.filter((w, i) => !w.includes('cdrom1') && !(w.startsWith('-') && (words[i + 1] ?? '').includes('cdrom1')))
  assert.equal(withoutCd(rebuilt), withoutCd(argv))
})


test('a gluster hot-add warns where the running QEMU deprecates gluster: from options.qemu, else the stamp', () => {
  const rt = bareRuntime({})
  const req = { disk: disk(900, { uri: 'gluster://gl1.example.com/vol0/hot.img' }) }
  const feature = (p: QmpPlan): ReadonlyArray<string> => p.warnings.map((w) => `${w._tag === 'Deprecated' ? w.feature : w._tag} at ${w.path}`)
  assert.equal(feature(right(planHotAdd(rt, req))), [], 'no stamp, no version: no claim')
  assert.equal(feature(right(planHotAdd(rt, req, { qemu: { major: 10, minor: 0, micro: 2 } }))), ['gluster at disk.uri'])
  assert.equal(feature(right(planHotAdd(rt, req, { qemu: { major: 7, minor: 2, micro: 0 } }))), [])
  const stamped = { ...rt, stamp: { format: 1, writer: 'qemu-devplan/0.1.0', qemu: '9.2.0' } }
  assert.equal(feature(right(planHotAdd(stamped, req))), ['gluster at disk.uri'])
  assert.equal(feature(right(planHotAdd(stamped, { disk: disk(901) }))), [], 'a file disk')
})

test('a recorded runtime: an id kvm_extra uses is taken, and its words are the only ones read for it', () => {
  const taken = `disk-${uuid(7).split('-').slice(0, 3).join('-')}`
  const params = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'cdrom', cdrom_image_path: '/srv/a.iso', disk_type: 'paravirtual', kvm_extra: `-device virtio-rng-pci,id=${taken},bus=pci.0,addr=0x7` }
  const inst = right(decodeInstance({ name: 'vm5', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e15', memory: 128, hvparams: params }))
  const rt = right(toRuntime(inst, right(planDevices(inst, { qemu: '7.2' })), { qmpSocket: '/tmp/vm5.qmp' }))
  assert.ok(rt.stamp?.devices !== undefined, 'recorded with typed devices')
  const dup = planHotAdd(rt, { disk: disk(7) })
  assert.ok(E.isLeft(dup) && dup.left._tag === 'DuplicateId' && dup.left.id === taken, JSON.stringify(dup))
  assert.ok(E.isRight(planHotAdd(rt, { disk: disk(8) })))
})

test.run()
