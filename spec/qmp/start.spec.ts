/**
 * The start plan without QEMU: the exact steps for each combination of VNC password and
 * ballooning, the same facts from a tree and from its runtime (and from the forms of a Ganeti
 * command line), every refused input naming its field without showing a password, and the
 * runner's outcomes and logs, where the password never appears. spec/qemu/start.spec.ts runs the
 * same plans against real QEMUs.
 */
import { inspect } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  decodeInstance,
  formatError,
  passwordProtocols,
  planDevices,
  planStart,
  redactCommand,
  REDACTED,
  runPlan,
  runtimeStartFacts,
  secret,
  startFacts,
  toRuntime,
  type DevplanError,
  type Executor,
  type QmpCommand,
  type QmpPlan,
  type QmpReply,
  type RunOutcome,
  type Runtime,
  type StartFacts,
  type StartInput,
  makeRuntime,
  undoCommands
} from '../../lib/index.js'
import * as qmp from '../../lib/qmp/commands.js'
import { right } from '../support/either.js'

const MiB = 1024 * 1024
const PASSWORD = 'hunter2-start-spec'

const plannedInstance = (hvparams: Record<string, unknown>, memory = 256) => {
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory, network_port: 5901, hvparams: { kernel_path: '/boot/vmlinuz', ...hvparams } }))
  const tree = right(planDevices(inst, { qemu: { major: 7, minor: 2, micro: 0 } }))
  const rt = right(toRuntime(inst, tree, { qmpSocket: '/run/vm1.qmp', accel: 'tcg' }))
  return { tree, rt }
}

const VNC_PW = { vnc_bind_address: '/run/vnc', vnc_password_file: '/etc/ganeti/vnc.pw' }
const VNC = { vnc_bind_address: '0.0.0.0' }
const SPICE_PW = { spice_bind: '127.0.0.1', spice_password_file: '/etc/ganeti/spice.pw' }
const SPICE = { spice_bind: '127.0.0.1' }

const left = <A>(e: E.Either<DevplanError, A>): DevplanError => {
  if (E.isRight(e)) throw new Error(`expected Left, got ${JSON.stringify(e.right)}`)
  return e.left
}

/** The field errors of an InvalidInput, as `path: message` lines. */
const fields = (e: DevplanError): ReadonlyArray<string> => (e._tag === 'InvalidInput' ? e.errors.map((x) => `${x.path}: ${x.message}`) : [`${e._tag}`])

const commands = (plan: QmpPlan<undefined>): ReadonlyArray<unknown> =>
  plan.steps.map((s) => ({ do: s._tag === 'command' ? s.command : s._tag, undo: undoCommands(s)[0] }))

test('VNC with a password and a startup memory below -m: set_password, balloon (undone to -m), cont', () => {
  const { tree } = plannedInstance(VNC_PW)
  const plan = right(planStart(startFacts(tree), { startupMemory: 192, passwords: { vnc: secret(PASSWORD) } }))
  assert.equal(commands(plan), [
    { do: { execute: 'set_password', arguments: { protocol: 'vnc', password: PASSWORD } }, undo: undefined },
    { do: { execute: 'balloon', arguments: { value: 192 * MiB } }, undo: { execute: 'balloon', arguments: { value: 256 * MiB } } },
    { do: { execute: 'cont' }, undo: undefined }
  ])
  assert.is(plan.title, 'start: set the VNC password, balloon to 192 of 256 MiB, resume the guest (cont)')
  assert.ok(!plan.title.includes(PASSWORD) && plan.steps.every((s) => !s.description.includes(PASSWORD)), 'no password in title or descriptions')
  assert.equal([plan.before, plan.after, plan.warnings], [undefined, undefined, []])
})

