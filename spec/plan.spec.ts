/**
 * planDevices: placement (DOMAIN §3), hvinfo (§4), block graphs and the cache table (§5), boot.
 * Expected values are written from DOMAIN's rules, never computed by the planner's own helpers.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, planDevices, renderArgv, type BlockDevice, type BlockdevOptions, type DevplanError, type Disk, type Instance } from '../lib/index.js'
import { hv } from './support/placed.js'
import {
  decodeOk,
  diskFor,
  diskSpec,
  fail,
  ganetiId,
  GANETI_DISK_ID,
  GANETI_UUID,
  nicSpec,
  planE,
  planLeft,
  planOk,
  spec,
  uuidN,
  validSpecArb,
  version,
  type JsonObj
} from './support/fixtures.js'

const hex = (n: number): string => `0x${n.toString(16)}`

const busFull = (e: DevplanError): Extract<DevplanError, { _tag: 'BusFull' }> => (e._tag === 'BusFull' ? e : fail(`expected BusFull, got ${e._tag}: ${formatError(e)}`))

const invalid = (e: DevplanError): Extract<DevplanError, { _tag: 'InvalidInput' }> =>
  e._tag === 'InvalidInput' ? e : fail(`expected InvalidInput, got ${e._tag}: ${formatError(e)}`)

const node = (d: BlockDevice | undefined, name: string): BlockdevOptions =>
  d?.graph.nodes.find((n) => n['node-name'] === name) ?? fail(`no node ${name} in ${JSON.stringify(d?.graph)}`)

const field = (n: BlockdevOptions, key: string): unknown => (n as unknown as Record<string, unknown>)[key]

/** A decoded instance with `n` disks built directly, past the decoder's limit of 64. */
const withDisks = (inst: Instance, n: number): Instance => {
  const template = inst.disks[0] ?? fail('template disk missing')
  const disks: Disk[] = Array.from({ length: n }, (_, i) => ({ ...template, uuid: uuidN(i, 'c'), id: ganetiId('disk', uuidN(i, 'c')), source: { _tag: 'local', driver: 'file', path: `/d${i}` } }))
  return { ...inst, disks }
}

// ---------------------------------------------------------------------------------------------
// PCI

test('PCI: disks from kvm_pci_reservations upward, then NICs, lowest free first', () => {
  const tree = planOk(spec({}, 3, 2))
  assert.equal(tree.disks.map((d) => hv(d)), [0, 1, 2].map((i) => ({ driver: 'virtio-blk-pci', id: ganetiId('disk', uuidN(i, 'a')), bus: 'pci.0', addr: hex(0x10 + i) })))
  assert.equal(tree.nics.map((n) => hv(n)), [0, 1].map((i) => ({ driver: 'virtio-net-pci', id: ganetiId('nic', uuidN(i, 'b')), bus: 'pci.0', addr: hex(0x13 + i) })))
})

test('PCI: hvinfo keys in Ganeti order, addr a lowercase hex string', () => {
  const tree = planOk(spec({ kvm_pci_reservations: 26 }, 1, 0))
  const h = hv(tree.disks[0])
  assert.equal(Object.keys(h ?? {}), ['driver', 'id', 'bus', 'addr'])
  assert.is((h as { addr?: unknown } | undefined)?.addr, '0x1a')
})

test('PCI: every nic_type but ne2k_isa takes a slot after the disks', () => {
  const drivers: Record<string, string> = { paravirtual: 'virtio-net-pci', e1000: 'e1000', i82551: 'i82551', i82557b: 'i82557b', i82559er: 'i82559er', ne2k_pci: 'ne2k_pci', pcnet: 'pcnet', rtl8139: 'rtl8139' }
  for (const [nicType, driver] of Object.entries(drivers)) {
    const tree = planOk(spec({ nic_type: nicType }, 2, 1))
    assert.equal(hv(tree.nics[0]), { driver, id: ganetiId('nic', uuidN(0, 'b')), bus: 'pci.0', addr: '0x12' }, nicType)
  }
})

test('PCI: reservations 5 start at 0x05; reservations 0 start at the first slot the machine leaves (0x02)', () => {
  assert.is((hv(planOk(spec({ kvm_pci_reservations: 5 }, 1, 0)).disks[0]) as { addr: string }).addr, '0x5')
  const tree = planOk(spec({ kvm_pci_reservations: 0 }, 1, 1))
  // 0x00 host bridge and 0x01 PIIX3 belong to the pc machine (DOMAIN §9).
  assert.is((hv(tree.disks[0]) as { addr: string }).addr, '0x2')
  assert.is((hv(tree.nics[0]) as { addr: string }).addr, '0x3')
})

test('PCI: reservations 32 leave no slot: the first disk does not fit, named by its id', () => {
  const e = busFull(planLeft(spec({ kvm_pci_reservations: 32 }, 1, 0)))
  assert.is(e.bus, 'pci.0')
  assert.is(e.device, ganetiId('disk', uuidN(0, 'a')))
  assert.ok(formatError(e).includes(e.device))
})

