/**
 * Values Ganeti 3.0.2 ignores (issue 13: "a value Ganeti ignores gets a warning in the plan, not
 * a refusal"): each is planned as Ganeti's hv_kvm runs it, and the plan carries an `Ignored`
 * warning naming the field. What Ganeti does is quoted from its hv_kvm/__init__.py; the
 * differential judge (spec/ganeti/judge.spec.ts) checks the same against Ganeti's own code.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeNic,
  decodeRuntime,
  netdevOptions,
  planChangeMedium,
  planHotAdd,
  renderArgv,
  runtimeArgv,
  toRuntime,
  type DeviceTree,
  type IgnoredWarning,
  type PlanWarning,
  type QmpPlan,
  type Runtime
} from '../lib/index.js'
import { right } from './support/either.js'
import { decodeOk, devicesOf, diskFor, nicSpec, planOk, spec, type JsonObj } from './support/fixtures.js'

const V72 = { major: 7, minor: 2, micro: 0 }
const tap = (fds: number[], vhostfds: number[] = []): JsonObj => ({ type: 'tap', fds, vhostfds })
const withNics = (hv: JsonObj, backends: JsonObj[], disks = 1): JsonObj => spec(hv, disks, 0, { nics: backends.map((b, i) => nicSpec(i, { backend: b })) })

const ignoredOf = (ws: ReadonlyArray<PlanWarning>): IgnoredWarning[] => ws.flatMap((w) => (w._tag === 'Ignored' ? [w] : []))
/** The one Ignored warning at `path`; its message must say what is ignored, and that Ganeti does so too. */
const ignoredAt = (ws: ReadonlyArray<PlanWarning>, path: string): IgnoredWarning => {
  const hits = ignoredOf(ws).filter((w) => w.path === path)
  assert.is(hits.length, 1, `one Ignored warning at ${path}: ${JSON.stringify(ws)}`)
  return hits[0]!
}
const noIgnored = (t: DeviceTree): void => assert.equal(ignoredOf(t.warnings), [], 'no Ignored warning')

