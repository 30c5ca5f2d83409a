/**
 * What Ganeti 3.0.2 does with its own runtime files, done here too (issue 13; spec/ganeti judges
 * the same against Ganeti's code): the chroot survives every rebuild, in the target's form;
 * shared storage runs cache=none; `disk_discard: "default"` is kept and means QEMU's own
 * (ignore); a NIC backend from the caller is decoded (no vhostfds is none).
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, planDevices, renderArgv, runtimeArgv } from '../../lib/index.js'
import { decodeOk, right } from './support.js'

const V72 = { major: 7, minor: 2, micro: 0 }
const V10 = { major: 10, minor: 0, micro: 0 }
const DISK = (devType: string): unknown => [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', hvinfo: { driver: 'virtio-blk-pci', id: 'd1', bus: 'pci.0', addr: '0x5' }, dev_type: devType }, '/var/run/ganeti/instance-disks/vm1:0', null]

test('use_chroot: a kept -chroot is rendered for the target; a missing one comes from options.chrootDir, or the rebuild is refused', () => {
  const kept = decodeOk([['kvm', '-chroot', '/run/chroot/vm1'], [], { use_chroot: true }, []])
  const on72 = right(runtimeArgv(kept, { qemu: V72 }))
  assert.ok(on72.join(' ').includes('-chroot /run/chroot/vm1'), on72.join(' '))
  const on10 = right(runtimeArgv(kept, { qemu: V10 }))
  assert.ok(on10.join(' ').includes('-run-with chroot=/run/chroot/vm1') && !on10.includes('-chroot'), on10.join(' '))
  // Ganeti 3.1 leaves the chroot out of the file and adds it at start.
  const dropped = decodeOk([['kvm'], [], { use_chroot: true }, []])
  const refused = runtimeArgv(dropped, { qemu: V72 })
  assert.ok(E.isLeft(refused) && refused.left._tag === 'InvalidInput' && refused.left.errors[0]?.path === 'options.chrootDir', JSON.stringify(refused))
  assert.ok(right(runtimeArgv(dropped, { qemu: V72, chrootDir: '/run/chroot/vm1' })).join(' ').includes('-chroot /run/chroot/vm1'))
  assert.ok(right(runtimeArgv(dropped, { qemu: V10, chrootDir: '/run/chroot/vm1' })).join(' ').includes('-run-with chroot=/run/chroot/vm1'))
  const relative = runtimeArgv(dropped, { qemu: V72, chrootDir: 'chroot/vm1' })
  assert.ok(E.isLeft(relative) && relative.left._tag === 'InvalidInput' && relative.left.errors[0]?.value === 'chroot/vm1')
  // Without use_chroot nothing is added.
  assert.not.ok(right(runtimeArgv(decodeOk([['kvm'], [], {}, []]), { qemu: V72 })).some((w) => w.includes('chroot')))
})

test('shared storage (sharedfile, blockdev, ext, gluster, diskless) runs cache=none whatever disk_cache says; rbd and local templates follow it', () => {
  const cacheOf = (devType: string): unknown => {
    const argv = right(runtimeArgv(decodeOk([['kvm'], [], { disk_cache: 'writeback' }, [DISK(devType)]]), { qemu: V72 }))
    const node = argv.find((w) => w.includes('"node-name":"d1"')) ?? ''
    return (JSON.parse(node) as { cache: unknown }).cache
  }
  for (const t of ['sharedfile', 'blockdev', 'ext', 'gluster']) assert.equal(cacheOf(t), { direct: true, 'no-flush': false }, t)
  for (const t of ['plain', 'drbd', 'file', 'rbd']) assert.equal(cacheOf(t), { direct: false, 'no-flush': false }, t)
  // The planner does the same for a disk whose spec names its template.
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_cache: 'writeback' }, disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/d', dev_type: 'blockdev' }] }))
  const argv = renderArgv(right(planDevices(inst, { qemu: '7.2' })), { qmpSocket: '/run/vm1.qmp' })
  assert.ok(argv.some((w) => w.includes('"cache":{"direct":true')), argv.join(' '))
  const bad = decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/d', dev_type: 'nfs' }] })
  assert.ok(E.isLeft(bad) && bad.left._tag === 'InvalidInput' && bad.left.errors[0]?.path === 'disks[0].dev_type', E.isLeft(bad) ? formatError(bad.left) : '')
})

test('disk_discard "default" (Ganeti 3.0\'s default) is planned and rebuilt with no discard option: QEMU\'s own, ignore', () => {
  const argv = right(runtimeArgv(decodeOk([['kvm'], [], { disk_discard: 'default' }, [DISK('plain')]]), { qemu: V72 }))
  assert.not.ok(argv.some((w) => w.includes('"discard"')), argv.join(' '))
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { disk_discard: 'default' }, disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/d' }] }))
  assert.not.ok(renderArgv(right(planDevices(inst, { qemu: '7.2' })), { qmpSocket: '/run/vm1.qmp' }).some((w) => w.includes('"discard"')))
})

test('a NIC backend from options.nicBackend is decoded: no vhostfds is none; a malformed or throwing one is an error naming it', () => {
  const nic = { uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', mac: 'aa:00:00:35:d5:1f', hvinfo: { driver: 'virtio-net-pci', id: 'n1', bus: 'pci.0', addr: '0x6' } }
  const rt = decodeOk([['kvm'], [nic], {}, []])
  const argv = right(runtimeArgv(rt, { qemu: V72, nicBackend: () => ({ type: 'tap', fds: [100] }) as never }))
  assert.ok(argv.includes('{"type":"tap","id":"n1","fd":"100"}'), argv.join(' '))
  const bad = runtimeArgv(rt, { qemu: V72, nicBackend: () => ({ type: 'tap', fds: ['x'] }) as never })
  assert.ok(E.isLeft(bad) && bad.left._tag === 'InvalidInput' && /options\.nicBackend\(nics\[0\]\)/.test(bad.left.errors[0]?.path ?? ''), JSON.stringify(bad))
  const threw = runtimeArgv(rt, { qemu: V72, nicBackend: () => { throw new Error('no tap') } })
  assert.ok(E.isLeft(threw) && threw.left._tag === 'InvalidInput', JSON.stringify(threw))
})

test.run()
