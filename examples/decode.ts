/**
 * Decoding: everything that comes from outside (an instance spec, a disk or NIC to hot-add, the
 * target QEMU) goes through a decoder, which returns `Either` and never throws. A spec with
 * mistakes gets every one of them back at once, each with its field path.
 * Run: `npx tsx examples/decode.ts`.
 */
import * as E from 'fp-ts/lib/Either.js'
import { decodeDisk, decodeInstance, decodeNic, decodeTarget, formatError, parseVersion, type DevplanError } from '../lib/index.js'

const show = <A>(label: string, r: E.Either<DevplanError, A>, ok: (a: A) => string): void => {
  console.log(`${label}: ${E.isRight(r) ? ok(r.right) : `refused\n  ${formatError(r.left).split('\n').join('\n  ')}`}`)
}

const instance = decodeInstance({
  name: 'vm1.example.com',
  uuid: '7F3C2A9E-52D1-4C6B-9B0E-2F1D8A6C4E10',
  memory: 1024,
  vcpus: 2,
  hvparams: { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', nic_type: 'paravirtual' },
  disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root', format: 'raw' }],
  nics: [{ uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', mac: 'aa:00:00:35:d5:1f', backend: { type: 'user' } }]
})
show('instance', instance, (i) => `${i.name} ${i.uuid} (uuid lower-cased), ${i.disks.length} disk, ${i.nics.length} NIC, disk_type ${i.hvparams.disk_type}`)

// Every mistake at once, each with its path.
show(
  'a spec with mistakes',
  decodeInstance({ name: 'vm1', uuid: 'not-a-uuid', memory: 8, hvparams: { disk_type: 'floppy-ish' }, disks: [{ path: 'relative/path' }] }),
  () => 'decoded'
)

show('target', decodeTarget({ qemu: '10.0.2', machine: 'q35' }), (t) => `QEMU ${t.qemu.major}.${t.qemu.minor}.${t.qemu.micro}, ${t.machine ?? 'default machine'}`)
show('a disk to hot-add', decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/vm1-data' }), (d) => `${d.uuid} at ${JSON.stringify(d.source)}`)
show('a NIC to hot-add', decodeNic({ uuid: 'e9d8c7b6-a5f4-4e3d-8c2b-1a0f9e8d7c6b', mac: 'AA:00:00:7E:02:44', backend: { type: 'tap', fds: [7] } }), (n) => `${n.mac} on ${n.backend.type}`)
console.log(`parseVersion('7.2'): ${JSON.stringify(parseVersion('7.2'))}`)
