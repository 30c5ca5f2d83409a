/**
 * CD-ROM medium changes on a real QEMU: QEMU's query-block must show the medium the runtime
 * records, a failure at any step must leave QEMU as it was, and the rewritten kvm_cmd must start
 * a QEMU that has the new medium.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import { cmdArgv, decodeInstance, decodeRuntime, encodeRuntime, planChangeMedium, planDevices, renderArgv, runPlan, toRuntime, type Executor, type QmpPlan, type RunOutcome, type Runtime } from '../../lib/index.js'
import { makeImage, namedNodes, qemuSuite, tempDir, withQemu, type Vm, qemuPath, qemuVersion } from './harness.js'
import { right, runtimeOf } from '../support/either.js'

const test = qemuSuite('CD-ROM media against QEMU')



const run = async (plan: QmpPlan, executor: Executor): Promise<RunOutcome> => {
  const r = await runPlan(plan, executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

type BlockInfo = { qdev?: string; tray_open?: boolean; inserted?: { 'node-name': string; file: string; ro: boolean } }

const medium = async (vm: Vm, id: string): Promise<BlockInfo | undefined> =>
  ((await vm.qmp.executeOk('query-block')) as ReadonlyArray<BlockInfo>).find((b) => b.qdev === id)

const failingAt = (inner: Executor, k: number): Executor => {
  let n = 0
  return {
    send: (command, fd) => async () => (n++ === k ? E.right({ _tag: 'Error', class: 'GenericError', desc: `injected failure at ${k}` }) : inner.send(command, fd)()),
    waitEvent: inner.waitEvent
  }
}

const state = async (vm: Vm) => ({ block: await medium(vm, 'cdrom1'), nodes: (await namedNodes(vm)).map((n) => n.node_name).sort() })

// Each drive type planned for the QEMU under test (JSON) and for 6.0 (key=value), started on it.
// Each also as a runtime recorded by toRuntime (typed devices in the stamp) and as one without
// them (a format-1 file, whose devices are read from kvm_cmd).
// And on q35, whose IDE is ICH9 AHCI (ide.0…ide.5).
const cases = [
  ...(['ide', 'scsi-cd'] as const).flatMap((t) => [[t, qemuVersion, true, 'pc'], [t, { major: 6, minor: 0 }, true, 'pc'], [t, qemuVersion, false, 'pc']] as const),
  ...(['ide', 'scsi-cd'] as const).map((t) => [t, qemuVersion, true, 'q35'] as const)
]
for (const [cdType, { major, minor }, recorded, machine] of cases) {
  test(`${cdType} on ${machine}, target ${major}.${minor}, ${recorded ? 'recorded' : 'format-1'} runtime: change, eject and insert follow the runtime; failures roll back; the new kvm_cmd restarts with the new medium`, async () => {
    const tmp = await tempDir()
    try {
      const first = await makeImage(tmp.path, 'first.iso', 'raw')
      const second = await makeImage(tmp.path, 'second, with comma.iso', 'raw')
      const hv = { kvm_path: qemuPath(), boot_order: 'cdrom', cdrom_image_path: first, cdrom_disk_type: cdType, disk_type: cdType === 'ide' ? 'paravirtual' : 'scsi-hd', machine_version: machine }
      const inst = right(decodeInstance({ name: 'media1', uuid: '2b8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5b', memory: 64, hvparams: hv }))
      const tree = right(planDevices(inst, { qemu: { major, minor, micro: 0 } }))
      const render = { qmpSocket: `${tmp.path}/qmp.sock`, accel: 'tcg' } as const
      const argv = renderArgv(tree, render)
      let rt: Runtime = recorded ? right(toRuntime(inst, tree, render)) : runtimeOf({ cmd: argv, nics: [], hvparams: hv, disks: [], stamp: undefined })
      // A recorded runtime, written and read back after each change, still passes the check that
      // its typed devices are the words of kvm_cmd.
      const reread = (r: Runtime): Runtime => (recorded ? right(decodeRuntime(JSON.parse(JSON.stringify(encodeRuntime(r))))) : r)
      await withQemu(argv, async (vm) => {
        assert.is((await medium(vm, 'cdrom1'))?.inserted?.file, first)
        const change = right(planChangeMedium(rt, 'cdrom1', second))
        for (let k = 0; k < change.steps.length; k++) {
          const before = await state(vm)
          const o = await run(change, failingAt(toExecutor(vm.qmp), k))
          assert.is(o._tag, 'RolledBack', `failing command ${k}: ${o._tag}`)
          assert.equal(await state(vm), before, `failing command ${k} changed QEMU`)
        }
        const o = await run(change, toExecutor(vm.qmp))
        assert.is(o._tag, 'Done', JSON.stringify(o))
        rt = reread(o.runtime)
        const now = await medium(vm, 'cdrom1')
        assert.is(now?.inserted?.file, second)
        assert.is(now?.inserted?.['node-name'], 'cdrom1')
        assert.is(now?.inserted?.ro, true)
        assert.is(now?.tray_open, false)

        const eject = await run(right(planChangeMedium(rt, 'cdrom1', null)), toExecutor(vm.qmp))
        assert.is(eject._tag, 'Done')
        rt = reread(eject.runtime)
        assert.is((await medium(vm, 'cdrom1'))?.inserted, undefined)
        assert.ok(!(await namedNodes(vm)).some((n) => n.node_name.startsWith('cdrom1')), 'ejected medium left nodes behind')

        const insert = await run(right(planChangeMedium(rt, 'cdrom1', first)), toExecutor(vm.qmp))
        assert.is(insert._tag, 'Done')
        rt = reread(insert.runtime)
        assert.is((await medium(vm, 'cdrom1'))?.inserted?.file, first)
      }, { dir: tmp.path })

      // Back to the second image, then restart from the runtime's kvm_cmd alone.
      await withQemu(cmdArgv(rt.cmd), async (vm) => {
        const o = await run(right(planChangeMedium(rt, 'cdrom1', second)), toExecutor(vm.qmp))
        assert.is(o._tag, 'Done')
        rt = reread(o.runtime)
      }, { dir: tmp.path })
      await withQemu(cmdArgv(rt.cmd), async (vm) => {
        assert.is((await medium(vm, 'cdrom1'))?.inserted?.file, second)
      }, { dir: tmp.path })
      const ejected = right(planChangeMedium(rt, 'cdrom1', null)).after
      await withQemu(cmdArgv(ejected.cmd), async (vm) => {
        const b = await medium(vm, 'cdrom1')
        assert.ok(b !== undefined, 'the drive stays after an eject')
        assert.is(b?.inserted, undefined)
      }, { dir: tmp.path })
    } finally {
      await tmp.cleanup()
    }
  })
}

test('a CD-ROM on virtio-blk has no medium to change, and unknown ids are refused', () => {
  const hv = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'cdrom', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'paravirtual' }
  const inst = right(decodeInstance({ name: 'media2', uuid: '2b8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5c', memory: 64, hvparams: hv }))
  const argv = renderArgv(right(planDevices(inst, { qemu: { major: 7, minor: 2, micro: 0 } })), { qmpSocket: '/tmp/x.sock' })
  const rt: Runtime = runtimeOf({ cmd: argv, nics: [], hvparams: hv, disks: [], stamp: undefined })
  const a = planChangeMedium(rt, 'cdrom1', '/srv/b.iso')
  assert.ok(E.isLeft(a) && a.left._tag === 'Unsupported')
  const b = planChangeMedium(rt, 'cdrom9', '/srv/b.iso')
  assert.ok(E.isLeft(b) && b.left._tag === 'UnknownDevice')
})

test('a medium location follows the rule of cdrom_image_path', () => {
  const hv = { kvm_path: '/usr/bin/qemu-system-x86_64', boot_order: 'cdrom', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'ide' }
  const inst = right(decodeInstance({ name: 'media3', uuid: '2b8e2f6a-3c4d-4e5f-8a9b-0c1d2e3f4a5d', memory: 64, hvparams: hv }))
  const rt: Runtime = runtimeOf({ cmd: renderArgv(right(planDevices(inst, { qemu: '7.2' })), { qmpSocket: '/tmp/x.sock' }), nics: [], hvparams: hv, disks: [], stamp: undefined })
  for (const bad of ['', 'relative.iso', '/srv/\uD800.iso', 'ftp://x/y.iso']) {
    const r = planChangeMedium(rt, 'cdrom1', bad)
    assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput', JSON.stringify(bad))
  }
  assert.ok(E.isRight(planChangeMedium(rt, 'cdrom1', 'https://mirror.example.org/b.iso')))
})

test.run()
