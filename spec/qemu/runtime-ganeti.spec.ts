/**
 * A runtime file as Ganeti 3.0/3.1 writes it, against the real QEMU of this pass (7.2 and 10.0):
 * `-m` a JSON number, and every old form Ganeti puts in kvm_cmd that current QEMUs refuse
 * (`-balloon`, `-localtime`, `-soundhw`, `-no-acpi` on 10.0, the pre-2.5 `-vnc …,tls,x509verify=`)
 * or warn about (`password`, `server,nowait` of `-chardev`). Parsed, upgraded, rebuilt with
 * runtimeArgv and started: QEMU must come up with nothing on stderr, and every device the old
 * forms meant must be there.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as assert from 'uvu/assert'
import { encodeRuntime, parseRuntime, runtimeArgv } from '../../lib/index.js'
import { right } from '../support/either.js'
import { makeImage, peripheral, pciSlots, qemuPath, qemuSuite, qemuVersion, qomGet, tempDir, withQemu } from './harness.js'

const test = qemuSuite('runtime: a Ganeti-written kvm_cmd (qemu)')
const execFileP = promisify(execFile)

const DISK0 = '9f5c5bd4-2c1e-4f7a-8b6d-3e2f1a0b9c8d'

/** A CA and a server certificate in `dir`, the files tls-creds-x509 reads (Ganeti's vnc_x509_path). */
const writePki = async (dir: string): Promise<void> => {
  const ssl = (args: string[]) => execFileP('openssl', args, { cwd: dir })
  await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca-cert.pem', '-days', '2', '-subj', '/CN=ca'])
  await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=vm'])
  await ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server-cert.pem', '-days', '2'])
}

/**
 * kvm_cmd in the order Ganeti's `_GenerateKVMRuntime` writes it, with the forms of 2.x that a
 * 3.0 cluster still carries in the runtimes of instances started before its upgrade (`-balloon`,
 * `-localtime`, `-vnc …,tls,x509verify=`). `-daemonize` is left out: the harness is QEMU's
 * parent. The display is picked per process so that two passes never share a port.
 */
const ganetiFile = (dir: string, pki: string, disk: string, display: number): unknown[] => [
  [
    qemuPath(), '-name', 'legacy3.example.com', '-m', 64, '-smp', 1, '-pidfile', join(dir, 'pid'),
    '-soundhw', 'hda', '-balloon', 'virtio', '-D', join(dir, 'qemu.log'), '-no-acpi', '-machine', 'pc,accel=tcg',
    '-monitor', `unix:${join(dir, 'mon')},server,nowait`, '-serial', `unix:${join(dir, 'serial')},server,nowait`,
    '-usbdevice', 'tablet', '-vnc', `127.0.0.1:${display},tls,x509verify=${pki},password`, '-localtime',
    '-uuid', '0b1d5c3e-8a2f-4e6d-9c7b-5a4f3e2d1c0b',
    '-chardev', `socket,path=${join(dir, 'qga')},server,nowait,id=qga0`, '-device', 'virtio-serial,id=qga0,bus=pci.0,addr=0xc',
    '-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0'
  ],
  [],
  { kvm_path: qemuPath(), acpi: false, boot_order: 'disk', disk_type: 'paravirtual', nic_type: 'paravirtual', disk_cache: 'default', use_localtime: true, soundhw: 'hda', kernel_path: '', vnc_bind_address: '127.0.0.1', vnc_tls: true, vnc_x509_path: pki, vnc_x509_verify: true, usb_mouse: '' },
  [[{ dev_type: 'file', logical_id: ['loop', disk], iv_name: 'disk/0', size: 1, mode: 'rw', params: {}, uuid: DISK0, hvinfo: { driver: 'virtio-blk-pci', id: 'disk-9f5c5bd4-2c1e-4f7a', bus: 'pci.0', addr: '0x5' } }, disk, null]]
]

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
const list = (u: unknown): ReadonlyArray<Record<string, unknown>> => (Array.isArray(u) ? u.filter(isRecord) : [])