test('PCI: 16 devices fill 0x10..0x1f exactly; the 17th is BusFull naming it (disk or NIC)', () => {
  const full = planOk(spec({}, 10, 6))
  const addrs = [...full.disks, ...full.nics].map((d) => (hv(d) as { addr: string }).addr)
  assert.equal(addrs, Array.from({ length: 16 }, (_, i) => hex(0x10 + i)))
  assert.is(addrs[15], '0x1f')
  const e1 = busFull(planLeft(spec({}, 17, 0)))
  assert.is(e1.device, ganetiId('disk', uuidN(16, 'a')))
  assert.is(e1.bus, 'pci.0')
  const e2 = busFull(planLeft(spec({}, 10, 7)))
  assert.is(e2.device, ganetiId('nic', uuidN(6, 'b')))
  // The message counts the slots that were usable, not the bus's 32.
  assert.match(formatError(e1), 'no free place on bus pci.0 from 16 to 31 (of its 32, those below 16 are reserved)')
})

test('PCI: ne2k_isa NICs take no slot; each gets a distinct iobase and irq; the 7th is BusFull', () => {
  const tree = planOk(spec({ nic_type: 'ne2k_isa' }, 1, 6))
  const infos = tree.nics.map((n) => hv(n) as unknown as Record<string, unknown>)
  for (const h of infos) {
    assert.is(h['driver'], 'ne2k_isa')
    assert.not.ok('addr' in h)
    assert.ok(typeof h['iobase'] === 'number' && typeof h['irq'] === 'number')
  }
  assert.is(new Set(infos.map((h) => h['iobase'])).size, 6)
  assert.is(new Set(infos.map((h) => h['irq'])).size, 6)
  // The disk still gets the first slot above the reservations: ISA NICs took nothing.
  assert.is((hv(tree.disks[0]) as { addr: string }).addr, '0x10')
  assert.is(busFull(planLeft(spec({ nic_type: 'ne2k_isa' }, 1, 7))).device, ganetiId('nic', uuidN(6, 'b')))
  // 16 disks and 6 ISA NICs fit: the NICs are not on pci.0.
  planOk(spec({ nic_type: 'ne2k_isa' }, 16, 6))
})

// ---------------------------------------------------------------------------------------------
// SCSI

const scsiHvinfo = (driver: string, id: string, target: number): Record<string, unknown> => ({ driver, id, bus: 'scsi.0', channel: 0, 'scsi-id': target, lun: 0 })

test('SCSI: one controller id=scsi inside the reserved range; targets 0,1,2… channel 0 lun 0', () => {
  for (const type of ['scsi-hd', 'scsi-block', 'scsi-generic', 'scsi-cd']) {
    const tree = planOk({ ...spec({ disk_type: type, scsi_controller_type: 'megasas' }, 0, 1), disks: [0, 1, 2].map((i) => diskFor(type, i)) })
    assert.is(tree.controllers.length, 1)
    const c = hv(tree.controllers[0])
    assert.is(c?.driver, 'megasas')
    assert.is(c?.id, 'scsi')
    assert.is(c?.bus, 'pci.0')
    const slot = parseInt((c?.addr ?? '').slice(2), 16)
    assert.ok(slot >= 2 && slot < 16, `controller at ${c?.addr ?? '?'} is outside the reserved range`)
    assert.equal(tree.disks.map((d) => hv(d)), [0, 1, 2].map((i) => scsiHvinfo(type, ganetiId('disk', uuidN(i, 'a')), i)))
    // SCSI disks take no PCI slot: the NIC gets the first one above the reservations.
    assert.is((hv(tree.nics[0]) as { addr: string }).addr, '0x10')
  }
})

test('SCSI: the controller is there for a scsi disk_type even with no disk; not for paravirtual', () => {
  assert.is(planOk(spec({ disk_type: 'scsi-hd', kernel_path: '/vmlinuz' }, 0, 0)).controllers.length, 1)
  assert.is(planOk(spec({}, 2, 0)).controllers.length, 0)
  assert.is(planOk(spec({ disk_type: 'ide' }, 2, 0)).controllers.length, 0)
})

test('SCSI: with reservations 0 the controller and disks still never share a slot', () => {
  const tree = planOk(spec({ disk_type: 'scsi-hd', kvm_pci_reservations: 0 }, 1, 3))
  const addrs = [hv(tree.controllers[0]).addr, ...tree.nics.map((n) => (hv(n) as { addr: string }).addr)]
  assert.is(new Set(addrs).size, addrs.length)
  assert.not.ok(addrs.includes('0x0') || addrs.includes('0x1'))
})

test('SCSI lsi: 8 targets (0-7); the 9th disk is BusFull naming disks[8]', () => {
  const tree = planOk(spec({ disk_type: 'scsi-hd' }, 8, 0))
  assert.equal(tree.disks.map((d) => (hv(d) as { 'scsi-id': number })['scsi-id']), [0, 1, 2, 3, 4, 5, 6, 7])
  const e = busFull(planLeft(spec({ disk_type: 'scsi-hd' }, 9, 0)))
  assert.is(e.bus, 'scsi.0')
  assert.is(e.device, ganetiId('disk', uuidN(8, 'a')))
  assert.ok(formatError(e).includes(ganetiId('disk', uuidN(8, 'a'))))
})