test('VNC with a password at full memory: set_password, cont', () => {
  const { tree } = plannedInstance(VNC_PW)
  const plan = right(planStart(startFacts(tree), { startupMemory: 256, passwords: { vnc: secret(PASSWORD) } }))
  assert.equal(commands(plan), [
    { do: { execute: 'set_password', arguments: { protocol: 'vnc', password: PASSWORD } }, undo: undefined },
    { do: { execute: 'cont' }, undo: undefined }
  ])
})

test('SPICE with a password (no disable-ticketing=on): set_password spice, then cont', () => {
  const { tree, rt } = plannedInstance(SPICE_PW)
  assert.not.ok(rt.cmd.some((w) => String(w).includes('disable-ticketing')), 'ticketing on')
  const plan = right(planStart(startFacts(tree), { startupMemory: 256, passwords: { spice: secret(PASSWORD) } }))
  assert.equal(commands(plan), [
    { do: { execute: 'set_password', arguments: { protocol: 'spice', password: PASSWORD } }, undo: undefined },
    { do: { execute: 'cont' }, undo: undefined }
  ])
  assert.is(plan.title, 'start: set the SPICE password, resume the guest (cont)')
  assert.equal(fields(left(planStart(startFacts(tree), { startupMemory: 256, passwords: { vnc: secret(PASSWORD) } }))), [
    'passwords.vnc: is given, but QEMU was not started to wait for a VNC password: set_password would fail',
    'passwords.spice: is needed: QEMU was started to wait for a SPICE password, and nobody can connect until it is set'
  ])
})

test('no password, below -m: balloon, cont; no display at all, full memory: cont alone', () => {
  for (const hv of [VNC, { vnc_bind_address: '/run/vnc' }, SPICE, {}]) {
    const { tree } = plannedInstance(hv)
    assert.equal(commands(right(planStart(startFacts(tree), { startupMemory: 100 }))), [
      { do: { execute: 'balloon', arguments: { value: 100 * MiB } }, undo: { execute: 'balloon', arguments: { value: 256 * MiB } } },
      { do: { execute: 'cont' }, undo: undefined }
    ], JSON.stringify(hv))
    assert.equal(commands(right(planStart(startFacts(tree), { startupMemory: 256, passwords: {} }))), [{ do: { execute: 'cont' }, undo: undefined }], JSON.stringify(hv))
  }
})

test('a recorded runtime gives the facts its tree gives', () => {
  for (const hv of [VNC_PW, VNC, { vnc_bind_address: '127.0.0.1', vnc_password_file: '/etc/pw' }, SPICE_PW, SPICE, {}]) {
    for (const memory of [128, 4096]) {
      const { tree, rt } = plannedInstance(hv, memory)
      const fromTree = startFacts(tree)
      assert.equal(right(runtimeStartFacts(rt)), fromTree, JSON.stringify(hv))
      assert.equal(fromTree.memory, memory)
      assert.equal(fromTree.passwords, 'vnc_password_file' in hv ? ['vnc'] : 'spice_password_file' in hv ? ['spice'] : [])
      assert.is(fromTree.balloon, true, 'the planner always adds the balloon')
    }
  }
})

/** A Ganeti-style runtime: only `cmd` matters to the start facts. */
const withCmd = (cmd: Runtime['cmd']): Runtime => makeRuntime({ cmd, nics: [], hvparams: { vnc_bind_address: '/run/vnc', vnc_password_file: '/etc/pw' }, disks: [], stamp: undefined })
const BALLOON: Runtime['cmd'] = ['-device', 'virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x4']

