/**
 * SPICE from Ganeti's spice_* hvparams: decoding (each rejection names the field and the value),
 * Ganeti's cross-field checks, the host facts it needs (interfaces, the certificate directory),
 * and the rendered `-spice`, `-chardev spicevmc` and the devices (qxl, the one virtio-serial).
 * Expected values are written from DOMAIN §10 and Ganeti 3.1.1's hv_kvm, never computed by the
 * code under test. spec/qemu/spice.spec.ts has QEMU judge the same argv.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, planDevices, renderArgv, type DeviceTree, type DevplanError, type FieldError, type Instance, type TargetInput } from '../lib/index.js'
import { decodeOk, devicesOf, fail, optionValues, parseKeyval, spec, type Json, type JsonObj } from './support/fixtures.js'

const SOCKET = '/run/ganeti/kvm-hypervisor/ctrl/vm1.example.com.qmp'

/** A spec with SPICE on 192.0.2.10 and network port 11000, plus `hv`. */
const spiceSpec = (hv: JsonObj = {}, extra: JsonObj = {}): JsonObj => spec({ spice_bind: '192.0.2.10', ...hv }, 1, 0, { network_port: 11000, ...extra })

type Host = { readonly spiceCertDir?: string; readonly interfaces?: Readonly<Record<string, string>> }

const target = (host?: Host, qemu = '7.2'): TargetInput => (host === undefined ? { qemu } : { qemu, host })

const planned = (input: unknown, host?: Host, qemu = '7.2'): E.Either<DevplanError, DeviceTree> =>
  E.chain((i: Instance) => planDevices(i, target(host, qemu)))(decodeInstance(input))

const tree = (input: unknown, host?: Host, qemu = '7.2'): DeviceTree => {
  const r = planned(input, host, qemu)
  return E.isLeft(r) ? fail(`expected a plan, got ${formatError(r.left)}`) : r.right
}

const argvOf = (input: unknown, host?: Host, qemu = '7.2'): ReadonlyArray<string> => renderArgv(tree(input, host, qemu), { qmpSocket: SOCKET })

/** The one -spice value. */
const spiceValue = (argv: ReadonlyArray<string>): string => {
  const values = optionValues(argv, '-spice')
  assert.is(values.length, 1, `one -spice in ${JSON.stringify(argv)}`)
  return values[0] ?? ''
}

const fieldErrors = (e: E.Either<DevplanError, unknown>): ReadonlyArray<FieldError> => {
  if (E.isRight(e)) return fail('expected InvalidInput, got a Right')
  return e.left._tag === 'InvalidInput' ? e.left.errors : fail(`expected InvalidInput, got ${e.left._tag}`)
}

/** The rejection has an error at `path` whose value is `value`, and its text shows both. */
const rejectsAt = (e: E.Either<DevplanError, unknown>, path: string, value: Json): void => {
  const errors = fieldErrors(e)
  const hit = errors.find((x) => x.path === path)
  assert.ok(hit !== undefined, `no error at ${path} in ${JSON.stringify(errors)}`)
  assert.equal(hit?.value, value, `the value at ${path}`)
  if (E.isLeft(e)) {
    const line = formatError(e.left).split('\n').find((l) => l.startsWith(`${path}: `)) ?? ''
    assert.ok(line.includes(JSON.stringify(value)), `the line for ${path} shows ${JSON.stringify(value)}: ${line}`)
  }
}

/** Elements of a key=value option, split on single commas only (`,,` is an escaped comma). */
const elements = (value: string): ReadonlyArray<string> => value.replace(/,,/g, '\u0000').split(',').map((p) => p.replace(/\u0000/g, ',,'))

// ---------------------------------------------------------------------------------------------
// Decoding

