/**
 * Hotplug against a real QEMU 7.2: plans run through the Unix-socket executor of examples/, then
 * QEMU's own view (query-pci, query-block, qom-get, query-named-block-nodes, qom-list) must equal
 * the runtime the plan produced. Fault injection: for every plan and every command k, an executor
 * that fails command k must leave QEMU and the runtime exactly as they were.
 */
import { losingReplyAt, refusingAt } from './faults.js'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  planDevices,
  planHotAdd,
  planHotRemove,
  renderArgv,
  runPlan,
  runtimeArgv,
  toRuntime,
  type Executor,
  type QmpPlan,
  type RunOutcome,
  type Runtime
} from '../../lib/index.js'
import { makeImage, namedNodes, peripheral, pciSlots, qemuSuite, qomGet, tempDir, withQemu, type Vm, qemuPath, qemuVersion } from './harness.js'
import { right, runtimeOf } from '../support/either.js'
import { hv } from '../support/placed.js'

const test = qemuSuite('hotplug against QEMU')



/** An instance started with only a CD-ROM (so it has something to boot); disks and NICs come by hotplug. */
const startRuntime = async (dir: string, hvparams: Record<string, unknown>): Promise<{ argv: ReadonlyArray<string>; runtime: Runtime }> => {
  const iso = await makeImage(dir, 'boot.iso', 'raw')
  const hv = { kvm_path: qemuPath(), boot_order: 'cdrom', cdrom_image_path: iso, cdrom_disk_type: 'ide', ...hvparams }
  const inst = right(decodeInstance({ name: 'hot1', uuid: '0b8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', memory: 64, hvparams: hv }))
  const tree = right(planDevices(inst, { qemu: qemuVersion }))
  const argv = renderArgv(tree, { qmpSocket: `${dir}/qmp.sock`, accel: 'tcg' })
  return { argv, runtime: runtimeOf({ cmd: argv, nics: [], hvparams: hv as Runtime['hvparams'], disks: [], stamp: undefined }) }
}

const uuid = (n: number): string => `${(0xa0000000 + n).toString(16)}-7a22-4067-a566-7e0ca8386133`

