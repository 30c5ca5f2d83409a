/**
 * decodeInstance: defaults (DOMAIN §1), every rejection as a Left InvalidInput whose text names the
 * field path and the value, and no input whatsoever making it throw.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, type DevplanError } from '../lib/index.js'
import { decodeOk, fail, diskSpec, GANETI_DISK_ID, GANETI_UUID, INSTANCE_UUID, nicSpec, spec, validSpecArb, type Json, type JsonObj } from './support/fixtures.js'

/** Decoding must fail with InvalidInput; returns the formatted text. */
const rejected = (input: unknown): { error: Extract<DevplanError, { _tag: 'InvalidInput' }>; text: string } => {
  const r = decodeInstance(input)
  if (E.isRight(r)) return fail(`expected a rejection of ${JSON.stringify(input)}`)
  if (r.left._tag !== 'InvalidInput') return fail(`expected InvalidInput, got ${r.left._tag}`)
  return { error: r.left, text: formatError(r.left) }
}

/** The rejection names `path` (as a line `path: …`) and shows `value` on that line. */
const rejects = (input: unknown, path: string, value?: Json): string => {
  const { error, text } = rejected(input)
  const line = text.split('\n').find((l) => l.startsWith(`${path}: `))
  assert.ok(line !== undefined, `no line for ${path} in:\n${text}`)
  assert.ok(error.errors.some((e) => e.path === path), `no error with path ${path}`)
  if (value !== undefined) assert.ok((line ?? '').includes(JSON.stringify(value)), `line for ${path} does not show ${JSON.stringify(value)}: ${line ?? ''}`)
  return line ?? ''
}

const withHv = (hv: JsonObj, disks = 1, nics = 0): JsonObj => spec(hv, disks, nics)

// ---------------------------------------------------------------------------------------------
// Defaults

test('every hvparam takes its DOMAIN §1 default when absent', () => {
  const inst = decodeOk({ name: 'vm1', uuid: INSTANCE_UUID, memory: 512, disks: [diskSpec(0)] })
  const h = inst.hvparams
  assert.is(h.disk_type, 'paravirtual')
  assert.is(h.nic_type, 'paravirtual')
  assert.is(h.scsi_controller_type, 'lsi')
  assert.is(h.kvm_pci_reservations, 16)
  assert.is(h.disk_cache, 'default')
  assert.is(h.disk_aio, 'threads')
  assert.is(h.disk_discard, 'ignore')
  assert.is(h.cdrom_image_path, '')
  assert.is(h.cdrom2_image_path, '')
  assert.is(h.cdrom_disk_type, '')
  assert.is(h.floppy_image_path, '')
  assert.is(h.boot_order, 'disk')
  assert.is(h.kernel_path, '')
  assert.is(h.initrd_path, '')
  assert.is(h.root_path, '')
  assert.is(h.kernel_args, '')
  assert.is(h.machine_version, '')
  assert.is(h.kvm_extra, '')
  assert.is(inst.nics.length, 0)
})

test('an empty hvparams object decodes like a missing one', () => {
  const a = decodeOk({ name: 'vm1', uuid: INSTANCE_UUID, memory: 512, disks: [diskSpec(0)] })
  const b = decodeOk({ name: 'vm1', uuid: INSTANCE_UUID, memory: 512, hvparams: {}, disks: [diskSpec(0)] })
  assert.equal(a, b)
})

test('disk defaults: rw, raw, a file below /srv and a block device below /dev', () => {
  const inst = decodeOk(spec({}, 0, 0, { disks: [diskSpec(0), { uuid: GANETI_UUID, path: '/dev/vg/lv0' }] }))
  const [d0, d1] = inst.disks
  assert.ok(d0 !== undefined && d1 !== undefined)
  assert.is(d0.readOnly, false)
  assert.is(d0.format, 'raw')
  assert.equal(d0.source, { _tag: 'local', driver: 'file', path: '/srv/vm1/disk0' })
  assert.equal(d1.source, { _tag: 'local', driver: 'host_device', path: '/dev/vg/lv0' })
  assert.is(d1.id, GANETI_DISK_ID)
})

test('mode ro makes a read-only disk; kind file overrides the /dev/ guess', () => {
  const inst = decodeOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/dev/shm/img', mode: 'ro', kind: 'file' }] }))
  assert.is(inst.disks[0]?.readOnly, true)
  assert.is(inst.disks[0]?.source._tag === 'local' ? inst.disks[0].source.driver : '', 'file')
})

test('ids follow Ganeti: disk-/nic- plus the first three uuid groups; a uuid may start with a digit', () => {
  const inst = decodeOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/x' }], nics: [{ uuid: '0c1d2e3f-4a5b-4c6d-8e7f-001122334455', mac: 'AA:00:00:35:D5:1F', backend: { type: 'user' } }] }))
  assert.is(inst.disks[0]?.id, 'disk-932df160-7a22-4067')
  assert.is(inst.nics[0]?.id, 'nic-0c1d2e3f-4a5b-4c6d')
  assert.is(inst.nics[0]?.mac, 'aa:00:00:35:d5:1f')
})

