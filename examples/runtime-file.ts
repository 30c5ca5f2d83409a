/**
 * Runtime files: the record of a running instance. Record one at start (`toRuntime`), write it
 * (`encodeRuntime`), read it back (`parseRuntime`) and rebuild the same command line from it
 * (`runtimeArgv`); read a file Ganeti 2.7 wrote (upgraded on the way in); and write one for
 * an older reader (`downgradeRuntime`), with what that reader loses listed.
 * Run: `npx tsx examples/runtime-file.ts`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import {
  decodeInstance, downgradeRuntime, encodeRuntime, formatError, parseRuntime, planDevices, renderArgv, runtimeArgv, toRuntime, upgradeRuntime,
  RUNTIME_FORMAT, type DevplanError
} from '../lib/index.js'

const orThrow = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const render = { qmpSocket: '/run/qemu-devplan/vm1.qmp' }
const instance = orThrow(
  decodeInstance({
    name: 'vm1.example.com',
    uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
    memory: 512,
    hvparams: { disk_type: 'scsi-hd', kvm_path: '/usr/bin/qemu-system-x86_64' },
    disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }],
    nics: [{ uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', mac: 'aa:00:00:35:d5:1f', backend: { type: 'user' } }]
  })
)
const tree = orThrow(planDevices(instance, { qemu: '7.2' }))
const started = renderArgv(tree, render) // QEMU is started with this …
const runtime = orThrow(toRuntime(instance, tree, render)) // … and this is its record

const dir = mkdtempSync(join(tmpdir(), 'qemu-devplan-example-'))
try {
  const file = join(dir, 'vm1.example.com.runtime')
  writeFileSync(file, JSON.stringify(encodeRuntime(runtime)))
  const read = orThrow(parseRuntime(readFileSync(file, 'utf8')))
  const again = orThrow(runtimeArgv(read))
  console.log(`# format ${RUNTIME_FORMAT}: ${read.disks.length} disk, ${read.nics.length} NIC; rebuilt command line ${again.join('\0') === started.join('\0') ? 'equals' : 'DIFFERS from'} the started one`)
  if (again.join('\0') !== started.join('\0')) process.exitCode = 1
  for (const d of read.disks) console.log(`  ${d.placed?.id} at ${d.placed === undefined ? '?' : JSON.stringify(d.placed.address)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

// A file Ganeti 2.7 wrote: three elements, NICs without uuid, no kvm_disks.
const ganeti27 = [
  ['/usr/bin/kvm', '-name', 'web1.example.com', '-m', 512, '-smp', 1, '-uuid', '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', '-boot', 'c'],
  [{ mac: 'aa:00:00:35:d5:1f', ip: null, nicparams: { mode: 'bridged', link: 'br0' } }],
  { kvm_path: '/usr/bin/kvm', boot_order: 'disk', disk_type: 'paravirtual', nic_type: 'paravirtual' }
]
const upgraded = orThrow(upgradeRuntime(ganeti27))
console.log(`\n# Ganeti 2.7 file upgraded: ${upgraded.length} elements, NIC uuid ${String(upgraded[1][0]?.['uuid'])}, hvinfo ${JSON.stringify(upgraded[1][0]?.['hvinfo'])}`)

for (const format of ['ganeti-2.16', 'pre-hvinfo'] as const) {
  const down = orThrow(downgradeRuntime(runtime, { format }))
  console.log(`\n# for a ${format} reader: ${down.json.length} elements, ${down.lost.length} device(s) it cannot carry over`)
  for (const l of down.lost) console.log(`  ${l.device}: ${l.reason}`)
}
