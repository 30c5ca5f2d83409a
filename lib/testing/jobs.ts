/**
 * Block jobs of the scripted QEMU: `blockdev-mirror`, `blockdev-backup` and `block-commit` (`auto-finalize` on),
 * `job-complete`, `job-cancel`, `job-dismiss` and `query-jobs`, with the `JOB_STATUS_CHANGE` and
 * `BLOCK_JOB_*` events QEMU sends, in its order. A job's own steps (a mirror getting ready, a
 * backup ending) happen in simulated time, when `waitEvent` or `advance` reaches `dueAtMs`.
 * Texts and events measured on QEMU 7.2 and 10.0 (they agree) unless a comment says otherwise.
 */
import type { Draft } from 'immer'
import type { QmpReply } from '../qmp/executor.js'
import { generic, isReply, need, ok, type Args, type Ctx, type Handler } from './context.js'
import { isNode, lookup, sizeOf } from './graph.js'
import { parents } from './block.js'
import type { ScriptedJob, ScriptedState } from './state.js'

type D = Draft<ScriptedState>
type Emit = Pick<Ctx, 'emit'>

const status = (ctx: Emit, id: string, s: string): void => ctx.emit('JOB_STATUS_CHANGE', { status: s, id })
const info = (j: ScriptedJob, error?: string) => ({ device: j.id, len: j.len, offset: j.offset, speed: 0, type: j.type, ...(error === undefined ? {} : { error }) })
const active = (j: ScriptedJob): boolean => j.status !== 'concluded'

/** Creates a mirror or backup job after QEMU's checks. */
const start = (type: ScriptedJob['type']): Handler => (d, a, ctx) => {
  const device = need(a, 'device')
  if (isReply(device)) return device
  const source = lookup(d, device, device)
  if (!isNode(source)) return source
  const targetName = need(a, 'target')
  if (isReply(targetName)) return targetName
  const target = lookup(d, targetName, targetName)
  if (!isNode(target)) return target
  // A running job puts its own filter node above the source, which is then no root either (measured).
  if (parents(d, source.name).length > 0 || d.jobs.some((j) => active(j) && j.device === source.name)) return generic('Need a root block node')
  const id = typeof a['job-id'] === 'string' ? a['job-id'] : source.name
  if (d.jobs.some((j) => j.id === id)) return generic(`Job ID '${id}' already in use`) // not measured
  const replaces = typeof a['replaces'] === 'string' ? a['replaces'] : undefined
  d.jobs.push({
    id, type, status: 'running', device: source.name, target: target.name, ...(replaces === undefined ? {} : { replaces }),
    len: sizeOf(d, source.name, ctx), offset: 0, dueAtMs: d.clockMs + ctx.jobMs
  })
  status(ctx, id, 'created')
  status(ctx, id, 'running')
  // A backup drains its source as it starts (measured under -S, on both versions).
  if (type === 'backup') {
    status(ctx, id, 'paused')
    status(ctx, id, 'running')
  }
  return ok()
}

const conclude = (j: Draft<ScriptedJob>, ctx: Emit, error?: string): void => {
  status(ctx, j.id, 'waiting')
  status(ctx, j.id, 'pending')
  ctx.emit('BLOCK_JOB_COMPLETED', info(j, error))
  status(ctx, j.id, 'concluded')
  j.status = 'concluded'
  delete j.dueAtMs
}

/** Whether `node` is `from` or below it, through any child. */
const below = (d: D, from: string, node: string, seen: Set<string> = new Set()): boolean => {
  if (from === node) return true
  if (seen.has(from)) return false
  seen.add(from)
  const n = d.nodes.find((x) => x.name === from)
  return n !== undefined && n.children.some((c) => below(d, c.node, node, seen))
}

/**
 * `block-commit` of the active layer `top-node` into `base-node` (its backing image): a job that
 * is ready at once and, completed, makes whatever read the top read the base, writable again.
 * Its `auto-dismiss` is QEMU's default (on). Measured on 7.2 and 10.0.
 */
const commit: Handler = (d, a, ctx) => {
  const device = need(a, 'device')
  if (isReply(device)) return device
  const source = lookup(d, device, device)
  if (!isNode(source)) return source
  const top = need(a, 'top-node')
  if (isReply(top)) return top
  const base = need(a, 'base-node')
  if (isReply(base)) return base
  const topNode = d.nodes.find((n) => n.name === top)
  if (topNode === undefined || !below(d, source.name, top) || !topNode.children.some((c) => c.role === 'backing' && c.node === base)) return generic(`'${top}' is not in this backing file chain`)
  if (parents(d, source.name).length > 0 || d.jobs.some((j) => active(j) && j.device === source.name)) return generic('Need a root block node')
  const id = typeof a['job-id'] === 'string' ? a['job-id'] : source.name
  if (d.jobs.some((j) => j.id === id)) return generic(`Job ID '${id}' already in use`) // not measured
  d.jobs.push({ id, type: 'commit', status: 'running', device: source.name, target: base, replaces: top, len: sizeOf(d, top, ctx), offset: 0, dueAtMs: d.clockMs + ctx.jobMs, autoDismiss: true })
  status(ctx, id, 'created')
  status(ctx, id, 'running')
  return ok()
}

