/**
 * The `qemu-devplan` bin, run as a user runs it: the built dist/cli/cli.js (`npm test` builds
 * first), with files or stdin, judged by its stdout, stderr, exit code and the --out file. What it
 * prints is compared with the library's own answer for the same input, so the CLI stays thin.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { downgradeOk } from './support/either.js'
import {
  decodeDisk,
  decodeInstance,
  decodeTarget,
  encodeRuntime,
  parseRuntime,
  planDevices,
  planHotAdd,
  renderArgv,
  toRuntime,
  type DeviceTree,
  type QmpPlan,
  type RenderOptions,
  type Runtime,
  type TargetInput
} from '../lib/index.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const BIN = join(root, 'dist/cli/cli.js')
const EXAMPLE = join(root, 'examples/instance.json')
const RT = (name: string): string => join(root, 'spec/fixtures/runtime', name)
const V1 = RT('qemu-devplan-v1.json')
const tmp = mkdtempSync(join(tmpdir(), 'qemu-devplan-cli-'))

const run = (args: ReadonlyArray<string>, input?: string): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: root, ...(input === undefined ? {} : { input }) })

const right = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`)
  return e.right
}

const read = (path: string): string => readFileSync(path, 'utf8')
const exampleDoc = JSON.parse(read(EXAMPLE)) as { instance: unknown; target: unknown; render: { qmpSocket: string; accel: 'tcg' } }
const exampleTree: DeviceTree = right(pipe(E.Do, E.apS('t', decodeTarget(exampleDoc.target)), E.apS('i', decodeInstance(exampleDoc.instance)), E.chain(({ t, i }) => planDevices(i, t))))
const exampleArgv = renderArgv(exampleTree, exampleDoc.render)
const v1: Runtime = right(parseRuntime(read(V1)))

const file = (name: string, content: unknown): string => {
  const path = join(tmp, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** A failure of its class: that exit code, nothing on stdout, and stderr naming where. */
const fails = (r: SpawnSyncReturns<string>, code: number, stderr: string | RegExp): void => {
  assert.is(r.status, code, `exit ${String(r.status)}: ${r.stderr}`)
  assert.is(r.stdout, '', 'nothing on stdout after an error')
  assert.match(r.stderr, stderr)
}

const ok = (r: SpawnSyncReturns<string>, code = 0): string => {
  assert.is(r.status, code, r.stderr)
  return r.stdout
}

const jsonLines = (s: string): ReadonlyArray<unknown> => s.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)

const executorView = (plan: QmpPlan): ReadonlyArray<unknown> =>
  plan.steps.map((s) => s._tag === 'wait' ? { waitFor: { until: s.until, failOn: s.failOn, timeoutMs: s.timeoutMs } } : ({
    execute: s.command.execute,
    ...(s.command.arguments === undefined ? {} : { arguments: s.command.arguments }),
    ...(s._tag === 'command' ? (s.fd === undefined ? {} : { fd: s.fd }) : { waitFor: { event: 'DEVICE_DELETED', id: s.id, timeoutMs: s.timeoutMs } })
  }))

test('the bin: package.json names it, the build emits it with a shebang, executable, and npm pack ships it', () => {
  const pkg = JSON.parse(read(join(root, 'package.json'))) as { bin?: Record<string, string> }
  assert.equal(pkg.bin, { 'qemu-devplan': 'dist/cli/cli.js' })
  assert.ok(existsSync(BIN), 'npm run build emits dist/cli/cli.js')
  assert.ok(read(BIN).startsWith('#!/usr/bin/env node\n'))
  accessSync(BIN, constants.X_OK)
  // Run by its path, as a shell runs an installed bin.
  const direct = spawnSync(BIN, ['--version'], { encoding: 'utf8', cwd: root })
  assert.is(direct.status, 0, direct.stderr)
  assert.match(direct.stdout, /^qemu-devplan\/\d+\.\d+\.\d+\n$/)
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', cwd: root })
  assert.is(pack.status, 0, pack.stderr)
  const files = (JSON.parse(pack.stdout) as ReadonlyArray<{ files: ReadonlyArray<{ path: string; mode: number }> }>)[0]?.files ?? []
  const bin = files.find((f) => f.path === 'dist/cli/cli.js')
  assert.ok(bin !== undefined, 'the tarball holds dist/cli/cli.js')
  assert.ok(files.some((f) => f.path === 'dist/cli/main.js'))
  assert.ok(!files.some((f) => f.path.startsWith('cli/')), 'the sources of the CLI stay in the repository')
})

