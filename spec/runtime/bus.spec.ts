/** The bus state of a runtime: conflicts are typed errors naming both devices. */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatError, runtimeBusState, type Runtime, type RuntimeDisk } from '../../lib/index.js'
import { runtimeOf } from '../support/either.js'

const disk = (uuid: string, id: string, addr: string): RuntimeDisk => ({
  uuid,
  placed: { driver: 'virtio-blk-pci', id, address: { _tag: 'pci', bus: 'pci.0', slot: parseInt(addr, 16), function: 0 } },
  blockdev: undefined,
  link: '/dev/vg/x',
  uri: null,
  rest: {}
})

const rt = (disks: ReadonlyArray<RuntimeDisk>): Runtime => (runtimeOf({ cmd: ['/usr/bin/kvm'], nics: [], hvparams: { kvm_pci_reservations: 16 }, disks, stamp: undefined }))

test('two recorded devices on one slot: PlaceTaken naming the bus, the place and both devices', () => {
  const r = runtimeBusState(rt([disk('a0000000-0000-4000-8000-000000000001', 'disk-a', '0x10'), disk('a0000000-0000-4000-8000-000000000002', 'disk-b', '0x10')]))
  assert.ok(E.isLeft(r))
  if (E.isLeft(r)) {
    assert.equal(r.left, { _tag: 'PlaceTaken', bus: 'pci.0', place: 'place 16', device: 'disk-b', holder: 'disk-a' })
    assert.is(formatError(r.left), 'disk-b: place 16 on pci.0 is held by disk-a already')
  }
})

test('a recorded slot that pci.0 does not have: NoSuchPlace', () => {
  const r = runtimeBusState(rt([disk('a0000000-0000-4000-8000-000000000001', 'disk-a', '0x20')]))
  assert.ok(E.isLeft(r) && r.left._tag === 'NoSuchPlace', JSON.stringify(r))
})

test.run()
