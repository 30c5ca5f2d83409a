/**
 * The main job: read a JSON file holding `{ target, instance, render }`, plan it, and print the
 * device table and the command line. Run: `npm start` (uses examples/instance.json) or
 * `npx tsx examples/plan-instance.ts my.json`.
 */
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import {
  allDevices,
  decodeDisk,
  decodeInstance,
  decodeTarget,
  formatError,
  planDevices,
  planHotAdd,
  planHotRemove,
  renderArgv,
  showArgv,
  toRuntime,
  showAddress,
  type Device,
  type DeviceTree,
  type RenderOptions,
  type QmpPlan,
  undoCommands
} from '../lib/index.js'

const placementOf = (d: Device): string => showAddress(d.address)

const backendOf = (d: Device): string =>
  d.kind === 'scsi-controller' ? '' : d.kind === 'machine' ? Object.entries(d.properties).map(([k, v]) => `${k}=${String(v)}`).join(' ') : d.kind === 'nic' ? `netdev ${d.backend.type} (${d.mac})` : d.graph.nodes.map((n) => `${n.driver}`).reverse().join(' → ')

const table = (tree: DeviceTree): string => {
  const rows = allDevices(tree).map((d) => [d.kind, d.id, d.driver, placementOf(d), backendOf(d)])
  const head = ['kind', 'id', 'driver', 'placement', 'backend']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

const showPlan = (plan: QmpPlan): string =>
  [
    `# ${plan.title}`,
    ...plan.steps.map((st, i) => {
      const sends =
        st._tag === 'command'
          ? JSON.stringify({ execute: st.command.execute, arguments: st.command.arguments })
          : st._tag === 'unplug'
            ? `${JSON.stringify({ execute: 'device_del', arguments: { id: st.id } })}, then wait ≤ ${st.timeoutMs} ms for DEVICE_DELETED of ${st.id}`
            : `wait ≤ ${st.timeoutMs} ms for ${JSON.stringify(st.until)}`
      const undos = undoCommands(st)
      const undo = undos.length === 0 ? 'none' : undos.map((u) => JSON.stringify({ execute: u.execute, arguments: u.arguments })).join(', then ')
      // Numbered from 0, as RunOutcome's failedStep counts them.
      return `${String(i).padStart(2)}. ${sends}\n    undo: ${undo}`
    })
  ].join('\n')

const file = process.argv[2] ?? new URL('./instance.json', import.meta.url).pathname
let input: unknown
try {
  input = JSON.parse(readFileSync(file, 'utf8'))
} catch (e) {
  console.error(`${file}: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(2)
}
const doc = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
const render = (doc['render'] ?? {}) as { qmpSocket?: unknown; accel?: unknown }

pipe(
  E.Do,
  E.apS('target', decodeTarget(doc['target'] ?? { qemu: '7.2' })),
  E.apS('instance', decodeInstance(doc['instance'])),
  E.chain(({ target, instance }) => planDevices(instance, target)),
  E.match(
    (err) => {
      console.error(formatError(err))
      process.exitCode = 1
    },
    (tree) => {
      const renderOptions: RenderOptions = {
        qmpSocket: typeof render.qmpSocket === 'string' ? render.qmpSocket : `/run/qemu-devplan/${tree.name}.qmp`,
        accel: render.accel === 'tcg' ? 'tcg' : 'kvm'
      }
      const argv = renderArgv(tree, renderOptions)
      console.log(`# ${tree.name} on ${tree.machine}, QEMU ${tree.qemu.major}.${tree.qemu.minor}\n`)
      console.log(table(tree))
      console.log(`\n# boot: ${tree.boot._tag === 'device' ? `bootindex=1 on ${tree.boot.id}` : tree.boot._tag}\n`)
      console.log(showArgv(argv))
      const hot = (doc['hotplug'] ?? {}) as { add?: { disk?: unknown }; remove?: unknown }
      const plans = pipe(
        E.Do,
        E.apS('runtime', pipe(decodeInstance(doc['instance']), E.chain((inst) => toRuntime(inst, tree, renderOptions)))),
        E.bind('add', ({ runtime }) => (hot.add?.disk === undefined ? E.right(undefined) : pipe(decodeDisk(hot.add.disk), E.chain((disk) => planHotAdd(runtime, { disk }))))),
        E.bind('remove', ({ runtime }) => (typeof hot.remove === 'string' ? planHotRemove(runtime, hot.remove) : E.right(undefined)))
      )
      if (E.isLeft(plans)) {
        console.error(formatError(plans.left))
        process.exitCode = 1
        return
      }
      for (const plan of [plans.right.add, plans.right.remove]) if (plan !== undefined) console.log(`\n${showPlan(plan)}`)
    }
  )
)