test('runtime facts read -m, -vnc and -spice as QEMU does: numbers, suffixes, size=, short-form booleans, the last one winning', () => {
  const facts = (cmd: Runtime['cmd']): StartFacts => right(runtimeStartFacts(withCmd(['/usr/bin/kvm', ...cmd])))
  assert.equal(facts(['-m', 512, ...BALLOON]), { memory: 512, passwords: [], balloon: true })
  assert.equal(facts(['-m', '512']).memory, 512)
  assert.equal(facts(['-m', '2G']).memory, 2048)
  assert.equal(facts(['-m', '768M']).memory, 768)
  assert.equal(facts(['-m', 'size=1024,slots=2,maxmem=4G']).memory, 1024)
  assert.equal(facts(['-m', '128', '-m', '384']).memory, 384)
  assert.equal(facts(['-m', '128', '-vnc', ':1,password']).passwords, ['vnc'])
  assert.equal(facts(['-m', '128', '-vnc', ':1,password=on']).passwords, ['vnc'])
  assert.equal(facts(['-m', '128', '-vnc', ':1,password=off']).passwords, [])
  assert.equal(facts(['-m', '128', '-vnc', ':1,password=on', '-vnc', ':1,password=off']).passwords, [])
  // -vnc's first element is the display, even when it reads "password".
  assert.equal(facts(['-m', '128', '-vnc', 'password']).passwords, [])
  // Ganeti drops the password on a unix socket although hvparams have the file: QEMU decides.
  assert.equal(facts(['-m', '128', '-vnc', 'unix:/run/vnc/vm1.vnc']).passwords, [])
  assert.equal(facts(['-m', '128', '-spice', 'addr=127.0.0.1,port=5901']).passwords, ['spice'])
  assert.equal(facts(['-m', '128', '-spice', 'addr=127.0.0.1,port=5901,disable-ticketing=on']).passwords, [])
  // Ganeti's short form, and -spice's bare first word, which is a flag (it has no implied key).
  assert.equal(facts(['-m', '128', '-spice', 'addr=127.0.0.1,port=5901,disable-ticketing']).passwords, [])
  assert.equal(facts(['-m', '128', '-spice', 'disable-ticketing,port=5901']).passwords, [])
  assert.equal(facts(['-m', '128', '-spice', 'port=5901,disable-ticketing=off']).passwords, ['spice'])
  assert.equal(facts(['-m', '128', '-device', 'virtio-balloon,id=b']).balloon, true)
  assert.equal(facts(['-m', '128', '-device', '{"driver":"virtio-balloon-pci","id":"balloon0"}']).balloon, true)
  assert.equal(facts(['-m', '128', '-device', 'virtio-balloonish']).balloon, false)
})

test('runtime facts refuse a command line without a readable -m, naming the word', () => {
  assert.equal(fields(left(runtimeStartFacts(withCmd(['/usr/bin/kvm', '-smp', '1'])))), ['cmd: has no -m <MiB>: the start plan needs the memory the instance was started with'])
  for (const bad of ['1.5G', '512K', '0', '', 'lots']) {
    const e = left(runtimeStartFacts(withCmd(['/usr/bin/kvm', '-m', bad])))
    assert.equal(e._tag === 'InvalidInput' ? e.errors.map((x) => [x.path, x.value]) : [], [['cmd[2]', bad]], bad)
  }
})

test('a password needed and not given, or given and not needed, is a field error naming the display', () => {
  const pw = startFacts(plannedInstance(VNC_PW).tree)
  const none = startFacts(plannedInstance(VNC).tree)
  assert.equal(fields(left(planStart(pw, { startupMemory: 256 }))), ['passwords.vnc: is needed: QEMU was started to wait for a VNC password, and nobody can connect until it is set'])
  assert.equal(fields(left(planStart(pw, { startupMemory: 256, passwords: {} }))), ['passwords.vnc: is needed: QEMU was started to wait for a VNC password, and nobody can connect until it is set'])
  assert.equal(fields(left(planStart(none, { startupMemory: 256, passwords: { vnc: secret(PASSWORD) } }))), ['passwords.vnc: is given, but QEMU was not started to wait for a VNC password: set_password would fail'])
  // This instance has no SPICE: nothing waits for its password.
  assert.equal(fields(left(planStart(pw, { startupMemory: 256, passwords: { vnc: secret(PASSWORD), spice: secret(PASSWORD) } }))), ['passwords.spice: is given, but QEMU was not started to wait for a SPICE password: set_password would fail'])
})