test('SCSI megasas: 128 targets (0-127); the 129th is BusFull', () => {
  const base = decodeOk(spec({ disk_type: 'scsi-hd', scsi_controller_type: 'megasas' }, 1, 0))
  const r = planDevices(withDisks(base, 128), { qemu: version('7.2') })
  if (E.isLeft(r)) return fail(formatError(r.left))
  assert.equal(r.right.disks.map((d) => (hv(d) as { 'scsi-id': number })['scsi-id']), Array.from({ length: 128 }, (_, i) => i))
  const l = planDevices(withDisks(base, 129), { qemu: version('7.2') })
  if (E.isRight(l)) return fail('129 disks on megasas planned')
  assert.is(busFull(l.left).device, ganetiId('disk', uuidN(128, 'c')))
})

test('SCSI virtio-scsi-pci: 256 targets (0-255); the 257th is BusFull', () => {
  const base = decodeOk(spec({ disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci' }, 1, 0))
  const r = planDevices(withDisks(base, 256), { qemu: version('7.2') })
  if (E.isLeft(r)) return fail(formatError(r.left))
  assert.is((hv(r.right.disks[255]) as { 'scsi-id': number })['scsi-id'], 255)
  assert.is(hv(r.right.controllers[0]).driver, 'virtio-scsi-pci')
  const l = planDevices(withDisks(base, 257), { qemu: version('7.2') })
  if (E.isRight(l)) return fail('257 disks on virtio-scsi planned')
  assert.is(busFull(l.left).device, ganetiId('disk', uuidN(256, 'c')))
})

test('SCSI CD-ROMs take the targets after the disks, never colliding; lsi full with CDs names the CD', () => {
  const tree = planOk(spec({ disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso', cdrom2_image_path: '/iso/b.iso' }, 2, 0))
  assert.equal(tree.cdroms.map((c) => hv(c)), [scsiHvinfo('scsi-cd', 'cdrom1', 2), scsiHvinfo('scsi-cd', 'cdrom2', 3)])
  const ids = [...tree.disks, ...tree.cdroms].map((d) => (hv(d) as { 'scsi-id': number })['scsi-id'])
  assert.is(new Set(ids).size, 4)
  assert.is(busFull(planLeft(spec({ disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso' }, 8, 0))).device, 'cdrom1')
  // With paravirtual disks and a scsi CD, the controller comes for the CD alone.
  const cdOnly = planOk(spec({ cdrom_disk_type: 'scsi-cd', cdrom_image_path: '/iso/a.iso' }, 1, 0))
  assert.is(cdOnly.controllers.length, 1)
  assert.equal(hv(cdOnly.cdroms[0]), scsiHvinfo('scsi-cd', 'cdrom1', 0))
})

// ---------------------------------------------------------------------------------------------
// IDE, CD-ROM drivers, floppy

test('IDE: ide disks and the ide CD fill ide.0/ide.1 units 0,1 in order; no PCI slot; a 5th is BusFull', () => {
  const tree = planOk(spec({ disk_type: 'ide', cdrom_image_path: '/iso/a.iso' }, 3, 1))
  const expected = [
    { bus: 'ide.0', unit: 0 },
    { bus: 'ide.0', unit: 1 },
    { bus: 'ide.1', unit: 0 }
  ]
  assert.equal(tree.disks.map((d) => hv(d)), expected.map((p, i) => ({ driver: 'ide-hd', id: ganetiId('disk', uuidN(i, 'a')), ...p })))
  assert.equal(hv(tree.cdroms[0]), { driver: 'ide-cd', id: 'cdrom1', bus: 'ide.1', unit: 1 })
  assert.is((hv(tree.nics[0]) as { addr: string }).addr, '0x10')
  assert.is(busFull(planLeft(spec({ disk_type: 'ide', cdrom_image_path: '/iso/a.iso' }, 4, 0))).device, 'cdrom1')
  assert.is(busFull(planLeft(spec({ disk_type: 'ide' }, 5, 0))).device, ganetiId('disk', uuidN(4, 'a')))
})

test('CD-ROM driver follows disk_type unless cdrom_disk_type is set (DOMAIN §1)', () => {
  const cases: Array<[JsonObj, string]> = [
    [{ disk_type: 'ide' }, 'ide-cd'],
    [{ disk_type: 'paravirtual' }, 'virtio-blk-pci'],
    [{ disk_type: 'scsi-hd' }, 'scsi-cd'],
    [{ disk_type: 'scsi-block' }, 'scsi-cd'],
    [{ disk_type: 'scsi-generic' }, 'scsi-cd'],
    [{ disk_type: 'paravirtual', cdrom_disk_type: 'ide' }, 'ide-cd'],
    [{ disk_type: 'ide', cdrom_disk_type: 'scsi-hd' }, 'scsi-cd'],
    [{ disk_type: 'scsi-hd', cdrom_disk_type: 'paravirtual' }, 'virtio-blk-pci']
  ]
  for (const [params, driver] of cases) {
    const tree = planOk({ ...spec({ ...params, cdrom_image_path: '/iso/a.iso' }, 0, 0), disks: [diskFor(String(params['disk_type']), 0)] })
    assert.is(hv(tree.cdroms[0]).driver, driver, JSON.stringify(params))
  }
})

test('a virtio CD-ROM takes a PCI slot QEMU would choose, leaving disk and NIC slots as Ganeti gives them', () => {
  const tree = planOk(spec({ cdrom_image_path: '/iso/a.iso' }, 2, 1))
  assert.equal(tree.disks.map((d) => (hv(d) as { addr: string }).addr), ['0x10', '0x11'])
  assert.is((hv(tree.nics[0]) as { addr: string }).addr, '0x12')
  const cd = (hv(tree.cdroms[0]) as { addr: string }).addr
  assert.not.ok(['0x0', '0x1', '0x10', '0x11', '0x12'].includes(cd), cd)
})

test('CD-ROM graphs: read-only raw over file, host_cdrom for /dev, http/https over curl', () => {
  const tree = planOk(spec({ cdrom_image_path: '/dev/sr0', cdrom2_image_path: 'https://mirror.example.org/d.iso' }, 1, 0))
  const [c1, c2] = tree.cdroms
  assert.equal(node(c1, 'cdrom1-file'), { driver: 'host_cdrom', 'node-name': 'cdrom1-file', 'read-only': true, filename: '/dev/sr0' } as unknown as BlockdevOptions)
  assert.equal(node(c1, 'cdrom1'), { driver: 'raw', 'node-name': 'cdrom1', 'read-only': true, file: 'cdrom1-file' } as unknown as BlockdevOptions)
  assert.is(c1?.graph.top, 'cdrom1')
  assert.is(field(node(c2, 'cdrom2-file'), 'driver'), 'https')
  assert.is(field(node(c2, 'cdrom2-file'), 'url'), 'https://mirror.example.org/d.iso')
  assert.is(field(node(c2, 'cdrom2-file'), 'read-only'), true)
  const http = planOk(spec({ cdrom_image_path: 'http://mirror.example.org/d.iso' }, 1, 0))
  assert.is(field(node(http.cdroms[0], 'cdrom1-file'), 'driver'), 'http')
  const file = planOk(spec({ cdrom_image_path: '/iso/a.iso' }, 1, 0))
  assert.is(field(node(file.cdroms[0], 'cdrom1-file'), 'driver'), 'file')
})

test('floppy: plain raw over file on floppy-bus.0 unit 0', () => {
  const tree = planOk(spec({ floppy_image_path: '/srv/fd.img' }, 1, 0))
  const f = tree.floppies[0]
  assert.equal(hv(f), { driver: 'floppy', id: 'floppy0', bus: 'floppy-bus.0', unit: 0 })
  assert.is(field(node(f, 'floppy0-file'), 'driver'), 'file')
  assert.is(field(node(f, 'floppy0-file'), 'filename'), '/srv/fd.img')
  assert.is(field(node(f, 'floppy0'), 'driver'), 'raw')
  assert.is(f?.graph.top, 'floppy0')
})

// ---------------------------------------------------------------------------------------------
// Target checks

test('io_uring is refused for QEMU 4.2 at hvparams.disk_aio; accepted from 5.0', () => {
  const e = invalid(planLeft(spec({ disk_aio: 'io_uring' }, 1, 0), '4.2'))
  assert.ok(e.errors.some((x) => x.path === 'hvparams.disk_aio' && x.value === 'io_uring'))
  assert.ok(formatError(e).includes('hvparams.disk_aio'))
  planOk(spec({ disk_aio: 'io_uring' }, 1, 0), '5.0')
})

test('machine types: pc and q35 are planned (from the target or machine_version), others refused at their field', () => {
  assert.is(planOk(spec({}, 1, 0), '7.2', 'q35').machine, 'q35')
  assert.is(planOk(spec({ machine_version: 'pc-q35-7.2' }, 1, 0)).machine, 'pc-q35-7.2')
  const c = invalid(planLeft(spec({ machine_version: 'virt' }, 1, 0)))
  assert.ok(c.errors.some((x) => x.path === 'hvparams.machine_version' && x.value === 'virt'))
  const d = invalid(planLeft(spec({}, 1, 0), '7.2', 'virt'))
  assert.ok(d.errors.some((x) => x.path === 'target.machine' && x.value === 'virt'))
  assert.is(planOk(spec({ machine_version: 'pc-i440fx-7.2' }, 1, 0)).machine, 'pc-i440fx-7.2')
  assert.is(planOk(spec({}, 1, 0)).machine, 'pc')
})

test('an unterminated quote in kvm_extra is refused at hvparams.kvm_extra', () => {
  const e = invalid(planLeft(spec({ kvm_extra: "-cpu 'host" }, 1, 0)))
  assert.ok(e.errors.some((x) => x.path === 'hvparams.kvm_extra'))
  assert.equal(planOk(spec({ kvm_extra: "-cpu host -smbios 'type=1,serial=a b'" }, 1, 0)).extra, ['-cpu', 'host', '-smbios', 'type=1,serial=a b'])
})

// ---------------------------------------------------------------------------------------------
// Ids

test('Ganeti ids: uuid 932df160-7a22-4067-a566-7e0ca8386133 gives disk-932df160-7a22-4067 for device, drive and top node', () => {
  const tree = planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/x' }], nics: [nicSpec(0, { uuid: GANETI_UUID })] }))
  const d = tree.disks[0]
  assert.is(hv(d).id, GANETI_DISK_ID)
  assert.is(d?.graph.top, GANETI_DISK_ID)
  assert.is(d?.uuid, GANETI_UUID)
  assert.is(hv(tree.nics[0]).id, 'nic-932df160-7a22-4067')
})

test('every id and node-name of a plan is a valid QEMU id (letter first, ≤31, [A-Za-z0-9._-]) and unique', () => {
  const grammar = /^[A-Za-z][A-Za-z0-9._-]{0,30}$/
  fc.assert(
    fc.property(validSpecArb, (s) => {
      const tree = planOk(s)
      const ids = [...tree.controllers, ...tree.disks, ...tree.cdroms, ...tree.floppies, ...tree.nics].map((d) => hv(d).id)
      const nodes = [...tree.disks, ...tree.cdroms, ...tree.floppies].flatMap((d) => d.graph.nodes.map((n) => n['node-name']))
      for (const x of [...ids, ...nodes]) assert.ok(grammar.test(x), x)
      assert.is(new Set(ids).size, ids.length)
      assert.is(new Set(nodes).size, nodes.length)
    }),
    { numRuns: 150 }
  )
})

test('property: placements never collide (PCI slot, SCSI target, IDE place, ISA place)', () => {
  fc.assert(
    fc.property(validSpecArb, (s) => {
      const tree = planOk(s)
      const places = [...tree.controllers, ...tree.disks, ...tree.cdroms, ...tree.floppies, ...tree.nics].map((d) => {
        const h = hv(d) as unknown as Record<string, unknown>
        return 'addr' in h ? `pci:${String(h['addr'])}` : 'scsi-id' in h ? `scsi:${String(h['scsi-id'])}` : 'unit' in h ? `${String(h['bus'])}:${String(h['unit'])}` : `isa:${String(h['iobase'])}:${String(h['irq'])}`
      })
      assert.is(new Set(places).size, places.length, places.join(' '))
      for (const p of places.filter((x) => x.startsWith('pci:'))) {
        const slot = parseInt(p.slice(6), 16)
        assert.ok(slot >= 2 && slot <= 0x1f, p)
      }
      const reservations = Number((s['hvparams'] as JsonObj)['kvm_pci_reservations'])
      for (const d of [...tree.disks, ...tree.nics]) {
        const a = (hv(d) as { addr?: string }).addr
        if (a !== undefined) assert.ok(parseInt(a.slice(2), 16) >= reservations, `${hv(d).id} at ${a} below ${reservations}`)
      }
    }),
    { numRuns: 150 }
  )
})

// ---------------------------------------------------------------------------------------------
// Block graphs

/** DOMAIN §5, the cache table, written out. */
const CACHE_TABLE: Record<string, { writeCache: 'on' | 'off'; direct: boolean; noFlush: boolean }> = {
  default: { writeCache: 'on', direct: false, noFlush: false },
  writeback: { writeCache: 'on', direct: false, noFlush: false },
  none: { writeCache: 'on', direct: true, noFlush: false },
  writethrough: { writeCache: 'off', direct: false, noFlush: false },
  directsync: { writeCache: 'off', direct: true, noFlush: false },
  unsafe: { writeCache: 'on', direct: false, noFlush: true }
}

test('cache table (DOMAIN §5): device write-cache; cache.direct and cache.no-flush on every node', () => {
  for (const [mode, want] of Object.entries(CACHE_TABLE)) {
    for (const diskType of ['paravirtual', 'scsi-hd', 'ide']) {
      const tree = planOk(spec({ disk_cache: mode, disk_type: diskType }, 1, 0))
      const d = tree.disks[0]
      assert.is(d?.writeCache, want.writeCache, `${mode} ${diskType}`)
      for (const n of d?.graph.nodes ?? []) assert.equal(n.cache, { direct: want.direct, 'no-flush': want.noFlush }, `${mode} ${n['node-name']}`)
    }
  }
})

test('scsi-block and scsi-generic have no write-cache property', () => {
  for (const t of ['scsi-block', 'scsi-generic']) assert.is(planOk({ ...spec({ disk_type: t }, 0, 0), disks: [diskFor(t, 0)] }).disks[0]?.writeCache, undefined)
})

test('aio on the protocol node of local disks; discard on the format node', () => {
  for (const aio of ['threads', 'native', 'io_uring']) {
    const tree = planOk(spec({ disk_aio: aio, disk_cache: 'none', disk_discard: 'unmap' }, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/dev/vg/lv' }] }))
    const d = tree.disks[0]
    const proto = node(d, `${GANETI_DISK_ID}-a-p`)
    assert.is(field(proto, 'driver'), 'host_device')
    assert.is(field(proto, 'filename'), '/dev/vg/lv')
    assert.is(field(proto, 'aio'), aio)
    const fmt = node(d, `${GANETI_DISK_ID}-a`)
    assert.is(field(fmt, 'driver'), 'raw')
    assert.is(field(fmt, 'file'), `${GANETI_DISK_ID}-a-p`)
    assert.is(field(fmt, 'discard'), 'unmap')
    assert.is(field(fmt, 'aio'), undefined)
  }
})

test('a read-only disk is read-only on its nodes; a rw disk is not', () => {
  const tree = planOk(spec({}, 0, 0, { disks: [diskSpec(0, { mode: 'ro' }), diskSpec(1)] }))
  for (const n of tree.disks[0]?.graph.nodes ?? []) assert.is(n['read-only'], true, n['node-name'])
  for (const n of tree.disks[1]?.graph.nodes ?? []) assert.not.ok(n['read-only'] === true, n['node-name'])
})

test('qcow2 backing chain: children first, named <id>-bN, each format node pointing at the one below, under the throttle filter <id>', () => {
  const id = GANETI_DISK_ID
  const tree = planOk(
    spec({}, 0, 0, {
      disks: [{ uuid: GANETI_UUID, path: '/srv/top.qcow2', format: 'qcow2', backing: [{ path: '/srv/mid.qcow2', format: 'qcow2' }, { path: '/srv/base.raw' }] }]
    })
  )
  const g = tree.disks[0]?.graph
  assert.is(g?.top, id)
  assert.equal(g?.nodes.map((n) => n['node-name']), [`${id}-b2-p`, `${id}-b2`, `${id}-b1-p`, `${id}-b1`, `${id}-a-p`, `${id}-a`, id])
  assert.equal(g?.nodes.map((n) => field(n, 'driver')), ['file', 'raw', 'file', 'qcow2', 'file', 'qcow2', 'throttle'])
  assert.equal(g?.objects, [{ 'qom-type': 'throttle-group', id: `throttle-${id}`, limits: {} }])
  const d = tree.disks[0]
  assert.is(field(node(d, id), 'file'), `${id}-a`)
  assert.is(field(node(d, id), 'throttle-group'), `throttle-${id}`)
  assert.is(field(node(d, `${id}-a`), 'backing'), `${id}-b1`)
  assert.is(field(node(d, `${id}-b1`), 'backing'), `${id}-b2`)
  // A raw base takes no backing member at all.
  assert.is(field(node(d, `${id}-b2`), 'backing'), undefined)
  assert.is(field(node(d, `${id}-b2-p`), 'filename'), '/srv/base.raw')
  assert.is(field(node(d, `${id}-b1-p`), 'filename'), '/srv/mid.qcow2')
  // Backing images are never written.
  for (const n of ['-b1', '-b1-p', '-b2', '-b2-p']) assert.is(field(node(d, `${id}${n}`), 'read-only'), true, n)
  assert.not.ok(field(node(d, `${id}-a`), 'read-only') === true)
  // Every node a node names exists earlier in the list.
  const seen = new Set<string>()
  for (const n of g?.nodes ?? []) {
    for (const ref of [field(n, 'file'), field(n, 'backing')]) if (typeof ref === 'string') assert.ok(seen.has(ref), `${n['node-name']} refers to ${ref} before it exists`)
    seen.add(n['node-name'])
  }
})

test('a qcow2 image at the base of its chain says backing null: nothing is probed from its header', () => {
  const tree = planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/srv/top.qcow2', format: 'qcow2' }] }))
  assert.is(field(node(tree.disks[0], `${GANETI_DISK_ID}-a`), 'backing'), null)
  const chained = planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/srv/top.qcow2', format: 'qcow2', backing: [{ path: '/srv/b.qcow2', format: 'qcow2' }] }] }))
  assert.is(field(node(chained.disks[0], `${GANETI_DISK_ID}-b1`), 'backing'), null)
})

test('a backing chain whose node-names would exceed 31 characters is refused at decode time, naming the field', () => {
  const chain = (n: number): JsonObj => spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, path: '/t', format: 'qcow2', backing: Array.from({ length: n }, (_, i) => ({ path: `/b${i}`, format: 'qcow2' })) }] })
  // The deepest of 9 is named <23-character id>-b9-p: 28 characters, within QEMU's 31; the
  // names of a graph without a filter (<id>-b9-file) reach 31.
  const longest = node(planOk(chain(9)).disks[0], `${GANETI_DISK_ID}-b9-p`)['node-name']
  assert.is(longest.length, 28)
  assert.is(node(planOk(chain(9), '6.0').disks[0], `${GANETI_DISK_ID}-b9-file`)['node-name'].length, 31)
  const r = decodeInstance(chain(10))
  assert.ok(E.isLeft(r) && invalid(r.left).errors.some((x) => x.path === 'disks[0].backing'), E.isLeft(r) ? formatError(r.left) : 'decoded')
})

test('rbd: protocol node with pool, image, user; raw on top', () => {
  const tree = planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri: 'rbd:rbd/vm1-disk0:id=admin' }] }))
  const p = node(tree.disks[0], `${GANETI_DISK_ID}-a-p`)
  assert.is(field(p, 'driver'), 'rbd')
  assert.is(field(p, 'pool'), 'rbd')
  assert.is(field(p, 'image'), 'vm1-disk0')
  assert.is(field(p, 'user'), 'admin')
  assert.is(field(p, 'aio'), undefined)
  assert.is(field(node(tree.disks[0], `${GANETI_DISK_ID}-a`), 'file'), `${GANETI_DISK_ID}-a-p`)
  const snap = planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri: 'rbd:rbd/img@snap1' }] }))
  assert.is(field(node(snap.disks[0], `${GANETI_DISK_ID}-a-p`), 'snapshot'), 'snap1')
  assert.is(field(node(snap.disks[0], `${GANETI_DISK_ID}-a-p`), 'user'), undefined)
})

