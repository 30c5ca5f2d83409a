/**
 * decodeRuntime / encodeRuntime / parseRuntime: every generation decodes into one Runtime,
 * unknown dict keys survive, the stamp is checked, hostile JSON is refused with a path, and
 * nothing throws.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeRuntime, encodeRuntime, formatError, parseRuntime, type DevplanError } from '../../lib/index.js'
import { decodeOk, fixture, fixtureText, ganetiPciFileArb, plain, recordedArb, roundTrip, upgradeOk } from './support.js'
import { hv } from '../support/placed.js'

const UUID_A = '932df160-7a22-4067-a566-7e0ca8386133'
const PCI_HV = { driver: 'virtio-blk-pci', id: 'disk-932df160-7a22-4067', bus: 'pci.0', addr: '0x10' }
const file = (disks: unknown[] = [], nics: unknown[] = [], hv: unknown = {}, cmd: unknown = ['kvm']): unknown[] => [cmd, nics, hv, disks]
const disk = (dict: Record<string, unknown>, link: unknown = '/srv/d', uri: unknown = null): unknown[] => [{ uuid: UUID_A, hvinfo: PCI_HV, ...dict }, link, uri]

const invalid = (json: unknown): { paths: string[]; text: string } => {
  const r = decodeRuntime(json)
  if (E.isRight(r) || r.left._tag !== 'InvalidInput') {
    assert.unreachable(`expected InvalidInput, got ${JSON.stringify(r)}`)
    return { paths: [], text: '' }
  }
  return { paths: r.left.errors.map((e) => e.path), text: formatError(r.left) }
}

test('every generation decodes into one Runtime', () => {
  const g27 = decodeOk(fixture('ganeti-2.7-3elem.json'))
  assert.equal(g27.disks, [])
  assert.is(g27.nics.length, 2)
  assert.is(hv(g27.nics[0]), undefined)
  assert.is(g27.stamp, undefined)

  const g212 = decodeOk(fixture('ganeti-2.12-pci.json'))
  assert.equal(g212.disks.map((d) => hv(d)?.id), ['hotdisk-932df160-pci-4', 'hotdisk-9f5c5bd4-pci-5'])
  assert.equal(g212.nics.map((n) => hv(n)?.id), ['hotnic-c4a1e2f3-pci-6', 'hotnic-e9d8c7b6-pci-7'])
  assert.is(g212.disks[1]?.uri, 'rbd:rbd/db1-data')
  assert.is(g212.disks[0]?.link, '/var/run/ganeti/instance-disks/db1.example.com:0')
  assert.is(g212.disks[0]?.blockdev, undefined)
  assert.is(g212.nics[0]?.netdev, undefined)
  assert.equal(g212.nics[0]?.rest, { ip: null, nicparams: { mode: 'bridged', link: 'br0', vlan: '' }, name: null, network: null })

  const g30 = decodeOk(fixture('ganeti-3.0-hvinfo-scsi.json'))
  assert.equal(hv(g30.disks[1]), { driver: 'scsi-hd', id: 'disk-1b7a3e52-09c4-4f1e', bus: 'scsi.0', channel: 0, 'scsi-id': 1, lun: 0 })
  assert.is(g30.disks[1]?.rest['mode'], 'ro')

  const ours = decodeOk(fixture('qemu-devplan-v1.json'))
  assert.equal(ours.stamp, { format: 1, writer: 'qemu-devplan/0.1.0', qemu: '7.2.0' })
  assert.is(ours.disks[0]?.blockdev?.length, 4)
  assert.equal(ours.nics[0]?.netdev, { type: 'tap', id: 'nic-c4a1e2f3-8b7d-4e6c', fd: '31' })
})

test('decoding upgrades implicitly: a legacy file and its upgrade decode to the same Runtime', () => {
  for (const name of ['ganeti-2.7-3elem', 'ganeti-2.12-pci', 'ganeti-3.0-hvinfo-scsi']) {
    assert.equal(decodeOk(fixture(`${name}.json`)), decodeOk(fixture(`${name}.upgraded.json`)), name)
  }
})

test('unknown keys of disk and NIC dicts survive decode → encode, values and order', () => {
  const original = fixture('unknown-keys.json')
  const rt = decodeOk(original)
  assert.equal(Object.keys(rt.disks[0]?.rest ?? {}), ['10', 'billing', 'size', 'mode', 'name', 'snapshots'])
  assert.equal(Object.keys(rt.nics[0]?.rest ?? {}), ['x-orchestrator', 'nicparams', 'zz-last'])
  const encoded = plain(encodeRuntime(rt))
  assert.equal(encoded, original)
  assert.equal(decodeOk(encoded), rt)
})

test('encode keeps the stored hvinfo key order (Ganeti: driver, id, addr, bus)', () => {
  const rt = decodeOk(fixture('ganeti-2.12-pci.json'))
  const text = JSON.stringify(encodeRuntime(rt))
  assert.match(text, '{"driver":"virtio-blk-pci","id":"hotdisk-932df160-pci-4","addr":"0x4","bus":"pci.0"}')
  assert.equal(plain(encodeRuntime(rt)), plain(upgradeOk(fixture('ganeti-2.12-pci.json'))))
})

test('a stamped file encodes back to itself, byte for byte', () => {
  const text = fixtureText('qemu-devplan-v1.json')
  const rt = E.getOrElseW(() => undefined)(parseRuntime(text))
  assert.ok(rt !== undefined)
  if (rt !== undefined) assert.is(JSON.stringify(encodeRuntime(rt), null, 1) + '\n', text)
})

test('a stamp from a newer format is refused with the writer named; a malformed stamp names its field', () => {
  const r = decodeRuntime(fixture('too-new.json'))
  assert.ok(E.isLeft(r))
  if (E.isLeft(r)) assert.match(formatError(r.left), /qemu-devplan\/0\.9\.0.*format 3/)
  assert.equal(invalid([...file(), { format: 1, writer: 'w' }]).paths, ['stamp.qemu'])
  assert.equal(invalid([...file(), { format: '1', writer: 'w', qemu: '7.2' }]).paths, ['stamp.format'])
  assert.equal(invalid([...file(), { format: 1, writer: 'w', qemu: '7.2', extra: 1 }]).paths, ['stamp.extra'])
  assert.equal(invalid([...file(), [{ vcpu: 1 }]]).paths, ['stamp'])
})

test('wrong types are InvalidInput naming the path', () => {
  assert.equal(invalid(file([disk({ hvinfo: { ...PCI_HV, addr: 16 } })])).paths, ['disks[0].hvinfo.addr'])
  assert.equal(invalid(file([disk({ hvinfo: { ...PCI_HV, addr: '0x20' } })])).paths, ['disks[0].hvinfo.addr'])
  assert.equal(invalid(file([disk({ hvinfo: { ...PCI_HV, id: '9bad' } })])).paths, ['disks[0].hvinfo.id'])
  assert.equal(invalid(file([disk({ hvinfo: { ...PCI_HV, 'scsi-id': 1 } })])).paths, ['disks[0].hvinfo'])
  assert.equal(invalid(file([disk({ hvinfo: { driver: 'scsi-hd', id: 'd', bus: 'scsi.0', channel: 0, 'scsi-id': 1.5, lun: 0 } })])).paths, ['disks[0].hvinfo.scsi-id'])
  assert.equal(invalid(file([disk({ uuid: 42 })])).paths, ['disks[0].uuid'])
  assert.equal(invalid(file([disk({ mode: 'rwx' })])).paths, ['disks[0].mode'])
  assert.equal(invalid(file([], [{ uuid: 'u1', mac: 'nope', hvinfo: {} }])).paths, ['nics[0].mac'])
  assert.equal(invalid(file([], [{ uuid: 'u1', mac: 'aa:00:00:00:00:01', hvinfo: [] }])).paths, ['nics[0].hvinfo'])
  assert.equal(invalid(file([], [], [])).paths, ['hvparams'])
  const both = invalid(file([disk({ hvinfo: { ...PCI_HV, addr: 1 } })], [{ uuid: 'u1', mac: 'x', hvinfo: {} }]))
  assert.equal(both.paths.sort(), ['disks[0].hvinfo.addr', 'nics[0].mac'])
  assert.match(both.text, 'disks[0].hvinfo.addr: ')
})

test('recorded nodes and netdev are checked: only what this library writes is accepted', () => {
  const node = (n: Record<string, unknown>) => ({ driver: 'file', 'node-name': PCI_HV.id, filename: '/srv/vm1/disk0', ...n })
  assert.equal(invalid(file([disk({ blockdev: [node({ driver: 'vvfat' })] })])).paths, ['disks[0].blockdev[0].driver'])
  assert.equal(invalid(file([disk({ blockdev: [node({ 'node-name': 'other' })] })])).paths, ['disks[0].blockdev'])
  assert.equal(invalid(file([disk({ blockdev: [node({ file: 'not-yet-defined' })] })])).paths, ['disks[0].blockdev[0].file'])
  // Each driver's members must be there, of their kind: the node goes into -blockdev as it is.
  assert.equal(invalid(file([disk({ blockdev: [node({ driver: 'file', filename: undefined })] })])).paths, ['disks[0].blockdev[0].filename'])
  assert.equal(invalid(file([disk({ blockdev: [node({ driver: 'rbd', pool: 'rbd', image: 7 })] })])).paths, ['disks[0].blockdev[0].image'])
  assert.equal(invalid(file([disk({ blockdev: [] })])).paths, ['disks[0].blockdev'])
  assert.equal(invalid(file([disk({ hvinfo: {}, blockdev: [node({})] })])).paths, ['disks[0].blockdev'])
  // A key key=value syntax cannot escape (`x,filename` would add an option) is refused, at any depth.
  assert.equal(invalid(file([disk({ blockdev: [node({ 'x,filename': '/etc/shadow' })] })])).paths, ['disks[0].blockdev[0]["x,filename"]'])
  assert.equal(invalid(file([disk({ blockdev: [node({ cache: { 'direct=on,locking': 'off' } })] })])).paths, ['disks[0].blockdev[0].cache["direct=on,locking"]'])
  const nic = (netdev: unknown) => file([], [{ uuid: 'u1', mac: 'aa:00:00:00:00:01', hvinfo: { driver: 'e1000', id: 'n1', bus: 'pci.0', addr: '0x11' }, netdev }])
  assert.ok(E.isRight(decodeRuntime(nic({ type: 'user', id: 'n1' }))))
  assert.ok(E.isRight(decodeRuntime(nic({ type: 'tap', id: 'n1', fd: '3' }))))
  assert.equal(invalid(nic({ type: 'tap', id: 'n1', ifname: 'tap0', script: '/bin/evil', downscript: 'no' })).paths, ['nics[0].netdev'])
  assert.equal(invalid(nic({ type: 'user', id: 'n2' })).paths, ['nics[0].netdev'])
  assert.equal(invalid(nic({ type: 'socket', id: 'n1' })).paths, ['nics[0].netdev'])
})

test('duplicate uuids and device ids are refused', () => {
  assert.equal(invalid(file([disk({}), disk({ hvinfo: { ...PCI_HV, id: 'other', addr: '0x11' } })])).paths, ['disks[1].uuid'])
  const nic = { uuid: 'u1', mac: 'aa:00:00:00:00:01', hvinfo: { ...PCI_HV, driver: 'e1000', addr: '0x11' } }
  assert.equal(invalid(file([disk({})], [nic])).paths, ['nics[0].hvinfo.id'])
})

test('hostile JSON: prototype keys never pollute and are refused at any depth', () => {
  for (const text of [
    '[["kvm"],[],{"__proto__":{"polluted":1}},[]]',
    '[["kvm"],[{"uuid":"u","mac":"aa:00:00:00:00:01","hvinfo":{},"constructor":{"prototype":{"polluted":1}}}],{},[]]',
    '[["kvm"],[],{},[[{"uuid":"u","hvinfo":{},"x":[{"a":{"__proto__":{"polluted":1}}}]},"/l",null]]]',
    '[["kvm"],[],{},[[{"uuid":"u","hvinfo":{"__proto__":{"polluted":1}}},"/l",null]]]'
  ]) {
    const r = parseRuntime(text)
    assert.ok(E.isLeft(r), text)
    if (E.isLeft(r)) assert.match(formatError(r.left), /__proto__|constructor/)
    assert.is(({} as Record<string, unknown>)['polluted'], undefined)
    assert.is(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false)
  }
})

test('hostile JSON: huge arrays are bounded, deep nesting is refused cleanly', () => {
  const many = Array.from({ length: 1025 }, (_, i) => disk({ uuid: `u${i}` }))
  assert.equal(invalid(file(many)).paths, ['disks'])
  assert.equal(invalid(file([], Array.from({ length: 1025 }, () => ({})))).paths, ['nics'])
  let deep: unknown = 'x'
  for (let i = 0; i < 100000; i++) deep = [deep]
  const d = invalid(file([disk({ extra: deep })]))
  assert.is(d.paths.length, 1)
  assert.match(d.paths[0] ?? '', /^disks\[0\]\.extra(\[0\])+$/)
  const text = `[["kvm"],[],{"x":${'['.repeat(50000)}${']'.repeat(50000)}},[]]`
  assert.ok(E.isLeft(parseRuntime(text)))
  assert.equal(invalid(file([], [], {}, ['kvm', 'a\0b'])).paths, ['cmd[1]'])
})

test('parseRuntime: bad JSON, non-strings and oversized text are Left, never exceptions', () => {
  for (const text of ['', '[', '{"a":}', 'null', '[1,2,3]', '\u0000', 'NaN']) assert.ok(E.isLeft(parseRuntime(text)), JSON.stringify(text))
  assert.ok(E.isLeft(parseRuntime(42 as unknown as string)))
  assert.ok(E.isLeft(parseRuntime(' '.repeat(16 * 1024 * 1024 + 1))))
})

test('property: recorded runtimes survive encode → JSON text → decode unchanged', () => {
  fc.assert(
    fc.property(recordedArb, (r) => {
      if (r === undefined) return
      assert.equal(roundTrip(r.runtime), r.runtime)
      assert.is(JSON.stringify(encodeRuntime(roundTrip(r.runtime))), JSON.stringify(encodeRuntime(r.runtime)))
    }),
    { numRuns: 200 }
  )
})

test('property: Ganeti-written files: encode(decode(f)) equals upgrade(f) as JSON', () => {
  fc.assert(
    fc.property(ganetiPciFileArb, (f) => {
      const r = decodeRuntime(f)
      // Ganeti's hvparams may hold old values, but decoding does not interpret them.
      if (E.isLeft(r)) return assert.unreachable(formatError(r.left))
      assert.equal(plain(encodeRuntime(r.right)), plain(upgradeOk(f)))
    }),
    { numRuns: 300 }
  )
})

const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withObjectString: true, maxDepth: 5 })

const isDevplanError = (e: DevplanError): boolean => typeof formatError(e) === 'string'

test('property: decodeRuntime and parseRuntime never throw', () => {
  fc.assert(fc.property(anything, (u) => void E.mapLeft(isDevplanError)(decodeRuntime(u))), { numRuns: 1000 })
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (u) => void decodeRuntime(u)), { numRuns: 500 })
  const shaped = fc.tuple(fc.array(fc.string()), fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), fc.array(fc.tuple(fc.dictionary(fc.constantFrom('uuid', 'hvinfo', 'pci', 'blockdev', 'mode', '__proto__', 'x'), anything), anything, anything)))
  fc.assert(fc.property(shaped, (u) => void decodeRuntime(u)), { numRuns: 1000 })
  fc.assert(fc.property(fc.string(), (s) => void parseRuntime(s)), { numRuns: 500 })
})

test.run()
