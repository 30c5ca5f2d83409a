/**
 * The whole machine on a real QEMU: one instance with everything on (VNC with TLS and a password
 * on a unix socket, std VGA, tablet, serial console, guest agent, balloon, HDA sound, a CPU model and
 * topology, localtime, no-reboot, ACPI off, keymap, and QEMU confined: run as nobody in a
 * chroot) must start with nothing on stderr, every device at its planned slot. Then what QEMU
 * reports is compared with the plan: query-pci, query-vnc and the VNC banner on the planned
 * socket (VeNCrypt under tls-creds-anon), query-chardev, set_password (which needs password=on),
 * query-cpus-fast, the rtc, and the process's uid and root in /proc. Each QEMU under test
 * judges the form it is given: -runas/-chroot/-no-acpi on 7.2, -run-with and acpi=off on 10.0.
 */
import { connect } from 'node:net'
import { readFileSync, readlinkSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { decodeInstance, formatError, lifecycle, planDevices, renderArgv, type DeviceTree } from '../../lib/index.js'
import { makeImage, pciSlots, qemuPath, qemuSuite, qemuVersion, qomGet, tempDir, withQemu, type Vm } from './harness.js'
import { hv } from '../support/placed.js'

const test = qemuSuite('the whole machine')

const right = <A>(e: E.Either<Parameters<typeof formatError>[0], A>): A => {
  if (E.isLeft(e)) throw new Error(formatError(e.left))
  return e.right
}

const root = process.getuid?.() === 0
const NOBODY_UID = 65534

/** The first bytes a VNC server sends on a fresh connection: its protocol version. */
const vncBanner = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = connect(path)
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no VNC banner on ${path}`)) }, 5000)
    s.once('data', (b) => { clearTimeout(timer); s.destroy(); resolve(b.toString('latin1')) })
    s.once('error', (e) => { clearTimeout(timer); reject(e) })
  })

const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

const everything = (dir: string, disk: string): unknown => ({
  name: 'whole1.example.com',
  uuid: '3a6f0e1c-2b4d-4c8e-9f1a-5d7c3b2a1e0f',
  memory: 128,
  vcpus: 4,
  hvparams: {
    kvm_path: qemuPath(),
    vnc_bind_address: dir,
    vnc_tls: true,
    vnc_password_file: '/etc/ganeti/vnc-cluster-password',
    vga: 'std',
    use_guest_agent: true,
    cpu_type: 'qemu64',
    cpu_sockets: 2,
    cpu_cores: 2,
    cpu_threads: 1,
    use_localtime: true,
    reboot_behavior: 'exit',
    acpi: false,
    keymap: 'en-us',
    soundhw: 'hda',
    ...(root ? { security_model: 'user', security_domain: 'nobody', use_chroot: true } : {})
  },
  disks: [{ uuid: '4b7f1e2d-3c5e-4d9f-8a2b-6e8d4c3b2f1a', path: disk }]
})

/** Every device with a PCI address at that slot and function, and nothing else there. */
const assertPci = async (vm: Vm, tree: DeviceTree): Promise<void> => {
  const planned = [...tree.controllers, ...tree.disks, ...tree.nics, ...tree.cdroms, ...tree.machineDevices].flatMap((d) => {
    const addr = hv(d).addr
    if (addr === undefined) return []
    const [slot = '', fn = '0'] = addr.split('.')
    return [`${hv(d).id} @ ${parseInt(slot, 16)}.${parseInt(fn, 16)}`]
  })
  const seen = (await pciSlots(vm)).filter((s) => s.qdev_id !== '').map((s) => `${s.qdev_id} @ ${s.slot}.${s.function}`)
  assert.equal(seen.sort(), planned.sort(), 'query-pci bus 0')
}

test(`everything on starts with nothing on stderr, and QEMU reports the plan${root ? '' : ' (not root: without -runas/-chroot)'}`, async () => {
  assert.ok(root || process.env['CI'] !== 'true', 'CI=true runs as root, so the confinement is judged too')
  const tmp = await tempDir()
  try {
    // QEMU runs as nobody in the chroot: what it opens after start must be reachable there.
    await chmod(tmp.path, 0o755)
    const disk = await makeImage(tmp.path, 'root.raw', 'raw')
    const inst = right(decodeInstance(everything(tmp.path, disk)))
    const tree = right(planDevices(inst, root ? { qemu: qemuVersion, host: { chrootDir: tmp.path, poolUser: '' } } : { qemu: qemuVersion }))
    const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'whole1.qmp'), accel: 'tcg' })
    // The forms each QEMU reads: the changes table decides, the QEMU judges.
    const newForms = lifecycle('runas', qemuVersion) !== 'current'
    if (root) assert.is(argv.includes('-run-with'), newForms, `-run-with for ${qemuVersion.major}.${qemuVersion.minor}`)
    assert.is(argv.includes('-no-acpi'), lifecycle('noAcpi', qemuVersion) === 'current', '-no-acpi where it is current')

    await withQemu(argv, async (vm) => {
      await assertPci(vm, tree)
      for (const d of tree.machineDevices) {
        const parent = await qomGet(vm, `/machine/peripheral/${hv(d).id}`, 'parent_bus')
        assert.ok(typeof parent === 'string' && parent.endsWith(`/${hv(d).bus}`), `${hv(d).id} on ${hv(d).bus}: ${String(parent)}`)
      }

      // VNC on the planned unix socket, with VeNCrypt (tls-creds-anon) and a password.
      const vnc = await vm.qmp.executeOk('query-vnc')
      assert.ok(isRec(vnc) && vnc['enabled'] === true && vnc['family'] === 'unix', `query-vnc: ${JSON.stringify(vnc)}`)
      assert.ok(isRec(vnc) && vnc['auth'] === 'vencrypt+tls+vnc', `VeNCrypt over anonymous TLS, then the VNC password: ${JSON.stringify(vnc)}`)
      assert.is(await vncBanner(join(tmp.path, 'whole1.example.com.vnc')), 'RFB 003.008\n')
      await vm.qmp.executeOk('set_password', { protocol: 'vnc', password: 'not-in-argv' })
      assert.not.ok(argv.some((w) => w.includes('not-in-argv')))

      // The serial console and the guest agent's chardevs, on the planned sockets.
      const chardevs = await vm.qmp.executeOk('query-chardev')
      const byLabel = new Map((Array.isArray(chardevs) ? chardevs : []).flatMap((c: unknown) => (isRec(c) ? [[String(c['label']), String(c['filename'])] as const] : [])))
      assert.match(byLabel.get('serial0') ?? '', `unix:${join(tmp.path, 'whole1.example.com.serial')}`)
      assert.match(byLabel.get('qga0') ?? '', `unix:${join(tmp.path, 'whole1.example.com.qga')}`)
      assert.is(await qomGet(vm, '/machine/peripheral/qga0', 'name'), 'org.qemu.guest_agent.0')

      // The balloon answers, and the CPU topology is the planned one.
      const balloon = await vm.qmp.executeOk('query-balloon')
      assert.ok(isRec(balloon) && balloon['actual'] === 128 * 1024 * 1024, `query-balloon: ${JSON.stringify(balloon)}`)
      const cpus = await vm.qmp.executeOk('query-cpus-fast')
      const props = (Array.isArray(cpus) ? cpus : []).map((c: unknown) => (isRec(c) && isRec(c['props']) ? c['props'] : {}))
      assert.is(props.length, 4, 'vcpus')
      assert.equal(new Set(props.map((p) => p['socket-id'])).size, 2, 'sockets')
      assert.equal(new Set(props.map((p) => `${String(p['socket-id'])}/${String(p['core-id'])}`)).size, 4, 'cores per socket')
      assert.is(await qomGet(vm, '/machine', 'acpi'), 'off')

      // Confinement: QEMU dropped to nobody and chrooted once it was set up.
      if (root) {
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${vm.pid}/status`, 'utf8'))?.[1]
        assert.is(Number(uid), NOBODY_UID, 'QEMU runs as nobody')
        assert.is(readlinkSync(`/proc/${vm.pid}/root`), tmp.path, 'QEMU is chrooted to the planned directory')
      }
      assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test.run()
