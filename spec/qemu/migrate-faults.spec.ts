/**
 * Faults at every command of the migration plans, on two real QEMUs: for each command k of the
 * source plan (non-live, so that every kind of step is there), of the target's listen plan and of
 * its finish plan, an executor that answers k with an error (nothing sent) and one that sends k
 * and loses the reply (a transport failure). The outcome must say where the instance is, and be
 * true: a source rolled back runs again with its capabilities and parameters restored; a
 * migration that completed is never undone by resuming the source (the rollback leaves it over).
 */
import { losingReplyAt, refusingAt } from './faults.js'
import * as assert from 'uvu/assert'
import { planIncoming, planMigrate, type IncomingPlans, type QmpPlan, type MigrationRecord } from '../../lib/index.js'
import { right } from '../support/either.js'
import { qemuSuite, qemuVersion } from './harness.js'
import { isRec, migrationStatus, run, startSource, startTarget, status, until, type Source, type Target } from './migrate-setup.js'

const test = qemuSuite('migration plans with faults at every command')

const MiB = 1024 * 1024

const FAULTS = [
  ['an error reply', refusingAt],
  ['a lost reply', losingReplyAt]
] as const

const MIGRATION = { migration_mode: 'non-live', migration_caps: 'xbzrle', migration_bandwidth: 1 }

const commandsOf = <R>(plan: QmpPlan<R>): number => plan.steps.filter((s) => s._tag !== 'wait').length

const brief = (o: { readonly _tag: string; readonly log: unknown }): string => JSON.stringify({ ...o, runtime: undefined })

interface Pair {
  readonly src: Source
  readonly dst: Target
  readonly plans: IncomingPlans
  readonly migrate: QmpPlan<MigrationRecord>
}

const withPair = async (f: (p: Pair) => Promise<void>): Promise<void> => {
  const src = await startSource(MIGRATION, 'none')
  let dst: Target | undefined
  try {
    dst = await startTarget(src, src.runtime, 'defer')
    const plans = right(planIncoming(src.runtime, { incoming: dst.incoming, target: qemuVersion, hvparams: src.hvparams }))
    const migrate = right(planMigrate(src.runtime, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 30_000 }))
    await f({ src, dst, plans, migrate })
  } finally {
    await dst?.vm.kill()
    await src.vm.kill()
    await src.tmp.cleanup()
  }
}

const sourceRestored = async (src: Source): Promise<void> => {
  await until('the source to run again', async () => (await status(src.vm)) === 'running')
  const caps = await src.vm.qmp.executeOk('query-migrate-capabilities')
  const xbzrle = (Array.isArray(caps) ? caps : []).find((c: unknown) => isRec(c) && c['capability'] === 'xbzrle')
  assert.is(isRec(xbzrle) ? xbzrle['state'] : undefined, false, 'xbzrle off again')
  const p = await src.vm.qmp.executeOk('query-migrate-parameters')
  assert.is(isRec(p) ? p['max-bandwidth'] : undefined, 128 * MiB)
}

/** Source plan commands: capabilities, parameters, stop, migrate, query-migrate. */
const SOURCE_COMMANDS = 5

for (const [fault, inject] of FAULTS) {
  for (let k = 0; k < SOURCE_COMMANDS; k++) {
    test(`source plan, ${fault} at command ${k}`, () =>
      withPair(async ({ src, dst, plans, migrate }) => {
        assert.is(commandsOf(migrate), SOURCE_COMMANDS)
        assert.is((await run(plans.listen, dst.x))._tag, 'Done')
        const o = await run(migrate, inject(src.x, k))
        if (k < SOURCE_COMMANDS - 1) {
          assert.is(o._tag, 'RolledBack', brief(o))
          assert.is(o.runtime.runs, 'source')
          assert.is(o.runtime.runtime, src.runtime)
          await sourceRestored(src)
          assert.ok(['none', 'cancelled', 'failed'].includes(await migrationStatus(src.vm)))
          return
        }
        // query-migrate was the one hit: the migration completed, and the rollback must not
        // resume the source (the stop and the migrate are left over).
        assert.is(o._tag, 'RollbackIncomplete', brief(o))
        if (o._tag !== 'RollbackIncomplete') return
        assert.equal(o.leftovers.map((l) => l.step).sort(), [2, 3])
        assert.ok(o.leftovers.every((l) => /completed/.test(l.description)), brief(o))
        assert.is(await status(src.vm), 'postmigrate')
        const f = await run(plans.finish, dst.x)
        assert.is(f._tag, 'Done', brief(f))
        assert.is(await status(dst.vm), 'running')
      })
    )
  }

  for (let k = 0; k < 2; k++) {
    test(`target listen plan, ${fault} at command ${k}`, () =>
      withPair(async ({ src, dst, plans, migrate }) => {
        assert.is(commandsOf(plans.listen), 2)
        const l = await run(plans.listen, inject(dst.x, k))
        assert.is(l.runtime.runs, 'source')
        if (fault === 'a lost reply' && k === 1) {
          // migrate-incoming reached QEMU and cannot be undone: the target listens.
          assert.is(l._tag, 'RollbackIncomplete', brief(l))
          const o = await run(migrate, src.x)
          assert.is(o._tag, 'Done', brief(o))
          return
        }
        assert.is(l._tag, 'RolledBack', brief(l))
        // Nobody listens: the source's plan fails and rolls back.
        const o = await run(migrate, src.x)
        assert.is(o._tag, 'RolledBack', brief(o))
        await sourceRestored(src)
      })
    )
  }

  for (let k = 0; k < 2; k++) {
    test(`target finish plan, ${fault} at command ${k}`, () =>
      withPair(async ({ src, dst, plans, migrate }) => {
        assert.is(commandsOf(plans.finish), 2)
        assert.is((await run(plans.listen, dst.x))._tag, 'Done')
        assert.is((await run(migrate, src.x))._tag, 'Done')
        const f = await run(plans.finish, inject(dst.x, k))
        assert.not.equal(f._tag, 'Done')
        assert.is(f.runtime.runs, 'source')
        // query-migrate changes nothing; a cont whose reply was lost is left over (as in planStart).
        assert.is(f._tag, fault === 'a lost reply' && k === 1 ? 'RollbackIncomplete' : 'RolledBack', brief(f))
        assert.ok(['paused', 'running'].includes(await status(dst.vm)))
      })
    )
  }
}

test.run()
