/**
 * The differential test of `qemu-devplan/testing`: the same plans run on the scripted executor
 * (seeded from the instance's runtime) and on a real QEMU started from that runtime. Each run
 * must end with the same outcome, the same log entry for entry (results, errors, leftovers), and
 * leave both with the same devices (`qom-list /machine/peripheral`), block nodes
 * (`query-named-block-nodes`), block backends and trays (`query-block`) and netdevs (HMP
 * `info network` on QEMU, the model's state on the other side).
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  planChangeMedium,
  planDevices,
  planHotAdd,
  planHotRemove,
  renderArgv,
  runPlan,
  stepCommand,
  toRuntime,
  type Executor,
  type QmpPlan,
  type QmpReply,
  type RunOutcome,
  type Runtime
} from '../../lib/index.js'
import { scriptedExecutor, stateOfRuntime, type Fault, type ScriptedExecutor } from '../../lib/testing/index.js'
import { right, runtimeOf } from '../support/either.js'
import { hv } from '../support/placed.js'
import { bootGuest, writeEjectGuest } from './eject-guest.js'
import { makeImage, qemuPath, qemuSuite, qemuVersion, tempDir, withQemu, type Vm } from './harness.js'

const test = qemuSuite('the scripted executor agrees with QEMU')

const uuid = (n: number): string => `${(0xc0000000 + n).toString(16)}-7a22-4067-a566-7e0ca8386133`
const TIMEOUT = { unplugTimeoutMs: 300 }

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)
const value = (r: QmpReply, what: string): unknown => {
  if (r._tag === 'Error') throw new Error(`${what}: ${r.class}: ${r.desc}`)
  return r.value
}

/** What both sides are compared on after every plan. */
interface Observed {
  readonly devices: ReadonlyArray<string>
  readonly nodes: ReadonlyArray<string>
  readonly backends: ReadonlyArray<string>
  readonly netdevs: ReadonlyArray<string>
}

