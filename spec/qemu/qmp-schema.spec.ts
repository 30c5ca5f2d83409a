/**
 * Every QMP command the library can emit, checked against the schema of a real QEMU: the one
 * `query-qmp-schema` returns (fetched here, never checked in) and, for the device properties
 * `device_add` passes on to qdev, `device-list-properties` of each driver. One QEMU is started
 * (lazily, inside the first test that needs it) and serves every test.
 *
 * What is emitted: each constructor of lib/qmp/commands.ts with representative arguments, and
 * every step and undo of the plans planHotAdd / planHotRemove produce over a matrix of runtimes
 * (each hot-pluggable disk_type, disk_cache, disk_aio, SCSI controller, disk source and NIC
 * backend) — including removals of records Ganeti wrote (no recorded nodes or netdev) — and of
 * the CD-ROM medium changes planChangeMedium produces (change, eject, insert into an empty drive),
 * and of the start plans planStart produces (VNC password or not, SPICE password, balloon or not,
 * from a tree and from a runtime), and of the migration plans planMigrate and planIncoming produce
 * (live and non-live, defer and a fixed URI, every capability this QEMU has and does not deprecate).
 */
import { diskId, started, uuidN } from './graph-support.js'
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import {
  decodeDisk,
  decodeInstance,
  decodeNic,
  formatError,
  planDevices,
  planChangeMedium,
  planHotAdd,
  planHotRemove,
  planStart,
  planMigrate,
  planIncoming,
  MIGRATION_CAPABILITIES,
  type CapabilityLife,
  renderArgv,
  runtimeStartFacts,
  secret,
  startFacts,
  toRuntime,
  type BlockdevOptions,
  type DevplanError,
  lifecycle,
  CHANGES,
  type ChangeName,
  type PlanWarning,
  type QmpPlan,
  type Runtime,
  stepCommand,
  undoCommands,
  planThrottle,
  planResize,
  planSnapshot,
  planMirror,
  planClone
} from '../../lib/index.js'
import * as qmp from '../../lib/qmp/commands.js'
import type { QmpCommand } from '../../lib/qmp/executor.js'
import {
  decodeDeviceProperties,
  decodeSchema,
  extraArguments,
  showError,
  validateCommand,
  validateDeviceProperties,
  type DeviceProperty,
  type QapiSchema,
  type ValidationError,
  type WireCommand
} from '../support/qapi-schema.js'
import { qemuPath, qemuSuite, qemuVersion, withQemu } from './harness.js'
import { runtimeOf } from '../support/either.js'

const test = qemuSuite('qmp-schema')

// ---------------------------------------------------------------------------------------------
// What the library emits (pure: no QEMU needed to compute it).

/** One emitted command, where it came from (for failure messages) and its plan's warnings. */
interface Emitted {
  readonly origin: string
  readonly command: QmpCommand
  /** The warnings of the plan it belongs to; absent for a bare constructor call. */
  readonly warnings?: ReadonlyArray<PlanWarning>
}

const right = <A>(what: string, e: E.Either<DevplanError, A>): A => {
  if (E.isLeft(e)) throw new Error(`${what}: ${e.left._tag}: ${formatError(e.left)}`)
  return e.right
}

/** The constructors of lib/qmp/commands.ts: its exports that return a QmpCommand. */
type Constructors = {
  readonly [K in keyof typeof qmp as (typeof qmp)[K] extends (...args: never[]) => QmpCommand ? K : never]: (typeof qmp)[K]
}

/** Argument lists per constructor. A constructor added to commands.ts without calls here is a type error. */
type ConstructorCalls = { readonly [K in keyof Constructors]: ReadonlyArray<Parameters<Constructors[K]>> }

const cache = { direct: true, 'no-flush': false } as const
const sampleNodes: ReadonlyArray<BlockdevOptions> = [
  { driver: 'file', 'node-name': 'n-file', filename: '/srv/a.raw', aio: 'native', cache, discard: 'unmap' },
  { driver: 'host_device', 'node-name': 'n-dev', filename: '/dev/vg0/a', 'read-only': true },
  { driver: 'host_cdrom', 'node-name': 'n-cd', filename: '/dev/sr0', 'read-only': true },
  { driver: 'http', 'node-name': 'n-http', url: 'http://img.example.com/a.iso', 'read-only': true },
  { driver: 'https', 'node-name': 'n-https', url: 'https://img.example.com/a.iso', 'read-only': true },
  { driver: 'rbd', 'node-name': 'n-rbd', pool: 'rbd', image: 'a', snapshot: 's1', user: 'admin', conf: '/etc/ceph/ceph.conf' },
  { driver: 'gluster', 'node-name': 'n-gl', volume: 'vol0', path: 'images/a.img', server: [{ type: 'inet', host: 'gl1', port: '24007' }, { type: 'unix', path: '/run/gl.sock' }] },
  { driver: 'nbd', 'node-name': 'n-nbd', server: { type: 'inet', host: 'nbd1', port: '10809' }, export: 'a' },
  { driver: 'nbd', 'node-name': 'n-nbdu', server: { type: 'unix', path: '/run/nbd.sock' } },
  { driver: 'iscsi', 'node-name': 'n-iscsi', transport: 'tcp', portal: 'san:3260', target: 'iqn.2001-04.com.example:t', lun: 1 },
  { driver: 'raw', 'node-name': 'n-raw', file: 'n-file', cache, discard: 'ignore' },
  { driver: 'qcow2', 'node-name': 'n-qcow2', file: 'n-dev', backing: 'n-raw', 'read-only': true }
]

