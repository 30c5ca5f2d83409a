/**
 * Sound (soundhw) on a real QEMU: each PCI card the library plans starts with nothing on stderr
 * (no ALSA errors: the audio backend is explicit), sits at the machine's sound slot, plays to the
 * planned audiodev, and the HDA codec sits at address 0 of its card's bus. With SPICE on, the
 * backend is SPICE's, as in Ganeti.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, PC_SLOTS, planDevices, renderArgv } from '../../lib/index.js'
import { freePort, makeImage, pciSlots, qemuPath, qemuSuite, qemuVersion, qomGet, tempDir, withQemu } from './harness.js'

const test = qemuSuite('sound')

const right = <A>(e: E.Either<Parameters<typeof formatError>[0], A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const CARD_TYPE = { hda: 'intel-hda', ac97: 'AC97', es1370: 'ES1370' } as const

for (const [model, spice] of [['hda', false], ['ac97', false], ['es1370', false], ['hda', true]] as const) {
  test(`soundhw ${model}${spice ? ' with SPICE' : ''}: the card at the sound slot, its backend ${spice ? 'spice' : 'none'}, nothing on stderr`, async () => {
    const tmp = await tempDir()
    try {
      const port = spice ? await freePort('127.0.0.1') : 0
      const disk = await makeImage(tmp.path, 'root.img', 'raw')
      const inst = right(
        decodeInstance({
          name: 'sound1',
          uuid: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
          memory: 64,
          network_port: port,
          hvparams: { kvm_path: qemuPath(), soundhw: model, ...(spice ? { spice_bind: '127.0.0.1' } : {}) },
          disks: [{ uuid: '7b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e', path: disk }]
        })
      )
      const tree = right(planDevices(inst, { qemu: qemuVersion }))
      const argv = renderArgv(tree, { qmpSocket: `${tmp.path}/qmp.sock`, accel: 'tcg' })
      await withQemu(argv, async (vm) => {
        const card = (await pciSlots(vm)).find((s) => s.qdev_id === 'sound0')
        assert.equal([card?.slot, card?.function], [PC_SLOTS.sound, 0], 'sound0 in query-pci')
        assert.is(await qomGet(vm, '/machine/peripheral/sound0', 'type'), CARD_TYPE[model])
        const backend = model === 'hda' ? '/machine/peripheral/sound0-codec0' : '/machine/peripheral/sound0'
        assert.is(await qomGet(vm, backend, 'audiodev'), 'audio0')
        if (model === 'hda') {
          assert.is(await qomGet(vm, backend, 'cad'), 0)
          const parent = await qomGet(vm, backend, 'parent_bus')
          assert.ok(typeof parent === 'string' && parent.endsWith('/sound0.0'), `codec parent_bus ${String(parent)}`)
        }
        // The backend's driver, as QEMU reports it.
        const info = await vm.qmp.executeOk('human-monitor-command', { 'command-line': 'info qtree' })
        assert.ok(typeof info === 'string' && info.includes('audiodev = "audio0"'), 'info qtree names the audiodev')
        assert.is(vm.stderr(), '', 'stderr')
      }, { dir: tmp.path })
    } finally {
      await tmp.cleanup()
    }
  })
}

test('the ISA sound devices and the PC speaker are refused, naming hvparams.soundhw', () => {
  for (const isa of ['sb16', 'gus', 'cs4231a', 'adlib', 'pcspk']) {
    const r = decodeInstance({ name: 'sound2', uuid: '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e', memory: 64, hvparams: { soundhw: isa } })
    assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors[0]?.path === 'hvparams.soundhw' && r.left.errors[0].value === isa, JSON.stringify(r))
  }
})

test.run()
