/**
 * downgradeRuntime: PCI hvinfo back to `pci`, every device an older reader cannot express
 * reported (never silently dropped), and the round trip through upgrade.
 */
import { unfiltered } from '../../lib/runtime/downgrade.js'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runtimeArgv, upgradeRuntime, type Runtime } from '../../lib/index.js'
import { parseVersion } from '../../lib/qemu-version.js'
import { netdevBackend } from '../../lib/runtime/netdev.js'
import { decodeOk, fixture, ganetiPciFileArb, plain, recordedArb, right, upgradeOk } from './support.js'
import { downgradeOk } from '../support/either.js'

test('an upgraded pre-hvinfo file downgrades back to the file Ganeti wrote (pci slots, no hvinfo, no stamp)', () => {
  const original = fixture('ganeti-2.12-pci.json') as unknown[]
  const { json, lost } = downgradeOk(decodeOk(original), { format: 'pre-hvinfo' })
  // Every device carries over, and so does the -chroot the upgrade keeps (as Ganeti 3.0.2).
  assert.equal(lost.map((l) => l.device), [])
  assert.is(json.length, 4)
  // The devices are as Ganeti wrote them; kvm_cmd keeps its upgrade (older readers accept it).
  assert.equal(plain(json[1]), original[1])
  assert.equal(plain(json[3]), original[3])
  assert.equal(plain(json[0]), upgradeOk(original)[0])
  assert.equal(downgradeOk(decodeOk(original), { format: 'ganeti-2.15' }), downgradeOk(decodeOk(original), { format: 'pre-hvinfo' }))
})

test('SCSI placements and new-style ids are reported; every device is still written', () => {
  const rt = decodeOk(fixture('ganeti-3.0-hvinfo-scsi.json'))
  const { json, lost } = downgradeOk(rt, { format: 'pre-hvinfo' })
  assert.equal(lost.map((l) => l.device), ['nic-5a6b7c8d-9e0f-4a1b', 'disk-932df160-7a22-4067', 'disk-1b7a3e52-09c4-4f1e'])
  assert.match(lost[0]?.reason ?? '', 'hotnic-5a6b7c8d-pci-17')
  assert.match(lost[1]?.reason ?? '', 'SCSI placement on scsi.0')
  assert.is(json[1].length, 2)
  assert.is(json[3].length, 2)
  // The legacy-id NIC keeps its slot; the new-style one too (the slot is expressible, the id not).
  assert.is(json[1][0]?.['pci'], 6)
  assert.is(json[1][1]?.['pci'], 17)
  // SCSI disks: no pci, no hvinfo — the older reader starts them unplaced.
  assert.equal(Object.keys(json[3][0]?.[0] ?? {}).filter((k) => k === 'pci' || k === 'hvinfo'), [])
  assert.is(json[3][1]?.[0]['mode'], 'ro')
})