const constructorCalls: ConstructorCalls = {
  blockdevAdd: sampleNodes.map((n) => [n] as const),
  blockdevDel: [['n-qcow2']],
  deviceAdd: [
    [{ driver: 'virtio-blk-pci', id: 'disk-a', bus: 'pci.0', addr: '0x10', drive: 'n-qcow2', 'write-cache': 'on' }],
    [{ driver: 'scsi-hd', id: 'disk-b', bus: 'scsi.0', channel: 0, 'scsi-id': 1, lun: 0, drive: 'n-raw', 'write-cache': 'off' }],
    [{ driver: 'virtio-net-pci', id: 'nic-a', bus: 'pci.0', addr: '0x11', netdev: 'nic-a', mac: 'aa:00:00:00:00:01', mq: true, vectors: 10 }]
  ],
  deviceDel: [['disk-a']],
  netdevAdd: [[{ type: 'user', id: 'nic-a' }], [{ type: 'tap', id: 'nic-b', fds: 'f0:f1', vhost: true, vhostfds: 'v0:v1' }]],
  netdevDel: [['nic-a']],
  getfd: [['nic-a-0']],
  closefd: [['nic-a-0']],
  addFd: [[], [3], [3, 'disk-a'], [undefined, 'disk-a']],
  removeFd: [[3], [3, 42]],
  queryPci: [[]],
  queryBlock: [[]],
  queryNamedBlockNodes: [[]],
  qomList: [['/machine/peripheral']],
  qomGet: [['/machine/peripheral/disk-a', 'addr']],
  blockdevOpenTray: [['cdrom0'], ['cdrom0', false]],
  blockdevRemoveMedium: [['cdrom0']],
  blockdevInsertMedium: [['cdrom0', 'n-cd']],
  blockdevCloseTray: [['cdrom0']],
  queryCommands: [[]],
  setPassword: [['vnc', 'not-a-secret'], ['spice', 'not-a-secret']],
  balloon: [[192 * 1024 * 1024]],
  cont: [[]],
  migrateSetCapabilities: [[[{ capability: 'events', state: true }, { capability: 'xbzrle', state: false }]], [[]]],
  migrateSetParameters: [[{ 'max-bandwidth': 32 * 1024 * 1024, 'downtime-limit': 30, 'max-postcopy-bandwidth': 32 * 1024 * 1024 }], [{ 'downtime-limit': 300 }]],
  migrate: [['tcp:127.0.0.1:8102'], ['unix:/run/vm1.migrate']],
  migrateIncoming: [['tcp:127.0.0.1:8102']],
  migrateCancel: [[]],
  queryMigrate: [[]],
  queryMigrateCapabilities: [[]],
  queryMigrateParameters: [[]],
  stop: [[]],
  queryStatus: [[]]
}

const constructorCommands = (): ReadonlyArray<Emitted> =>
  (Object.keys(constructorCalls) as Array<keyof ConstructorCalls>).flatMap((name) => {
    const f = qmp[name] as (...args: ReadonlyArray<unknown>) => QmpCommand
    const calls: ReadonlyArray<ReadonlyArray<unknown>> = constructorCalls[name]
    if (calls.length === 0) throw new Error(`no representative call for qmp.${name}`)
    return calls.map((args, i) => ({ origin: `qmp.${name} call ${i}`, command: f(...args) }))
  })

/** A runtime as recorded at start for an instance with no disks and no NICs (cmd is its argv). */
const bareRuntime = (hvparams: Readonly<Record<string, string | number | boolean>>): Runtime => {
  const hv = { kernel_path: '/boot/vmlinuz', kvm_path: qemuPath(), ...hvparams }
  const inst = right(`instance ${JSON.stringify(hv)}`, decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 128, hvparams: hv }))
  // With the host's master key: a hot-added secret may then be encrypted data.
  const tree = right('planDevices', planDevices(inst, { qemu: qemuVersion, host: { chrootDir: '', poolUser: '', secretMasterKey: '/etc/qemu-devplan/master.key' } }))
  // Stamped as this library records it, so that hot-add plans know the QEMU they are for.
  const stamp = { format: 1, writer: 'qemu-devplan/spec', qemu: `${qemuVersion.major}.${qemuVersion.minor}.${qemuVersion.micro}` }
  return runtimeOf({ cmd: renderArgv(tree, { qmpSocket: '/run/vm1.qmp', accel: 'tcg' }), nics: [], hvparams: hv, disks: [], stamp })
}

let serial = 0
const nextUuid = (): string => `${(0x10000000 + ++serial).toString(16)}-1111-4222-8333-444455556666`
const mac = (): string => `aa:00:00:00:${((serial >> 8) & 0xff).toString(16).padStart(2, '0')}:${(serial & 0xff).toString(16).padStart(2, '0')}`

