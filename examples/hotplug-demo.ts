/**
 * The whole hotplug flow against a real QEMU, as documentation that runs: plan an instance, start
 * QEMU from the plan, hot-add a SCSI disk, check QEMU agrees with the runtime, hot-remove the disk.
 * Run: `npm run demo` (needs qemu-system-x86_64 and qemu-img on PATH; no guest, no KVM needed).
 * spec/qemu/demo.spec.ts runs it too, so this file cannot rot.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import {
  addressProperties, allDevices, decodeDisk, decodeInstance, encodeRuntime, formatError, planDevices, planHotAdd, planHotRemove,
  parseVersion, qmp, renderArgv, runPlan, toRuntime, type DevplanError, type QemuVersion, type QmpCommand, type QmpPlan,
  type RunOutcome,
  undoCommands
} from '../lib/index.js'
import { connectQmp, toExecutor, type QmpClient } from './qmp-client.js'

const execFileP = promisify(execFile)
const say = (line: string): void => console.log(line)
const step = (title: string): void => say(`\n== ${title}`)

/** The library returns Either; in a script, a Left becomes an exception with its readable text. */
const orThrow = <A>(e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

/** `kvm_path` must be absolute: it becomes argv[0] of the runtime, reused on restart. */
const onPath = (name: string): string => {
  const dir = (process.env['PATH'] ?? '').split(delimiter).find((d) => d !== '' && existsSync(join(d, name)))
  if (dir === undefined) throw new Error(`${name} not found on PATH (apt-get install qemu-system-x86 qemu-utils)`)
  return resolve(dir, name)
}

/**
 * The library never probes: the caller tells it which QEMU the plan is for. Here that is the
 * binary's own answer to `--version` ("QEMU emulator version 10.0.2 (Debian …)").
 */
const versionOf = async (binary: string): Promise<QemuVersion> => {
  const { stdout } = await execFileP(binary, ['--version'])
  const v = parseVersion(/version (\d+\.\d+\.\d+)/.exec(stdout)?.[1] ?? '')
  if (v === undefined) throw new Error(`${binary} --version printed no version: ${stdout}`)
  return v
}

/** Resolves with `p`'s value, or `undefined` after `ms`: shutdown must never hang on a stuck QEMU. */
const within = <A>(p: Promise<A>, ms: number): Promise<A | undefined> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((ok) => (timer = setTimeout(() => ok(undefined), ms)))
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** A QMP query whose reply is decoded with the library's codec rather than cast. */
const ask = async <A>(client: QmpClient, command: QmpCommand, codec: t.Decoder<unknown, A>): Promise<A> => {
  const value = await client.executeOk(command.execute, command.arguments)
  const decoded = codec.decode(value)
  if (E.isLeft(decoded)) throw new Error(`${command.execute}: unexpected reply ${JSON.stringify(value)}`)
  return decoded.right
}

const showPlan = (plan: QmpPlan): void =>
  plan.steps.forEach((s, i) => {
    const undo = undoCommands(s).map((u) => u.execute)
    say(`   ${i}. ${s.description}${undo.length === 0 ? '' : ` (undo: ${undo.join(', ')})`}`)
  })

const run = async (plan: QmpPlan, client: QmpClient): Promise<RunOutcome> => {
  const r = await runPlan(plan, toExecutor(client))()
  if (E.isLeft(r)) throw new Error('unreachable: runPlan reports failures as outcomes') // its Left is `never`
  if (r.right._tag !== 'Done') throw new Error(`${plan.title}: ${r.right._tag} ${JSON.stringify(r.right)}`)
  return r.right
}

const main = async (): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), 'qemu-devplan-demo-'))
  let client: QmpClient | undefined
  let stopQemu = async (): Promise<void> => {}
  try {
    step(`1. images in ${dir}`)
    const image = async (name: string, format: 'raw' | 'qcow2'): Promise<string> => {
      const path = join(dir, name)
      await execFileP('qemu-img', ['create', '-q', '-f', format, path, '16M']) // no shell: paths stay data
      say(`   ${name} (${format})`)
      return path
    }
    const [root, iso, extra] = [await image('root.qcow2', 'qcow2'), await image('cd.iso', 'raw'), await image('extra.raw', 'raw')]

    step('2. plan (QEMU 7.2): decode → planDevices → renderArgv → toRuntime')
    const instance = orThrow(decodeInstance({
      name: 'demo1', uuid: '5d0c8a4e-1f2b-4c3d-9e8f-7a6b5c4d3e2f', memory: 64,
      // The CD-ROM follows disk_type (scsi-cd), so the hot-added disk must skip the targets both hold.
      hvparams: { kvm_path: onPath('qemu-system-x86_64'), disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', cdrom_image_path: iso },
      disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: root, format: 'qcow2' }],
      nics: [{ uuid: 'c4a1e2f3-8b7d-4e6c-9a5b-1d2e3f4a5b6c', mac: 'aa:00:00:35:d5:1f', backend: { type: 'user' } }]
    }))
    const tree = orThrow(planDevices(instance, { qemu: await versionOf(instance.hvparams.kvm_path) }))
    const socket = join(dir, 'qmp.sock')
    const render = { qmpSocket: socket, accel: 'tcg' } as const // tcg: runs where /dev/kvm is absent
    const argv = renderArgv(tree, render)
    let runtime = orThrow(toRuntime(instance, tree, render))
    for (const d of allDevices(tree)) {
      const { bus, ...place } = addressProperties(d.address)
      say(`   ${d.kind.padEnd(15)} ${d.id.padEnd(24)} ${d.driver.padEnd(15)} ${JSON.stringify({ bus, ...place })}`)
    }

    step('3. start QEMU paused (-S): no guest runs, the devices exist all the same')
    const [bin, ...args] = argv
    if (bin === undefined) throw new Error('renderArgv returned an empty argv')
    const child = spawn(bin, [...args, '-S', '-display', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<void>((ok) => child.once('exit', () => ok()).once('error', () => ok()))
    stopQemu = async () => {
      // Ask politely first (QEMU flushes and removes its socket), then make sure.
      if (client !== undefined) await within(client.execute('quit').catch(() => undefined), 2000)
      await client?.close()
      if (client === undefined || (await within(exited, 3000)) === undefined) child.kill('SIGKILL') // no-op once exited
      await exited
    }
    // If QEMU refuses an option it exits at once: stop waiting for the socket and show why.
    const gone = new AbortController()
    void exited.then(() => gone.abort())
    client = await connectQmp(socket, { signal: gone.signal }).catch((e: unknown) => {
      const why = child.exitCode === null ? (e instanceof Error ? e.message : String(e)) : `QEMU exited with ${child.exitCode}`
      throw new Error(`QEMU did not come up (${why}): ${stderr.trim()}`)
    })
    say(`   pid ${child.pid ?? '?'}, QMP on ${socket}`)

    step('4. hot-add a second SCSI disk: planHotAdd + runPlan')
    const add = orThrow(planHotAdd(runtime, { disk: orThrow(decodeDisk({ uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: extra })) }))
    showPlan(add)
    runtime = (await run(add, client)).runtime // keep the runtime only from the outcome
    say(`   ${add.title}: Done`)

    step("5. QEMU's view next to the runtime's record")
    const added = runtime.disks[runtime.disks.length - 1]
    const h = added?.placed
    if (h === undefined || h.address._tag !== 'scsi') throw new Error('the hot-added disk has no SCSI placement')
    const target = h.address.target
    const top = added?.blockdev?.at(-1)?.['node-name']
    // For -blockdev drives query-block leaves `device` empty; `qdev` names the device.
    const block = (await ask(client, qmp.queryBlock(), qmp.QueryBlockReply)).find((b) => b.qdev === h.id)
    const scsiId = await ask(client, qmp.qomGet(`/machine/peripheral/${h.id}`, 'scsi-id'), t.number)
    say(`   query-block   qdev ${block?.qdev ?? '(none)'}, node-name ${block?.inserted?.['node-name'] ?? '(none)'}`)
    say(`   qom-get       scsi-id ${scsiId}`)
    say(`   runtime       placed ${JSON.stringify(h)}, top node ${top ?? '(none)'}`)
    if (block?.inserted?.['node-name'] !== top || scsiId !== target) throw new Error('QEMU and the runtime disagree')
    say('   QEMU equals the runtime')

    step('6. hot-remove it: planHotRemove + runPlan')
    const remove = orThrow(planHotRemove(runtime, h.id, { unplugTimeoutMs: 5000 }))
    showPlan(remove)
    const removed = await run(remove, client)
    // SCSI devices go without guest help, so the removal ends on the event, not on a timeout.
    if (!removed.log.some((l) => l.phase === 'wait' && l.result === 'event')) throw new Error('no DEVICE_DELETED seen')
    runtime = removed.runtime
    say(`   ${remove.title}: Done via DEVICE_DELETED`)

    step('7. the runtime to store (encodeRuntime): restart or migration rebuilds QEMU from it')
    say(JSON.stringify(encodeRuntime(runtime), null, 2))
  } finally {
    await stopQemu()
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(
  () => {
    process.exitCode = 0
  },
  (e: unknown) => {
    console.error(`\nhotplug-demo failed: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  }
)
