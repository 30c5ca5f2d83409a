/**
 * q35 on a real QEMU (issue 8): an instance with 20 disks, 8 NICs and 8 spare root ports starts
 * with exactly the planned topology — query-pci bus 0 for the root ports and the machine's own
 * devices, QOM (`parent_bus`, `addr`, the ports' `chassis`/`port`) for what sits behind the
 * ports while paused, and query-pci's secondary buses once the firmware has numbered them after
 * `cont` (TCG, no guest). Then a disk and a NIC are hot-added into the spare ports, and a plan
 * with more spare ports is started to show that QEMU puts every device where it was.
 * Hot-remove needs a guest that acknowledges the unplug: the q35 variant of the eject guest
 * (`Q35_EJECT_LOOP`: ACPI PCI hotplug, pc-q35's default, on every bus select) takes part there,
 * and the freed port takes the next hot-add.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  formatError,
  planDevices,
  planHotAdd,
  planHotRemove,
  renderArgv,
  runPlan,
  toRuntime,
  type DeviceTree,
  type QmpPlan,
  type Runtime
} from '../../lib/index.js'
import { bootGuest, Q35_EJECT_LOOP, writeEjectGuest } from './eject-guest.js'
import { makeImage, pciSlots, qemuPath, qemuSuite, qemuVersion, qomGet, tempDir, withQemu, type Vm } from './harness.js'

const test = qemuSuite('q35 behind pcie-root-ports')

const right = <A>(e: E.Either<Parameters<typeof formatError>[0], A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

const DISKS = 20
const NICS = 8

const instance = async (dir: string, spares: number): Promise<unknown> => ({
  name: 'q35a.example.com',
  uuid: '5c2e9a1f-7b3d-4e6a-8c1f-2d9e4b7a3c60',
  memory: 128,
  hvparams: { kvm_path: qemuPath(), machine_version: 'q35', kvm_pcie_spare_ports: spares, vga: 'std', use_guest_agent: true },
  disks: await Promise.all(
    Array.from({ length: DISKS }, async (_, i) => ({ uuid: `d${i.toString(16).padStart(7, '0')}-1111-4222-8333-444455556666`, path: await makeImage(dir, `d${i}.raw`, 'raw') }))
  ),
  nics: Array.from({ length: NICS }, (_, i) => ({ uuid: `e${i.toString(16).padStart(7, '0')}-1111-4222-8333-444455556666`, mac: `aa:00:00:00:02:${i.toString(16).padStart(2, '0')}`, backend: { type: 'user' } }))
})

const plan = async (dir: string, spares: number): Promise<{ tree: DeviceTree; argv: ReadonlyArray<string>; runtime: Runtime }> => {
  const inst = right(decodeInstance(await instance(dir, spares)))
  const tree = right(planDevices(inst, { qemu: qemuVersion }))
  const render = { qmpSocket: `${dir}/q35-${spares}.qmp`, accel: 'tcg' } as const
  return { tree, argv: renderArgv(tree, render), runtime: right(toRuntime(inst, tree, render)) }
}

type Pci = { readonly bus: string; readonly slot: number; readonly function: number }
const pciOf = (a: { readonly _tag: string }): Pci | undefined =>
  a._tag === 'pci' && 'bus' in a && 'slot' in a && 'function' in a && typeof a.bus === 'string' && typeof a.slot === 'number' && typeof a.function === 'number'
    ? { bus: a.bus, slot: a.slot, function: a.function }
    : undefined

/** Where QEMU has a device: the last part of its parent bus's QOM path, and its devfn. */
const qomPlace = async (vm: Vm, id: string): Promise<string> => {
  const parent = await qomGet(vm, `/machine/peripheral/${id}`, 'parent_bus')
  const addr = await qomGet(vm, `/machine/peripheral/${id}`, 'addr')
  return `${String(parent).split('/').pop() ?? ''}@${String(addr)}`
}

const plannedPlace = (p: Pci): string => `${p.bus}@${p.slot * 8 + p.function}`

const onPci = (tree: DeviceTree) =>
  [...tree.rootPorts, ...tree.controllers, ...tree.disks, ...tree.nics, ...tree.cdroms, ...tree.machineDevices].flatMap((d) => {
    const p = pciOf(d.address)
    return p === undefined ? [] : [{ id: d.id, p }]
  })

