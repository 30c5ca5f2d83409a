/**
 * Live migration between two real QEMUs on loopback, the whole flow as plans: the target from
 * `incomingArgv` of the runtime (after hot-adds and a medium change), its listen plan, the
 * source's `planMigrate`, the target's finish plan. The target's devices, PCI layout, block nodes
 * and trays must equal the source's; capabilities and parameters are read back with
 * `query-migrate-capabilities` and `query-migrate-parameters`. A failed migration (the target
 * killed midway) and cancelled ones (a timeout; a `migrate_cancel` from elsewhere) must leave the
 * source running with its runtime and devices as they were.
 */
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeNic,
  MIGRATION_CAPABILITIES,
  migrationFigures,
  planChangeMedium,
  planHotAdd,
  planMigrate,
  type CapabilityLife,
  type MigrateInput,
  type Runtime
} from '../../lib/index.js'
import { right } from '../support/either.js'
import { makeImage, qemuSuite, qemuVersion } from './harness.js'
import { gone, isRec, listen, machineState, migrationStatus, run, startSource, startTarget, status, until, type Source, type Target } from './migrate-setup.js'

const test = qemuSuite('live migration between two QEMUs')

const MiB = 1024 * 1024

/** An outcome without its runtime, for messages. */
const brief = (o: { readonly _tag: string; readonly log: unknown }): string => JSON.stringify({ ...o, runtime: undefined })

/** Hot-adds a qcow2 disk and a NIC, and changes the CD-ROM's medium: the runtime the target gets. */
const changeSource = async (src: Source): Promise<Runtime> => {
  let rt = src.runtime
  const img = await makeImage(src.tmp.path, 'data.qcow2', 'qcow2')
  const requests = [
    { disk: right(decodeDisk({ uuid: '3a4b5c6d-7e8f-4a9b-8c0d-1e2f3a4b5c6d', path: img, format: 'qcow2' })) },
    { nic: right(decodeNic({ uuid: '4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e', mac: 'aa:00:00:00:10:01', backend: { type: 'user' } })) }
  ] as const
  for (const request of requests) {
    const plan = right(planHotAdd(rt, request))
    const o = await run(plan, src.x)
    assert.is(o._tag, 'Done', `${plan.title}: ${brief(o)}`)
    rt = plan.after
  }
  const media = right(planChangeMedium(rt, 'cdrom1', src.isos[1]))
  const o = await run(media, src.x)
  assert.is(o._tag, 'Done', brief(o))
  return media.after
}

const capabilities = async (src: Source | Target): Promise<Readonly<Record<string, boolean>>> => {
  const caps = await src.vm.qmp.executeOk('query-migrate-capabilities')
  return Object.fromEntries((Array.isArray(caps) ? caps : []).flatMap((c: unknown) => (isRec(c) && typeof c['capability'] === 'string' ? [[c['capability'], c['state'] === true]] : [])))
}

const parameters = async (src: Source): Promise<Readonly<Record<string, unknown>>> => {
  const p = await src.vm.qmp.executeOk('query-migrate-parameters')
  return isRec(p) ? p : {}
}

const cleanup = async (src: Source, dst: Target | undefined): Promise<void> => {
  await dst?.vm.kill()
  await src.vm.kill()
  await src.tmp.cleanup()
}

test('every migration capability of the library is in this QEMU\'s schema, or known to be not yet or no longer there', async () => {
  const src = await startSource({}, 'none')
  try {
    const schema = await src.vm.qmp.executeOk('query-qmp-schema')
    const names = new Set(
      (Array.isArray(schema) ? schema : []).flatMap((e: unknown) =>
        isRec(e) && e['meta-type'] === 'enum' && Array.isArray(e['members']) && e['members'].some((m: unknown) => isRec(m) && m['name'] === 'xbzrle')
          ? e['members'].flatMap((m: unknown) => (isRec(m) && typeof m['name'] === 'string' ? [m['name']] : []))
          : []
      )
    )
    const unstable = new Set(
      (Array.isArray(schema) ? schema : []).flatMap((e: unknown) =>
        isRec(e) && e['meta-type'] === 'enum' && Array.isArray(e['members']) && e['members'].some((m: unknown) => isRec(m) && m['name'] === 'xbzrle')
          ? e['members'].flatMap((m: unknown) => (isRec(m) && typeof m['name'] === 'string' && Array.isArray(m['features']) && m['features'].includes('unstable') ? [m['name']] : []))
          : []
      )
    )
    const v = qemuVersion
    const at = (r: { readonly major: number; readonly minor: number } | undefined): boolean => r !== undefined && (v.major > r.major || (v.major === r.major && v.minor >= r.minor))
    for (const [name, life] of Object.entries(MIGRATION_CAPABILITIES)) {
      const l: CapabilityLife = life
      const expected = (l.since === undefined || at(l.since)) && !at(l.removed)
      assert.is(names.has(name), expected, `${name} in the schema of QEMU ${v.major}.${v.minor}`)
      if (expected) assert.is(unstable.has(name), l.unstable === true, `${name} unstable in QEMU ${v.major}.${v.minor}`)
    }
    for (const n of names) assert.ok(n in MIGRATION_CAPABILITIES, `QEMU has capability ${n}, which the library does not know`)
  } finally {
    await cleanup(src, undefined)
  }
})

