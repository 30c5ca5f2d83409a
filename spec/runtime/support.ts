/**
 * Shared inputs of the runtime specs: fixture files, generators of Ganeti-written runtime files
 * (built from the rules of DOMAIN §8, not from the code under test) and of planned instances
 * recorded with toRuntime.
 */
import { readFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import {
  decodeInstance,
  decodeRuntime,
  encodeRuntime,
  formatError,
  planDevices,
  renderArgv,
  toRuntime,
  upgradeRuntime,
  type DeviceTree,
  type Instance,
  type Runtime,
  type RuntimeJson
} from '../../lib/index.js'
import { fail, validSpecArb, version, type Json, type JsonObj } from '../support/fixtures.js'

export const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`../fixtures/runtime/${name}`, import.meta.url), 'utf8')) as Json

export const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/runtime/${name}`, import.meta.url), 'utf8')

export const right = <A>(r: E.Either<unknown, A>, what = 'a Right'): A => {
  if (E.isLeft(r)) {
    const e = r.left
    const text = typeof e === 'object' && e !== null && '_tag' in e ? formatError(e as Parameters<typeof formatError>[0]) : String(e)
    return fail(`expected ${what}, got ${JSON.stringify(e)}\n${text}`)
  }
  return r.right
}

export const decodeOk = (json: unknown): Runtime => right(decodeRuntime(json), 'the runtime to decode')
export const upgradeOk = (json: unknown): RuntimeJson => right(upgradeRuntime(json), 'the runtime to upgrade')

/** A JSON value made plain (what a file written and read again holds). */
export const plain = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json

// ---------------------------------------------------------------------------------------------
// Ganeti-written files

const hex8 = fc.integer({ min: 0x10000000, max: 0xffffffff }).map((n) => n.toString(16))
/** A uuid whose first group is unique per device: Ganeti's legacy id is made from it. */
const uuidWith = (first: string): fc.Arbitrary<string> => fc.uuid().map((u) => `${first}${u.slice(8)}`)

const WORDS = ['-name', 'vm1', '-m', '512', '-localtime', '-balloon', 'virtio', 'virtio,addr=0x3', 'none', '-vnc', '0.0.0.0:5901', '0.0.0.0:5901,tls', ':1,tls,x509=/pki', ':1,x509verify=/pki', '-chroot', '/var/empty', '-daemonize', '-usb', '-rtc', 'base=utc', '-device', 'virtio-rng-pci', ''] as const

/** A kvm_cmd from the words Ganeti's upgrade rewrites and their neighbours. */
export const legacyCmdArb: fc.Arbitrary<string[]> = fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 6 })), { maxLength: 16 }).map((w) => ['/usr/bin/kvm', ...w])

interface LegacyDevice {
  readonly uuid: string
  readonly pci: number | undefined
}

const devicesArb = (max: number): fc.Arbitrary<ReadonlyArray<LegacyDevice>> =>
  fc
    .uniqueArray(hex8, { maxLength: max })
    .chain((firsts) =>
      fc.tuple(
        fc.tuple(...firsts.map(uuidWith)),
        fc.shuffledSubarray(Array.from({ length: 28 }, (_, i) => i + 4), { minLength: firsts.length, maxLength: firsts.length }),
        fc.array(fc.boolean(), { minLength: firsts.length, maxLength: firsts.length })
      )
    )
    .map(([uuids, slots, withPci]) => uuids.map((uuid, i) => ({ uuid, pci: withPci[i] === true ? slots[i] : undefined })))

/**
 * A runtime file as Ganeti 2.10–2.15 writes it: every device dict carries its Ganeti fields, and
 * `pci` where the device had a slot. Slots and uuid groups are distinct, as Ganeti's were.
 */
export const ganetiPciFileArb: fc.Arbitrary<Json[]> = fc
  .record({
    cmd: legacyCmdArb,
    disk_type: fc.constantFrom('paravirtual', 'ide', 'scsi'),
    nic_type: fc.constantFrom('paravirtual', 'e1000', 'rtl8139'),
    discard: fc.constantFrom(undefined, 'default', 'ignore', 'unmap'),
    devices: devicesArb(6),
    nicCount: fc.nat({ max: 6 }),
    modes: fc.array(fc.constantFrom('rw', 'ro'), { minLength: 6, maxLength: 6 }),
    threeElements: fc.boolean()
  })
  .map((r) => {
    const nicDevs = r.devices.slice(0, r.nicCount)
    const diskDevs = r.threeElements ? [] : r.devices.slice(r.nicCount)
    const nics: JsonObj[] = nicDevs.map((d, i) => ({
      mac: `aa:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
      ip: null,
      nicparams: { mode: 'bridged', link: 'br0' },
      uuid: d.uuid,
      ...(d.pci === undefined ? {} : { pci: d.pci })
    }))
    const disks: Json[] = diskDevs.map((d, i) => [
      { dev_type: 'plain', logical_id: ['xenvg', `d${i}`], iv_name: `disk/${i}`, size: 1024, mode: r.modes[i] ?? 'rw', params: {}, uuid: d.uuid, ...(d.pci === undefined ? {} : { pci: d.pci }) },
      `/var/run/ganeti/instance-disks/vm1:${i}`,
      null
    ])
    const hvparams: JsonObj = { disk_type: r.disk_type, nic_type: r.nic_type, disk_cache: 'default', ...(r.discard === undefined ? {} : { disk_discard: r.discard }) }
    return r.threeElements ? [r.cmd, nics, hvparams] : [r.cmd, nics, hvparams, disks]
  })