test('Ganeti hvparams the library does not model are accepted, and listed as such', () => {
  const inst = decodeOk({ ...withHv({ vnc_bind_address: '0.0.0.0', acpi: true, serial_console: true, cpu_type: 'host', usb_devices: '', migration_port: 8102, vnet_hdr: true }), network_port: 11000 })
  assert.equal(inst.unmodelled, [{ hvparam: 'usb_devices', value: '' }, { hvparam: 'vnet_hdr', value: true }])
})

// ---------------------------------------------------------------------------------------------
// Enumerations and retired values

test('disk_type "scsi" is refused naming its replacement "scsi-hd"', () => {
  const line = rejects(withHv({ disk_type: 'scsi' }), 'hvparams.disk_type', 'scsi')
  assert.ok(line.startsWith('hvparams.disk_type: "scsi" is no longer supported'), line)
  assert.ok(line.includes('"scsi-hd"'), line)
})

test('every retired -drive if= disk_type is refused and names a disk_type that exists', () => {
  const types = ['paravirtual', 'scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd', 'ide']
  for (const old of ['scsi', 'sd', 'mtd', 'pflash']) {
    const line = rejects(withHv({ disk_type: old }), 'hvparams.disk_type', old)
    assert.ok(line.includes('no longer supported'), line)
    assert.ok(types.some((t) => line.includes(`use "${t}"`)), `no replacement named: ${line}`)
  }
  assert.ok(rejects(withHv({ disk_type: 'sd' }), 'hvparams.disk_type').includes('"scsi-hd"'))
})

test('unknown enum values name the field and the value', () => {
  const cases: Array<[string, Json]> = [
    ['disk_type', 'virtio'],
    ['nic_type', 'virtio-net'],
    ['nic_type', 'ne2k-isa'],
    ['scsi_controller_type', 'pvscsi'],
    ['disk_cache', 'off'],
    ['disk_aio', 'posix'],
    ['disk_discard', 'on'],
    ['cdrom_disk_type', 'sata'],
    ['boot_order', 'hd'],
    ['disk_type', 'PARAVIRTUAL'],
    ['disk_cache', 5]
  ]
  for (const [key, value] of cases) rejects(withHv({ [key]: value }), `hvparams.${key}`, value)
})

test('out-of-range numbers are refused: kvm_pci_reservations 33/-1/1.5, memory, vcpus', () => {
  for (const v of [33, -1, 1.5, '16']) rejects(withHv({ kvm_pci_reservations: v }), 'hvparams.kvm_pci_reservations', v)
  for (const v of [0, 15, 0.5, '512', null]) rejects(spec({}, 1, 0, { memory: v }), 'memory', v)
  for (const v of [0, 256, 2.5]) rejects(spec({}, 1, 0, { vcpus: v }), 'vcpus', v)
  for (const v of [0, 9]) rejects(withHv({ virtio_net_queues: v }), 'hvparams.virtio_net_queues', v)
  decodeOk(withHv({ kvm_pci_reservations: 0 }))
  decodeOk(withHv({ kvm_pci_reservations: 32 }))
})

// ---------------------------------------------------------------------------------------------
// Unknown keys

test('a misspelt hvparam (disk_typ) is refused, not defaulted', () => {
  rejects(withHv({ disk_typ: 'scsi-hd' }), 'hvparams.disk_typ', 'scsi-hd')
})

test('unknown top-level, disk, nic, backend and backing keys are refused with their path', () => {
  rejects({ ...spec(), nmae: 'vm1' }, 'nmae', 'vm1')
  rejects(spec({}, 0, 0, { disks: [{ ...diskSpec(0), pth: '/x' }] }), 'disks[0].pth', '/x')
  rejects(spec({}, 1, 0, { nics: [{ ...nicSpec(0), macaddr: 'aa:00:00:00:00:09' }] }), 'nics[0].macaddr', 'aa:00:00:00:00:09')
  rejects(spec({}, 1, 0, { nics: [{ ...nicSpec(0), backend: { type: 'user', hostfwd: 'tcp::22-:22' } }] }), 'nics[0].backend.hostfwd', 'tcp::22-:22')
  rejects(spec({}, 0, 0, { disks: [{ ...diskSpec(0), format: 'qcow2', backing: [{ path: '/b', fromat: 'raw' }] }] }), 'disks[0].backing[0].fromat', 'raw')
})

test('missing required fields are named', () => {
  const { name: _n, ...noName } = spec()
  rejects(noName, 'name')
  const { uuid: _u, ...noUuid } = spec()
  rejects(noUuid, 'uuid')
  const { memory: _m, ...noMemory } = spec()
  rejects(noMemory, 'memory')
  rejects(spec({}, 0, 0, { disks: [{ path: '/x' }] }), 'disks[0].uuid')
  rejects(spec({}, 1, 0, { nics: [{ uuid: GANETI_UUID, backend: { type: 'user' } }] }), 'nics[0].mac')
  rejects(spec({}, 1, 0, { nics: [{ uuid: GANETI_UUID, mac: 'aa:00:00:00:00:01' }] }), 'nics[0].backend')
})

