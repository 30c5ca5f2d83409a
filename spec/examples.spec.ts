/**
 * Every runnable file in examples/ runs as a user would run it (`tsx examples/<file>`): it must
 * exit 0 and print what it is there to show. Each is listed with the API categories it
 * demonstrates, and every category has at least one example that runs without a QEMU. A new
 * file in examples/ must be added here (or to the helper modules), so none can rot unrun.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('../', import.meta.url))

/** The categories of the API docs (spec/docs.spec.ts checks every export has one). */
const CATEGORIES = ['decode', 'plan', 'render', 'hotplug', 'media', 'runtime', 'executor'] as const
type Category = (typeof CATEGORIES)[number]

/** Modules the examples import; they do nothing when run. */
const HELPERS = ['qmp-client.ts', 'recording-executor.ts']

interface Example {
  readonly categories: ReadonlyArray<Category>
  readonly args?: ReadonlyArray<string>
  /** What the output must show. */
  readonly prints: ReadonlyArray<RegExp>
  /** …and must not. */
  readonly hides?: ReadonlyArray<RegExp>
  readonly timeoutMs?: number
  /** Needs a real QEMU: run (against every QEMU of the matrix) by this spec instead. */
  readonly runBy?: string
}

const EXAMPLES: Readonly<Record<string, Example>> = {
  'decode.ts': {
    categories: ['decode'],
    prints: [/^instance: vm1\.example\.com 7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10 /m, /^a spec with mistakes: refused$/m, /^ {2}disks\[0\]\.path: expected "" or an absolute path, got "relative\/path"$/m, /^target: QEMU 10\.0\.2, q35$/m]
  },
  'plan-instance.ts': {
    categories: ['decode', 'plan', 'render', 'hotplug'],
    args: ['examples/instance.json'],
    prints: [/^# web1\.example\.com on pc, QEMU 7\.2$/m, /^scsi-controller +scsi +virtio-scsi-pci +pci\.0 slot 0x6/m, /^\/usr\/bin\/qemu-system-x86_64 \\$/m, /^# hot-add disk disk-3c9d1e7a-5b2f-4a8c$/m, /^# hot-remove disk disk-932df160-7a22-4067$/m]
  },
  'render.ts': {
    categories: ['render'],
    prints: [/^# pc on QEMU 7\.2: \d+ words$/m, /^# q35 on QEMU 10\.0: \d+ words$/m, /-device \{"driver":"pcie-root-port","id":"port1","bus":"pcie\.0"/, /^ {2}-device '\{"driver":"scsi-hd"/m]
  },
  'media.ts': {
    categories: ['media', 'executor'],
    prints: [/"execute":"blockdev-open-tray"/, /^change the medium of cdrom1 to \/srv\/iso\/debian-13\.iso: Done$/m, /"filename":"\/srv\/iso\/debian-13\.iso"\}$/m, /^eject cdrom1: Done$/m, /^the runtime now records: no medium$/m]
  },
  'runtime-file.ts': {
    categories: ['runtime'],
    prints: [/rebuilt command line equals the started one$/m, /^# Ganeti 2\.7 file upgraded: 4 elements, NIC uuid 00000000-0000-4000-8000-000000000000/m, /^# for a ganeti-2\.16 reader: 4 elements/m, /^# for a pre-hvinfo reader: 4 elements, 3 device\(s\)/m]
  },
  'executor.ts': {
    categories: ['executor', 'hotplug'],
    prints: [/"password":"<redacted>"/, /^start: Done$/m, /: RolledBack at step 4: /, /^ {2}log: step 1 undo blockdev-del ok$/m, /^ {2}log: step 0 undo object-del ok$/m, /^hot-add disk disk-3c9d1e7a-5b2f-4a8c: Done$/m, /^hot-remove disk disk-3c9d1e7a-5b2f-4a8c: Done$/m, /^the runtime has 0 disk\(s\)$/m],
    hides: [/a password read from the file/]
  },
  'hotplug-demo.ts': { categories: ['hotplug', 'executor'], prints: [], runBy: 'spec/qemu/demo.spec.ts' },
  'migrate.ts': { categories: ['runtime', 'executor'], prints: [], runBy: 'spec/qemu/migrate-example.spec.ts' }
}

interface Ran {
  readonly code: number | string
  readonly stdout: string
  readonly stderr: string
}

const run = (file: string, ex: Example): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join('examples', file), ...(ex.args ?? [])], { cwd: root, timeout: ex.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : (error.signal ?? String(error.code))
      resolve({ code, stdout, stderr })
    })
  })

test('every examples/*.ts is a listed example or a helper module', () => {
  const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'))
  const unknown = files.filter((f) => !(f in EXAMPLES) && !HELPERS.includes(f))
  assert.equal(unknown, [], `list these in spec/examples.spec.ts: ${unknown.join(', ')}`)
  for (const f of [...Object.keys(EXAMPLES), ...HELPERS]) assert.ok(files.includes(f), `examples/${f} exists`)
})

test('every API category has an example that runs without QEMU', () => {
  for (const c of CATEGORIES) {
    assert.ok(
      Object.values(EXAMPLES).some((ex) => ex.runBy === undefined && ex.categories.includes(c)),
      `an example for ${c}`
    )
  }
})

test('the helper modules print nothing when run', async () => {
  for (const file of HELPERS) {
    const r = await run(file, { categories: [], prints: [] })
    assert.is(r.code, 0, `${file} exits 0\n${r.stderr}`)
    assert.is(r.stdout, '', `${file} prints nothing`)
  }
})

for (const [file, ex] of Object.entries(EXAMPLES)) {
  if (ex.runBy !== undefined) {
    const by = ex.runBy
    test(`examples/${file} needs a QEMU: ${by} runs it`, () => {
      const spec = readFileSync(join(root, by), 'utf8')
      assert.ok(spec.includes(`examples/${file}`) && spec.includes('qemuSuite('), `${by} runs examples/${file} in a QEMU suite`)
    })
    continue
  }
  test(`examples/${file} runs, exits 0 and shows ${ex.categories.join(', ')}`, async () => {
    const r = await run(file, ex)
    const shown = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`
    assert.is(r.code, 0, `exit code${shown}`)
    for (const re of ex.prints) assert.match(r.stdout, re, `prints ${re}${shown}`)
    for (const re of ex.hides ?? []) assert.not.match(r.stdout + r.stderr, re, `does not print ${re}${shown}`)
  })
}

test.run()