/** Every planned PCI device, as QOM has it. */
const assertQom = async (vm: Vm, tree: DeviceTree): Promise<void> => {
  for (const { id, p } of onPci(tree)) assert.is(await qomPlace(vm, id), plannedPlace(p), id)
  for (const port of tree.rootPorts) {
    assert.is(await qomGet(vm, `/machine/peripheral/${port.id}`, 'chassis'), port.properties['chassis'], `${port.id} chassis`)
    assert.is(await qomGet(vm, `/machine/peripheral/${port.id}`, 'port'), port.properties['port'], `${port.id} port`)
  }
}

/** query-pci bus 0 is exactly the machine's built-ins and the plan's pcie.0 devices. */
const assertBus0 = async (vm: Vm, tree: DeviceTree): Promise<void> => {
  const planned = onPci(tree).filter(({ p }) => p.bus === 'pcie.0').map(({ id, p }) => `${id} @ ${p.slot}.${p.function}`)
  const seen = (await pciSlots(vm)).map((s) => `${s.qdev_id === '' ? '(machine)' : s.qdev_id} @ ${s.slot}.${s.function}`)
  // -machine q35 -nodefaults alone: 00.0 host bridge, 1f.0/.2/.3 ICH9 (measured on 7.2 and 10.0).
  assert.equal(seen.sort(), [...planned, '(machine) @ 0.0', '(machine) @ 31.0', '(machine) @ 31.2', '(machine) @ 31.3'].sort())
}

/** Root port id → the qdev ids behind it, from query-pci once every secondary bus is numbered. */
const behindPorts = async (vm: Vm): Promise<Map<string, string[]> | undefined> => {
  const buses = await vm.qmp.executeOk('query-pci')
  const out = new Map<string, string[]>()
  let unnumbered = false
  for (const b of Array.isArray(buses) ? buses : []) {
    for (const d of isRec(b) && Array.isArray(b['devices']) ? b['devices'] : []) {
      if (!isRec(d) || !isRec(d['pci_bridge'])) continue
      const br = d['pci_bridge']
      const bus = isRec(br['bus']) ? br['bus'] : {}
      if (bus['secondary'] === 0) unnumbered = true
      const inner = Array.isArray(br['devices']) ? br['devices'] : []
      out.set(String(d['qdev_id']), inner.flatMap((x: unknown) => (isRec(x) ? [`${String(x['qdev_id'])} @ ${String(x['slot'])}.${String(x['function'])}`] : [])))
    }
  }
  return unnumbered ? undefined : out
}