// ---------------------------------------------------------------------------------------------
// Ids

test('a uuid that cannot give a QEMU id is refused at disks[i].uuid / nics[i].uuid', () => {
  rejects(spec({}, 0, 0, { disks: [{ uuid: '932df160,7a22-4067-a566-7e0ca8386133', path: '/x' }] }), 'disks[0].uuid', '932df160,7a22-4067-a566-7e0ca8386133')
  rejects(spec({}, 0, 0, { disks: [{ uuid: '932df160 7a22-4067-a566-7e0ca8386133', path: '/x' }] }), 'disks[0].uuid')
  rejects(spec({}, 0, 0, { disks: [{ uuid: '932df160=7a22-4067-a566-7e0ca8386133', path: '/x' }] }), 'disks[0].uuid')
  rejects(spec({}, 0, 0, { disks: [{ uuid: 'é32df160-7a22-4067-a566-7e0ca8386133', path: '/x' }] }), 'disks[0].uuid')
  rejects(spec({}, 0, 0, { disks: [{ uuid: '', path: '/x' }] }), 'disks[0].uuid', '')
  // Too long: "disk-" + 27 characters is 32, one over QEMU's limit of 31.
  const long = 'abcdefghijklmnopqrstuvwxyz0-1111-2222'
  rejects(spec({}, 0, 0, { disks: [{ uuid: long, path: '/x' }] }), 'disks[0].uuid', long)
  rejects(spec({}, 1, 0, { nics: [{ uuid: 'nic,x-1-2', mac: 'aa:00:00:00:00:01', backend: { type: 'user' } }] }), 'nics[0].uuid')
  rejects(spec({}, 1, 0, { nics: [{ uuid: 'abcdefghijklmnopqrstuvwxyz0123-1-2', mac: 'aa:00:00:00:00:01', backend: { type: 'user' } }] }), 'nics[0].uuid')
})

test('a uuid whose id leaves no room for the block node-names is refused at disks[i].uuid (DOMAIN §2: node-names must fit too)', () => {
  // "disk-abcdefghijklmnopqrstuvwxyz" is a valid 31-character id, but its protocol node
  // ("<id>-file") cannot exist: QEMU refuses node-names over 31 characters.
  const uuid = 'abcdefghijklmnopqrstuvwxyz-1111-2222'
  rejects(spec({}, 0, 0, { disks: [{ uuid, path: '/x' }] }), 'disks[0].uuid', uuid)
})

test('duplicate derived ids are refused at the second device', () => {
  // Same first three groups, different uuids: same Ganeti id.
  const a = '932df160-7a22-4067-a566-7e0ca8386133'
  const b = '932df160-7a22-4067-ffff-000000000000'
  // The line shows the id both give and names the device it collides with.
  const d = rejects(spec({}, 0, 0, { disks: [{ uuid: a, path: '/a' }, { uuid: b, path: '/b' }] }), 'disks[1].uuid', 'disk-932df160-7a22-4067')
  assert.ok(d.includes('disks[0]'), d)
  const n = rejects(spec({}, 1, 0, { nics: [nicSpec(0, { uuid: a }), nicSpec(1, { uuid: b })] }), 'nics[1].uuid', 'nic-932df160-7a22-4067')
  assert.ok(n.includes('nics[0]'), n)
  // A disk and a NIC may share a uuid prefix: their ids differ by kind.
  decodeOk(spec({}, 0, 0, { disks: [{ uuid: a, path: '/a' }], nics: [nicSpec(0, { uuid: a })] }))
})

test('duplicate MACs are refused, whatever their case', () => {
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { mac: 'aa:00:00:00:00:01' }), nicSpec(1, { mac: 'aa:00:00:00:00:01' })] }), 'nics[1].mac', 'aa:00:00:00:00:01')
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { mac: 'aa:00:00:00:00:0a' }), nicSpec(1, { mac: 'AA:00:00:00:00:0A' })] }), 'nics[1].mac')
})

test('malformed MACs are refused', () => {
  for (const mac of ['aa:00:00:00:00', 'aa-00-00-00-00-01', 'zz:00:00:00:00:01', 'aa:00:00:00:00:01,x', '']) {
    rejects(spec({}, 1, 0, { nics: [nicSpec(0, { mac })] }), 'nics[0].mac', mac)
  }
})

// ---------------------------------------------------------------------------------------------
// Cross-field rules

test('disk_aio native needs disk_cache none or directsync', () => {
  for (const cache of ['default', 'writeback', 'writethrough', 'unsafe']) {
    const line = rejects(withHv({ disk_aio: 'native', disk_cache: cache }), 'hvparams.disk_aio', 'native')
    assert.ok(line.includes(cache), line)
  }
  decodeOk(withHv({ disk_aio: 'native', disk_cache: 'none' }))
  decodeOk(withHv({ disk_aio: 'native', disk_cache: 'directsync' }))
})

