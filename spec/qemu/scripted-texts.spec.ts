/**
 * The scripted executor's answers, command by command, against a real QEMU started from the same
 * argv: every reply (success, or error class and text) and every event must be QEMU's. The
 * commands walk through what the model claims to know: block nodes and their parents and inline
 * children, device ids, buses, PCI slots and SCSI targets, pending PCI unplugs, netdevs, fds,
 * trays and media, objects, chardevs, passwords, the balloon, cont and stop, and qom-get/qom-list.
 * A second walk (spec/qemu/scripted-graph.ts) reconfigures a running disk graph: throttle limits,
 * resize, snapshots and transactions, mirror and backup jobs with their events.
 */
import * as assert from 'uvu/assert'
import { scriptedExecutor, stateOfArgv, type ScriptedExecutor } from '../../lib/testing/index.js'
import type { QmpReply } from '../../lib/index.js'
import { makeImage, qemuPath, qemuSuite, qemuVersion, tempDir, withQemu, type Vm } from './harness.js'
import { graphArgv, graphScript, lever, type Images } from './scripted-graph.js'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const test = qemuSuite('the scripted executor answers as QEMU does')

type Cmd = readonly [string, Readonly<Record<string, unknown>>?]
const execFileP = promisify(execFile)

const script = (img: string, img2: string, iso: string): ReadonlyArray<Cmd> => {
  const file = (name: string, filename: string, ro = false) => ['blockdev-add', { driver: 'file', 'node-name': name, filename, 'read-only': ro }] as const
  return [
    // block nodes
    file('p1', img),
    file('p1', img),
    ['blockdev-add', { driver: 'qcow2', 'node-name': 'f1', file: 'p1' }],
    ['blockdev-add', { driver: 'qcow2', 'node-name': 'f2', file: 'p1' }],
    ['blockdev-add', { driver: 'qcow2', 'node-name': 'f3', file: 'nope' }],
    ['blockdev-add', { driver: 'file', filename: img }],
    ['blockdev-del', { 'node-name': 'p1' }],
    ['blockdev-del', { 'node-name': 'nope' }],
    ['blockdev-add', { driver: 'raw', 'node-name': 'x', 'read-only': true, file: { driver: 'file', 'node-name': 'x-file', filename: iso, 'read-only': true } }],
    ['blockdev-del', { 'node-name': 'x-file' }],
    ['blockdev-del', { 'node-name': 'x' }],
    ['blockdev-add', { driver: 'raw', 'node-name': 'x', 'read-only': true, file: { driver: 'file', 'node-name': 'x-file', filename: iso, 'read-only': true } }],
    // devices on SCSI
    ['device_add', { driver: 'scsi-hd', id: 'sd1', drive: 'f1', bus: 'scsi.0', channel: 0, 'scsi-id': 1, lun: 0 }],
    ['device_add', { driver: 'scsi-hd', id: 'sd1', drive: 'f1', bus: 'scsi.0', channel: 0, 'scsi-id': 2, lun: 0 }],
    ['device_add', { driver: 'scsi-hd', id: 'sd2', drive: 'f1', bus: 'scsi.0', channel: 0, 'scsi-id': 2, lun: 0 }],
    ['device_add', { driver: 'scsi-hd', id: 'sd3', drive: 'nope', bus: 'scsi.0', channel: 0, 'scsi-id': 3, lun: 0 }],
    ['device_add', { driver: 'scsi-hd', id: 'sd4', bus: 'scsi.0', channel: 0, 'scsi-id': 4, lun: 0 }],
    ['device_add', { driver: 'scsi-cd', id: 'sd5', drive: 'x', bus: 'scsi.0', channel: 0, 'scsi-id': 1, lun: 0 }],
    ['device_add', { driver: 'scsi-cd', id: 'sd5', drive: 'x', bus: 'scsi.0', channel: 0, 'scsi-id': 5, lun: 0 }],
    ['device_add', { driver: 'scsi-cd', id: 'sd6', drive: 'x', bus: 'scsi.0', channel: 0, 'scsi-id': 6, lun: 0 }],
    ['device_add', { driver: 'scsi-cd', id: 'sd7', bus: 'scsi.0', 'scsi-id': 7 }],
    ['qom-get', { path: '/machine/peripheral/sd7', property: 'scsi-id' }],
    ['qom-get', { path: '/machine/peripheral/sd7', property: 'lun' }],
    ['qom-get', { path: '/machine/peripheral/sd7', property: 'nope' }],
    ['qom-get', { path: '/machine/peripheral/zz', property: 'lun' }],
    ['qom-list', { path: '/machine/peripheral/zz' }],
    ['blockdev-del', { 'node-name': 'f1' }],
    ['device_del', { id: 'sd1' }],
    ['device_del', { id: 'sd1' }],
    ['blockdev-del', { 'node-name': 'f1' }],
    ['blockdev-del', { 'node-name': 'p1' }],
    // buses and PCI slots
    ['device_add', { driver: 'nodriver', id: 'q' }],
    ['device_add', { driver: 'scsi-hd', id: 'q', drive: 'x', bus: 'nobus' }],
    ['device_add', { driver: 'scsi-hd', id: 'q', drive: 'x', bus: 'pci.0' }],
    ['device_add', { driver: 'e1000', id: 'q', bus: 'ide.0' }],
    ['device_add', { driver: 'ide-hd', id: 'q', drive: 'x', bus: 'ide.0', unit: 0 }],
    file('p2', img2),
    ['blockdev-add', { driver: 'qcow2', 'node-name': 'f2', file: 'p2' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', drive: 'f2', bus: 'pci.0', addr: '0x0' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', drive: 'f2', bus: 'pci.0', addr: '0x1' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', drive: 'f2', bus: 'pci.0', addr: '0x6' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', drive: 'nope', bus: 'pci.0', addr: '0x10' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', bus: 'pci.0', addr: '0x10' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb1', drive: 'f2', bus: 'pci.0', addr: '0x10' }],
    ['device_add', { driver: 'virtio-blk-pci', id: 'vb2', drive: 'f2', bus: 'pci.0', addr: '0x11' }],
    ['device_add', { driver: 'e1000', id: 'e1', bus: 'pci.0', addr: '0x10' }],
    ['device_add', { driver: 'e1000', id: 'e1', bus: 'pci.0', addr: '0x10.1' }],
    ['device_add', { driver: 'e1000', id: 'e2', bus: 'pci.0' }],
    ['qom-get', { path: '/machine/peripheral/e2', property: 'addr' }],
    ['qom-get', { path: '/machine/peripheral/vb1', property: 'addr' }],
    // a PCI unplug without a guest stays pending
    ['device_del', { id: 'vb1' }],
    ['device_del', { id: 'vb1' }],
    ['blockdev-del', { 'node-name': 'f2' }],
    ['device_add', { driver: 'e1000', id: 'e3', bus: 'pci.0', addr: '0x10' }],
    ['device_add', { driver: 'e1000', id: 'vb1', bus: 'pci.0', addr: '0x12' }],
    ['device_del', { id: 'scsi' }],
    ['device_del', { id: 'scsi' }],
    ['device_del', { id: 'icd' }],
    // netdevs and fds
    ['netdev_add', { type: 'user', id: 'n1' }],
    ['netdev_add', { type: 'user', id: 'n1' }],
    ['netdev_add', { type: 'user', id: 'e2' }],
    ['netdev_del', { id: 'nope' }],
    ['device_add', { driver: 'virtio-net-pci', id: 'nic1', netdev: 'nope', bus: 'pci.0', addr: '0x13' }],
    ['device_add', { driver: 'virtio-net-pci', id: 'nic1', netdev: 'n1', bus: 'pci.0', addr: '0x13' }],
    ['device_add', { driver: 'e1000', id: 'nic2', netdev: 'n1', bus: 'pci.0', addr: '0x14' }],
    ['device_add', { driver: 'e1000', id: 'nic3', netdev: 'nope', bus: 'pci.0', addr: '0x14' }],
    ['device_del', { id: 'nic1' }],
    ['netdev_del', { id: 'n1' }],
    ['netdev_del', { id: 'n1' }],
    ['netdev_add', { type: 'user', id: 'n1' }],
    ['device_add', { driver: 'e1000', id: 'nic2', netdev: 'n1', bus: 'pci.0', addr: '0x14' }],
    ['getfd', { fdname: 'fd1' }],
    ['getfd', {}],
    ['closefd', { fdname: 'fd1' }],
    ['netdev_add', { type: 'tap', id: 'n2', fds: 'fd1' }],
    // trays and media
    ['blockdev-remove-medium', { id: 'scd' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 'nope' }],
    ['blockdev-insert-medium', { id: 'nodev', 'node-name': 'nope' }],
    ['blockdev-close-tray', { id: 'scd' }],
    ['blockdev-open-tray', { id: 'scd', force: true }],
    ['blockdev-open-tray', { id: 'scd', force: true }],
    ['blockdev-open-tray', { id: 'scd' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 'x' }],
    ['blockdev-del', { 'node-name': 's' }],
    ['blockdev-del', { 'node-name': 's-file' }],
    ['blockdev-remove-medium', { id: 'scd' }],
    ['blockdev-remove-medium', { id: 'scd' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 'h' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 'x-file' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 's' }],
    ['blockdev-close-tray', { id: 'scd' }],
    ['blockdev-close-tray', { id: 'scd' }],
    ['blockdev-insert-medium', { id: 'scd', 'node-name': 's' }],
    ['blockdev-remove-medium', { id: 'scd' }],
    ['blockdev-open-tray', { id: 'shd', force: true }],
    ['blockdev-remove-medium', { id: 'shd' }],
    ['blockdev-close-tray', { id: 'shd' }],
    ['blockdev-insert-medium', { id: 'shd', 'node-name': 'x' }],
    ['blockdev-open-tray', { id: 'e2', force: true }],
    ['blockdev-open-tray', { id: 'icd', force: true }],
    ['blockdev-remove-medium', { id: 'icd' }],
    ['blockdev-del', { 'node-name': 'i' }],
    ['blockdev-del', { 'node-name': 'i-file' }],
    ['blockdev-close-tray', { id: 'icd' }],
    // the rest
    ['object-add', { 'qom-type': 'secret', id: 's1', data: 'x' }],
    ['object-add', { 'qom-type': 'secret', id: 's1', data: 'x' }],
    ['object-del', { id: 's1' }],
    ['object-del', { id: 's1' }],
    ['chardev-add', { id: 'c1', backend: { type: 'null', data: {} } }],
    ['chardev-add', { id: 'c1', backend: { type: 'null', data: {} } }],
    ['chardev-remove', { id: 'c1' }],
    ['chardev-remove', { id: 'c1' }],
    ['set_password', { protocol: 'vnc', password: 'x' }],
    ['set_password', { protocol: 'spice', password: 'x' }],
    ['balloon', { value: 32 * 1024 * 1024 }],
    ['query-balloon'],
    ['device_add', { driver: 'virtio-balloon-pci', id: 'balloon0', bus: 'pci.0', addr: '0x7' }],
    ['balloon', { value: 0 }],
    ['balloon', { value: 32 * 1024 * 1024 }],
    ['balloon', { value: 2 ** 40 }],
    ['query-balloon'],
    ['frobnicate'],
    ['cont'],
    ['cont'],
    ['stop'],
    ['cont'],
    ['device_del', { id: 'vb1' }]
  ]
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)
const rows = (u: unknown): ReadonlyArray<Readonly<Record<string, unknown>>> => (Array.isArray(u) ? u.filter(isRecord) : [])
const sorted = (u: unknown): unknown => (Array.isArray(u) ? u.map(sorted) : isRecord(u) ? Object.fromEntries(Object.entries(u).sort(([p], [q]) => (p < q ? -1 : 1)).map(([k, v]) => [k, sorted(v)])) : u)
/** What the model claims of a node: driver, read-only, backing depth, and the size of a format or filter node (a file node's is its file's). */
const nodeRow = (n: Readonly<Record<string, unknown>>): string => {
  const size = isRecord(n['image']) && n['drv'] !== 'file' && n['drv'] !== 'blkdebug' ? ` ${String(n['image']['virtual-size'])}` : ''
  return `${String(n['node-name'])} ${String(n['drv'])} ro=${String(n['ro'])} depth=${String(n['backing_file_depth'])}${size}`
}
// Values are compared where the model claims them.
const show = (execute: string, r: QmpReply): string => {
  if (r._tag === 'Error') return `${r.class}: ${r.desc}`
  if (execute === 'qom-get' || execute === 'query-balloon' || execute === 'query-jobs') return `ok ${JSON.stringify(sorted(r.value))}`
  if (execute === 'query-named-block-nodes') return `ok ${rows(r.value).map(nodeRow).sort().join(', ')}`
  if (execute === 'query-block') return `ok ${rows(r.value).map((b) => `${String(b['qdev'])}:${isRecord(b['inserted']) ? String(b['inserted']['node-name']) : '-'}`).join(', ')}`
  return 'ok'
}
type Ev = { readonly event: string; readonly data: unknown }
const plain = (e: Ev): string => JSON.stringify({ event: e.event, data: e.data ?? null })
/** QEMU sends a BLOCK_JOB_ERROR per failed request, the model one: runs of the same event count once. */
const runs = (evs: ReadonlyArray<string>): ReadonlyArray<string> => evs.filter((e, i) => i === 0 || evs[i - 1] !== e || !e.includes('BLOCK_JOB_ERROR'))

