/**
 * The instance matrix against a real QEMU 7.2: every case of `matrix.ts` is decoded, planned,
 * rendered, started with exactly the rendered argv (the harness only adds `-S -display none` and
 * its own QMP socket), and QEMU's own account of the machine is compared with the plan by one
 * generic function, {@link assertMatchesPlan}. Each case runs twice: for a 7.2 target (JSON
 * options) and for a 6.0 target (key=value options), which must give the same tree.
 *
 * Also here: an NBD disk served by qemu-nbd, an http CD-ROM served from this process, and the
 * example instance that `npm start` prints.
 */
import { rangeHandler } from './http-range.js'
import { waitFor, withNbd } from './nbd.js'
import { execFile } from 'node:child_process'
import { constants, existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import * as assert from 'uvu/assert'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { connectQmp } from '../../examples/qmp-client.js'
import type { QmpEvent } from '../../lib/qmp/executor.js'
import {
  allDevices,
  BOOT_ORDERS,
  decodeInstance,
  decodeTarget,
  formatError,
  planDevices,
  renderArgv,
  DISK_AIOS,
  DISK_CACHES,
  DISK_TYPES,
  NIC_TYPES,
  SCSI_CONTROLLER_TYPES,
  type BlockDevice,
  type BlockdevOptions,
  type DevplanError,
  type DeviceTree,
  type Instance,
  type QemuVersion
} from '../../lib/index.js'
import {
  makeImage,
  pciSlots,
  peripheral,
  qemuPath,
  qemuSuite,
  qemuVersion,
  qomGet,
  startQemuExpectFailure,
  tempDir,
  withQemu,
  type Vm
} from './harness.js'
import { diskUuid, MATRIX, type Env, type HostNeed, type MatrixCase, type Spec } from './matrix.js'
import { hv } from '../support/placed.js'

const execFileP = promisify(execFile)

// Every case is planned for the QEMU under test (JSON options) and for 6.0 (key=value options),
// and both are started on the QEMU under test.
const QEMU_6_0: QemuVersion = { major: 6, minor: 0, micro: 0 }
const TARGETS: ReadonlyArray<{ readonly label: string; readonly qemu: QemuVersion }> = [
  { label: `${qemuVersion.major}.${qemuVersion.minor} json`, qemu: qemuVersion },
  { label: '6.0 keyval', qemu: QEMU_6_0 }
]


const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)
const str = (u: unknown): string => JSON.stringify(u)

// ---------------------------------------------------------------------------------------------
// The one comparison: what QEMU reports must equal the plan.

/**
 * QOM type names of the drivers the planner uses. QEMU reports the canonical type, never the
 * alias the command line used. Every driver must be listed: an unknown one fails the test.
 */
const QOM_TYPE: Readonly<Record<string, string>> = {
  lsi: 'lsi53c895a',
  megasas: 'megasas',
  'virtio-scsi-pci': 'virtio-scsi-pci',
  'virtio-blk-pci': 'virtio-blk-pci',
  'scsi-hd': 'scsi-hd',
  'scsi-cd': 'scsi-cd',
  'scsi-block': 'scsi-block',
  'scsi-generic': 'scsi-generic',
  'ide-hd': 'ide-hd',
  'ide-cd': 'ide-cd',
  floppy: 'floppy',
  'virtio-net-pci': 'virtio-net-pci',
  e1000: 'e1000',
  i82551: 'i82551',
  i82557b: 'i82557b',
  i82559er: 'i82559er',
  ne2k_pci: 'ne2k_pci',
  pcnet: 'pcnet',
  rtl8139: 'rtl8139',
  ne2k_isa: 'ne2k_isa',
  // The devices of the machine.
  VGA: 'VGA',
  'cirrus-vga': 'cirrus-vga',
  'virtio-vga': 'virtio-vga',
  'qxl-vga': 'qxl-vga',
  'virtio-balloon-pci': 'virtio-balloon-pci',
  'piix3-usb-uhci': 'piix3-usb-uhci',
  'usb-tablet': 'usb-tablet',
  'usb-mouse': 'usb-mouse',
  'virtio-serial-pci': 'virtio-serial-pci',
  virtserialport: 'virtserialport'
}

