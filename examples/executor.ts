/**
 * The executor: every plan reaches QEMU through an `Executor` the caller implements, and
 * `runPlan` runs it step by step. Here over an in-memory executor (examples/recording-executor.ts):
 * a hot-add that QEMU refuses half-way is rolled back, the same hot-add then succeeds, the disk
 * is hot-removed again (`device_del`, then `DEVICE_DELETED`), and a start plan sets the VNC
 * password (shown redacted in the log) and resumes the guest.
 * Run: `npx tsx examples/executor.ts`.
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  decodeDisk, decodeInstance, formatError, planDevices, planHotAdd, planHotRemove, planStart, runPlan, secret, startFacts, toRuntime,
  type DevplanError, type RunOutcome
} from '../lib/index.js'
import { recordingExecutor } from './recording-executor.js'

const orThrow = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const showOutcome = <R>(title: string, outcome: RunOutcome<R>): void => {
  const why = outcome._tag === 'RolledBack' || outcome._tag === 'RollbackIncomplete' ? ` at step ${outcome.failedStep}: ${JSON.stringify(outcome.error)}` : ''
  console.log(`${title}: ${outcome._tag}${why}`)
  for (const entry of outcome.log) console.log(`  log: step ${entry.step} ${entry.phase.padEnd(4)} ${entry.command?.execute ?? ''} ${entry.result}`)
}

const render = { qmpSocket: '/run/qemu-devplan/vm1.qmp' }
const instance = orThrow(
  decodeInstance({
    name: 'vm1.example.com',
    uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
    memory: 1024,
    network_port: 5901,
    hvparams: { disk_type: 'scsi-hd', vnc_bind_address: '127.0.0.1', vnc_password_file: '/etc/ganeti/vnc-cluster-password' }
  })
)
const tree = orThrow(planDevices(instance, { qemu: '7.2' }))
let runtime = orThrow(toRuntime(instance, tree, render))

// 1. A start plan: QEMU was started paused from renderArgv(tree, render).
console.log('# start')
const start = orThrow(planStart(startFacts(tree), { startupMemory: 768, passwords: { vnc: secret('a password read from the file') } }))
showOutcome('start', orThrow(await runPlan(start, recordingExecutor().executor)()))

// 2. A hot-add refused at device_add: the two block nodes it added are deleted again.
const disk = orThrow(decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/vm1-data' }))
const add = orThrow(planHotAdd(runtime, { disk }))
console.log(`\n# ${add.title}, refused by QEMU`)
const refused = orThrow(await runPlan(add, recordingExecutor({ refuse: ['device_add'] }).executor)())
showOutcome(add.title, refused)
if (refused._tag !== 'RolledBack') throw new Error('expected RolledBack')
runtime = refused.runtime // the runtime before the plan: keep it in every case

// 3. The same hot-add, accepted.
console.log(`\n# ${add.title}`)
const added = orThrow(await runPlan(add, recordingExecutor().executor)())
showOutcome(add.title, added)
if (added._tag !== 'Done') throw new Error('expected Done')
runtime = added.runtime
console.log(`the runtime has ${runtime.disks.length} disk(s)`)

// 4. Its removal: device_del, wait for DEVICE_DELETED, then the block nodes.
const remove = orThrow(planHotRemove(runtime, 'disk-3c9d1e7a-5b2f-4a8c'))
console.log(`\n# ${remove.title}`)
const removed = orThrow(await runPlan(remove, recordingExecutor().executor)())
showOutcome(remove.title, removed)
if (removed._tag !== 'Done') throw new Error('expected Done')
console.log(`the runtime has ${removed.runtime.disks.length} disk(s)`)
