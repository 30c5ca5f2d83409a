/**
 * Network protocol nodes against a real QEMU, each from the command line the plan renders and
 * from the hot-add plan's `object-add` + `blockdev-add`:
 *
 * - rbd, gluster and iscsi have no server here: they must reach their driver's own connection
 *   error (never an option parse error). rbd is made to fail fast with a `conf` the test writes
 *   (`client_mount_timeout = 2`): unreachable monitors block QEMU for 300 s otherwise.
 * - nbd with TLS against a loopback qemu-nbd, certificates made here with openssl.
 * - http and https (self-signed, `sslverify: false`) against a range-capable server of this
 *   process; every node read-only.
 *
 * No secret is in the argv: the rbd key and the iSCSI password are files QEMU reads.
 */
import { rangeHandler } from './http-range.js'
import { withNbd } from './nbd.js'
import { execFile } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { backingFilename, decodeDisk, decodeInstance, formatError, planDevices, planHotAdd, renderArgv, toRuntime, type DeviceTree, type DevplanError, type Instance, type QmpPlan } from '../../lib/index.js'
import { makeImage, namedNodes, qemuPath, qemuSuite, qemuVersion, startQemuExpectFailure, tempDir, withQemu, type Vm } from './harness.js'

const execFileP = promisify(execFile)
const test = qemuSuite('qemu/protocol')

const UUID = '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10'
const DISK_UUID = 'a0000001-0000-4000-8000-000000000001'
const DISK_ID = 'disk-a0000001-0000-4000'

const unwrap = <A>(what: string, r: E.Either<DevplanError, A>): A => {
  if (E.isLeft(r)) throw new Error(`${what}: ${formatError(r.left)}`)
  return r.right
}

/** A target before JSON -blockdev: key=value options, no throttle filter. */
const OLD = { major: 6, minor: 0, micro: 0 }

const instance = (disks: ReadonlyArray<Readonly<Record<string, unknown>>>, hv: Readonly<Record<string, unknown>> = { disk_iops_total: 500 }): Instance =>
  unwrap('decode', decodeInstance({ name: 'proto.example.com', uuid: UUID, memory: 64, hvparams: { kvm_path: qemuPath(), ...hv }, disks: disks.map((d) => ({ uuid: DISK_UUID, ...d })) }))

const planOf = (disks: ReadonlyArray<Readonly<Record<string, unknown>>>): DeviceTree => unwrap('plan', planDevices(instance(disks), { qemu: qemuVersion }))

const argvOf = (tree: DeviceTree, dir: string): ReadonlyArray<string> => renderArgv(tree, { qmpSocket: join(dir, 'plan.qmp'), accel: 'tcg' })

/** What an option parse error looks like: the planner must never produce one. */
const PARSE_ERROR = /Parameter '[^']*' (is unexpected|is missing|does not accept)|Invalid parameter|expected: |Unknown (driver|protocol)/

/** Runs a hot-add plan's commands in order; the first error's text, or undefined when all passed. */
const runSteps = async (vm: Vm, plan: QmpPlan): Promise<{ readonly failed?: string; readonly at?: string; readonly sent: ReadonlyArray<string> }> => {
  const sent: string[] = []
  for (const s of plan.steps) {
    if (s._tag !== 'command') continue
    sent.push(s.description)
    const r = await vm.qmp.execute(s.command.execute, s.command.arguments)
    if (r._tag === 'Error') return { failed: r.desc, at: s.description, sent }
  }
  return { sent }
}

/** Starts the instance without disks, then runs the hot-add plan of `disk` against it. */
const hotAdd = async <T>(dir: string, disk: Readonly<Record<string, unknown>>, fn: (vm: Vm, r: Awaited<ReturnType<typeof runSteps>>) => Promise<T>): Promise<T> => {
  const bare = instance([])
  const tree = unwrap('plan', planDevices(bare, { qemu: qemuVersion }))
  const rt = unwrap('toRuntime', toRuntime(bare, tree, { qmpSocket: join(dir, 'hot.qmp') }))
  const d = unwrap('decodeDisk', decodeDisk({ uuid: DISK_UUID, ...disk }))
  const plan = unwrap('planHotAdd', planHotAdd(rt, { disk: d }))
  return withQemu(renderArgv(tree, { qmpSocket: join(dir, 'hot.qmp'), accel: 'tcg' }), async (vm) => fn(vm, await runSteps(vm, plan)), { dir })
}

