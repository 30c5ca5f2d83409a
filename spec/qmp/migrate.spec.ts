/**
 * Migration without QEMU: the migration_* hvparams decoded with Ganeti 3.1.1's defaults and
 * checks, the exact steps of the source and target plans, capabilities checked per QEMU release,
 * the compatibility checks (machine type, command line), hotplug refused during a migration, and
 * a rollback's order through a scripted executor. spec/qemu/migrate*.spec.ts run the plans
 * against two real QEMUs.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeInstance,
  decodeMigrationSettings,
  formatError,
  incomingArgv,
  planChangeMedium,
  planDevices,
  planHotAdd,
  planHotRemove,
  planIncoming,
  planMigrate,
  runPlan,
  tcpUri,
  toRuntime,
  type DevplanError,
  type Executor,
  type QmpCommand,
  type QmpEvent,
  type QmpReply,
  type Runtime
} from '../../lib/index.js'
import { decodeOk, planOk, spec, version } from '../support/fixtures.js'

const MiB = 1024 * 1024
const V72 = version('7.2.0')
const V100 = version('10.0.0')

const right = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(`${e.left._tag}: ${formatError(e.left)}`)
  return e.right
}
const left = <A>(e: E.Either<DevplanError, A>): DevplanError => {
  if (E.isRight(e)) throw new Error('expected Left')
  return e.left
}

const runtimeFor = (hvparams: Readonly<Record<string, unknown>> = {}, qemu = '7.2', disks = 1): Runtime => {
  const input = spec({ kvm_path: '/usr/bin/qemu-system-x86_64', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'ide', ...hvparams } as never, disks, 1)
  const inst = decodeOk(input)
  const tree = hvparams['use_chroot'] === true ? right(planDevices(inst, { qemu, host: { chrootDir: '/var/chroot/vm1' } })) : planOk(input, qemu)
  return right(toRuntime(inst, tree, { qmpSocket: '/run/vm1.qmp' }))
}

const executes = (plan: { readonly steps: ReadonlyArray<{ readonly _tag: string; readonly command?: QmpCommand }> }): ReadonlyArray<string> =>
  plan.steps.map((s) => (s._tag === 'wait' ? 'wait' : (s.command?.execute ?? '?')))

test('migration_* hvparams: Ganeti 3.1.1\'s defaults', () => {
  assert.equal(right(decodeMigrationSettings({})), { port: 8102, bandwidthMiB: 32, downtimeMs: 30, mode: 'live', caps: [] })
  assert.equal(right(decodeMigrationSettings({ migration_caps: 'xbzrle:auto-converge:xbzrle', migration_mode: 'non-live', migration_port: 65534, migration_bandwidth: 0 })), {
    port: 65534, bandwidthMiB: 0, downtimeMs: 30, mode: 'non-live', caps: ['xbzrle', 'auto-converge']
  })
})

test('migration_* hvparams: each bad value named with its field', () => {
  const cases: ReadonlyArray<readonly [Readonly<Record<string, unknown>>, string, RegExp]> = [
    [{ migration_port: 0 }, 'hvparams.migration_port', /an integer from 1 to 65534/],
    [{ migration_port: 65535 }, 'hvparams.migration_port', /integer/],
    [{ migration_port: '8102' }, 'hvparams.migration_port', /integer/],
    [{ migration_bandwidth: -1 }, 'hvparams.migration_bandwidth', /integer/],
    [{ migration_downtime: 2_000_001 }, 'hvparams.migration_downtime', /integer/],
    [{ migration_mode: 'fast' }, 'hvparams.migration_mode', /live/],
    [{ migration_caps: 'xbzrle::bogus' }, 'hvparams.migration_caps', /an empty name, "bogus" are not migration capabilities/],
    [{ migration_caps: 7 }, 'hvparams.migration_caps', /separated by ":"/]
  ]
  for (const [hv, path, message] of cases) {
    const e = left(decodeMigrationSettings(hv))
    assert.is(e._tag, 'InvalidInput')
    if (e._tag !== 'InvalidInput') continue
    assert.equal(e.errors.map((x) => x.path), [path], JSON.stringify(hv))
    assert.match(formatError(e), message)
  }
  // The instance decoder checks them too, and they are modelled now (no NotModelled warning).
  const bad = decodeInstance(spec({ migration_port: 70000 }))
  assert.ok(E.isLeft(bad) && /hvparams\.migration_port/.test(formatError(bad.left)))
  assert.equal(decodeOk(spec({ migration_port: 8102, migration_caps: 'xbzrle' })).unmodelled, [])
})

test('planMigrate: capabilities (events first), parameters in bytes and ms, migrate, wait, query-migrate', () => {
  const rt = runtimeFor()
  const plan = right(planMigrate(rt, { uri: tcpUri('192.0.2.10', 8102), target: V72, hvparams: { migration_caps: 'xbzrle' } }))
  assert.equal(executes(plan), ['migrate-set-capabilities', 'migrate-set-parameters', 'migrate', 'wait', 'query-migrate'])
  const [caps, params, mig] = plan.steps
  assert.equal(caps?._tag === 'command' ? caps.command.arguments : undefined, { capabilities: [{ capability: 'events', state: true }, { capability: 'xbzrle', state: true }] })
  assert.equal(params?._tag === 'command' ? params.command.arguments : undefined, { 'max-bandwidth': 32 * MiB, 'downtime-limit': 30, 'max-postcopy-bandwidth': 32 * MiB })
  assert.equal(mig?._tag === 'command' ? mig.command.arguments : undefined, { uri: 'tcp:192.0.2.10:8102' })
  assert.equal(plan.before, { runs: 'source', runtime: rt })
  assert.equal(plan.after, { runs: 'target', runtime: rt })
  // Non-live stops a running guest first; a paused one is left alone.
  assert.equal(executes(right(planMigrate(rt, { uri: 'unix:/run/m.sock', target: V72, mode: 'non-live' }))), ['migrate-set-capabilities', 'migrate-set-parameters', 'stop', 'migrate', 'wait', 'query-migrate'])
  assert.equal(executes(right(planMigrate(rt, { uri: 'unix:/run/m.sock', target: V72, mode: 'non-live', running: false }))), ['migrate-set-capabilities', 'migrate-set-parameters', 'migrate', 'wait', 'query-migrate'])
  // The runtime's own hvparams, when the caller gives none.
  assert.equal(executes(right(planMigrate(runtimeFor({ migration_mode: 'non-live' }), { uri: 'unix:/run/m.sock', target: V72 }))).includes('stop'), false, 'toRuntime records the modelled hvparams only')
  assert.is(tcpUri('2001:db8::1', 8102), 'tcp:[2001:db8::1]:8102')
})

test('planMigrate refuses URIs it cannot vouch for, and inputs that are not what they say', () => {
  const rt = runtimeFor()
  for (const uri of ['exec:cat > /tmp/x', 'tcp:host', 'tcp:host:0', 'tcp:host:70000', 'unix:relative', 'fd:3', 7]) {
    const e = left(planMigrate(rt, { uri: uri as string, target: V72 }))
    assert.ok(e._tag === 'InvalidInput' && e.errors[0]?.path === 'input.uri', JSON.stringify(uri))
  }
  assert.match(formatError(left(planMigrate(rt, { uri: 'unix:/m', target: { major: 7 } as never }))), /input\.target/)
  assert.match(formatError(left(planMigrate(rt, { uri: 'unix:/m', target: V72, timeoutMs: Infinity }))), /input\.timeoutMs/)
  assert.match(formatError(left(planMigrate(rt, { uri: 'unix:/m', target: V72, mode: 'fast' as never }))), /input\.mode/)
})

test('capabilities are checked on both QEMUs: added later, removed since', () => {
  const rt = runtimeFor()
  const later = formatError(left(planMigrate(rt, { uri: 'unix:/m', target: V72, hvparams: { migration_caps: 'switchover-ack' } })))
  assert.match(later, /switchover-ack.*QEMU 8\.1 and later; the target runs QEMU 7\.2\.0/)
  // The source (7.2, from the stamp) has compress; a 10.0 target no longer does.
  const gone = formatError(left(planMigrate(runtimeFor({ machine_version: 'pc-i440fx-7.2' }), { uri: 'unix:/m', target: V100, hvparams: { migration_caps: 'compress' } })))
  assert.match(gone, /compress.*removed in QEMU 9\.1; the target runs QEMU 10\.0\.0/)
  assert.ok(E.isRight(planMigrate(rt, { uri: 'unix:/m', target: V72, hvparams: { migration_caps: 'compress:multifd' } })))
  // The target's plans check its own QEMU, and a fixed listen cannot take multifd.
  const incoming = { _tag: 'listen', uri: 'tcp:0.0.0.0:8102' } as const
  assert.match(formatError(left(planIncoming(rt, { incoming, target: V72, hvparams: { migration_caps: 'multifd' } }))), /before the target listens.*defer/)
  assert.ok(E.isRight(planIncoming(rt, { incoming: { _tag: 'defer', uri: 'tcp:0.0.0.0:8102' }, target: V72, hvparams: { migration_caps: 'multifd' } })))
})

test('compatibility: a target older than the machine, an alias between releases, options the target lacks', () => {
  const uri = 'unix:/m'
  const versioned = runtimeFor({ machine_version: 'pc-i440fx-7.2' })
  const older = left(planMigrate(versioned, { uri, target: version('7.1.0') }))
  assert.is(older._tag, 'NotMigratable')
  assert.match(formatError(older), /cannot migrate to QEMU 7\.1\.0: machine pc-i440fx-7\.2 is newer than the target's QEMU 7\.1\.0/)
  assert.ok(E.isRight(planMigrate(versioned, { uri, target: V100 })), 'a versioned machine migrates to a newer QEMU')
  const alias = formatError(left(planMigrate(runtimeFor(), { uri, target: V100 })))
  assert.match(alias, /machine pc means pc-i440fx-7\.2 on the source's QEMU 7\.2\.0 but pc-i440fx-10\.0 on the target's QEMU 10\.0\.0: set hvparams\.machine_version/)
  assert.ok(E.isRight(planMigrate(runtimeFor(), { uri, target: version('7.2.22') })), 'the same release, another micro')
  assert.match(formatError(left(planMigrate(runtimeFor({ machine_version: 'pc-i440fx-2.3' }), { uri, target: V100 }))), /older than the oldest the target's QEMU 10\.0\.0 keeps \(pc-i440fx-2\.4\)/)
  // 7.2 renders -device as JSON, which 6.0 cannot read.
  assert.match(formatError(left(planMigrate(versioned, { uri, target: version('6.0.0') }))), /-device is given as JSON.*6\.2/)
  // -chroot, rendered for 8.0, is gone from 9.0 on.
  const chroot = runtimeFor({ machine_version: 'pc-i440fx-8.0', use_chroot: true, security_model: 'none' }, '8.0')
  assert.ok(chroot.cmd.includes('-chroot'))
  assert.match(formatError(left(incomingArgv(chroot, { incoming: { _tag: 'defer', uri }, target: V100 }))), /-chroot is gone from the target's QEMU 10\.0\.0/)
  // The target's plans refuse what its command line refuses.
  const incoming = { _tag: 'defer', uri } as const
  for (const [rt, target] of [[runtimeFor(), V100], [versioned, version('7.1.0')], [chroot, V100]] as const) {
    const argv = left(incomingArgv(rt, { incoming, target }))
    assert.equal(left(planIncoming(rt, { incoming, target })), argv)
  }
})

test('a runtime without stamp (Ganeti wrote it): the source version is an input, the argv is rendered for the target', () => {
  const stamped = runtimeFor()
  const ganeti: Runtime = { ...stamped, stamp: undefined }
  assert.match(formatError(left(planMigrate(ganeti, { uri: 'unix:/m', target: V72 }))), /no stamp: give source/)
  assert.ok(E.isRight(planMigrate(ganeti, { uri: 'unix:/m', target: V72, source: version('7.2.5') })))
  assert.match(formatError(left(planMigrate(ganeti, { uri: 'unix:/m', target: V100, source: V72 }))), /machine pc means pc-i440fx-7\.2/)
})

test('incomingArgv: the runtime\'s argv, paused, waiting with -incoming', () => {
  const rt = runtimeFor({ machine_version: 'pc-i440fx-7.2' })
  const defer = right(incomingArgv(rt, { incoming: { _tag: 'defer', uri: 'tcp:0.0.0.0:8102' }, target: V72 }))
  assert.equal(defer.slice(-3), ['-S', '-incoming', 'defer'])
  const listen = right(incomingArgv(rt, { incoming: { _tag: 'listen', uri: 'tcp:0.0.0.0:8102' }, target: V100 }))
  assert.equal(listen.slice(-3), ['-S', '-incoming', 'tcp:0.0.0.0:8102'])
  const plans = right(planIncoming(rt, { incoming: { _tag: 'defer', uri: 'tcp:0.0.0.0:8102' }, target: V72 }))
  assert.equal(executes(plans.listen), ['migrate-set-capabilities', 'migrate-incoming'])
  assert.equal(executes(plans.finish), ['wait', 'query-migrate', 'cont'])
  assert.equal(executes(right(planIncoming(rt, { incoming: { _tag: 'listen', uri: 'tcp:0.0.0.0:8102' }, target: V72, resume: false })).finish), ['wait', 'query-migrate'])
  assert.equal(plans.listen.after.runs, 'source')
  assert.equal(plans.finish.after.runs, 'target')
})

test('address and port as inputs: migration_port is the default port', () => {
  const rt = runtimeFor({ machine_version: 'pc-i440fx-7.2' })
  const uriOf = (plan: { readonly steps: ReadonlyArray<{ readonly _tag: string; readonly command?: QmpCommand }> }, execute: string): unknown =>
    plan.steps.find((s) => s.command?.execute === execute)?.command?.arguments?.['uri']
  assert.is(uriOf(right(planMigrate(rt, { address: '192.0.2.10', target: V72 })), 'migrate'), 'tcp:192.0.2.10:8102')
  assert.is(uriOf(right(planMigrate(rt, { address: '2001:db8::1', port: 9000, target: V72 })), 'migrate'), 'tcp:[2001:db8::1]:9000')
  const plans = right(planIncoming(rt, { incoming: { _tag: 'defer', address: '0.0.0.0' }, target: V72, hvparams: { migration_port: 8200 } }))
  assert.is(uriOf(plans.listen, 'migrate-incoming'), 'tcp:0.0.0.0:8200')
  assert.equal(right(incomingArgv(rt, { incoming: { _tag: 'listen', address: '0.0.0.0' }, target: V72 })).slice(-2), ['-incoming', 'tcp:0.0.0.0:8102'])
  assert.match(formatError(left(planMigrate(rt, { address: 'a b', target: V72 }))), /input\.address/)
  assert.match(formatError(left(planMigrate(rt, { address: '192.0.2.10', port: 0, target: V72 }))), /input\.port/)
  assert.match(formatError(left(planMigrate(rt, { address: '192.0.2.10', uri: 'unix:/m', target: V72 } as never))), /either uri or address/)
})

test('hotplug and medium changes are refused while a migration is in progress, naming it', () => {
  const rt = runtimeFor()
  const disk = right(decodeDisk({ uuid: '6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a', path: '/srv/b.raw' }))
  for (const status of ['active', 'setup', 'device', 'postcopy-active', 'cancelling']) {
    const errors = [
      left(planHotAdd(rt, { disk }, { migration: status })),
      left(planHotRemove(rt, rt.disks[0]?.placed?.id ?? '', { migration: status })),
      left(planChangeMedium(rt, 'cdrom1', '/srv/b.iso', { migration: status }))
    ]
    for (const e of errors) {
      assert.is(e._tag, 'MigrationInProgress')
      assert.match(formatError(e), new RegExp(`migration of the instance is in progress \\(query-migrate says ${status}\\)`))
    }
  }
  for (const status of ['none', 'completed', 'failed', 'cancelled', undefined]) {
    assert.ok(E.isRight(planHotAdd(rt, { disk }, status === undefined ? {} : { migration: status })), String(status))
  }
})

/** A scripted QEMU: every command succeeds; `migrate` ends with `status`, as query-migrate then says. */
const scripted = (status: string): { readonly x: Executor; readonly sent: QmpCommand[] } => {
  const sent: QmpCommand[] = []
  const events: QmpEvent[] = []
  let cursor = 0
  let now = 'none'
  const reply = (c: QmpCommand): QmpReply => {
    if (c.execute === 'migrate') {
      now = status
      events.push({ event: 'MIGRATION', data: { status }, timestamp: { seconds: 0, microseconds: 0 } })
    }
    return { _tag: 'Return', value: c.execute === 'query-migrate' ? { status: now, 'error-desc': status === 'failed' ? 'Unable to write to socket: Broken pipe' : undefined } : {} }
  }
  const x: Executor = {
    send: (c) => async () => {
      sent.push(c)
      cursor = events.length - (c.execute === 'migrate' ? 1 : 0)
      return E.right(reply(c))
    },
    waitEvent: (p) => async () => {
      const e = events.slice(cursor).find(p)
      return E.right(e === undefined ? O.none : O.some(e))
    }
  }
  return { x, sent }
}