/** Disk specs (as `decodeDisk` takes them) over every source the library can open. */
const DISK_SOURCES: ReadonlyArray<Readonly<Record<string, unknown>>> = [
  { path: '/srv/vm1/disk.raw' },
  { path: '/srv/vm1/disk-ro.raw', mode: 'ro', kind: 'file' },
  { path: '/dev/vg0/disk' },
  { path: '/srv/vm1/disk.qcow2', format: 'qcow2' },
  {
    path: '/srv/vm1/overlay.qcow2',
    format: 'qcow2',
    backing: [
      { path: '/srv/base/mid.qcow2', format: 'qcow2' },
      { path: '/dev/vg0/base', format: 'raw' }
    ]
  },
  { uri: 'rbd:rbd/vm1-disk0' },
  { uri: 'rbd:pool1/vm1-disk1@snap1:id=admin:conf=/etc/ceph/ceph.conf', format: 'qcow2' },
  { uri: 'gluster://gl1.example.com/vol0/images/vm1.img' },
  { uri: 'gluster+tcp://[2001:db8::1]:24008/vol0/vm1.img' },
  { uri: 'gluster+unix:///vol0/dir/vm1.img?socket=/run/glusterd.socket' },
  { uri: 'nbd://nbd.example.com:10810/vm1-export' },
  { uri: 'nbd://nbd.example.com' },
  { uri: 'nbd+unix:///vm1-export?socket=/run/nbd.sock' },
  { uri: 'iscsi://san.example.com:3260/iqn.2001-04.com.example:storage.vm1/1' },
  { uri: 'iscsi://san.example.com/iqn.2001-04.com.example:storage.vm1/0', mode: 'ro' },
  // Since 0.3.0: typed sources, with secrets and TLS credentials as objects, and curl disks.
  { source: { driver: 'rbd', pool: 'rbd', image: 'vm1 disk', user: 'admin', conf: '/etc/ceph/ceph.conf', server: [{ host: 'mon1', port: 6789 }, { host: 'mon2', port: 6789 }], key: { file: '/etc/ceph/key', format: 'base64' } } },
  { source: { driver: 'rbd', pool: 'rbd', namespace: 'ns', image: 'a', key: { data: 'c2VjcmV0', iv: 'aXYxMjM0NTY3ODkwMTIzNA==' } } },
  { source: { driver: 'gluster', volume: 'vol0', path: 'vm1.img', server: [{ type: 'inet', host: 'gl1', port: 24007 }, { type: 'unix', path: '/run/gd.sock' }] } },
  { uri: 'gluster+rdma://gl1.example.com/vol0/vm1.img' },
  { source: { driver: 'nbd', server: { type: 'inet', host: 'nbd1', port: 10809 }, export: 'e', tls: { dir: '/etc/pki/qemu', hostname: 'nbd1.example.com' } } },
  { source: { driver: 'iscsi', portal: 'san:3260', target: 'iqn.2001-04.com.example:s', lun: 1, user: 'u', password: { file: '/etc/iscsi/pw' }, 'initiator-name': 'iqn.2001-04.com.example:h', 'header-digest': 'crc32c-none' } },
  { uri: 'http://images.example.com/vm1.raw', mode: 'ro' },
  { source: { driver: 'https', url: 'https://images.example.com/vm1.qcow2', sslverify: false }, mode: 'ro', format: 'qcow2' }
]

/**
 * What the pass-through frontends take: raw host block devices (a /dev/ path or kind "block"),
 * no backing chain, no URI — decoding and planHotAdd refuse anything else, as QEMU does.
 */
const PASSTHROUGH_SOURCES: Readonly<Record<string, ReadonlyArray<Readonly<Record<string, unknown>>>>> = {
  'scsi-block': [{ path: '/dev/sdb' }, { path: '/dev/sdc', mode: 'ro', format: 'raw' }, { path: '/srv/luns/lun0', kind: 'block' }, { path: '/dev/disk/by-id/scsi-36001405a1b2c3d4', kind: 'block' }],
  'scsi-generic': [{ path: '/dev/sg0' }, { path: '/dev/sg1', mode: 'ro', format: 'raw' }, { path: '/srv/luns/sg2', kind: 'block' }]
}

const sourcesFor = (diskType: string): ReadonlyArray<Readonly<Record<string, unknown>>> => PASSTHROUGH_SOURCES[diskType] ?? DISK_SOURCES

/** At most this many devices per runtime: the smallest SCSI bus (lsi) has 7 targets. */
const CHUNK = 5

const chunks = <A>(xs: ReadonlyArray<A>, n: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n))

/** The commands of a plan: every step, and every undo. */
const planCommands = <R>(plan: QmpPlan<R>, origin: string): ReadonlyArray<Emitted> =>
  plan.steps.flatMap((s, i): ReadonlyArray<Emitted> => {
    const at = `${origin}: step ${i} (${s.description})`
    // The runner sends an unplug step as this device_del (lib/qmp/runner.ts).
    const sent = stepCommand(s)
    const warnings = plan.warnings
    return [...(sent === undefined ? [] : [{ origin: at, command: sent, warnings }]), ...undoCommands(s).map((command) => ({ origin: `${at} undo`, command, warnings }))]
  })

/** Hot-adds `requests` one after the other, then removes them again (in reverse order). */
const addAndRemove = (
  start: Runtime,
  requests: ReadonlyArray<Parameters<typeof planHotAdd>[1]>,
  label: string
): { readonly emitted: ReadonlyArray<Emitted>; readonly full: Runtime } => {
  const emitted: Emitted[] = []
  let rt = start
  const ids: string[] = []
  for (const req of requests) {
    const id = 'disk' in req ? req.disk.id : req.nic.id
    const plan = right(`${label}: planHotAdd ${id}`, planHotAdd(rt, req))
    emitted.push(...planCommands(plan, `${label}: ${plan.title}`))
    ids.push(id)
    rt = plan.after
  }
  const full = rt
  for (const id of [...ids].reverse()) {
    const plan = right(`${label}: planHotRemove ${id}`, planHotRemove(rt, id))
    emitted.push(...planCommands(plan, `${label}: ${plan.title}`))
    rt = plan.after
  }
  return { emitted, full }
}

/**
 * The removal of every device of `rt` as if Ganeti had written its record: no `blockdev`
 * (the nodes follow from link and hvparams) and no `netdev`.
 */
