/**
 * The differential test of the scripted executor's block jobs: a mirror of a hot-added disk's
 * image, as a plan (target nodes, `blockdev-mirror`, a wait for `BLOCK_JOB_READY`,
 * `job-complete`, a wait for `concluded`, a `query-jobs` check, `job-dismiss`; undone by a
 * cancel that awaits `concluded`, then a dismiss), run on the model and on QEMU 7.2 and 10.0:
 * with its `job-complete` refused (rolled back through the undo chain), done (the filter reads
 * the target), and failing on a target that fails every write (blkdebug on QEMU, `failJob` on
 * the model). Outcomes, logs and states must agree, as in spec/qemu/scripted-diff.spec.ts.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import * as assert from 'uvu/assert'
import { decodeDisk, planHotAdd, type QmpPlan, type Runtime } from '../../lib/index.js'
import { blockdevMirror, jobCancel, jobComplete, jobDismiss, queryJobs } from '../../lib/qmp/graph-commands.js'
import { commandStep, waitStep } from '../../lib/qmp/plan.js'
import { right } from '../support/either.js'
import { hv } from '../support/placed.js'
import { makeImage, qemuSuite, tempDir, withQemu } from './harness.js'
import { pair, refused, scripted, start } from './scripted-pair.js'

const test = qemuSuite('the scripted executor runs block jobs as QEMU does')
const execFileP = promisify(execFile)

const concluded = (id: string) => ({ event: 'JOB_STATUS_CHANGE', data: { id, status: 'concluded' } })
const node = (name: string, o: Readonly<Record<string, unknown>>) =>
  commandStep(`blockdev-add ${name}`, { execute: 'blockdev-add', arguments: { 'node-name': name, ...o } }, { command: { execute: 'blockdev-del', arguments: { 'node-name': name } }, alreadyDone: [] })

/** A mirror of `top`'s image (`replaces`, the filter's child) to a new qcow2 node `target` (over `file`, a node or an inline one). */
const mirrorPlan = (rt: Runtime, id: string, top: string, replaces: string, target: string, file: Readonly<Record<string, unknown>>): QmpPlan => {
  const undo = { command: jobCancel(id), alreadyDone: [], await: { until: [concluded(id)], timeoutMs: 2000 }, then: { command: jobDismiss(id), alreadyDone: [] } }
  return {
    title: `mirror ${top}`, before: rt, after: rt, warnings: [],
    steps: [
      node(target, { driver: 'qcow2', file, backing: null }),
      commandStep(`blockdev-mirror ${id}`, blockdevMirror(id, top, target, replaces), undo),
      waitStep(`${id} ready`, [{ event: 'BLOCK_JOB_READY', data: { device: id } }], 5000, [concluded(id)]),
      commandStep(`job-complete ${id}`, jobComplete(id)),
      waitStep(`${id} concluded`, [concluded(id)], 5000),
      commandStep('query-jobs', queryJobs(), undefined, { check: { _tag: 'JobSucceeded', id } }),
      commandStep(`job-dismiss ${id}`, jobDismiss(id))
    ]
  }
}

test('a mirror: job-complete refused (rolled back through cancel and dismiss), done, and failing on its target', async () => {
  const tmp = await tempDir()
  try {
    const { argv, runtime } = await start(tmp.path, 'jobs1', { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', cdrom_disk_type: 'scsi-cd' })
    const image = await makeImage(tmp.path, 'src.qcow2', 'qcow2')
    // Data to copy: a mirror of an empty image writes nothing, and a target that fails writes would not fail it.
    await execFileP('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 0 512k', image])
    await withQemu(argv, async (vm) => {
      const { both, sx } = pair(vm, scripted(runtime))
      const disk = right(decodeDisk({ uuid: 'd1000001-7a22-4067-a566-7e0ca8386133', path: image, format: 'qcow2' }))
      const rt = (await both('hot-add a qcow2 disk', right(planHotAdd(runtime, { disk })), 'Done')).runtime
      const top = hv(rt.disks[0])?.id ?? ''
      // Inline children named, or QEMU names them itself ("#block123").
      const file = async (name: string) => ({ driver: 'file', 'node-name': `${name}-p`, filename: await makeImage(tmp.path, `${name}.qcow2`, 'qcow2') })
      const first = mirrorPlan(rt, 'm1', top, `${top}-a`, 't1', await file('t1'))
      await both('a mirror, job-complete refused', first, 'RolledBack', refused(2))
      await both('a mirror', first, 'Done')
      assert.equal(sx.state().nodes.find((n) => n.name === top)?.children, [{ role: 'file', node: 't1' }])
      const failing = { driver: 'blkdebug', 'node-name': 't2-dbg', 'inject-error': [{ event: 'pwritev', errno: 5 }], image: await file('t2') }
      sx.failJob('m2', 'Input/output error')
      const failed = await both('a mirror failing on its target', mirrorPlan(rt, 'm2', top, 't1', 't2', failing), 'RollbackIncomplete')
      assert.is(failed._tag === 'RollbackIncomplete' ? failed.failedStep : -1, 2)
      const jobs = await vm.qmp.execute('query-jobs')
      assert.equal(sx.execute(queryJobs()), jobs)
      assert.equal(sx.execute(jobDismiss('m2')), await vm.qmp.execute('job-dismiss', { id: 'm2' }))
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