test('bad passwords and memory are field errors, all at once, and never show the password', () => {
  const facts = startFacts(plannedInstance(VNC_PW).tree)
  const untyped = (input: unknown): DevplanError => left(planStart(facts, input as StartInput))
  const cases: ReadonlyArray<readonly [unknown, ReadonlyArray<string>]> = [
    [{ startupMemory: 256, passwords: { vnc: PASSWORD } }, ['passwords.vnc: expected a Secret made by secret(password)']],
    [{ startupMemory: 256, passwords: { vnc: secret('') } }, ['passwords.vnc: expected a non-empty password without NUL bytes or lone surrogates']],
    [{ startupMemory: 256, passwords: { vnc: secret(`${PASSWORD}\0`) } }, ['passwords.vnc: expected a non-empty password without NUL bytes or lone surrogates']],
    [{ startupMemory: 256, passwords: { vnc: { _tag: 'Secret', reveal: () => { throw new Error(PASSWORD) } } } }, ['passwords.vnc: expected a Secret made by secret(password)']],
    [{ startupMemory: 256, passwords: { vnc: secret(PASSWORD), rdp: PASSWORD } }, ['passwords.rdp: is not a display QEMU sets passwords of (vnc, spice)']],
    [{ startupMemory: 256, passwords: PASSWORD }, ['passwords: expected a record of Secrets by display, such as { vnc: secret(…) }']],
    [{ startupMemory: 0, passwords: { vnc: PASSWORD } }, ['startupMemory: expected a positive whole number of MiB', 'passwords.vnc: expected a Secret made by secret(password)']],
    [null, ['input: expected { startupMemory, passwords? }', 'passwords.vnc: is needed: QEMU was started to wait for a VNC password, and nobody can connect until it is set']]
  ]
  for (const [input, want] of cases) {
    const e = untyped(input)
    assert.equal(fields(e), want, JSON.stringify(input))
    assert.not.match(`${formatError(e)} ${JSON.stringify(e)} ${inspect(e, { depth: 9 })}`, PASSWORD, 'the error shows no password')
  }
})

test('facts that are not start facts are a field error at facts, whatever an untyped caller passes', () => {
  for (const facts of [null, 5, 'facts', [], {}, { memory: 512, passwords: 'vnc', balloon: true }]) {
    const e = left(planStart(facts as unknown as StartFacts, { startupMemory: 256 }))
    assert.equal(fields(e), ['facts: expected start facts { memory, passwords, balloon }, as startFacts(tree) or runtimeStartFacts(runtime) give them'], JSON.stringify(facts))
  }
})

test('startupMemory: a positive whole number of MiB, at most -m; below -m only with a balloon', () => {
  const facts = startFacts(plannedInstance(VNC).tree)
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity, '192', 2 ** 53]) {
    const e = left(planStart(facts, { startupMemory: bad as number }))
    assert.equal(e._tag === 'InvalidInput' ? e.errors.map((x) => [x.path, x.value]) : [], [['startupMemory', bad]], String(bad))
  }
  assert.equal(fields(left(planStart(facts, { startupMemory: 257 }))), ["startupMemory: is above the instance's memory (-m 256 MiB): the balloon can only take memory back"])
  const noBalloon: StartFacts = { ...facts, balloon: false }
  assert.equal(fields(left(planStart(noBalloon, { startupMemory: 255 }))), ["startupMemory: is below the instance's memory (-m 256 MiB), and the machine has no balloon device to take the rest back"])
  assert.equal(commands(right(planStart(noBalloon, { startupMemory: 256 }))), [{ do: { execute: 'cont' }, undo: undefined }])
  assert.equal(fields(left(planStart({ ...facts, memory: 0 }, { startupMemory: 1 }))), ['facts.memory: expected a positive whole number of MiB'])
  assert.equal(fields(left(planStart({ ...facts, passwords: ['rdp' as 'vnc'] }, { startupMemory: 256 }))), ['facts.passwords[0]: expected a display QEMU sets passwords of (vnc, spice)'])
})