test('boot_order cdrom needs cdrom_image_path (Ganeti refuses it too); the others only warn (spec/parity.spec.ts)', () => {
  assert.ok(rejects(withHv({ boot_order: 'cdrom' }), 'hvparams.boot_order', 'cdrom').includes('cdrom_image_path'))
  decodeOk(withHv({ boot_order: 'cdrom', cdrom_image_path: '/iso/a.iso' }))
  // Ganeti 3.0.2 starts these, the firmware choosing the boot device: the plan warns.
  decodeOk(withHv({ boot_order: 'floppy' }))
  decodeOk(withHv({ boot_order: 'network' }, 1, 0))
  decodeOk(withHv({ boot_order: 'disk' }, 0, 1))
  decodeOk(withHv({ boot_order: 'floppy', floppy_image_path: '/fd.img' }))
  decodeOk(withHv({ boot_order: 'network' }, 0, 1))
})

test('a kernel boot needs no boot device; an initrd without a kernel decodes (ignored, with a warning)', () => {
  decodeOk(withHv({ boot_order: 'cdrom', kernel_path: '/boot/vmlinuz' }, 0, 0))
  decodeOk(withHv({ initrd_path: '/boot/initrd' }))
  decodeOk(withHv({ initrd_path: '/boot/initrd', kernel_path: '/boot/vmlinuz' }))
})

test('cdrom2 without cdrom decodes (Ganeti starts it alone)', () => {
  assert.is(decodeOk(withHv({ cdrom2_image_path: '/iso/b.iso' })).hvparams.cdrom2_image_path, '/iso/b.iso')
})

test('tap fds: one per virtio-net queue, and more than one queue only with vhost_net on paravirtual (Ganeti 3.0.2); one otherwise', () => {
  const tap = (fds: number[], vhostfds?: number[]): JsonObj => ({ type: 'tap', fds, ...(vhostfds !== undefined ? { vhostfds } : {}) })
  rejects(spec({ vhost_net: true, virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10]) })] }), 'nics[0].backend.fds', [10])
  rejects(spec({ virtio_net_queues: 1 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11]) })] }), 'nics[0].backend.fds', [10, 11])
  rejects(spec({ nic_type: 'e1000', virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11]) })] }), 'nics[0].backend.fds')
  // Without vhost_net Ganeti opens one tap fd whatever virtio_net_queues says; the error says why.
  const line = rejects(spec({ virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11]) })] }), 'nics[0].backend.fds', [10, 11])
  assert.match(line, /needs exactly 1 tap fd.*virtio_net_queues 2 counts only with vhost_net on nic_type "paravirtual"/)
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { backend: tap([]) })] }), 'nics[0].backend.fds')
  decodeOk(spec({ vhost_net: true, virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11]) })] }))
  decodeOk(spec({ virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10]) })] }))
  decodeOk(spec({ nic_type: 'e1000', virtio_net_queues: 4 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10]) })] }))
  decodeOk(spec({ nic_type: 'e1000', vhost_net: true, virtio_net_queues: 4 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10]) })] }))
  // vhost fds: need vhost (vhost_net on a paravirtual NIC) and one per tap fd.
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { backend: tap([10], [20]) })] }), 'nics[0].backend.vhostfds', [20])
  rejects(spec({ vhost_net: true, nic_type: 'e1000' }, 1, 0, { nics: [nicSpec(0, { backend: tap([10], [20]) })] }), 'nics[0].backend.vhostfds', [20])
  rejects(spec({ vhost_net: true, virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11], [20]) })] }), 'nics[0].backend.vhostfds')
  decodeOk(spec({ vhost_net: true, virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: tap([10, 11], [20, 21]) })] }))
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { backend: tap([-1]) })] }), 'nics[0].backend.fds[0]', -1)
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { backend: { type: 'vde' } })] }), 'nics[0].backend')
  rejects(spec({}, 1, 0, { nics: [nicSpec(0, { backend: { type: 'tap', ifname: 'tap0,script=/x' } })] }), 'nics[0].backend.ifname', 'tap0,script=/x')
})

test('vhost_net with a nic_type other than paravirtual decodes (Ganeti ignores it; the plan warns)', () => {
  assert.is(decodeOk(withHv({ vhost_net: true, nic_type: 'e1000' })).hvparams.vhost_net, true)
})

// ---------------------------------------------------------------------------------------------
// Paths and URIs

test('paths must be absolute and free of NUL', () => {
  rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: 'relative/disk' }] }), 'disks[0].path', 'relative/disk')
  rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/a\0b' }] }), 'disks[0].path')
  rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID }] }), 'disks[0].path')
  rejects(withHv({ cdrom_image_path: 'cd.iso' }), 'hvparams.cdrom_image_path', 'cd.iso')
  rejects(withHv({ cdrom_image_path: 'ftp://host/cd.iso' }), 'hvparams.cdrom_image_path', 'ftp://host/cd.iso')
  rejects(withHv({ floppy_image_path: 'http://host/fd.img' }), 'hvparams.floppy_image_path')
  rejects(withHv({ kernel_path: 'vmlinuz' }), 'hvparams.kernel_path', 'vmlinuz')
  rejects(withHv({ kernel_args: 'a\0b' }), 'hvparams.kernel_args')
  rejects(withHv({ kvm_path: 'kvm' }), 'hvparams.kvm_path', 'kvm')
  decodeOk(withHv({ cdrom_image_path: 'https://mirror.example.org/debian.iso' }))
})

