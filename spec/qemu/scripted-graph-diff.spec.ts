/**
 * The differential test of the graph plans: limits, resize, a snapshot of two disks, a mirror and
 * a clone run on a real QEMU and on the scripted executor seeded from the same runtime, with the
 * same faults. Outcomes, logs and the state afterwards must agree.
 */
import { planClone, planMirror, planResize, planSnapshot, planThrottle, type QmpPlan } from '../../lib/index.js'
import { makeImage, qemuSuite, tempDir, withQemu } from './harness.js'
import { right } from '../support/either.js'
import { diskId, started, uuidN } from './graph-support.js'
import { scriptedExecutor, stateOfRuntime } from '../../lib/testing/index.js'
import { qemuVersion } from './harness.js'
import { lost, pair, refused } from './scripted-pair.js'

const test = qemuSuite('the scripted executor agrees with QEMU on the graph plans')

const forward = (plan: QmpPlan): number => plan.steps.filter((s) => s._tag !== 'wait').length

test('limits, a resize, a snapshot transaction, a mirror and a clone: with a fault at every command, then done', async () => {
  const tmp = await tempDir()
  try {
    const a = await makeImage(tmp.path, 'a.qcow2', 'qcow2', 8)
    const b = await makeImage(tmp.path, 'b.raw', 'raw', 8)
    const { argv, runtime } = started(tmp.path, { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', disk_iops_total: 100 }, [
      { uuid: uuidN(1), path: a, format: 'qcow2' },
      { uuid: uuidN(2), path: b }
    ])
    const [d1, d2] = [diskId(1), diskId(2)]
    await withQemu(argv, async (vm) => {
      // The model is told the images' size, which query-jobs' progress shows.
      const { both } = pair(vm, scriptedExecutor(right(stateOfRuntime(runtime)), { qemu: qemuVersion, imageBytes: 8 * 1024 * 1024 }))
      const faults = async (what: string, plan: QmpPlan, lostToo = true): Promise<void> => {
        for (let k = 0; k < forward(plan); k++) {
          await both(`${what}, command ${k} refused`, plan, 'RolledBack', refused(k))
          if (lostToo) await both(`${what}, the reply to command ${k} lost`, plan, 'RolledBack', lost(k))
        }
      }
      const limits = right(planThrottle(runtime, d1, { 'iops-read': 10, 'iops-write': 20 }))
      await faults('planThrottle', limits)
      let rt = (await both('planThrottle', limits, 'Done')).runtime
      const resize = right(planResize(rt, d2, 16 * 1024 * 1024))
      await both('planResize refused', resize, 'RolledBack', refused(0))
      rt = (await both('planResize', resize, 'Done')).runtime
      const snap = right(planSnapshot(rt, [{ id: d1, path: await makeImage(tmp.path, 's1.qcow2', 'qcow2', 8) }, { id: d2, path: await makeImage(tmp.path, 's2.qcow2', 'qcow2', 16) }]))
      await faults('planSnapshot', snap)
      rt = (await both('planSnapshot', snap, 'Done')).runtime
      const mirror = right(planMirror(rt, { id: d1, path: await makeImage(tmp.path, 'm.raw', 'raw', 8) }, { jobTimeoutMs: 30_000 }))
      await faults('planMirror', mirror)
      rt = (await both('planMirror', mirror, 'Done')).runtime
      const clone = right(planClone(rt, { id: d2, path: await makeImage(tmp.path, 'c.qcow2', 'qcow2', 16), format: 'qcow2' }, { jobTimeoutMs: 30_000 }))
      const start = clone.steps.findIndex((st) => st._tag === 'command' && st.command.execute === 'blockdev-backup')
      for (let k = 0; k < forward(clone); k++) {
        await both(`planClone, command ${k} refused`, clone, 'RolledBack', refused(k))
        if (k !== start) await both(`planClone, the reply to command ${k} lost`, clone, 'RolledBack', lost(k))
      }
      // Not compared: a lost reply to blockdev-backup. A backup ends by itself, and QEMU's may end
      // before the rollback's cancel arrives (then "cannot accept command verb 'cancel'") or not,
      // by its own timing, which no model can know. spec/qemu/graph-jobs.spec.ts checks that case
      // against QEMU alone: it rolls back either way.
      await both('planClone', clone, 'Done')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