for (const how of ['defer', 'listen'] as const) {
  test(`a live migration (-incoming ${how}) after hot-adds and a medium change: the target equals the source; capabilities and parameters read back`, async () => {
    const migration = { migration_caps: 'xbzrle:auto-converge', migration_bandwidth: 64, migration_downtime: 100 }
    const src = await startSource(migration, 'dirty')
    let dst: Target | undefined
    try {
      const rt = await changeSource(src)
      const before = await machineState(src.vm)
      dst = await startTarget(src, rt, how)
      const target = dst
      const plans = await listen(src, target, rt)
      const input: MigrateInput = { uri: target.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 60_000 }
      const plan = right(planMigrate(rt, input))
      const o = await run(plan, src.x)
      assert.is(o._tag, 'Done', brief(o))
      assert.is(o.runtime.runs, 'target')
      assert.is(o.runtime.runtime, rt)
      const figures = migrationFigures(o.log)
      assert.is(figures?.status, 'completed')
      assert.ok((figures?.ramTotal ?? 0) >= 64 * MiB, JSON.stringify(figures))
      const f = await run(plans.finish, target.x)
      assert.is(f._tag, 'Done', brief(f))
      assert.is(f.runtime.runs, 'target')
      assert.is(await status(target.vm), 'running')
      assert.is(await status(src.vm), 'postmigrate')
      assert.equal(await machineState(target.vm), before)
      const srcCaps = await capabilities(src)
      const dstCaps = await capabilities(target)
      for (const c of ['events', 'xbzrle', 'auto-converge']) {
        assert.is(srcCaps[c], true, `source ${c}`)
        assert.is(dstCaps[c], true, `target ${c}`)
      }
      assert.is(srcCaps['multifd'], false)
      const p = await parameters(src)
      assert.is(p['max-bandwidth'], 64 * MiB)
      assert.is(p['downtime-limit'], 100)
      assert.is(p['max-postcopy-bandwidth'], 64 * MiB)
    } finally {
      await cleanup(src, dst)
    }
  })
}

test('q35: a live migration after hot-adds behind the spare root ports and a medium change', async () => {
  const src = await startSource({}, 'dirty', 'q35')
  let dst: Target | undefined
  try {
    const rt = await changeSource(src)
    const before = await machineState(src.vm)
    assert.ok(before.peripheral.some((p) => p.includes('pcie-root-port')), JSON.stringify(before.peripheral))
    dst = await startTarget(src, rt, 'defer')
    const plans = await listen(src, dst, rt)
    const o = await run(right(planMigrate(rt, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams })), src.x)
    assert.is(o._tag, 'Done', brief(o))
    assert.is((await run(plans.finish, dst.x))._tag, 'Done')
    assert.is(await status(dst.vm), 'running')
    assert.equal(await machineState(dst.vm), before)
  } finally {
    await cleanup(src, dst)
  }
})

test('a non-live migration stops the source first; the target resumes the guest', async () => {
  const src = await startSource({ migration_mode: 'non-live' }, 'dirty')
  let dst: Target | undefined
  try {
    const before = await machineState(src.vm)
    dst = await startTarget(src, src.runtime, 'defer')
    const plans = await listen(src, dst)
    const plan = right(planMigrate(src.runtime, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams }))
    assert.ok(plan.steps.some((s) => s._tag === 'command' && s.command.execute === 'stop'))
    const o = await run(plan, src.x)
    assert.is(o._tag, 'Done', brief(o))
    assert.ok(src.vm.qmp.events().some((e) => e.event === 'STOP'))
    assert.is((await run(plans.finish, dst.x))._tag, 'Done')
    assert.is(await status(dst.vm), 'running')
    assert.is(await status(src.vm), 'postmigrate')
    assert.equal(await machineState(dst.vm), before)
  } finally {
    await cleanup(src, dst)
  }
})

/** Slow enough never to converge against the dirtying guest (1 MiB/s, 30 ms). */
const SLOW = { migration_bandwidth: 1, migration_downtime: 30, migration_caps: 'xbzrle' }