test('the spice_* hvparams take Ganeti 3.1.1\'s defaults, and are modelled (no NotModelled warning)', () => {
  const h = decodeOk(spec()).hvparams
  assert.is(h.spice_bind, '')
  assert.is(h.spice_ip_version, 0)
  assert.is(h.spice_password_file, '')
  assert.is(h.spice_image_compression, '')
  assert.is(h.spice_jpeg_wan_compression, '')
  assert.is(h.spice_zlib_glz_wan_compression, '')
  assert.is(h.spice_streaming_video, '')
  assert.is(h.spice_playback_compression, true)
  assert.is(h.spice_use_tls, false)
  assert.is(h.spice_tls_ciphers, 'HIGH:-DES:-3DES:-EXPORT:-DH')
  assert.is(h.spice_use_vdagent, true)
  const inst = decodeOk(spiceSpec({ spice_image_compression: 'glz', spice_use_vdagent: false }))
  assert.equal(inst.unmodelled, [])
  assert.equal(tree(spiceSpec({ spice_image_compression: 'glz' })).warnings, [])
})

test('every value Ganeti allows decodes', () => {
  for (const v of ['auto_glz', 'auto_lz', 'glz', 'lz', 'off', 'quic']) decodeOk(spiceSpec({ spice_image_compression: v }))
  for (const v of ['always', 'auto', 'never']) decodeOk(spiceSpec({ spice_jpeg_wan_compression: v, spice_zlib_glz_wan_compression: v }))
  for (const v of ['all', 'filter', 'off']) decodeOk(spiceSpec({ spice_streaming_video: v }))
  for (const [bind, version] of [['0.0.0.0', 4], ['::', 6], ['2001:db8::1', 6], ['::ffff:192.0.2.1', 6], ['eth0', 0], ['br-lan.10', 6]] as const) {
    decodeOk(spiceSpec({ spice_bind: bind, spice_ip_version: version }))
  }
})

test('bad spice_* values are refused, each naming the field and the value', () => {
  const cases: ReadonlyArray<readonly [string, Json]> = [
    ['spice_bind', '300.1.1.1'],
    ['spice_bind', '1.2.3'],
    ['spice_bind', 'fe80::1%eth0'],
    ['spice_bind', '1:2:3:4:5:6:7:8:9'],
    ['spice_bind', 'eth0/1'],
    ['spice_bind', 'an-interface-name-too-long'],
    ['spice_bind', 7],
    ['spice_ip_version', 5],
    ['spice_ip_version', '4'],
    ['spice_password_file', 'relative/file'],
    ['spice_image_compression', 'zip'],
    ['spice_jpeg_wan_compression', 'sometimes'],
    ['spice_zlib_glz_wan_compression', 'on'],
    ['spice_streaming_video', 'none'],
    ['spice_playback_compression', 'off'],
    ['spice_use_tls', 1],
    ['spice_tls_ciphers', 'HIGH;reboot'],
    ['spice_use_vdagent', 'yes']
  ]
  for (const [k, v] of cases) rejectsAt(decodeInstance(spiceSpec({ [k]: v })), `hvparams.${k}`, v)
})

test('Ganeti\'s check_spice_parameters: the other spice_* need spice_bind; the three with a set default do not', () => {
  const needBind: ReadonlyArray<readonly [string, Json]> = [
    ['spice_ip_version', 4],
    ['spice_password_file', '/etc/ganeti/spice-password'],
    ['spice_image_compression', 'lz'],
    ['spice_jpeg_wan_compression', 'auto'],
    ['spice_zlib_glz_wan_compression', 'never'],
    ['spice_streaming_video', 'all'],
    ['spice_use_tls', true]
  ]
  for (const [k, v] of needBind) {
    const r = decodeInstance(spec({ [k]: v }))
    rejectsAt(r, `hvparams.${k}`, v)
    assert.match(fieldErrors(r).find((x) => x.path === `hvparams.${k}`)?.message ?? '', 'spice_bind')
  }
  // A Ganeti cluster fills these in for every instance, SPICE or not.
  decodeOk(spec({ spice_playback_compression: false, spice_tls_ciphers: 'DEFAULT', spice_use_vdagent: false }))
})

test('Ganeti\'s validate_spice_parameters: SPICE and VNC together are refused at spice_bind', () => {
  const r = decodeInstance(spiceSpec({ vnc_bind_address: '0.0.0.0' }, { network_port: 5901 }))
  rejectsAt(r, 'hvparams.spice_bind', '192.0.2.10')
  assert.match(fieldErrors(r)[0]?.message ?? '', 'VNC')
})