const removeAsGaneti = (rt: Runtime, label: string): ReadonlyArray<Emitted> => {
  // Ganeti records a disk by its link or uri; a typed source (this library's own) has neither.
  const legacy: Runtime = {
    ...rt,
    disks: rt.disks.filter((d) => d.link !== '' || d.uri !== null).map((d) => ({ ...d, blockdev: undefined })),
    nics: rt.nics.map((n) => ({ ...n, netdev: undefined }))
  }
  const ids = [...legacy.disks, ...legacy.nics].flatMap((d) => (d.placed === undefined ? [] : [d.placed.id]))
  return ids.flatMap((id) => {
    const plan = right(`${label}: planHotRemove ${id} (Ganeti record)`, planHotRemove(legacy, id))
    return planCommands(plan, `${label} (Ganeti record): ${plan.title}`)
  })
}

const HOTPLUG_DISK_TYPES = ['paravirtual', 'scsi-hd', 'scsi-cd', 'scsi-block', 'scsi-generic'] as const
const CACHES = ['default', 'writeback', 'writethrough', 'none', 'directsync', 'unsafe'] as const
const CONTROLLERS = ['lsi', 'megasas', 'virtio-scsi-pci'] as const
const PCI_NIC_TYPES = ['paravirtual', 'e1000', 'i82551', 'i82557b', 'i82559er', 'ne2k_pci', 'pcnet', 'rtl8139'] as const

/** `native` needs O_DIRECT (cache none/directsync); the others go with any cache. */
const aiosFor = (c: (typeof CACHES)[number]): ReadonlyArray<string> => (c === 'none' || c === 'directsync' ? ['native', 'threads', 'io_uring'] : ['threads', 'io_uring'])

const diskPlans = (): ReadonlyArray<Emitted> =>
  HOTPLUG_DISK_TYPES.flatMap((diskType, t) =>
    CACHES.flatMap((diskCache, c) =>
      aiosFor(diskCache).flatMap((aio, a) => {
        const hv = {
          disk_type: diskType,
          disk_cache: diskCache,
          disk_aio: aio,
          disk_discard: (t + c + a) % 2 === 0 ? 'ignore' : 'unmap',
          scsi_controller_type: CONTROLLERS[(t + c + a) % CONTROLLERS.length] ?? 'lsi'
        }
        const label = `disks ${JSON.stringify(hv)}`
        return chunks(sourcesFor(diskType), CHUNK).flatMap((group, g) => {
          const disks = group.map((src) => ({ disk: right(`decodeDisk ${JSON.stringify(src)}`, decodeDisk({ uuid: nextUuid(), ...src })) }))
          const { emitted, full } = addAndRemove(bareRuntime(hv), disks, `${label} #${g}`)
          return [...emitted, ...removeAsGaneti(full, `${label} #${g}`)]
        })
      })
    )
  )

type NicBackendSpec = Readonly<Record<string, unknown>>

const tapFds = (queues: number, vhost: boolean): NicBackendSpec => {
  const fds = Array.from({ length: queues }, (_, i) => 20 + i)
  return vhost ? { type: 'tap', fds, vhostfds: fds.map((f) => f + 10) } : { type: 'tap', fds }
}

const nicPlans = (): ReadonlyArray<Emitted> => {
  const cases: ReadonlyArray<{ readonly hv: Readonly<Record<string, string | number | boolean>>; readonly backends: ReadonlyArray<NicBackendSpec> }> = [
    // paravirtual: one and four queues, with and without vhost (fds with and without vhostfds);
    // the queues count only with vhost, as in Ganeti: one fd without it
    ...[1, 4].flatMap((queues) =>
      [false, true].map((vhost) => ({
        hv: { nic_type: 'paravirtual', virtio_net_queues: queues, vhost_net: vhost },
        backends: [tapFds(vhost ? queues : 1, false), ...(vhost ? [tapFds(queues, true)] : []), { type: 'tap', ifname: 'tap-vm1' }, { type: 'user' }]
      }))
    ),
    // every other PCI model: one queue, no vhost (vhost_net and the queues ignored, as in Ganeti)
    ...PCI_NIC_TYPES.filter((n) => n !== 'paravirtual').map((nicType, i) => ({
      hv: i === 0 ? { nic_type: nicType, vhost_net: true, virtio_net_queues: 4 } : { nic_type: nicType },
      backends: [tapFds(1, false), { type: 'tap', ifname: 'tap-vm1' }, { type: 'user' }]
    }))
  ]
  return cases.flatMap(({ hv, backends }) => {
    const label = `nics ${JSON.stringify(hv)}`
    const nics = backends.map((backend) => ({ nic: right(`decodeNic ${JSON.stringify(backend)}`, decodeNic({ uuid: nextUuid(), mac: mac(), backend })) }))
    const { emitted, full } = addAndRemove(bareRuntime(hv), nics, label)
    return [...emitted, ...removeAsGaneti(full, label)]
  })
}

/** Medium changes, one after the other, on every CD-ROM of runtimes with ide and scsi-cd drives. */
const mediaPlans = (): ReadonlyArray<Emitted> => {
  const locations: ReadonlyArray<string | null> = ['/srv/iso/second.iso', 'https://img.example.com/third.iso', null, 'http://img.example.com/fourth.iso', '/dev/sr0', null, null]
  return (['ide', 'scsi-cd'] as const).flatMap((cdType) =>
    ['/srv/iso/first.iso', 'https://img.example.com/first.iso'].flatMap((first) => {
      const hv = { cdrom_disk_type: cdType, cdrom_image_path: first, cdrom2_image_path: '/dev/sr1', disk_type: cdType === 'ide' ? 'paravirtual' : 'scsi-hd' }
      const label = `media ${JSON.stringify(hv)}`
      return ['cdrom1', 'cdrom2'].flatMap((id) => {
        let rt = bareRuntime(hv)
        return locations.flatMap((location) => {
          const plan = right(`${label}: planChangeMedium ${id} ${String(location)}`, planChangeMedium(rt, id, location))
          rt = plan.after
          return planCommands(plan, `${label}: ${plan.title}`)
        })
      })
    })
  )
}