test('gluster: a server list; inet with port as a string (24007 by default); unix socket form', () => {
  const g = (uri: string): Record<string, unknown> => node(planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri }] })).disks[0], `${GANETI_DISK_ID}-a-p`) as unknown as Record<string, unknown>
  const a = g('gluster://gl1.example.org/vol0/vm1/disk0.img')
  assert.is(a['driver'], 'gluster')
  assert.is(a['volume'], 'vol0')
  assert.is(a['path'], 'vm1/disk0.img')
  assert.equal(a['server'], [{ type: 'inet', host: 'gl1.example.org', port: '24007' }])
  assert.equal(g('gluster+tcp://gl1.example.org:24010/vol0/d.img')['server'], [{ type: 'inet', host: 'gl1.example.org', port: '24010' }])
  assert.equal(g('gluster://[fd00::1]/vol0/d.img')['server'], [{ type: 'inet', host: 'fd00::1', port: '24007' }])
  const u = g('gluster+unix:///vol0/d.img?socket=/run/glusterd.sock')
  assert.equal(u['server'], [{ type: 'unix', path: '/run/glusterd.sock' }])
  assert.is(u['volume'], 'vol0')
  assert.is(u['path'], 'd.img')
})

test('nbd and iscsi graphs', () => {
  const p = (uri: string): Record<string, unknown> => node(planOk(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri }] })).disks[0], `${GANETI_DISK_ID}-a-p`) as unknown as Record<string, unknown>
  const n = p('nbd://nbd.example.org/export0')
  assert.is(n['driver'], 'nbd')
  assert.equal(n['server'], { type: 'inet', host: 'nbd.example.org', port: '10809' })
  assert.is(n['export'], 'export0')
  const nu = p('nbd+unix:///export0?socket=/run/nbd.sock')
  assert.equal(nu['server'], { type: 'unix', path: '/run/nbd.sock' })
  const i = p('iscsi://san.example.org:3261/iqn.2000-01.com.example:storage/3')
  assert.is(i['driver'], 'iscsi')
  assert.is(i['transport'], 'tcp')
  assert.is(i['portal'], 'san.example.org:3261')
  assert.is(i['target'], 'iqn.2000-01.com.example:storage')
  assert.is(i['lun'], 3)
})

