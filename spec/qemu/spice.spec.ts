/**
 * SPICE on a real QEMU: each instance must start with nothing on stderr, and QEMU must report
 * what the plan says. query-pci shows qxl and the one virtio-serial controller at their planned
 * slots; `info qtree` shows the guest agent's and the vdagent's ports on that one bus;
 * query-spice the planned host, port or TLS port, and auth `spice` with a password file or `none`
 * with disable-ticketing; `set_password {protocol: spice}` succeeds only in the first case;
 * query-chardev lists the vdagent's spicevmc. The TLS instance uses a throwaway CA and a server
 * certificate made with openssl, kept as Ganeti keeps them (`spice-ca.pem`, and `spice.pem`
 * holding key and certificate) in a directory whose name has a comma, and answers a TLS
 * handshake with that certificate on the TLS port.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { promisify } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, planDevices, renderArgv, type DeviceTree, type Instance } from '../../lib/index.js'
import { freePort, makeImage, pciSlots, peripheral, qemuPath, qemuSuite, qemuVersion, qomGet, tempDir, tryQemu, withQemu, type Vm } from './harness.js'

const execFileP = promisify(execFile)

const test = qemuSuite('SPICE')

const right = <A>(e: E.Either<Parameters<typeof formatError>[0], A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

const tcpConnects = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host, port })
    const timer = setTimeout(() => { s.destroy(); resolve(false) }, 5000)
    s.once('connect', () => { clearTimeout(timer); s.destroy(); resolve(true) })
    s.once('error', () => { clearTimeout(timer); resolve(false) })
  })

/** The subject CN of the certificate the TLS server on host:port presents. */
const tlsPeerCn = (host: string, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, rejectUnauthorized: false })
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no TLS handshake on ${host}:${port}`)) }, 5000)
    s.once('secureConnect', () => {
      clearTimeout(timer)
      const cn = s.getPeerCertificate().subject.CN
      s.end()
      resolve(Array.isArray(cn) ? cn.join(',') : String(cn))
    })
    s.once('error', (e) => { clearTimeout(timer); reject(e) })
  })

/** Every device with a PCI address at that slot and function, and nothing else there. */
const assertPci = async (vm: Vm, tree: DeviceTree): Promise<void> => {
  const planned = [...tree.controllers, ...tree.disks, ...tree.nics, ...tree.cdroms, ...tree.machineDevices].flatMap((d) => {
    if (d.address._tag !== 'pci') return []
    return [`${d.id} @ ${d.address.slot}.${d.address.function}`]
  })
  const seen = (await pciSlots(vm)).filter((s) => s.qdev_id !== '').map((s) => `${s.qdev_id} @ ${s.slot}.${s.function}`)
  assert.equal(seen.sort(), planned.sort(), 'query-pci bus 0')
}

/** `info qtree`: how many virtio-serial-pci there are, and the ports (id:nr) on bus `bus`. */
const qtreeSerial = async (vm: Vm, bus: string): Promise<{ readonly controllers: number; readonly ports: ReadonlyArray<string> }> => {
  const tree = await vm.qmp.executeOk('human-monitor-command', { 'command-line': 'info qtree' })
  assert.type(tree, 'string')
  const lines = String(tree).split('\n')
  const start = lines.findIndex((l) => l.trim() === `bus: ${bus}`)
  const indent = (l: string): number => l.length - l.trimStart().length
  const depth = indent(lines[start] ?? '')
  // The bus's block: the lines after it that are indented deeper.
  const after = start < 0 ? [] : lines.slice(start + 1)
  const end = after.findIndex((l) => indent(l) <= depth)
  const below = end < 0 ? after : after.slice(0, end)
  const ports: string[] = []
  for (const [i, l] of below.entries()) {
    const id = /dev: virtserialport, id "([^"]*)"/.exec(l)?.[1]
    const nr = below.slice(i + 1).find((n) => /^\s*nr = /.test(n))
    if (id !== undefined) ports.push(`${id}:${/nr = (\d+)/.exec(nr ?? '')?.[1] ?? '?'}`)
  }
  return { controllers: lines.filter((l) => /dev: virtio-serial-pci,/.test(l)).length, ports }
}

const chardevs = async (vm: Vm): Promise<Map<string, string>> => {
  const list = await vm.qmp.executeOk('query-chardev')
  return new Map((Array.isArray(list) ? list : []).flatMap((c: unknown) => (isRec(c) ? [[String(c['label']), String(c['filename'])] as const] : [])))
}

const instance = (disk: string, port: number, hvparams: Record<string, unknown>): unknown => ({
  name: 'spice1.example.com',
  uuid: '6c1d0f2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f',
  memory: 128,
  network_port: port,
  hvparams: { kvm_path: qemuPath(), ...hvparams },
  disks: [{ uuid: '7d2e1f3a-4b5c-4d6e-9f0a-1b2c3d4e5f6a', path: disk }]
})

const plan = (spec: unknown, host?: { readonly spiceCertDir?: string; readonly interfaces?: Readonly<Record<string, string>> }): DeviceTree =>
  right(E.chain((i: Instance) => planDevices(i, host === undefined ? { qemu: qemuVersion } : { qemu: qemuVersion, host: { chrootDir: '', poolUser: '', ...host } }))(decodeInstance(spec)))

/** Is ::1 configured here? Without it the interface case binds lo's IPv4 address instead. */
const hasIpv6Loopback = (): boolean => {
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001 '))
  } catch {
    return false
  }
}

test('SPICE with a password file, the vdagent and the guest agent: qxl and ONE virtio-serial with both ports, auth spice, set_password works', async () => {
  const tmp = await tempDir()
  try {
    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const port = await freePort('127.0.0.1')
    const tree = plan(instance(disk, port, { spice_bind: '127.0.0.1', spice_password_file: '/etc/ganeti/spice-password', use_guest_agent: true }))
    const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'spice1.qmp'), accel: 'tcg' })
    assert.ok(!argv.some((w) => w.includes('disable-ticketing')), 'a password file: no disable-ticketing')

    await withQemu(argv, async (vm) => {
      await assertPci(vm, tree)
      const devs = await peripheral(vm)
      assert.is(devs.get('vga0'), 'qxl-vga', 'SPICE with vga "" is qxl')
      assert.equal([...devs.values()].filter((t) => t === 'virtio-serial-pci'), ['virtio-serial-pci'], 'one virtio-serial controller')
      for (const id of ['qga0', 'vdagent0']) {
        const parent = await qomGet(vm, `/machine/peripheral/${id}`, 'parent_bus')
        assert.ok(typeof parent === 'string' && parent.endsWith('/vserial0.0'), `${id} on vserial0.0: ${String(parent)}`)
      }
      assert.is(await qomGet(vm, '/machine/peripheral/vdagent0', 'name'), 'com.redhat.spice.0')
      const qtree = await qtreeSerial(vm, 'vserial0.0')
      assert.is(qtree.controllers, 1, 'info qtree: one virtio-serial-pci')
      assert.equal([...qtree.ports].sort(), ['qga0:1', 'vdagent0:2'], 'info qtree: both ports on vserial0.0, each with its nr')

      const spice = await vm.qmp.executeOk('query-spice')
      assert.ok(isRec(spice), `query-spice: ${JSON.stringify(spice)}`)
      assert.is(spice['enabled'], true)
      assert.is(spice['host'], '127.0.0.1')
      assert.is(spice['port'], port)
      assert.is(spice['tls-port'], undefined, 'no TLS port without spice_use_tls')
      assert.is(spice['auth'], 'spice', 'a password file: ticketing on')
      assert.ok(await tcpConnects('127.0.0.1', port), `SPICE answers on ${port}`)
      await vm.qmp.executeOk('set_password', { protocol: 'spice', password: 'not-in-argv' })
      assert.not.ok(argv.some((w) => w.includes('not-in-argv')))

      assert.is((await chardevs(vm)).get('spicechannel0'), 'spicevmc', 'query-chardev lists the vdagent channel')
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('SPICE over TLS only, with Ganeti\'s spice.pem/spice-ca.pem in a directory with a comma: tls-port answers TLS, auth none, set_password refused', async () => {
  const tmp = await tempDir()
  try {
    const openssl = await execFileP('openssl', ['version']).then(() => true, () => false)
    assert.ok(openssl, 'openssl is needed to make the test certificates (apt-get install openssl)')
    const certDir = join(tmp.path, 'gan,eti')
    await mkdir(certDir)
    const ssl = (args: ReadonlyArray<string>): Promise<unknown> => execFileP('openssl', [...args], { cwd: certDir })
    await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'spice-ca.pem', '-days', '1', '-subj', '/CN=devplan-test-ca'])
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.csr', '-subj', '/CN=spice1.example.com'])
    await ssl(['x509', '-req', '-in', 'req.csr', '-CA', 'spice-ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '1'])
    await writeFile(join(certDir, 'spice.pem'), readFileSync(join(certDir, 'key.pem'), 'utf8') + readFileSync(join(certDir, 'cert.pem'), 'utf8'))

    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const port = await freePort('127.0.0.1')
    const tree = plan(
      instance(disk, port, {
        spice_bind: '127.0.0.1',
        spice_ip_version: 4,
        spice_use_tls: true,
        // A comma inside a value: escaped, so it stays one cipher list.
        spice_tls_ciphers: 'HIGH,!aNULL:-DES:-3DES:-EXPORT:-DH',
        spice_use_vdagent: false,
        spice_image_compression: 'auto_glz',
        spice_jpeg_wan_compression: 'never',
        spice_zlib_glz_wan_compression: 'always',
        spice_streaming_video: 'filter',
        spice_playback_compression: false,
        // An explicit vga wins over SPICE's qxl, as in Ganeti.
        vga: 'std'
      }),
      { spiceCertDir: certDir }
    )
    const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'spice1.qmp'), accel: 'tcg' })
    const spiceArg = argv[argv.indexOf('-spice') + 1] ?? ''
    assert.ok(spiceArg.includes('ipv4=on') && spiceArg.includes('agent-mouse=off') && spiceArg.includes('playback-compression=off'), spiceArg)
    assert.not.ok(/(^|,)port=/.test(spiceArg), `TLS only: no plain port in ${spiceArg}`)

    await withQemu(argv, async (vm) => {
      await assertPci(vm, tree)
      const devs = await peripheral(vm)
      assert.is(devs.get('vga0'), 'VGA', 'vga "std" is kept with SPICE')
      assert.not.ok([...devs.values()].includes('virtio-serial-pci'), 'no vdagent, no guest agent: no virtio-serial')
      assert.is((await chardevs(vm)).get('spicechannel0'), undefined, 'no vdagent channel')

      const spice = await vm.qmp.executeOk('query-spice')
      assert.ok(isRec(spice), `query-spice: ${JSON.stringify(spice)}`)
      assert.is(spice['enabled'], true)
      assert.is(spice['host'], '127.0.0.1')
      assert.is(spice['tls-port'], port)
      assert.is(spice['port'], undefined, 'TLS only, as Ganeti: no plain port')
      assert.is(spice['auth'], 'none', 'no password file: disable-ticketing')
      const refused = await vm.qmp.execute('set_password', { protocol: 'spice', password: 'x' })
      assert.is(refused._tag, 'Error', 'set_password is refused under disable-ticketing')
      assert.is(refused._tag === 'Error' ? refused.desc : '', 'Could not set password')
      // Before the handshake: SPICE logs a client that leaves mid-handshake, which is the test's doing.
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')

      assert.is(await tlsPeerCn('127.0.0.1', port), 'spice1.example.com', 'the TLS port presents the planned certificate')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('spice_bind names an interface: bound to the address target.host.interfaces gives, with its family (ipvN=on)', async () => {
  const tmp = await tempDir()
  try {
    const v6 = hasIpv6Loopback()
    const addr = v6 ? '::1' : '127.0.0.1'
    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const port = await freePort(addr)
    const tree = plan(instance(disk, port, { spice_bind: 'lo' }), { interfaces: { lo: addr } })
    const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'spice1.qmp'), accel: 'tcg' })
    assert.ok(argv.includes(`addr=${addr},port=${port},disable-ticketing=on,ipv${v6 ? 6 : 4}=on`), JSON.stringify(argv))
    await withQemu(argv, async (vm) => {
      const spice = await vm.qmp.executeOk('query-spice')
      assert.ok(isRec(spice) && spice['host'] === addr && spice['port'] === port && spice['auth'] === 'none', `query-spice: ${JSON.stringify(spice)}`)
      assert.ok(await tcpConnects(addr, port), `SPICE answers on [${addr}]:${port}`)
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('the certificate files are the host\'s to provide: QEMU refuses to start without them (exit 1)', async () => {
  const tmp = await tempDir()
  try {
    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const port = await freePort('127.0.0.1')
    const tree = plan(instance(disk, port, { spice_bind: '127.0.0.1', spice_use_tls: true }), { spiceCertDir: join(tmp.path, 'absent') })
    const r = await tryQemu(renderArgv(tree, { qmpSocket: join(tmp.path, 'spice1.qmp'), accel: 'tcg' }), { dir: tmp.path })
    assert.is(r._tag, 'exited', 'QEMU does not start')
    assert.is(r._tag === 'exited' ? r.status : undefined, 1)
    assert.match(r.stderr, 'failed to initialize spice server')
  } finally {
    await tmp.cleanup()
  }
})

test.run()