/** A disk that must fail with its driver's connection error, from argv and from blockdev-add. */
const reachesDriver = async (name: string, disk: Readonly<Record<string, unknown>>, expected: RegExp, secrets: ReadonlyArray<string>, overQmp: RegExp = expected): Promise<void> => {
  const tmp = await tempDir()
  try {
    // JSON options, and key=value ones (a 6.0 target: lists as server.0.host=…).
    for (const qemu of [qemuVersion, OLD]) {
      const tree = unwrap('plan', planDevices(instance([disk], qemu === OLD ? {} : { disk_iops_total: 500 }), { qemu }))
      const argv = argvOf(tree, tmp.path)
      for (const s of secrets) assert.not.ok(argv.join(' ').includes(s), `${name}: a secret in argv`)
      const stderr = await startQemuExpectFailure(argv, { dir: tmp.path, connectTimeoutMs: 20_000 })
      assert.match(stderr, expected, `${name} from argv (target ${qemu.major}.${qemu.minor}): ${stderr}`)
      assert.not.match(stderr, PARSE_ERROR, `${name} from argv: ${stderr}`)
    }
    await hotAdd(tmp.path, disk, async (_vm, r) => {
      assert.ok(r.failed !== undefined, `${name}: the hot-add passed: ${r.sent.join(', ')}`)
      assert.match(r.at ?? '', /^blockdev-add .* \((rbd|gluster|iscsi)\)$/, `${name}: failed at ${r.at ?? ''}: ${r.failed ?? ''}`)
      assert.match(r.failed ?? '', overQmp, `${name} from blockdev-add: ${r.failed ?? ''}`)
      assert.not.match(r.failed ?? '', PARSE_ERROR)
      assert.ok(r.sent.some((s) => s.startsWith('object-add secret')) === secrets.length > 0, `${name}: ${r.sent.join(', ')}`)
    })
  } finally {
    await tmp.cleanup()
  }
}

const isRecordOf = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * Whether QEMU might take `data` as decrypted under `key`: it reads the last byte as the
 * padding count and checks nothing else (measured on 7.2 with qemu-img: 17 of 200 random master
 * keys were taken, with counts 0 to 16; counts from 19 up were refused; PKCS#7 would check every
 * padding byte). Conservative: any count up to the data's length counts as taken.
 */
const decrypts = (key: Buffer, iv: Buffer, data: string): boolean => {
  const d = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false)
  const plain = Buffer.concat([d.update(Buffer.from(data, 'base64')), d.final()])
  return (plain[plain.length - 1] ?? 0) <= plain.length
}

/** A cephx key as Ceph stores it (type 1, no creation time, 16 bytes), base64: what a keyring holds. */
const CEPH_KEY = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0]), Buffer.from(Array.from({ length: 16 }, (_, i) => i * 7))]).toString('base64')