// ---------------------------------------------------------------------------------------------
// Boot

test('boot_order disk: bootindex on the first disk only (tree.boot names it)', () => {
  const tree = planOk(spec({}, 3, 2))
  assert.equal(tree.boot, { _tag: 'device', id: ganetiId('disk', uuidN(0, 'a')) })
})

test('boot_order cdrom → cdrom1; network → first NIC; floppy → legacy order=a', () => {
  assert.equal(planOk(spec({ boot_order: 'cdrom', cdrom_image_path: '/iso/a.iso', cdrom2_image_path: '/iso/b.iso' }, 1, 1)).boot, { _tag: 'device', id: 'cdrom1' })
  assert.equal(planOk(spec({ boot_order: 'network' }, 1, 2)).boot, { _tag: 'device', id: ganetiId('nic', uuidN(0, 'b')) })
  assert.equal(planOk(spec({ boot_order: 'floppy', floppy_image_path: '/fd.img' }, 1, 0)).boot, { _tag: 'floppy' })
})

test('kernel boot: no boot device; append is "root=<root_path> [console=ttyS0,<serial_speed>] <kernel_args>", as Ganeti writes it', () => {
  const tree = planOk(spec({ kernel_path: '/boot/vmlinuz', initrd_path: '/boot/initrd', root_path: '/dev/vda1', kernel_args: 'ro quiet', serial_console: false }, 1, 1))
  assert.equal(tree.boot, { _tag: 'kernel', kernel: '/boot/vmlinuz', initrd: '/boot/initrd', append: 'root=/dev/vda1 ro quiet' })
  const noRoot = planOk(spec({ kernel_path: '/boot/vmlinuz', kernel_args: 'quiet', serial_console: false }, 1, 0))
  assert.equal(noRoot.boot, { _tag: 'kernel', kernel: '/boot/vmlinuz', initrd: '', append: 'quiet' })
  const onlyRoot = planOk(spec({ kernel_path: '/boot/vmlinuz', root_path: '/dev/sda1', serial_console: false }, 1, 0))
  assert.equal(onlyRoot.boot, { _tag: 'kernel', kernel: '/boot/vmlinuz', initrd: '', append: 'root=/dev/sda1' })
  // serial_console is on by default (Ganeti's), at 38400 unless serial_speed says otherwise.
  const serial = planOk(spec({ kernel_path: '/boot/vmlinuz', root_path: '/dev/vda1', kernel_args: 'ro' }, 1, 0))
  assert.equal(serial.boot, { _tag: 'kernel', kernel: '/boot/vmlinuz', initrd: '', append: 'root=/dev/vda1 console=ttyS0,38400 ro' })
  const fast = planOk(spec({ kernel_path: '/boot/vmlinuz', serial_speed: 115200 }, 1, 0))
  assert.equal(fast.boot, { _tag: 'kernel', kernel: '/boot/vmlinuz', initrd: '', append: 'console=ttyS0,115200' })
})

