/**
 * runPlan given what is not a plan, or a plan with a step that is not a step: nothing is sent,
 * the promise resolves, and the outcome says which step and why.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runPlan, type Executor, type QmpCommand, type QmpPlan } from '../../lib/index.js'

const recording = (): { readonly x: Executor; readonly sent: QmpCommand[] } => {
  const sent: QmpCommand[] = []
  return { sent, x: { send: (c) => async () => (sent.push(c), E.right({ _tag: 'Return', value: {} })), waitEvent: () => async () => E.right({ _tag: 'None' }) } }
}

test('what is not a plan: RolledBack at step 0 with InvalidPlan, nothing sent', async () => {
  for (const bad of [null, undefined, {}, { steps: null }, 42, 'plan']) {
    const { x, sent } = recording()
    const r = await runPlan(bad as unknown as QmpPlan, x)()
    assert.ok(E.isRight(r))
    if (E.isLeft(r)) continue
    assert.is(r.right._tag, 'RolledBack', String(bad))
    if (r.right._tag === 'RolledBack') assert.is(r.right.error._tag, 'InvalidPlan')
    assert.equal(sent, [])
  }
})

test('a malformed step fails there, and the steps before it are undone', async () => {
  const { x, sent } = recording()
  const plan = {
    title: 't',
    before: 'before',
    after: 'after',
    warnings: [],
    steps: [
      { _tag: 'command', description: 'one', command: { execute: 'object-add', arguments: { id: 'a' } }, alreadyDone: [], undo: { command: { execute: 'object-del', arguments: { id: 'a' } }, alreadyDone: [] } },
      {}
    ]
  } as unknown as QmpPlan<string>
  const r = await runPlan(plan, x)()
  if (E.isLeft(r)) throw new Error('never')
  assert.is(r.right._tag, 'RolledBack')
  if (r.right._tag === 'RolledBack') {
    assert.is(r.right.failedStep, 1)
    assert.equal(r.right.error, { _tag: 'InvalidPlan', message: 'step 1: {} is not a plan step (command, unplug or wait)' })
  }
  assert.is(r.right.runtime, 'before')
  assert.equal(sent.map((c) => c.execute), ['object-add', 'object-del'])
})

test.run()