test('a failed migration rolls back: cancel, a barrier, query-migrate before cont, defaults, capabilities off', async () => {
  const rt = runtimeFor()
  const plan = right(planMigrate(rt, { uri: 'unix:/m', target: V72, mode: 'non-live', hvparams: { migration_caps: 'xbzrle' } }))
  const { x, sent } = scripted('failed')
  const r = await runPlan(plan, x)()
  const o = E.isRight(r) ? r.right : undefined
  assert.is(o?._tag, 'RolledBack')
  if (o?._tag !== 'RolledBack') return
  assert.match(JSON.stringify(o.error), /Broken pipe/)
  assert.is(o.runtime.runs, 'source')
  assert.equal(sent.map((c) => c.execute), [
    'migrate-set-capabilities', 'migrate-set-parameters', 'stop', 'migrate', 'query-migrate',
    'migrate_cancel', 'migrate-set-capabilities', 'query-migrate', 'query-migrate', 'cont', 'migrate-set-parameters', 'migrate-set-capabilities'
  ])
  assert.equal(sent[10]?.arguments, { 'max-bandwidth': 128 * MiB, 'downtime-limit': 300, 'max-postcopy-bandwidth': 0 })
  assert.equal(sent[11]?.arguments, { capabilities: [{ capability: 'events', state: true }, { capability: 'xbzrle', state: false }] })
})