test('parsed, upgraded, rebuilt and started: QEMU comes up silent, with every device the old forms meant', async () => {
  const tmp = await tempDir()
  try {
    const pki = join(tmp.path, 'pki')
    await execFileP('mkdir', [pki])
    await writePki(pki)
    const disk = await makeImage(tmp.path, 'disk0.raw', 'raw')
    const display = 100 + (process.pid % 800)
    const file = ganetiFile(tmp.path, pki, disk, display)
    const rt = right(parseRuntime(JSON.stringify(file)), 'parseRuntime')
    // The number stays a number in the runtime and in the file written back.
    assert.is(rt.cmd[rt.cmd.indexOf('-m') + 1], 64)
    assert.is(JSON.stringify(encodeRuntime(rt)[0]).includes('"-m",64,"-smp",1,'), true)
    const argv = right(runtimeArgv(rt, { qemu: qemuVersion }), 'runtimeArgv')
    assert.is(argv[argv.indexOf('-m') + 1], '64')
    for (const old of ['-soundhw', '-balloon', '-localtime', '-no-acpi', '-usbdevice']) assert.not.ok(argv.includes(old), `${old} left in ${argv.join(' ')}`)
    await withQemu(
      argv,
      async (vm) => {
        // -m 64 reached QEMU as 64 MiB.
        const mem = (await vm.qmp.executeOk('query-memory-size-summary')) as Record<string, unknown>
        assert.is(mem['base-memory'], 64 * 1024 * 1024)
        // -balloon virtio → a virtio-balloon device that answers.
        const balloon = (await vm.qmp.executeOk('query-balloon')) as Record<string, unknown>
        assert.is(balloon['actual'], 64 * 1024 * 1024)
        // -usbdevice tablet → an absolute pointer on the USB bus.
        const mice = list(await vm.qmp.executeOk('query-mice'))
        assert.ok(mice.some((m) => m['name'] === 'QEMU HID Tablet' && m['absolute'] === true), JSON.stringify(mice))
        // -vnc …,tls,x509verify=DIR,password → x509 credentials that verify the client, and a password.
        const vnc = (await vm.qmp.executeOk('query-vnc')) as Record<string, unknown>
        assert.is(vnc['enabled'], true)
        assert.is(vnc['service'], String(5900 + display))
        assert.is(vnc['auth'], 'vencrypt+x509+vnc')
        assert.is(await qomGet(vm, '/objects/vnctls0', 'verify-peer'), true)
        await vm.qmp.executeOk('set_password', { protocol: 'vnc', password: 'secret' })
        // -serial / -monitor / -chardev socket with server,nowait → listening sockets.
        const chardevs = list(await vm.qmp.executeOk('query-chardev'))
        const filename = (label: string): unknown => chardevs.find((c) => c['label'] === label)?.['filename']
        assert.is(filename('serial0'), `disconnected:unix:${join(tmp.path, 'serial')},server=on`)
        assert.is(filename('qga0'), `disconnected:unix:${join(tmp.path, 'qga')},server=on`)
        assert.ok(chardevs.some((c) => c['filename'] === `disconnected:unix:${join(tmp.path, 'mon')},server=on`), JSON.stringify(chardevs))
        // -soundhw hda → an Intel HD Audio controller; -no-acpi → no ACPI; -localtime → the RTC on local time.
        const slots = await pciSlots(vm)
        const pci = list((list(await vm.qmp.executeOk('query-pci'))[0] ?? {})['devices'])
        assert.ok(pci.some((d) => isRecord(d['class_info']) && d['class_info']['desc'] === 'Audio controller'), JSON.stringify(slots))
        assert.is(await qomGet(vm, '/machine', 'acpi'), 'off')
        const rtc = (await qomGet(vm, '/machine', 'rtc-time')) as Record<string, unknown>
        const now = new Date()
        // Read a moment after start: the hour may just have turned.
        assert.ok([now.getHours(), (now.getHours() + 23) % 24].includes(Number(rtc['tm_hour'])), `the RTC starts at local time: ${JSON.stringify(rtc)}`)
        // The recorded disk and the guest agent port are where the runtime says.
        const devs = await peripheral(vm)
        assert.is(devs.get('disk-9f5c5bd4-2c1e-4f7a'), 'virtio-blk-pci')
        assert.is(devs.get('qga0'), 'virtio-serial-pci')
        assert.is(slots.find((s) => s.qdev_id === 'disk-9f5c5bd4-2c1e-4f7a')?.slot, 5)
        // Nothing on stderr: no refused option, no deprecation warning.
        assert.is(vm.stderr(), '')
      },
      { dir: tmp.path }
    )
  } finally {
    await tmp.cleanup()
  }
})

test.run()
