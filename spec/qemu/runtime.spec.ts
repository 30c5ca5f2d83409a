/**
 * Runtime files against a real QEMU 7.2: a runtime Ganeti 2.1x wrote (devices with `pci`,
 * `-balloon`, `-localtime`) is upgraded, its command line rebuilt from the runtime alone, and
 * QEMU started from it. Every device must be at its recorded slot under its recorded legacy id
 * (`hot<kind>-<uuid group>-pci-<slot>`), and hot-remove — which Ganeti itself could not do for
 * these devices, since it recomputed ids from the uuid — must find them by that id.
 *
 * On a `pc` machine a PCI `device_del` waits for the guest: without one the removal stays
 * pending. The first disk is therefore the eject guest of `eject-guest.ts` (booted from its
 * recorded slot with bootindex=1): paused, the removal is Pending; running, the same plan
 * finishes it. SCSI devices go without a guest: that case uses a Ganeti 3.0 file.
 */
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import { parseRuntime, planHotRemove, runPlan, runtimeArgv, type QmpPlan, type RunOutcome, type Runtime, lifecycle } from '../../lib/index.js'
import { bootGuest, writeEjectGuest } from './eject-guest.js'
import { makeImage, namedNodes, pciSlots, peripheral, qemuSuite, qomGet, tempDir, withQemu, type Vm, qemuPath, qemuVersion } from './harness.js'
import { downgradeOk, right } from '../support/either.js'
import { hv } from '../support/placed.js'

const test = qemuSuite('runtime (qemu)')

const DISK0 = '9f5c5bd4-2c1e-4f7a-8b6d-3e2f1a0b9c8d'
const DISK1 = '3a2b1c0d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'
const NIC0 = 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c'
const user = () => ({ type: 'user' as const })



const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A runtime file as Ganeti 2.12 wrote it: kvm_cmd without the devices, each device with its slot. */
const ganeti212File = (dir: string, boot: string, data: string): unknown[] => [
  [
    qemuPath(), '-name', 'legacy1.example.com', '-m', '64', '-smp', '1', '-machine', 'pc,accel=tcg', '-nodefaults',
    '-uuid', '0b1d5c3e-8a2f-4e6d-9c7b-5a4f3e2d1c0b', '-balloon', 'virtio', '-localtime', '-serial', 'none',
    '-qmp', `unix:${join(dir, 'legacy1.qmp')},server=on,wait=off`
  ],
  [{ mac: 'aa:00:00:11:22:33', ip: null, nicparams: { mode: 'bridged', link: 'br0' }, name: null, uuid: NIC0, network: null, pci: 7 }],
  { kvm_path: qemuPath(), boot_order: 'disk', disk_type: 'paravirtual', nic_type: 'paravirtual', disk_cache: 'default', use_localtime: true, kernel_path: '' },
  [
    [{ dev_type: 'file', logical_id: ['loop', boot], iv_name: 'disk/0', size: 1, mode: 'rw', params: {}, uuid: DISK0, pci: 5 }, boot, null],
    [{ dev_type: 'file', logical_id: ['loop', data], iv_name: 'disk/1', size: 1, mode: 'ro', params: {}, uuid: DISK1, pci: 6 }, data, null]
  ]
]