/** Runs `script` on both, command by command; the differences, stopping at the first in the events. */
const walk = async (vm: Vm, sx: ScriptedExecutor, script: ReadonlyArray<Cmd>): Promise<string> => {
  const differences: string[] = []
  for (const entry of script) {
    const [execute, args] = entry
    if (lever(sx, entry)) continue
    const command = args === undefined ? { execute } : { execute, arguments: args }
    const modelEvents = sx.events().length
    const real = show(execute, await vm.qmp.execute(execute, args))
    const model = show(execute, sx.execute(command))
    // A job's own steps come in simulated time on the model, at once (a 1 MiB image) on QEMU.
    sx.advance(1000)
    // Events follow their reply closely (DEVICE_DELETED of a SCSI device, a tray moving, a job's steps).
    const want = sx.events().length - modelEvents
    for (let t = 0; t < 20 && runs(vm.qmp.events().map(plain)).length < sx.events().length; t++) await new Promise((r) => setTimeout(r, 25))
    await new Promise((r) => setTimeout(r, want === 0 ? 10 : 25))
    if (real !== model) differences.push(`${JSON.stringify(command)}\n    QEMU:  ${real}\n    model: ${model}`)
    const evQ = runs(vm.qmp.events().map(plain))
    const evS = sx.events().map(plain)
    if (JSON.stringify(evQ) !== JSON.stringify(evS)) {
      differences.push(`${JSON.stringify(command)}: events\n    QEMU:  ${evQ.slice(modelEvents).join(' ')}\n    model: ${evS.slice(modelEvents).join(' ')}`)
      break
    }
  }
  return differences.join('\n')
}

