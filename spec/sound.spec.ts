/**
 * soundhw: each PCI card at pc's sound slot (0x3, where QEMU's own `-audio` lands), the HDA codec
 * at address 0 of its card's bus, an explicit `-audiodev` (`none`, or `spice` with SPICE on, as
 * Ganeti), and the ISA cards refused by name. Expected values are written from DOMAIN §10;
 * spec/qemu/sound.spec.ts has QEMU judge the same argv.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, renderArgv } from '../lib/index.js'
import { devicesOf, optionValues, planOk, spec } from './support/fixtures.js'

const argvOf = (hv: Record<string, string>, extra = {}): ReadonlyArray<string> => renderArgv(planOk(spec(hv, 1, 0, extra)), { qmpSocket: '/run/vm1.qmp', accel: 'tcg' })

test('hda: intel-hda at 0x3, hda-duplex at cad 0 on sound0.0 playing to audio0, -audiodev none', () => {
  const argv = argvOf({ soundhw: 'hda' })
  const devs = devicesOf(argv)
  assert.equal(devs.find((d) => d['id'] === 'sound0'), { driver: 'intel-hda', id: 'sound0', bus: 'pci.0', addr: '0x3' })
  assert.equal(devs.find((d) => d['id'] === 'sound0-codec0'), { driver: 'hda-duplex', id: 'sound0-codec0', bus: 'sound0.0', cad: 0, audiodev: 'audio0' })
  assert.equal(optionValues(argv, '-audiodev'), ['none,id=audio0'])
  assert.not.ok(argv.includes('-audio') || argv.includes('-soundhw'), 'no -audio, which cannot be placed')
})

test('ac97 and es1370: the card at 0x3 with the audiodev itself', () => {
  for (const [model, driver] of [['ac97', 'AC97'], ['es1370', 'ES1370']] as const) {
    const devs = devicesOf(argvOf({ soundhw: model }))
    assert.equal(devs.find((d) => d['id'] === 'sound0'), { driver, id: 'sound0', bus: 'pci.0', addr: '0x3', audiodev: 'audio0' }, model)
  }
})

test('with SPICE the backend is spice; without soundhw there is no sound device and no -audiodev', () => {
  assert.equal(optionValues(argvOf({ soundhw: 'hda', spice_bind: '192.0.2.10' }, { network_port: 11000 }), '-audiodev'), ['spice,id=audio0'])
  const quiet = argvOf({})
  assert.equal(optionValues(quiet, '-audiodev'), [])
  assert.not.ok(devicesOf(quiet).some((d) => String(d['id']).startsWith('sound')))
})

test('the sound slot is kept when there is no card, so adding one later moves nothing', () => {
  const cd = { boot_order: 'cdrom', cdrom_image_path: '/srv/a.iso', cdrom_disk_type: 'paravirtual' }
  const slotOf = (hv: Record<string, string>): unknown => {
    const c = planOk(spec(hv, 0, 0)).cdroms[0]
    return c?.address._tag === 'pci' ? c.address.slot : undefined
  }
  // The virtio CD-ROM takes the lowest free slot, as QEMU would: never the sound slot.
  assert.is(slotOf(cd), slotOf({ ...cd, soundhw: 'hda' }))
  assert.is.not(slotOf(cd), 0x3)
})

test('soundhw values outside the PCI cards are refused, naming the field and the value', () => {
  for (const bad of ['sb16', 'gus', 'cs4231a', 'adlib', 'pcspk', 'hda,ac97', 'HDA']) {
    const d = decodeInstance(spec({ soundhw: bad }))
    assert.ok(E.isLeft(d) && d.left._tag === 'InvalidInput' && d.left.errors.some((e) => e.path === 'hvparams.soundhw' && e.value === bad), `${bad}: ${JSON.stringify(d)}`)
  }
})

test.run()