/** `"0x10"` or `"0x1.2"` (a function of a multi-function slot) as slot and function. */
const slotFunction = (addr: string): readonly [number, number] => {
  const [slot = '', fn = '0'] = addr.split('.')
  return [parseInt(slot, 16), parseInt(fn, 16)]
}

const qomTypeOf = (driver: string): string => {
  const t = QOM_TYPE[driver]
  if (t === undefined) throw new Error(`driver ${driver} is missing from the QOM_TYPE table of instances.spec.ts`)
  return t
}

/** Placement keys of an hvinfo that are QOM properties read back as they are. */
const PLAIN_PLACEMENT_KEYS = ['scsi-id', 'lun', 'channel', 'unit', 'iobase', 'irq'] as const

const blockDevices = (tree: DeviceTree): ReadonlyArray<BlockDevice> => [...tree.disks, ...tree.cdroms, ...tree.floppies]

/** A planned node's children, as x-debug-query-block-graph names the edges. */
const plannedEdges = (n: BlockdevOptions): ReadonlyArray<string> => {
  if (n.driver === 'throttle') return [`${n['node-name']} -file-> ${n.file}`]
  if (n.driver !== 'raw' && n.driver !== 'qcow2') return []
  const fmt = n as Extract<BlockdevOptions, { readonly driver: 'raw' | 'qcow2' }>
  // `backing: null` is no edge: the base of its chain.
  return [`${fmt['node-name']} -file-> ${fmt.file}`, ...(typeof fmt.backing === 'string' ? [`${fmt['node-name']} -backing-> ${fmt.backing}`] : [])]
}

/** Where a protocol node's `file` (QEMU's filename) must point, when the plan says. */
const plannedFilename = (n: BlockdevOptions): string | undefined =>
  'filename' in n ? n.filename : 'url' in n && typeof n.url === 'string' ? n.url : undefined

interface ReportedNode {
  readonly name: string
  readonly drv: string
  readonly ro: boolean
  readonly file: string
  readonly direct: boolean
  readonly noFlush: boolean
}

const reportedNodes = async (vm: Vm): Promise<ReadonlyArray<ReportedNode>> => {
  const nodes = await vm.qmp.executeOk('query-named-block-nodes', { flat: true })
  if (!Array.isArray(nodes)) throw new Error(`query-named-block-nodes: ${str(nodes)}`)
  return nodes.map((n: unknown) => {
    if (!isRecord(n) || !isRecord(n['cache'])) throw new Error(`query-named-block-nodes entry: ${str(n)}`)
    const c = n['cache']
    return {
      name: String(n['node-name']),
      drv: String(n['drv']),
      ro: n['ro'] === true,
      file: String(n['file']),
      direct: c['direct'] === true,
      noFlush: c['no-flush'] === true
    }
  })
}

/** Edges between block-driver nodes, as `parent -name-> child` by node-name. */
const reportedEdges = async (vm: Vm): Promise<ReadonlyArray<string>> => {
  const g = await vm.qmp.executeOk('x-debug-query-block-graph')
  if (!isRecord(g) || !Array.isArray(g['nodes']) || !Array.isArray(g['edges'])) throw new Error(`x-debug-query-block-graph: ${str(g)}`)
  const drivers = new Map<number, string>()
  for (const n of g['nodes'] as unknown[]) {
    if (isRecord(n) && n['type'] === 'block-driver' && typeof n['id'] === 'number') drivers.set(n['id'], String(n['name']))
  }
  return (g['edges'] as unknown[]).flatMap((e) => {
    if (!isRecord(e)) return []
    const parent = typeof e['parent'] === 'number' ? drivers.get(e['parent']) : undefined
    const child = typeof e['child'] === 'number' ? drivers.get(e['child']) : undefined
    return parent !== undefined && child !== undefined ? [`${parent} -${String(e['name'])}-> ${child}`] : []
  })
}

const sorted = <A>(xs: ReadonlyArray<A>, key: (a: A) => string = String): A[] => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))

/** `qom-get` that reports a missing property as `undefined` instead of rejecting. */
const qomGetOptional = async (vm: Vm, path: string, property: string): Promise<unknown> => {
  const r = await vm.qmp.execute('qom-get', { path, property })
  if (r._tag === 'Return') return r.value
  if (/not found/i.test(r.desc)) return undefined
  throw new Error(`qom-get ${path} ${property}: ${r.class}: ${r.desc}`)
}