test('the tree carries the instance: name, uuid, memory, vcpus, binary, target version', () => {
  const tree = planOk({ ...spec({ kvm_path: '/usr/bin/qemu-system-x86_64' }, 1, 0), vcpus: 3, memory: 768 }, '6.1')
  assert.is(tree.name, 'vm1.example.com')
  assert.is(tree.memory, 768)
  assert.is(tree.vcpus, 3)
  assert.is(tree.binary, '/usr/bin/qemu-system-x86_64')
  assert.equal(tree.qemu, { major: 6, minor: 1, micro: 0 })
  assert.is(planOk(spec({}, 1, 0)).binary, '/usr/bin/kvm')
})

test('planDevices never throws on generated valid specs for any target version from 2.9', () => {
  fc.assert(
    fc.property(validSpecArb, fc.integer({ min: 2, max: 9 }), fc.integer({ min: 0, max: 12 }), (s, major, minor) => {
      const r = planE(s, `${major}.${minor}`)
      if (E.isLeft(r)) {
        // Only the version can make a valid spec unplannable.
        const e = invalid(r.left)
        for (const x of e.errors) assert.ok(x.path === 'target.qemu' || x.path === 'hvparams.disk_aio', formatError(r.left))
      } else assert.ok(major > 2 || minor >= 9)
    }),
    { numRuns: 150 }
  )
})