test('rbd: monitors, user, conf, the key from a secret file; the driver\'s own connection error from argv and blockdev-add', async () => {
  const tmp = await tempDir()
  try {
    const conf = join(tmp.path, 'ceph.conf')
    // Fail within seconds instead of Ceph's 300 s client_mount_timeout.
    await writeFile(conf, '[global]\nmon_host = 127.0.0.1:1\nclient_mount_timeout = 2\n')
    const key = join(tmp.path, 'admin.key')
    await writeFile(key, CEPH_KEY)
    const disk = { source: { driver: 'rbd', pool: 'rbd', image: 'vm1 disk:0@x', user: 'admin', conf, server: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.2', port: '3300' }], key: { file: key, format: 'base64' } } }
    await reachesDriver('rbd', disk, /error connecting: Connection timed out/, [CEPH_KEY])
  } finally {
    await tmp.cleanup()
  }
})

test('rbd with the key as data encrypted under the host master key (AES-256-CBC made here): QEMU decrypts it and reaches the monitors', async () => {
  const tmp = await tempDir()
  try {
    const conf = join(tmp.path, 'ceph.conf')
    await writeFile(conf, '[global]\nmon_host = 127.0.0.1:1\nclient_mount_timeout = 2\n')
    const masterKey = randomBytes(32)
    const masterFile = join(tmp.path, 'master.key')
    await writeFile(masterFile, masterKey)
    // The secret's plaintext is the key's bytes (what a base64 key file decodes to).
    const iv = randomBytes(16)
    const cipher = createCipheriv('aes-256-cbc', masterKey, iv)
    const data = Buffer.concat([cipher.update(Buffer.from(CEPH_KEY, 'base64')), cipher.final()]).toString('base64')
    const disk = { source: { driver: 'rbd', pool: 'rbd', image: 'img', user: 'admin', conf, key: { data, iv: iv.toString('base64') } } }
    const host = { chrootDir: '', poolUser: '', secretMasterKey: masterFile }
    const tree = unwrap('plan', planDevices(instance([disk]), { qemu: qemuVersion, host }))
    const argv = argvOf(tree, tmp.path)
    assert.not.ok(argv.join(' ').includes(CEPH_KEY), 'the key in clear in argv')
    const stderr = await startQemuExpectFailure(argv, { dir: tmp.path, connectTimeoutMs: 20_000 })
    assert.match(stderr, /error connecting: Connection timed out/, stderr)
    // A wrong IV garbles only the first block: the padding still checks out and Ceph gets a
    // wrong key ("Invalid argument"). QEMU cannot tell; only the caller's IV can be right.
    const wrongIv = unwrap('plan', planDevices(instance([{ source: { ...disk.source, key: { data, iv: randomBytes(16).toString('base64') } } }]), { qemu: qemuVersion, host }))
    const garbled = await startQemuExpectFailure(argvOf(wrongIv, tmp.path), { dir: tmp.path, connectTimeoutMs: 20_000 })
    assert.match(garbled, /error connecting: Invalid argument/, garbled)
    // Another master key garbles every block, the padding too: QEMU refuses the secret at start.
    let otherKey = randomBytes(32)
    while (decrypts(otherKey, iv, data)) otherKey = randomBytes(32)
    const otherFile = join(tmp.path, 'other.key')
    await writeFile(otherFile, otherKey)
    const other = unwrap('plan', planDevices(instance([disk]), { qemu: qemuVersion, host: { ...host, secretMasterKey: otherFile } }))
    const bad = await startQemuExpectFailure(argvOf(other, tmp.path), { dir: tmp.path, connectTimeoutMs: 20_000 })
    assert.match(bad, /Incorrect number of padding bytes/, bad)
    // Hot-added into an instance started with the master key: object-add decrypts it there.
    const bare = instance([])
    const started = unwrap('plan', planDevices(bare, { qemu: qemuVersion, host }))
    const rt = unwrap('toRuntime', toRuntime(bare, started, { qmpSocket: join(tmp.path, 'hot.qmp') }))
    const plan = unwrap('planHotAdd', planHotAdd(rt, { disk: unwrap('decodeDisk', decodeDisk({ uuid: DISK_UUID, ...disk })) }))
    await withQemu(renderArgv(started, { qmpSocket: join(tmp.path, 'hot.qmp'), accel: 'tcg' }), async (vm) => {
      const r = await runSteps(vm, plan)
      assert.ok(r.sent.includes(`object-add secret ${DISK_ID}-secret`), r.sent.join(', '))
      assert.match(r.at ?? '', /^blockdev-add .* \(rbd\)$/, `${r.at ?? ''}: ${r.failed ?? ''}`)
      assert.match(r.failed ?? '', /error connecting: Connection timed out/)
    }, { dir: tmp.path })
  } finally {
    await tmp.cleanup()
  }
})

test('gluster: a server list of inet and unix; the driver\'s own connection error (each server named)', async () => {
  const disk = { source: { driver: 'gluster', volume: 'vol0', path: 'vm1.img', server: [{ type: 'inet', host: '127.0.0.1', port: 1 }, { type: 'unix', path: '/nonexistent/gd.sock' }] } }
  // The per-server hints are QEMU's error hints: printed on the command line, not sent over QMP.
  const failed = /Gluster connection for volume vol0, path vm1\.img failed to connect/
  await reachesDriver('gluster', disk, /Gluster connection for volume vol0, path vm1\.img failed to connect[\s\S]*127\.0\.0\.1 and port 1[\s\S]*\/nonexistent\/gd\.sock/, [], failed)
  // gluster+rdma:// is planned over tcp, and QEMU gets no rdma to warn about.
  await reachesDriver('gluster+rdma', { uri: 'gluster+rdma://127.0.0.1:1/vol0/vm1.img' }, /Gluster connection for volume vol0, path vm1\.img failed to connect/, [])
})

test('iscsi: user with a password secret, initiator-name, header digest; the driver\'s own connection error', async () => {
  const tmp = await tempDir()
  try {
    const pw = join(tmp.path, 'chap.pw')
    await writeFile(pw, 'chap-password-42')
    const disk = { source: { driver: 'iscsi', portal: '127.0.0.1:1', target: 'iqn.2000-01.com.example:storage', lun: 0, user: 'u', password: { file: pw }, 'initiator-name': 'iqn.2000-01.com.example:host1', 'header-digest': 'crc32c' } }
    await reachesDriver('iscsi', disk, /iSCSI: Failed to connect to LUN/, ['chap-password-42'])
  } finally {
    await tmp.cleanup()
  }
})

// ---------------------------------------------------------------------------------------------
// Certificates, made with openssl: a CA, and a server certificate for "localhost" it signed.

const openssl = (args: ReadonlyArray<string>, cwd: string): Promise<unknown> => execFileP('openssl', [...args], { cwd })

const makeCerts = async (dir: string): Promise<{ readonly server: string; readonly client: string }> => {
  const server = join(dir, 'server-pki')
  const client = join(dir, 'client-pki')
  await execFileP('mkdir', ['-p', server, client])
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca-cert.pem', '-days', '2', '-subj', '/CN=qemu-devplan test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(server, 'server-key.pem'), '-out', 'server.csr', '-subj', '/CN=localhost'], dir)
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n')
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', join(server, 'server-cert.pem'), '-days', '2', '-extfile', 'ext.cnf'], dir)
  const ca = await readFile(join(dir, 'ca-cert.pem'))
  await writeFile(join(server, 'ca-cert.pem'), ca)
  await writeFile(join(client, 'ca-cert.pem'), ca)
  return { server, client }
}