/**
 * Asserts that the running QEMU built exactly the planned machine: the same devices with the
 * same types, each on its planned bus and place, each block device on its planned top node,
 * exactly the planned block nodes with their drivers, read-only flags, cache modes, files and
 * edges, write-cache and MAC as planned, and `bootindex=1` on the boot device only.
 */
export const assertMatchesPlan = async (vm: Vm, tree: DeviceTree): Promise<void> => {
  const devices = allDevices(tree)

  // Devices and their QOM types.
  const reported = await peripheral(vm)
  assert.equal(
    sorted([...reported].map(([id, type]) => `${id}: ${type}`)),
    sorted(devices.map((d) => `${hv(d).id}: ${qomTypeOf(hv(d).driver)}`)),
    'qom-list /machine/peripheral'
  )

  // PCI: every user device on bus 0 is a planned one, at its planned slot, function 0.
  const slots = await pciSlots(vm)
  assert.equal(
    sorted(slots.filter((s) => s.qdev_id !== '').map((s) => `${s.qdev_id} @ ${s.slot}.${s.function}`)),
    sorted(devices.flatMap((d) => {
      const addr = hv(d).addr
      return addr === undefined ? [] : [`${d.id} @ ${slotFunction(addr).join('.')}`]
    })),
    'query-pci bus 0'
  )

  for (const d of devices) {
    const path = `/machine/peripheral/${hv(d).id}`
    const h = hv(d) as unknown as Readonly<Record<string, unknown>>
    const parent = await qomGet(vm, path, 'parent_bus')
    assert.ok(typeof parent === 'string' && parent.endsWith(`/${hv(d).bus}`), `${hv(d).id}: parent_bus ${str(parent)}, planned bus ${hv(d).bus}`)
    const addr = hv(d).addr
    if (addr !== undefined) {
      const [slot, fn] = slotFunction(addr)
      assert.is(await qomGet(vm, path, 'addr'), slot * 8 + fn, `${hv(d).id}: addr (devfn)`)
    }
    if (d.kind === 'machine') {
      // Where a port or a place on a controller's bus is planned, QEMU must report it.
      for (const [key, value] of Object.entries(h)) {
        if (key === 'port' || key === 'nr') assert.is(String(await qomGet(vm, path, key)), String(value), `${hv(d).id}: ${key}`)
      }
      continue
    }
    for (const key of PLAIN_PLACEMENT_KEYS) {
      if (key in h) assert.is(await qomGet(vm, path, key), h[key], `${hv(d).id}: ${key}`)
    }
    if (d.kind === 'scsi-controller') continue

    const bootindex = await qomGetOptional(vm, path, 'bootindex')
    if (tree.boot._tag === 'device' && tree.boot.id === hv(d).id) assert.is(bootindex, 1, `${hv(d).id}: bootindex of the boot device`)
    else assert.ok(bootindex === undefined || bootindex === -1, `${hv(d).id}: bootindex ${str(bootindex)} on a device that is not the boot device`)

    if (d.kind === 'nic') {
      assert.is(await qomGet(vm, path, 'netdev'), hv(d).id, `${hv(d).id}: netdev`)
      assert.is(await qomGet(vm, path, 'mac'), d.mac, `${hv(d).id}: mac`)
      // virtio-net-pci: mq exactly when the plan gives more than one queue.
      if (hv(d).driver === 'virtio-net-pci') assert.is(await qomGet(vm, path, 'mq'), d.queues > 1, `${hv(d).id}: mq`)
    } else {
      assert.is(await qomGet(vm, path, 'drive'), d.graph.top, `${hv(d).id}: drive`)
      if (d.writeCache !== undefined) assert.is(await qomGet(vm, path, 'write-cache'), d.writeCache, `${hv(d).id}: write-cache`)
    }
  }
  if (tree.boot._tag === 'device') assert.ok(devices.some((d) => hv(d).id === (tree.boot as { id: string }).id), 'the boot device is planned')

  // Block nodes: exactly the planned ones, each as planned.
  const planned = blockDevices(tree).flatMap((d) => d.graph.nodes)
  const nodes = await reportedNodes(vm)
  const edges = await reportedEdges(vm)
  // A qcow2 node planned without a backing chain lets QEMU open the one in its header, under
  // names QEMU generates (`#blockNNN`): those, and only those, are outside the plan.
  const implicit = new Set<string>()
  let frontier = planned.filter((n) => n.driver === 'qcow2' && !('backing' in n && n.backing !== undefined)).map((n) => n['node-name'])
  while (frontier.length > 0) {
    const next = edges
      .map((e) => /^(.*) -(\w+)-> (.*)$/.exec(e))
      .flatMap((m) => (m !== null && frontier.includes(m[1] ?? '') && (m[3] ?? '').startsWith('#') && (m[2] === 'backing' || implicit.has(m[1] ?? '')) ? [m[3] ?? ''] : []))
      .filter((n) => !implicit.has(n))
    next.forEach((n) => implicit.add(n))
    frontier = next
  }
  assert.equal(sorted(nodes.map((n) => n.name)), sorted([...planned.map((n) => n['node-name']), ...implicit]), 'query-named-block-nodes node names')
  const byName = new Map(nodes.map((n) => [n.name, n]))
  for (const p of planned) {
    const name = p['node-name']
    const n = byName.get(name)
    if (n === undefined) continue // reported by the set comparison above
    assert.is(n.drv, p.driver, `${name}: drv`)
    assert.is(n.ro, p['read-only'] ?? false, `${name}: ro`)
    // A node planned without cache options gets QEMU's default: writeback, no O_DIRECT, flushes.
    assert.is(n.direct, p.cache?.direct ?? false, `${name}: cache.direct`)
    assert.is(n.noFlush, p.cache?.['no-flush'] ?? false, `${name}: cache.no-flush`)
    const file = plannedFilename(p)
    if (file !== undefined) assert.is(n.file, file, `${name}: the file QEMU opened`)
  }
  const implicitEdges = edges.filter((e) => [...implicit].some((n) => e.endsWith(`-> ${n}`)))
  assert.equal(sorted(edges), sorted([...planned.flatMap(plannedEdges), ...implicitEdges]), 'block graph edges (file, backing)')
}