test('bad userspace URIs are refused at disks[i].uri with the value', () => {
  const bad = [
    'rbd:pool',
    'rbd:pool/',
    'rbd:pool/image:mon_host=1.2.3.4',
    'rbd:pool/image:conf=relative.conf',
    'gluster://host/volume',
    'gluster+unix:///volume/img',
    'gluster://host/volume/img?transport=ib',
    'http://user:pw@host/image.raw',
    'http://',
    'nbd://',
    'nbd+unix:///export',
    'iscsi://user:secret@host/iqn.2000-01.com.example:t/0',
    'iscsi://:secret@host/iqn.2000-01.com.example:t/0',
    'iscsi://host/iqn.2000-01.com.example:t',
    'iscsi://host/iqn.2000-01.com.example:t/x',
    'ftp://host/image.raw',
    'not a uri',
    'gluster://host/vol/%zz'
  ]
  for (const uri of bad) rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri }] }), 'disks[0].uri', uri)
})

test('iscsi credentials are refused with a reason, not echoed as accepted', () => {
  const line = rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri: 'iscsi://user:secret@host/iqn.2000-01.com.example:t/0' }] }), 'disks[0].uri')
  assert.match(line, /credential|secret/i)
})

test('good userspace URIs decode', () => {
  for (const uri of [
    'rbd:rbd/vm1-disk0',
    'rbd:rbd/vm1-disk0:id=admin',
    'gluster://gl1.example.org/vol0/vm1/disk0.img',
    'gluster+unix:///vol0/disk0.img?socket=/run/gluster.sock',
    'nbd://nbd.example.org:10810/export0',
    'nbd+unix:///export0?socket=/run/nbd.sock',
    'iscsi://san.example.org/iqn.2000-01.com.example:storage/1'
  ]) {
    decodeOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri }] }))
  }
})