test('a driver the older reader would not derive from hvparams is reported', () => {
  const rt = decodeOk([['kvm'], [], { disk_type: 'paravirtual' }, [[{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', hvinfo: { driver: 'scsi-hd', id: 'hotdisk-932df160-pci-5', bus: 'pci.0', addr: '0x5' } }, '/dev/sdb', null]]])
  const { lost } = downgradeOk(rt, { format: 'pre-hvinfo' })
  assert.is(lost.length, 1)
  assert.match(lost[0]?.reason ?? '', 'virtio-blk-pci')
})

test('ganeti-2.16 keeps hvinfo, reports ids it would recompute differently and buses it does not track', () => {
  const legacy = downgradeOk(decodeOk(fixture('ganeti-2.12-pci.json')), { format: 'ganeti-2.16' })
  assert.equal(legacy.lost.map((l) => l.device), ['hotnic-c4a1e2f3-pci-6', 'hotnic-e9d8c7b6-pci-7', 'hotdisk-932df160-pci-4', 'hotdisk-9f5c5bd4-pci-5'])
  assert.match(legacy.lost[2]?.reason ?? '', 'disk-932df160-7a22-4067')
  assert.equal(legacy.json[3][0]?.[0]['hvinfo'], { driver: 'virtio-blk-pci', id: 'hotdisk-932df160-pci-4', addr: '0x4', bus: 'pci.0' })

  const scsi = decodeOk(fixture('ganeti-3.0-hvinfo-scsi.json'))
  assert.equal(downgradeOk(scsi, { format: 'ganeti-2.16' }).lost.map((l) => l.device), ['hotnic-c4a1e2f3-pci-6'])

  const ide = decodeOk([['kvm'], [], { disk_type: 'ide' }, [[{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', hvinfo: { driver: 'ide-hd', id: 'disk-932df160-7a22-4067', bus: 'ide.0', unit: 0 } }, '/dev/sdb', null]]])
  assert.match(downgradeOk(ide, { format: 'ganeti-2.16' }).lost[0]?.reason ?? '', 'ide.0')
})

test('our own runtime: stamp, blockdev and netdev are removed; non-derivable nodes and user netdevs are reported', () => {
  const rt = decodeOk(fixture('qemu-devplan-v1.json'))
  const { json, lost } = downgradeOk(rt, { format: 'ganeti-2.16' })
  assert.is(json.length, 4)
  const dicts = [...json[1], ...json[3].map((d) => d[0])]
  for (const d of dicts) for (const k of ['blockdev', 'netdev']) assert.not.ok(k in d, k)
  const reasons = lost.map((l) => `${l.device}: ${l.reason}`).join('\n')
  // qcow2 with a backing chain: an older reader opens the link as raw.
  assert.match(reasons, /disk-932df160-7a22-4067: its recorded block nodes/)
  // The rbd disk derives the same nodes from its uri: nothing lost.
  assert.not.match(reasons, /disk-1b7a3e52-09c4-4f1e/)
  assert.match(reasons, /nic-e9d8c7b6-a5f4-4e3d: its user netdev/)
  assert.not.match(reasons, /nic-c4a1e2f3-8b7d-4e6c/)
})

/** What the older format has no place for and the older reader re-derives: stamp, nodes, netdev. */
const forget = (rt: Runtime): Runtime => ({
  ...rt,
  stamp: undefined,
  disks: rt.disks.map(({ objects: _, ...d }) => ({ ...d, blockdev: undefined })),
  nics: rt.nics.map((n) => ({ ...n, netdev: undefined }))
})

test('property: Ganeti-written files: upgrade(downgrade(r)) = r exactly when nothing is lost', () => {
  let checked = 0
  fc.assert(
    fc.property(ganetiPciFileArb, (file) => {
      const rt = decodeOk(file)
      const { json, lost } = downgradeOk(rt, { format: 'pre-hvinfo' })
      const again = decodeOk(plain(json))
      if (lost.length === 0) {
        checked++
        assert.equal(again, rt)
        assert.equal(plain(right(upgradeRuntime(plain(json)))), plain(upgradeOk(plain(json))))
      } else {
        // Never dropped: the same devices, in the same order, under the same uuids.
        assert.equal(again.disks.map((d) => d.uuid), rt.disks.map((d) => d.uuid))
        assert.equal(again.nics.map((n) => n.uuid), rt.nics.map((n) => n.uuid))
      }
    }),
    { numRuns: 400 }
  )
  assert.ok(checked > 50, `only ${checked} lossless cases`)
})

test('property: recorded runtimes: with nothing lost, the round trip gives r back apart from what the older reader re-derives, and the same argv', () => {
  let checked = 0
  fc.assert(
    fc.property(recordedArb, fc.constantFrom('pre-hvinfo' as const, 'ganeti-2.16' as const), (r, format) => {
      if (r === undefined) return
      const { json, lost } = downgradeOk(r.runtime, { format })
      const again = decodeOk(plain(json))
      assert.equal(again.disks.map((d) => d.uuid), r.runtime.disks.map((d) => d.uuid))
      assert.equal(again.nics.map((n) => n.uuid), r.runtime.nics.map((n) => n.uuid))
      if (lost.length > 0) return
      checked++
      assert.equal(again, forget(r.runtime))
      // The older reader opens each disk without its throttle filter (one with no limits, or the
      // disk would be lost): the same nodes below it, under the unfiltered names.
      const bare = { ...r.runtime, disks: r.runtime.disks.map(({ objects: _, ...d }) => (d.blockdev === undefined || d.placed === undefined ? d : { ...d, blockdev: unfiltered(d.blockdev, d.placed.id) })) }
      const original = right(runtimeArgv(bare))
      const nicBackend = (_: unknown, i: number) => {
        const n = r.runtime.nics[i]
        return n?.netdev !== undefined && n.placed !== undefined ? right(netdevBackend(n.netdev, n.placed, n.mac)).backend : { type: 'user' as const }
      }
      const qemu = parseVersion(r.runtime.stamp?.qemu ?? '')
      assert.equal(right(runtimeArgv(again, { ...(qemu === undefined ? {} : { qemu }), nicBackend })), original)
    }),
    // About 5% of generated runtimes downgrade without loss: 1000 runs give ~50 of them, and 10
    // is ~6 standard deviations below that, so the check guards against a vacuous property
    // without flaking.
    { numRuns: 1000 }
  )
  assert.ok(checked >= 10, `only ${checked} lossless cases`)
})

test('property: downgrade is total and never loses a device', () => {
  fc.assert(
    fc.property(recordedArb, fc.constantFrom('pre-hvinfo' as const, 'ganeti-2.15' as const, 'ganeti-2.16' as const), (r, format) => {
      if (r === undefined) return
      const { json } = downgradeOk(r.runtime, { format })
      assert.is(json[1].length, r.runtime.nics.length)
      assert.is(json[3].length, r.runtime.disks.length)
      assert.ok(E.isRight(upgradeRuntime(plain(json))))
    }),
    { numRuns: 200 }
  )
})

test('property: on any Ganeti-written file, downgrade and runtimeArgv answer without throwing', () => {
  fc.assert(
    fc.property(ganetiPciFileArb, (file) => {
      const rt = decodeOk(file)
      for (const format of ['pre-hvinfo', 'ganeti-2.16'] as const) assert.ok(Array.isArray(downgradeOk(rt, { format }).lost))
      const argv = runtimeArgv(rt, { qemu: { major: 7, minor: 2, micro: 0 }, nicBackend: () => ({ type: 'user' }) })
      // Devices Ganeti never placed (hvinfo {}) or old disk types cannot be rebuilt: a Left, not a throw.
      assert.ok(E.isLeft(argv) || argv.right.length >= rt.cmd.length)
    }),
    { numRuns: 300 }
  )
})

test.run()