/**
 * The machine-wide part, read through the QMP monitor the *rendered* argv asked for (the
 * harness uses a second one): name, uuid, memory, vCPUs.
 */
const assertMachineMatches = async (qmpSocket: string, tree: DeviceTree): Promise<void> => {
  const qmp = await connectQmp(qmpSocket, { connectTimeoutMs: 5000, unrefWhenIdle: true })
  try {
    assert.equal(await qmp.executeOk('query-name'), { name: tree.name }, 'query-name')
    assert.equal(await qmp.executeOk('query-uuid'), { UUID: tree.uuid }, 'query-uuid')
    const mem = await qmp.executeOk('query-memory-size-summary')
    assert.ok(isRecord(mem) && mem['base-memory'] === tree.memory * 1024 * 1024, `query-memory-size-summary ${str(mem)}`)
    const cpus = await qmp.executeOk('query-cpus-fast')
    assert.ok(Array.isArray(cpus) && cpus.length === tree.vcpus, `query-cpus-fast ${str(cpus)}`)
  } finally {
    await qmp.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Running a case.

const unwrap = <A>(what: string, r: E.Either<DevplanError, A>): A => {
  if (E.isLeft(r)) throw new Error(`${what}: ${formatError(r.left)}`)
  return r.right
}

const plan = (spec: Spec, qemu: QemuVersion): E.Either<DevplanError, DeviceTree> =>
  pipe(
    decodeInstance(spec),
    E.chain((i: Instance) => planDevices(i, { qemu }))
  )

const prepare = async (c: MatrixCase, env: Env): Promise<void> => {
  for (const img of c.images ?? []) {
    const path = env.path(img.name)
    await mkdir(dirname(path), { recursive: true })
    const backing = img.backing === undefined ? undefined : { path: env.path(img.backing.name), format: img.backing.format }
    const made = await makeImage(dirname(path), path.slice(dirname(path).length + 1), img.format, 1, backing)
    assert.is(made, path)
  }
  for (const f of c.files ?? []) {
    await mkdir(dirname(env.path(f.name)), { recursive: true })
    await writeFile(env.path(f.name), f.content())
  }
}

/** Whether the host can do what a case needs, or why not (from a probe independent of the plan). */
const hostLacks = async (need: HostNeed, dir: string): Promise<string | undefined> => {
  switch (need) {
    case 'o_direct': {
      const probe = join(dir, 'o_direct.probe')
      await writeFile(probe, Buffer.alloc(4096))
      try {
        closeSync(openSync(probe, constants.O_RDONLY | constants.O_DIRECT))
        return undefined
      } catch (e) {
        return `O_DIRECT is not supported in ${dir}: ${e instanceof Error ? e.message : String(e)}`
      } finally {
        await rm(probe, { force: true })
      }
    }
    case 'io_uring': {
      const probe = await makeImage(dir, 'io_uring.probe', 'raw')
      try {
        await execFileP('qemu-io', ['-f', 'raw', '-i', 'io_uring', '-c', 'read 0 512', probe])
        return undefined
      } catch (e) {
        const err = e as { code?: unknown; stderr?: unknown; message?: unknown }
        // Without qemu-io there is no independent probe: run the case and let it fail loudly.
        if (err.code === 'ENOENT') return undefined
        return `qemu-io -i io_uring fails on this host: ${String(err.stderr ?? err.message).trim()}`
      } finally {
        await rm(probe, { force: true })
      }
    }
    case 'tap': {
      // Making one is the test: no /dev/net/tun, no CAP_NET_ADMIN, no ip (iproute2)…
      const probe = tapName()
      try {
        await execFileP('ip', ['tuntap', 'add', 'dev', probe, 'mode', 'tap'])
        await execFileP('ip', ['tuntap', 'del', 'dev', probe, 'mode', 'tap'])
        return undefined
      } catch (e) {
        const err = e as { code?: unknown; stderr?: unknown; message?: unknown }
        return err.code === 'ENOENT' ? 'ip (iproute2) is not installed: no tap to back a NIC' : `ip tuntap cannot make a tap on this host: ${String(err.stderr ?? err.message).trim()}`
      }
    }
    case 'loop_device': {
      // Attaching a probe image is the test: losetup missing, no /dev/loop-control, not root…
      const probe = await makeImage(dir, 'loop.probe', 'raw')
      try {
        const dev = await attachLoop(probe)
        await detachLoop(dev)
        return undefined
      } catch (e) {
        const err = e as { code?: unknown; stderr?: unknown; message?: unknown }
        return err.code === 'ENOENT'
          ? 'losetup is not installed (util-linux): no loop device to stand for a block device that is not SCSI'
          : `losetup cannot attach a loop device on this host: ${String(err.stderr ?? err.message).trim()}`
      } finally {
        await rm(probe, { force: true })
      }
    }
  }
}

/** Attaches `image` to a free loop device (`losetup --find --show`) and returns its path. */
const attachLoop = async (image: string): Promise<string> => {
  const { stdout } = await execFileP('losetup', ['--find', '--show', image])
  const dev = stdout.trim()
  assert.ok(dev.startsWith('/dev/'), `losetup printed no device: ${JSON.stringify(stdout)}`)
  return dev
}

const detachLoop = async (dev: string): Promise<void> => {
  await execFileP('losetup', ['-d', dev])
}

let taps = 0
/** A tap interface name unique to this process (at most 15 characters). */
const tapName = (): string => `dpt${process.pid % 100000}x${taps++}`

const skipLoudly = (name: string, why: string): void => {
  process.stderr.write(`\nSKIPPED ${name}: ${why}\n`)
}

const runCase = async (c: MatrixCase, qemu: QemuVersion, label: string): Promise<void> => {
  const tmp = await tempDir()
  const loops = new Map<string, string>()
  const made = new Map<string, string>()
  try {
    const env: Env = {
      tap: (name) => {
        const dev = made.get(name)
        if (dev === undefined) throw new Error(`${name} is not among the taps of ${c.name}`)
        return dev
      },
      qemu: qemuPath(),
      path: (name) => join(tmp.path, name),
      device: (name) => {
        const dev = loops.get(name)
        if (dev === undefined) throw new Error(`${name} is not among the blockDevices of ${c.name}`)
        return dev
      }
    }
    for (const need of c.needs ?? []) {
      const why = await hostLacks(need, tmp.path)
      if (why !== undefined) {
        assert.ok(process.env['CI'] !== 'true', `${c.name}: ${why} (CI=true requires it)`)
        skipLoudly(`${c.name} [${label}]`, why)
        return
      }
    }
    await prepare(c, env)
    for (const name of c.blockDevices ?? []) loops.set(name, await attachLoop(env.path(name)))
    for (const name of c.taps ?? []) {
      const dev = tapName()
      await execFileP('ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap'])
      made.set(name, dev)
    }
    const spec = c.spec(env)
    if (c.expect._tag === 'invalid') {
      const decoded = decodeInstance(spec)
      assert.ok(E.isLeft(decoded) && decoded.left._tag === 'InvalidInput', `decoding should refuse the spec, got ${str(decoded)}`)
      if (E.isLeft(decoded) && decoded.left._tag === 'InvalidInput') {
        assert.equal(sorted(decoded.left.errors.map((e) => e.path)), sorted(c.expect.paths), formatError(decoded.left))
      }
      return
    }
    const result = plan(spec, qemu)
    // The same instance must give the same tree whatever syntax the target reads.
    if (qemu !== qemuVersion) {
      const json = plan(spec, qemuVersion)
      // The block graphs differ by design: 6.0 cannot take a throttle group (JSON -object), so
      // its disks have no filter on top. Every place is the same.
      const placed = E.map((t: DeviceTree) => ({ ...t, qemu: null, warnings: null, disks: t.disks.map((d) => ({ ...d, graph: null })) }))
      assert.equal(placed(result), placed(json), `same tree for 6.0 and ${TARGETS[0]?.label ?? ''}`)
    }
    if (c.expect._tag === 'busFull') {
      assert.ok(E.isLeft(result), `planning should fail, got ${str(result)}`)
      if (E.isLeft(result)) {
        assert.equal(result.left, { ...result.left, _tag: 'BusFull', bus: c.expect.bus, device: c.expect.device }, formatError(result.left))
        assert.match(formatError(result.left), c.expect.device)
      }
      return
    }
    const tree = unwrap(c.name, result)
    const qmpSocket = join(tmp.path, 'plan.qmp')
    const argv = renderArgv(tree, { qmpSocket, accel: 'tcg' })
    if (c.expect._tag === 'refused') {
      const stderr = await startQemuExpectFailure(argv, { dir: tmp.path })
      for (const m of c.expect.mentions) assert.ok(stderr.includes(m), `QEMU's error should mention ${m}: ${stderr}`)
      return
    }
    await withQemu(
      argv,
      async (vm) => {
        await assertMatchesPlan(vm, tree)
        await assertMachineMatches(qmpSocket, tree)
        assert.is(vm.stderr(), '', 'QEMU wrote nothing to stderr')
      },
      { dir: tmp.path }
    )
  } finally {
    try {
      for (const dev of loops.values()) await detachLoop(dev)
      for (const dev of made.values()) await execFileP('ip', ['tuntap', 'del', 'dev', dev, 'mode', 'tap'])
    } finally {
      await tmp.cleanup()
    }
  }
}

// ---------------------------------------------------------------------------------------------

const qemu = qemuSuite('instances')

for (const c of MATRIX) {
  for (const t of TARGETS) qemu(`${c.name} [${t.label}]`, () => runCase(c, t.qemu, t.label))
}

qemu('the matrix covers every disk_type, nic_type, controller, cache, aio, boot order and driver', () => {
  assert.ok(MATRIX.length >= 18, `${MATRIX.length} cases`)
  const env: Env = { qemu: '/usr/bin/qemu-system-x86_64', path: (name) => join('/matrix', name), device: (name) => join('/dev/matrix', name), tap: (name) => `tap-${name}` }
  const instances = MATRIX.filter((c) => c.expect._tag !== 'invalid').map((c) => unwrap(c.name, decodeInstance(c.spec(env))))
  const used = (key: keyof Instance['hvparams']): ReadonlySet<unknown> => new Set(instances.map((i) => i.hvparams[key]))
  const lists: ReadonlyArray<readonly [keyof Instance['hvparams'], ReadonlyArray<string>]> = [
    ['disk_type', DISK_TYPES],
    ['nic_type', NIC_TYPES],
    ['scsi_controller_type', SCSI_CONTROLLER_TYPES],
    ['disk_cache', DISK_CACHES],
    ['disk_aio', DISK_AIOS],
    ['boot_order', BOOT_ORDERS]
  ]
  for (const [key, values] of lists) {
    assert.equal(values.filter((v) => !used(key).has(v)), [], `${key} values no case uses`)
  }
  const drivers = new Set(instances.flatMap((i) => E.fold(() => [], (t: DeviceTree) => allDevices(t).map((d) => hv(d).driver))(planDevices(i, { qemu: qemuVersion }))))
  assert.equal(sorted(Object.keys(QOM_TYPE).filter((d) => !drivers.has(d))), [], 'drivers no case plans')
})

// ---------------------------------------------------------------------------------------------
// A disk served by qemu-nbd over a unix socket.



for (const t of TARGETS) {
  qemu(`nbd disk over a unix socket (qemu-nbd) [${t.label}]`, async () => {
    const tmp = await tempDir()
    try {
      const image = await makeImage(tmp.path, 'exported.raw', 'raw')
      await withNbd(tmp.path, image, async (socket) => {
        const spec = {
          name: 'nbd.example.com',
          uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
          memory: 64,
          hvparams: { kvm_path: qemuPath(), disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci' },
          disks: [{ uuid: diskUuid(1), uri: `nbd+unix:///?socket=${socket}` }]
        }
        const tree = unwrap('nbd', plan(spec, t.qemu))
        const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'plan.qmp'), accel: 'tcg' })
        await withQemu(
          argv,
          async (vm) => {
            await assertMatchesPlan(vm, tree)
            await assertMachineMatches(join(tmp.path, 'plan.qmp'), tree)
            const nodes = await reportedNodes(vm)
            assert.ok(nodes.some((n) => n.drv === 'nbd'), `an nbd node: ${str(nodes)}`)
          },
          { dir: tmp.path }
        )
      })
    } finally {
      await tmp.cleanup()
    }
  })
}

