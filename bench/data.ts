/**
 * The bench's data, built through the library: instance specs of any size, runtimes with many
 * devices, legacy runtime files, hostile inputs. bench/bench.ts measures them and
 * bench/profile.ts runs one of them under a profiler.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import type * as Lib from '../lib/index.js'
import type { Runtime } from '../lib/index.js'

export const ROOT = fileURLToPath(new URL('../', import.meta.url))

/**
 * The library measured: lib/ through tsx, or with BENCH_LIB=dist the build (dist/esm, the
 * bundle the package ships; `npm run bench` builds it first). The build also gives a CPU
 * profile function names (tsx's output wraps every function in `__name`), and its source maps
 * the lines in lib/ (bench/top-self.mjs reads them).
 */
export const LIB_FROM = process.env['BENCH_LIB'] === 'dist' ? 'dist/esm (the build)' : 'lib/ (through tsx)'
export const lib: typeof Lib = process.env['BENCH_LIB'] === 'dist' ? await import(pathToFileURL(join(ROOT, 'dist/esm/index.js')).href) : await import('../lib/index.js')
const { decodeDisk, decodeInstance, encodeRuntime, planDevices, planHotAdd, renderArgv, toRuntime } = lib

export const right = <A>(what: string, e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`bench data: ${what} must succeed: ${JSON.stringify(e.left).slice(0, 400)}`)
  return e.right
}


export const uuid = (n: number): string => `${(0x10000000 + n).toString(16)}-7a22-4067-a566-7e0ca8386133`
export const mac = (n: number): string => `aa:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`
export const TARGET = { qemu: { major: 7, minor: 2, micro: 0 } }
export const RENDER = { qmpSocket: '/run/ganeti/bench.qmp' }

/**
 * The most devices an instance spec can have: decodeInstance takes at most 64 disks, and
 * pci.0 holds 16 NICs beside the controllers (from the default kvm_pci_reservations, 16).
 */
export const MAX_INSTANCE_DEVICES = 80

/**
 * An instance spec (the JSON a caller sends) with `devices` devices: SCSI disks on
 * virtio-scsi-pci and about 1 NIC in 32, or at the maximum 64 disks and 16 NICs.
 */
export const instanceSpec = (devices: number) => {
  const nics = devices === MAX_INSTANCE_DEVICES ? 16 : devices === 1 ? 0 : Math.max(1, Math.round(devices / 32))
  const disks = devices - nics
  return {
    name: 'bench.example.com',
    uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
    memory: 2048,
    vcpus: 4,
    hvparams: { disk_type: 'scsi-hd', scsi_controller_type: 'virtio-scsi-pci', disk_cache: 'none', disk_aio: 'native', cdrom_image_path: '/srv/a.iso' },
    disks: Array.from({ length: disks }, (_, i) => ({ uuid: uuid(i), path: `/dev/vg/bench-${i}`, format: i % 2 === 0 ? 'raw' : 'qcow2' })),
    nics: Array.from({ length: nics }, (_, i) => ({ uuid: uuid(1000 + i), mac: mac(i), backend: { type: 'user' } }))
  }
}

/** decode → plan → render of an instance spec's JSON text, the argv's JSON text out. */
export const pipeline = (text: string): string => {
  const inst = decodeInstance(JSON.parse(text))
  if (E.isLeft(inst)) throw new Error('bench spec must decode')
  const tree = planDevices(inst.right, TARGET)
  if (E.isLeft(tree)) throw new Error('bench spec must plan')
  return JSON.stringify(renderArgv(tree.right, RENDER))
}

/**
 * The runtime of a started instance with `devices` devices: planned and recorded by toRuntime
 * (at most {@link MAX_INSTANCE_DEVICES}), then SCSI disks hot-added (virtio-scsi has 256
 * targets) up to the count, each plan's `after` being the next runtime.
 */