/** qemu-nbd serving `image` over TLS on a unix socket (the server does not ask for a client certificate). */
const withTlsNbd = <T>(dir: string, image: string, pki: string, fn: (socket: string) => Promise<T>): Promise<T> =>
  withNbd(dir, image, fn, { socketName: 'nbd-tls.sock', args: ['--object', `tls-creds-x509,id=tls0,endpoint=server,dir=${pki},verify-peer=off`, '--tls-creds', 'tls0', '--export-name=e0'] })

const nodeDrivers = async (vm: Vm): Promise<ReadonlyArray<{ readonly name: string; readonly drv: string; readonly ro: boolean }>> =>
  (await namedNodes(vm)).map((n) => ({ name: n.node_name, drv: n.drv, ro: n.ro }))

test('nbd over TLS: a tls-creds-x509 client object; qemu-nbd with certificates made by openssl; from argv and blockdev-add', async () => {
  const tmp = await tempDir()
  try {
    const pki = await makeCerts(tmp.path)
    const image = await makeImage(tmp.path, 'exported.raw', 'raw')
    await withTlsNbd(tmp.path, image, pki.server, async (socket) => {
      const disk = { source: { driver: 'nbd', server: { type: 'unix', path: socket }, export: 'e0', tls: { dir: pki.client, hostname: 'localhost' } } }
      const tree = planOf([disk])
      await withQemu(argvOf(tree, tmp.path), async (vm) => {
        const nodes = await nodeDrivers(vm)
        assert.ok(nodes.some((n) => n.drv === 'nbd' && n.name === `${DISK_ID}-a-p`), JSON.stringify(nodes))
        assert.is(await vm.qmp.executeOk('qom-get', { path: `/objects/${DISK_ID}-tls`, property: 'endpoint' }), 'client')
      }, { dir: tmp.path })
      await hotAdd(tmp.path, disk, async (vm, r) => {
        assert.is(r.failed, undefined, `hot-add over TLS: ${r.at ?? ''}: ${r.failed ?? ''}`)
        assert.ok(r.sent.indexOf(`object-add tls-creds-x509 ${DISK_ID}-tls`) >= 0, r.sent.join(', '))
        assert.ok((await nodeDrivers(vm)).some((n) => n.drv === 'nbd'))
      })
      // The wrong name for the certificate: the TLS handshake is really checked.
      const wrong = planOf([{ source: { driver: 'nbd', server: { type: 'unix', path: socket }, export: 'e0', tls: { dir: pki.client, hostname: 'nbd.example.org' } } }])
      const stderr = await startQemuExpectFailure(argvOf(wrong, tmp.path), { dir: tmp.path })
      assert.match(stderr, /Certificate does not match the hostname nbd\.example\.org/, stderr)
    })
  } finally {
    await tmp.cleanup()
  }
})

