/**
 * Two QEMUs on loopback for the migration suites: a source started from the library's argv
 * (paused, then resumed with a boot-sector guest), a runtime recorded and updated by hotplug, and
 * a target started from `incomingArgv` of that runtime with its own QMP socket.
 *
 * The dirtying guest rewrites 512 KiB of RAM (0x10000–0x8ffff) with a new word on every pass, so
 * a migration has a real dirty-page phase: at 1 MiB/s it never converges (what the failure and
 * cancel tests need), unlimited it completes.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { toExecutor } from '../../examples/qmp-client.js'
import {
  decodeInstance,
  incomingArgv,
  planIncoming,
  planDevices,
  renderArgv,
  runPlan,
  toRuntime,
  type Executor,
  type Incoming,
  type IncomingPlans,
  type QmpPlan,
  type RunOutcome,
  type Runtime
} from '../../lib/index.js'
import { right } from '../support/either.js'
import { bootGuest, writeEjectGuest } from './eject-guest.js'
import { freePort, makeImage, namedNodes, pciSlots, peripheral, qemuPath, qemuVersion, startQemu, tempDir, type TempDir, type Vm } from './harness.js'

/**
 * The boot sector of the dirtying guest, in 16-bit real mode.
 */
export const DIRTY_LOOP: ReadonlyArray<number> = [
  // 00: cli
  0xfa,
  // outer (01): mov bx, 0x1000        ; the first segment written
  0xbb, 0x00, 0x10,
  // seg (04): mov es, bx              ; 8e /r, modrm 11 000(es) 011(bx)
  0x8e, 0xc3,
  // 06: xor di, di
  0x31, 0xff,
  // 08: mov cx, 0x8000                ; 32768 words: 64 KiB
  0xb9, 0x00, 0x80,
  // 0b: rep stosw                     ; es:di ← ax, cx times
  0xf3, 0xab,
  // 0d: add bx, 0x1000                ; the next 64 KiB
  0x81, 0xc3, 0x00, 0x10,
  // 11: cmp bx, 0x9000
  0x81, 0xfb, 0x00, 0x90,
  // 15: jb seg                        ; 0x04 - 0x17 = -0x13
  0x72, 0xed,
  // 17: inc ax                        ; a new word next pass: every page dirty again
  0x40,
  // 18: jmp outer                     ; 0x01 - 0x1a = -0x19
  0xeb, 0xe7
]

export const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export const run = async <R>(plan: QmpPlan<R>, x: Executor): Promise<RunOutcome<R>> => {
  const r = await runPlan(plan, x)()
  if (E.isLeft(r)) throw new Error('runPlan never fails as a task')
  return r.right
}

export const status = async (vm: Vm): Promise<string> => {
  const s = await vm.qmp.executeOk('query-status')
  return isRec(s) && typeof s['status'] === 'string' ? s['status'] : JSON.stringify(s)
}

export const migrationStatus = async (vm: Vm): Promise<string> => {
  const s = await vm.qmp.executeOk('query-migrate')
  return isRec(s) && typeof s['status'] === 'string' ? s['status'] : 'none'
}

/** Polls until `f` holds, or throws after `ms`. */
export const until = async (what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await f()) return
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** What must be equal on both sides: devices, PCI layout, block nodes, block backends and trays. */
export const machineState = async (vm: Vm) => {
  const blocks = await vm.qmp.executeOk('query-block')
  return {
    peripheral: [...(await peripheral(vm)).entries()].map(([id, type]) => `${id}:${type}`).sort(),
    pci: (await pciSlots(vm)).map((p) => `${p.slot}.${p.function}:${p.qdev_id}`).sort(),
    nodes: (await namedNodes(vm)).map((n) => `${n.node_name}:${n.drv}:${String(n.ro)}:${n.file}`).sort(),
    block: (Array.isArray(blocks) ? blocks : [])
      .map((b: unknown) => (isRec(b) ? `${String(b['qdev'])}:${isRec(b['inserted']) ? String(b['inserted']['node-name']) : '-'}:${String(b['tray_open'] ?? '')}` : ''))
      .sort()
  }
}

export interface Source {
  readonly tmp: TempDir
  readonly vm: Vm
  readonly x: Executor
  readonly runtime: Runtime
  readonly hvparams: Readonly<Record<string, unknown>>
  readonly isos: readonly [string, string]
  readonly qmpSocket: string
}

/**
 * The source QEMU: one virtio disk holding `guest` (none: an empty disk), a CD-ROM on IDE with
 * the first ISO, 64 MiB, the migration hvparams given. Started paused; `guest` boots it.
 */
export const startSource = async (migration: Readonly<Record<string, unknown>>, guest: 'dirty' | 'none', machine?: 'q35'): Promise<Source> => {
  const tmp = await tempDir()
  const dir = join(tmp.path, 'src')
  await mkdir(dir)
  const boot = join(tmp.path, 'boot.raw')
  await writeEjectGuest(boot, 1, guest === 'dirty' ? DIRTY_LOOP : [0xf4])
  const isos = [await makeImage(tmp.path, 'cd1.iso', 'raw'), await makeImage(tmp.path, 'cd2.iso', 'raw')] as const
  const hvparams = { kvm_path: qemuPath(), boot_order: 'disk', cdrom_image_path: isos[0], cdrom_disk_type: 'ide', ...migration }
  const inst = right(
    decodeInstance({ name: 'mig1', uuid: '1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b', memory: 64, hvparams, disks: [{ uuid: '2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b', path: boot }] })
  )
  const tree = right(planDevices(inst, machine === undefined ? { qemu: qemuVersion } : { qemu: qemuVersion, machine }))
  const qmpSocket = join(dir, 'vm.qmp')
  const render = { qmpSocket, accel: 'tcg' } as const
  const runtime = right(toRuntime(inst, tree, render))
  const vm = await startQemu(renderArgv(tree, render), { dir })
  if (guest === 'dirty') await bootGuest(vm, 15_000, DIRTY_LOOP)
  else await vm.qmp.executeOk('cont')
  return { tmp, vm, x: toExecutor(vm.qmp), runtime, hvparams, isos, qmpSocket }
}

export interface Target {
  readonly vm: Vm
  readonly x: Executor
  readonly uri: string
  readonly incoming: Incoming
}

/** The target QEMU, from `incomingArgv(runtime)`, with its own QMP socket. */
export const startTarget = async (src: Source, runtime: Runtime, how: 'defer' | 'listen'): Promise<Target> => {
  const dir = join(src.tmp.path, `dst-${Date.now()}-${Math.floor(Math.random() * 1e6)}`)
  await mkdir(dir)
  const uri = `tcp:127.0.0.1:${await freePort('127.0.0.1')}`
  const incoming: Incoming = { _tag: how, uri }
  const argv = right(incomingArgv(runtime, { incoming, target: qemuVersion })).map((w) => w.split(src.qmpSocket).join(join(dir, 'vm.qmp')))
  const vm = await startQemu(argv, { dir })
  return { vm, x: toExecutor(vm.qmp), uri, incoming }
}

/** The target's plans for `runtime`, its `listen` plan run (and required to end `Done`). */
export const listen = async (src: Source, dst: Target, runtime: Runtime = src.runtime): Promise<IncomingPlans> => {
  const plans = right(planIncoming(runtime, { incoming: dst.incoming, target: qemuVersion, hvparams: src.hvparams }))
  assert.is((await run(plans.listen, dst.x))._tag, 'Done')
  return plans
}

/** A QEMU's process has gone (a cancelled migration makes the target exit by itself). */
export const gone = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return false
  } catch {
    return true
  }
}