test('--help says the CLI is pure and lists every command and exit code; no arguments is a usage error', () => {
  const help = ok(run(['--help']))
  assert.match(help, 'never stats, opens or reserves anything')
  for (const c of ['plan SPEC', 'plan --runtime FILE', 'hotplug add', 'hotplug remove', 'media RUNTIME', 'runtime upgrade', 'runtime downgrade', 'diff OLD NEW']) assert.match(help, c)
  for (const code of ['0  done', '1  diff', '2  usage', '3  decode', '4  placement', '5  unsupported']) assert.match(help, code)
  assert.is(ok(run(['plan', '--help'])), help)
  fails(run([]), 2, 'Usage: qemu-devplan')
})

test('plan SPEC --format json is the library argv; lines is one word per line; stdin works', () => {
  assert.equal(JSON.parse(ok(run(['plan', EXAMPLE]))), exampleArgv)
  assert.equal(JSON.parse(ok(run(['plan', EXAMPLE, '--format', 'json']))), exampleArgv)
  assert.equal(ok(run(['plan', EXAMPLE, '--format', 'lines'])).split('\n').slice(0, -1), exampleArgv)
  assert.equal(JSON.parse(ok(run(['plan', '-'], read(EXAMPLE)))), exampleArgv)
})

test('plan --format shell is one line that sh reads back word for word, quotes and $ included', () => {
  const doc = JSON.parse(read(EXAMPLE)) as { instance: { disks: Array<{ path: string }> } }
  const first = doc.instance.disks[0]
  if (first !== undefined) first.path = `/tmp/it's a "disk" $HOME \`id\` \\ *.img`
  for (const spec of [EXAMPLE, file('weird.json', doc)]) {
    const words = JSON.parse(ok(run(['plan', spec]))) as ReadonlyArray<string>
    const line = ok(run(['plan', spec, '--format', 'shell']))
    assert.is(line.split('\n').length, 2, 'one line')
    const sh = spawnSync('sh', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' })
    assert.is(sh.status, 0, sh.stderr)
    assert.equal(sh.stdout.split('\n').slice(0, -1), words)
  }
})

test('plan --format table lists the devices and their places; --format plan is the tree as JSON', () => {
  const t = ok(run(['plan', EXAMPLE, '--format', 'table']))
  assert.match(t, /^kind +id +driver +placement\n/)
  assert.match(t, /nic +nic-c4a1e2f3-8b7d-4e6c +virtio-net-pci +pci\.0 slot 0x10\n/)
  assert.match(t, /disk +disk-932df160-7a22-4067 +scsi-hd +scsi\.0 0:0:0\n/)
  assert.equal(JSON.parse(ok(run(['plan', EXAMPLE, '--format', 'plan']))), JSON.parse(JSON.stringify(exampleTree)))
})

test('plan flags are host facts from the caller: --qemu, --qmp-socket, --accel override the spec; a bare instance needs --qemu', () => {
  const argv = JSON.parse(ok(run(['plan', EXAMPLE, '--qemu', '10.0', '--qmp-socket', '/run/x.qmp', '--accel', 'kvm']))) as ReadonlyArray<string>
  const tree = right(pipe(decodeInstance(exampleDoc.instance), E.chain((i) => planDevices(i, { qemu: '10.0' }))))
  assert.equal(argv, renderArgv(tree, { qmpSocket: '/run/x.qmp', accel: 'kvm' }))
  const bare = file('bare.json', exampleDoc.instance)
  fails(run(['plan', bare]), 2, /bare\.json: the QEMU version is needed: pass --qemu/)
  assert.equal(JSON.parse(ok(run(['plan', bare, '--qemu', '7.2']))), renderArgv(exampleTree, { qmpSocket: '/run/qemu-devplan/web1.example.com.qmp' }))
})

test('plan: warnings go to stderr, named from the file\'s top; stdout is still the argv', () => {
  const doc = JSON.parse(read(EXAMPLE)) as { instance: { hvparams: Record<string, unknown> } }
  doc.instance.hvparams['cpu_mask'] = '0-1'
  const r = run(['plan', file('warned.json', doc)])
  assert.equal(JSON.parse(ok(r)), exampleArgv)
  assert.match(r.stderr, /warning: [^\n]*warned\.json: instance\.hvparams\.cpu_mask is accepted but not modelled/)
})

test('plan SPEC --out writes the runtime the instance starts with: plan --runtime renders the same argv, hotplug reads it', () => {
  const out = join(tmp, 'start.runtime')
  const argv = JSON.parse(ok(run(['plan', EXAMPLE, '--out', out]))) as ReadonlyArray<string>
  assert.equal(JSON.parse(ok(run(['plan', '--runtime', out]))), argv)
  const doc = JSON.parse(read(EXAMPLE)) as { instance: unknown; target: unknown; render: unknown }
  const inst = right(decodeInstance(doc.instance))
  const rt = right(toRuntime(inst, right(planDevices(inst, doc.target as TargetInput)), doc.render as RenderOptions))
  assert.is(read(out), `${JSON.stringify(encodeRuntime(rt))}\n`)
  const disk = join(tmp, 'disk.json')
  writeFileSync(disk, JSON.stringify({ uuid: '0c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/dev/vg/extra' }))
  assert.match(ok(run(['hotplug', 'add', out, '--disk', disk])), /"execute":"device_add"/)
  fails(run(['plan', EXAMPLE, '--out', '-']), 2, '--out -: stdout holds the plan; name a file')
  fails(run(['plan', EXAMPLE, '--qemu', '7.2', '--qemu', '10.0']), 2, '--qemu is given twice')
  fails(run(['plan', '--runtime', out, '--out', out]), 2, '--out is for a spec')
})

test('plan --runtime prints the argv a restart runs; a Ganeti file takes --qemu and --nic-backend', () => {
  assert.equal(JSON.parse(ok(run(['plan', '--runtime', V1]))), JSON.parse(read(RT('qemu-devplan-v1.argv.json'))))
  assert.equal(JSON.parse(ok(run(['plan', '--runtime', '-'], read(V1)))), JSON.parse(read(RT('qemu-devplan-v1.argv.json'))))
  const ganeti = RT('ganeti-2.12-pci.json')
  fails(run(['plan', '--runtime', ganeti]), 2, /ganeti-2\.12-pci\.json: a runtime Ganeti wrote does not name its QEMU: pass --qemu/)
  fails(run(['plan', '--runtime', ganeti, '--qemu', '7.2']), 2, /ganeti-2\.12-pci\.json: nics\[0\], nics\[1\] record no netdev \(a runtime Ganeti wrote\): pass --nic-backend/)
  // A flag that changes nothing says so on stderr; the argv is the runtime's own.
  const kept = run(['plan', '--runtime', V1, '--nic-backend', '{"type":"tap","fds":[5]}'])
  assert.equal(JSON.parse(ok(kept)), JSON.parse(read(RT('qemu-devplan-v1.argv.json'))))
  assert.match(kept.stderr, /--nic-backend is not used: every NIC of .*qemu-devplan-v1\.json records its netdev/)
  const lines = ok(run(['plan', '--runtime', ganeti, '--qemu', '7.2', '--nic-backend', '{"type":"tap","fds":[5]}', '--nic-backend', '{"type":"tap","fds":[6]}', '--format', 'lines'])).split('\n')
  assert.ok(lines.includes('{"type":"tap","id":"hotnic-c4a1e2f3-pci-6","fd":"5"}'), lines.join(' '))
  assert.ok(lines.includes('{"type":"tap","id":"hotnic-e9d8c7b6-pci-7","fd":"6"}'))
  fails(run(['plan', '--runtime', ganeti, '--qemu', '7.2', '--nic-backend', '{"type":"tap","fds":["x"]}']), 3, /--nic-backend\[0\]: fds\[0\]: expected an integer/)
  fails(run(['plan', '--runtime', V1, '--format', 'table']), 2, /--format: "table" is not one of json, shell, lines/)
  fails(run(['plan', '--runtime', V1, '--qmp-socket', '/x']), 2, /--qmp-socket is the runtime's own/)
})

test('hotplug add --disk: the QMP plan as JSON lines, the runtime after to --out, or a note without it', () => {
  const diskJson = { uuid: '3c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', path: '/tmp/extra.img' }
  const disk = file('disk.json', diskJson)
  const plan = right(pipe(decodeDisk(diskJson), E.chain((d) => planHotAdd(v1, { disk: d }))))
  const out = join(tmp, 'after.json')
  const r = run(['hotplug', 'add', V1, '--disk', disk, '--out', out])
  assert.equal(jsonLines(ok(r)), executorView(plan))
  assert.is(read(out), `${JSON.stringify(encodeRuntime(plan.after))}\n`)
  assert.equal(right(parseRuntime(read(out))).disks.length, v1.disks.length + 1)
  const noOut = run(['hotplug', 'add', V1, '--disk', disk])
  assert.equal(jsonLines(ok(noOut)), executorView(plan))
  assert.match(noOut.stderr, 'pass --out FILE')
  fails(run(['hotplug', 'add', V1, '--disk', disk, '--out', join(tmp, 'no/such/dir.json')]), 2, /--out .*no\/such\/dir\.json: cannot write: ENOENT/)
  const full = JSON.parse(ok(run(['hotplug', 'add', V1, '--disk', disk, '--format', 'plan']))) as { title: string; steps: ReadonlyArray<unknown> }
  assert.is(full.title, plan.title)
  assert.equal(full.steps, JSON.parse(JSON.stringify(plan.steps)))
})

test('hotplug add --nic from stdin: the fd travels with getfd', () => {
  const nic = { uuid: '4c9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', mac: 'aa:00:00:00:00:99', backend: { type: 'tap', fds: [7] } }
  const lines = jsonLines(ok(run(['hotplug', 'add', V1, '--nic', '-'], JSON.stringify(nic))))
  assert.equal(lines[0], { execute: 'getfd', arguments: { fdname: 'nic-4c9d1e7a-5b2f-4a8c-0' }, fd: 7 })
  assert.equal((lines[2] as { execute: string }).execute, 'device_add')
  fails(run(['hotplug', 'add', '-', '--nic', '-'], '[]'), 2, 'only one input can be -')
  fails(run(['hotplug', 'add', V1]), 2, 'give exactly one of --disk DISK.json and --nic NIC.json')
  fails(run(['hotplug', 'add', V1, '--nic', '-'], JSON.stringify({ ...nic, mac: '00:00:00:00:00:00x' })), 3, /stdin: nic\.mac/)
})

test('hotplug remove: device_del waits for DEVICE_DELETED, then the nodes go; an unknown id is a placement error', () => {
  const lines = jsonLines(ok(run(['hotplug', 'remove', V1, 'disk-932df160-7a22-4067', '--unplug-timeout', '2000'])))
  assert.equal(lines[0], { execute: 'device_del', arguments: { id: 'disk-932df160-7a22-4067' }, waitFor: { event: 'DEVICE_DELETED', id: 'disk-932df160-7a22-4067', timeoutMs: 2000 } })
  assert.equal((lines[1] as { execute: string }).execute, 'blockdev-del')
  const out = join(tmp, 'never.json')
  fails(run(['hotplug', 'remove', V1, 'nope', '--out', out]), 4, /qemu-devplan-v1\.json: nope: no such device in the runtime/)
  assert.not.ok(existsSync(out), 'nothing is written after an error')
  fails(run(['hotplug', 'remove', V1]), 2, 'hotplug remove takes RUNTIME ID')
  fails(run(['hotplug', 'move', V1]), 2, 'hotplug: expected add or remove')
})

test('media: change and eject the CD-ROM; errors name the field', () => {
  const change = jsonLines(ok(run(['media', V1, 'cdrom1', '/srv/new.iso'])))
  assert.equal(change.map((l) => (l as { execute: string }).execute), ['blockdev-open-tray', 'blockdev-remove-medium', 'blockdev-del', 'blockdev-del', 'blockdev-add', 'blockdev-add', 'blockdev-insert-medium', 'blockdev-close-tray'])
  const out = join(tmp, 'ejected.json')
  const eject = jsonLines(ok(run(['media', V1, 'cdrom1', '--eject', '--out', out])))
  assert.equal(eject.map((l) => (l as { execute: string }).execute), ['blockdev-open-tray', 'blockdev-remove-medium', 'blockdev-del', 'blockdev-del', 'blockdev-close-tray'])
  assert.ok(existsSync(out))
  fails(run(['media', V1, 'cdrom1', 'relative.iso']), 3, /location: expected an absolute path/)
  fails(run(['media', V1, 'cdrom2', '/x.iso']), 4, 'cdrom2: no such device')
  fails(run(['media', V1, 'cdrom1', '/x.iso', '--out', '-']), 2, '--out -')
})

test('runtime upgrade prints what Ganeti\'s upgrade makes of each fixture', () => {
  for (const name of ['ganeti-2.7-3elem', 'ganeti-2.12-pci', 'ganeti-3.0-hvinfo-scsi']) {
    const printed = ok(run(['runtime', 'upgrade', RT(`${name}.json`)]))
    assert.is(printed, `${JSON.stringify(JSON.parse(read(RT(`${name}.upgraded.json`))))}\n`, name)
  }
  assert.is(ok(run(['runtime', 'upgrade', '-'], read(RT('ganeti-2.12-pci.json')))), ok(run(['runtime', 'upgrade', RT('ganeti-2.12-pci.json')])))
  fails(run(['runtime', 'upgrade', '-'], '[1, 2'), 3, /stdin: \(input\): not JSON/)
})

test('runtime downgrade prints the older file, lost devices on stderr; a too-new file is unsupported', () => {
  const r = run(['runtime', 'downgrade', V1, '--format', 'pre-hvinfo'])
  const { json, lost } = downgradeOk(v1, { format: 'pre-hvinfo' })
  assert.is(ok(r), `${JSON.stringify(json)}\n`)
  assert.ok(lost.length > 0)
  for (const l of lost) assert.match(r.stderr, `lost: ${l.device}: ${l.reason}`)
  assert.is(ok(run(['runtime', 'downgrade', V1, '--format', 'ganeti-2.16'])), `${JSON.stringify(downgradeOk(v1, { format: 'ganeti-2.16' }).json)}\n`)
  fails(run(['runtime', 'downgrade', V1]), 2, '--format is needed')
  fails(run(['runtime', 'downgrade', V1, '--format', 'x']), 2, '--format: "x" is not one of pre-hvinfo, ganeti-2.15, ganeti-2.16')
  fails(run(['runtime', 'downgrade', RT('too-new.json'), '--format', 'ganeti-2.16']), 5, /too-new\.json: runtime file: written by qemu-devplan\/0\.9\.0/)
  fails(run(['runtime', 'sideways', V1]), 2, 'runtime: expected upgrade or downgrade')
})

test('diff: a spec against itself moves nothing (exit 0); a runtime against a new plan lists what moved (exit 1)', () => {
  const same = run(['diff', EXAMPLE, EXAMPLE])
  assert.is(ok(same), '')
  // The v1 file was planned when the SCSI controller sat at slot 2 and there was no balloon.
  const moved = run(['diff', V1, RT('qemu-devplan-v1.spec.json')])
  assert.is(ok(moved, 1), 'moved    scsi  pci.0 slot 0x2 → pci.0 slot 0x6\nadded    balloon0  pci.0 slot 0x4\n')
  const json = JSON.parse(ok(run(['diff', V1, RT('qemu-devplan-v1.spec.json'), '--format', 'json']), 1)) as { moved: ReadonlyArray<unknown>; added: ReadonlyArray<{ id: string }>; removed: ReadonlyArray<unknown> }
  assert.equal(json.moved, [{ id: 'scsi', driver: 'virtio-scsi-pci', old: { _tag: 'pci', bus: 'pci.0', slot: 2, function: 0 }, new: { _tag: 'pci', bus: 'pci.0', slot: 6, function: 0 } }])
  assert.equal(json.added.map((d) => d.id), ['balloon0'])
  assert.equal(json.removed, [])
  // Ganeti's legacy ids are matched to the spec's by uuid: the NIC moved from slot 6 to 0x10.
  const ganeti = ok(run(['diff', RT('ganeti-3.0-hvinfo-scsi.json'), EXAMPLE]), 1)
  assert.match(ganeti, 'moved    hotnic-c4a1e2f3-pci-6 → nic-c4a1e2f3-8b7d-4e6c  pci.0 slot 0x6 → pci.0 slot 0x10\n')
  assert.match(ganeti, 'removed  nic-5a6b7c8d-9e0f-4a1b  pci.0 slot 0x11\n')
  // One more NIC in the spec: added at the next free slot, nothing moved.
  const doc = JSON.parse(read(EXAMPLE)) as { instance: { nics: Array<unknown> } }
  doc.instance.nics.push({ uuid: '5d9d1e7a-5b2f-4a8c-9e6d-7f0a1b2c3d4e', mac: 'aa:00:00:00:00:98', backend: { type: 'user' } })
  assert.is(ok(run(['diff', EXAMPLE, '-'], JSON.stringify(doc))), 'added    nic-5d9d1e7a-5b2f-4a8c  pci.0 slot 0x12\n')
  // A bare instance (no target) against a runtime this library wrote: planned for the runtime's QEMU.
  const bare = (JSON.parse(read(RT('qemu-devplan-v1.spec.json'))) as { instance: unknown }).instance
  assert.is(ok(run(['diff', V1, '-'], JSON.stringify(bare)), 1), 'moved    scsi  pci.0 slot 0x2 → pci.0 slot 0x6\nadded    balloon0  pci.0 slot 0x4\n')
  fails(run(['diff', EXAMPLE, '-'], JSON.stringify(bare)), 2, 'the QEMU version is needed: pass --qemu')
  fails(run(['diff', EXAMPLE, V1]), 2, 'NEW must be a spec')
  fails(run(['diff', EXAMPLE]), 2, 'diff takes OLD NEW')
})

test('each failure class has its exit code, stderr names the file and field path, stdout stays empty', () => {
  const doc = JSON.parse(read(EXAMPLE)) as { instance: { memory: unknown; disks: Array<{ uuid: string }>; hvparams: Record<string, unknown> } }
  doc.instance.memory = 'x'
  const bad = file('bad.json', doc)
  const decode = run(['plan', bad])
  fails(decode, 3, /bad\.json: instance\.memory: expected an integer/)
  fails(run(['plan', '-'], '{'), 3, /stdin: \(input\): not JSON/)
  fails(run(['plan', EXAMPLE, '--qemu', '1.x']), 3, /--qemu: expected a QEMU version/)

  const full = JSON.parse(read(EXAMPLE)) as { instance: { disks: unknown[]; hvparams: Record<string, unknown> } }
  full.instance.hvparams['disk_type'] = 'paravirtual'
  delete full.instance.hvparams['scsi_controller_type']
  full.instance.disks = Array.from({ length: 40 }, (_, i) => ({ uuid: `${i.toString(16).padStart(8, '0')}-7a22-4067-a566-7e0ca8386133`, path: `/dev/vg/d${i}` }))
  fails(run(['plan', file('full.json', full)]), 4, /full\.json: disk-[0-9a-f]{8}-7a22-4067: no free place on bus pci\.0/)

  fails(run(['plan', '--runtime', RT('ganeti-2.7-3elem.json'), '--qemu', '7.2', '--nic-backend', '{"type":"user"}']), 5, /ganeti-2\.7-3elem\.json: nics\[0\] .*no placement recorded/)

  fails(run(['frobnicate']), 2, 'unknown command "frobnicate"')
  fails(run(['plan', EXAMPLE, '--bogus']), 2, "Unknown option '--bogus'")
  fails(run(['plan', join(tmp, 'missing.json')]), 2, /missing\.json: cannot read: ENOENT/)
  fails(run(['plan', EXAMPLE, EXAMPLE]), 2, 'plan takes SPEC')
  fails(run(['plan', EXAMPLE, '--format', 'yaml']), 2, '--format: "yaml" is not one of json, shell, lines, table, plan')
})

test.after(() => rmSync(tmp, { recursive: true, force: true }))

test.run()