/**
 * Start plans: with and without the VNC password, with the SPICE password, with and without
 * ballooning, from the tree and from the runtime recorded for it.
 */
const startPlans = (): ReadonlyArray<Emitted> => {
  const displays: ReadonlyArray<readonly [Readonly<Record<string, string>>, 'vnc' | 'spice' | undefined]> = [
    [{ vnc_bind_address: '/run/vnc' }, undefined],
    [{ vnc_bind_address: '/run/vnc', vnc_password_file: '/etc/vnc.pw' }, 'vnc'],
    [{ spice_bind: '127.0.0.1', spice_password_file: '/etc/spice.pw' }, 'spice']
  ]
  return displays.flatMap(([display, protocol]) => {
    const hv = { kernel_path: '/boot/vmlinuz', kvm_path: qemuPath(), ...display }
    const inst = right(`instance ${JSON.stringify(hv)}`, decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 256, network_port: 5901, hvparams: hv }))
    const tree = right('planDevices', planDevices(inst, { qemu: qemuVersion }))
    const rt = right('toRuntime', toRuntime(inst, tree, { qmpSocket: '/run/vm1.qmp', accel: 'tcg' }))
    const facts = [['tree', startFacts(tree)], ['runtime', right('runtimeStartFacts', runtimeStartFacts(rt))]] as const
    return facts.flatMap(([from, f]) =>
      [192, 256].flatMap((startupMemory) => {
        const plan = right(`planStart from the ${from}`, planStart(f, { startupMemory, ...(protocol === undefined ? {} : { passwords: { [protocol]: secret('not-a-secret') } }) }))
        return planCommands(plan, `start from the ${from} (${plan.title})`)
      })
    )
  })
}

/**
 * The capabilities this QEMU has, does not deprecate and does not call unstable: the plans give
 * no warning for those (the library accepts them, as Ganeti passes them on).
 */
const usableCapabilities = (): ReadonlyArray<string> =>
  Object.entries(MIGRATION_CAPABILITIES).flatMap(([name, life]) => {
    const l: CapabilityLife = life
    const at = (r: { readonly major: number; readonly minor: number } | undefined): boolean =>
      r !== undefined && (qemuVersion.major > r.major || (qemuVersion.major === r.major && qemuVersion.minor >= r.minor))
    return (l.since === undefined || at(l.since)) && !at(l.removed) && !at(l.deprecated) && l.unstable !== true ? [name] : []
  })

/**
 * Migration plans: the source's (live and non-live) and the target's (listen with defer and with
 * a fixed URI, finish with and without resume), with no capability and with every one this QEMU has.
 */
const migrationPlans = (): ReadonlyArray<Emitted> => {
  const caps = usableCapabilities()
  const early = new Set(['multifd', 'postcopy-preempt'])
  return ([[], caps] as const).flatMap((set) =>
    (['live', 'non-live'] as const).flatMap((mode) => {
      const hv = { migration_mode: mode, migration_caps: set.join(':'), migration_bandwidth: 64, migration_downtime: 100 }
      const rt = bareRuntime({})
      const label = `migration ${JSON.stringify(hv)}`
      const source = right(`${label}: planMigrate`, planMigrate(rt, { uri: 'tcp:127.0.0.1:8102', target: qemuVersion, hvparams: hv }))
      const defer = right(`${label}: planIncoming defer`, planIncoming(rt, { incoming: { _tag: 'defer', uri: 'tcp:127.0.0.1:8102' }, target: qemuVersion, hvparams: hv, resume: mode === 'live' }))
      const listenHv = { ...hv, migration_caps: set.filter((c) => !early.has(c)).join(':') }
      const listen = right(`${label}: planIncoming listen`, planIncoming(rt, { incoming: { _tag: 'listen', uri: 'tcp:127.0.0.1:8102' }, target: qemuVersion, hvparams: listenHv }))
      return [source, defer.listen, defer.finish, listen.listen, listen.finish].flatMap((plan) => planCommands(plan, `${label}: ${plan.title}`))
    })
  )
}

/** The plans that reconfigure a running graph: limits, resize, snapshots (one disk, two), mirror, clone. */
const graphPlans = (): ReadonlyArray<Emitted> => {
  const { runtime } = started('/run/graph', { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', disk_iops_total: 100 }, [
    { uuid: uuidN(1), path: '/srv/a.qcow2', format: 'qcow2' },
    { uuid: uuidN(2), path: '/dev/vg/b' }
  ])
  const [a, b] = [diskId(1), diskId(2)]
  const plans = [
    right('planThrottle', planThrottle(runtime, a, { 'iops-read': 10, 'bps-write': 1000, 'bps-write-max': 2000, 'bps-write-max-length': 5, 'iops-size': 4096 })),
    right('planResize', planResize(runtime, b, 1 << 30)),
    right('planSnapshot one', planSnapshot(runtime, [{ id: a, path: '/srv/a-s1.qcow2' }])),
    right('planSnapshot two', planSnapshot(runtime, [{ id: a, path: '/srv/a-s1.qcow2' }, { id: b, path: '/dev/vg/b-s1', kind: 'block' }])),
    right('planMirror', planMirror(runtime, { id: a, path: '/srv/a-m.raw' })),
    right('planClone', planClone(runtime, { id: b, path: '/srv/b-c.qcow2', format: 'qcow2' }))
  ]
  return plans.flatMap((plan) => planCommands(plan, `graph: ${plan.title}`))
}

