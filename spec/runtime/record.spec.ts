/**
 * toRuntime and back: the runtime of a planned instance, and the command line rebuilt from the
 * runtime alone — byte-identical to renderArgv for recorded runtimes; derived the way Ganeti
 * started them for Ganeti's files.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cmdArgv, decodeInstance, decodeRuntime, decodeTarget, encodeRuntime, formatError, planDevices, renderArgv, renderSections, runtimeArgv, runtimeBlockDevices, runtimeNicDevices, toRuntime } from '../../lib/index.js'
import { decodeOk, fixture, recordedArb, right, roundTrip } from './support.js'
import { hv } from '../support/placed.js'

const V72 = { major: 7, minor: 2, micro: 0 }
const user = () => ({ type: 'user' as const })

const planned = () => {
  const doc = fixture('qemu-devplan-v1.spec.json') as { target: unknown; instance: unknown; render: { qmpSocket: string; accel: 'kvm' } }
  const instance = right(decodeInstance(doc.instance))
  const tree = right(planDevices(instance, right(decodeTarget(doc.target))))
  return { instance, tree, render: doc.render, argv: renderArgv(tree, doc.render) }
}

test('the stamped fixture rebuilds into the argv it was started with, byte for byte', () => {
  // qemu-devplan-v1.argv.json is what 0.1.0 (commit df5181c) rendered for the fixture's spec: a
  // runtime replays its own command line even after the renderer has changed.
  assert.equal(right(runtimeArgv(decodeOk(fixture('qemu-devplan-v1.json')))), fixture('qemu-devplan-v1.argv.json'))
})

test('a runtime recorded now rebuilds into the argv its spec renders now, byte for byte', () => {
  const { instance, tree, render, argv } = planned()
  assert.equal(right(runtimeArgv(right(toRuntime(instance, tree, render)))), argv)
})

test('toRuntime: kvm_cmd is the argv without the disk and NIC options, which are in the records', () => {
  const { instance, tree, render } = planned()
  const rt = right(toRuntime(instance, tree, render, { writer: 'orchestrator/2.1' }))
  assert.equal({ format: rt.stamp?.format, writer: rt.stamp?.writer, qemu: rt.stamp?.qemu }, { format: 2, writer: 'orchestrator/2.1', qemu: '7.2.0' })
  // The stamp's layout gives the sections of kvm_cmd; its devices are the tree's, typed.
  const s = renderSections(tree, render)
  assert.equal(rt.stamp?.layout, { head: s.head.length, controllers: s.controllers.length, devices: s.devices.length })
  assert.equal(rt.stamp?.devices?.map((d) => d.device), [...tree.controllers, ...tree.cdroms, ...tree.floppies, ...tree.machineDevices])
  assert.equal(rt.cmd, [...s.head, ...s.controllers, ...s.devices, ...s.tail])
  assert.not.ok(rt.cmd.some((w) => String(w).includes('disk-') || String(w).includes('nic-')), 'no disk or NIC option left in kvm_cmd')
  assert.ok(rt.cmd.some((w) => String(w).includes('cdrom1')) && rt.cmd.some((w) => String(w).includes('"id":"scsi"')), 'CD-ROM and controller stay in kvm_cmd')
  const [root, data] = rt.disks
  assert.equal(hv(root), hv(tree.disks[0]))
  assert.equal(root?.blockdev, tree.disks[0]?.graph.nodes)
  assert.is(root?.link, '/srv/vm/web1-root.qcow2')
  assert.is(root?.uri, null)
  assert.equal(root?.rest, { mode: 'rw', name: 'root' })
  assert.is(data?.link, '')
  assert.is(data?.uri, 'rbd:rbd/web1-data:id=web1')
  assert.equal(data?.rest, { mode: 'ro' })
  assert.equal(rt.nics[0]?.netdev, { type: 'tap', id: 'nic-c4a1e2f3-8b7d-4e6c', fd: '31' })
  assert.equal(rt.nics[1]?.rest, { name: 'mgmt' })
  assert.equal(rt.hvparams, { ...instance.hvparams })
})

test('toRuntime refuses a tree of another instance', () => {
  const { instance, tree, render } = planned()
  assert.ok(E.isLeft(toRuntime({ ...instance, disks: instance.disks.slice(1) }, tree, render)))
  assert.ok(E.isLeft(toRuntime({ ...instance, nics: [] }, tree, render)))
})

test('a stamp whose typed devices are not the words of kvm_cmd is refused, naming stamp.devices', () => {
  const { instance, tree, render } = planned()
  const json = encodeRuntime(right(toRuntime(instance, tree, render)))
  const stamp = json[4] as Record<string, unknown>
  const devices = stamp['devices'] as Array<{ device: Record<string, unknown> }>
  const edited = devices.map((d) => (d.device['id'] === 'cdrom1' ? { ...d, device: { ...d.device, driver: 'scsi-hd' } } : d))
  const r = decodeRuntime([...json.slice(0, 4), { ...stamp, devices: edited }])
  assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors[0]?.path === 'stamp.devices', JSON.stringify(r))
  const moved = decodeRuntime([...json.slice(0, 4), { ...stamp, layout: { ...(stamp['layout'] as object), head: 3 } }])
  assert.ok(E.isLeft(moved) && moved.left._tag === 'InvalidInput' && moved.left.errors[0]?.path === 'stamp.devices', JSON.stringify(moved))
})

test('property: runtimeArgv(toRuntime(plan)) === renderArgv(plan), byte for byte, also after writing and reading the file', () => {
  let checked = 0
  fc.assert(
    fc.property(recordedArb, (r) => {
      if (r === undefined) return
      checked++
      assert.equal(right(runtimeArgv(r.runtime)), r.argv)
      assert.equal(right(runtimeArgv(roundTrip(r.runtime))), r.argv)
    }),
    { numRuns: 600 }
  )
  assert.ok(checked > 300, `only ${checked} plans`)
})

test('property: the devices rebuilt from a runtime are the planned devices', () => {
  fc.assert(
    fc.property(recordedArb, (r) => {
      if (r === undefined) return
      const rt = roundTrip(r.runtime)
      assert.equal(right(runtimeBlockDevices(rt)), r.tree.disks)
      assert.equal(right(runtimeNicDevices(rt)), r.tree.nics)
    }),
    { numRuns: 300 }
  )
})

test('a Ganeti file: devices appended NICs first (as Ganeti executes it), nodes derived from link, uri and hvparams', () => {
  const rt = decodeOk(fixture('ganeti-2.12-pci.json'))
  assert.ok(E.isLeft(runtimeArgv(rt, { nicBackend: user })), 'no stamp and no qemu: which syntax?')
  const noBackend = runtimeArgv(rt, { qemu: V72 })
  assert.ok(E.isLeft(noBackend) && formatError(noBackend.left).includes('nics[0].netdev'))
  const argv = right(runtimeArgv(rt, { qemu: V72, nicBackend: (_n, i) => ({ type: 'tap', fds: [40 + i], vhostfds: [] }) }))
  assert.equal(argv.slice(0, rt.cmd.length), cmdArgv(rt.cmd))
  // Ganeti wrote -m 2048 as a JSON number: the runtime keeps the number, the argv has its string.
  assert.is(rt.cmd[rt.cmd.indexOf('-m') + 1], 2048)
  assert.is(argv[argv.indexOf('-m') + 1], '2048')
  assert.ok(argv.every((w) => typeof w === 'string'))
  const tail = argv.slice(rt.cmd.length)
  assert.equal(tail.filter((_, i) => i % 2 === 0), ['-netdev', '-device', '-netdev', '-device', '-blockdev', '-blockdev', '-device', '-blockdev', '-blockdev', '-device'])
  const json = tail.filter((_, i) => i % 2 === 1).map((w) => JSON.parse(w) as Record<string, unknown>)
  assert.equal(json[0], { type: 'tap', id: 'hotnic-c4a1e2f3-pci-6', fd: '40' })
  assert.equal(json[1], { driver: 'virtio-net-pci', id: 'hotnic-c4a1e2f3-pci-6', addr: '0x6', bus: 'pci.0', netdev: 'hotnic-c4a1e2f3-pci-6', mac: 'aa:00:00:11:22:33' })
  // drbd8 is a block device behind the link; cache none → O_DIRECT; aio native from hvparams.
  assert.equal(json[4], { driver: 'host_device', 'node-name': 'hotdisk-932df160-pci-4-file', cache: { direct: true, 'no-flush': false }, discard: 'ignore', filename: '/var/run/ganeti/instance-disks/db1.example.com:0', aio: 'native' })
  assert.equal(json[6], { driver: 'virtio-blk-pci', id: 'hotdisk-932df160-pci-4', addr: '0x4', bus: 'pci.0', drive: 'hotdisk-932df160-pci-4', 'write-cache': 'on', bootindex: 1 })
  // The userspace disk is opened through its URI.
  assert.equal(json[7], { driver: 'rbd', pool: 'rbd', image: 'db1-data', 'node-name': 'hotdisk-9f5c5bd4-pci-5-file', cache: { direct: true, 'no-flush': false }, discard: 'ignore' })
})

test('a Ganeti file without NICs gets -net none; devices without placement cannot be rebuilt', () => {
  const disk = [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', hvinfo: { driver: 'virtio-blk-pci', id: 'd1', bus: 'pci.0', addr: '0x5' }, mode: 'ro', dev_type: 'file' }, '/srv/d.img', null]
  const argv = right(runtimeArgv(decodeOk([['kvm'], [], {}, [disk]]), { qemu: { major: 6, minor: 0, micro: 0 } }))
  assert.equal(argv.slice(0, 3), ['kvm', '-net', 'none'])
  // QEMU 6.0: key=value syntax; a file-backed, read-only raw image.
  assert.is(argv[4], 'driver=file,node-name=d1-file,read-only=on,cache.direct=off,cache.no-flush=off,discard=ignore,filename=/srv/d.img,aio=threads')
  assert.is(argv[8], 'driver=virtio-blk-pci,id=d1,bus=pci.0,addr=0x5,drive=d1,write-cache=on,bootindex=1')
  const unplaced = runtimeArgv(decodeOk(fixture('ganeti-2.7-3elem.json')), { qemu: V72, nicBackend: user })
  assert.ok(E.isLeft(unplaced) && unplaced.left._tag === 'Unsupported')
  const badDriver = runtimeBlockDevices(decodeOk([['kvm'], [], {}, [[{ ...disk[0] as object, hvinfo: { driver: 'usb-storage', id: 'd1', bus: 'pci.0', addr: '0x5' } }, '/d', null]]]))
  assert.ok(E.isLeft(badDriver) && badDriver.left._tag === 'Unsupported')
})

test('a Ganeti disk under disk_type ide (driver "ide", a PCI slot QEMU never used) rebuilds as the ide-hd QEMU made of its -drive if=ide', () => {
  // Ganeti starts it as -drive if=ide, which QEMU puts at the next IDE place after kvm_cmd's own
  // IDE drives (here one CD-ROM): ide.0 unit 1, then ide.1 unit 0.
  const ide = (n: number): unknown => [{ uuid: `932df160-7a22-4067-a566-7e0ca838613${n}`, hvinfo: { driver: 'ide', id: `d${n}`, bus: 'pci.0', addr: `0x${(5 + n).toString(16)}` }, dev_type: 'plain' }, `/dev/vg/d${n}`, null]
  const rt = decodeOk([['kvm', '-drive', 'file=/srv/a.iso,media=cdrom,format=raw,if=ide'], [], { disk_type: 'ide' }, [ide(1), ide(2)]])
  const devices = right(runtimeBlockDevices(rt))
  assert.equal(devices.map((d) => [d.driver, d.id, d.address]), [
    ['ide-hd', 'd1', { _tag: 'unit', bus: 'ide.0', unit: 1 }],
    ['ide-hd', 'd2', { _tag: 'unit', bus: 'ide.1', unit: 0 }]
  ])
  const fifth = decodeOk([['kvm'], [], { disk_type: 'ide' }, [1, 2, 3, 4, 5].map(ide)])
  const r = runtimeBlockDevices(fifth)
  assert.ok(E.isLeft(r) && r.left._tag === 'Unsupported' && /fourth IDE place/.test(formatError(r.left)), JSON.stringify(r))
})

test('a Ganeti SCSI file rebuilds with the SCSI placement it recorded', () => {
  const rt = decodeOk(fixture('ganeti-3.0-hvinfo-scsi.json'))
  const argv = right(runtimeArgv(rt, { qemu: V72, nicBackend: user }))
  const dev = argv.filter((w) => w.includes('"scsi-id":1'))
  assert.equal(dev.map((w) => JSON.parse(w) as unknown), [{ driver: 'scsi-hd', id: 'disk-1b7a3e52-09c4-4f1e', bus: 'scsi.0', channel: 0, 'scsi-id': 1, lun: 0, drive: 'disk-1b7a3e52-09c4-4f1e', 'write-cache': 'on' }])
  assert.ok(argv.some((w) => w.includes('"read-only":true') && w.includes('app1.example.com:1')))
})

test.run()