test('a backing chain needs a qcow2 image; at most 16 entries', () => {
  rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/x', backing: [{ path: '/b' }] }] }), 'disks[0].backing')
  const chain = Array.from({ length: 17 }, (_, i) => ({ path: `/b${i}` }))
  rejects(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/x', format: 'qcow2', backing: chain }] }), 'disks[0].backing')
})

test('the instance name and uuid are checked', () => {
  for (const name of ['', 'vm 1', 'vm1,guest=x', '-vm1', 'vm1\n']) rejects(spec({}, 1, 0, { name }), 'name', name)
  for (const uuid of ['', 'not-a-uuid', `${INSTANCE_UUID},x`]) rejects(spec({}, 1, 0, { uuid }), 'uuid', uuid)
})

test('several problems are all reported, one line each', () => {
  const { error, text } = rejected(spec({ disk_type: 'scsi', nic_type: 'virtio' }, 0, 0, { memory: 1, disks: [{ uuid: GANETI_UUID, path: 'rel' }] }))
  const paths = error.errors.map((e) => e.path)
  for (const p of ['hvparams.disk_type', 'hvparams.nic_type', 'memory', 'disks[0].path']) assert.ok(paths.includes(p), `${p} missing in ${paths.join(', ')}`)
  assert.is(text.split('\n').length, error.errors.length)
})

// ---------------------------------------------------------------------------------------------
// Non-objects at every level

test('non-objects at every level are refused with the path', () => {
  for (const j of [null, [], 'x', 0, true, undefined]) {
    const { error, text } = rejected(j)
    assert.ok(error.errors.some((e) => e.path === ''))
    assert.ok(text.startsWith('(input): '), text)
  }
  for (const j of [null, [], 'x', 1, true, [1]]) {
    rejects({ ...spec(), hvparams: j }, 'hvparams')
    if (!Array.isArray(j) || j.length > 0) {
      rejects({ ...spec(), disks: j }, Array.isArray(j) ? 'disks[0]' : 'disks')
      rejects({ ...spec(), nics: j }, Array.isArray(j) ? 'nics[0]' : 'nics')
    }
    rejects({ ...spec(), disks: [j] }, 'disks[0]')
    rejects({ ...spec(), nics: [j] }, 'nics[0]')
    rejects({ ...spec({}, 1, 0), nics: [nicSpec(0, { backend: j })] }, 'nics[0].backend')
    rejects({ ...spec({}, 0, 0), disks: [diskSpec(0, { format: 'qcow2', backing: [j] })] }, 'disks[0].backing[0]')
    if (!Array.isArray(j)) rejects({ ...spec({}, 0, 0), disks: [diskSpec(0, { format: 'qcow2', backing: j })] }, 'disks[0].backing')
  }
})

test('values of the wrong type name the path', () => {
  rejects(spec({}, 1, 0, { name: 42 }), 'name', 42)
  rejects(withHv({ vhost_net: 'yes' }), 'hvparams.vhost_net', 'yes')
  rejects(withHv({ cdrom_image_path: null }), 'hvparams.cdrom_image_path', null)
  rejects(spec({}, 0, 0, { disks: [{ uuid: 7, path: '/x' }] }), 'disks[0].uuid', 7)
  rejects(spec({}, 0, 0, { disks: [diskSpec(0, { mode: 'rwx' })] }), 'disks[0].mode', 'rwx')
  rejects(spec({}, 0, 0, { disks: [diskSpec(0, { format: 'vmdk' })] }), 'disks[0].format', 'vmdk')
})

test('a value nested thousands deep is named by its kind, as a shallow one is shown as JSON', () => {
  const nest = (depth: number, leaf: unknown, wrap: (v: unknown) => unknown): unknown => {
    let v = leaf
    for (let i = 0; i < depth; i++) v = wrap(v)
    return v
  }
  const message = (name: unknown): string => {
    const r = decodeInstance({ ...spec(), name })
    if (E.isRight(r)) throw new Error('a nested name must be refused')
    return formatError(r.left).split('\n')[0] ?? ''
  }
  // Deeper than JSON.stringify's stack: its kind, not a stack overflow's slow recovery.
  assert.match(message(nest(10_000, 'x', (v) => [v])), /got \[object Array\]$/)
  assert.match(message(nest(10_000, 'x', (v) => ({ a: v }))), /got \[object Object\]$/)
  // A few levels: the JSON, shortened.
  assert.match(message(nest(3, 'x', (v) => [v])), /got \[\[\["x"\]\]\]$/)
  assert.match(message(nest(100, 'x', (v) => [v])), /got \[{77}\.\.\.$/)
})

test('values JSON cannot show (bigint, cycles, null-prototype objects) are refused, not thrown', () => {
  const cyclic: Record<string, unknown> = {}
  cyclic['self'] = cyclic
  const inputs: unknown[] = [
    { ...spec(), hvparams: { nic_type: 1n } },
    { ...spec(), hvparams: { disk_type: 1n } },
    { ...spec(), hvparams: { disk_cache: cyclic } },
    { ...spec(), memory: Object.assign(Object.create(null) as object, { a: 1n }) },
    { ...spec(), disks: [Object.assign(Object.create(null) as object, { uuid: 1n })] },
    { ...spec(), name: Symbol('x') },
    { ...spec(), hvparams: { boot_order: () => 'disk' } }
  ]
  for (const input of inputs) {
    let r: ReturnType<typeof decodeInstance> | undefined
    try {
      r = decodeInstance(input)
    } catch (e) {
      assert.unreachable(`decodeInstance threw ${String(e)}`)
    }
    assert.ok(r !== undefined && E.isLeft(r))
    if (r !== undefined && E.isLeft(r)) {
      let text = ''
      try {
        text = formatError(r.left)
      } catch (e) {
        assert.unreachable(`formatError threw ${String(e)}`)
      }
      assert.ok(text.length > 0)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Never throws

const isEither = (r: unknown): boolean =>
  typeof r === 'object' && r !== null && ((r as { _tag?: unknown })._tag === 'Left' || (r as { _tag?: unknown })._tag === 'Right')

const checkTotal = (input: unknown): void => {
  const r = decodeInstance(input)
  assert.ok(isEither(r))
  if (E.isLeft(r)) {
    assert.is(r.left._tag, 'InvalidInput')
    const text = formatError(r.left)
    assert.ok(r.left._tag === 'InvalidInput' && r.left.errors.length > 0)
    assert.is(text.split('\n').length, r.left._tag === 'InvalidInput' ? r.left.errors.length : 1)
  }
}

test('property: decodeInstance(anything) never throws and returns an Either', () => {
  fc.assert(
    fc.property(
      fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withObjectString: true, maxDepth: 4 }),
      checkTotal
    ),
    { numRuns: 500 }
  )
})

type Path = ReadonlyArray<string | number>

const pathsOf = (v: Json, at: Path = []): Path[] => {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))]
  if (v !== null && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))]
  return [at]
}

const setAt = (v: Json, path: Path, value: Json | undefined): Json | undefined => {
  const [head, ...rest] = path
  if (head === undefined) return value
  if (Array.isArray(v) && typeof head === 'number') {
    const copy = [...v]
    const next = setAt(copy[head] ?? null, rest, value)
    if (next === undefined) copy.splice(head, 1)
    else copy[head] = next
    return copy
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof head === 'string') {
    const copy: JsonObj = { ...v }
    const next = setAt(copy[head] ?? null, rest, value)
    if (next === undefined) delete copy[head]
    else copy[head] = next
    return copy
  }
  return v
}

test('property: valid specs with any field replaced, removed or added never throw', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
    fc.record({ kind: fc.constant('remove' as const) }),
    fc.record({ kind: fc.constant('add' as const), key: fc.string({ maxLength: 12 }), value: fc.jsonValue({ maxDepth: 2 }) })
  )
  fc.assert(
    fc.property(validSpecArb, fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 3 }), (valid, mutations) => {
      let v: Json | undefined = valid
      for (const [pick, m] of mutations) {
        if (v === undefined) break
        const paths = pathsOf(v)
        const path = paths[pick % paths.length] ?? []
        v =
          m.kind === 'replace'
            ? setAt(v, path, m.value as Json)
            : m.kind === 'remove'
              ? setAt(v, path, undefined)
              : setAt(v, [...path, m.key], m.value as Json)
      }
      checkTotal(v)
    }),
    { numRuns: 400 }
  )
})