const dedupe = (list: ReadonlyArray<Emitted>): ReadonlyArray<Emitted> => {
  const seen = new Map<string, Emitted>()
  for (const e of list) {
    const key = JSON.stringify(e.command)
    if (!seen.has(key)) seen.set(key, e)
  }
  return [...seen.values()]
}

let plannedMemo: ReadonlyArray<Emitted> | undefined

/** Every distinct command of every plan (with the first step that emits it). */
const planned = (): ReadonlyArray<Emitted> => {
  plannedMemo ??= dedupe([...diskPlans(), ...nicPlans(), ...mediaPlans(), ...startPlans(), ...migrationPlans(), ...graphPlans()])
  return plannedMemo
}

/** Everything the library can emit: constructor calls and plan commands. */
const emitted = (): ReadonlyArray<Emitted> => dedupe([...constructorCommands(), ...planned()])

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

const args = (c: WireCommand): Readonly<Record<string, unknown>> => (isRecord(c.arguments) ? c.arguments : {})

const driverOf = (c: WireCommand): string | undefined => {
  const d = args(c)['driver']
  return c.execute === 'device_add' && typeof d === 'string' ? d : undefined
}

// ---------------------------------------------------------------------------------------------
// Commands that must fail, to show the validator can.

/** What the schema of a QEMU that deprecates gluster (9.2 and later) says of every gluster node. */
const glusterDeprecated: ReadonlyArray<string> = lifecycle('gluster', qemuVersion) === 'deprecated' ? ['arguments.driver: value "gluster" is deprecated in this QEMU'] : []

/** Commands the validator must reject, with the errors it must report; QEMU must reject them too. */
const BAD: ReadonlyArray<{ readonly command: WireCommand; readonly errors: ReadonlyArray<string>; readonly qemuRejects: boolean }> = [
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'file', 'node-name': 'bad0', filename: '/nonexistent', cache: { direct: 'on' } } },
    errors: ['arguments.cache.direct: expected boolean, got "on"'],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'no-such-driver', 'node-name': 'bad1' } },
    errors: ['arguments.driver: expected one of'],
    qemuRejects: true
  },
  { command: { execute: 'blockdev_add', arguments: {} }, errors: ['execute: unknown command "blockdev_add"'], qemuRejects: true },
  { command: { execute: 'blockdev-add', arguments: { driver: 'file', 'node-name': 'bad2' } }, errors: ['arguments.filename: missing required member'], qemuRejects: true },
  { command: { execute: 'netdev_add', arguments: { type: 'user', id: 'bad3', bogus: 1 } }, errors: ['arguments.bogus: unknown member'], qemuRejects: true },
  { command: { execute: 'query-pci', arguments: { flat: true } }, errors: ['arguments.flat: unknown member'], qemuRejects: true },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'nbd', 'node-name': 'bad4', server: { type: 'inet', host: 'h', port: 10809 } } },
    errors: ['arguments.server.port: expected string, got 10809'],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'raw', 'node-name': 'bad5', file: 42 } },
    errors: ['arguments.file: expected object or string, got 42'],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'raw', 'node-name': 'bad6', file: { driver: 'file', filename: 7 } } },
    errors: ['arguments.file.filename: expected string, got 7'],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'gluster', 'node-name': 'bad7', volume: 'v', path: 'p', server: { type: 'inet', host: 'h', port: '1' } } },
    errors: ['arguments.server: expected array of object', ...glusterDeprecated],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-add', arguments: { driver: 'gluster', 'node-name': 'bad8', volume: 'v', path: 'p', server: [{ type: 'inet', host: 'h' }, { type: 'vsock', cid: '3', port: 1 }] } },
    errors: ['arguments.server[0].port: missing required member', 'arguments.server[1].port: expected string, got 1', ...glusterDeprecated],
    qemuRejects: true
  },
  {
    command: { execute: 'netdev_add', arguments: { type: 'tap', id: 'bad9', queues: '4' } },
    errors: ['arguments.queues: expected integer, got "4"'],
    qemuRejects: true
  },
  {
    command: { execute: 'blockdev-open-tray', arguments: { device: 'ide0-cd0' } },
    errors: ['arguments.device: member "device" is deprecated'],
    qemuRejects: false
  },
  {
    command: { execute: 'device_add', arguments: { driver: 'virtio-net-pci', id: 'bad10', bus: 'pci.0', addr: '0x1f', bogus: 'x' } },
    errors: ['arguments.bogus: driver virtio-net-pci has no property "bogus"'],
    qemuRejects: true
  },
  {
    command: { execute: 'device_add', arguments: { driver: 'virtio-net-pci', id: 11, addr: 16, mq: 'yes', vectors: 'ten', mac: { a: 1 } } },
    errors: [
      'arguments.id: expected string, got 11',
      'arguments.addr: expected a PCI address string',
      'arguments.mq: expected bool',
      'arguments.vectors: expected uint32',
      'arguments.mac: expected a scalar'
    ],
    qemuRejects: true
  },
  {
    command: { execute: 'device_add', arguments: { driver: 'virtio-blk-pci', 'write-cache': 'yes', 'queue-size': 70000 } },
    errors: ['arguments.write-cache: expected OnOffAuto', 'arguments.queue-size: 70000 is out of range for uint16'],
    qemuRejects: true
  }
]

// ---------------------------------------------------------------------------------------------
// What QEMU says: one QEMU, started by the first test that needs it.

interface QemuFacts {
  readonly schema: QapiSchema
  readonly properties: ReadonlyMap<string, ReadonlyArray<DeviceProperty>>
  /** The commands of {@link BAD} QEMU accepted although they should have been rejected. */
  readonly acceptedBad: ReadonlyArray<string>
}