const run = async (plan: QmpPlan, executor: Executor): Promise<RunOutcome> => {
  const r = await runPlan(plan, executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

const done = async (plan: QmpPlan, vm: Vm): Promise<Runtime> => {
  const o = await run(plan, toExecutor(vm.qmp))
  assert.is(o._tag, 'Done', `${plan.title}: ${JSON.stringify(o)}`)
  return o.runtime
}

/** QEMU's state, as compared before and after a failed plan. */
const snapshot = async (vm: Vm) => ({
  nodes: (await namedNodes(vm)).map((n) => n.node_name).sort(),
  pci: (await pciSlots(vm)).map((p) => `${p.slot}.${p.function}:${p.qdev_id}`).sort(),
  peripheral: [...(await peripheral(vm)).entries()].map(([id, type]) => `${id}:${type}`).sort()
})

/** Every recorded disk and NIC is in QEMU exactly where the runtime says, and nothing else is. */
const assertQemuEqualsRuntime = async (vm: Vm, rt: Runtime, baseline: Awaited<ReturnType<typeof snapshot>>): Promise<void> => {
  const per = await peripheral(vm)
  const pci = await pciSlots(vm)
  const blocks = (await vm.qmp.executeOk('query-block')) as ReadonlyArray<{ qdev?: string; inserted?: { 'node-name': string } }>
  const devices = [...rt.disks, ...rt.nics]
  for (const d of devices) {
    const h = hv(d)
    assert.ok(h !== undefined)
    if (h === undefined) continue
    assert.ok(per.has(h.id), `${h.id} missing from qom-list /machine/peripheral`)
    if ('addr' in h) {
      const slot = parseInt(h.addr, 16)
      assert.ok(pci.some((p) => p.slot === slot && p.function === 0 && p.qdev_id === h.id), `${h.id} not at ${h.addr} in query-pci`)
      assert.is(await qomGet(vm, `/machine/peripheral/${h.id}`, 'addr'), slot * 8)
    }
    if ('scsi-id' in h) {
      assert.is(await qomGet(vm, `/machine/peripheral/${h.id}`, 'scsi-id'), h['scsi-id'])
      assert.is(await qomGet(vm, `/machine/peripheral/${h.id}`, 'lun'), h.lun)
      assert.is(await qomGet(vm, `/machine/peripheral/${h.id}`, 'channel'), h.channel)
    }
  }
  for (const d of rt.disks) {
    const id = hv(d)?.id ?? ''
    const qdev = hv(d)?.driver === 'virtio-blk-pci' ? `/machine/peripheral/${id}/virtio-backend` : id
    const top = d.blockdev?.[d.blockdev.length - 1]?.['node-name']
    const entry = blocks.find((b) => b.qdev === qdev)
    assert.ok(entry !== undefined, `query-block has no entry with qdev ${qdev}`)
    assert.is(entry?.inserted?.['node-name'], top)
  }
  const recordedNodes = rt.disks.flatMap((d) => (d.blockdev ?? []).map((n) => n['node-name']))
  assert.equal((await namedNodes(vm)).map((n) => n.node_name).sort(), [...baseline.nodes, ...recordedNodes].sort())
  assert.equal([...per.keys()].sort(), [...baseline.peripheral.map((p) => p.split(':')[0] ?? ''), ...devices.map((d) => hv(d)?.id ?? '')].sort())
}

const countCommands = (plan: QmpPlan): number => plan.steps.length

/**
 * For every k: fail command k — refused by QEMU, or run by QEMU with its reply lost — then
 * QEMU and the runtime must be what they were.
 */
const faultInject = async (vm: Vm, plan: QmpPlan, lostReplies = true): Promise<void> => {
  for (let k = 0; k < countCommands(plan); k++) {
    for (const fault of lostReplies ? [refusingAt, losingReplyAt] : [refusingAt]) {
      await faultOnce(vm, plan, k, fault)
    }
  }
}

const faultOnce = async (vm: Vm, plan: QmpPlan, k: number, fault: (x: Executor, k: number) => Executor): Promise<void> => {
  {
    const before = await snapshot(vm)
    const o = await run(plan, fault(toExecutor(vm.qmp), k))
    assert.is(o._tag, 'RolledBack', `${plan.title}, ${fault.name} ${k}: ${JSON.stringify(o._tag === 'RollbackIncomplete' ? o.leftovers : o._tag)}`)
    assert.equal(o.runtime, plan.before, `${plan.title}, failing command ${k}: runtime changed`)
    assert.equal(await snapshot(vm), before, `${plan.title}, failing command ${k}: QEMU changed`)
  }
}

for (const controller of ['lsi', 'megasas', 'virtio-scsi-pci'] as const) {
  test(`scsi-hd on ${controller}: hot-add equals the runtime, every failure rolls back, removal completes on DEVICE_DELETED`, async () => {
    const tmp = await tempDir()
    try {
      const { argv, runtime } = await startRuntime(tmp.path, { disk_type: 'scsi-hd', scsi_controller_type: controller })
      await withQemu(argv, async (vm) => {
        const baseline = await snapshot(vm)
        let rt = runtime
        for (const n of [1, 2]) {
          const img = await makeImage(tmp.path, `d${n}.qcow2`, 'qcow2')
          const plan = right(planHotAdd(rt, { disk: right(decodeDisk({ uuid: uuid(n), path: img, format: 'qcow2' })) }))
          await faultInject(vm, plan)
          rt = await done(plan, vm)
        }
        await assertQemuEqualsRuntime(vm, rt, baseline)
        const first = hv(rt.disks[0])?.id ?? ''
        const removal = right(planHotRemove(rt, first, { unplugTimeoutMs: 5000 }))
        await faultInject(vm, removal)
        const o = await run(removal, toExecutor(vm.qmp))
        assert.is(o._tag, 'Done')
        assert.ok(o.log.some((l) => l.phase === 'wait' && l.result === 'event'), 'removal must end on the DEVICE_DELETED event')
        rt = o.runtime
        await assertQemuEqualsRuntime(vm, rt, baseline)
        // The freed target is reused by the next disk, nothing else is.
        const img = await makeImage(tmp.path, 'd3.raw', 'raw')
        rt = await done(right(planHotAdd(rt, { disk: right(decodeDisk({ uuid: uuid(3), path: img })) })), vm)
        assert.equal(rt.disks.map((d) => (hv(d)?.['scsi-id'] ?? -1)), [1, 0])
        await assertQemuEqualsRuntime(vm, rt, baseline)
      }, { dir: tmp.path })
    } finally {
      await tmp.cleanup()
    }
  })
}

test('virtio-blk disk: hot-add equals the runtime; removal without a guest ends Pending and leaks nothing', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await startRuntime(tmp.path, { disk_type: 'paravirtual', disk_cache: 'none', disk_aio: 'native' })
    await withQemu(argv, async (vm) => {
      const baseline = await snapshot(vm)
      const img = await makeImage(tmp.path, 'v1.raw', 'raw')
      const plan = right(planHotAdd(runtime, { disk: right(decodeDisk({ uuid: uuid(1), path: img })) }, { unplugTimeoutMs: 300 }))
      // Lost replies are injected for every step but the device_add: taking that back is a PCI
      // unplug, which no guest acknowledges here (checked below).
      await faultInject(vm, plan, false)
      for (let k = 0; k < plan.steps.length - 1; k++) await faultOnce(vm, plan, k, losingReplyAt)
      const rt = await done(plan, vm)
      await assertQemuEqualsRuntime(vm, rt, baseline)
      const id = hv(rt.disks[0])?.id ?? ''
      const removal = right(planHotRemove(rt, id, { unplugTimeoutMs: 300 }))
      const o = await run(removal, toExecutor(vm.qmp))
      assert.is(o._tag, 'Pending')
      assert.equal(o.runtime, rt)
      // Nothing behind the device was torn down: QEMU still equals the unchanged runtime.
      await assertQemuEqualsRuntime(vm, rt, baseline)
      // Running the plan again while the guest still holds it: still pending, no error.
      const again = await run(removal, toExecutor(vm.qmp))
      assert.is(again._tag, 'Pending')
      // A hot-add meanwhile must not take the pending device's slot.
      const img2 = await makeImage(tmp.path, 'v2.raw', 'raw')
      const next = await done(right(planHotAdd(rt, { disk: right(decodeDisk({ uuid: uuid(2), path: img2 })) })), vm)
      assert.equal(next.disks.map((d) => (hv(d)?.addr ?? '')), ['0x10', '0x11'])
      await assertQemuEqualsRuntime(vm, next, baseline)
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

for (const nicType of ['paravirtual', 'e1000', 'rtl8139'] as const) {
  test(`NIC ${nicType} with a user backend: hot-add equals the runtime, every failure rolls back`, async () => {
    const tmp = await tempDir()
    try {
      const { argv, runtime } = await startRuntime(tmp.path, { nic_type: nicType })
      await withQemu(argv, async (vm) => {
        const baseline = await snapshot(vm)
        const plan = right(planHotAdd(runtime, { nic: right(decodeNic({ uuid: uuid(7), mac: 'aa:00:00:11:22:33', backend: { type: 'user' } })) }))
        await faultInject(vm, plan, false)
        for (let k = 0; k < plan.steps.length - 1; k++) await faultOnce(vm, plan, k, losingReplyAt)
        const rt = await done(plan, vm)
        await assertQemuEqualsRuntime(vm, rt, baseline)
        assert.is(await qomGet(vm, `/machine/peripheral/${hv(rt.nics[0])?.id ?? ''}`, 'mac'), 'aa:00:00:11:22:33')
        // The netdev exists under the NIC's id: a second netdev with that id is refused by QEMU.
        const dup = await vm.qmp.execute('netdev_add', { type: 'user', id: hv(rt.nics[0])?.id ?? '' })
        assert.is(dup._tag, 'Error')
      }, { dir: tmp.path })
    } finally {
      await tmp.cleanup()
    }
  })
}

test('a tap NIC by fd is refused cleanly by a transport that cannot pass fds, and QEMU is unchanged', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await startRuntime(tmp.path, {})
    await withQemu(argv, async (vm) => {
      const before = await snapshot(vm)
      const plan = right(planHotAdd(runtime, { nic: right(decodeNic({ uuid: uuid(8), mac: 'aa:00:00:11:22:34', backend: { type: 'tap', fds: [3] } })) }))
      const o = await run(plan, toExecutor(vm.qmp))
      assert.is(o._tag, 'RolledBack')
      if (o._tag === 'RolledBack') assert.is(o.error._tag, 'TransportError')
      assert.equal(await snapshot(vm), before)
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

/** The whole tree as QEMU reports it, SCSI targets included, for comparing two QEMUs. */
const tree = async (vm: Vm) => {
  const s = await snapshot(vm)
  const scsi: string[] = []
  for (const id of (await peripheral(vm)).keys()) {
    const r = await vm.qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property: 'scsi-id' })
    if (r._tag === 'Return') scsi.push(`${id}:${String(r.value)}`)
  }
  return { ...s, scsi: scsi.sort() }
}

test('after add/remove cycles the argv rebuilt from the runtime starts a QEMU with the same tree; nothing leaks', async () => {
  const tmp = await tempDir()
  try {
    const iso = await makeImage(tmp.path, 'boot.iso', 'raw')
    const d0 = await makeImage(tmp.path, 'd0.qcow2', 'qcow2')
    const params = { kvm_path: qemuPath(), boot_order: 'disk', cdrom_image_path: iso, cdrom_disk_type: 'scsi-cd', disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci' }
    const inst = right(decodeInstance({
      name: 'cycle1', uuid: '4b8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', memory: 64, hvparams: params,
      disks: [{ uuid: uuid(100), path: d0, format: 'qcow2' }],
      nics: [{ uuid: uuid(101), mac: 'aa:00:00:00:01:01', backend: { type: 'user' } }]
    }))
    const planned = right(planDevices(inst, { qemu: qemuVersion }))
    const render = { qmpSocket: `${tmp.path}/qmp.sock`, accel: 'tcg' } as const
    const argv = renderArgv(planned, render)
    let rt = right(toRuntime(inst, planned, render))
    assert.equal(right(runtimeArgv(rt)), argv, 'a fresh runtime rebuilds the start argv byte for byte')
    let live: Awaited<ReturnType<typeof tree>> | undefined
    await withQemu(argv, async (vm) => {
      const start = await snapshot(vm)
      // Five cycles: add two disks, remove the older one; targets are reused, nodes are not leaked.
      for (let c = 0; c < 5; c++) {
        for (const n of [2 * c, 2 * c + 1]) {
          // The lowest target free in QEMU right now (read from QEMU, not from the plan).
          const used = new Set((await tree(vm)).scsi.map((e) => Number(e.split(':')[1])))
          const expected = [...Array(256).keys()].find((t) => !used.has(t))
          const img = await makeImage(tmp.path, `c${n}.raw`, 'raw')
          rt = await done(right(planHotAdd(rt, { disk: right(decodeDisk({ uuid: uuid(200 + n), path: img })) })), vm)
          const h = hv(rt.disks[rt.disks.length - 1])
          assert.is(h !== undefined && 'scsi-id' in h ? h['scsi-id'] : -1, expected, `cycle ${c}: the new disk takes the lowest free target`)
        }
        const older = hv(rt.disks[1])?.id ?? ''
        const o = await run(right(planHotRemove(rt, older)), toExecutor(vm.qmp))
        assert.is(o._tag, 'Done', `cycle ${c}: ${o._tag}`)
        rt = o.runtime
      }
      rt = await done(right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(300), mac: 'aa:00:00:00:03:00', backend: { type: 'user' } })) })), vm)
      assert.is(rt.disks.length, 1 + 5)
      const targets = rt.disks.map((d) => (hv(d)?.['scsi-id'] ?? -1))
      assert.is(new Set(targets).size, targets.length, `targets are distinct: ${JSON.stringify(targets)}`)
      const nodes = (await namedNodes(vm)).map((n) => n.node_name)
      const recorded = rt.disks.flatMap((d) => (d.blockdev ?? []).map((b) => b['node-name']))
      assert.equal(nodes.filter((n) => n.startsWith('disk-')).sort(), recorded.sort(), 'no block node leaked')
      assert.ok(start.nodes.every((n) => nodes.includes(n)))
      live = await tree(vm)
    }, { dir: tmp.path })
    const rebuilt = right(runtimeArgv(rt))
    await withQemu(rebuilt, async (vm) => {
      assert.equal(await tree(vm), live, 'QEMU started from runtimeArgv(runtime) has the hot-plugged tree')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('a lost reply to a PCI device_add: the rollback unplugs it and, with no guest to ack, says the unplug is pending', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await startRuntime(tmp.path, { disk_type: 'paravirtual' })
    await withQemu(argv, async (vm) => {
      const img = await makeImage(tmp.path, 'p1.raw', 'raw')
      const plan = right(planHotAdd(runtime, { disk: right(decodeDisk({ uuid: uuid(1), path: img })) }, { unplugTimeoutMs: 200 }))
      const last = plan.steps.length - 1
      const o = await run(plan, losingReplyAt(toExecutor(vm.qmp), last))
      assert.is(o._tag, 'RollbackIncomplete')
      if (o._tag !== 'RollbackIncomplete') return
      assert.equal(o.runtime, runtime)
      const id = hv(plan.after.disks[0])?.id ?? ''
      // The device waits for a guest, so its nodes stay in use: every step is left over, newest first.
      assert.equal(o.leftovers.map((l) => l.step), [2, 1, 0])
      assert.match(o.leftovers[0]?.description ?? '', 'pending')
      assert.match(o.leftovers[1]?.error?._tag === 'QmpError' ? o.leftovers[1].error.desc : '', 'in use')
      // Exactly what the leftovers say is in QEMU: the device and both of its nodes.
      assert.ok((await peripheral(vm)).has(id))
      const planned = plan.after.disks[0]?.blockdev?.map((n) => n['node-name']) ?? []
      assert.equal((await namedNodes(vm)).map((n) => n.node_name).filter((n) => planned.includes(n)).sort(), [...planned].sort())
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
