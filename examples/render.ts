/**
 * Rendering: a planned device tree becomes QEMU's command line, section by section. The same
 * instance is rendered for pc (QEMU 7.2) and q35 (QEMU 10.0), with each device's `-device` JSON
 * (`deviceOptions`, the same properties a hot-add's `device_add` carries).
 * Run: `npx tsx examples/render.ts`.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { allDevices, decodeInstance, deviceOptions, formatError, joinSections, planDevices, renderArgv, renderSections, showArgv, type TargetInput } from '../lib/index.js'

const spec = {
  name: 'vm1.example.com',
  uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
  memory: 1024,
  vcpus: 2,
  hvparams: { kvm_path: '/usr/bin/qemu-system-x86_64', disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', nic_type: 'paravirtual' },
  disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }],
  nics: [{ uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', mac: 'aa:00:00:35:d5:1f', backend: { type: 'user' } }]
}
const render = { qmpSocket: '/run/qemu-devplan/vm1.qmp', accel: 'tcg' } as const

for (const target of [{ qemu: '7.2' }, { qemu: '10.0', machine: 'q35' }] satisfies ReadonlyArray<TargetInput>) {
  const tree = pipe(decodeInstance(spec), E.chain((instance) => planDevices(instance, target)))
  if (E.isLeft(tree)) throw new Error(formatError(tree.left))
  const sections = renderSections(tree.right, render)
  const argv = renderArgv(tree.right, render)
  // renderArgv is the sections joined: a runtime records them apart (kvm_cmd, kvm_disks, kvm_nics).
  if (joinSections(sections).join('\0') !== argv.join('\0')) throw new Error('renderArgv differs from its sections')
  console.log(`\n# ${tree.right.machine} on QEMU ${target.qemu}: ${argv.length} words`)
  for (const [name, words] of Object.entries(sections)) console.log(`  ${name.padEnd(11)} ${words.length} words`)
  for (const d of allDevices(tree.right)) console.log(`  -device ${JSON.stringify(deviceOptions(d))}`)
  if (target.qemu === '7.2') console.log(`\n${showArgv(argv)}`)
}