const assertSourceAsBefore = async (src: Source, before: Awaited<ReturnType<typeof machineState>>): Promise<void> => {
  await until('the source to run again', async () => (await status(src.vm)) === 'running')
  assert.equal(await machineState(src.vm), before)
  const caps = await capabilities(src)
  assert.is(caps['xbzrle'], false, 'migration_caps switched off again')
  assert.is(caps['events'], true)
  const p = await parameters(src)
  assert.is(p['max-bandwidth'], 128 * MiB, 'QEMU\'s default bandwidth again')
  assert.is(p['downtime-limit'], 300)
}

test('a failed migration (the target killed midway) leaves the source running, its runtime and devices unchanged', async () => {
  const src = await startSource(SLOW, 'dirty')
  let dst: Target | undefined
  try {
    const before = await machineState(src.vm)
    dst = await startTarget(src, src.runtime, 'defer')
    const target = dst
    await listen(src, target)
    const plan = right(planMigrate(src.runtime, { uri: target.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 60_000 }))
    const running = run(plan, src.x)
    await until('the migration to be active', async () => (await migrationStatus(src.vm)) === 'active')
    await target.vm.kill()
    const o = await running
    assert.is(o._tag, 'RolledBack', brief(o))
    if (o._tag !== 'RolledBack') return
    assert.is(o.error._tag, 'CheckFailed')
    assert.match(JSON.stringify(o.error), /failed/)
    assert.is(o.runtime.runs, 'source')
    assert.is(o.runtime.runtime, src.runtime)
    assert.is(await migrationStatus(src.vm), 'failed')
    await assertSourceAsBefore(src, before)
  } finally {
    await cleanup(src, dst)
  }
})

test('a migration that does not end in time is cancelled: the source runs on, the target exits by itself', async () => {
  const src = await startSource(SLOW, 'dirty')
  let dst: Target | undefined
  try {
    const before = await machineState(src.vm)
    dst = await startTarget(src, src.runtime, 'defer')
    await listen(src, dst)
    const o = await run(right(planMigrate(src.runtime, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 1500 })), src.x)
    assert.is(o._tag, 'RolledBack', brief(o))
    if (o._tag !== 'RolledBack') return
    assert.is(o.error._tag, 'Timeout')
    assert.is(o.runtime.runs, 'source')
    assert.is(await migrationStatus(src.vm), 'cancelled')
    await assertSourceAsBefore(src, before)
    const pid = dst.vm.pid
    await until('the target to exit', async () => gone(pid))
  } finally {
    await cleanup(src, dst)
  }
})

test('a migration cancelled from elsewhere: the plan says so, and the source runs on', async () => {
  const src = await startSource(SLOW, 'dirty')
  let dst: Target | undefined
  try {
    const before = await machineState(src.vm)
    dst = await startTarget(src, src.runtime, 'defer')
    const plans = await listen(src, dst)
    const running = run(right(planMigrate(src.runtime, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 60_000 })), src.x)
    await until('the migration to be active', async () => (await migrationStatus(src.vm)) === 'active')
    await src.vm.qmp.executeOk('migrate_cancel')
    const o = await running
    assert.is(o._tag, 'RolledBack', brief(o))
    if (o._tag !== 'RolledBack') return
    assert.match(JSON.stringify(o.error), /cancelled/)
    await assertSourceAsBefore(src, before)
    // The target's finish plan hears that it failed.
    const f = await run(plans.finish, dst.x)
    assert.not.equal(f._tag, 'Done')
    assert.is(f.runtime.runs, 'source')
  } finally {
    await cleanup(src, dst)
  }
})

test('hotplug is refused while the migration is in progress, naming it', async () => {
  const src = await startSource(SLOW, 'dirty')
  let dst: Target | undefined
  try {
    dst = await startTarget(src, src.runtime, 'defer')
    await listen(src, dst)
    const running = run(right(planMigrate(src.runtime, { uri: dst.uri, target: qemuVersion, hvparams: src.hvparams, timeoutMs: 2000 })), src.x)
    await until('the migration to be active', async () => (await migrationStatus(src.vm)) === 'active')
    const migration = await migrationStatus(src.vm)
    const disk = right(decodeDisk({ uuid: '5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f', path: join(src.tmp.path, 'boot.raw') }))
    const refused = planHotAdd(src.runtime, { disk }, { migration })
    assert.ok(refused._tag === 'Left' && refused.left._tag === 'MigrationInProgress', JSON.stringify(refused))
    // QEMU agrees: device_add is refused during a migration.
    const r = await src.vm.qmp.execute('device_add', { driver: 'virtio-net-pci', id: 'late0' })
    assert.is(r._tag, 'Error')
    await running
  } finally {
    await cleanup(src, dst)
  }
})

test.run()
