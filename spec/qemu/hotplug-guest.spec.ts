/**
 * PCI hot-unplug against a real QEMU 7.2 with a guest that takes part. On a `pc` machine a
 * `device_del` of a PCI device only asks the guest (ACPI); the device goes when the guest ejects
 * its slot. The guest here is the boot sector of `eject-guest.ts`, booted by SeaBIOS from the
 * instance's own (virtio-blk) boot disk: it polls the PIIX4 hotplug "down" register and ejects
 * whatever is pending. So a removal with the guest running ends `Done` on the `DEVICE_DELETED`
 * of that id, and a removal made while the guest is still paused ends `Pending` — and the same
 * plan, run again once the guest has ejected the device, finishes it.
 *
 * Every VM is started with the rendered argv (the harness adds `-S`, so the guest runs only
 * after `cont`). The boot disk is not recorded in the runtime (`disks: []`); it is in `cmd`,
 * which is where the bus state takes its slot from.
 */
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import * as E from 'fp-ts/lib/Either.js'
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
  type Executor,
  type HotAddRequest,
  type QmpPlan,
  type RunOutcome,
  type Runtime
} from '../../lib/index.js'
import { bootGuest, ejectBootSector, EJECT_LOOP, writeEjectGuest } from './eject-guest.js'
import { makeImage, namedNodes, pciSlots, peripheral, qemuSuite, tempDir, withQemu, type Vm, qemuPath, qemuVersion } from './harness.js'
import { right, runtimeOf } from '../support/either.js'
import { hv } from '../support/placed.js'

const test = qemuSuite('hotplug-guest')

const INSTANCE_UUID = '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10'
const BOOT_UUID = 'b0000001-7a22-4067-a566-7e0ca8386133'



const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)


// ---------------------------------------------------------------------------------------------
// The instance: one virtio-blk boot disk holding the eject guest, nothing else.

interface Setup {
  readonly argv: ReadonlyArray<string>
  /** The runtime as recorded at start: `cmd` is the argv, no disks or NICs recorded. */
  readonly runtime: Runtime
  readonly dir: string
}

const setup = async (dir: string, nicType: 'paravirtual' | 'e1000' = 'paravirtual'): Promise<Setup> => {
  const image = await writeEjectGuest(join(dir, 'eject-guest.raw'))
  const hvparams: Runtime['hvparams'] = { kvm_path: qemuPath(), boot_order: 'disk', disk_type: 'paravirtual', nic_type: nicType }
  const inst = right(
    decodeInstance({ name: 'guest.example.com', uuid: INSTANCE_UUID, memory: 64, vcpus: 1, hvparams, disks: [{ uuid: BOOT_UUID, path: image }], nics: [] }),
    'decodeInstance'
  )
  const tree = right(planDevices(inst, { qemu: qemuVersion }), 'planDevices')
  const argv = renderArgv(tree, { qmpSocket: join(dir, 'instance.qmp'), accel: 'tcg' })
  return { argv, runtime: runtimeOf({ cmd: argv, nics: [], hvparams, disks: [], stamp: undefined }), dir }
}

const uuid = (n: number): string => `${(0xa0000000 + n).toString(16)}-1111-4222-8333-444455556666`

const diskRequest = async (dir: string, n: number): Promise<HotAddRequest> => {
  const path = await makeImage(dir, `hot${n}.raw`, 'raw')
  return { disk: right(decodeDisk({ uuid: uuid(n), path }), 'decodeDisk') }
}

const nicRequest = (n: number): HotAddRequest => ({
  nic: right(decodeNic({ uuid: uuid(n), mac: `aa:00:00:00:02:${n.toString(16).padStart(2, '0')}`, backend: { type: 'user' } }), 'decodeNic')
})

// ---------------------------------------------------------------------------------------------
// QEMU-side helpers.

