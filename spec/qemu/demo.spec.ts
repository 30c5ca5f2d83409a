/**
 * Runs examples/hotplug-demo.ts as a user would, so the documented flow cannot rot: it must exit
 * 0, show the hot-add and the removal that ends on DEVICE_DELETED, and leave no temp dir behind.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { qemuSuite } from './harness.js'

const test = qemuSuite('examples/hotplug-demo.ts')

const root = fileURLToPath(new URL('../../', import.meta.url))

interface Ran {
  readonly code: number | string
  readonly stdout: string
  readonly stderr: string
}

/** Resolves on any exit: a failing demo must show its output in the assertion, not reject. */
const runDemo = (): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/hotplug-demo.ts'],
      { cwd: root, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : (error.signal ?? String(error.code))
        resolve({ code, stdout, stderr })
      }
    )
  })

test('the demo hot-adds and hot-removes a SCSI disk on a real QEMU and cleans up', async () => {
  const r = await runDemo()
  const shown = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`
  assert.is(r.code, 0, `exit code${shown}`)
  assert.match(r.stdout, /hot-add disk disk-3c9d1e7a-5b2f-4a8c: Done\n/, `hot-add line${shown}`)
  assert.match(r.stdout, /QEMU equals the runtime\n/, `comparison line${shown}`)
  assert.match(r.stdout, /hot-remove disk disk-3c9d1e7a-5b2f-4a8c: Done via DEVICE_DELETED\n/, `removal line${shown}`)
  // The stored runtime no longer holds the removed disk, only the one the instance started with.
  assert.not.match(r.stdout.slice(r.stdout.indexOf('== 7.')), /3c9d1e7a/, `runtime after removal${shown}`)
  const dir = /== 1\. images in (\S+)/.exec(r.stdout)?.[1]
  assert.ok(dir !== undefined, `temp dir line${shown}`)
  assert.not.ok(existsSync(dir ?? ''), `${dir ?? ''} was not removed`)
})

test.run()