/** A job's own next step, once its `dueAtMs` is reached: a mirror is ready, a backup ends. */
export const advanceJob = (d: D, id: string, ctx: Emit): void => {
  const j = d.jobs.find((x) => x.id === id)
  if (j === undefined || j.status !== 'running') return
  j.offset = j.len
  if (j.type === 'backup') return conclude(j, ctx)
  j.status = 'ready'
  delete j.dueAtMs
  status(ctx, j.id, 'ready')
  ctx.emit('BLOCK_JOB_READY', info(j))
}

/**
 * A job meets an I/O error (`on-target-error: report`): it aborts and concludes with `error`,
 * the graph unchanged. False if no such job is active. QEMU sends a `BLOCK_JOB_ERROR` per
 * failed request; the model sends one.
 */
export const failJob = (d: D, id: string, error: string, ctx: Emit): boolean => {
  const j = d.jobs.find((x) => x.id === id)
  if (j === undefined || !active(j)) return false
  ctx.emit('BLOCK_JOB_ERROR', { device: id, operation: 'write', action: 'report' })
  status(ctx, id, 'aborting')
  ctx.emit('BLOCK_JOB_COMPLETED', info(j, error))
  status(ctx, id, 'concluded')
  j.status = 'concluded'
  j.error = error
  delete j.dueAtMs
  return true
}

/** The job a verb names, or QEMU's refusal when it is missing or in a state the verb cannot take. */
const verb = (d: D, a: Args, name: string, allowed: ReadonlyArray<ScriptedJob['status']>): Draft<ScriptedJob> | QmpReply => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const j = d.jobs.find((x) => x.id === id)
  if (j === undefined) return generic('Job not found')
  return allowed.includes(j.status) ? j : generic(`Job '${id}' in state '${j.status}' cannot accept command verb '${name}'`)
}

const isJob = (u: Draft<ScriptedJob> | QmpReply): u is Draft<ScriptedJob> => !('_tag' in u)

/** A ready mirror switches: whatever read the replaced node (the filter, or the device) reads the target. */
const complete: Handler = (d, a, ctx) => {
  const j = verb(d, a, 'complete', ['ready'])
  if (!isJob(j)) return j
  const replaced = j.replaces ?? j.device
  for (const p of d.nodes) for (const c of p.children) if (c.node === replaced && p.name !== j.target) c.node = j.target
  for (const dev of d.devices) if (dev.drive === replaced) dev.drive = j.target
  // A committed base is the active layer again, opened for writing.
  if (j.type === 'commit') for (const n of d.nodes) if (n.name === j.target) n.readOnly = false
  conclude(j, ctx)
  if (j.autoDismiss === true) {
    status(ctx, j.id, 'null')
    d.jobs = d.jobs.filter((x) => x.id !== j.id)
  }
  return ok()
}

const cancel: Handler = (d, a, ctx) => {
  const j = verb(d, a, 'cancel', ['running', 'ready'])
  if (!isJob(j)) return j
  status(ctx, j.id, 'aborting')
  ctx.emit('BLOCK_JOB_CANCELLED', info(j))
  status(ctx, j.id, 'concluded')
  j.status = 'concluded'
  j.error = 'Operation canceled'
  delete j.dueAtMs
  return ok()
}

const dismiss: Handler = (d, a, ctx) => {
  const j = verb(d, a, 'dismiss', ['concluded'])
  if (!isJob(j)) return j
  status(ctx, j.id, 'null')
  d.jobs = d.jobs.filter((x) => x.id !== j.id)
  return ok()
}

const queryJobs: Handler = (d) =>
  ok(d.jobs.map((j) => ({ 'current-progress': j.offset, status: j.status, 'total-progress': j.len, type: j.type, id: j.id, ...(j.error === undefined ? {} : { error: j.error }) })))

export const JOBS: Readonly<Record<string, Handler>> = {
  'blockdev-mirror': start('mirror'),
  'blockdev-backup': start('backup'),
  'block-commit': commit,
  'job-complete': complete,
  'job-cancel': cancel,
  'job-dismiss': dismiss,
  'query-jobs': queryJobs
}
