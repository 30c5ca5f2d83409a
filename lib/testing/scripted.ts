/**
 * A scripted {@link Executor}: a model of a QEMU that answers QMP as QEMU 7.2 does, for testing
 * an orchestrator without one (libvirt's qemuhotplugtest and govmm's command buffer serve their
 * projects so). It keeps devices, block nodes, netdevs, fds, chardevs, objects and block jobs; deletes a
 * device on a SCSI bus at once with its `DEVICE_DELETED`, and lets one on a PCI bus wait for its
 * guest until {@link ScriptedExecutor.release} (or a simulated guest) lets it go; answers with
 * the error texts QEMU gives, measured on 7.2 and 10.0. Faults can be injected per command, and
 * a job made to fail ({@link ScriptedExecutor.failJob}).
 *
 * Pure: no I/O, no timers, no randomness. Time is simulated: `waitEvent` answers at once with an
 * event already queued, or one a simulated guest or a job sends within the timeout, else `none` after
 * advancing its own clock by the timeout.
 *
 * @since 0.3.0
 */
import { isRecord, totalOr } from '../total.js'
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import { produce } from '../immer.js'
import type { Executor, QmpCommand, QmpEvent, QmpReply, TransportError } from '../qmp/executor.js'
import { BLOCK } from './block.js'
import type { Handler } from './context.js'
import { deleteDevice, DEVICES } from './devices.js'
import { GRAPH } from './graph.js'
import { advanceJob, failJob, JOBS } from './jobs.js'
import { MISC } from './misc.js'
import { emptyState, type ScriptedState } from './state.js'
import type { Fault, ScriptedExecutor, ScriptedOptions, SentCommand } from './types.js'

const HANDLERS = (o: ScriptedOptions): Readonly<Record<string, Handler>> => ({ ...BLOCK, ...GRAPH, ...JOBS, ...DEVICES(o.guestReleaseMs), ...MISC })

/**
 * A scripted executor starting from `initial` (default: an empty pc machine, paused); seed it
 * from a runtime with `stateOfRuntime`.
 *
 * @example A hot-add run on the model, then what QEMU would hold
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeDisk, decodeInstance, formatError, planDevices, planHotAdd, runPlan, toRuntime } from 'qemu-devplan'
 * import { scriptedExecutor, stateOfRuntime } from 'qemu-devplan/testing'
 *
 * const runtime = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * if (E.isLeft(runtime)) throw new Error(formatError(runtime.left))
 * const state = stateOfRuntime(runtime.right)
 * if (E.isLeft(state)) throw new Error(formatError(state.left))
 * const qemu = scriptedExecutor(state.right)
 * const plan = pipe(decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/vm1-data' }), E.chain((disk) => planHotAdd(runtime.right, { disk })))
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * const outcome = await runPlan(plan.right, qemu.executor)()
 * console.log(E.isRight(outcome) ? outcome.right._tag : outcome) // Done
 * console.log(qemu.state().devices.flatMap((d) => (d.id === undefined ? [] : [d.id])).join(' '))
 * // scsi disk-932df160-7a22-4067 balloon0 disk-3c9d1e7a-5b2f-4a8c
 * ```
 *
 * @example A mirror job that fails on its target, in simulated time
 * ```ts
 * import { scriptedExecutor, stateOfArgv } from 'qemu-devplan/testing'
 *
 * const qemu = scriptedExecutor(stateOfArgv([
 *   '-object', '{"qom-type":"throttle-group","id":"throttle-d0","limits":{}}',
 *   '-blockdev', '{"driver":"file","node-name":"d0-a-p","filename":"/img/a.qcow2"}',
 *   '-blockdev', '{"driver":"qcow2","node-name":"d0-a","file":"d0-a-p","backing":null}',
 *   '-blockdev', '{"driver":"throttle","node-name":"d0","throttle-group":"throttle-d0","file":"d0-a"}',
 *   '-blockdev', '{"driver":"file","node-name":"t-p","filename":"/img/b.qcow2"}',
 *   '-blockdev', '{"driver":"qcow2","node-name":"t","file":"t-p","backing":null}'
 * ]))
 * qemu.failJob('m1', 'No space left on device')
 * qemu.execute({ execute: 'blockdev-mirror', arguments: { 'job-id': 'm1', device: 'd0', target: 't', replaces: 'd0-a', sync: 'full' } })
 * qemu.advance(100)
 * console.log(JSON.stringify(qemu.execute({ execute: 'query-jobs' })))
 * // {"_tag":"Return","value":[{"current-progress":0,"status":"concluded","total-progress":1048576,"type":"mirror","id":"m1","error":"No space left on device"}]}
 * ```
 *
 * @since 0.3.0
 * @category executor
 */