test('an address must be of spice_ip_version\'s family', () => {
  rejectsAt(decodeInstance(spiceSpec({ spice_bind: '192.0.2.10', spice_ip_version: 6 })), 'hvparams.spice_ip_version', 6)
  rejectsAt(decodeInstance(spiceSpec({ spice_bind: '2001:db8::1', spice_ip_version: 4 })), 'hvparams.spice_ip_version', 4)
})

test('SPICE needs the instance\'s network_port (QEMU would start it listening nowhere)', () => {
  rejectsAt(decodeInstance(spiceSpec({}, { network_port: 0 })), 'network_port', 0)
  rejectsAt(decodeInstance(spiceSpec({ spice_use_tls: true }, { network_port: 0 })), 'network_port', 0)
})

// ---------------------------------------------------------------------------------------------
// Host facts

test('an interface name needs its address in target.host.interfaces', () => {
  rejectsAt(planned(spiceSpec({ spice_bind: 'eth0' })), 'hvparams.spice_bind', 'eth0')
  rejectsAt(planned(spiceSpec({ spice_bind: 'eth0' }), { interfaces: { eth1: '192.0.2.1' } }), 'hvparams.spice_bind', 'eth0')
  // Only the host's own entries count, never what every object inherits.
  rejectsAt(planned(spiceSpec({ spice_bind: 'constructor' }), { interfaces: {} }), 'hvparams.spice_bind', 'constructor')
})

test('an interface\'s address must be of spice_ip_version\'s family', () => {
  rejectsAt(planned(spiceSpec({ spice_bind: 'eth0', spice_ip_version: 4 }), { interfaces: { eth0: '2001:db8::7' } }), 'hvparams.spice_ip_version', 4)
  rejectsAt(planned(spiceSpec({ spice_bind: 'eth0', spice_ip_version: 6 }), { interfaces: { eth0: '198.51.100.7' } }), 'hvparams.spice_ip_version', 6)
})

test('target.host.interfaces is shape-checked: names and addresses, each error at its entry', () => {
  const r = planned(spiceSpec({ spice_bind: 'eth0' }), { interfaces: { eth0: 'not-an-ip', '1.2': '192.0.2.1' } })
  rejectsAt(r, 'target.host.interfaces.eth0', 'not-an-ip')
  rejectsAt(r, 'target.host.interfaces.1.2', '1.2')
})

test('spice_use_tls needs target.host.spiceCertDir', () => {
  rejectsAt(planned(spiceSpec({ spice_use_tls: true })), 'target.host.spiceCertDir', '')
  rejectsAt(planned(spiceSpec({ spice_use_tls: true }), { spiceCertDir: 'relative' }), 'target.host.spiceCertDir', 'relative')
})

// ---------------------------------------------------------------------------------------------
// Rendering

test('SPICE on an address: -spice addr,port=network_port,disable-ticketing=on; the vdagent\'s chardev; qxl at 0x2, virtio-serial at 0x5', () => {
  const argv = argvOf(spiceSpec())
  assert.is(spiceValue(argv), 'addr=192.0.2.10,port=11000,disable-ticketing=on')
  assert.equal(optionValues(argv, '-chardev').filter((v) => v.startsWith('spicevmc')), ['spicevmc,id=spicechannel0,name=vdagent'])
  const devices = devicesOf(argv)
  assert.equal(devices.find((d) => d['id'] === 'vga0'), { driver: 'qxl-vga', id: 'vga0', bus: 'pci.0', addr: '0x2' })
  assert.equal(devices.filter((d) => d['driver'] === 'virtio-serial-pci'), [{ driver: 'virtio-serial-pci', id: 'vserial0', bus: 'pci.0', addr: '0x5' }])
  assert.equal(devices.filter((d) => d['driver'] === 'virtserialport'), [
    { driver: 'virtserialport', id: 'vdagent0', bus: 'vserial0.0', nr: 2, chardev: 'spicechannel0', name: 'com.redhat.spice.0' }
  ])
  // Ganeti adds a tablet for VNC only.
  assert.not.ok(devices.some((d) => d['driver'] === 'usb-tablet' || d['driver'] === 'piix3-usb-uhci'))
})