test('targets: "7.2" and a version structure plan alike; bad versions and machines name target.*', () => {
  const inst = decodeOk(spec({}, 1))
  const a = planDevices(inst, { qemu: '7.2' })
  const b = planDevices(inst, { qemu: { major: 7, minor: 2, micro: 0 } })
  assert.ok(E.isRight(a) && E.isRight(b))
  assert.equal(a, b)
  for (const [t, path] of [
    [{ qemu: 'seven' }, 'target.qemu'],
    [{ qemu: 7 }, 'target.qemu'],
    [{ qemu: { major: 7, minor: -1, micro: 0 } }, 'target.qemu'],
    [{ qemu: '7.2', machine: 'PC!' }, 'target.machine']
  ] as const) {
    const r = planDevices(inst, t as never)
    assert.ok(E.isLeft(r) && invalid(r.left).errors.some((e) => e.path === path), `${JSON.stringify(t)} → ${E.isLeft(r) ? formatError(r.left) : 'planned'}`)
  }
})

test('kvm_flag: "disabled" plans TCG, otherwise KVM; renderArgv accel overrides', () => {
  const machineOf = (hv: JsonObj, accel?: 'tcg' | 'kvm'): string => {
    const tree = planOk(spec(hv, 1))
    const argv = renderArgv(tree, accel === undefined ? { qmpSocket: '/q' } : { qmpSocket: '/q', accel })
    return argv[argv.indexOf('-machine') + 1] ?? ''
  }
  assert.is(machineOf({}), 'type=pc,accel=kvm')
  assert.is(machineOf({ kvm_flag: 'enabled' }), 'type=pc,accel=kvm')
  assert.is(machineOf({ kvm_flag: 'disabled' }), 'type=pc,accel=tcg')
  assert.is(machineOf({ kvm_flag: 'disabled' }, 'kvm'), 'type=pc,accel=kvm')
})


// ---------------------------------------------------------------------------------------------
// Warnings: what the target deprecates

test('warnings: a gluster disk warns from QEMU 9.2 on, naming the disk; nothing else warns', () => {
  const gluster = { ...spec({}, 0, 0), disks: [diskSpec(0), diskSpec(1, { uri: 'gluster://gl1.example.com/vol0/vm1.img' })] }
  for (const [qemu, warns] of [['7.2', false], ['9.1', false], ['9.2', true], ['10.0', true]] as const) {
    const tree = planOk(gluster, qemu)
    const expected = warns ? [{ _tag: 'Deprecated', feature: 'gluster', path: 'disks[1].uri' }] : []
    assert.equal(tree.warnings.map((w) => ({ _tag: w._tag, feature: w._tag === 'Deprecated' ? w.feature : '', path: w.path })), expected, qemu)
    if (warns) assert.match(tree.warnings[0]?.message ?? '', /gluster block driver is deprecated since QEMU 9\.2 \(target /)
  }
  assert.equal(planOk(spec({}, 2, 1), '10.0').warnings, [])
})

test.run()
