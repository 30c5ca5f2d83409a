/**
 * The differential test of `qemu-devplan/testing`: the same plans run on the scripted executor
 * (seeded from the instance's runtime) and on a real QEMU started from that runtime. Each run
 * must end with the same outcome, the same log entry for entry (results, errors, leftovers), and
 * leave both with the same devices (`qom-list /machine/peripheral`), block nodes
 * (`query-named-block-nodes`), block backends and trays (`query-block`) and netdevs (HMP
 * `info network` on QEMU, the model's state on the other side).
 */
import * as assert from 'uvu/assert'
import { decodeDisk, decodeInstance, decodeNic, planChangeMedium, planDevices, planHotAdd, planHotRemove, renderArgv, stepCommand } from '../../lib/index.js'
import { scriptedExecutor, stateOfRuntime } from '../../lib/testing/index.js'
import { right, runtimeOf } from '../support/either.js'
import { hv } from '../support/placed.js'
import { bootGuest, writeEjectGuest } from './eject-guest.js'
import { makeImage, qemuPath, qemuSuite, qemuVersion, tempDir, withQemu } from './harness.js'
import { lost, outcome, pair, refused, scripted, start } from './scripted-pair.js'

const test = qemuSuite('the scripted executor agrees with QEMU')

const uuid = (n: number): string => `${(0xc0000000 + n).toString(16)}-7a22-4067-a566-7e0ca8386133`
const TIMEOUT = { unplugTimeoutMs: 300 }


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