const run = async (vm: Vm, plan: QmpPlan): Promise<RunOutcome> => {
  const r = await runPlan(plan, toExecutor(vm.qmp))()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

const describe = (o: RunOutcome): string => JSON.stringify({ tag: o._tag, log: o.log })

const deletedEvents = (vm: Vm, id: string): number =>
  vm.qmp.events().filter((e) => e.event === 'DEVICE_DELETED' && isRecord(e.data) && e.data['device'] === id).length

/** Waits (up to `ms`) for the DEVICE_DELETED of `id`; QEMU may send it after the id is gone from QOM. */
const waitDeleted = async (vm: Vm, id: string, ms = 5000): Promise<number> => {
  const until = Date.now() + ms
  while (deletedEvents(vm, id) === 0 && Date.now() < until) await sleep(20)
  return deletedEvents(vm, id)
}


/** A Ganeti 2.12 runtime over fresh images (the boot disk is the eject guest), upgraded and rendered. */
const legacyInstance = async (dir: string) => {
  const boot = await writeEjectGuest(join(dir, 'boot.raw'))
  const data = await makeImage(dir, 'data.raw', 'raw')
  const rt = right(parseRuntime(JSON.stringify(ganeti212File(dir, boot, data))), 'parseRuntime')
  const argv = right(runtimeArgv(rt, { qemu: qemuVersion, nicBackend: user }), 'runtimeArgv')
  return { boot, data, rt, argv }
}

test('a Ganeti 2.12 runtime, upgraded: QEMU starts from runtimeArgv, every device at its recorded slot under its legacy id', async () => {
  const tmp = await tempDir()
  try {
    const { boot, rt, argv } = await legacyInstance(tmp.path)
    assert.ok(argv.includes('-rtc') && !argv.includes('-localtime') && !argv.includes('-balloon'), 'the upgrade rewrote the options QEMU 7.2 no longer has')
    await withQemu(
      argv,
      async (vm) => {
        const slots = await pciSlots(vm)
        const expected = [
          ['hotdisk-9f5c5bd4-pci-5', 5],
          ['hotdisk-3a2b1c0d-pci-6', 6],
          ['hotnic-c4a1e2f3-pci-7', 7]
        ] as const
        for (const [id, slot] of expected) {
          const found = slots.find((s) => s.qdev_id === id)
          assert.is(found?.slot, slot, `${id} in ${JSON.stringify(slots)}`)
          assert.is(await qomGet(vm, `/machine/peripheral/${id}`, 'addr'), slot * 8)
        }
        // The recorded hvinfo of every device is what QEMU has.
        assert.equal(
          [...rt.disks, ...rt.nics].map((d) => hv(d)?.id),
          expected.map(([id]) => id)
        )
        const devs = await peripheral(vm)
        assert.is(devs.get('hotdisk-9f5c5bd4-pci-5'), 'virtio-blk-pci')
        assert.is(devs.get('hotnic-c4a1e2f3-pci-7'), 'virtio-net-pci')
        assert.is(await qomGet(vm, '/machine/peripheral/hotdisk-3a2b1c0d-pci-6', 'drive'), 'hotdisk-3a2b1c0d-pci-6')
        const nodes = new Map((await namedNodes(vm)).map((n) => [n.node_name, n]))
        assert.is(nodes.get('hotdisk-3a2b1c0d-pci-6')?.ro, true, 'mode "ro" of the Ganeti disk dict')
        assert.is(nodes.get('hotdisk-9f5c5bd4-pci-5-file')?.file, boot)
        // -balloon virtio became a virtio-balloon device, placed by QEMU in a free slot.
        assert.ok(slots.some((s) => s.slot === 2), `balloon: ${JSON.stringify(slots)}`)
        // The runtime is unchanged by the start, and a rollback to Ganeti 2.15 loses nothing.
        assert.equal(downgradeOk(rt, { format: 'pre-hvinfo' }).lost, [])
      },
      { dir: tmp.path }
    )
  } finally {
    await tmp.cleanup()
  }
})

test('a legacy disk is hot-removed by its legacy id: Pending while no guest runs, Done once the guest ejects it', async () => {
  const tmp = await tempDir()
  try {
    const { rt, argv } = await legacyInstance(tmp.path)
    const id = 'hotdisk-3a2b1c0d-pci-6'
    await withQemu(
      argv,
      async (vm) => {
        const plan = right(planHotRemove(rt, id, { unplugTimeoutMs: 500 }), 'planHotRemove')
        // Paused (-S): QEMU accepts the device_del for the legacy id, but nobody ejects the slot.
        const first = await run(vm, plan)
        assert.is(first._tag, 'Pending', describe(first))
        assert.ok(first.log.some((l) => l.command?.execute === 'device_del' && l.result === 'ok' && isRecord(l.command.arguments) && l.command.arguments['id'] === id), describe(first))
        assert.is(deletedEvents(vm, id), 0)
        assert.ok((await peripheral(vm)).has(id))

        // Running, the guest ejects the slot whose removal is pending; the same plan, run again,
        // finds the device gone and finishes the backend.
        await bootGuest(vm)
        assert.is(await waitDeleted(vm, id), 1, `one DEVICE_DELETED whose data.device is the legacy id: ${JSON.stringify(vm.qmp.events())}`)
        const again = await run(vm, plan)
        assert.is(again._tag, 'Done', describe(again))
        assert.not.ok((await peripheral(vm)).has(id))
        assert.not.ok((await pciSlots(vm)).some((s) => s.qdev_id === id || s.slot === 6))
        const names = (await namedNodes(vm)).map((n) => n.node_name)
        assert.not.ok(names.includes(id) || names.includes(`${id}-file`), `nodes still there: ${names.join(' ')}`)
        if (again._tag === 'Done') {
          assert.equal(again.runtime.disks.map((d) => hv(d)?.id), ['hotdisk-9f5c5bd4-pci-5'])
          // The NIC goes the same way, by its legacy id.
          const nic = await run(vm, right(planHotRemove(again.runtime, 'hotnic-c4a1e2f3-pci-7', { unplugTimeoutMs: 5000 }), 'planHotRemove nic'))
          assert.is(nic._tag, 'Done', describe(nic))
          assert.is(deletedEvents(vm, 'hotnic-c4a1e2f3-pci-7'), 1)
        }
      },
      { dir: tmp.path }
    )
  } finally {
    await tmp.cleanup()
  }
})

/** A Ganeti 3.0 file: SCSI disks on virtio-scsi, a NIC with an hvinfo that kept its legacy id. */
const ganeti30File = (dir: string, a: string, b: string): unknown[] => [
  [qemuPath(), '-name', 'app1.example.com', '-m', '64', '-machine', 'pc,accel=tcg', '-nodefaults', '-device', 'virtio-scsi-pci,id=scsi', '-qmp', `unix:${join(dir, 'app1.qmp')},server=on,wait=off`, '-chroot', dir],
  [{ mac: 'aa:00:00:0a:0b:0c', ip: null, nicparams: { mode: 'bridged', link: 'br0' }, uuid: NIC0, hvinfo: { driver: 'virtio-net-pci', id: 'hotnic-c4a1e2f3-pci-6', addr: '0x6', bus: 'pci.0' } }],
  { kvm_path: qemuPath(), boot_order: 'disk', disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', nic_type: 'paravirtual', disk_cache: 'default', disk_discard: 'default' },
  [
    [{ dev_type: 'file', mode: 'rw', uuid: DISK0, hvinfo: { driver: 'scsi-hd', id: 'disk-9f5c5bd4-2c1e-4f7a', bus: 'scsi.0', channel: 0, 'scsi-id': 0, lun: 0 } }, a, null],
    [{ dev_type: 'file', mode: 'rw', uuid: DISK1, hvinfo: { driver: 'scsi-hd', id: 'disk-3a2b1c0d-5e6f-4a7b', bus: 'scsi.0', channel: 0, 'scsi-id': 3, lun: 0 } }, b, null]
  ]
]

test('a Ganeti 3.0 SCSI disk is removed at once by its recorded id: DEVICE_DELETED, then its nodes', async () => {
  const tmp = await tempDir()
  try {
    const a = await makeImage(tmp.path, 'a.raw', 'raw')
    const b = await makeImage(tmp.path, 'b.raw', 'raw')
    const rt: Runtime = right(parseRuntime(JSON.stringify(ganeti30File(tmp.path, a, b))), 'parseRuntime')
    // Ganeti 3.0.2's own upgrade keeps -chroot and disk_discard "default", and so does this one.
    assert.ok(rt.cmd.includes('-chroot'))
    assert.is(rt.hvparams['disk_discard'], 'default')
    const rebuilt = right(runtimeArgv(rt, { qemu: qemuVersion, nicBackend: user }), 'runtimeArgv')
    // The confinement in the form this QEMU reads: -chroot before 8.1, -run-with chroot= after.
    const confined = lifecycle('chroot', qemuVersion) === 'current' ? ['-chroot', tmp.path] : ['-run-with', `chroot=${tmp.path}`]
    const at = rebuilt.indexOf(confined[0] ?? '')
    assert.equal(rebuilt.slice(at, at + 2), confined, 'the rebuilt command line keeps its chroot')
    // Only root may chroot; elsewhere the confinement is checked in the argv alone.
    const argv = process.getuid?.() === 0 ? rebuilt : [...rebuilt.slice(0, at), ...rebuilt.slice(at + 2)]
    const id = 'disk-3a2b1c0d-5e6f-4a7b'
    await withQemu(
      argv,
      async (vm) => {
        assert.is(await qomGet(vm, `/machine/peripheral/${id}`, 'scsi-id'), 3)
        assert.is(await qomGet(vm, '/machine/peripheral/disk-9f5c5bd4-2c1e-4f7a', 'scsi-id'), 0)
        assert.is((await pciSlots(vm)).find((s) => s.qdev_id === 'hotnic-c4a1e2f3-pci-6')?.slot, 6)
        const outcome = await run(vm, right(planHotRemove(rt, id), 'planHotRemove'))
        assert.is(outcome._tag, 'Done', describe(outcome))
        assert.is(deletedEvents(vm, id), 1, 'DEVICE_DELETED with data.device = the recorded id')
        assert.not.ok((await peripheral(vm)).has(id))
        const names = (await namedNodes(vm)).map((n) => n.node_name)
        assert.not.ok(names.includes(id) || names.includes(`${id}-file`), `the device's nodes are deleted: ${names.join(' ')}`)
        assert.ok(outcome.log.some((l) => l.command?.execute === 'blockdev-del' && l.result === 'ok'), describe(outcome))
        assert.ok(names.includes('disk-9f5c5bd4-2c1e-4f7a'), 'the other disk is untouched')
      },
      { dir: tmp.path }
    )
  } finally {
    await tmp.cleanup()
  }
})

test.run()