export const scriptedExecutor = (given: ScriptedState = emptyState(), givenOptions: ScriptedOptions = {}): ScriptedExecutor => {
  // A JavaScript caller's odd values get the documented fallbacks: an empty pc, QEMU 7.2's answers.
  const initial = totalOr(emptyState(), () => (isRecord(given) && Array.isArray(given.devices) && Array.isArray(given.nodes) ? given : emptyState()))
  const options: ScriptedOptions = totalOr({}, () => (isRecord(givenOptions) ? { ...givenOptions } : {}))
  const qemu = options.qemu ?? { major: 7, minor: 2, micro: 0 }
  const handlers = HANDLERS(options)
  let current = initial
  const events: QmpEvent[] = []
  const sent: SentCommand[] = []
  const faults = new Map<number, Fault>()
  let cursor = 0
  const failures = new Map<string, string>()
  const sizes = { imageBytes: options.imageBytes ?? 1024 * 1024, jobMs: options.jobMs ?? 10 }

  const emitter = (clockMs: number) => (event: string, data: unknown): void => {
    events.push({ event, data, timestamp: { seconds: Math.floor(clockMs / 1000), microseconds: (clockMs % 1000) * 1000 } })
  }

  const run = (command: QmpCommand, fd: number | undefined): QmpReply => {
    const handler = Object.prototype.hasOwnProperty.call(handlers, command.execute) ? handlers[command.execute] : undefined
    if (handler === undefined) return { _tag: 'Error', class: 'CommandNotFound', desc: `The command ${command.execute} has not been found` }
    const args = typeof command.arguments === 'object' && command.arguments !== null ? command.arguments : {}
    let reply: QmpReply = { _tag: 'Return', value: {} }
    const ctx = { fd, qemu, emit: emitter(current.clockMs), ...sizes }
    const next = produce(current, (d) => {
      reply = handler(d, args, ctx)
    })
    // A refused command changes nothing, a transaction's earlier actions included.
    if (reply._tag === 'Return') current = next
    return reply
  }

  /** The earliest step due by `deadline` of a guest (a release) or a job, taken; false if none. */
  const releaseDue = (deadline: number): boolean => {
    const due = [
      ...current.devices.flatMap((d) => (d.id !== undefined && d.unplug?.releaseAtMs !== undefined ? [{ kind: 'release', id: d.id, at: d.unplug.releaseAtMs }] : [])),
      ...current.jobs.flatMap((j) => (j.dueAtMs === undefined ? [] : [{ kind: 'job', id: j.id, at: j.dueAtMs }]))
    ]
      .filter((x) => x.at <= deadline)
      .sort((a, b) => a.at - b.at)[0]
    if (due === undefined) return false
    const failure = failures.get(due.id)
    if (due.kind === 'job') failures.delete(due.id)
    current = produce(current, (d) => {
      d.clockMs = Math.max(d.clockMs, due.at)
      const ctx = { emit: emitter(due.at) }
      if (due.kind === 'release') deleteDevice(d, due.id, ctx)
      else if (failure !== undefined) failJob(d, due.id, failure, ctx)
      else advanceJob(d, due.id, ctx)
    })
    return true
  }

  const executor: Executor = {
    send: (command, fd) => async () => {
      const index = sent.length
      cursor = events.length
      const fault = faults.get(index)
      faults.delete(index)
      const entry = (answer: E.Either<TransportError, QmpReply>, ran: boolean): E.Either<TransportError, QmpReply> => {
        sent.push({ index, command, ...(fd === undefined ? {} : { fd }), answer, ran })
        return answer
      }
      if (fault?._tag === 'QmpError') return entry(E.right({ _tag: 'Error', class: fault.class ?? 'GenericError', desc: fault.desc }), false)
      if (fault?._tag === 'TransportError') {
        const delivered = fault.delivered === true
        if (delivered) run(command, fd)
        return entry(E.left({ _tag: 'TransportError', message: fault.message ?? `injected transport failure at command ${index} (${command.execute})` }), delivered)
      }
      return entry(E.right(run(command, fd)), true)
    },
    waitEvent: (predicate, timeoutMs) => async () => {
      const deadline = current.clockMs + (Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 0)
      for (;;) {
        for (const ev of events.slice(cursor)) {
          try {
            if (predicate(ev)) return E.right(O.some(ev))
          } catch (e) {
            return E.left({ _tag: 'TransportError', message: `waitEvent predicate threw: ${e instanceof Error ? e.message : String(e)}` })
          }
        }
        // Events looked at stay behind the cursor only until the next send, as on a real socket.
        if (!releaseDue(deadline)) break
      }
      current = { ...current, clockMs: Math.max(current.clockMs, deadline) }
      return E.right(O.none)
    }
  }

  return {
    executor,
    state: () => current,
    execute: (command, fd) => run(command, fd),
    release: (id) => {
      const dev = current.devices.find((d) => d.id === id)
      if (dev?.unplug === undefined) return false
      current = produce(current, (d) => {
        deleteDevice(d, id, { emit: emitter(d.clockMs) })
      })
      return true
    },
    refuse: (id) => {
      const dev = current.devices.find((d) => d.id === id)
      if (dev?.unplug === undefined) return false
      current = produce(current, (d) => {
        const draft = d.devices.find((x) => x.id === id)
        if (draft !== undefined) delete draft.unplug
      })
      emitter(current.clockMs)('DEVICE_UNPLUG_GUEST_ERROR', { device: id, path: `/machine/peripheral/${id}` })
      return true
    },
    failJob: (id, error = 'Input/output error') => {
      if (!current.jobs.some((j) => j.id === id && j.status !== 'concluded')) {
        failures.set(id, error)
        return
      }
      current = produce(current, (d) => {
        failJob(d, id, error, { emit: emitter(d.clockMs) })
      })
    },
    advance: (ms) => {
      const deadline = current.clockMs + (Number.isFinite(ms) && ms > 0 ? ms : 0)
      while (releaseDue(deadline));
      current = { ...current, clockMs: Math.max(current.clockMs, deadline) }
    },
    failNext: (fault, skip = 0) => {
      faults.set(sent.length + Math.max(0, Math.floor(skip)), fault)
    },
    failAt: (index, fault) => {
      faults.set(index, fault)
    },
    log: () => sent,
    events: () => events
  }
}