test('a hostile input is an error, not a throw', () => {
  const facts = startFacts(plannedInstance(VNC_PW).tree)
  const hostile = new Proxy({}, { get: () => { throw new Error('boom') }, ownKeys: () => { throw new Error('boom') } })
  const e = left(planStart(facts, { startupMemory: 256, passwords: hostile }))
  assert.is(e._tag, 'InvalidInput')
})

test('which displays wait for a password: the one rule, over any record of displays', () => {
  assert.equal(passwordProtocols({}), [])
  assert.equal(passwordProtocols({ vnc: undefined }), [])
  assert.equal(passwordProtocols({ vnc: { password: false } }), [])
  assert.equal(passwordProtocols({ vnc: { password: true } }), ['vnc'])
  // The shape SPICE will take in MachineOptions: it joins without a change here, after VNC.
  assert.equal(passwordProtocols({ spice: { password: true }, vnc: { password: true } }), ['vnc', 'spice'])
})

test('a Secret shows nothing when logged; redactCommand hides set_password\'s password only', () => {
  const s = secret(PASSWORD)
  assert.not.match(`${JSON.stringify(s)} ${String(s)} ${inspect(s, { depth: 9, showHidden: true })} ${JSON.stringify({ startupMemory: 1, passwords: { vnc: s } })}`, PASSWORD)
  assert.is(s.reveal(), PASSWORD)
  assert.equal(redactCommand(qmp.setPassword('vnc', PASSWORD)), { execute: 'set_password', arguments: { protocol: 'vnc', password: REDACTED } })
  assert.equal(redactCommand({ execute: 'change-vnc-password', arguments: { password: PASSWORD } }), { execute: 'change-vnc-password', arguments: { password: REDACTED } })
  const other: QmpCommand = { execute: 'qom-get', arguments: { path: '/machine', property: 'password' } }
  assert.is(redactCommand(other), other)
  const c = qmp.cont()
  assert.is(redactCommand(c), c)
  assert.equal(redactCommand({ execute: 'constructor', arguments: { password: 'x' } }), { execute: 'constructor', arguments: { password: 'x' } })
})

// ---------------------------------------------------------------------------------------------
// Running the plan: a small model of what QEMU answers to the three commands.

type Fault = { readonly _tag: 'qmp'; readonly at: string } | { readonly _tag: 'transport'; readonly at: string }

const executor = (fault?: Fault) => {
  const sent: QmpCommand[] = []
  const state = { password: undefined as string | undefined, target: 256 * MiB, running: false }
  const x: Executor = {
    send: (command) => async () => {
      sent.push(command)
      const a = command.arguments ?? {}
      if (fault?._tag === 'qmp' && fault.at === command.execute) return E.right<never, QmpReply>({ _tag: 'Error', class: 'GenericError', desc: `refused ${command.execute}` })
      if (command.execute === 'set_password') state.password = String(a['password'])
      if (command.execute === 'balloon') state.target = Number(a['value'])
      if (command.execute === 'cont') state.running = true
      if (fault?._tag === 'transport' && fault.at === command.execute) return E.left({ _tag: 'TransportError', message: 'socket closed' })
      return E.right({ _tag: 'Return', value: {} })
    },
    waitEvent: () => async () => E.left({ _tag: 'TransportError', message: 'a start plan waits for no event' })
  }
  return { x, sent, state }
}

const run = async (plan: QmpPlan<undefined>, fault?: Fault) => {
  const e = executor(fault)
  const r = await runPlan(plan, e.x)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  const outcome: RunOutcome<undefined> = r.right
  return { outcome, sent: e.sent.map((c) => c.execute), state: e.state }
}

