/**
 * Block jobs against a real QEMU: a mirror moves a disk holding a few MiB of data onto a new
 * image and switches the device to it, a clone copies a running disk into a new image and
 * detaches it. QEMU's graph equals the recorded one after each; after a fault at any step,
 * and after a job that times out, it equals the one before. The copies are compared with
 * their source byte for byte once QEMU has let go of the images.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import { planClone, planMirror, planThrottle, type Runtime } from '../../lib/index.js'
import { makeImage, qemuSuite, tempDir, withQemu } from './harness.js'
import { right } from '../support/either.js'
import { diskId, done, faultEveryStep, qemuGraph, recordedGraph, run, started, uuidN } from './graph-support.js'

const test = qemuSuite('block jobs')
const sh = promisify(execFile)

const MIB = 1024 * 1024

/** A qcow2 image of 8 MiB whose first 4 MiB hold a pattern, the rest a second one. */
const dataImage = async (dir: string): Promise<string> => {
  const path = await makeImage(dir, 'src.qcow2', 'qcow2', 8)
  await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 4M', '-c', 'write -P 0x5c 6M 1M', path])
  return path
}

const identical = async (a: string, fa: string, b: string, fb: string): Promise<void> => {
  const r = await sh('qemu-img', ['compare', '-f', fa, '-F', fb, a, b]).then(() => 0, (e: { code?: number }) => e.code ?? -1)
  assert.is(r, 0, `qemu-img compare ${a} ${b}`)
}

test('planMirror: a real job copies the disk and switches it; faults at every step and a timed-out job leave the graph as it was', async () => {
  const tmp = await tempDir()
  try {
    const src = await dataImage(tmp.path)
    const { argv, runtime } = started(tmp.path, { disk_type: 'paravirtual' }, [{ uuid: uuidN(1), path: src, format: 'qcow2' }])
    const target = await makeImage(tmp.path, 'dst.raw', 'raw', 8)
    const id = diskId(1)
    let after: Runtime | undefined
    await withQemu(argv, async (vm) => {
      const mirror = right(planMirror(runtime, { id, path: target, format: 'raw' }, { jobTimeoutMs: 30_000 }))
      await faultEveryStep(vm, mirror)
      // A job that cannot be ready in time (the disk's own limits slow the copy) is cancelled.
      const slow = right(planThrottle(runtime, id, { 'bps-total': MIB, 'bps-total-max': MIB }))
      const rt = await done(vm, slow)
      const before = await qemuGraph(vm)
      const timedOut = await run(right(planMirror(rt, { id, path: target, format: 'raw' }, { jobTimeoutMs: 300 })), toExecutor(vm.qmp))
      assert.is(timedOut._tag, 'RolledBack', JSON.stringify(timedOut._tag === 'RolledBack' ? '' : timedOut))
      if (timedOut._tag === 'RolledBack') assert.is(timedOut.error._tag, 'Timeout')
      assert.equal(await qemuGraph(vm), before, 'the timed-out mirror left nothing')
      const fast = await done(vm, right(planThrottle(rt, id, {})))
      after = await done(vm, right(planMirror(fast, { id, path: target, format: 'raw' }, { jobTimeoutMs: 30_000 })))
      assert.equal(await qemuGraph(vm), recordedGraph(after), 'the device reads the target, and the old chain is gone')
      assert.equal(recordedGraph(after).edges, [`${id} -file-> ${id}-m1`, `${id}-m1 -file-> ${id}-m1-p`])
    }, { dir: tmp.path })
    await identical(src, 'qcow2', target, 'raw')
  } finally {
    await tmp.cleanup()
  }
})

test('planClone: a point-in-time copy while the guest keeps its chain; faults at every step leave the graph as it was', async () => {
  const tmp = await tempDir()
  try {
    const src = await dataImage(tmp.path)
    const { argv, runtime } = started(tmp.path, { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci' }, [{ uuid: uuidN(2), path: src, format: 'qcow2' }])
    const copy = await makeImage(tmp.path, 'clone.qcow2', 'qcow2', 8)
    const id = diskId(2)
    await withQemu(argv, async (vm) => {
      const clone = right(planClone(runtime, { id, path: copy, format: 'qcow2' }, { jobTimeoutMs: 30_000 }))
      await faultEveryStep(vm, clone)
      const rt = await done(vm, clone)
      assert.is(rt, runtime, 'the instance is what it was')
      assert.equal(await qemuGraph(vm), recordedGraph(runtime), 'the copy is detached; the disk keeps its chain')
    }, { dir: tmp.path })
    await identical(src, 'qcow2', copy, 'qcow2')
  } finally {
    await tmp.cleanup()
  }
})

test.run()