// ---------------------------------------------------------------------------------------------
// http and https, served with HEAD and single ranges, as the curl driver reads.

const listen = async (server: http.Server | https.Server): Promise<{ readonly port: number; readonly close: () => Promise<void> }> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

test('http and https disks: read-only on every node, the throttle filter included; from argv and blockdev-add', async () => {
  const tmp = await tempDir()
  try {
    const pki = await makeCerts(tmp.path)
    const body = Buffer.alloc(1024 * 1024, 7)
    const requests: string[] = []
    const plain = await listen(http.createServer(rangeHandler(body, '/img.raw', requests)))
    const tls = await listen(https.createServer({ key: await readFile(join(pki.server, 'server-key.pem')), cert: await readFile(join(pki.server, 'server-cert.pem')) }, rangeHandler(body, '/img.raw', requests)))
    try {
      const disks = [
        { uri: `http://127.0.0.1:${plain.port}/img.raw`, mode: 'ro' },
        { source: { driver: 'https', url: `https://127.0.0.1:${tls.port}/img.raw`, sslverify: false }, mode: 'ro' }
      ]
      for (const disk of disks) {
        const tree = planOf([disk])
        await withQemu(argvOf(tree, tmp.path), async (vm) => {
          const nodes = (await nodeDrivers(vm)).filter((n) => n.name.startsWith(DISK_ID))
          assert.equal(nodes.map((n) => n.drv).sort(), ['raw', 'throttle', tree.disks[0]?.graph.nodes[0]?.driver ?? '?'].sort())
          assert.ok(nodes.every((n) => n.ro), `every node read-only: ${JSON.stringify(nodes)}`)
        }, { dir: tmp.path })
        await hotAdd(tmp.path, disk, async (vm, r) => {
          assert.is(r.failed, undefined, `hot-add: ${r.at ?? ''}: ${r.failed ?? ''}`)
          assert.ok((await nodeDrivers(vm)).filter((n) => n.name.startsWith(DISK_ID)).every((n) => n.ro))
        })
      }
      assert.ok(requests.some((r) => /^GET \S+ bytes=/.test(r)), `ranges were read: ${requests.join(', ')}`)
      // The json: pseudo-filename names the same image to qemu-img, and serves as an overlay's
      // backing file (what planSnapshot writes into a header).
      const filename = backingFilename(planOf([disks[0] ?? {}]).disks[0]?.graph ?? { top: '', nodes: [] }) ?? ''
      assert.match(filename, /^json:\{"driver":"raw","file":\{"driver":"http","url":"http:/)
      const info: unknown = JSON.parse((await execFileP('qemu-img', ['info', '--output=json', filename])).stdout)
      assert.is(isRecordOf(info) ? info['virtual-size'] : undefined, body.length)
      const overlay = join(tmp.path, 'overlay.qcow2')
      await execFileP('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', filename, '-F', 'raw', overlay])
      const chain: unknown = JSON.parse((await execFileP('qemu-img', ['info', '--output=json', '--backing-chain', overlay])).stdout)
      assert.ok(Array.isArray(chain) && chain.length === 2, JSON.stringify(chain))
    } finally {
      await plain.close()
      await tls.close()
    }
  } finally {
    await tmp.cleanup()
  }
})

test.run()
