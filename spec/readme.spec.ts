/**
 * The README's first TypeScript example runs as written (with `qemu-devplan` resolved to this
 * checkout), so the documentation cannot drift from the API.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('../', import.meta.url))

test('the README usage example runs and prints a command line with the planned devices', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block !== undefined, 'README has a ```ts block')
  const dir = mkdtempSync(join(root, 'spec', '.readme-'))
  try {
    const file = join(dir, 'example.ts')
    writeFileSync(file, (block ?? '').replace("from 'qemu-devplan'", `from ${JSON.stringify(join(root, 'lib/index.js'))}`))
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: root })
    assert.match(out, /^\/usr\/bin\/qemu-system-x86_64 -name guest=vm1 /)
    assert.match(out, '"driver":"scsi-hd","id":"disk-932df160-7a22-4067","bus":"scsi.0","channel":0,"scsi-id":0,"lun":0')
    assert.match(out, '"driver":"virtio-net-pci","id":"nic-c4a1e2f3-8b7d-4e6c","bus":"pci.0","addr":"0x10"')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the README\'s live migration block is examples/migrate.ts\'s code, which a real-QEMU spec runs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Live migration'))
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  const example = readFileSync(join(root, 'examples', 'migrate.ts'), 'utf8')
  const from = '// --- README: Live migration (from here)\n'
  const code = example.slice(example.indexOf(from) + from.length, example.indexOf('// --- README: Live migration (to here)'))
  assert.ok(code.includes('planMigrate'), 'the example marks its flow')
  assert.is(block, code)
})

test('the README example of "Testing your code without QEMU" runs as written', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Testing your code without QEMU'))
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
  assert.ok(block !== undefined, 'the section has a ```ts block')
  const dir = mkdtempSync(join(root, 'spec', '.readme-'))
  try {
    const file = join(dir, 'testing.ts')
    const code = (block ?? '')
      .replace("from 'qemu-devplan/testing'", `from ${JSON.stringify(join(root, 'lib/testing/index.js'))}`)
      .replace("from 'qemu-devplan'", `from ${JSON.stringify(join(root, 'lib/index.js'))}`)
    writeFileSync(file, code)
    const out = execFileSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: root })
    assert.is(out, 'RolledBack Done Pending Done, 0 nodes left\n')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