// The firmware numbers the secondary buses before query-pci lists every device behind them: on
// a loaded machine a first numbered read can still miss some. So the read is repeated until it
// shows what `settled` waits for (or 10 s pass), and the last read is what the test compares.
const waitBehindPorts = async (vm: Vm, settled: (m: Map<string, string[]>) => boolean): Promise<Map<string, string[]>> => {
  let last: Map<string, string[]> | undefined
  for (let i = 0; i < 100; i++) {
    const m = await behindPorts(vm)
    if (m !== undefined && m.size > 0) {
      if (settled(m)) return m
      last = m
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  if (last === undefined) throw new Error('the firmware never numbered the root ports’ buses')
  return last
}

const sameBehind = (a: Map<string, string[]>, b: Map<string, string[]>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => JSON.stringify(b.get(k)) === JSON.stringify(v))

const done = async (p: QmpPlan, vm: Vm): Promise<Runtime> => {
  const r = await runPlan(p, toExecutor(vm.qmp))()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  assert.is(r.right._tag, 'Done', `${p.title}: ${JSON.stringify(r.right)}`)
  return r.right.runtime
}

test(`${DISKS} disks, ${NICS} NICs, 8 spare ports: QEMU reports the planned topology, paused and running`, async () => {
  const tmp = await tempDir()
  try {
    const { tree, argv } = await plan(tmp.path, 8)
    assert.is(tree.rootPorts.length, DISKS + NICS + 8)
    await withQemu(argv, async (vm) => {
      await assertBus0(vm, tree)
      await assertQom(vm, tree)
      // Running (TCG, no guest): the firmware numbers the secondary buses, and query-pci lists
      // what is behind each port: its one planned device at 00.0, or nothing for a spare.
      await vm.qmp.executeOk('cont')
      const expected = new Map(tree.rootPorts.map((p) => [p.id, [] as string[]]))
      for (const d of [...tree.disks, ...tree.nics]) {
        const p = pciOf(d.address)
        if (p !== undefined) expected.get(p.bus)?.push(`${d.id} @ ${p.slot}.${p.function}`)
      }
      const behind = await waitBehindPorts(vm, (m) => sameBehind(m, expected))
      assert.equal(behind, expected)
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('a disk and a NIC hot-added land at 0x0 behind the first two spare ports', async () => {
  const tmp = await tempDir()
  try {
    const { tree, argv, runtime } = await plan(tmp.path, 8)
    await withQemu(argv, async (vm) => {
      const img = await makeImage(tmp.path, 'hot.raw', 'raw')
      const disk = right(decodeDisk({ uuid: 'f0000001-1111-4222-8333-444455556666', path: img }))
      let rt = await done(right(planHotAdd(runtime, { disk })), vm)
      const nic = right(decodeNic({ uuid: 'f0000002-1111-4222-8333-444455556666', mac: 'aa:00:00:00:03:01', backend: { type: 'user' } }))
      rt = await done(right(planHotAdd(rt, { nic })), vm)
      const spares = tree.rootPorts.slice(DISKS + NICS).map((p) => p.id)
      const diskId = rt.disks[rt.disks.length - 1]?.placed?.id ?? ''
      const nicId = rt.nics[rt.nics.length - 1]?.placed?.id ?? ''
      assert.is(await qomPlace(vm, diskId), `${spares[0] ?? ''}@0`)
      assert.is(await qomPlace(vm, nicId), `${spares[1] ?? ''}@0`)
      // Seen running too, in query-pci behind their ports.
      await vm.qmp.executeOk('cont')
      const behind = await waitBehindPorts(vm, (m) => (m.get(spares[0] ?? '') ?? []).length > 0 && (m.get(spares[1] ?? '') ?? []).length > 0)
      assert.equal(behind.get(spares[0] ?? ''), [`${diskId} @ 0.0`])
      assert.equal(behind.get(spares[1] ?? ''), [`${nicId} @ 0.0`])
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('with 16 spare ports instead of 8, QEMU has every device where it was', async () => {
  const tmp = await tempDir()
  try {
    const places = async (spares: number): Promise<Record<string, string>> => {
      const { tree, argv } = await plan(tmp.path, spares)
      return withQemu(argv, async (vm) => {
        const ids = onPci(tree).map(({ id }) => id).filter((id) => !tree.rootPorts.slice(DISKS + NICS).some((p) => p.id === id))
        return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await qomPlace(vm, id)] as const)))
      }, { dir: tmp.path })
    }
    const eight = await places(8)
    const sixteen = await places(16)
    assert.ok(Object.keys(eight).length >= DISKS + NICS * 2)
    assert.equal(sixteen, eight)
  } finally {
    await tmp.cleanup()
  }
})

test('with a guest, a hot-removed disk leaves its port (Pending while paused, Done once the guest ejects it), and the next hot-add takes that port', async () => {
  const tmp = await tempDir()
  try {
    const boot = await writeEjectGuest(`${tmp.path}/eject-q35.raw`, 1, Q35_EJECT_LOOP)
    const inst = right(
      decodeInstance({
        name: 'q35b.example.com',
        uuid: '6d3f0b2a-8c4e-4f7b-9d2a-3e0f5c8b4d71',
        memory: 64,
        hvparams: { kvm_path: qemuPath(), machine_version: 'q35', kvm_pcie_spare_ports: 2, boot_order: 'disk' },
        disks: [{ uuid: 'c0000001-1111-4222-8333-444455556666', path: boot }]
      })
    )
    const tree = right(planDevices(inst, { qemu: qemuVersion }))
    const render = { qmpSocket: `${tmp.path}/q35b.qmp`, accel: 'tcg' } as const
    const runtime = right(toRuntime(inst, tree, render))
    await withQemu(renderArgv(tree, render), async (vm) => {
      const img = await makeImage(tmp.path, 'hot1.raw', 'raw')
      let rt = await done(right(planHotAdd(runtime, { disk: right(decodeDisk({ uuid: 'f0000011-1111-4222-8333-444455556666', path: img })) })), vm)
      const id = rt.disks[1]?.placed?.id ?? ''
      assert.is(await qomPlace(vm, id), 'port2@0')
      // Paused, nobody ejects: the removal ends Pending. So it is the guest that completes it below.
      const paused = await runPlan(right(planHotRemove(rt, id, { unplugTimeoutMs: 500 })), toExecutor(vm.qmp))()
      assert.is(E.isRight(paused) ? paused.right._tag : 'Left', 'Pending')
      await bootGuest(vm, 15_000, Q35_EJECT_LOOP)
      // The guest ejects the pending removal by itself; the same plan, run again once it has,
      // finishes the rest (the block nodes). Run earlier, its device_del would meet the unplug
      // still in progress.
      const inQom = async (): Promise<boolean> => !JSON.stringify(await vm.qmp.execute('qom-get', { path: `/machine/peripheral/${id}`, property: 'addr' })).includes('DeviceNotFound')
      // The device leaves QOM before its block backend lets go of the node: until then a
      // blockdev-del meets "is in use" (seen on a loaded machine). Ejected means both.
      const holdsNode = async (): Promise<boolean> => JSON.stringify(await vm.qmp.execute('query-block')).includes(`/machine/peripheral/${id}/`)
      for (let i = 0; i < 200 && ((await inQom()) || (await holdsNode())); i++) await new Promise((r) => setTimeout(r, 50))
      assert.not.ok(await inQom(), 'the guest ejected the device')
      assert.not.ok(await holdsNode(), 'its block backend let go of the node')
      const removal = await runPlan(right(planHotRemove(rt, id, { unplugTimeoutMs: 10_000 })), toExecutor(vm.qmp))()
      if (E.isLeft(removal)) throw new Error('runPlan never fails as a task')
      assert.is(removal.right._tag, 'Done', JSON.stringify(removal.right))
      rt = removal.right.runtime
      const nic = right(decodeNic({ uuid: 'f0000012-1111-4222-8333-444455556666', mac: 'aa:00:00:00:03:12', backend: { type: 'user' } }))
      rt = await done(right(planHotAdd(rt, { nic })), vm)
      const nicId = rt.nics[0]?.placed?.id ?? ''
      assert.is(await qomPlace(vm, nicId), 'port2@0')
      // With the guest running, a removal ends on DEVICE_DELETED in one run.
      const live = await runPlan(right(planHotRemove(rt, nicId, { unplugTimeoutMs: 10_000 })), toExecutor(vm.qmp))()
      if (E.isLeft(live)) throw new Error('runPlan never fails as a task')
      assert.is(live.right._tag, 'Done', JSON.stringify(live.right))
      assert.ok(live.right.log.some((l) => l.phase === 'wait' && l.result === 'event'), 'the removal ends on DEVICE_DELETED')
      assert.equal(live.right.runtime.nics, [])
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('pc-q35-6.0, whose default is native hotplug, runs with the pinned ACPI hotplug', async () => {
  const tmp = await tempDir()
  try {
    const disk = { uuid: 'c0000003-1111-4222-8333-444455556666', path: await makeImage(tmp.path, 'c.raw', 'raw') }
    const inst = right(decodeInstance({ name: 'q35c', uuid: '7e4a1c3b-9d5f-4a8c-8e3b-4f1a6d9c5e82', memory: 64, hvparams: { kvm_path: qemuPath(), machine_version: 'pc-q35-6.0', kvm_pcie_spare_ports: 1 }, disks: [disk] }))
    const tree = right(planDevices(inst, { qemu: qemuVersion }))
    const argv = renderArgv(tree, { qmpSocket: `${tmp.path}/q35c.qmp`, accel: 'tcg' })
    await withQemu(argv, async (vm) => {
      // DOMAIN §12: ICH9-LPC is /machine/unattached/device[2]; false on pc-q35-6.0 unless pinned.
      assert.is(await qomGet(vm, '/machine/unattached/device[2]', 'acpi-pci-hotplug-with-bridge-support'), true)
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
