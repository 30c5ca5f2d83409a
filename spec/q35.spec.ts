/**
 * q35 (issue 8): every disk and NIC alone at addr 0x0 behind a pcie-root-port of its own, ports
 * packed 8 to a pcie.0 slot from 0x08, spare ports after every planned device's port, hot-adds
 * into the lowest free spare port. Expected values come from DOMAIN.md §12 and
 * reference/next-capabilities.md §B, not from the code.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  decodeRuntime,
  encodeRuntime,
  formatError,
  planHotAdd,
  planHotRemove,
  runtimeArgv,
  toRuntime,
  type DeviceTree,
  type Runtime
} from '../lib/index.js'
import { decodeOk, fail, planLeft, planOk, showLeft, spec } from './support/fixtures.js'
import { downgradeOk } from './support/either.js'

const right = <A>(e: E.Either<{ readonly _tag: string }, A>): A => (E.isRight(e) ? e.right : fail(`expected Right, got ${JSON.stringify(e.left)}`))

const q35 = (hv: Record<string, unknown> = {}, disks = 1, nics = 0): DeviceTree => planOk(spec({ machine_version: 'q35', ...hv }, disks, nics, { network_port: 5901 }))

type PciAt = { readonly bus: string; readonly slot: number; readonly function: number }
const pciOf = (d: { readonly id: string; readonly address: { readonly _tag: string } }): PciAt => {
  const a = d.address
  return a._tag === 'pci' && 'slot' in a && 'function' in a && 'bus' in a && typeof a.bus === 'string' && typeof a.slot === 'number' && typeof a.function === 'number'
    ? { bus: a.bus, slot: a.slot, function: a.function }
    : fail(`${d.id} is not on PCI`)
}

test('20 disks, 8 NICs, 8 spares: 36 root ports packed 8 per pcie.0 slot from 0x08, chassis unique, port = slot<<3|fn', () => {
  const t = q35({ kvm_pcie_spare_ports: 8 }, 20, 8)
  assert.is(t.rootPorts.length, 36)
  t.rootPorts.forEach((p, i) => {
    const at = pciOf(p)
    assert.equal(at, { bus: 'pcie.0', slot: 0x08 + Math.floor(i / 8), function: i % 8 })
    assert.is(p.driver, 'pcie-root-port')
    assert.is(p.properties['chassis'], i + 1)
    assert.is(p.properties['port'], (at.slot << 3) | at.function)
    // multifunction on every function 0, on no other function.
    assert.is(p.properties['multifunction'], at.function === 0 ? true : undefined)
  })
  assert.is(new Set(t.rootPorts.map((p) => p.properties['chassis'])).size, 36)
  // Device order: the disks take the first 20 ports, the NICs the next 8, each at addr 0x0.
  const devices = [...t.disks, ...t.nics]
  devices.forEach((d, i) => assert.equal(pciOf(d), { bus: t.rootPorts[i]?.id ?? '', slot: 0, function: 0 }))
  // The last 8 ports are the spares: nothing behind them.
  const held = new Set(devices.map((d) => pciOf(d).bus))
  assert.equal(t.rootPorts.slice(28).filter((p) => held.has(p.id)), [])
  // Nothing but root ports on the port slots; the machine's own devices below 0x08.
  for (const d of [...t.machineDevices, ...t.controllers, ...t.cdroms]) {
    const at = pciOf(d)
    assert.is(at.bus, 'pcie.0')
    assert.ok(at.slot < 0x08, `${d.id} at ${at.slot}`)
  }
})

test('the machine: VGA 0x1, balloon 0x2, virtio-serial 0x3, qemu-xhci 0x5, the SCSI controller 0x6, none of it at 0x00 or 0x1f', () => {
  const t = q35({ disk_type: 'scsi-hd', vnc_bind_address: '127.0.0.1', use_guest_agent: true }, 2, 1)
  const slot = (id: string): number => pciOf([...t.machineDevices, ...t.controllers].find((d) => d.id === id) ?? fail(`no ${id}`)).slot
  assert.equal([slot('vga0'), slot('balloon0'), slot('vserial0'), slot('usb'), slot(t.controllers[0]?.id ?? '')], [0x1, 0x2, 0x3, 0x5, 0x6])
  assert.is(t.machineDevices.find((d) => d.id === 'usb')?.driver, 'qemu-xhci')
  // SCSI disks sit on the controller's bus; only the NIC takes a port (plus the spares).
  assert.equal(t.disks.map((d) => d.address._tag), ['scsi', 'scsi'])
  assert.is(t.rootPorts.length, 1 + 8)
})

test('raising (or lowering) the spare count moves no device: every address compared', () => {
  const h = { disk_type: 'paravirtual', vnc_bind_address: '127.0.0.1', use_guest_agent: true, cdrom_image_path: '/srv/cd.iso', cdrom_disk_type: 'paravirtual' }
  const addresses = (t: DeviceTree): Record<string, unknown> =>
    Object.fromEntries([...t.controllers, ...t.disks, ...t.nics, ...t.cdroms, ...t.floppies, ...t.machineDevices].map((d) => [d.id, d.address]))
  const base = q35({ ...h, kvm_pcie_spare_ports: 8 }, 20, 8)
  for (const spares of [0, 1, 9, 16, 40]) {
    const other = q35({ ...h, kvm_pcie_spare_ports: spares }, 20, 8)
    assert.equal(addresses(other), addresses(base), `spares ${spares}`)
    assert.is(other.rootPorts.length, 28 + spares)
    // The ports both plans have are the same ports, properties and all.
    const common = Math.min(other.rootPorts.length, base.rootPorts.length)
    assert.equal(other.rootPorts.slice(0, common), base.rootPorts.slice(0, common))
  }
})

test('the default spare count is 8; kvm_pcie_spare_ports is checked (0–64)', () => {
  assert.is(q35({}, 1, 1).rootPorts.length, 2 + 8)
  const e = decodeInstance(spec({ machine_version: 'q35', kvm_pcie_spare_ports: 65 }, 1, 0))
  if (E.isRight(e)) return fail('expected 65 to be refused')
  assert.match(formatError(e.left), 'hvparams.kvm_pcie_spare_ports')
  // pc has no root ports, whatever the count.
  assert.equal(planOk(spec({ kvm_pcie_spare_ports: 4 }, 2, 1)).rootPorts, [])
})

test('root ports come first on the command line, before the disks behind them', () => {
  const t = q35({}, 1, 0)
  const rt = right(toRuntime(decodeOk(spec({ machine_version: 'q35' }, 1, 0)), t, { qmpSocket: '/tmp/vm1.qmp' }))
  const argv = right(runtimeArgv(rt))
  const first = argv.findIndex((w) => w.includes('"pcie-root-port"'))
  const disk = argv.findIndex((w) => w.includes('"virtio-blk-pci"'))
  assert.ok(first > 0 && first < disk)
  assert.ok(argv.some((w) => w.includes('"bus":"port1","addr":"0x0"')))
})

test('the hotplug mode is pinned: ACPI on ICH9 with q35, whatever the machine version; nothing on pc', () => {
  const argvOf = (t: DeviceTree): ReadonlyArray<string> => right(runtimeArgv(right(toRuntime(decodeOk(spec({ machine_version: t.machine }, 1, 0)), t, { qmpSocket: '/tmp/vm1.qmp' }))))
  for (const machine of ['q35', 'pc-q35-6.0']) {
    const argv = argvOf(q35({ machine_version: machine }))
    const i = argv.indexOf('-global')
    assert.is(argv[i + 1], 'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=on', machine)
  }
  assert.not.ok(argvOf(planOk(spec({ machine_version: 'pc' }, 1, 0))).includes('-global'))
})

test('IDE on q35 is ICH9 AHCI: ide.0…ide.5, unit 0 each; a 7th IDE disk does not fit', () => {
  const t = q35({ disk_type: 'ide' }, 6, 0)
  assert.equal(t.disks.map((d) => d.address), [0, 1, 2, 3, 4, 5].map((n) => ({ _tag: 'unit', bus: `ide.${n}`, unit: 0 })))
  const e = planLeft(spec({ machine_version: 'q35', disk_type: 'ide' }, 7, 0))
  assert.is(e._tag, 'BusFull')
})

test('q35 has no floppy controller (measured): a floppy image is refused at its hvparam', () => {
  const e = planLeft(spec({ machine_version: 'q35', floppy_image_path: '/srv/fd.img' }, 1, 0))
  assert.is(e._tag, 'InvalidInput')
  assert.is(formatError(e), 'hvparams.floppy_image_path: machine q35 has no floppy controller: leave floppy_image_path empty, or use a pc machine, got "/srv/fd.img"')
})

test('IO-BAR NICs on q35 warn at hvparams.nic_type; virtio does not', () => {
  const w = q35({ nic_type: 'e1000' }, 1, 4).warnings.filter((x) => x._tag === 'IoSpace')
  assert.is(w.length, 1)
  assert.is(w[0]?.path, 'hvparams.nic_type')
  assert.match(w[0]?.message ?? '', 'about 10')
  assert.equal(q35({ nic_type: 'e1000', kvm_pcie_spare_ports: 0 }, 1, 4).warnings.filter((x) => x._tag === 'IoSpace'), [])
  assert.equal(q35({}, 1, 8).warnings.filter((x) => x._tag === 'IoSpace'), [])
  assert.equal(planOk(spec({ nic_type: 'e1000' }, 1, 12)).warnings.filter((x) => x._tag === 'IoSpace'), [])
})

test('kvm_extra may not put a device on a spare port or on pcie.0', () => {
  for (const extra of ['-device virtio-rng-pci,bus=port3,addr=0x1', '-device virtio-rng-pci,bus=pcie.0,addr=0x9']) {
    const e = planLeft(spec({ machine_version: 'q35', kvm_pcie_spare_ports: 4, kvm_extra: extra }, 1, 0))
    assert.match(formatError(e), 'hvparams.kvm_extra')
  }
})

// ---------------------------------------------------------------------------------------------
// Hotplug

const uuid = (n: number): string => `${(0x20000000 + n).toString(16)}-1111-4222-8333-444455556666`
const disk = (n: number) => right(decodeDisk({ uuid: uuid(n), path: `/srv/hot${n}.raw` }))
const nic = (n: number) => right(decodeNic({ uuid: uuid(n), mac: `aa:00:00:00:01:${n.toString(16).padStart(2, '0')}`, backend: { type: 'user' } }))

const started = (hv: Record<string, unknown>, disks: number, nics: number): Runtime => {
  const input = spec({ machine_version: 'q35', ...hv }, disks, nics)
  const rt = right(toRuntime(decodeOk(input), planOk(input), { qmpSocket: '/tmp/vm1.qmp' }))
  // Through the file format, as a restart or another process would read it.
  return right(decodeRuntime(encodeRuntime(rt)))
}

const deviceAddArgs = (rt: Runtime, req: Parameters<typeof planHotAdd>[1]): Record<string, unknown> => {
  const plan = right(planHotAdd(rt, req))
  const last = plan.steps[plan.steps.length - 1]
  if (last === undefined || last._tag !== 'command' || last.command.execute !== 'device_add') return fail('expected device_add last')
  const args = last.command.arguments
  return typeof args === 'object' && args !== null && !Array.isArray(args) ? args : fail('no arguments')
}

test('hot-adds take the lowest free spare port at addr 0x0; running out names kvm_pcie_spare_ports', () => {
  let rt = started({ kvm_pcie_spare_ports: 3 }, 2, 1)
  // Ports 1–3 hold the two disks and the NIC; 4–6 are the spares.
  const a = deviceAddArgs(rt, { disk: disk(1) })
  assert.is(a['bus'], 'port4')
  assert.is(a['addr'], '0x0')
  rt = right(planHotAdd(rt, { disk: disk(1) })).after
  assert.is(deviceAddArgs(rt, { nic: nic(2) })['bus'], 'port5')
  rt = right(planHotAdd(rt, { nic: nic(2) })).after
  rt = right(planHotAdd(rt, { disk: disk(3) })).after
  const full = planHotAdd(rt, { disk: disk(4) })
  if (E.isRight(full)) return fail('expected no free port')
  assert.is(full.left._tag, 'NoSparePort')
  assert.match(formatError(full.left), 'hvparams.kvm_pcie_spare_ports')
  assert.match(formatError(full.left), `disk-${(0x20000004).toString(16)}-1111-4222`)
})

test('a hot-added IO-BAR NIC on q35 warns (its spare port has no IO window); virtio does not', () => {
  const e1000 = right(planHotAdd(started({ nic_type: 'e1000', kvm_pcie_spare_ports: 2 }, 1, 0), { nic: nic(7) }))
  assert.equal(e1000.warnings.map((w) => [w._tag, w.path]), [['IoSpace', 'hvparams.nic_type']])
  assert.equal(right(planHotAdd(started({ kvm_pcie_spare_ports: 2 }, 1, 0), { nic: nic(7) })).warnings, [])
})

test('hot-remove frees its port: the next hot-add takes it again', () => {
  let rt = started({ kvm_pcie_spare_ports: 2 }, 2, 0)
  rt = right(planHotAdd(rt, { disk: disk(1) })).after
  rt = right(planHotAdd(rt, { disk: disk(2) })).after
  // The first planned disk goes: its port (port1) is the lowest free one now.
  const removed = rt.disks[0]?.placed?.id ?? fail('no disk')
  rt = right(planHotRemove(rt, removed)).after
  assert.is(deviceAddArgs(rt, { nic: nic(3) })['bus'], 'port1')
})

test('a restarted runtime keeps its recorded ports, even if the hvparam default changes', () => {
  const rt = started({ kvm_pcie_spare_ports: 5 }, 1, 0)
  const argv = right(runtimeArgv(rt))
  assert.is(argv.filter((w) => w.includes('"pcie-root-port"')).length, 6)
  // The count is recorded in the runtime's hvparams too.
  assert.is(rt.hvparams['kvm_pcie_spare_ports'], 5)
})

test('refused in a runtime: a device at addr ≠ 0 behind a port, a port group without function 0', () => {
  const rt = started({ kvm_pcie_spare_ports: 2 }, 1, 0)
  const d0 = rt.disks[0]
  const placed = d0?.placed ?? fail('no disk')
  const moved: Runtime = { ...rt, disks: [{ ...(d0 ?? fail('no disk')), placed: { ...placed, address: { _tag: 'pci', bus: 'port1', slot: 1, function: 0 } } }] }
  const e = planHotAdd(moved, { disk: disk(1) })
  if (E.isRight(e)) return fail('expected a refusal')
  assert.is(e.left._tag, 'Unsupported')
  assert.match(formatError(e.left), 'addr 0x0')
  // Drop function 0 of the port slot from the typed devices.
  const stamp = rt.stamp ?? fail('no stamp')
  const devices = (stamp.devices ?? []).filter((d) => !(d.device.driver === 'pcie-root-port' && d.device.address._tag === 'pci' && d.device.address.function === 0))
  const gap: Runtime = { ...rt, stamp: { ...stamp, devices } }
  const g = planHotAdd(gap, { disk: disk(1) })
  if (E.isRight(g)) return fail('expected a refusal')
  assert.match(formatError(g.left), 'function 0')
  assert.ok(showLeft(g.left).length > 0)
})

test('a downgrade reports every disk and NIC behind a root port: older formats cannot express the place', () => {
  const rt = started({ kvm_pcie_spare_ports: 1 }, 2, 1)
  for (const format of ['pre-hvinfo', 'ganeti-2.16'] as const) {
    const { lost } = downgradeOk(rt, { format })
    const ids = [...rt.disks, ...rt.nics].map((d) => d.placed?.id ?? '')
    for (const id of ids) assert.ok(lost.some((l) => l.device === id && /port\d/.test(l.reason)), `${format}: ${id} in ${JSON.stringify(lost)}`)
  }
})

test.run()