test('the guest agent and the vdagent share ONE virtio-serial, each port with its own nr; either alone keeps its nr', () => {
  const both = devicesOf(argvOf(spiceSpec({ use_guest_agent: true })))
  assert.is(both.filter((d) => d['driver'] === 'virtio-serial-pci').length, 1)
  const ports = both.filter((d) => d['driver'] === 'virtserialport').map((d) => `${String(d['id'])} nr=${String(d['nr'])} on ${String(d['bus'])}`)
  assert.equal(ports.sort(), ['qga0 nr=1 on vserial0.0', 'vdagent0 nr=2 on vserial0.0'])
  const qgaOnly = devicesOf(argvOf(spiceSpec({ use_guest_agent: true, spice_use_vdagent: false })))
  assert.equal(qgaOnly.filter((d) => d['driver'] === 'virtserialport').map((d) => [d['id'], d['nr']]), [['qga0', 1]])
  assert.equal(qgaOnly.find((d) => d['driver'] === 'virtio-serial-pci')?.['addr'], '0x5')
})

test('spice_use_vdagent false: agent-mouse=off, no spicevmc, no virtio-serial', () => {
  const argv = argvOf(spiceSpec({ spice_use_vdagent: false }))
  assert.is(spiceValue(argv), 'addr=192.0.2.10,port=11000,disable-ticketing=on,agent-mouse=off')
  assert.not.ok(optionValues(argv, '-chardev').some((v) => v.startsWith('spicevmc')))
  assert.not.ok(devicesOf(argv).some((d) => d['driver'] === 'virtio-serial-pci' || d['driver'] === 'virtserialport'))
})

test('a password file: no disable-ticketing, and neither the file nor a password in argv', () => {
  const argv = argvOf(spiceSpec({ spice_password_file: '/etc/ganeti/spice-password' }))
  assert.is(spiceValue(argv), 'addr=192.0.2.10,port=11000')
  assert.not.ok(argv.some((w) => w.includes('spice-password') || w.includes('password=')))
  assert.is(tree(spiceSpec({ spice_password_file: '/etc/ganeti/spice-password' })).machineOptions.spice?.password, true)
})

test('TLS, as Ganeti: tls-port=network_port and no plain port, Ganeti\'s file names in the certificate directory, tls-ciphers', () => {
  const argv = argvOf(spiceSpec({ spice_use_tls: true }), { spiceCertDir: '/var/lib/ganeti' })
  assert.is(
    spiceValue(argv),
    'addr=192.0.2.10,tls-port=11000,x509-cacert-file=/var/lib/ganeti/spice-ca.pem,x509-key-file=/var/lib/ganeti/spice.pem,' +
      'x509-cert-file=/var/lib/ganeti/spice.pem,tls-ciphers=HIGH:-DES:-3DES:-EXPORT:-DH,disable-ticketing=on'
  )
  // Ganeti leaves tls-ciphers out when the list is empty; a trailing / is not doubled.
  const bare = spiceValue(argvOf(spiceSpec({ spice_use_tls: true, spice_tls_ciphers: '' }), { spiceCertDir: '/srv/certs/' }))
  assert.is(bare, 'addr=192.0.2.10,tls-port=11000,x509-cacert-file=/srv/certs/spice-ca.pem,x509-key-file=/srv/certs/spice.pem,x509-cert-file=/srv/certs/spice.pem,disable-ticketing=on')
  // Without TLS the cipher list is not used.
  assert.not.ok(spiceValue(argvOf(spiceSpec({ spice_tls_ciphers: 'DEFAULT' }))).includes('tls-ciphers'))
})