const run = async (vm: Vm, plan: QmpPlan): Promise<RunOutcome> => {
  const r = await runPlan(plan, toExecutor(vm.qmp))()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

const describeOutcome = (o: RunOutcome): string => JSON.stringify({ tag: o._tag, log: o.log, ...(o._tag === 'RolledBack' || o._tag === 'RollbackIncomplete' ? { error: o.error } : {}) })

const expectDone = (o: RunOutcome, what: string): Runtime => {
  assert.is(o._tag, 'Done', `${what}: ${describeOutcome(o)}`)
  return o.runtime
}

const hotAdd = async (vm: Vm, rt: Runtime, request: HotAddRequest): Promise<Runtime> =>
  expectDone(await run(vm, right(planHotAdd(rt, request), 'planHotAdd')), 'hot-add')

/** The PCI slot an hvinfo's `addr` names ("0x11" → 17). */
const slotOf = (rt: Runtime, id: string): number => {
  const h = [...rt.disks.map((d) => hv(d)), ...rt.nics.map((n) => hv(n))].find((x) => x?.id === id)
  if (h === undefined || !('addr' in h)) throw new Error(`${id} has no PCI placement in the runtime`)
  return Number.parseInt(h.addr, 16)
}

const nodeNamesOf = (rt: Runtime, id: string): ReadonlyArray<string> =>
  rt.disks.filter((d) => hv(d)?.id === id).flatMap((d) => (d.blockdev ?? []).map((n) => n['node-name']))

/** What QEMU reports about one device and its backends. */
const presence = async (vm: Vm, id: string, slot: number, nodes: ReadonlyArray<string>) => {
  const names = new Set((await namedNodes(vm)).map((n) => n.node_name))
  return {
    peripheral: (await peripheral(vm)).has(id),
    pci: (await pciSlots(vm)).some((s) => s.slot === slot && s.qdev_id === id),
    nodes: nodes.filter((n) => names.has(n))
  }
}

/** Resolves once QEMU has reported `DEVICE_DELETED` for `id` (already or later); rejects after `ms`. */
const deviceDeleted = (vm: Vm, id: string, ms: number): Promise<void> => {
  const matches = (e: { readonly event: string; readonly data: unknown }): boolean =>
    e.event === 'DEVICE_DELETED' && isRecord(e.data) && e.data['device'] === id
  if (vm.qmp.events().some(matches)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no DEVICE_DELETED for ${id} within ${ms} ms`))
    }, ms)
    const off = vm.qmp.onEvent((e) => {
      if (!matches(e)) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

const withGuestVm = async <T>(fn: (vm: Vm, s: Setup) => Promise<T>, nicType: 'paravirtual' | 'e1000' = 'paravirtual'): Promise<T> => {
  const tmp = await tempDir()
  try {
    const s = await setup(tmp.path, nicType)
    return await withQemu(s.argv, (vm) => fn(vm, s), { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
}

// ---------------------------------------------------------------------------------------------

test('the eject guest is one MBR: the loop, zeros, 0x55 0xAA', () => {
  const mbr = ejectBootSector()
  assert.is(mbr.length, 512)
  assert.equal([...mbr.subarray(0, EJECT_LOOP.length)], [...EJECT_LOOP])
  assert.ok(mbr.subarray(EJECT_LOOP.length, 510).every((b) => b === 0))
  assert.equal([mbr[510], mbr[511]], [0x55, 0xaa])
})

test('a virtio-blk disk removed with the guest running: Done on its DEVICE_DELETED, nothing left', async () => {
  await withGuestVm(async (vm, s) => {
    await bootGuest(vm)
    const rt = await hotAdd(vm, s.runtime, await diskRequest(s.dir, 1))
    const id = hv(rt.disks[0])?.id ?? ''
    const slot = slotOf(rt, id)
    const nodes = nodeNamesOf(rt, id)
    assert.is(nodes.length, 2, 'a raw disk has a format and a protocol node')
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: true, pci: true, nodes }, 'after the hot-add')

    const plan = right(planHotRemove(rt, id), 'planHotRemove')
    const outcome = await run(vm, plan)
    expectDone(outcome, 'removal with the guest running')
    assert.ok(outcome.log.some((l) => l.phase === 'wait' && l.result === 'event'), 'it finished on the DEVICE_DELETED of that id')
    assert.ok(vm.qmp.events().some((e) => e.event === 'DEVICE_DELETED' && isRecord(e.data) && e.data['device'] === id))
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: false, pci: false, nodes: [] }, 'after the removal')
    assert.equal(outcome.runtime, plan.after)
    assert.is(outcome.runtime.disks.length, 0)
    // The boot disk (the guest itself) is untouched.
    assert.equal((await peripheral(vm)).has(`disk-${BOOT_UUID.split('-').slice(0, 3).join('-')}`), true)
  })
})

test('removed while the guest is paused: Pending, nothing torn down; the same plan finishes it after the eject', async () => {
  await withGuestVm(async (vm, s) => {
    // Paused with -S: SeaBIOS has not run, so nobody acknowledges the removal yet.
    const rt = await hotAdd(vm, s.runtime, await diskRequest(s.dir, 2))
    const id = hv(rt.disks[0])?.id ?? ''
    const slot = slotOf(rt, id)
    const nodes = nodeNamesOf(rt, id)
    const plan = right(planHotRemove(rt, id, { unplugTimeoutMs: 300 }), 'planHotRemove')

    const first = await run(vm, plan)
    assert.is(first._tag, 'Pending', describeOutcome(first))
    if (first._tag !== 'Pending') return
    assert.is(first.deviceId, id)
    assert.is(first.runtime, rt, 'the runtime is unchanged')
    assert.ok(first.log.every((l) => l.command?.execute !== 'blockdev-del'), 'no blockdev-del was sent')
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: true, pci: true, nodes }, 'everything behind the device is still there')

    // The guest boots and ejects the slot that has been pending all along.
    await bootGuest(vm)
    await deviceDeleted(vm, id, 10_000)
    assert.is((await peripheral(vm)).has(id), false)
    assert.equal((await presence(vm, id, slot, nodes)).nodes, nodes, 'the nodes wait for the plan')

    const second = await run(vm, plan)
    expectDone(second, 'the same plan, run again')
    assert.ok(second.log.some((l) => l.command?.execute === 'device_del' && l.result === 'already-done'), 'device_del found the device gone')
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: false, pci: false, nodes: [] })
    assert.equal(second.runtime, plan.after)
    assert.ok(second.runtime.disks.every((d) => hv(d)?.id !== id), 'runtime.after lacks the disk')
  })
})

test('the transport fails while the removal waits for DEVICE_DELETED: the rollback re-adds the disk only once QEMU has let it go', async () => {
  await withGuestVm(async (vm, s) => {
    await bootGuest(vm)
    // The runtime's first disk is its boot disk (this setup records none): remove the second,
    // which the re-add must re-create as it was, without a boot index.
    const rt = await hotAdd(vm, await hotAdd(vm, s.runtime, await diskRequest(s.dir, 3)), await diskRequest(s.dir, 4))
    const id = hv(rt.disks[1])?.id ?? ''
    const slot = slotOf(rt, id)
    const nodes = nodeNamesOf(rt, id)
    const plan = right(planHotRemove(rt, id, { unplugTimeoutMs: 5000 }), 'planHotRemove')
    // The connection drops while the runner waits for the guest; the guest ejects all the same.
    const inner = toExecutor(vm.qmp)
    let dropped = false
    let listed = true
    const sent: string[] = []
    const flaky: Executor = {
      send: (c, fd) => async () => {
        sent.push(`${c.execute}${c.execute === 'qom-list' ? '' : ` ${JSON.stringify(c.arguments ?? {})}`}`)
        const reply = await inner.send(c, fd)()
        if (c.execute === 'qom-list') listed = E.isRight(reply) && JSON.stringify(reply.right).includes(`"${id}"`)
        return reply
      },
      waitEvent: (p, ms) => {
        if (dropped) return inner.waitEvent(p, ms)
        dropped = true
        return async () => E.left({ _tag: 'TransportError', message: 'connection reset while waiting' })
      }
    }
    const r = await runPlan(plan, flaky)()
    if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
    const o = r.right
    assert.is(o._tag, 'RolledBack', `${describeOutcome(o)} sent: ${JSON.stringify(sent)}`)
    assert.is(o.runtime, rt, 'the record keeps the disk')
    // The re-add came after QEMU was asked, and after the device had gone.
    const readd = sent.findIndex((c) => c.startsWith('device_add'))
    const asked = sent.indexOf('qom-list')
    assert.ok(asked > 0 && readd > asked, `device_add only after qom-list: ${JSON.stringify(sent)}`)
    // Gone by then (qom-list no longer lists it), or the runner waited for its DEVICE_DELETED:
    // which of the two depends on how fast the guest ejects.
    assert.ok(!listed || o.log.some((l) => l.phase === 'wait' && l.result === 'event'), 'QEMU confirmed the disk gone before it was re-created')
    // QEMU holds the disk again, where the record says, with its nodes; it stays there.
    await new Promise((res) => setTimeout(res, 300))
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: true, pci: true, nodes }, 'the disk is back in QEMU')
    // And the same removal, over a sound connection, finishes.
    expectDone(await run(vm, plan), 'the removal, run again')
    assert.equal(await presence(vm, id, slot, nodes), { peripheral: false, pci: false, nodes: [] })
  })
})

for (const nicType of ['paravirtual', 'e1000'] as const) {
  test(`a ${nicType} NIC with a user netdev removed with the guest running: Done, and its netdev is gone`, async () => {
    await withGuestVm(async (vm, s) => {
      await bootGuest(vm)
      const rt = await hotAdd(vm, s.runtime, nicRequest(1))
      const nic = rt.nics[0]
      const id = hv(nic)?.id ?? ''
      assert.is(hv(nic)?.driver, nicType === 'paravirtual' ? 'virtio-net-pci' : 'e1000')
      const slot = slotOf(rt, id)
      assert.equal(await presence(vm, id, slot, []), { peripheral: true, pci: true, nodes: [] })
      // While the NIC is there its netdev holds the id.
      const taken = await vm.qmp.execute('netdev_add', { type: 'user', id })
      assert.is(taken._tag, 'Error', 'the netdev exists before the removal')

      const plan = right(planHotRemove(rt, id), 'planHotRemove')
      const outcome = await run(vm, plan)
      expectDone(outcome, 'NIC removal with the guest running')
      assert.ok(outcome.log.some((l) => l.phase === 'wait' && l.result === 'event'))
      assert.ok(outcome.log.some((l) => l.command?.execute === 'netdev_del' && l.result === 'ok'), 'netdev_del ran')
      assert.equal(await presence(vm, id, slot, []), { peripheral: false, pci: false, nodes: [] })
      assert.equal(outcome.runtime.nics, [])

      // The netdev id is free again: a new one can take it.
      await vm.qmp.executeOk('netdev_add', { type: 'user', id })
      await vm.qmp.executeOk('netdev_del', { id })
    }, nicType)
  })
}

test.run()