const QEMU_ARGV = (d: string): ReadonlyArray<string> => [qemuPath(), '-machine', 'pc,accel=tcg', '-nodefaults', '-m', '64', '-S', '-display', 'none', '-qmp', `unix:${d}/qmp.sock,server=on,wait=off`]

test('every reply and event of a walk through the modelled commands is QEMU\'s', async () => {
  const tmp = await tempDir()
  try {
    const d = tmp.path
    const iso = await makeImage(d, 'cd.iso', 'raw')
    const img = await makeImage(d, 'a.qcow2', 'qcow2')
    // Each writable node its own image: QEMU locks an image against a second writer.
    const [img1, img2] = [await makeImage(d, 'b.qcow2', 'qcow2'), await makeImage(d, 'c.qcow2', 'qcow2')]
    const bd = (o: object): ReadonlyArray<string> => ['-blockdev', JSON.stringify(o)]
    const dev = (o: object): ReadonlyArray<string> => ['-device', JSON.stringify(o)]
    const argv = [
      ...QEMU_ARGV(d),
      ...dev({ driver: 'virtio-scsi-pci', id: 'scsi', bus: 'pci.0', addr: '0x6' }),
      ...bd({ driver: 'file', 'node-name': 'i-file', filename: iso, 'read-only': true }), ...bd({ driver: 'raw', 'node-name': 'i', file: 'i-file', 'read-only': true }),
      ...dev({ driver: 'ide-cd', id: 'icd', bus: 'ide.1', unit: 0, drive: 'i' }),
      ...bd({ driver: 'file', 'node-name': 's-file', filename: iso, 'read-only': true }), ...bd({ driver: 'raw', 'node-name': 's', file: 's-file', 'read-only': true }),
      ...dev({ driver: 'scsi-cd', id: 'scd', bus: 'scsi.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 's' }),
      ...bd({ driver: 'file', 'node-name': 'h-file', filename: img }), ...bd({ driver: 'qcow2', 'node-name': 'h', file: 'h-file' }),
      ...dev({ driver: 'scsi-hd', id: 'shd', bus: 'scsi.0', channel: 0, 'scsi-id': 3, lun: 0, drive: 'h' }),
      '-vnc', `unix:${d}/vnc.sock,password=on`
    ]
    const sx = scriptedExecutor(stateOfArgv(argv), { qemu: qemuVersion })
    await withQemu(argv, async (vm) => {
      const differences = await walk(vm, sx, script(img1, img2, iso))
      assert.is(differences, '', `the model differs from ${qemuPath()}:\n${differences}`)
    }, { dir: d })
  } finally {
    await tmp.cleanup()
  }
})

test('every reply and event of limits, resizes, snapshots, transactions and block jobs is QEMU\'s', async () => {
  const tmp = await tempDir()
  try {
    const d = tmp.path
    const q = async (n: string): Promise<string> => makeImage(d, `${n}.qcow2`, 'qcow2')
    const img: Images = {
      a: await q('a'), b: await q('b'), c: await q('c'), d: await q('d'), e: await q('e'), f: await q('f'), u: await q('u'), w: await q('w'),
      g: await makeImage(d, 'g.qcow2', 'qcow2', 1, { path: await q('gb'), format: 'qcow2' }), r: await makeImage(d, 'r.raw', 'raw')
    }
    await execFileP('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 0 512k', img.a])
    const argv = [...QEMU_ARGV(d), ...graphArgv(img)]
    const sx = scriptedExecutor(stateOfArgv(argv), { qemu: qemuVersion })
    await withQemu(argv, async (vm) => {
      const differences = await walk(vm, sx, graphScript(img))
      assert.is(differences, '', `the model differs from ${qemuPath()}:\n${differences}`)
    }, { dir: d })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