/** Drivers whose properties are fetched besides those the library emits (for the negative tests). */
const EXTRA_DRIVERS = ['virtio-net-pci', 'virtio-blk-pci']

let factsMemo: Promise<QemuFacts> | undefined

const qemuFacts = (): Promise<QemuFacts> => {
  factsMemo ??= (async () => {
    const drivers = [...new Set([...EXTRA_DRIVERS, ...emitted().flatMap((e) => driverOf(e.command) ?? [])])].sort()
    return withQemu([qemuPath(), '-machine', 'pc,accel=tcg', '-nodefaults'], async (vm) => {
      const decoded = decodeSchema(await vm.qmp.executeOk('query-qmp-schema'))
      if (E.isLeft(decoded)) throw new Error(`query-qmp-schema did not decode:\n${decoded.left.join('\n')}`)
      const properties = new Map<string, ReadonlyArray<DeviceProperty>>()
      for (const d of drivers) {
        const p = decodeDeviceProperties(await vm.qmp.executeOk('device-list-properties', { typename: d }))
        if (E.isLeft(p)) throw new Error(`${d}: ${p.left}`)
        properties.set(d, p.right)
      }
      // Sent last: each is refused before it changes anything, and nothing is asked afterwards.
      const acceptedBad: string[] = []
      for (const bad of BAD.filter((b) => b.qemuRejects)) {
        const reply = await vm.qmp.execute(bad.command.execute, args(bad.command))
        if (reply._tag !== 'Error') acceptedBad.push(JSON.stringify(bad.command))
      }
      return { schema: decoded.right, properties, acceptedBad }
    })
  })()
  return factsMemo
}

/** Schema errors plus, for device_add, property errors. */
const problems = (facts: QemuFacts, c: WireCommand): ReadonlyArray<ValidationError> => {
  const schemaErrors = validateCommand(facts.schema, c)
  const driver = driverOf(c)
  if (driver === undefined) return schemaErrors
  const props = facts.properties.get(driver)
  if (props === undefined) return [...schemaErrors, { path: 'arguments.driver', message: `device-list-properties of ${driver} was not fetched` }]
  return [...schemaErrors, ...validateDeviceProperties(driver, props, extraArguments(facts.schema, c))]
}

/** The entry of lib/qemu-changes.ts a schema deprecation is about (`value "gluster" is deprecated`). */
const changeOf = (e: ValidationError): ChangeName | undefined => {
  const m = /^value "([^"]+)" is deprecated in this QEMU$/.exec(e.message)
  const name = m?.[1]
  return name !== undefined && name in CHANGES ? (name as ChangeName) : undefined
}

/**
 * Schema errors, less the deprecations the library told its caller about: a plan's command may
 * use what this QEMU deprecates only when the plan carries that warning, and a bare constructor
 * call only when the changes table says this version deprecates it.
 */
const unwarned = (facts: QemuFacts, e: Emitted): ReadonlyArray<ValidationError> =>
  problems(facts, e.command).filter((x) => {
    const change = changeOf(x)
    if (change === undefined) return true
    return e.warnings === undefined ? lifecycle(change, qemuVersion) !== 'deprecated' : !e.warnings.some((w) => w._tag === 'Deprecated' && w.feature === change)
  })

const report = (facts: QemuFacts, list: ReadonlyArray<Emitted>): string =>
  list
    .flatMap((e) => {
      const errs = unwarned(facts, e)
      return errs.length === 0 ? [] : [`${e.origin}\n  ${JSON.stringify(e.command)}\n${errs.map((x) => `  - ${showError(x)}`).join('\n')}`]
    })
    .join('\n')

// ---------------------------------------------------------------------------------------------
// Tests.

test('every constructor of lib/qmp/commands.ts emits a command the QEMU schema accepts', async () => {
  const facts = await qemuFacts()
  const list = constructorCommands()
  const failures = report(facts, list)
  assert.ok(failures === '', `${list.length} constructor calls checked; rejected by the schema:\n${failures}`)
})

test('every step and undo of hot-add, hot-remove, medium-change and start plans is accepted by the QEMU schema', async () => {
  const facts = await qemuFacts()
  const list = planned()
  const failures = report(facts, list)
  assert.ok(failures === '', `${list.length} distinct commands checked; rejected by the schema:\n${failures}`)
})

test('every warning a plan carries is a deprecation this QEMU reports on one of its commands', async () => {
  const facts = await qemuFacts()
  const plans = new Map<string, { readonly warnings: ReadonlyArray<PlanWarning>; readonly reported: Set<ChangeName> }>()
  for (const e of planned()) {
    if (e.warnings === undefined || e.warnings.length === 0) continue
    const title = e.origin.slice(0, e.origin.indexOf(': step '))
    const entry = plans.get(title) ?? { warnings: e.warnings, reported: new Set<ChangeName>() }
    for (const x of problems(facts, e.command)) {
      const change = changeOf(x)
      if (change !== undefined) entry.reported.add(change)
    }
    plans.set(title, entry)
  }
  const wrong = [...plans].flatMap(([title, p]) => p.warnings.flatMap((w) => (w._tag === 'Deprecated' ? [w] : [])).filter((w) => !p.reported.has(w.feature)).map((w) => `${title}: ${w.message}`))
  assert.equal(wrong, [], 'warnings without a deprecation in the QEMU schema')
  // On a QEMU that deprecates gluster the matrix must reach such a warning, or this proves nothing.
  const expectGluster = lifecycle('gluster', qemuVersion) === 'deprecated'
  assert.is([...plans.values()].some((p) => p.warnings.some((w) => w._tag === 'Deprecated' && w.feature === 'gluster')), expectGluster, 'gluster hot-add plans warn exactly where this QEMU deprecates gluster')
})