// ---------------------------------------------------------------------------------------------
// Planned instances

export interface Recorded {
  readonly instance: Instance
  readonly tree: DeviceTree
  readonly argv: ReadonlyArray<string>
  readonly runtime: Runtime
}

const BACKENDS: ReadonlyArray<JsonObj> = [{ type: 'user' }, { type: 'tap', ifname: 'tap-vm1' }]

/**
 * A spec from the shared generator, with varied NIC backends (tap fds matching the queue count),
 * userspace disks (not under the pass-through scsi-block/scsi-generic), kvm_extra and QEMU versions on both sides of JSON -device (6.2) and -netdev
 * (7.1), planned, rendered and recorded. `undefined` when the variation does not plan.
 */
export const recordedArb: fc.Arbitrary<Recorded | undefined> = fc
  .record({
    spec: validSpecArb,
    qemu: fc.constantFrom('5.2', '6.2', '7.0', '7.2', '8.2'),
    backend: fc.array(fc.nat({ max: 3 }), { minLength: 6, maxLength: 6 }),
    queues: fc.constantFrom(1, 1, 2, 4),
    vhost: fc.boolean(),
    uri: fc.array(fc.constantFrom(undefined, 'rbd:rbd/img:id=vm1', 'gluster://gl1:24007/vol/dir/img', 'nbd+unix:///exp?socket=/run/nbd.sock', 'iscsi://10.0.0.5/iqn.2001-04.com.example:storage/1'), { minLength: 6, maxLength: 6 }),
    extra: fc.constantFrom('', '-device vmcoreinfo', '-localtime -balloon virtio', '-vnc :1,tls -chroot /x', "-object 'secret,id=s0,data=a b'"),
    accel: fc.constantFrom('kvm' as const, 'tcg' as const)
  })
  .map((r) => {
    const hv = r.spec['hvparams'] as JsonObj
    const paravirtual = hv['nic_type'] === 'paravirtual'
    const queues = paravirtual ? r.queues : 1
    const vhost = paravirtual && r.vhost
    const nics = (r.spec['nics'] as JsonObj[]).map((n, i) => {
      const pick = r.backend[i] ?? 0
      const fds = Array.from({ length: queues }, (_, q) => 20 + 10 * i + q)
      const backend = pick < 2 ? BACKENDS[pick] : { type: 'tap', fds, ...(vhost && pick === 3 ? { vhostfds: fds.map((f) => f + 100) } : {}) }
      return { ...n, backend: backend ?? { type: 'user' } }
    })
    // Pass-through frontends (scsi-block, scsi-generic) take a local block device only: no URI.
    const passthrough = hv['disk_type'] === 'scsi-block' || hv['disk_type'] === 'scsi-generic'
    const disks = (r.spec['disks'] as JsonObj[]).map((d, i) => {
      const uri = r.uri[i]
      return uri === undefined || passthrough || d['format'] === 'qcow2' ? d : { uuid: d['uuid'] ?? '', uri, mode: d['mode'] ?? 'rw' }
    })
    const spec = { ...r.spec, nics, disks, hvparams: { ...hv, kvm_extra: r.extra, virtio_net_queues: queues, vhost_net: vhost } }
    const inst = decodeInstance(spec)
    if (E.isLeft(inst)) return undefined
    const tree = planDevices(inst.right, { qemu: version(r.qemu) })
    if (E.isLeft(tree)) return undefined
    const render = { qmpSocket: '/run/vm1.qmp', accel: r.accel }
    const argv = renderArgv(tree.right, render)
    const runtime = toRuntime(inst.right, tree.right, render)
    if (E.isLeft(runtime)) return fail(`toRuntime refused a plan: ${formatError(runtime.left)}`)
    return { instance: inst.right, tree: tree.right, argv, runtime: runtime.right }
  })

/** A recorded runtime as a file written and read back. */
export const roundTrip = (rt: Runtime): Runtime => decodeOk(plain(encodeRuntime(rt)))