test('a completed migration whose query-migrate was lost is never undone by resuming the source', async () => {
  const rt = runtimeFor()
  const plan = right(planMigrate(rt, { uri: 'unix:/m', target: V72, mode: 'non-live' }))
  const { x, sent } = scripted('completed')
  const lossy: Executor = { ...x, send: (c) => async () => (c.execute === 'query-migrate' && !sent.some((s) => s.execute === 'query-migrate') ? (await x.send(c)(), E.left({ _tag: 'TransportError', message: 'lost' })) : x.send(c)()) }
  const r = await runPlan(plan, lossy)()
  const o = E.isRight(r) ? r.right : undefined
  assert.is(o?._tag, 'RollbackIncomplete')
  assert.not.ok(sent.some((c) => c.execute === 'cont'), 'no cont after a completed migration')
  if (o?._tag === 'RollbackIncomplete') assert.equal(o.leftovers.map((l) => l.step), [3, 2])
})

test('a target version as text is read as a target spec reads it; a migration_* typo is refused, not taken for a default', () => {
  const rt = runtimeFor()
  const viaText = right(planMigrate(rt, { uri: 'tcp:127.0.0.1:8102', target: '7.2' }))
  const viaShape = right(planMigrate(rt, { uri: 'tcp:127.0.0.1:8102', target: V72 }))
  assert.equal(viaText.steps, viaShape.steps)
  const typo = left(planMigrate(rt, { uri: 'tcp:127.0.0.1:8102', target: V72, hvparams: { migration_bandwith: 1000 } }))
  assert.is(typo._tag, 'InvalidInput')
  if (typo._tag === 'InvalidInput') assert.equal(typo.errors.map((e) => e.path), ['input.hvparams.migration_bandwith'])
  assert.is(left(planMigrate(rt, { uri: 'tcp:127.0.0.1:8102', target: 'seven' })). _tag, 'InvalidInput')
})

test.run()