test('ipvN=on: from spice_ip_version on an address, from the address\'s family on an interface; none for 0 on an address', () => {
  assert.is(spiceValue(argvOf(spiceSpec({ spice_ip_version: 4 }))), 'addr=192.0.2.10,port=11000,disable-ticketing=on,ipv4=on')
  assert.is(spiceValue(argvOf(spiceSpec({ spice_bind: '2001:db8::1', spice_ip_version: 6 }))), 'addr=2001:db8::1,port=11000,disable-ticketing=on,ipv6=on')
  assert.is(spiceValue(argvOf(spiceSpec({ spice_bind: '2001:db8::1' }))), 'addr=2001:db8::1,port=11000,disable-ticketing=on')
  assert.is(spiceValue(argvOf(spiceSpec({ spice_bind: 'eth0' }), { interfaces: { eth0: '2001:db8::7' } })), 'addr=2001:db8::7,port=11000,disable-ticketing=on,ipv6=on')
  assert.is(spiceValue(argvOf(spiceSpec({ spice_bind: 'br0', spice_ip_version: 4 }), { interfaces: { br0: '198.51.100.7' } })), 'addr=198.51.100.7,port=11000,disable-ticketing=on,ipv4=on')
})

test('the compression and streaming options, then playback-compression=off, in Ganeti\'s order', () => {
  const v = spiceValue(
    argvOf(
      spiceSpec({
        spice_image_compression: 'auto_glz',
        spice_jpeg_wan_compression: 'never',
        spice_zlib_glz_wan_compression: 'always',
        spice_streaming_video: 'filter',
        spice_playback_compression: false,
        spice_use_vdagent: false
      })
    )
  )
  assert.is(v, 'addr=192.0.2.10,port=11000,disable-ticketing=on,image-compression=auto_glz,jpeg-wan-compression=never,zlib-glz-wan-compression=always,streaming-video=filter,playback-compression=off,agent-mouse=off')
})

test('booleans are always key=on|off and strings stay one value: commas doubled, read back unchanged', () => {
  const argv = argvOf(spiceSpec({ spice_use_tls: true, spice_ip_version: 4, spice_tls_ciphers: 'HIGH,!aNULL', spice_playback_compression: false, spice_use_vdagent: false }), {
    spiceCertDir: '/srv/gan,eti=x'
  })
  const v = spiceValue(argv)
  for (const e of elements(v)) assert.ok(e.includes('='), `${e} is key=value in ${v}`)
  const pairs = new Map(parseKeyval(v))
  assert.is(pairs.get('tls-ciphers'), 'HIGH,!aNULL')
  assert.is(pairs.get('x509-cacert-file'), '/srv/gan,eti=x/spice-ca.pem')
  assert.is(pairs.get('x509-key-file'), '/srv/gan,eti=x/spice.pem')
  assert.is(pairs.get('disable-ticketing'), 'on')
  assert.is(pairs.get('ipv4'), 'on')
  assert.is(pairs.get('playback-compression'), 'off')
  assert.is(pairs.get('agent-mouse'), 'off')
  assert.is(pairs.size, elements(v).length, 'no value added an option')
})

test('vga with SPICE, as Ganeti: "" gives qxl, a set vga wins, none gives no display device', () => {
  const vgaOf = (vga: string): Json | undefined => devicesOf(argvOf(spiceSpec({ vga }))).find((d) => d['id'] === 'vga0')?.['driver']
  assert.is(vgaOf(''), 'qxl-vga')
  assert.is(vgaOf('qxl'), 'qxl-vga')
  assert.is(vgaOf('std'), 'VGA')
  assert.is(vgaOf('cirrus'), 'cirrus-vga')
  assert.is(vgaOf('none'), undefined)
  // And without SPICE or VNC, "" still has no display.
  assert.not.ok(devicesOf(renderArgv(tree(spec()), { qmpSocket: SOCKET })).some((d) => d['id'] === 'vga0'))
})

test('the same -spice for a key=value target (6.0), and the devices at the same places', () => {
  const old = argvOf(spiceSpec({ use_guest_agent: true }), undefined, '6.0')
  assert.is(spiceValue(old), 'addr=192.0.2.10,port=11000,disable-ticketing=on')
  const places = (argv: ReadonlyArray<string>): ReadonlyArray<string> => devicesOf(argv).map((d) => `${String(d['id'])}@${String(d['bus'])}/${String(d['addr'] ?? d['nr'])}`)
  assert.equal(places(old), places(argvOf(spiceSpec({ use_guest_agent: true }))))
  assert.ok(optionValues(old, '-device').some((v) => v.startsWith('driver=virtserialport,id=vdagent0,bus=vserial0.0,nr=2,')), JSON.stringify(optionValues(old, '-device')))
})

test.run()