test('property: every generated valid spec decodes', () => {
  fc.assert(
    fc.property(validSpecArb, (s) => {
      const r = decodeInstance(s)
      if (E.isLeft(r)) throw new Error(formatError(r.left))
    }),
    { numRuns: 200 }
  )
})

test('property: a valid spec with one unknown key anywhere is refused naming that key', () => {
  fc.assert(
    fc.property(validSpecArb, fc.nat(), fc.constantFrom('typo', 'disk_typ', 'Name', 'pathh', '__proto__x'), (valid, pick, key) => {
      const objects = pathsOf(valid).filter((p) => {
        let cur: Json | undefined = valid
        for (const k of p) cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Record<string | number, Json>)[k]
        // Objects the decoder knows field by field (not lists, not the backend's one-key forms).
        return cur !== null && typeof cur === 'object' && !Array.isArray(cur)
      })
      const at = objects[pick % objects.length] ?? []
      const mutated = setAt(valid, [...at, key], 1)
      const expected = [...at, key].reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? k : `${acc}.${k}`), '')
      rejects(mutated, expected)
    }),
    { numRuns: 200 }
  )
})

test('an ide disk cannot be read-only (QEMU refuses ide-hd on a read-only node); scsi-hd and virtio can', () => {
  rejects({ ...spec({ disk_type: 'ide' }, 0), disks: [diskSpec(0, { mode: 'ro' })] }, 'disks[0].mode', 'ro')
  for (const t of ['scsi-hd', 'paravirtual']) decodeOk({ ...spec({ disk_type: t }, 0), disks: [diskSpec(0, { mode: 'ro' })] })
})

test('scsi-block and scsi-generic take a raw block device without backing chain only (QEMU: "cannot get SG_IO version number")', () => {
  const withDisks = (disk_type: string, ...disks: JsonObj[]): JsonObj => ({ ...spec({ disk_type }, 0), disks })
  const refused: Array<[string, JsonObj, string]> = [
    ['a file image', diskSpec(0, { path: '/srv/vm1/disk0' }), '/srv/vm1/disk0'],
    ['a qcow2 image on a block device', diskSpec(0, { path: '/dev/sdb', format: 'qcow2' }), '/dev/sdb'],
    ['a backing chain', diskSpec(0, { path: '/dev/sdb', format: 'qcow2', backing: [{ path: '/srv/base.qcow2', format: 'qcow2' }] }), '/dev/sdb'],
    ['an rbd URI', { uuid: diskSpec(0)['uuid'] ?? '', uri: 'rbd:rbd/img:id=vm1' }, 'rbd:rbd/img:id=vm1'],
    ['a /dev/ path declared a file', diskSpec(0, { path: '/dev/sdb', kind: 'file' }), '/dev/sdb']
  ]
  for (const t of ['scsi-block', 'scsi-generic']) {
    for (const [what, disk, value] of refused) {
      const line = rejects(withDisks(t, disk), 'disks[0]', value)
      assert.ok(line.includes(t), `${t} with ${what}: ${line}`)
    }
  }
  // The index names the offending disk, not the first one.
  rejects(withDisks('scsi-block', diskSpec(0, { path: '/dev/sdb' }), diskSpec(1, { path: '/srv/vm1/disk1' })), 'disks[1]', '/srv/vm1/disk1')
  // Raw block devices pass, by a /dev/ path or by kind "block".
  decodeOk(withDisks('scsi-block', diskSpec(0, { path: '/dev/sdb' })))
  decodeOk(withDisks('scsi-block', diskSpec(0, { path: '/dev/sdb', format: 'raw', mode: 'ro' })))
  decodeOk(withDisks('scsi-block', diskSpec(0, { path: '/srv/luns/lun0', kind: 'block' })))
  decodeOk(withDisks('scsi-generic', diskSpec(0, { path: '/dev/sg0' })))
  // The other frontends keep taking file images, qcow2 chains and URIs.
  for (const t of ['scsi-hd', 'paravirtual']) {
    decodeOk(withDisks(t, diskSpec(0, { path: '/srv/vm1/disk0', format: 'qcow2', backing: [{ path: '/srv/base.qcow2', format: 'qcow2' }] })))
    decodeOk(withDisks(t, { uuid: diskSpec(0)['uuid'] ?? '', uri: 'rbd:rbd/img:id=vm1' }))
  }
})

test('strings that are not well-formed Unicode are refused: QEMU would open another file', () => {
  const line = rejects({ ...spec({}, 0), disks: [diskSpec(0, { path: '/srv/a\uD800b' })] }, 'disks[0].path')
  assert.match(line, 'surrogate')
  rejects(spec({ cdrom_image_path: '/srv/\uDC00.iso' }), 'hvparams.cdrom_image_path')
  decodeOk({ ...spec({}, 0), disks: [diskSpec(0, { path: '/srv/\uD83D\uDE00.img' })] })
})