test('the plans cover each disk frontend, block driver, cache/aio setting, NIC backend, tray command and start step', () => {
  const cmds = planned().map((e) => e.command)
  const blockdevs = cmds.filter((c) => c.execute === 'blockdev-add').map(args)
  const netdevs = cmds.filter((c) => c.execute === 'netdev_add').map(args)
  const devices = new Set(cmds.flatMap((c) => driverOf(c) ?? []))
  const serverTypes = (driver: string): ReadonlySet<unknown> =>
    new Set(blockdevs.filter((b) => b['driver'] === driver).flatMap((b) => {
      const s = b['server']
      return (Array.isArray(s) ? s : [s]).map((x: unknown) => (isRecord(x) ? x['type'] : undefined))
    }))
  const missing: string[] = []
  const need = (what: string, ok: boolean): void => {
    if (!ok) missing.push(what)
  }
  for (const d of ['virtio-blk-pci', 'scsi-hd', 'scsi-cd', 'scsi-block', 'scsi-generic', 'virtio-net-pci', 'e1000', 'rtl8139', 'pcnet', 'ne2k_pci', 'i82551', 'i82557b', 'i82559er']) need(`device_add ${d}`, devices.has(d))
  for (const d of ['file', 'host_device', 'raw', 'qcow2', 'rbd', 'gluster', 'nbd', 'iscsi', 'http', 'https', 'throttle']) need(`blockdev-add ${d}`, blockdevs.some((b) => b['driver'] === d))
  const objects = cmds.filter((c) => c.execute === 'object-add').map(args)
  for (const o of ['throttle-group', 'secret', 'tls-creds-x509']) need(`object-add ${o}`, objects.some((b) => b['qom-type'] === o))
  need('object-add secret with data, iv and keyid', objects.some((b) => b['qom-type'] === 'secret' && 'iv' in b && 'keyid' in b))
  for (const k of ['key-secret', 'password-secret', 'tls-creds', 'header-digest', 'initiator-name', 'sslverify']) need(`blockdev-add with ${k}`, blockdevs.some((b) => k in b))
  for (const aio of ['threads', 'native', 'io_uring']) need(`aio ${aio}`, blockdevs.some((b) => b['aio'] === aio))
  for (const [direct, noFlush] of [[false, false], [true, false], [false, true]] as const) {
    need(`cache direct=${String(direct)} no-flush=${String(noFlush)}`, blockdevs.some((b) => isRecord(b['cache']) && b['cache']['direct'] === direct && b['cache']['no-flush'] === noFlush))
  }
  need('qcow2 with a backing node', blockdevs.some((b) => b['driver'] === 'qcow2' && typeof b['backing'] === 'string'))
  need('gluster over inet and unix', serverTypes('gluster').has('inet') && serverTypes('gluster').has('unix'))
  need('nbd over inet and unix', serverTypes('nbd').has('inet') && serverTypes('nbd').has('unix'))
  for (const key of ['fd', 'fds', 'vhostfd', 'vhostfds', 'ifname', 'queues']) need(`netdev_add tap with ${key}`, netdevs.some((n) => n['type'] === 'tap' && key in n))
  need('netdev_add user', netdevs.some((n) => n['type'] === 'user'))
  for (const x of [
    'getfd', 'closefd', 'device_del', 'blockdev-del', 'netdev_del', 'blockdev-open-tray', 'blockdev-remove-medium', 'blockdev-insert-medium', 'blockdev-close-tray', 'set_password', 'balloon', 'cont',
    'migrate-set-capabilities', 'migrate-set-parameters', 'stop', 'migrate', 'migrate_cancel', 'migrate-incoming', 'query-migrate',
    'object-add', 'object-del', 'qom-set', 'block_resize', 'blockdev-snapshot', 'transaction', 'block-commit', 'blockdev-mirror', 'blockdev-backup', 'job-complete', 'job-cancel', 'job-dismiss', 'query-jobs'
  ]) {
    need(x, cmds.some((c) => c.execute === x))
  }
  for (const d of ['http', 'https', 'host_cdrom']) need(`blockdev-add ${d} (CD-ROM medium)`, blockdevs.some((b) => b['driver'] === d))
  for (const c of usableCapabilities()) need(`migration capability ${c}`, cmds.some((x) => x.execute === 'migrate-set-capabilities' && JSON.stringify(x.arguments).includes(`"${c}"`)))
  need('device_add with mq and vectors', cmds.some((c) => c.execute === 'device_add' && args(c)['mq'] === true && typeof args(c)['vectors'] === 'number'))
  assert.equal(missing, [], `the matrix does not reach: ${missing.join(', ')}`)
})

test('the validator reports what QEMU rejects, with the JSON path', async () => {
  const facts = await qemuFacts()
  const wrong: string[] = []
  for (const bad of BAD) {
    const got = problems(facts, bad.command).map(showError)
    const unmatched = bad.errors.filter((want) => !got.some((g) => g.startsWith(want)))
    if (unmatched.length > 0 || got.length !== bad.errors.length) {
      wrong.push(`${JSON.stringify(bad.command)}\n  want: ${JSON.stringify(bad.errors)}\n  got:  ${JSON.stringify(got)}`)
    }
  }
  assert.ok(wrong.length === 0, `validator output differs:\n${wrong.join('\n')}`)
})

test('QEMU itself rejects the commands the validator rejects', async () => {
  const facts = await qemuFacts()
  assert.equal(facts.acceptedBad, [], 'QEMU accepted commands the validator rejects')
})

test.run()
