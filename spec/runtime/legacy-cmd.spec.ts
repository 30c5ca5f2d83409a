/**
 * kvm_cmd as Ganeti writes it: JSON numbers (`"-m", 512`) kept as numbers through decode and
 * encode and turned into decimal strings in every argv; malformed numbers refused with their
 * path; and the old option forms QEMU 7.2 and 10.0 refuse or warn about, rewritten by the
 * upgrade (the forms and their rewrites were measured on both binaries; see the runtime suite in
 * spec/qemu/runtime-ganeti.spec.ts for the start on the real QEMUs).
 */
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cmdArgv, decodeRuntime, encodeRuntime, parseRuntime, runtimeArgv, upgradeRuntime } from '../../lib/index.js'
import { decodeOk, legacyCmdArb, right, upgradeOk } from './support.js'
import { downgradeOk } from '../support/either.js'

const UUID = '932df160-7a22-4067-a566-7e0ca8386133'

test('a file with "-m", 512 encodes back byte for byte, the number a number in its place', () => {
  const text =
    '[["/usr/bin/kvm","-name","vm1","-m",512,"-smp",2,"-usb","-rtc","base=localtime","-device","virtio-balloon"],[],' +
    '{"disk_type":"paravirtual","kernel_path":""},' +
    `[[{"uuid":"${UUID}","hvinfo":{"driver":"virtio-blk-pci","id":"hotdisk-932df160-pci-5","addr":"0x5","bus":"pci.0"},"dev_type":"file","mode":"rw"},"/srv/d.img",null]]]`
  const rt = right(parseRuntime(text))
  assert.is(rt.cmd[4], 512)
  assert.is(rt.cmd[6], 2)
  assert.is(JSON.stringify(encodeRuntime(rt)), text)
})

test('property: any kvm_cmd of strings and integers survives decode → encode exactly', () => {
  // Words that name no option Ganeti's upgrade rewrites: nothing but the numbers is at stake.
  const word = fc.oneof(fc.string({ maxLength: 6 }).filter((w) => !w.startsWith('-') && !w.includes('\0')), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(0))
  fc.assert(
    fc.property(fc.array(word, { maxLength: 12 }), (words) => {
      const file = [['/usr/bin/kvm', '-m', ...words], [], {}, []]
      const text = JSON.stringify(file)
      assert.is(JSON.stringify(encodeRuntime(right(parseRuntime(text)))), text)
    }),
    { numRuns: 300 }
  )
})

test('the argv has the decimal strings: runtimeArgv and cmdArgv', () => {
  const rt = decodeOk([['/usr/bin/kvm', '-m', 512, '-smp', 4, '-name', '512'], [], {}, []])
  const argv = right(runtimeArgv(rt, { qemu: { major: 7, minor: 2, micro: 0 } }))
  assert.equal(argv.slice(0, 7), ['/usr/bin/kvm', '-m', '512', '-smp', '4', '-name', '512'])
  assert.ok(argv.every((w) => typeof w === 'string'))
  assert.equal(cmdArgv(rt.cmd), ['/usr/bin/kvm', '-m', '512', '-smp', '4', '-name', '512'])
  // A string stays a string: "512" is not turned into a number on the way back.
  assert.is(JSON.stringify(encodeRuntime(rt)[0]), '["/usr/bin/kvm","-m",512,"-smp",4,"-name","512"]')
})

const refused = (cmd: unknown[]): ReadonlyArray<{ path: string; value: unknown }> => {
  const r = decodeRuntime([cmd, [], {}, []])
  return E.isLeft(r) && r.left._tag === 'InvalidInput' ? r.left.errors.map((e) => ({ path: e.path, value: e.value })) : []
}

test('numbers that are not non-negative safe integers are refused, naming the index and the value', () => {
  for (const bad of [1.5, -1, 2 ** 53, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e300]) {
    const errors = refused(['kvm', '-m', bad])
    assert.is(errors.length, 1, `${String(bad)} refused`)
    assert.is(errors[0]?.path, 'cmd[2]')
    assert.ok(Object.is(errors[0]?.value, bad), `the value ${String(bad)} is named`)
  }
  const r = parseRuntime('[["kvm","-m",-512],[],{},[]]')
  assert.ok(E.isLeft(r) && r.left._tag === 'InvalidInput' && r.left.errors[0]?.path === 'cmd[2]' && r.left.errors[0].message.includes('non-negative integer'))
  assert.equal(refused(['kvm', null]).map((e) => e.path), ['cmd[1]'])
  assert.equal(refused(['kvm', '-m', 512, ['x']]).map((e) => e.path), ['cmd[3]'])
})

const cmdOf = (cmd: ReadonlyArray<string | number>, hv: Record<string, unknown> = {}): ReadonlyArray<string | number> => upgradeOk([cmd, [], hv, []])[0]