const fullPlan = (): QmpPlan<undefined> => right(planStart(startFacts(plannedInstance(VNC_PW).tree), { startupMemory: 192, passwords: { vnc: secret(PASSWORD) } }))

test('run: QEMU gets the password, the log shows it redacted, the outcome is Done', async () => {
  const { outcome, sent, state } = await run(fullPlan())
  assert.is(outcome._tag, 'Done')
  assert.equal(sent, ['set_password', 'balloon', 'cont'])
  assert.equal(state, { password: PASSWORD, target: 192 * MiB, running: true })
  assert.equal(outcome.log.map((l) => [l.step, l.phase, l.result, l.command?.execute]), [[0, 'do', 'ok', 'set_password'], [1, 'do', 'ok', 'balloon'], [2, 'do', 'ok', 'cont']])
  assert.equal(outcome.log[0]?.command, { execute: 'set_password', arguments: { protocol: 'vnc', password: REDACTED } })
  assert.not.match(`${JSON.stringify(outcome)} ${inspect(outcome, { depth: 12 })}`, PASSWORD)
})

test('run: a refused set_password ends RolledBack at step 0, nothing else sent', async () => {
  const { outcome, sent } = await run(fullPlan(), { _tag: 'qmp', at: 'set_password' })
  assert.equal(sent, ['set_password'])
  assert.ok(outcome._tag === 'RolledBack' && outcome.failedStep === 0, outcome._tag)
  if (outcome._tag === 'RolledBack') assert.equal(outcome.error, { _tag: 'QmpError', class: 'GenericError', desc: 'refused set_password' })
  assert.not.match(JSON.stringify(outcome), PASSWORD)
})

test('run: a refused cont undoes the balloon and leaves the password set, which the outcome lists', async () => {
  const { outcome, sent, state } = await run(fullPlan(), { _tag: 'qmp', at: 'cont' })
  assert.equal(sent, ['set_password', 'balloon', 'cont', 'balloon'])
  assert.equal(state, { password: PASSWORD, target: 256 * MiB, running: false })
  assert.ok(outcome._tag === 'RollbackIncomplete', outcome._tag)
  if (outcome._tag !== 'RollbackIncomplete') return
  assert.is(outcome.failedStep, 2)
  assert.equal(outcome.leftovers, [{ step: 0, description: 'set the VNC password', undo: undefined, error: undefined }])
  assert.equal(outcome.log.map((l) => [l.step, l.phase, l.result]), [[0, 'do', 'ok'], [1, 'do', 'ok'], [2, 'do', 'failed'], [1, 'undo', 'ok']])
  assert.is(outcome.runtime, undefined)
})

test('run: a lost reply to cont leaves open whether the guest runs, and says so', async () => {
  const { outcome, sent } = await run(fullPlan(), { _tag: 'transport', at: 'cont' })
  assert.equal(sent, ['set_password', 'balloon', 'cont', 'balloon'])
  assert.ok(outcome._tag === 'RollbackIncomplete', outcome._tag)
  if (outcome._tag !== 'RollbackIncomplete') return
  assert.equal(outcome.error, { _tag: 'TransportError', message: 'socket closed' })
  assert.equal(outcome.leftovers.map((l) => [l.step, l.description]), [[2, 'resume the guest (cont)'], [0, 'set the VNC password']])
})

test('run: without a password, a refused cont is fully rolled back', async () => {
  const plan = right(planStart(startFacts(plannedInstance(VNC).tree), { startupMemory: 192 }))
  const { outcome, sent, state } = await run(plan, { _tag: 'qmp', at: 'cont' })
  assert.equal(sent, ['balloon', 'cont', 'balloon'])
  assert.equal(state.target, 256 * MiB)
  assert.ok(outcome._tag === 'RolledBack' && outcome.failedStep === 1, outcome._tag)
})

test.run()
