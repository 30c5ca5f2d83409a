/**
 * examples/migrate.ts — the flow the README's "Live migration" section shows — between two real
 * QEMUs on loopback: the target spawned from `incomingArgv`, all three plans over the Unix-socket
 * transport; the guest must run on the target afterwards, with the source's devices.
 */
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import * as assert from 'uvu/assert'
import { connectQmp } from '../../examples/qmp-client.js'
import { migrateInstance } from '../../examples/migrate.js'
import { freePort, qemuSuite, qemuVersion } from './harness.js'
import { isRec, startSource, status, until } from './migrate-setup.js'

const test = qemuSuite('the README migration flow (examples/migrate.ts)')

test('migrateInstance moves a running guest to a target it spawns, over QMP sockets', async () => {
  const src = await startSource({ migration_caps: 'xbzrle' }, 'dirty')
  const dir = join(src.tmp.path, 'dst')
  await mkdir(dir)
  const qmpSocket = join(dir, 'vm.qmp')
  let kill = (): void => {}
  try {
    const { outcome, target } = await migrateInstance({
      runtime: src.runtime,
      hvparams: src.hvparams,
      running: true,
      source: src.qmpSocket,
      target: {
        address: '127.0.0.1',
        port: await freePort('127.0.0.1'),
        qemu: qemuVersion,
        qmpSocket,
        argv: (argv) => [...argv.map((w) => w.split(src.qmpSocket).join(qmpSocket)), '-display', 'none']
      }
    })
    kill = () => target.kill('SIGKILL')
    assert.is(outcome._tag, 'Done', JSON.stringify({ ...outcome, runtime: undefined }))
    assert.is(outcome.runtime.runs, 'target')
    assert.is(await status(src.vm), 'postmigrate')
    const dst = await connectQmp(qmpSocket, { unrefWhenIdle: true })
    try {
      await until('the target to run', async () => {
        const s = await dst.executeOk('query-status')
        return isRec(s) && s['status'] === 'running'
      })
    } finally {
      await dst.close()
    }
  } finally {
    kill()
    await src.vm.kill()
    await src.tmp.cleanup()
  }
})

test.run()
