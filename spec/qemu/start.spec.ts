/**
 * The start plan on a real QEMU, started paused (`-S`) with the argv the library renders: VNC
 * with `password=on` on a unix socket, 256 MiB. runPlan sends set_password, balloon to 192 MiB
 * and cont over the QMP socket. Then QEMU must be running, the VNC server must accept the
 * password in a real RFB handshake (and refuse a wrong one, and any before the plan), and the
 * balloon must have its target.
 *
 * What QEMU reports of the balloon without a guest driver: `query-balloon`'s `actual` stays at
 * all of `-m` (it is what the guest gave back, and no driver gives anything), and no
 * BALLOON_CHANGE arrives. The target itself shows in QEMU's trace event
 * `virtio_balloon_to_target` ("balloon target: 0xc000000 num_pages: 16384", the pages the
 * device asks the guest for), enabled here over QMP (`trace-event-set-state`) so that the argv
 * stays the library's; Debian's QEMUs write it to stderr.
 *
 * SPICE with a password file (ticketing on) gets `set_password {protocol: spice}` the same way;
 * QEMU's answer is the observable there (a SPICE ticket handshake is out of reach here).
 *
 * The failures QEMU decides: set_password on a VNC server without `password=on` and on SPICE
 * with `disable-ticketing=on`, and cont on a guest that needs a reset first.
 */
import { createServer } from 'node:net'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import {
  decodeInstance,
  planDevices,
  planStart,
  REDACTED,
  renderArgv,
  runPlan,
  runtimeArgv,
  runtimeStartFacts,
  secret,
  startFacts,
  toRuntime,
  type QmpPlan,
  type RunOutcome
} from '../../lib/index.js'
import { toExecutor } from '../../examples/qmp-client.js'
import { right } from '../support/either.js'
import { makeImage, qemuPath, qemuSuite, qemuVersion, tempDir, withQemu, type Vm } from './harness.js'
import { vncAuthenticate } from './rfb.js'

const test = qemuSuite('the start plan')

const MiB = 1024 * 1024
const PASSWORD = 'Start-pw9'
const NAME = 'start1.example.com'

const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** The display of the instance under test, with or without a password file. */
type Display = 'vnc' | 'vnc+password' | 'spice' | 'spice+password'

const displayHvparams = (display: Display, dir: string): Readonly<Record<string, string>> => {
  switch (display) {
    case 'vnc':
      return { vnc_bind_address: dir }
    case 'vnc+password':
      return { vnc_bind_address: dir, vnc_password_file: join(dir, 'vnc.pw') }
    case 'spice':
      return { spice_bind: '127.0.0.1' }
    case 'spice+password':
      return { spice_bind: '127.0.0.1', spice_password_file: join(dir, 'spice.pw') }
  }
}

const planned = (dir: string, disk: string, display: Display, port: number) => {
  const inst = right(
    decodeInstance({
      name: NAME,
      uuid: '5c1d7e3a-9b2f-4a6e-8d0c-3f7a1b9e2d4c',
      memory: 256,
      network_port: port,
      hvparams: { kvm_path: qemuPath(), ...displayHvparams(display, dir) },
      disks: [{ uuid: '6d2e8f4b-0c3a-4b7f-9e1d-4a8b2c0f3e5d', path: disk }]
    })
  )
  const tree = right(planDevices(inst, { qemu: qemuVersion }))
  const render = { qmpSocket: join(dir, `${NAME}.qmp`), accel: 'tcg' } as const
  const argv = renderArgv(tree, render)
  return { dir, disk, port, inst, tree, render, argv, vnc: join(dir, `${NAME}.vnc`) }
}

/** A TCP port nobody listens on right now, on 127.0.0.1 (SPICE listens on network_port). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => (a !== null && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))))
    })
  })

const status = async (vm: Vm): Promise<unknown> => {
  const s = await vm.qmp.executeOk('query-status')
  return isRec(s) ? s['status'] : s
}

const TRACE = 'virtio_balloon_to_target'

/** The balloon targets QEMU traced: [target bytes, pages asked of the guest]. */
const balloonTargets = (vm: Vm): ReadonlyArray<readonly [number, number]> =>
  vm
    .stderr()
    .split('\n')
    .flatMap((line) => {
      const m = /^virtio_balloon_to_target balloon target: 0x([0-9a-f]+) num_pages: (\d+)$/.exec(line)
      return m === null ? [] : [[parseInt(m[1] ?? '', 16), Number(m[2])] as const]
    })

/** Every line of stderr that is not the balloon trace: QEMU must write nothing else. */
const otherStderr = (vm: Vm): ReadonlyArray<string> => vm.stderr().split('\n').filter((l) => l !== '' && !l.startsWith(`${TRACE} `))

