/**
 * Removable media: change the CD-ROM of a running instance, then eject it. Each plan opens the
 * tray, swaps the block nodes and closes it again; the runtime it returns records the new medium,
 * so a restart gets it. Plans run through an in-memory executor (examples/recording-executor.ts).
 * Run: `npx tsx examples/media.ts`.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { decodeInstance, formatError, planChangeMedium, planDevices, runPlan, runtimeArgv, toRuntime, type DevplanError, type Runtime } from '../lib/index.js'
import { recordingExecutor } from './recording-executor.js'

const orThrow = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const cdromOf = (rt: Runtime): string => {
  const argv = orThrow(runtimeArgv(rt))
  return argv.find((w) => w.includes('"node-name":"cdrom1-file"')) ?? 'no medium'
}

const render = { qmpSocket: '/run/qemu-devplan/vm1.qmp' }
let runtime = orThrow(
  pipe(
    decodeInstance({
      name: 'vm1.example.com',
      uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
      memory: 512,
      hvparams: { cdrom_image_path: '/srv/iso/debian-12.iso', cdrom_disk_type: 'ide' }
    }),
    E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, render))))
  )
)
console.log(`started with: ${cdromOf(runtime)}`)

const { executor } = recordingExecutor()
for (const location of ['/srv/iso/debian-13.iso', null]) {
  const plan = orThrow(planChangeMedium(runtime, 'cdrom1', location))
  console.log(`\n# ${plan.title}`)
  const outcome = orThrow(await runPlan(plan, executor)())
  console.log(`${plan.title}: ${outcome._tag}`)
  if (outcome._tag !== 'Done') throw new Error(`expected Done, got ${outcome._tag}`)
  runtime = outcome.runtime
  console.log(`the runtime now records: ${cdromOf(runtime)}`)
}
