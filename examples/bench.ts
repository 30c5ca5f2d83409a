/**
 * `npm run bench`: throughput of the pure pipeline (decode → plan → render) and of hotplug
 * planning on a busy runtime. Speed is measured here, never asserted in tests.
 */
import { performance } from 'node:perf_hooks'
import * as E from 'fp-ts/lib/Either.js'
import { decodeDisk, decodeInstance, makeRuntime, planDevices, planHotAdd, renderArgv, type Runtime } from '../lib/index.js'

const uuid = (n: number): string => `${(0x10000000 + n).toString(16)}-7a22-4067-a566-7e0ca8386133`

const spec = (disks: number, nics: number) => ({
  name: 'bench.example.com',
  uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
  memory: 2048,
  vcpus: 4,
  hvparams: { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', disk_cache: 'none', disk_aio: 'native', cdrom_image_path: '/srv/a.iso' },
  disks: Array.from({ length: disks }, (_, i) => ({ uuid: uuid(i), path: `/dev/vg/bench-${i}`, format: i % 2 === 0 ? 'raw' : 'qcow2' })),
  nics: Array.from({ length: nics }, (_, i) => ({ uuid: uuid(1000 + i), mac: `aa:00:00:00:01:${i.toString(16).padStart(2, '0')}`, backend: { type: 'user' } }))
})

const measure = (label: string, iterations: number, f: () => void): void => {
  for (let i = 0; i < Math.min(100, iterations); i++) f()
  const t0 = performance.now()
  for (let i = 0; i < iterations; i++) f()
  const ms = performance.now() - t0
  console.log(`${label.padEnd(48)} ${(iterations / (ms / 1000)).toFixed(0).padStart(8)} ops/s  ${((ms * 1000) / iterations).toFixed(1).padStart(8)} µs/op`)
}

const target = { qemu: { major: 7, minor: 2, micro: 0 } }
for (const [d, n] of [[1, 1], [8, 4], [64, 15]] as const) {
  const input = spec(d, n)
  measure(`decode+plan+render: ${d} disks, ${n} NICs`, d > 10 ? 500 : 5000, () => {
    const r = E.chain((i: Parameters<typeof planDevices>[0]) => planDevices(i, target))(decodeInstance(input))
    if (E.isLeft(r)) throw new Error('bench spec must plan')
    renderArgv(r.right, { qmpSocket: '/run/x.qmp' })
  })
}

const base = decodeInstance({ ...spec(0, 0), hvparams: { ...spec(0, 0).hvparams, boot_order: 'cdrom' } })
if (E.isLeft(base)) throw new Error('bench spec must decode')
const tree = planDevices(base.right, target)
if (E.isLeft(tree)) throw new Error('bench spec must plan')
const made = makeRuntime({ cmd: renderArgv(tree.right, { qmpSocket: '/run/x.qmp' }), nics: [], hvparams: spec(0, 0).hvparams, disks: [], stamp: undefined })
let rt: Runtime = made
for (let i = 0; i < 200; i++) {
  const disk = decodeDisk({ uuid: uuid(i), path: `/dev/vg/h${i}` })
  if (E.isLeft(disk)) throw new Error('bench disk must decode')
  const p = planHotAdd(rt, { disk: disk.right })
  if (E.isLeft(p)) throw new Error('bench hot-add must plan')
  rt = p.right.after
}
const extra = decodeDisk({ uuid: uuid(9999), path: '/dev/vg/extra' })
if (E.isLeft(extra)) throw new Error('bench disk must decode')
measure('planHotAdd on a runtime with 200 SCSI disks', 2000, () => {
  if (E.isLeft(planHotAdd(rt, { disk: extra.right }))) throw new Error('bench hot-add must plan')
})
