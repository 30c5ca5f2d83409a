/**
 * The hvparams of a runtime as the library reads them: what the instance runs with, including
 * Ganeti's own override of the cache mode under native aio.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeDisk, planHotAdd, runtimeHvparams, type Runtime } from '../../lib/index.js'
import { right, runtimeOf } from '../support/either.js'

const ganetiRuntime = (hvparams: Runtime['hvparams']): Runtime =>
  runtimeOf({
    cmd: ['/usr/bin/kvm', '-name', 'vm1', '-device', 'virtio-scsi-pci,id=scsi'],
    nics: [],
    hvparams,
    disks: [],
    stamp: undefined
  })

test('native aio with a non-direct cache runs as cache=none, as Ganeti starts it', () => {
  for (const cache of ['default', 'writeback', 'writethrough', 'unsafe']) {
    const h = right(runtimeHvparams(ganetiRuntime({ disk_aio: 'native', disk_cache: cache })))
    assert.is(h.disk_cache, 'none', cache)
  }
  assert.is(right(runtimeHvparams(ganetiRuntime({ disk_aio: 'native', disk_cache: 'directsync' }))).disk_cache, 'directsync')
  assert.is(right(runtimeHvparams(ganetiRuntime({ disk_aio: 'threads', disk_cache: 'writeback' }))).disk_cache, 'writeback')
})

test('a disk hot-added to such an instance gets O_DIRECT with native aio (QEMU refuses native without it)', () => {
  const rt = ganetiRuntime({ disk_aio: 'native', disk_cache: 'writeback', disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', kernel_path: '/k' })
  const disk = right(decodeDisk({ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-data' }))
  const plan = right(planHotAdd(rt, { disk }))
  const file = plan.steps[0]
  const args = file?._tag === 'command' ? (file.command.arguments as Record<string, unknown>) : {}
  assert.is(args['aio'], 'native')
  assert.equal(args['cache'], { direct: true, 'no-flush': false })
  assert.ok(E.isRight(runtimeHvparams(rt)))
})

test.run()