test('-usbdevice tablet|mouse|keyboard → -device usb-*, with -usb added when the command has none', () => {
  assert.equal(cmdOf(['kvm', '-usbdevice', 'tablet', '-m', 1]), ['kvm', '-usb', '-device', 'usb-tablet', '-m', 1])
  assert.equal(cmdOf(['kvm', '-usb', '-usbdevice', 'mouse']), ['kvm', '-usb', '-device', 'usb-mouse'])
  assert.equal(cmdOf(['kvm', '-usbdevice', 'tablet', '-usbdevice', 'keyboard']), ['kvm', '-usb', '-device', 'usb-tablet', '-device', 'usb-kbd'])
  // Devices from hvparams usb_devices that have no -device twin here stay as Ganeti wrote them.
  assert.equal(cmdOf(['kvm', '-usb', '-usbdevice', 'disk:/x.img']), ['kvm', '-usb', '-usbdevice', 'disk:/x.img'])
})

test('-vnc: Ganeti\'s TLS rewrite, then the short-form booleans as key=on; the display is never touched', () => {
  assert.equal(cmdOf(['kvm', '-vnc', '0.0.0.0:5901,tls,x509verify=/pki,password']), [
    'kvm', '-object', 'tls-creds-x509,id=vnctls0,endpoint=server,dir=/pki,verify-peer=yes', '-vnc', '0.0.0.0:5901,tls-creds=vnctls0,password=on'
  ])
  assert.equal(cmdOf(['kvm', '-object', 'tls-creds-anon,id=vnctls0,endpoint=server', '-vnc', ':1,tls-creds=vnctls0,password']), [
    'kvm', '-object', 'tls-creds-anon,id=vnctls0,endpoint=server', '-vnc', ':1,tls-creds=vnctls0,password=on'
  ])
  assert.equal(cmdOf(['kvm', '-vnc', 'unix:/run/vm1.vnc,password']), ['kvm', '-vnc', 'unix:/run/vm1.vnc,password=on'])
  assert.equal(cmdOf(['kvm', '-vnc', 'password']), ['kvm', '-vnc', 'password'])
})

test('socket chardevs: server,nowait → server=on,wait=off in -serial, -monitor and -chardev socket', () => {
  assert.equal(cmdOf(['kvm', '-serial', 'unix:/run/vm1.serial,server,nowait']), ['kvm', '-serial', 'unix:/run/vm1.serial,server=on,wait=off'])
  assert.equal(cmdOf(['kvm', '-monitor', 'unix:/run/vm1.monitor,server,nowait']), ['kvm', '-monitor', 'unix:/run/vm1.monitor,server=on,wait=off'])
  assert.equal(cmdOf(['kvm', '-chardev', 'socket,path=/run/vm1.qga,server,nowait,id=qga0']), ['kvm', '-chardev', 'socket,path=/run/vm1.qga,server=on,wait=off,id=qga0'])
  // ",," is a comma inside the path, not a separator.
  assert.equal(cmdOf(['kvm', '-serial', 'unix:/run/a,,server,server,nowait']), ['kvm', '-serial', 'unix:/run/a,,server,server=on,wait=off'])
  assert.equal(cmdOf(['kvm', '-serial', 'none', '-chardev', 'file,id=f,path=/x,server']), ['kvm', '-serial', 'none', '-chardev', 'file,id=f,path=/x,server'])
})

test('-spice: disable-ticketing and ipv4/ipv6 as key=on', () => {
  assert.equal(cmdOf(['kvm', '-spice', 'addr=10.0.0.1,port=11000,disable-ticketing,ipv4,playback-compression=off']), ['kvm', '-spice', 'addr=10.0.0.1,port=11000,disable-ticketing=on,ipv4=on,playback-compression=off'])
})

test('-soundhw → -audio driver=none,model=X; further cards and pcspk through -audiodev none; unknown cards left to QEMU', () => {
  assert.equal(cmdOf(['kvm', '-m', 512, '-soundhw', 'hda']), ['kvm', '-m', 512, '-audio', 'driver=none,model=hda'])
  assert.equal(cmdOf(['kvm', '-soundhw', 'ac97']), ['kvm', '-audio', 'driver=none,model=ac97'])
  assert.equal(cmdOf(['kvm', '-soundhw', 'hda,es1370,pcspk']), [
    'kvm', '-audio', 'driver=none,model=hda', '-audiodev', 'none,id=soundhw0', '-device', 'ES1370,audiodev=soundhw0', '-audiodev', 'none,id=soundhw1', '-machine', 'pcspk-audiodev=soundhw1'
  ])
  assert.equal(cmdOf(['kvm', '-soundhw', 'hda', '-soundhw', 'hda']), ['kvm', '-audio', 'driver=none,model=hda', '-audiodev', 'none,id=soundhw0', '-device', 'intel-hda', '-device', 'hda-duplex,audiodev=soundhw0'])
  assert.equal(cmdOf(['kvm', '-soundhw', 'all']), ['kvm', '-soundhw', 'all'])
  assert.equal(cmdOf(['kvm', '-soundhw', 'hda,bogus']), ['kvm', '-soundhw', 'hda,bogus'])
})

