/**
 * `qemu-devplan/testing` without QEMU: seeding from a runtime or an argv, the levers (release, a
 * simulated guest, faults), the log and events, and that it never waits for real time. What it
 * answers is checked against real QEMUs in spec/qemu/scripted-*.spec.ts.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeDisk, decodeInstance, decodeNic, planDevices, planHotAdd, planHotRemove, runPlan, toRuntime, type QmpPlan, type RunOutcome, type Runtime } from '../../lib/index.js'
import { emptyState, scriptedExecutor, stateOfArgv, stateOfRuntime, type ScriptedExecutor } from '../../lib/testing/index.js'
import { right } from '../support/either.js'
import { hv } from '../support/placed.js'

const runtime = (hvparams: Record<string, unknown>, extra: Record<string, unknown> = {}): Runtime => {
  const inst = right(decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: { kvm_path: '/usr/bin/qemu-system-x86_64', ...hvparams }, ...extra }))
  const tree = right(planDevices(inst, { qemu: '7.2' }))
  return right(toRuntime(inst, tree, { qmpSocket: '/run/vm1.qmp' }))
}
const uuid = (n: number): string => `${(0x20000000 + n).toString(16)}-1111-4222-8333-444455556666`
const disk = (n: number) => right(decodeDisk({ uuid: uuid(n), path: `/srv/d${n}.raw` }))

const run = async (plan: QmpPlan, sx: ScriptedExecutor): Promise<RunOutcome> => {
  const r = await runPlan(plan, sx.executor)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

test('seeded from a runtime: its devices, nodes and netdevs, where the runtime placed them', () => {
  const rt = runtime(
    { disk_type: 'scsi-hd', nic_type: 'paravirtual', boot_order: 'disk' },
    { disks: [{ uuid: uuid(1), path: '/srv/a.qcow2', format: 'qcow2' }], nics: [{ uuid: uuid(2), mac: 'aa:00:00:00:00:02', backend: { type: 'user' } }] }
  )
  const s = right(stateOfRuntime(rt))
  const d = hv(rt.disks[0])
  const n = hv(rt.nics[0])
  assert.is(s.machine, 'pc')
  assert.ok(s.devices.some((x) => x.id === 'scsi'), 'the SCSI controller')
  const sd = s.devices.find((x) => x.id === d?.id)
  assert.equal(sd?.scsi, { channel: 0, scsiId: 0, lun: 0 })
  assert.equal(s.nodes.map((x) => x.name).sort(), (rt.disks[0]?.blockdev ?? []).map((x) => x['node-name']).sort())
  assert.is(sd?.drive, rt.disks[0]?.blockdev?.[(rt.disks[0]?.blockdev?.length ?? 1) - 1]?.['node-name'])
  assert.equal(s.devices.find((x) => x.id === n?.id)?.pci, { slot: 0x10, function: 0 })
  assert.equal(s.netdevs, [{ id: n?.id ?? '', type: 'user' }])
  // The machine's own functions hold their slots: a device_add at 0x1 meets PIIX3.
  const sx = scriptedExecutor(s)
  const r = sx.execute({ execute: 'device_add', arguments: { driver: 'e1000', id: 'e', bus: 'pci.0', addr: '0x1' } })
  assert.equal(r, { _tag: 'Error', class: 'GenericError', desc: 'PCI: slot 1 function 0 not available for e1000, in use by PIIX3,id=(null)' })
})

test('seeded from a key=value argv as older targets render it', () => {
  const s = stateOfArgv(['qemu', '-machine', 'q35', '-m', '512', '-S', '-device', 'pcie-root-port,id=port1,bus=pcie.0,addr=0x2', '-netdev', 'user,id=n0', '-blockdev', 'driver=file,node-name=f,filename=/srv/x'])
  assert.is(s.machine, 'q35')
  assert.is(s.status, 'prelaunch')
  assert.is(s.memoryBytes, 512 * 1024 * 1024)
  assert.equal(s.devices.find((d) => d.id === 'port1')?.pci, { slot: 2, function: 0 })
  assert.equal(s.netdevs, [{ id: 'n0', type: 'user' }])
  assert.equal(s.nodes.map((n) => n.name), ['f'])
  const sx = scriptedExecutor(s)
  // q35's root bus takes no hotplug; a root port does, at its one slot.
  assert.equal(sx.execute({ execute: 'device_add', arguments: { driver: 'e1000', id: 'a', bus: 'pcie.0' } }), { _tag: 'Error', class: 'GenericError', desc: "Bus 'pcie.0' does not support hotplugging" })
  assert.equal(sx.execute({ execute: 'device_add', arguments: { driver: 'e1000', id: 'a', bus: 'port1' } }), { _tag: 'Return', value: {} })
  assert.equal(sx.state().devices.find((d) => d.id === 'a')?.pci, { slot: 0, function: 0 })
})

test('a PCI removal is Pending until the guest lets go; then the same plan finishes on the event', async () => {
  let rt = runtime({ disk_type: 'paravirtual' })
  const sx = scriptedExecutor(right(stateOfRuntime(rt)))
  rt = (await run(right(planHotAdd(rt, { disk: disk(1) })), sx)).runtime
  const id = hv(rt.disks[0])?.id ?? ''
  const removal = right(planHotRemove(rt, id, { unplugTimeoutMs: 60_000 }))
  const started = Date.now()
  const p = await run(removal, sx)
  assert.is(p._tag, 'Pending')
  assert.ok(Date.now() - started < 1000, 'no real time passes: the clock is simulated')
  assert.is(sx.state().clockMs, 60_000)
  assert.ok(sx.state().devices.find((d) => d.id === id)?.unplug !== undefined)
  assert.not.ok(sx.release('nothing-pending'))
  assert.ok(sx.release(id))
  assert.equal(sx.events().map((e) => [e.event, e.data]), [['DEVICE_DELETED', { device: id, path: `/machine/peripheral/${id}` }]])
  assert.equal(sx.events()[0]?.timestamp, { seconds: 60, microseconds: 0 })
  const done = await run(removal, sx)
  assert.is(done._tag, 'Done')
  assert.equal(sx.state().nodes, [])
})

test('a guest that refuses: DEVICE_UNPLUG_GUEST_ERROR ends the wait as GuestRefused, and device_del may be sent again', async () => {
  let rt = runtime({ disk_type: 'paravirtual' })
  const sx = scriptedExecutor(right(stateOfRuntime(rt)))
  rt = (await run(right(planHotAdd(rt, { disk: disk(1) })), sx)).runtime
  const id = hv(rt.disks[0])?.id ?? ''
  const removal = right(planHotRemove(rt, id, { unplugTimeoutMs: 10 }))
  assert.is((await run(removal, sx))._tag, 'Pending')
  assert.not.ok(sx.refuse('nothing-pending'))
  // The refusal arrives while the next run waits: a device_del again is accepted, then the event ends the wait.
  const r = runPlan(removal, {
    send: (c, fd) => async () => {
      const answer = await sx.executor.send(c, fd)()
      if (c.execute === 'device_del') sx.refuse(id)
      return answer
    },
    waitEvent: sx.executor.waitEvent
  })
  const o = await r()
  const outcome = E.isRight(o) ? o.right : undefined
  assert.is(outcome?._tag, 'RolledBack')
  assert.equal(outcome?._tag === 'RolledBack' ? outcome.error : undefined, { _tag: 'GuestRefused', id })
  assert.ok(sx.state().devices.some((d) => d.id === id && d.unplug === undefined), 'the device stays, no longer pending')
})

test('a simulated guest releases after guestReleaseMs: Done within a longer wait, Pending within a shorter one', async () => {
  const rt0 = runtime({ disk_type: 'paravirtual' })
  for (const [wait, tag] of [[500, 'Done'], [100, 'Pending']] as const) {
    const sx = scriptedExecutor(right(stateOfRuntime(rt0)), { guestReleaseMs: 200 })
    const rt = (await run(right(planHotAdd(rt0, { disk: disk(1) })), sx)).runtime
    const o = await run(right(planHotRemove(rt, hv(rt.disks[0])?.id ?? '', { unplugTimeoutMs: wait })), sx)
    assert.is(o._tag, tag, `waiting ${wait} ms for a guest that takes 200`)
    if (tag === 'Done') assert.is(sx.events()[0]?.timestamp.microseconds, 200_000)
  }
})

test('a SCSI removal is immediate: DEVICE_DELETED comes with the reply', async () => {
  let rt = runtime({ disk_type: 'scsi-hd' })
  const sx = scriptedExecutor(right(stateOfRuntime(rt)))
  rt = (await run(right(planHotAdd(rt, { disk: disk(1) })), sx)).runtime
  const o = await run(right(planHotRemove(rt, hv(rt.disks[0])?.id ?? '')), sx)
  assert.is(o._tag, 'Done')
  assert.is(sx.state().clockMs, 0, 'the event was there: no wait')
})

test('faults: an error reply runs nothing; a lost reply ran; failNext skips; the log says which', async () => {
  const rt = runtime({ nic_type: 'e1000' })
  const plan = right(planHotAdd(rt, { nic: right(decodeNic({ uuid: uuid(3), mac: 'aa:00:00:00:00:03', backend: { type: 'user' } })) }))
  const sx = scriptedExecutor(right(stateOfRuntime(rt)))
  sx.failNext({ _tag: 'QmpError', desc: 'no' }, 1)
  const a = await run(plan, sx)
  assert.is(a._tag, 'RolledBack')
  assert.equal(sx.log().map((c) => [c.command.execute, c.ran]), [['netdev_add', true], ['device_add', false], ['netdev_del', true]])
  assert.equal(sx.state().netdevs, [])
  sx.failAt(sx.log().length, { _tag: 'TransportError', delivered: true, message: 'gone' })
  const b = await run(plan, sx)
  assert.is(b._tag, 'RolledBack')
  assert.equal(b._tag === 'RolledBack' ? b.error : undefined, { _tag: 'TransportError', message: 'gone' })
  assert.equal(sx.log().slice(3).map((c) => [c.command.execute, c.ran, E.isLeft(c.answer)]), [['netdev_add', true, true], ['netdev_del', true, false]])
  sx.failNext({ _tag: 'TransportError' })
  const c = await run(plan, sx)
  assert.is(c._tag, 'RolledBack')
  assert.equal(sx.state().netdevs, [], 'an undelivered command ran nothing, its undo finds nothing: already so')
  assert.is((await run(plan, sx))._tag, 'Done')
})

test('waitEvent: a throwing predicate is a transport error; an event before the last send is not seen', async () => {
  const sx = scriptedExecutor(emptyState())
  await sx.executor.send({ execute: 'cont' })()
  const thrown = await sx.executor.waitEvent(() => { throw new Error('bad') }, 10)()
  assert.ok(E.isLeft(thrown) && thrown.left.message.includes('bad'))
  const seen = await sx.executor.waitEvent((e) => e.event === 'RESUME', 10)()
  assert.ok(E.isRight(seen) && O.isSome(seen.right))
  await sx.executor.send({ execute: 'query-status' })()
  const stale = await sx.executor.waitEvent((e) => e.event === 'RESUME', 10)()
  assert.ok(E.isRight(stale) && O.isNone(stale.right))
})

test('unknown commands, and every export carries @since 0.3.0 and @category executor', async () => {
  const sx = scriptedExecutor()
  assert.equal(sx.execute({ execute: 'frobnicate' }), { _tag: 'Error', class: 'CommandNotFound', desc: 'The command frobnicate has not been found' })
  const { readFileSync } = await import('node:fs')
  const read = (f: string): string => readFileSync(new URL(`../../lib/testing/${f}`, import.meta.url), 'utf8')
  const names = [...read('index.ts').matchAll(/export \{([^}]*)\}/g)].flatMap((m) => (m[1] ?? '').split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()))
  assert.ok(names.length >= 9, names.join(' '))
  const docs = new Map<string, string>()
  for (const file of ['scripted.ts', 'state.ts', 'seed.ts']) {
    for (const m of read(file).matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export (?:const|interface|type) (\w+)/g)) docs.set(m[2] ?? '', m[1] ?? '')
  }
  for (const name of names) {
    const doc = docs.get(name) ?? ''
    assert.ok(doc.includes('@since 0.3.0') && doc.includes('@category executor'), `${name}: ${doc}`)
  }
})

test.run()
