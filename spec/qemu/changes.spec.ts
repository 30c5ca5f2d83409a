/**
 * The changes table of lib/qemu-changes.ts, judged by the QEMU under test: for every entry, the
 * old form is accepted without a word where the table says it is current, accepted with a
 * deprecation warning where it is deprecated, and refused as an invalid option where it is
 * removed; and where it is no longer current, the replacement the planners switch to is
 * accepted without a word. Run once per installed QEMU (7.2 and 10.0 in CI), so each row is
 * proven on both sides of its release.
 */
import * as assert from 'uvu/assert'
import { CHANGES, lifecycle, type ChangeName, type Lifecycle } from '../../lib/index.js'
import { qemuPath, qemuSuite, qemuVersion, tempDir, tryQemu } from './harness.js'

const test = qemuSuite('QEMU changes table')

// QEMU refuses to "drop" to root (it checks that privileges cannot be regained), so the probes
// switch to nobody, which only root may do: CI runs as root.
const root = process.getuid?.() === 0
const NOBODY = '65534:65534'

/** How each entry shows on a command line: the old form and, where there is one, its replacement. */
interface Probe {
  readonly old: (dir: string) => ReadonlyArray<string>
  readonly replacement?: (dir: string) => ReadonlyArray<string>
  /** Whether QEMU can come up with the old form at all (a gluster node needs a server). */
  readonly starts: boolean
  readonly needsRoot?: boolean
}

const PROBES: { readonly [K in ChangeName]: Probe } = {
  gluster: {
    // No gluster server here: QEMU opens the node at start and exits, after warning or not.
    old: (dir) => ['-blockdev', JSON.stringify({ driver: 'gluster', 'node-name': 'g', volume: 'v', path: 'p', server: [{ type: 'unix', path: `${dir}/no-glusterd.sock` }] })],
    starts: false
  },
  runas: { old: () => ['-runas', NOBODY], replacement: () => ['-run-with', `user=${NOBODY}`], starts: true, needsRoot: true },
  chroot: { old: () => ['-chroot', '/'], replacement: () => ['-run-with', 'chroot=/'], starts: true },
  noAcpi: { old: () => ['-no-acpi'], replacement: () => ['-machine', 'acpi=off'], starts: true }
}

const base = (): ReadonlyArray<string> => [qemuPath(), '-machine', 'pc,accel=tcg', '-nodefaults']

const DEPRECATION = /warning: .*deprecated/i

const judge = async (name: ChangeName, expected: Lifecycle): Promise<void> => {
  const probe = PROBES[name]
  const what = `${CHANGES[name].what} on QEMU ${qemuVersion.major}.${qemuVersion.minor} (the table says ${expected})`
  if (probe.needsRoot === true && !root) {
    assert.ok(process.env['CI'] !== 'true', `${what}: the probe needs root (CI=true requires it)`)
    process.stderr.write(`\nSKIPPED ${what}: the probe needs root\n`)
    return
  }
  const tmp = await tempDir()
  try {
    const r = await tryQemu([...base(), ...probe.old(tmp.path)], { dir: tmp.path })
    if (expected === 'removed') {
      assert.is(r._tag, 'exited', `${what}: QEMU came up`)
      assert.match(r.stderr, /invalid option|Unknown driver|Invalid parameter/, `${what}: ${r.stderr}`)
    } else {
      if (probe.starts) assert.is(r._tag, 'up', `${what}: QEMU refused it: ${r.stderr}`)
      if (expected === 'deprecated') assert.match(r.stderr, DEPRECATION, `${what}: no deprecation warning: ${r.stderr}`)
      else assert.not.match(r.stderr, DEPRECATION, `${what}: QEMU warns: ${r.stderr}`)
    }
    if (expected !== 'current' && probe.replacement !== undefined) {
      const n = await tryQemu([...base(), ...probe.replacement(tmp.path)], { dir: tmp.path })
      assert.equal(n, { _tag: 'up', stderr: '' }, `${what}: the replacement ${probe.replacement(tmp.path).join(' ')}`)
    }
  } finally {
    await tmp.cleanup()
  }
}

for (const name of Object.keys(CHANGES) as ChangeName[]) {
  const expected = lifecycle(name, qemuVersion)
  test(`${CHANGES[name].what}: ${expected} in ${qemuVersion.major}.${qemuVersion.minor}, as QEMU shows`, () => judge(name, expected))
}

test.run()
