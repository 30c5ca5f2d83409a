/**
 * upgradeRuntime: Ganeti's `_UpgradeSerializedRuntime` semantics (DOMAIN §8), checked against
 * fixture files whose expected upgrade was written by hand from Ganeti's code; the intentional
 * differences; idempotence; totality.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { upgradeRuntime } from '../../lib/index.js'
import { fixture, ganetiPciFileArb, legacyCmdArb, upgradeOk } from './support.js'

const UUID_A = '932df160-7a22-4067-a566-7e0ca8386133'

for (const name of ['ganeti-2.7-3elem', 'ganeti-2.12-pci', 'ganeti-3.0-hvinfo-scsi']) {
  test(`${name}: upgrades to the expected file, key order included`, () => {
    const up = upgradeOk(fixture(`${name}.json`))
    // Compared as text: Ganeti's upgrade appends hvinfo last and writes driver, id, addr, bus.
    assert.is(JSON.stringify(up), JSON.stringify(fixture(`${name}.upgraded.json`)))
  })
}

test('a pci device gets Ganeti\'s hvinfo: hex addr, legacy id from the first uuid group, driver from the file\'s own hvparams', () => {
  const file = [['kvm'], [{ mac: 'aa:00:00:00:00:01', uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', pci: 12 }], { disk_type: 'ide', nic_type: 'rtl8139' }, [[{ uuid: UUID_A, pci: 31, mode: 'rw' }, '/l', null]]]
  const [, nics, , disks] = upgradeOk(file)
  assert.equal(nics[0]?.['hvinfo'], { driver: 'rtl8139', id: 'hotnic-c4a1e2f3-pci-12', addr: '0xc', bus: 'pci.0' })
  // Ganeti's _DEVICE_DRIVER maps only "paravirtual"; any other type is taken verbatim.
  assert.equal(disks[0]?.[0]['hvinfo'], { driver: 'ide', id: 'hotdisk-932df160-pci-31', addr: '0x1f', bus: 'pci.0' })
  assert.not.ok('pci' in (disks[0]?.[0] ?? {}))
  assert.equal(Object.keys(disks[0]?.[0] ?? {}), ['uuid', 'mode', 'hvinfo'])
})

test('paravirtual maps to the virtio drivers; missing types default to paravirtual', () => {
  const file = [['kvm'], [{ mac: 'aa:00:00:00:00:01', uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', pci: 5 }], {}, [[{ uuid: UUID_A, pci: 4 }, '/l', null]]]
  const [, nics, , disks] = upgradeOk(file)
  assert.is((nics[0]?.['hvinfo'] as { driver: string }).driver, 'virtio-net-pci')
  assert.is((disks[0]?.[0]['hvinfo'] as { driver: string }).driver, 'virtio-blk-pci')
})

test('a device without pci gets hvinfo {}; one with hvinfo is not touched, stale pci included', () => {
  const kept = { uuid: UUID_A, hvinfo: { driver: 'virtio-blk-pci', id: 'disk-x', bus: 'pci.0', addr: '0x10' }, pci: 9 }
  const [, , , disks] = upgradeOk([['kvm'], [], {}, [[{ uuid: UUID_A }, '/l', null], [kept, '/m', null]]])
  assert.equal(disks[0]?.[0], { uuid: UUID_A, hvinfo: {} })
  assert.equal(disks[1]?.[0], kept)
})

test('a three-element file gets kvm_disks = []; a pre-2.8 NIC gets a fixed uuid (Ganeti draws a random one)', () => {
  const [, nics, , disks] = upgradeOk([['kvm'], [{ mac: 'aa:00:00:00:00:01' }, { mac: 'aa:00:00:00:00:02' }], {}])
  assert.equal(disks, [])
  assert.is(nics[0]?.['uuid'], '00000000-0000-4000-8000-000000000000')
  assert.is(nics[1]?.['uuid'], '00000000-0000-4000-8000-000000000001')
  assert.equal(Object.keys(nics[0] ?? {}), ['mac', 'uuid', 'hvinfo'])
})

const cmdOf = (cmd: ReadonlyArray<string | number>, hv: Record<string, string> = {}): ReadonlyArray<string | number> => upgradeOk([cmd, [], hv, []])[0]

test('kvm_cmd rewrites: -localtime, -balloon with and without options, -vnc TLS (anon and x509)', () => {
  assert.equal(cmdOf(['kvm', '-localtime', '-m', '1']), ['kvm', '-rtc', 'base=localtime', '-m', '1'])
  assert.equal(cmdOf(['kvm', '-balloon', 'virtio']), ['kvm', '-device', 'virtio-balloon'])
  assert.equal(cmdOf(['kvm', '-balloon', 'virtio,addr=0x3,bus=pci.0']), ['kvm', '-device', 'virtio-balloon,addr=0x3,bus=pci.0'])
  assert.equal(cmdOf(['kvm', '-vnc', ':1,tls']), ['kvm', '-object', 'tls-creds-anon,id=vnctls0,endpoint=server', '-vnc', ':1,tls-creds=vnctls0'])
  assert.equal(cmdOf(['kvm', '-vnc', ':1,tls,x509=/p']), ['kvm', '-object', 'tls-creds-x509,id=vnctls0,endpoint=server,dir=/p,verify-peer=no', '-vnc', ':1,tls-creds=vnctls0'])
  assert.equal(cmdOf(['kvm', '-vnc', ':1,password']), ['kvm', '-vnc', ':1,password=on'])
})

test('-chroot and disk_discard "default" are kept, as Ganeti 3.0.2\'s own upgrade keeps them (3.1 drops both)', () => {
  const up = upgradeOk([['kvm', '-chroot', '/var/empty', '-m', '1'], [], { disk_discard: 'default', disk_type: 'paravirtual' }, []])
  assert.equal(up[0], ['kvm', '-chroot', '/var/empty', '-m', '1'])
  assert.equal(up[2], { disk_discard: 'default', disk_type: 'paravirtual' })
  assert.equal(upgradeOk([['kvm'], [], { disk_discard: 'unmap' }, []])[2], { disk_discard: 'unmap' })
  assert.equal(upgradeOk([['kvm'], [], {}, []])[2], {})
})

test('intentional differences: every occurrence rewritten, -balloon none dropped, trailing flags kept', () => {
  assert.equal(cmdOf(['kvm', '-localtime', '-localtime']), ['kvm', '-rtc', 'base=localtime', '-rtc', 'base=localtime'])
  assert.equal(cmdOf(['kvm', '-balloon', 'none', '-m', '1']), ['kvm', '-m', '1'])
  assert.equal(cmdOf(['kvm', '-balloon']), ['kvm', '-balloon'])
  assert.equal(cmdOf(['kvm', '-vnc']), ['kvm', '-vnc'])
  assert.equal(cmdOf(['kvm', '-chroot']), ['kvm', '-chroot'])
})

test('a stamped file (this library wrote it) keeps its kvm_cmd and hvparams exactly', () => {
  const file = fixture('qemu-devplan-v1.json')
  const up = upgradeOk(file)
  assert.equal(up, file)
  assert.ok(up[0].includes('-localtime'), 'kvm_extra words are not Ganeti-era options to rewrite')
})

test('a stamp from a newer format is refused, naming the writer', () => {
  const r = upgradeRuntime(fixture('too-new.json'))
  assert.ok(E.isLeft(r) && r.left._tag === 'Unsupported')
  if (E.isLeft(r) && r.left._tag === 'Unsupported') {
    assert.match(r.left.reason, 'qemu-devplan/0.9.0')
    assert.match(r.left.reason, 'format 3')
  }
})

test('malformed legacy fields are InvalidInput with their path', () => {
  const paths = (json: unknown): string[] => {
    const r = upgradeRuntime(json)
    return E.isLeft(r) && r.left._tag === 'InvalidInput' ? r.left.errors.map((e) => e.path) : []
  }
  assert.equal(paths([['kvm'], [{ mac: 'm', uuid: 'u', pci: 'five' }], {}, []]), ['nics[0].pci'])
  assert.equal(paths([['kvm'], [], {}, [[{ uuid: UUID_A, pci: 32 }, '/l', null]]]), ['disks[0].pci'])
  assert.equal(paths([['kvm'], [], {}, [[{ pci: 3 }, '/l', null]]]), ['disks[0].uuid'])
  assert.equal(paths([['kvm'], [], { disk_type: 7 }, [[{ uuid: UUID_A, pci: 3 }, '/l', null]]]), ['hvparams.disk_type'])
  assert.equal(paths([['kvm', 1.5], [], {}, []]), ['cmd[1]'])
  assert.equal(paths([['kvm', true], [], {}, []]), ['cmd[1]'])
  assert.equal(paths([['kvm'], [], {}, [[{ uuid: UUID_A }, 5, null]]]), ['disks[0].link'])
  assert.equal(paths([['kvm'], [], {}, [[{ uuid: UUID_A }, '/l']]]), ['disks[0]'])
  assert.equal(paths({}), [''])
  assert.equal(paths([['kvm'], []]), [''])
})

test('property: upgrading an upgraded file changes nothing (Ganeti-written files)', () => {
  fc.assert(
    fc.property(ganetiPciFileArb, (file) => {
      const once = upgradeOk(file)
      assert.equal(upgradeOk(once), once)
      assert.is(JSON.stringify(upgradeOk(JSON.parse(JSON.stringify(once)))), JSON.stringify(once))
    }),
    { numRuns: 400 }
  )
})

test('property: idempotent on any command line, including rewrites that expose others', () => {
  fc.assert(
    fc.property(legacyCmdArb, fc.array(fc.string({ maxLength: 8 }), { maxLength: 8 }), (cmd, noise) => {
      const once = cmdOf([...cmd, ...noise])
      assert.equal(cmdOf([...once]), once)
      // -chroot is kept, as Ganeti 3.0.2 keeps it.
      for (const old of ['-localtime', '-balloon']) {
        const i = once.indexOf(old)
        // Only a trailing flag (no value to rewrite) may remain.
        assert.ok(i < 0 || (old !== '-localtime' && i === once.length - 1), `${old} left in ${JSON.stringify(once)}`)
      }
    }),
    { numRuns: 500 }
  )
})

test('property: every pci becomes hvinfo with that slot; no pci is left where there was no hvinfo', () => {
  fc.assert(
    fc.property(ganetiPciFileArb, (file) => {
      const up = upgradeOk(file)
      const before = [...((file[1] as Array<Record<string, unknown>>) ?? []), ...((file[3] as Array<[Record<string, unknown>]> | undefined) ?? []).map((d) => d[0])]
      const after = [...up[1], ...up[3].map((d) => d[0])]
      before.forEach((dev, i) => {
        const h = after[i]?.['hvinfo'] as Record<string, unknown>
        assert.not.ok('pci' in (after[i] ?? {}))
        if (typeof dev['pci'] === 'number') {
          assert.is(h['addr'], `0x${dev['pci'].toString(16)}`)
          assert.match(String(h['id']), new RegExp(`^hot(disk|nic)-${String(dev['uuid']).split('-')[0] ?? ''}-pci-${dev['pci']}$`))
          assert.equal(Object.keys(h), ['driver', 'id', 'addr', 'bus'])
        } else assert.equal(h, {})
      })
    }),
    { numRuns: 300 }
  )
})

const anything = fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, withObjectString: true, maxDepth: 5 })

test('property: never throws on any value, and any JSON value either upgrades or is refused', () => {
  fc.assert(fc.property(anything, (u) => void assert.ok(E.isLeft(upgradeRuntime(u)) || E.isRight(upgradeRuntime(u)))), { numRuns: 1000 })
  fc.assert(
    fc.property(fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 })), (t) => {
      const r = upgradeRuntime(t)
      if (E.isRight(r)) assert.equal(upgradeRuntime(r.right), r)
    }),
    { numRuns: 1000 }
  )
})

test.run()
