/**
 * A helper module of the examples (not run on its own): an in-memory {@link Executor} that
 * prints and records every command, answers each with success, and sends `DEVICE_DELETED` for
 * each `device_del` — enough to run a plan without a QEMU. `refuse` makes it answer one kind of
 * command with a QMP error, as QEMU would, to show a rollback. examples/hotplug-demo.ts runs
 * the same kind of plans against a real QEMU through examples/qmp-client.ts.
 *
 * @since 0.2.0
 */
import * as O from 'fp-ts/lib/Option.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { redactCommand, type Executor, type QmpCommand, type QmpEvent } from '../lib/index.js'

/**
 * A recording executor and what it saw.
 *
 * @since 0.2.0
 */
export interface Recording {
  readonly executor: Executor
  readonly sent: ReadonlyArray<QmpCommand>
}

/**
 * An executor that succeeds, except for the commands named in `refuse` (each refused with
 * `GenericError`). Commands are printed redacted, as a log must show them.
 *
 * @since 0.2.0
 */
export const recordingExecutor = (options: { readonly refuse?: ReadonlyArray<string>; readonly quiet?: boolean } = {}): Recording => {
  const sent: QmpCommand[] = []
  const events: QmpEvent[] = []
  const executor: Executor = {
    send: (command) => {
      sent.push(command)
      if (options.quiet !== true) console.log(`  -> ${JSON.stringify(redactCommand(command))}`)
      if (options.refuse?.includes(command.execute) === true) return TE.right({ _tag: 'Error', class: 'GenericError', desc: `${command.execute} refused (as the example asked)` })
      const id = command.arguments?.['id']
      if (command.execute === 'device_del' && typeof id === 'string') {
        events.push({ event: 'DEVICE_DELETED', data: { device: id, path: `/machine/peripheral/${id}` }, timestamp: { seconds: 0, microseconds: 0 } })
      }
      return TE.right({ _tag: 'Return', value: {} })
    },
    waitEvent: (predicate) => {
      const i = events.findIndex(predicate)
      return TE.right(i < 0 ? O.none : O.some(events.splice(i, 1)[0] as QmpEvent))
    }
  }
  return { executor, sent }
}