// ---------------------------------------------------------------------------------------------
// A CD-ROM read over http by QEMU's curl driver (module block-curl, package qemu-block-extra).

interface IsoServer {
  readonly url: string
  readonly requests: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/** Serves one file at `urlPath` with HEAD and single byte ranges, as the curl driver needs. */
const serveFile = async (file: string, urlPath: string): Promise<IsoServer> => {
  const body = await readFile(file)
  const requests: string[] = []
  const server = http.createServer(rangeHandler(body, urlPath, requests))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${urlPath}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** Large enough for the curl driver to read it in several ranges. */
const ISO_MIB = 4

/** How QEMU says that the curl block module (block-curl.so) could not be loaded. */
const CURL_MISSING = /Unknown (driver|protocol):? '?https?'?|block-curl|Failed to open module/i

for (const t of TARGETS) {
  qemu(`http CD-ROM through the curl driver, served with HEAD and Range [${t.label}]`, async () => {
    const tmp = await tempDir()
    try {
      const iso = join(tmp.path, 'debian-12.iso')
      const isoBytes = Buffer.alloc(ISO_MIB * 1024 * 1024)
      for (let i = 0; i < isoBytes.length; i++) isoBytes[i] = i % 251
      await writeFile(iso, isoBytes)
      const server = await serveFile(iso, '/images/debian-12,file.driver=nbd.iso')
      try {
        const spec = {
          name: 'http.example.com',
          uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
          memory: 64,
          hvparams: { kvm_path: qemuPath(), cdrom_image_path: server.url, cdrom_disk_type: 'ide', boot_order: 'cdrom' }
        }
        const tree = unwrap('http', plan(spec, t.qemu))
        assert.ok(
          tree.cdroms[0]?.graph.nodes.some((n) => n.driver === 'http'),
          `the CD-ROM is planned over an http node: ${str(tree.cdroms)}`
        )
        const argv = renderArgv(tree, { qmpSocket: join(tmp.path, 'plan.qmp'), accel: 'tcg' })
        const run = withQemu(
          argv,
          async (vm) => {
            await assertMatchesPlan(vm, tree)
            await assertMachineMatches(join(tmp.path, 'plan.qmp'), tree)
            // Paused, QEMU only asked for the size. Copying the CD-ROM to a local image with a
            // backup job makes it read every byte through the curl driver, in ranges.
            const copy = await makeImage(tmp.path, 'copy.raw', 'raw', ISO_MIB)
            await vm.qmp.executeOk('blockdev-add', { driver: 'raw', 'node-name': 'copy', file: { driver: 'file', filename: copy } })
            await vm.qmp.executeOk('blockdev-backup', { 'job-id': 'copy', device: 'cdrom1', target: 'copy', sync: 'full' })
            const done = (): QmpEvent | undefined => vm.qmp.events().find((e) => e.event === 'BLOCK_JOB_COMPLETED' && isRecord(e.data) && e.data['device'] === 'copy')
            await waitFor(() => done() !== undefined, 10_000, 'the backup job reading the http CD-ROM')
            const data = done()?.data
            assert.ok(isRecord(data) && data['error'] === undefined, `backup job: ${str(data)}`)
            assert.ok((await readFile(copy)).equals(isoBytes), 'the CD-ROM read over http has the served bytes')
          },
          { dir: tmp.path }
        )
        const outcome = await run.then(
          () => undefined,
          (e: unknown) => e
        )
        if (outcome instanceof Error && CURL_MISSING.test(outcome.message)) {
          const why = `QEMU's curl block driver is not installed (apt-get install qemu-block-extra): ${outcome.message.split('\n')[0] ?? ''}`
          assert.ok(process.env['CI'] !== 'true', `${why} (CI=true requires it)`)
          skipLoudly('http CD-ROM', why)
          return
        }
        if (outcome !== undefined) throw outcome
        assert.ok(server.requests().some((r) => r.startsWith('HEAD ')), `QEMU asked the server for the size: ${str(server.requests())}`)
        assert.ok(server.requests().filter((r) => r.startsWith('GET ') && r.includes('bytes=')).length > 1, `QEMU read byte ranges: ${str(server.requests())}`)
        if (process.env['DEBUG_HTTP'] !== undefined) process.stderr.write(`http requests: ${str(server.requests())}\n`)
      } finally {
        await server.close()
      }
    } finally {
      await tmp.cleanup()
    }
  })
}

// ---------------------------------------------------------------------------------------------
// The example of `npm start`: its argv starts a real QEMU, and the printed command is that argv.

const EXAMPLE_DIR = '/tmp/qemu-devplan-example'
const repoRoot = new URL('../../', import.meta.url).pathname

qemu('examples/instance.json: the argv npm start prints starts QEMU 7.2 and matches the plan', async () => {
  const hadDir = existsSync(EXAMPLE_DIR)
  const tmp = await tempDir()
  try {
    await execFileP('sh', [join(repoRoot, 'examples/make-example-images.sh')])
    const doc: unknown = JSON.parse(readFileSync(join(repoRoot, 'examples/instance.json'), 'utf8'))
    assert.ok(isRecord(doc) && isRecord(doc['render']))
    const render = doc['render']
    assert.ok(typeof render['qmpSocket'] === 'string' && render['accel'] === 'tcg', str(render))
    const qmpSocket = render['qmpSocket']
    const target = unwrap('target', decodeTarget(doc['target']))
    const tree = unwrap(
      'example',
      pipe(
        decodeInstance(doc['instance']),
        E.chain((i) => planDevices(i, target))
      )
    )
    const argv = renderArgv(tree, { qmpSocket, accel: 'tcg' })

    // What `npm start` prints, read back by a shell, is exactly this argv.
    const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples/plan-instance.ts'), join(repoRoot, 'examples/instance.json')], { cwd: repoRoot })
    // The argv block: after the '# boot:' line's blank line, up to the next blank line (the QMP plans follow).
    const start = stdout.indexOf('\n\n', stdout.indexOf('# boot:')) + 2
    const end = stdout.indexOf('\n\n', start)
    const printed = stdout.slice(start, end < 0 ? undefined : end)
    const words = await execFileP('sh', ['-c', `printf '%s\\0' ${printed}`])
    assert.equal(words.stdout.split('\0').slice(0, -1), [...argv], 'the printed command line, word by word')

    await withQemu(
      argv,
      async (vm) => {
        await assertMatchesPlan(vm, tree)
        await assertMachineMatches(qmpSocket, tree)
      },
      { dir: tmp.path }
    )
  } finally {
    await tmp.cleanup()
    if (!hadDir) await rm(EXAMPLE_DIR, { recursive: true, force: true })
    else await rm(join(EXAMPLE_DIR, 'web1.qmp'), { force: true })
  }
})

qemu.run()