/** A Ganeti 3.0 runtime (no netdev recorded) with one NIC at 0x11 under `hv`. */
const ganetiRuntime = (hv: JsonObj, driver = 'virtio-net-pci'): Runtime =>
  right(
    decodeRuntime([
      ['/usr/bin/kvm', '-name', 'vm1.example.com', '-m', 512],
      [{ mac: 'aa:00:00:0d:0e:0f', ip: null, nicparams: { mode: 'bridged', link: 'br0', vlan: '' }, name: null, uuid: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d', network: null, hvinfo: { driver, id: 'nic-5a6b7c8d-9e0f-4a1b', bus: 'pci.0', addr: '0x11' } }],
      { kvm_path: '/usr/bin/kvm', disk_type: 'paravirtual', kernel_path: '', ...hv },
      []
    ])
  )
const netdevOf = (argv: ReadonlyArray<string>): Record<string, unknown> => JSON.parse(argv[argv.indexOf('-netdev') + 1] ?? '{}') as Record<string, unknown>
const hotNic = (backend: JsonObj) => right(decodeNic({ uuid: '6a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d', mac: 'aa:00:00:0d:0e:10', backend }))
const hotPlan = (rt: Runtime, backend: JsonObj): QmpPlan => right(planHotAdd(rt, { nic: hotNic(backend) }))
const netdevAddOf = (p: QmpPlan): Record<string, unknown> => {
  const step = p.steps.find((s) => s._tag === 'command' && s.command.execute === 'netdev_add')
  return step?._tag === 'command' ? (step.command.arguments as Record<string, unknown>) : {}
}
const deviceAddOf = (p: QmpPlan): Record<string, unknown> => {
  const step = p.steps.find((s) => s._tag === 'command' && s.command.execute === 'device_add')
  return step?._tag === 'command' ? (step.command.arguments as Record<string, unknown>) : {}
}

// ---------------------------------------------------------------------------------------------
// virtio_net_queues without vhost_net. Ganeti 3.0.2, _GetNetworkDeviceFeatures: the queues are
// read inside `if up_hvp[constants.HV_VHOST_NET]:`, itself inside
// `if nic_type == constants.HT_NIC_PARAVIRTUAL:`; otherwise features["mq"] stays (False, 1).

test('virtio_net_queues 4 without vhost_net: one tap fd, one queue, no mq, and an Ignored warning', () => {
  const t = planOk(withNics({ virtio_net_queues: 4 }, [tap([30])]))
  const nic = t.nics[0]!
  assert.is(nic.queues, 1)
  assert.is(nic.vhost, false)
  const w = ignoredAt(t.warnings, 'hvparams.virtio_net_queues')
  assert.is(w.value, 4)
  assert.match(w.message, /vhost_net/)
  assert.match(w.message, /Ganeti 3\.0\.2/)
  const argv = renderArgv(t, { qmpSocket: '/tmp/q' })
  const dev = devicesOf(argv).find((d) => d['id'] === nic.id)
  assert.is(dev?.['mq'], undefined)
  assert.is(dev?.['vectors'], undefined)
  assert.equal(netdevOf(argv), { type: 'tap', id: nic.id, fd: '30' })
})

test('virtio_net_queues 4 with vhost_net on paravirtual: four fds, mq with 10 vectors, no warning', () => {
  const t = planOk(withNics({ virtio_net_queues: 4, vhost_net: true }, [tap([30, 31, 32, 33], [40, 41, 42, 43])]))
  assert.is(t.nics[0]!.queues, 4)
  noIgnored(t)
  const dev = devicesOf(renderArgv(t, { qmpSocket: '/tmp/q' })).find((d) => d['id'] === t.nics[0]!.id)
  assert.is(dev?.['mq'], true)
  assert.is(dev?.['vectors'], 10)
})

test('virtio_net_queues 4 on e1000 (with or without vhost_net): one queue, warned; no NIC, no warning', () => {
  for (const vhost of [false, true]) {
    const t = planOk(withNics({ nic_type: 'e1000', virtio_net_queues: 4, vhost_net: vhost }, [tap([30])]))
    assert.is(t.nics[0]!.queues, 1)
    ignoredAt(t.warnings, 'hvparams.virtio_net_queues')
  }
  noIgnored(planOk(spec({ virtio_net_queues: 4 })))
})

test('a tap by name: virtio_net_queues without vhost_net gives no queues= either', () => {
  const t = planOk(withNics({ virtio_net_queues: 4 }, [{ type: 'tap', ifname: 'tap7' }]))
  assert.equal(netdevOptions(t.nics[0]!), { type: 'tap', id: t.nics[0]!.id, ifname: 'tap7', script: 'no', downscript: 'no' })
  ignoredAt(t.warnings, 'hvparams.virtio_net_queues')
})

test('runtimeArgv of a Ganeti file with virtio_net_queues 4 and no vhost_net: one fd and no mq, as Ganeti ran it', () => {
  const rt = ganetiRuntime({ nic_type: 'paravirtual', virtio_net_queues: 4, vhost_net: false })
  const argv = right(runtimeArgv(rt, { qemu: V72, nicBackend: () => ({ type: 'tap', fds: [100], vhostfds: [] }) }))
  assert.equal(netdevOf(argv), { type: 'tap', id: 'nic-5a6b7c8d-9e0f-4a1b', fd: '100' })
  const dev = devicesOf(argv).find((d) => d['id'] === 'nic-5a6b7c8d-9e0f-4a1b')
  assert.is(dev?.['mq'], undefined)
})

test('planHotAdd on such a runtime: one tap fd is right, four are refused naming the field; the plan warns', () => {
  const rt = ganetiRuntime({ nic_type: 'paravirtual', virtio_net_queues: 4, vhost_net: false })
  const p = hotPlan(rt, tap([5]))
  assert.equal(netdevAddOf(p), { type: 'tap', id: 'nic-6a6b7c8d-9e0f-4a1b', fd: 'nic-6a6b7c8d-9e0f-4a1b-0' })
  assert.is(deviceAddOf(p)['mq'], undefined)
  ignoredAt(p.warnings, 'hvparams.virtio_net_queues')
  const four = planHotAdd(rt, { nic: hotNic(tap([5, 6, 7, 8])) })
  assert.ok(E.isLeft(four) && four.left._tag === 'InvalidInput' && four.left.errors.some((e) => e.path === 'nic.backend.fds' && /needs exactly 1 tap fd/.test(e.message)))
})

// ---------------------------------------------------------------------------------------------
// vhost_net on a NIC other than paravirtual. Ganeti 3.0.2: `if up_hvp[constants.HV_VHOST_NET]:`
// is only reached under `if nic_type == constants.HT_NIC_PARAVIRTUAL:`; `else: nic_model = nic_type`.

test('vhost_net on e1000: planned without vhost, with an Ignored warning; vhost fds are refused', () => {
  const t = planOk(withNics({ nic_type: 'e1000', vhost_net: true }, [tap([30])]))
  assert.is(t.nics[0]!.vhost, false)
  const w = ignoredAt(t.warnings, 'hvparams.vhost_net')
  assert.is(w.value, true)
  assert.match(w.message, /"e1000"/)
  assert.equal(netdevOf(renderArgv(t, { qmpSocket: '/tmp/q' })), { type: 'tap', id: t.nics[0]!.id, fd: '30' })
  const r = planOk(withNics({ nic_type: 'e1000', vhost_net: true }, [{ type: 'user' }]))
  ignoredAt(r.warnings, 'hvparams.vhost_net')
  noIgnored(planOk(withNics({ vhost_net: true }, [tap([30])])))
})

test('vhost_net on a Ganeti runtime of e1000 NICs: runtimeArgv renders no vhost, planHotAdd neither and warns', () => {
  const rt = ganetiRuntime({ nic_type: 'e1000', vhost_net: true }, 'e1000')
  const argv = right(runtimeArgv(rt, { qemu: V72, nicBackend: () => ({ type: 'tap', fds: [100], vhostfds: [] }) }))
  assert.is(netdevOf(argv)['vhost'], undefined)
  const p = hotPlan(rt, tap([5]))
  assert.is(netdevAddOf(p)['vhost'], undefined)
  ignoredAt(p.warnings, 'hvparams.vhost_net')
  const withVhostFds = planHotAdd(rt, { nic: hotNic(tap([5], [6])) })
  assert.ok(E.isLeft(withVhostFds) && withVhostFds.left._tag === 'InvalidInput' && withVhostFds.left.errors.some((e) => e.path === 'nic.backend.vhostfds'))
})

// ---------------------------------------------------------------------------------------------
// The second CD-ROM alone. Ganeti 3.0.2: `cdrom_image2 = hvp[constants.HV_KVM_CDROM2_IMAGE_PATH]`,
// `if cdrom_image2: self._CdromOption(kvm_cmd, cdrom_disk_type, cdrom_image2, False, False)`,
// whether or not there is a first: one -drive, placed by QEMU as the first would be.

test('cdrom2 alone keeps the id cdrom2 and takes the place cdrom1 would have (ide, virtio, scsi)', () => {
  for (const cdrom_disk_type of ['ide', 'paravirtual', 'scsi-cd']) {
    const alone = planOk(spec({ cdrom_disk_type, cdrom2_image_path: '/iso/b.iso' }, 2, 1))
    const first = planOk(spec({ cdrom_disk_type, cdrom_image_path: '/iso/b.iso' }, 2, 1))
    assert.equal(alone.cdroms.map((c) => c.id), ['cdrom2'])
    const { id: _a, graph: _ga, ...placeAlone } = alone.cdroms[0]!
    const { id: _b, graph: _gb, ...placeFirst } = first.cdroms[0]!
    assert.equal(placeAlone, placeFirst, cdrom_disk_type)
    // Disks and NICs keep their places; nothing is ignored.
    assert.equal([...alone.disks, ...alone.nics].map((d) => d.address), [...first.disks, ...first.nics].map((d) => d.address))
    noIgnored(alone)
  }
})

test('cdrom2 alone is recorded, and a medium change by id finds it', () => {
  const s = spec({ cdrom_disk_type: 'ide', cdrom2_image_path: '/iso/b.iso' })
  const rt = right(toRuntime(decodeOk(s), planOk(s), { qmpSocket: '/tmp/q' }))
  assert.ok(rt.stamp?.devices?.some((d) => d.device.id === 'cdrom2'))
  const p = right(planChangeMedium(rt, 'cdrom2', '/iso/c.iso'))
  assert.is(p.after.hvparams['cdrom2_image_path'], '/iso/c.iso')
})

test('boot_order cdrom boots cdrom1, and still needs cdrom_image_path (Ganeti refuses it too)', () => {
  const t = planOk(spec({ boot_order: 'cdrom', cdrom_image_path: '/iso/a.iso', cdrom2_image_path: '/iso/b.iso' }))
  assert.equal(t.boot, { _tag: 'device', id: 'cdrom1' })
})

// ---------------------------------------------------------------------------------------------
// initrd_path without kernel_path. Ganeti 3.0.2: `if kernel_path: ... initrd_path =
// hvp[constants.HV_INITRD_PATH]; if initrd_path: kvm_cmd.extend(["-initrd", initrd_path])`.

test('initrd_path without kernel_path: no -initrd, boot by boot_order, an Ignored warning', () => {
  const t = planOk(spec({ initrd_path: '/boot/initrd.img' }))
  assert.equal(t.boot, { _tag: 'device', id: t.disks[0]!.id })
  assert.ok(!renderArgv(t, { qmpSocket: '/tmp/q' }).includes('-initrd'))
  assert.is(ignoredAt(t.warnings, 'hvparams.initrd_path').value, '/boot/initrd.img')
  noIgnored(planOk(spec({ initrd_path: '/boot/initrd.img', kernel_path: '/boot/vmlinuz' })))
})

// ---------------------------------------------------------------------------------------------
// boot_order naming a device the instance lacks. Ganeti 3.0.2: `-boot c` only at the first disk
// (`for cfdev, link_name, uri in kvm_disks: ... if boot_disk: dev_opts.extend(["-boot", "c"])`),
// `-boot a` only `if floppy_image:`, but `if boot_network: kvm_cmd.extend(["-boot", "n"])`
// whether or not there is a NIC.

test('boot_order floppy without a floppy, disk without disks: no boot device, no -boot, an Ignored warning', () => {
  for (const [hv, disks] of [[{ boot_order: 'floppy' }, 1], [{ boot_order: 'disk' }, 0]] as const) {
    const t = planOk(spec(hv, disks, 1))
    assert.equal(t.boot, { _tag: 'none' })
    const argv = renderArgv(t, { qmpSocket: '/tmp/q' })
    assert.ok(!argv.includes('-boot'))
    assert.ok(!argv.some((w) => w.includes('bootindex')))
    assert.match(ignoredAt(t.warnings, 'hvparams.boot_order').message, /firmware picks/)
  }
})

test('boot_order network without a NIC: -boot order=n as Ganeti\'s -boot n, no bootindex, an Ignored warning', () => {
  const t = planOk(spec({ boot_order: 'network', cdrom_image_path: '/iso/a.iso' }, 1, 0))
  assert.equal(t.boot, { _tag: 'network' })
  const argv = renderArgv(t, { qmpSocket: '/tmp/q' })
  assert.equal(argv.slice(argv.indexOf('-boot'), argv.indexOf('-boot') + 2), ['-boot', 'order=n'])
  assert.ok(!argv.some((w) => w.includes('bootindex')))
  ignoredAt(t.warnings, 'hvparams.boot_order')
  // With a NIC, the first one boots by bootindex as before, and nothing is ignored.
  const n = planOk(spec({ boot_order: 'network' }, 1, 1))
  assert.equal(n.boot, { _tag: 'device', id: n.nics[0]!.id })
  noIgnored(n)
  // A kernel boot ignores boot_order altogether (and Ganeti does so too): no warning.
  noIgnored(planOk(spec({ boot_order: 'floppy', kernel_path: '/boot/vmlinuz' }, 0, 0)))
})

// ---------------------------------------------------------------------------------------------
// writethrough on a pass-through disk. Ganeti 3.0.2 writes `-drive ...,cache=writethrough` and
// `-device scsi-block,...`; scsi-block and scsi-generic send the guest's SCSI commands to the
// host device by SG_IO, and have no write-cache property: the device's own cache setting applies.

test('disk_cache writethrough / directsync on scsi-block and scsi-generic: an Ignored warning, no write-cache', () => {
  for (const disk_type of ['scsi-block', 'scsi-generic']) {
    for (const disk_cache of ['writethrough', 'directsync']) {
      const t = planOk(spec({ disk_type, disk_cache }, 0, 0, { disks: [diskFor(disk_type, 0)] }))
      assert.is(t.disks[0]!.writeCache, undefined)
      const w = ignoredAt(t.warnings, 'hvparams.disk_cache')
      assert.is(w.value, disk_cache)
      assert.match(w.message, /host device's own write cache/)
    }
    for (const disk_cache of ['default', 'writeback', 'none', 'unsafe']) noIgnored(planOk(spec({ disk_type, disk_cache }, 0, 0, { disks: [diskFor(disk_type, 0)] })))
    // Shared storage runs cache none whatever disk_cache says (Ganeti's rule): nothing is lost.
    noIgnored(planOk(spec({ disk_type, disk_cache: 'writethrough' }, 0, 0, { disks: [diskFor(disk_type, 0, { dev_type: 'blockdev' })] })))
    // No disk, nothing to warn about.
    noIgnored(planOk(spec({ disk_type, disk_cache: 'writethrough', kernel_path: '/boot/vmlinuz' }, 0, 0)))
  }
  noIgnored(planOk(spec({ disk_type: 'scsi-hd', disk_cache: 'writethrough' })))
})

test('planHotAdd of a pass-through disk under writethrough warns the same', () => {
  const s = spec({ disk_type: 'scsi-block', disk_cache: 'writethrough', kernel_path: '/boot/vmlinuz' }, 0, 0)
  const rt = right(toRuntime(decodeOk(s), planOk(s), { qmpSocket: '/tmp/q' }))
  const p = right(planHotAdd(rt, { disk: right(decodeDisk(diskFor('scsi-block', 1))) }))
  ignoredAt(p.warnings, 'hvparams.disk_cache')
})

test.run()
