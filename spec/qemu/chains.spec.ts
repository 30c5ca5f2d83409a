/**
 * An explicit chain over two protocols against a real QEMU: a local qcow2 whose backing image is
 * a qcow2 exported by a loopback qemu-nbd. Every node is named and read-only where it must be;
 * nothing is probed (the top's header names no backing file at all). A snapshot and a mirror then
 * run on that chain, and the mirror's copy holds the base's data, read through NBD.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import * as assert from 'uvu/assert'
import { planMirror, planSnapshot, type Runtime } from '../../lib/index.js'
import { makeImage, qemuSuite, tempDir, withQemu } from './harness.js'
import { withNbd } from './nbd.js'
import { right } from '../support/either.js'
import { diskId, done, faultEveryStep, qemuGraph, recordedGraph, started, uuidN } from './graph-support.js'

const test = qemuSuite('chains over protocols')
const sh = promisify(execFile)


test('a local qcow2 over a qcow2 served by qemu-nbd: the chain as planned, a snapshot on it, a mirror that copies the base through NBD', async () => {
  const tmp = await tempDir()
  try {
    const base = await makeImage(tmp.path, 'base.qcow2', 'qcow2', 8)
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x42 0 2M', base])
    // The top's header names no backing file: the plan alone says what is below it.
    const top = await makeImage(tmp.path, 'top.qcow2', 'qcow2', 8)
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x77 4M 1M', top])
    const target = await makeImage(tmp.path, 'copy.raw', 'raw', 8)
    await withNbd(tmp.path, base, async (socket) => {
      const { argv, runtime } = started(tmp.path, { disk_type: 'paravirtual' }, [
        { uuid: uuidN(5), path: top, format: 'qcow2', backing: [{ source: { driver: 'nbd', server: { type: 'unix', path: socket }, export: 'base' }, format: 'qcow2' }] }
      ])
      const id = diskId(5)
      let rt: Runtime = runtime
      await withQemu(argv, async (vm) => {
        assert.equal(await qemuGraph(vm), recordedGraph(rt), 'QEMU opened exactly the planned chain')
        assert.ok(recordedGraph(rt).nodes.includes(`${id}-b1-p nbd ro`) && recordedGraph(rt).edges.includes(`${id}-a -backing-> ${id}-b1`))
        const snap = right(planSnapshot(rt, [{ id, path: await makeImage(tmp.path, 's1.qcow2', 'qcow2', 8) }]))
        await faultEveryStep(vm, snap)
        rt = await done(vm, snap)
        assert.equal(await qemuGraph(vm), recordedGraph(rt))
        rt = await done(vm, right(planMirror(rt, { id, path: target }, { jobTimeoutMs: 30_000 })))
        assert.equal(await qemuGraph(vm), recordedGraph(rt), 'the device reads the copy; the chain over NBD is gone')
      }, { dir: tmp.path })
    }, { args: ['--read-only', '--export-name=base'] })
    // The copy is the guest's view: the base's data where the top has none, the top's where it has.
    const io = async (cmd: string): Promise<boolean> => sh('qemu-io', ['-f', 'raw', '-r', '-c', cmd, target]).then((r) => !/Pattern verification failed/.test(r.stdout), () => false)
    assert.ok(await io('read -P 0x42 0 2M'), 'the base data came through NBD')
    assert.ok(await io('read -P 0x77 4M 1M'), 'the top data is there')
    assert.ok(await io('read -P 0 2M 2M'), 'the rest is zero')
  } finally {
    await tmp.cleanup()
  }
})

test.run()
