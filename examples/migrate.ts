/**
 * A live migration end to end with a real transport: plan everything first, start the target
 * QEMU waiting (`-S -incoming defer`), then its listen plan, the source's plan and the target's
 * finish plan, each run through the Unix-socket executor of `qmp-client.ts`. The README's "Live
 * migration" section shows this file's `migrateInstance`; `spec/qemu/migrate-example.spec.ts`
 * runs it between two real QEMUs.
 *
 * @since 0.3.0
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
import {
  formatError,
  incomingArgv,
  planIncoming,
  planMigrate,
  runPlan,
  tcpUri,
  type DevplanError,
  type Executor,
  type MigrationRecord,
  type QemuVersion,
  type QmpPlan,
  type RunOutcome,
  type Runtime
} from '../lib/index.js'
import { connectQmp, toExecutor } from './qmp-client.js'

/**
 * What a migration needs from its caller.
 *
 * @since 0.3.0
 */
export interface MigrationJob {
  readonly runtime: Runtime
  /** The instance's current hvparams: Ganeti reads `migration_*` there. */
  readonly hvparams: Readonly<Record<string, unknown>>
  /** Whether the source guest runs now (`query-status`). */
  readonly running: boolean
  /** The source QEMU's QMP socket. */
  readonly source: string
  readonly target: {
    readonly address: string
    /** Ganeti's `migration_port`. */
    readonly port: number
    readonly qemu: QemuVersion
    /** The target QEMU's QMP socket, as `argv` renders it. */
    readonly qmpSocket: string
    /** Your words for the target: its own QMP socket (on the same host), `-display none`, … */
    readonly argv: (argv: ReadonlyArray<string>) => ReadonlyArray<string>
  }
}

// --- README: Live migration (from here)
const ok = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const run = async <R>(plan: QmpPlan<R>, executor: Executor): Promise<RunOutcome<R>> => {
  const r = await runPlan(plan, executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

const stopped = (child: ChildProcess): ChildProcess => {
  child.kill('SIGKILL')
  return child
}

export const migrateInstance = async (job: MigrationJob): Promise<{ readonly outcome: RunOutcome<MigrationRecord>; readonly target: ChildProcess }> => {
  const { runtime, hvparams, running, target } = job
  const uri = tcpUri(target.address, target.port)
  const incoming = { _tag: 'defer', uri } as const
  // 1. Plan all of it before anything runs: a refusal (NotMigratable, a bad hvparam) costs nothing.
  const argv = target.argv(ok(incomingArgv(runtime, { incoming, target: target.qemu })))
  const { listen, finish } = ok(planIncoming(runtime, { incoming, target: target.qemu, hvparams, resume: running }))
  const migrate = ok(planMigrate(runtime, { uri, target: target.qemu, hvparams, running }))
  // 2. The target QEMU, paused and waiting; the QMP sessions of both sides.
  const [bin = '', ...args] = argv
  const child = spawn(bin, args, { stdio: 'ignore' })
  const dst = await connectQmp(target.qmpSocket)
  const src = await connectQmp(job.source)
  try {
    const onTarget = toExecutor(dst)
    // 3. Listen (capabilities, migrate-incoming), migrate (capabilities, limits, migrate, wait,
    //    query-migrate), finish (wait, query-migrate, cont).
    const listened = await run(listen, onTarget)
    if (listened._tag !== 'Done') return { outcome: listened, target: stopped(child) }
    const moved = await run(migrate, toExecutor(src))
    // Not Done: the source runs on with its runtime unchanged; the target holds nothing.
    if (moved._tag !== 'Done') return { outcome: moved, target: stopped(child) }
    // Done: the source has let go (postmigrate) and the target has the instance, even should
    // finish fail (then resume it by hand). Stop the source QEMU once finish is Done.
    return { outcome: await run(finish, onTarget), target: child }
  } finally {
    await dst.close()
    await src.close()
  }
}
// --- README: Live migration (to here)