export const runtimeOf = (devices: number): Runtime => {
  const inst = right('decodeInstance', decodeInstance(instanceSpec(Math.min(devices, 64))))
  let rt = right('toRuntime', toRuntime(inst, right('planDevices', planDevices(inst, TARGET)), RENDER))
  for (let i = rt.disks.length + rt.nics.length; i < devices; i++) {
    const disk = right('decodeDisk', decodeDisk({ uuid: uuid(2000 + i), path: `/dev/vg/hot-${i}` }))
    rt = right('planHotAdd', planHotAdd(rt, { disk })).after
  }
  if (rt.disks.length + rt.nics.length !== devices) throw new Error(`bench runtime: ${rt.disks.length + rt.nics.length} devices, not ${devices}`)
  return rt
}

/**
 * Legacy (Ganeti-written, unstamped) runtime files: the three Ganeti generations of
 * spec/fixtures/runtime, each copy with its own uuids and instance name.
 */
export const legacyFiles = (count: number): ReadonlyArray<string> => {
  const fixtures = ['ganeti-2.7-3elem.json', 'ganeti-2.12-pci.json', 'ganeti-3.0-hvinfo-scsi.json'].map((f) =>
    readFileSync(join(ROOT, 'spec/fixtures/runtime', f), 'utf8')
  )
  return Array.from({ length: count }, (_, i) =>
    (fixtures[i % fixtures.length] as string)
      .replace(/([0-9a-f]{8})-([0-9a-f]{4})-4/g, (_m, a: string, b: string) => `${((parseInt(a, 16) ^ i) >>> 0).toString(16).padStart(8, '0')}-${b}-4`)
      .replace(/([a-z0-9]+)\.example\.com/g, `$1-${i}.example.com`)
  )
}

/** Hostile instance specs and runtime files: what an attacker or a broken writer sends. */
export const hostile = (): ReadonlyArray<{ name: string; instance: string; runtime: string }> => {
  const base = instanceSpec(4)
  const rt = JSON.stringify(encodeRuntime(runtimeOf(4)))
  const deep = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
  const huge = 'x'.repeat(4 * 1024 * 1024)
  const unknown = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`unknown_${i}`, i]))
  const wrong = {
    name: 42,
    uuid: [],
    memory: '2048',
    vcpus: { n: 4 },
    hvparams: { disk_type: 7, disk_cache: null, boot_order: [] },
    disks: Array.from({ length: 256 }, () => ({ uuid: 1, path: false, format: {} })),
    nics: 'none'
  }
  const rtFile = JSON.parse(rt) as [unknown[], unknown[], Record<string, unknown>, unknown[][], unknown]
  return [
    {
      name: 'deep nesting (10 000 levels)',
      instance: JSON.stringify({ ...base, name: 'D' }).replace('"D"', deep(10_000)),
      runtime: JSON.stringify([rtFile[0], rtFile[1], { ...rtFile[2], kvm_extra: 'D' }, rtFile[3]]).replace('"D"', deep(10_000))
    },
    {
      name: 'huge string (4 MiB)',
      instance: JSON.stringify({ ...base, name: huge }),
      runtime: JSON.stringify([[...rtFile[0], huge], rtFile[1], rtFile[2], rtFile[3]])
    },
    {
      name: 'wrong types everywhere',
      instance: JSON.stringify(wrong),
      runtime: JSON.stringify([{ cmd: 1 }, Array.from({ length: 256 }, () => ({ mac: 1, uuid: {}, hvinfo: 'x' })), [], Array.from({ length: 256 }, () => [{ uuid: 1 }, 5, null])])
    },
    {
      name: 'unknown fields (10 000 keys)',
      instance: JSON.stringify({ ...base, ...unknown }),
      runtime: JSON.stringify([rtFile[0], rtFile[1], { ...rtFile[2], ...unknown }, rtFile[3]])
    },
    {
      name: '`__proto__` and `constructor` keys',
      instance: JSON.stringify({ ...base, hvparams: { ...base.hvparams, PROTO: 1 } })
        .replace('"PROTO":1', '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}')
        .replace('"name":', '"__proto__":{"isAdmin":true},"name":'),
      runtime: rt.replace(/"mac":/g, '"__proto__":{"polluted":true},"mac":')
    }
  ]
}