test('hostile inputs (a throwing getter, a Proxy) give an error, never a throw', () => {
  const getter = { ...spec({}, 1) }
  Object.defineProperty(getter, 'memory', { enumerable: true, get: () => { throw new Error('boom') } })
  const proxy = new Proxy(spec({}, 1), { ownKeys: () => { throw new Error('ownKeys boom') } })
  for (const input of [getter, proxy]) {
    const r = decodeInstance(input)
    assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput', JSON.stringify(r))
  }
})

test('disk and NIC uuids must be UUIDs: a short one would silently give an id Ganeti never used', () => {
  for (const bad of ['x', '-', '932df160-7a22-4067-a566', '932df160-7a22-4067-a566-7e0ca838613', 'g32df160-7a22-4067-a566-7e0ca8386133']) {
    rejects({ ...spec({}, 0), disks: [diskSpec(0, { uuid: bad })] }, 'disks[0].uuid', bad)
    rejects({ ...spec({ boot_order: 'network', kernel_path: '/k' }, 0), nics: [nicSpec(0, { uuid: bad })] }, 'nics[0].uuid', bad)
  }
})

test('one fd serves one queue of one NIC: the same fd on two NICs (or twice on one) is refused', () => {
  const tap = (fds: number[]) => ({ type: 'tap', fds })
  rejects({ ...spec({}, 1), nics: [nicSpec(0, { backend: tap([7]) }), nicSpec(1, { backend: tap([7]) })] }, 'nics[1].backend', 7)
  rejects({ ...spec({ virtio_net_queues: 2 }, 1), nics: [nicSpec(0, { backend: tap([5, 5]) })] }, 'nics[0].backend', 5)
  decodeOk({ ...spec({}, 1), nics: [nicSpec(0, { backend: tap([7]) }), nicSpec(1, { backend: tap([8]) })] })
})

test('messages speak the user\'s terms: one line per field, arrays, bigints, missing fields', () => {
  const one = (input: unknown, path: string): string => {
    const { error, text } = rejected(input)
    assert.is(error.errors.filter((e) => e.path === path).length, 1, `one error for ${path}: ${text}`)
    return text.split('\n').find((l) => l.startsWith(`${path}: `)) ?? ''
  }
  assert.is(one({ ...spec({}, 0), disks: [diskSpec(0, { size: '1G' })] }, 'disks[0].size'), 'disks[0].size: expected a number or null, got "1G"')
  assert.match(one({ ...spec({}, 0), disks: {} }, 'disks'), 'expected an array')
  assert.match(one({ ...spec({}, 1), memory: BigInt(512) }, 'memory'), 'got 512n')
  assert.match(one({ ...spec({}, 0), disks: [{ path: '/srv/a' }] }, 'disks[0].uuid'), /^disks\[0\]\.uuid: is required/)
})

test('a complete Ganeti 3.1 KVM hvparams dict decodes (every key of hv_kvm PARAMETERS)', () => {
  const ganeti = {
    kvm_path: '/usr/bin/kvm', kernel_path: '', initrd_path: '', root_path: '/dev/vda1', kernel_args: 'ro', acpi: true,
    serial_console: true, serial_speed: 38400, vnc_bind_address: '', vnc_tls: false, vnc_x509_path: '', vnc_x509_verify: false,
    vnc_password_file: '', spice_bind: '', spice_ip_version: 0, spice_password_file: '', spice_image_compression: '',
    spice_jpeg_wan_compression: '', spice_zlib_glz_wan_compression: '', spice_streaming_video: '', spice_playback_compression: true,
    spice_use_tls: false, spice_tls_ciphers: 'HIGH:-DES:-3DES:-EXPORT:-ADH', spice_use_vdagent: true, floppy_image_path: '',
    cdrom_image_path: '', cdrom2_image_path: '', boot_order: 'disk', nic_type: 'paravirtual', disk_type: 'paravirtual',
    scsi_controller_type: 'lsi', disk_discard: 'ignore', cdrom_disk_type: '', usb_mouse: '', keymap: '', migration_port: 8102,
    migration_bandwidth: 32, migration_downtime: 30, migration_mode: 'live', use_guest_agent: false, use_localtime: false,
    disk_cache: 'default', disk_aio: 'threads', security_model: 'none', security_domain: '', kvm_flag: '', vhost_net: false,
    virtio_net_queues: 1, use_chroot: false, user_shutdown: false, mem_path: '', reboot_behavior: 'reboot', cpu_mask: 'all',
    cpu_type: '', cpu_cores: 0, cpu_threads: 0, cpu_sockets: 0, soundhw: '', usb_devices: '', vga: '', kvm_extra: '',
    machine_version: '', migration_caps: '', kvm_pci_reservations: 12, vnet_hdr: true
  }
  decodeOk({ ...spec({}, 1), hvparams: ganeti })
})

test.run()
