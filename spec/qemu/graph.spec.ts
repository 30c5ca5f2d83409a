/**
 * The block graph against a real QEMU: every disk under its throttle filter, then limits, a
 * resize and a snapshot (two disks in one transaction) run as plans. After each, QEMU's graph —
 * its named nodes, their read-only flags, the edges between them and the node each device reads —
 * equals the one the runtime records; after a fault at any step it equals the one before.
 * Limits are read with `qom-get /objects/<group> limits` (query-block does not show them).
 */
import * as assert from 'uvu/assert'
import { planResize, planSnapshot, planThrottle, runtimeArgv, type Runtime } from '../../lib/index.js'
import { makeImage, qemuSuite, tempDir, withQemu, type Vm } from './harness.js'
import { right } from '../support/either.js'
import { toExecutor } from '../../examples/qmp-client.js'
import { diskId, done, faultEveryStep, forwardCommands, losingReplyAt, qemuGraph, recordedGraph, refusingAt, run, started, uuidN } from './graph-support.js'

const test = qemuSuite('block graph')

const limitsOf = async (vm: Vm, id: string): Promise<Record<string, number>> => (await vm.qmp.executeOk('qom-get', { path: `/objects/throttle-${id}`, property: 'limits' })) as Record<string, number>

const sizeOf = async (vm: Vm, node: string): Promise<number> => {
  const named = (await vm.qmp.executeOk('query-named-block-nodes', { flat: true })) as ReadonlyArray<{ 'node-name': string; image: { 'virtual-size': number } }>
  return named.find((n) => n['node-name'] === node)?.image['virtual-size'] ?? -1
}

const assertRecorded = async (vm: Vm, rt: Runtime, what: string): Promise<void> => assert.equal(await qemuGraph(vm), recordedGraph(rt), `${what}: QEMU's graph is the recorded one`)

test('limits at start, then planThrottle (total to read/write and back), planResize on the top, a snapshot of two disks: QEMU has the recorded graph after each, and after every fault the one before', async () => {
  const tmp = await tempDir()
  try {
    const a = await makeImage(tmp.path, 'a.qcow2', 'qcow2', 16)
    const b = await makeImage(tmp.path, 'b.raw', 'raw', 16)
    const { argv, runtime } = started(tmp.path, { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', disk_iops_total: 500, disk_iops_total_max: 1000, disk_iops_total_max_length: 3 }, [
      { uuid: uuidN(1), path: a, format: 'qcow2' },
      { uuid: uuidN(2), path: b }
    ])
    let final: Runtime | undefined
    await withQemu(argv, async (vm) => {
      const [d1, d2] = [diskId(1), diskId(2)]
      await assertRecorded(vm, runtime, 'at start')
      const start = await limitsOf(vm, d1)
      assert.equal([start['iops-total'], start['iops-total-max'], start['iops-total-max-length'], start['bps-read']], [500, 1000, 3, 0])

      // From a total to read/write: only a whole `limits` can move between them.
      const split = right(planThrottle(runtime, d1, { 'iops-read': 300, 'iops-write': 200, 'bps-total': 50_000_000 }))
      await faultEveryStep(vm, split)
      let rt = await done(vm, split)
      const now = await limitsOf(vm, d1)
      assert.equal([now['iops-total'], now['iops-total-max'], now['iops-total-max-length'], now['iops-read'], now['iops-write'], now['bps-total']], [0, 0, 1, 300, 200, 50_000_000])
      assert.equal((await limitsOf(vm, d2))['iops-total'], 500, 'the other disk keeps its own group')
      assert.equal(rt.disks[0]?.objects, [{ 'qom-type': 'throttle-group', id: `throttle-${d1}`, limits: { 'iops-read': 300, 'iops-write': 200, 'bps-total': 50_000_000 } }])

      // Grown on the filter, the size the guest sees.
      const resize = right(planResize(rt, d2, 32 * 1024 * 1024))
      // Refused: nothing changed. Its reply lost: the disk may have grown, and a resize has no
      // undo (shrinking back could cut off what the guest wrote), so the outcome says so.
      const refused = await run(resize, refusingAt(toExecutor(vm.qmp), 0))
      assert.is(refused._tag, 'RolledBack')
      assert.is(await sizeOf(vm, d2), 16 * 1024 * 1024)
      const unknown = await run(resize, losingReplyAt(toExecutor(vm.qmp), 0))
      assert.is(unknown._tag, 'RollbackIncomplete')
      if (unknown._tag === 'RollbackIncomplete') assert.equal(unknown.leftovers.map((l) => l.step), [0])
      assert.equal(unknown.runtime, rt, 'the record keeps what it knew')
      rt = await done(vm, resize)
      assert.is(await sizeOf(vm, d2), 32 * 1024 * 1024, 'the top node has the new size')
      assert.is(rt.disks[1]?.rest['size'], 32)

      const o1 = await makeImage(tmp.path, 'o1.qcow2', 'qcow2', 16)
      const o2 = await makeImage(tmp.path, 'o2.qcow2', 'qcow2', 32)
      const snap = right(planSnapshot(rt, [{ id: d1, path: o1 }, { id: d2, path: o2 }]))
      assert.equal(snap.steps[snap.steps.length - 1]?._tag === 'command' ? snap.steps[snap.steps.length - 1]?.description.startsWith('transaction') : false, true)
      await faultEveryStep(vm, snap)
      // A lost reply to the transaction itself: it took effect, so the rollback commits both
      // overlays back (nothing the guest wrote is lost) before their nodes go.
      const lost = await run(snap, losingReplyAt(toExecutor(vm.qmp), forwardCommands(snap) - 1))
      assert.is(lost._tag, 'RolledBack')
      assert.equal(lost.log.filter((l) => l.phase === 'undo' && l.command?.execute === 'block-commit').map((l) => l.result), ['ok', 'ok'])
      assert.equal(lost.log.filter((l) => l.phase === 'undo' && l.command?.execute === 'job-complete').map((l) => l.result), ['ok', 'ok'])
      rt = await done(vm, snap)
      await assertRecorded(vm, rt, 'after the snapshot')
      assert.ok(recordedGraph(rt).nodes.includes(`${d1}-a qcow2 ro`), 'the old layer is read-only under its overlay')
      assert.ok(recordedGraph(rt).edges.includes(`${d1} -file-> ${d1}-s1`) && recordedGraph(rt).edges.includes(`${d1}-s1 -backing-> ${d1}-a`))
      // A second snapshot of one disk takes the next name.
      const o3 = await makeImage(tmp.path, 'o3.qcow2', 'qcow2', 16)
      const again = right(planSnapshot(rt, [{ id: d1, path: o3 }]))
      await faultEveryStep(vm, again)
      rt = await done(vm, again)
      await assertRecorded(vm, rt, 'after the second snapshot')
      assert.ok(recordedGraph(rt).edges.includes(`${d1}-s2 -backing-> ${d1}-s1`))
      final = rt
    }, { dir: tmp.path })
    // Once that QEMU is gone (it held the images' locks): the runtime rebuilds this very graph
    // in a new one, as a restart or a migration target does.
    const rebuilt = final
    if (rebuilt === undefined) throw new Error('the plans did not finish')
    await withQemu(right(runtimeArgv(rebuilt)), async (vm) => assertRecorded(vm, rebuilt, 'rebuilt from the runtime'), { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