const run = async (vm: Vm, plan: QmpPlan<undefined>): Promise<RunOutcome<undefined>> => {
  const r = await runPlan(plan, toExecutor(vm.qmp))()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

const withStart = async (display: Display, fn: (p: ReturnType<typeof planned>, vm: Vm) => Promise<void>, argvOf?: (p: ReturnType<typeof planned>) => ReadonlyArray<string>): Promise<void> => {
  const tmp = await tempDir()
  try {
    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const p = planned(tmp.path, disk, display, display.startsWith('spice') ? await freePort() : 5900)
    await withQemu(argvOf?.(p) ?? p.argv, async (vm) => {
      await vm.qmp.executeOk('trace-event-set-state', { name: TRACE, enable: true })
      await fn(p, vm)
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
}

const PAGE = 4096

test('VNC password and 192 of 256 MiB: set_password, balloon, cont; QEMU runs, VNC takes the password, the balloon has its target', async () => {
  await withStart('vnc+password', async ({ tree, vnc }, vm) => {
    assert.is(await status(vm), 'prelaunch', 'started paused')
    const q = await vm.qmp.executeOk('query-vnc')
    assert.ok(isRec(q) && q['auth'] === 'vnc' && q['family'] === 'unix', `query-vnc: ${JSON.stringify(q)}`)
    // password=on and no password yet: nobody gets in.
    assert.equal(await vncAuthenticate(vnc, PASSWORD), { _tag: 'refused', reason: 'Authentication failed' })

    const plan = right(planStart(startFacts(tree), { startupMemory: 192, passwords: { vnc: secret(PASSWORD) } }))
    assert.equal(plan.steps.map((s) => (s._tag === 'command' ? s.command.execute : s._tag)), ['set_password', 'balloon', 'cont'])
    const outcome = await run(vm, plan)
    assert.is(outcome._tag, 'Done', JSON.stringify(outcome))
    assert.equal(outcome.log.map((l) => [l.command?.execute, l.result]), [['set_password', 'ok'], ['balloon', 'ok'], ['cont', 'ok']])
    assert.equal(outcome.log[0]?.command?.arguments, { protocol: 'vnc', password: REDACTED })
    assert.not.match(JSON.stringify(outcome), PASSWORD)

    assert.is(await status(vm), 'running')
    assert.ok(vm.qmp.events().some((e) => e.event === 'RESUME'), 'RESUME after cont')
    assert.equal(await vncAuthenticate(vnc, PASSWORD), { _tag: 'accepted' })
    assert.equal(await vncAuthenticate(vnc, 'Wrong-pw9'), { _tag: 'refused', reason: 'Authentication failed' })

    // The balloon asks the guest for the 64 MiB above the startup memory…
    assert.equal(balloonTargets(vm), [[192 * MiB, (64 * MiB) / PAGE]], `${TRACE} on stderr: ${vm.stderr()}`)
    // …and, with no guest driver to give them, QEMU still reports all 256 MiB as the guest's.
    assert.equal(await vm.qmp.executeOk('query-balloon'), { actual: 256 * MiB })
    assert.not.ok(vm.qmp.events().some((e) => e.event === 'BALLOON_CHANGE'), 'no BALLOON_CHANGE without a guest driver')
    assert.equal(otherStderr(vm), [], 'QEMU wrote nothing else to stderr')
  })
})

test('a restart from the recorded runtime: the same facts, and at full memory no balloon', async () => {
  await withStart('vnc+password', async ({ inst, tree, render, vnc }, vm) => {
    const rt = right(toRuntime(inst, tree, render))
    const facts = right(runtimeStartFacts(rt))
    assert.equal(facts, startFacts(tree))
    const outcome = await run(vm, right(planStart(facts, { startupMemory: 256, passwords: { vnc: secret(PASSWORD) } })))
    assert.equal(outcome.log.map((l) => [l.command?.execute, l.result]), [['set_password', 'ok'], ['cont', 'ok']])
    assert.is(await status(vm), 'running')
    assert.equal(await vncAuthenticate(vnc, PASSWORD), { _tag: 'accepted' })
    assert.equal(balloonTargets(vm), [], 'no balloon command')
  }, (p) => right(runtimeArgv(right(toRuntime(p.inst, p.tree, p.render)))))
})

test('set_password on a QEMU started without password=on: QEMU refuses it, the plan ends RolledBack at step 0, still paused', async () => {
  await withStart('vnc', async ({ dir, disk, vnc }, vm) => {
    // The facts say "password"; this QEMU was started from the plan without one.
    const facts = startFacts(planned(dir, disk, 'vnc+password', 5900).tree)
    const q = await vm.qmp.executeOk('query-vnc')
    assert.ok(isRec(q) && q['auth'] === 'none', `query-vnc: ${JSON.stringify(q)}`)
    const outcome = await run(vm, right(planStart(facts, { startupMemory: 192, passwords: { vnc: secret(PASSWORD) } })))
    assert.ok(outcome._tag === 'RolledBack' && outcome.failedStep === 0, JSON.stringify(outcome))
    if (outcome._tag === 'RolledBack') assert.equal(outcome.error, { _tag: 'QmpError', class: 'GenericError', desc: 'Could not set password' })
    assert.equal(outcome.log.map((l) => [l.command?.execute, l.result]), [['set_password', 'failed']])
    assert.is(await status(vm), 'prelaunch', 'cont was never sent')
    assert.equal(balloonTargets(vm), [], 'balloon was never sent')
    // Without password=on VNC asks for none.
    assert.equal(await vncAuthenticate(vnc, PASSWORD), { _tag: 'not-offered', types: [1] })
  })
})

test('a cont QEMU refuses (a guest that needs a reset): the balloon is undone, the password stays set, and the outcome lists it', async () => {
  await withStart('vnc+password', async ({ tree, vnc }, vm) => {
    // A guest that shut down and was kept paused (shutdown=pause): QEMU wants a reset before cont.
    await vm.qmp.executeOk('cont')
    await vm.qmp.executeOk('set-action', { reboot: 'shutdown', shutdown: 'pause' })
    await vm.qmp.executeOk('system_reset')
    assert.is(await status(vm), 'shutdown')
    const outcome = await run(vm, right(planStart(startFacts(tree), { startupMemory: 192, passwords: { vnc: secret(PASSWORD) } })))
    assert.ok(outcome._tag === 'RollbackIncomplete', JSON.stringify(outcome))
    if (outcome._tag !== 'RollbackIncomplete') return
    assert.is(outcome.failedStep, 2)
    assert.equal(outcome.error, { _tag: 'QmpError', class: 'GenericError', desc: 'Resetting the Virtual Machine is required' })
    assert.equal(outcome.leftovers, [{ step: 0, description: 'set the VNC password', undo: undefined, error: undefined }])
    assert.equal(outcome.log.map((l) => [l.phase, l.command?.execute, l.result]), [['do', 'set_password', 'ok'], ['do', 'balloon', 'ok'], ['do', 'cont', 'failed'], ['undo', 'balloon', 'ok']])
    // QEMU is what the outcome says: the balloon back at all of -m, the password still set.
    assert.equal(balloonTargets(vm), [[192 * MiB, (64 * MiB) / PAGE], [256 * MiB, 0]])
    assert.equal(await vncAuthenticate(vnc, PASSWORD), { _tag: 'accepted' })
    assert.is(await status(vm), 'shutdown')
  })
})

test('SPICE with a password file (ticketing on): set_password spice, balloon, cont; QEMU runs', async () => {
  await withStart('spice+password', async ({ tree, port }, vm) => {
    const q = await vm.qmp.executeOk('query-spice')
    assert.ok(isRec(q) && q['auth'] === 'spice' && q['port'] === port, `query-spice: ${JSON.stringify(q)}`)
    const plan = right(planStart(startFacts(tree), { startupMemory: 192, passwords: { spice: secret(PASSWORD) } }))
    const outcome = await run(vm, plan)
    assert.is(outcome._tag, 'Done', JSON.stringify(outcome))
    assert.equal(outcome.log.map((l) => [l.command?.execute, l.result]), [['set_password', 'ok'], ['balloon', 'ok'], ['cont', 'ok']])
    assert.equal(outcome.log[0]?.command?.arguments, { protocol: 'spice', password: REDACTED })
    assert.is(await status(vm), 'running')
    assert.equal(balloonTargets(vm), [[192 * MiB, (64 * MiB) / PAGE]])
  })
})

test('set_password spice on a SPICE started with disable-ticketing=on: QEMU refuses it, RolledBack at step 0', async () => {
  await withStart('spice', async ({ dir, disk, port }, vm) => {
    const q = await vm.qmp.executeOk('query-spice')
    assert.ok(isRec(q) && q['auth'] === 'none', `query-spice: ${JSON.stringify(q)}`)
    const facts = startFacts(planned(dir, disk, 'spice+password', port).tree)
    const outcome = await run(vm, right(planStart(facts, { startupMemory: 256, passwords: { spice: secret(PASSWORD) } })))
    assert.ok(outcome._tag === 'RolledBack' && outcome.failedStep === 0, JSON.stringify(outcome))
    assert.equal(outcome.log.map((l) => [l.command?.execute, l.result]), [['set_password', 'failed']])
    assert.is(await status(vm), 'prelaunch', 'cont was never sent')
    if (outcome._tag === 'RolledBack') assert.equal(outcome.error, { _tag: 'QmpError', class: 'GenericError', desc: 'Could not set password' })
  })
})

test.run()