test('-no-acpi → -machine acpi=off; numbers and trailing flags stay in place', () => {
  assert.equal(cmdOf(['kvm', '-m', 512, '-no-acpi', '-machine', 'pc,accel=kvm']), ['kvm', '-m', 512, '-machine', 'acpi=off', '-machine', 'pc,accel=kvm'])
  assert.equal(cmdOf(['kvm', '-vnc', 5, '-usbdevice', 7, '-soundhw']), ['kvm', '-vnc', 5, '-usbdevice', 7, '-soundhw'])
})

/**
 * The old forms as Ganeti writes them, each option with its value (a flag standing as another
 * flag's value is no command line Ganeti writes, and each rewrite pairs only its own flag).
 */
const OLD: ReadonlyArray<ReadonlyArray<string | number>> = [
  ['-usbdevice', 'tablet'], ['-usbdevice', 'mouse'], ['-soundhw', 'hda'], ['-soundhw', 'ac97,pcspk'], ['-no-acpi'],
  ['-serial', 'unix:/s,server,nowait'], ['-monitor', 'unix:/m,server,nowait'], ['-chardev', 'socket,path=/q,server,nowait,id=qga0'],
  ['-spice', 'addr=::1,disable-ticketing,ipv6'], ['-vnc', ':1,tls,password'], ['-usb'], ['-audio', 'none'], ['-m', 512], ['-smp', 0]
]

/** The options that take a value, among the words generated here. */
const VALUE_FLAGS: ReadonlySet<string> = new Set(['-smp', '-usbdevice', '-soundhw', '-serial', '-monitor', '-chardev', '-spice', '-vnc', '-audio', '-audiodev', '-name', '-m', '-balloon', '-chroot', '-rtc', '-device', '-machine', '-object'])

test('property: the upgrade is idempotent with the old forms mixed in, and leaves none of them', () => {
  fc.assert(
    fc.property(legacyCmdArb, fc.array(fc.constantFrom(...OLD), { maxLength: 10 }), (cmd, old) => {
      // Each rewrite pairs only its own flag with the next word, as Ganeti's do: a command where
      // an option's value is itself a flag (`-name -vnc`) is read differently by QEMU, and no
      // Ganeti writes one. Such noise is left out.
      const all = [...cmd, ...old.flat()]
      fc.pre(!all.some((w, i) => typeof w === 'string' && VALUE_FLAGS.has(w) && String(all[i + 1] ?? '').startsWith('-')))
      const once = cmdOf(all)
      assert.equal(cmdOf(once), once)
      assert.not.ok(once.includes('-no-acpi'))
      // Walked as QEMU reads it, flag and value: no old form is left in a value the rewrites own.
      const SHORT: Record<string, ReadonlyArray<string>> = { '-vnc': ['password', 'tls'], '-serial': ['server', 'nowait'], '-chardev': ['server', 'nowait'], '-spice': ['disable-ticketing', 'ipv6'] }
      for (let i = 0; i < once.length; i++) {
        const w = once[i]
        const value = once[i + 1]
        if (typeof w !== 'string' || !VALUE_FLAGS.has(w) || value === undefined) continue
        i++
        if (w === '-usbdevice') assert.not.ok(value === 'tablet' || value === 'mouse', JSON.stringify(once))
        if (w === '-soundhw') assert.not.ok(value === 'hda' || value === 'ac97,pcspk', JSON.stringify(once))
        const shorts = SHORT[w]
        if (shorts === undefined || typeof value !== 'string') continue
        if (w === '-serial' && !value.startsWith('unix:')) continue
        if (w === '-chardev' && !value.startsWith('socket,')) continue
        const parts = value.split(',').slice(w === '-spice' ? 0 : 1)
        assert.not.ok(parts.some((p) => shorts.includes(p)), `${w} ${value} in ${JSON.stringify(once)}`)
      }
    }),
    { numRuns: 2000 }
  )
})

test('downgrade: a reader older than the rewrites is told what it loses (-soundhw); the other rewrites and the kept -chroot lose nothing', () => {
  const lost = (cmd: ReadonlyArray<string | number>, hv: Record<string, unknown>) => downgradeOk(decodeOk([cmd, [], hv, []]), { format: 'ganeti-2.16' }).lost
  assert.equal(lost(['kvm', '-m', 512, '-usbdevice', 'tablet', '-serial', 'unix:/s,server,nowait', '-vnc', ':1,password', '-no-acpi'], {}), [])
  const sound = lost(['kvm', '-soundhw', 'hda'], {})
  assert.equal(sound.map((l) => l.device), ['kvm_cmd'])
  assert.match(sound[0]?.reason ?? '', 'QEMU before 7.1')
  assert.equal(lost(['kvm', '-chroot', '/var/empty'], { use_chroot: true }), [])
  assert.equal(lost(['kvm', '-chroot', '/var/empty'], { use_chroot: false }), [])
  // A runtime this library recorded was rendered, not rewritten: nothing to report.
  const upgraded = right(upgradeRuntime([['kvm', '-soundhw', 'hda'], [], {}, []]))
  const stamped = decodeOk([upgraded[0], [], {}, [], { format: 1, writer: 'qemu-devplan/0.1.0', qemu: '7.2.0' }])
  assert.equal(downgradeOk(stamped, { format: 'ganeti-2.16' }).lost, [])
})

test.run()