const observe = (ask: (execute: string, args?: Readonly<Record<string, unknown>>) => Promise<QmpReply>, netdevs: () => Promise<ReadonlyArray<string>>) => async (): Promise<Observed> => {
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
const realNetdevs = async (vm: Vm): Promise<ReadonlyArray<string>> => {
  const out = String(await vm.qmp.executeOk('human-monitor-command', { 'command-line': 'info network' }))
  return out.split(/\r?\n/).flatMap((line) => {
    const m = /^\s*(?:\\\s*)?([^:\s]+): index=\d+,type=([^,]+)/.exec(line)
    return m === null || m[2] === 'nic' ? [] : [m[1] ?? '']
  })
}

/** The same fault for both sides: an error reply instead of command k, or its reply lost after QEMU ran it. */
type Injected = { readonly k: number; readonly fault: Fault }

const wrapReal = (inner: Executor, f: Injected | undefined): Executor => {
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

const refused = (k: number): Injected => ({ k, fault: { _tag: 'QmpError', desc: `injected failure at command ${k}` } })
const lost = (k: number): Injected => ({ k, fault: { _tag: 'TransportError', delivered: true, message: `reply to command ${k} lost` } })

const outcome = async (plan: QmpPlan, x: Executor): Promise<RunOutcome> => {
  const r = await runPlan(plan, x)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

/** Everything of an outcome but the runtime (both come from the same plan). */
const shape = (o: RunOutcome) => ({
  tag: o._tag,
  log: o.log,
  ...(o._tag === 'RolledBack' || o._tag === 'RollbackIncomplete' ? { failedStep: o.failedStep, error: o.error } : {}),
  ...(o._tag === 'RollbackIncomplete' ? { leftovers: o.leftovers } : {}),
  ...(o._tag === 'Pending' ? { deviceId: o.deviceId } : {})
})

interface Pair {
  /** Runs `plan` on both, asserts they agree (and, when given, on the expected tag); QEMU's outcome. */
  readonly both: (what: string, plan: QmpPlan, expected: RunOutcome['_tag'], fault?: Injected) => Promise<RunOutcome>
  readonly sx: ScriptedExecutor
}

const pair = (vm: Vm, sx: ScriptedExecutor): Pair => {
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
const start = async (dir: string, name: string, params: Readonly<Record<string, unknown>>): Promise<{ readonly argv: ReadonlyArray<string>; readonly runtime: Runtime }> => {
  const iso = await makeImage(dir, `${name}.iso`, 'raw')
  const hvparams = { kvm_path: qemuPath(), boot_order: 'cdrom', cdrom_image_path: iso, ...params }
  const inst = right(decodeInstance({ name, uuid: '5c8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', memory: 64, hvparams }))
  const tree = right(planDevices(inst, { qemu: qemuVersion }))
  const render = { qmpSocket: `${dir}/qmp.sock`, accel: 'tcg' } as const
  return { argv: renderArgv(tree, render), runtime: right(toRuntime(inst, tree, render)) }
}

const scripted = (rt: Runtime): ScriptedExecutor => scriptedExecutor(right(stateOfRuntime(rt)), { qemu: qemuVersion })

test('scsi-hd disks, a NIC and the CD-ROM: adds, faults, stale plans, removals, media and re-runs agree', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await start(tmp.path, 'diff1', { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', cdrom_disk_type: 'scsi-cd', nic_type: 'paravirtual' })
    await withQemu(argv, async (vm) => {
      const { both } = pair(vm, scripted(runtime))
      const disk = async (n: number) => right(decodeDisk({ uuid: uuid(n), path: await makeImage(tmp.path, `d${n}.qcow2`, 'qcow2'), format: 'qcow2' }))
      const add1 = right(planHotAdd(runtime, { disk: await disk(1) }, TIMEOUT))
      let rt = (await both('hot-add scsi-hd', add1, 'Done')).runtime
      // Its throttle group exists (object-add already done), a node does not go twice; the undo's
      // object-del then meets the group the first disk's filter still names: left over, on both.
      await both('the same hot-add again (its nodes exist)', add1, 'RollbackIncomplete')
      rt = (await both('hot-add a virtio NIC', right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(50), mac: 'aa:00:00:00:50:01', backend: { type: 'user' } })) }, TIMEOUT)), 'Done')).runtime
      const beforeD2 = rt
      const add2 = right(planHotAdd(rt, { disk: await disk(2) }, TIMEOUT))
      for (let k = 0; k < add2.steps.length; k++) {
        await both(`hot-add a second disk, command ${k} refused`, add2, 'RolledBack', refused(k))
        await both(`hot-add a second disk, the reply to command ${k} lost`, add2, 'RolledBack', lost(k))
      }
      rt = (await both('hot-add the second disk', add2, 'Done')).runtime
      await both('a stale plan takes the second disk\'s SCSI target', right(planHotAdd(beforeD2, { disk: await disk(3) }, TIMEOUT)), 'RolledBack')
      const first = hv(rt.disks[0])?.id ?? ''
      const remove1 = right(planHotRemove(rt, first, TIMEOUT))
      await both('hot-remove of a SCSI disk, device_del refused', remove1, 'RolledBack', refused(0))
      rt = (await both('hot-remove of a SCSI disk (deleted at once)', remove1, 'Done')).runtime
      await both('the same hot-remove again (everything already gone)', remove1, 'Done')
      const second = await makeImage(tmp.path, 'second.iso', 'raw')
      const change = right(planChangeMedium(rt, 'cdrom1', second))
      await both('a medium change, the new node refused', change, 'RolledBack', refused(change.steps.findIndex((s) => stepCommand(s)?.execute === 'blockdev-add')))
      await both('a medium change, the close refused', change, 'RolledBack', refused(change.steps.length - 1))
      rt = (await both('a medium change', change, 'Done')).runtime
      const eject = right(planChangeMedium(rt, 'cdrom1', null))
      rt = (await both('an eject', eject, 'Done')).runtime
      // The eject again: the medium is gone, so its blockdev-del fails and the rollback cannot put it back.
      await both('the same eject again', eject, 'RollbackIncomplete')
      rt = (await both('a medium into the empty drive', right(planChangeMedium(rt, 'cdrom1', second)), 'Done')).runtime
      const nic = hv(rt.nics[0])?.id ?? ''
      const removeNic = right(planHotRemove(rt, nic, TIMEOUT))
      await both('hot-remove of a PCI NIC without a guest (pending)', removeNic, 'Pending')
      await both('the same NIC removal again (still pending)', removeNic, 'Pending')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('virtio-blk disks and NICs on pci.0: adds, pending removals, slot conflicts and a lost device_add agree', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await start(tmp.path, 'diff2', { disk_type: 'paravirtual', cdrom_disk_type: 'ide', nic_type: 'e1000' })
    await withQemu(argv, async (vm) => {
      const { both, sx } = pair(vm, scripted(runtime))
      const disk = async (n: number) => right(decodeDisk({ uuid: uuid(n), path: await makeImage(tmp.path, `v${n}.raw`, 'raw') }))
      const add1 = right(planHotAdd(runtime, { disk: await disk(1) }, TIMEOUT))
      for (let k = 0; k < add1.steps.length; k++) await both(`hot-add virtio-blk, command ${k} refused`, add1, 'RolledBack', refused(k))
      let rt = (await both('hot-add virtio-blk', add1, 'Done')).runtime
      await both('a stale plan for the same slot', right(planHotAdd(runtime, { disk: await disk(2) }, TIMEOUT)), 'RolledBack')
      const nicPlan = right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(60), mac: 'aa:00:00:00:60:01', backend: { type: 'user' } })) }, TIMEOUT))
      await both('hot-add an e1000, netdev_add refused', nicPlan, 'RolledBack', refused(0))
      rt = (await both('hot-add an e1000', nicPlan, 'Done')).runtime
      await both('the same NIC hot-add again (its netdev exists)', nicPlan, 'RolledBack')
      const id = hv(rt.disks[0])?.id ?? ''
      const removal = right(planHotRemove(rt, id, TIMEOUT))
      await both('hot-remove of virtio-blk without a guest (pending)', removal, 'Pending')
      await both('the same removal again (still pending)', removal, 'Pending')
      const nicRemoval = right(planHotRemove(rt, hv(rt.nics[0])?.id ?? '', TIMEOUT))
      await both('hot-remove of the e1000 (pending)', nicRemoval, 'Pending')
      // A lost reply to a PCI device_add: the rollback's device_del stays pending, so every step is left over.
      const add3 = right(planHotAdd(rt, { disk: await disk(3) }, TIMEOUT))
      const lostAdd = await both('hot-add virtio-blk, the reply to device_add lost', add3, 'RollbackIncomplete', lost(add3.steps.length - 1))
      assert.equal(lostAdd._tag === 'RollbackIncomplete' ? lostAdd.leftovers.map((l) => l.step) : [], add3.steps.map((_, i) => i).reverse())
      // Only the model has a guest to let go: released, its device is gone and a re-run finishes.
      assert.ok(sx.release(id))
      assert.not.ok(sx.state().devices.some((d) => d.id === id))
      const finished = await outcome(removal, sx.executor)
      assert.is(finished._tag, 'Done', JSON.stringify(finished.log))
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('q35: a disk and a NIC into spare root ports, their removal, a full set of ports, and the IDE CD-ROM agree', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await start(tmp.path, 'diff3', { machine_version: 'q35', kvm_pcie_spare_ports: 2, disk_type: 'paravirtual', cdrom_disk_type: 'ide', nic_type: 'paravirtual' })
    await withQemu(argv, async (vm) => {
      const { both } = pair(vm, scripted(runtime))
      const disk = async (n: number) => right(decodeDisk({ uuid: uuid(n), path: await makeImage(tmp.path, `q${n}.raw`, 'raw') }))
      const add = right(planHotAdd(runtime, { disk: await disk(1) }, TIMEOUT))
      await both('hot-add into a spare port, device_add refused', add, 'RolledBack', refused(add.steps.length - 1))
      let rt = (await both('hot-add virtio-blk into a spare port', add, 'Done')).runtime
      await both('a stale plan for the same port', right(planHotAdd(runtime, { disk: await disk(2) }, TIMEOUT)), 'RolledBack')
      rt = (await both('hot-add a NIC into the other spare port', right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(70), mac: 'aa:00:00:00:70:01', backend: { type: 'user' } })) }, TIMEOUT)), 'Done')).runtime
      await both('hot-remove of the disk behind its port (pending without a guest)', right(planHotRemove(rt, hv(rt.disks[0])?.id ?? '', TIMEOUT)), 'Pending')
      const second = await makeImage(tmp.path, 'q.iso', 'raw')
      rt = (await both('a medium change on ICH9 IDE', right(planChangeMedium(rt, 'cdrom1', second)), 'Done')).runtime
      await both('an eject on ICH9 IDE', right(planChangeMedium(rt, 'cdrom1', null)), 'Done')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('with a guest that ejects (eject-guest.ts) and its simulated counterpart: PCI removals end Done on both', async () => {
  const tmp = await tempDir()
  try {
    const boot = await writeEjectGuest(`${tmp.path}/eject-guest.raw`)
    const hvparams = { kvm_path: qemuPath(), boot_order: 'disk', disk_type: 'paravirtual', nic_type: 'paravirtual' }
    const inst = right(decodeInstance({ name: 'diff4', uuid: '5c8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5c', memory: 64, hvparams, disks: [{ uuid: uuid(900), path: boot }] }))
    const argv = renderArgv(right(planDevices(inst, { qemu: qemuVersion })), { qmpSocket: `${tmp.path}/qmp.sock`, accel: 'tcg' })
    // The boot disk is in cmd only, as a Ganeti runtime holds it.
    const runtime = runtimeOf({ cmd: argv, nics: [], hvparams, disks: [], stamp: undefined })
    await withQemu(argv, async (vm) => {
      const sx = scriptedExecutor(right(stateOfRuntime(runtime, { qemu: qemuVersion })), { qemu: qemuVersion, guestReleaseMs: 100 })
      await bootGuest(vm)
      sx.execute({ execute: 'cont' })
      const { both } = pair(vm, sx)
      const wait = { unplugTimeoutMs: 10_000 }
      const disk = right(decodeDisk({ uuid: uuid(901), path: await makeImage(tmp.path, 'g1.raw', 'raw') }))
      let rt = (await both('hot-add virtio-blk', right(planHotAdd(runtime, { disk }, wait)), 'Done')).runtime
      rt = (await both('hot-add a virtio NIC', right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(902), mac: 'aa:00:00:00:90:02', backend: { type: 'user' } })) }, wait)), 'Done')).runtime
      const lostAdd = right(planHotAdd(rt, { disk: right(decodeDisk({ uuid: uuid(903), path: await makeImage(tmp.path, 'g3.raw', 'raw') })) }, wait))
      await both('hot-add, the reply to device_add lost: the guest lets the rollback take it back', lostAdd, 'RolledBack', lost(lostAdd.steps.length - 1))
      const removal = right(planHotRemove(rt, disk.id, wait))
      rt = (await both('hot-remove of virtio-blk, the guest ejects it', removal, 'Done')).runtime
      await both('the same removal again', removal, 'Done')
      await both('hot-remove of the NIC, the guest ejects it', right(planHotRemove(rt, hv(rt.nics[0])?.id ?? '', wait)), 'Done')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
