/**
 * The comparison of judge.spec.ts: what Ganeti 3.0.2's hv_kvm did for an instance against what
 * the library does for it, as a list of disagreements. Every rule of the comparison is written
 * down in judge.spec.ts's header; this file only implements it.
 */
import { cmdArgv, encodeHvinfo, type CmdWord, type DeviceTree, type JsonObject, type Runtime } from '../../lib/index.js'
import { parseKeyval, type Json, type JsonObj } from '../support/fixtures.js'
import { libraryHotAdd, libraryPlan, librarySpec, parsedRuntime, rebuiltArgv, upgradedFile, type Answer, type Desc, type GanetiAnswer } from './support.js'

/** Where the two disagree: which check, which part of the answer, and both values. */
export interface Disagreement {
  readonly check: 'file' | 'upgrade' | 'argv' | 'plan' | 'hotadd'
  readonly part: string
  readonly ganeti: unknown
  readonly library: unknown
}

export type Ok = Extract<GanetiAnswer, { ok: true }>

/** One instance: what it is, Ganeti's answer, and what the library made of it. */
export interface Case {
  readonly index: number
  readonly desc: Desc
  readonly ganeti: Ok
  /** hvparams as Ganeti stored them in the runtime file (its defaults filled). */
  readonly hv: JsonObj
  readonly runtime: Answer<Runtime>
  readonly argv: Answer<ReadonlyArray<string>> | undefined
  readonly plan: Answer<DeviceTree>
  readonly hotadd: { readonly disk: Answer<JsonObject> | undefined; readonly nic: Answer<JsonObject> | undefined }
  /** How many things were compared and agreed, per check (so that a run that compares nothing fails). */
  readonly agreed: Record<Disagreement['check'], number>
  readonly disagreements: ReadonlyArray<Disagreement>
  /** The listed kvm_cmd rewrites that were needed to make Ganeti's options the library's. */
  readonly rewritten: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// Command lines as options

/** The options of QEMU that Ganeti writes without a value. */
const NO_VALUE: ReadonlySet<string> = new Set(['-daemonize', '-usb', '-no-acpi', '-no-reboot', '-S', '-mem-prealloc', '-nographic', '-enable-kvm', '-disable-kvm'])

export type Opt = readonly [string, CmdWord | undefined]

/** A command line (binary first) as its options, each with its value. */
export const options = (words: ReadonlyArray<CmdWord>): Opt[] => {
  const out: Opt[] = []
  for (let i = 1; i < words.length; i++) {
    const w = String(words[i])
    if (NO_VALUE.has(w) || i + 1 >= words.length) out.push([w, undefined])
    else {
      out.push([w, words[i + 1]])
      i++
    }
  }
  return out
}

export const showOpt = (o: Opt): string => (o[1] === undefined ? o[0] : `${o[0]} ${JSON.stringify(o[1])}`)

const canon = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/** Deep equality of JSON values, key order ignored. */
export const same = (a: unknown, b: unknown): boolean => canon(a) === canon(b)

const keyval = (v: string | undefined, implied: string): Record<string, string> => Object.fromEntries(parseKeyval(v ?? '', implied))
const json = (v: string | undefined): Record<string, Json> => {
  try {
    const p = JSON.parse(v ?? '') as unknown
    return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, Json>) : {}
  } catch {
    return {}
  }
}

/**
 * A rewrite of kvm_cmd options that a known difference makes: Ganeti's options in, the options
 * the library is expected to have instead out.
 */
export type Rewrite = (opts: ReadonlyArray<Opt>) => ReadonlyArray<Opt>

/**
 * Ganeti's options against the library's: equal once every listed rewrite is applied to
 * Ganeti's. Returns the disagreement, or undefined; `used` collects the rewrites that changed
 * something (so that a listed difference that no longer occurs is noticed).
 */
export const compareCmd = (
  check: Disagreement['check'],
  ganeti: ReadonlyArray<Opt>,
  library: ReadonlyArray<Opt>,
  rewrites: ReadonlyArray<readonly [string, Rewrite]>,
  used: Set<string>
): Disagreement | undefined => {
  let expected = ganeti
  for (const [id, rw] of rewrites) {
    const next = rw(expected)
    if (!same(next, expected)) used.add(id)
    expected = next
  }
  if (same(expected, library)) return undefined
  const key = (o: Opt): string => canon(o)
  const lib = new Set(library.map(key))
  const exp = new Set(expected.map(key))
  return {
    check,
    part: 'kvm_cmd',
    ganeti: expected.filter((o) => !lib.has(key(o))).map(showOpt),
    library: library.filter((o) => !exp.has(key(o))).map(showOpt)
  }
}

// ---------------------------------------------------------------------------------------------
// The devices of an argv, normalised

export interface NicView {
  readonly device: Record<string, Json>
  readonly fds: ReadonlyArray<number>
  readonly vhostfds: ReadonlyArray<number>
  readonly vhost: boolean
}

export interface DiskView {
  /** The -device's placement properties; null for a drive QEMU places itself (`if=ide`). */
  readonly device: Record<string, Json> | null
  readonly location: string
  readonly cache: string
  readonly aio: string | undefined
  readonly discard: string
}

export interface DeviceView {
  netNone: boolean
  readonly nics: Map<string, NicView>
  readonly disks: DiskView[]
  readonly boot: string | undefined
  readonly unexpected: string[]
}

const fdList = (v: Json | undefined): number[] => (v === undefined || v === null ? [] : String(v).split(':').filter((s) => s !== '').map(Number))

/** The placement and wiring properties compared on a -device (never bootindex, drive, write-cache). */
const DEVICE_KEYS = ['driver', 'id', 'bus', 'addr', 'channel', 'scsi-id', 'lun', 'unit', 'iobase', 'irq', 'mac', 'netdev', 'mq', 'vectors'] as const
const deviceProps = (d: Record<string, Json>): Record<string, Json> => {
  const out: Record<string, Json> = {}
  for (const k of DEVICE_KEYS) {
    const v = d[k]
    if (v === undefined) continue
    out[k] = k === 'mq' ? v === true || v === 'on' : ['channel', 'scsi-id', 'lun', 'unit', 'vectors', 'iobase', 'irq'].includes(k) ? Number(v) : v
  }
  if (out['mq'] === false) delete out['mq']
  return out
}

/** Ganeti's `cache=` as the cache mode it names (absent: QEMU's default, writeback). */
const ganetiCache = (c: string | undefined): string => c ?? 'writeback'

/**
 * The cache mode a frontend acts on. scsi-block and scsi-generic send the guest's commands to
 * the host device by SG_IO (no emulated FUA, no `write-cache` property): the write-cache half
 * of a mode reaches nothing there, only the node's `cache.direct` and `cache.no-flush` do, so
 * writethrough is writeback and directsync is none (the plan warns about it, lib/plan.ts).
 */
const PASS_THROUGH: ReadonlySet<string> = new Set(['scsi-block', 'scsi-generic'])
const WITHOUT_WRITE_CACHE: Readonly<Record<string, string>> = { writethrough: 'writeback', directsync: 'none' }
const actedOn = (mode: string, driver: Json | undefined): string => (typeof driver === 'string' && PASS_THROUGH.has(driver) ? WITHOUT_WRITE_CACHE[mode] ?? mode : mode)

/** The cache mode the library's nodes and device amount to. */
const libraryCache = (proto: Record<string, Json>, device: Record<string, Json>): string => {
  const cache = (proto['cache'] ?? {}) as Record<string, Json>
  if (cache['no-flush'] === true) return 'unsafe'
  const direct = cache['direct'] === true
  const wc = device['write-cache'] !== 'off' && device['write-cache'] !== false
  return direct ? (wc ? 'none' : 'directsync') : wc ? 'writeback' : 'writethrough'
}

/** Where a protocol node reads, written as Ganeti's -drive file= names it. */
const location = (proto: Record<string, Json>): string => {
  switch (proto['driver']) {
    case 'rbd':
      return `rbd:${String(proto['pool'])}/${String(proto['image'])}`
    case 'gluster': {
      const server = ((proto['server'] ?? []) as Array<Record<string, Json>>)[0] ?? {}
      return `gluster://${String(server['host'])}:${String(server['port'])}/${String(proto['volume'])}/${String(proto['path'])}`
    }
    default:
      return String(proto['filename'])
  }
}

/** Ganeti's exec-time options that are the caller's under the library (README, runtimeArgv). */
const CALLERS: ReadonlySet<string> = new Set(['-runas', '-k', '-qmp', '-S', '-incoming'])

/** The devices Ganeti's _ExecuteKVMRuntime appended to kvm_cmd. */
export const ganetiDevices = (exec: ReadonlyArray<Opt>, cmd: ReadonlyArray<Opt>, diskIds: ReadonlyArray<string>, nicIds: ReadonlyArray<string>): DeviceView => {
  const view: DeviceView = { netNone: false, nics: new Map(), disks: [], boot: undefined, unexpected: [] }
  let pendingNetdev: Record<string, string> | undefined
  let pendingDevice: Record<string, string> | undefined
  let bootDisk = false
  // A `-drive if=ide` without a -device is the ide-hd QEMU makes at the next IDE place, counting
  // kvm_cmd's own IDE drives (Ganeti's CD-ROMs) first: ide.0 unit 0, unit 1, ide.1 unit 0, …
  let ideIndex = cmd.filter(([o, val]) => o === '-drive' && /(^|,)if=ide(,|$)/.test(String(val ?? ''))).length
  for (const [opt, raw] of exec) {
    const v = raw === undefined ? undefined : String(raw)
    if (CALLERS.has(opt)) continue
    if (opt === '-net' && v === 'none') view.netNone = true
    else if (opt === '-netdev') pendingNetdev = keyval(v, 'type')
    else if (opt === '-device' && pendingNetdev !== undefined) {
      const d = keyval(v, 'driver')
      view.nics.set(String(d['id']), { device: deviceProps(d), fds: fdList(pendingNetdev['fds'] ?? pendingNetdev['fd']), vhostfds: fdList(pendingNetdev['vhostfds'] ?? pendingNetdev['vhostfd']), vhost: pendingNetdev['vhost'] === 'on' })
      pendingNetdev = undefined
    } else if (opt === '-boot' && v === 'c') bootDisk = true
    else if (opt === '-device') pendingDevice = keyval(v, 'driver')
    else if (opt === '-drive') {
      const d = keyval(v, 'file')
      const implied =
        pendingDevice === undefined && d['if'] === 'ide'
          ? deviceProps({ driver: 'ide-hd', id: diskIds[view.disks.length] ?? '', bus: `ide.${ideIndex >> 1}`, unit: String(ideIndex++ & 1) })
          : null
      view.disks.push({ device: pendingDevice === undefined ? implied : deviceProps(pendingDevice), location: d['file'] ?? '', cache: actedOn(ganetiCache(d['cache']), pendingDevice?.['driver']), aio: (d['file'] ?? '').startsWith('/') ? d['aio'] : undefined, discard: d['discard'] ?? 'ignore' })
      pendingDevice = undefined
    } else view.unexpected.push(showOpt([opt, raw]))
  }
  const netBoot = cmd.some(([o, val]) => o === '-boot' && val === 'n')
  const boot = bootDisk ? diskIds[0] : netBoot ? nicIds[0] : undefined
  return { ...view, boot }
}

/** The devices the library's runtimeArgv put after the command. */
export const libraryDevices = (rest: ReadonlyArray<Opt>): DeviceView => {
  const view: DeviceView = { netNone: false, nics: new Map(), disks: [], boot: undefined, unexpected: [] }
  const netdevs = new Map<string, Record<string, Json>>()
  const nodes = new Map<string, Record<string, Json>>()
  let boot: string | undefined
  for (const [opt, raw] of rest) {
    const v = raw === undefined ? undefined : String(raw)
    if (opt === '-net' && v === 'none') view.netNone = true
    else if (opt === '-netdev') {
      const n = json(v)
      netdevs.set(String(n['id']), n)
    } else if (opt === '-blockdev') {
      const n = json(v)
      nodes.set(String(n['node-name']), n)
    } else if (opt === '-device') {
      const d = json(v)
      if (d['bootindex'] === 1) boot = String(d['id'])
      const netdev = d['netdev'] === undefined ? undefined : netdevs.get(String(d['netdev']))
      if (netdev !== undefined) {
        view.nics.set(String(d['id']), { device: deviceProps(d), fds: fdList(netdev['fds'] ?? netdev['fd']), vhostfds: fdList(netdev['vhostfds'] ?? netdev['vhostfd']), vhost: netdev['vhost'] === true })
        continue
      }
      const top = nodes.get(String(d['drive']))
      const proto = top !== undefined && typeof top['file'] === 'string' ? nodes.get(top['file']) ?? top : top
      if (top === undefined || proto === undefined) {
        view.unexpected.push(showOpt([opt, raw]))
        continue
      }
      const loc = location(proto)
      view.disks.push({ device: deviceProps(d), location: loc, cache: actedOn(libraryCache(proto, d), d['driver']), aio: loc.startsWith('/') ? String(proto['aio'] ?? 'threads') : undefined, discard: String(top['discard'] ?? proto['discard'] ?? 'ignore') })
    } else view.unexpected.push(showOpt([opt, raw]))
  }
  return { ...view, boot }
}

// ---------------------------------------------------------------------------------------------
// One instance

const refusal = (a: Answer<unknown>): string | undefined => (a._tag === 'ok' ? undefined : `${a._tag}: ${a.error}`)

/** A refusal as one line per error (formatError puts each field error on its own line). */
const lines = (a: Answer<unknown>): string[] => {
  if (a._tag === 'ok') return []
  const [first = '', ...rest] = a.error.split('\n')
  const tag = /^(\w+): /.exec(first)?.[1] ?? ''
  return [`${a._tag}: ${first}`, ...rest.map((l) => `${a._tag}: ${tag}: ${l}`)]
}

/** An input change that makes a known refusal go away, for the placement comparison only. */
export type Neutralizer = (spec: JsonObj, desc: Desc) => JsonObj

/** Compares one instance; `rewrites` are the kvm_cmd rewrites of the known differences. */
export const compareCase = (
  index: number,
  desc: Desc,
  g: Ok,
  rewrites: ReadonlyArray<readonly [string, Rewrite]>,
  neutralizers: ReadonlyArray<readonly [string, Neutralizer]>
): Case => {
  const used = new Set<string>()
  const out: Disagreement[] = []
  const agreed: Record<Disagreement['check'], number> = { file: 0, upgrade: 0, argv: 0, plan: 0, hotadd: 0 }
  const file = JSON.parse(g.file) as [CmdWord[], JsonObj[], JsonObj, Array<[JsonObj, string, string | null]>]
  const hv = file[2]
  const diskIds = g.hvinfo.disks.map((h) => String(h['id']))
  const nicIds = g.hvinfo.nics.map((h) => String(h['id']))

  // file: the runtime file Ganeti wrote decodes.
  const runtime = parsedRuntime(g.file)
  if (runtime._tag === 'ok') agreed.file++
  else out.push({ check: 'file', part: 'parseRuntime', ganeti: 'a runtime file', library: refusal(runtime) })

  // upgrade: the library's upgrade against Ganeti's own _UpgradeSerializedRuntime.
  const up = upgradedFile(g.file)
  const gUp = JSON.parse(g.upgraded) as [CmdWord[], JsonObj[], JsonObj, unknown[]]
  if (up._tag !== 'ok') out.push({ check: 'upgrade', part: 'upgradeRuntime', ganeti: 'upgraded', library: refusal(up) })
  else {
    const [lCmd, lNics, lHv, lDisks, ...more] = up.value as [CmdWord[], Json[], JsonObj, Json[], ...Json[]]
    const d = compareCmd('upgrade', [['', gUp[0][0]] as Opt, ...options(gUp[0])], [['', lCmd[0]] as Opt, ...options(lCmd)], rewrites, used)
    if (d === undefined) agreed.upgrade++
    else out.push(d)
    for (const k of new Set([...Object.keys(gUp[2]), ...Object.keys(lHv)])) {
      if (same(gUp[2][k], lHv[k])) agreed.upgrade++
      else out.push({ check: 'upgrade', part: `hvparams.${k}`, ganeti: gUp[2][k], library: lHv[k] })
    }
    if (same(gUp[1], lNics)) agreed.upgrade++
    else out.push({ check: 'upgrade', part: 'kvm_nics', ganeti: gUp[1], library: lNics })
    if (same(gUp[3], lDisks)) agreed.upgrade++
    else out.push({ check: 'upgrade', part: 'kvm_disks', ganeti: gUp[3], library: lDisks })
    if (more.length > 0) out.push({ check: 'upgrade', part: 'length', ganeti: 4, library: 4 + more.length })
  }

  // argv: runtimeArgv of the file against the command Ganeti ran.
  let argv: Answer<ReadonlyArray<string>> | undefined
  if (runtime._tag === 'ok') {
    argv = rebuiltArgv(runtime.value, g.taps)
    if (argv._tag === 'threw') {
      // Recorded, then the NICs are given an explicit empty vhostfds so that the rest compares.
      out.push({ check: 'argv', part: 'runtimeArgv', ganeti: 'started', library: refusal(argv) })
      argv = rebuiltArgv(runtime.value, g.taps, undefined, true)
    }
    if (argv._tag !== 'ok') for (const line of lines(argv)) out.push({ check: 'argv', part: 'runtimeArgv', ganeti: 'started', library: line })
    else {
      const gCmd = file[0].map(String)
      const gArgv = g.argv
      if (!same(gArgv.slice(0, gCmd.length), gCmd)) out.push({ check: 'argv', part: 'ganeti prefix', ganeti: gArgv, library: gCmd })
      const lCmd = cmdArgv(runtime.value.cmd)
      const lArgv = argv.value
      if (!same(lArgv.slice(0, lCmd.length), lCmd)) out.push({ check: 'argv', part: 'library prefix', ganeti: lCmd, library: lArgv })
      const d = compareCmd('argv', [['', gArgv[0]] as Opt, ...options(gCmd)], [['', lArgv[0]] as Opt, ...options(lCmd)], rewrites, used)
      if (d === undefined) agreed.argv++
      else out.push(d)
      const gv = ganetiDevices(options(['', ...gArgv.slice(gCmd.length)]), options(gCmd), diskIds, nicIds)
      const lv = libraryDevices(options(['', ...lArgv.slice(lCmd.length)]))
      for (const u of gv.unexpected) out.push({ check: 'argv', part: 'ganeti unexpected option', ganeti: u, library: null })
      for (const u of lv.unexpected) out.push({ check: 'argv', part: 'library unexpected option', ganeti: null, library: u })
      if (gv.netNone === lv.netNone) agreed.argv++
      else out.push({ check: 'argv', part: '-net none', ganeti: gv.netNone, library: lv.netNone })
      if (gv.boot === lv.boot) agreed.argv++
      else out.push({ check: 'argv', part: 'boot device', ganeti: gv.boot ?? null, library: lv.boot ?? null })
      for (const id of new Set([...gv.nics.keys(), ...lv.nics.keys()])) {
        const a = gv.nics.get(id)
        const b = lv.nics.get(id)
        if (a === undefined || b === undefined) {
          out.push({ check: 'argv', part: `nic ${id}`, ganeti: a ?? null, library: b ?? null })
          continue
        }
        for (const k of ['device', 'fds', 'vhostfds', 'vhost'] as const) {
          if (same(a[k], b[k])) agreed.argv++
          else out.push({ check: 'argv', part: `nic ${id} ${k}`, ganeti: a[k], library: b[k] })
        }
      }
      if (gv.disks.length !== lv.disks.length) out.push({ check: 'argv', part: 'disk count', ganeti: gv.disks.length, library: lv.disks.length })
      gv.disks.forEach((a, i) => {
        const b = lv.disks[i]
        if (b === undefined) return
        for (const k of ['device', 'location', 'cache', 'aio', 'discard'] as const) {
          if (same(a[k] ?? null, b[k] ?? null)) agreed.argv++
          else out.push({ check: 'argv', part: `disk ${i} ${k}`, ganeti: a[k] ?? null, library: b[k] ?? null })
        }
      })
    }
  }

  // plan: planDevices of the same instance, placements against Ganeti's hvinfo. A refusal is
  // recorded, one disagreement per error, and the plan is tried once more with every listed
  // neutralizer applied, so that the placements still compare.
  const spec0 = librarySpec(desc, hv, g.taps)
  let plan = libraryPlan(desc, spec0)
  if (plan._tag !== 'ok') {
    for (const line of lines(plan)) out.push({ check: 'plan', part: 'planDevices', ganeti: 'placed', library: line })
    const spec1 = neutralizers.reduce((acc, [, f]) => f(acc, desc), spec0)
    plan = libraryPlan(desc, spec1)
    if (plan._tag !== 'ok') for (const line of lines(plan)) out.push({ check: 'plan', part: 'planDevices (neutralized)', ganeti: 'placed', library: line })
  }
  if (plan._tag === 'ok') {
    const tree = plan.value
    const pairs: Array<readonly [string, JsonObj | undefined, JsonObject | undefined]> = [
      ...g.hvinfo.disks.map((h, i) => [`disks[${i}]`, h, tree.disks[i] === undefined ? undefined : encodeHvinfo(tree.disks[i]!)] as const),
      ...g.hvinfo.nics.map((h, i) => [`nics[${i}]`, h, tree.nics[i] === undefined ? undefined : encodeHvinfo(tree.nics[i]!)] as const)
    ]
    for (const [part, a, b] of pairs) {
      if (same(a, b)) agreed.plan++
      else out.push({ check: 'plan', part, ganeti: a ?? null, library: b ?? null })
    }
  }

  // hotadd: planHotAdd on Ganeti's file against Ganeti's HotAddDevice.
  const hot: { disk: Answer<JsonObject> | undefined; nic: Answer<JsonObject> | undefined } = { disk: undefined, nic: undefined }
  if (runtime._tag === 'ok') {
    for (const kind of ['disk', 'nic'] as const) {
      const ga = g.hotadd[kind]
      if (ga === undefined) continue
      const la = libraryHotAdd(runtime.value, kind, desc, 'taps' in ga ? ga.taps : undefined)
      hot[kind] = la
      const gRefused = 'refused' in ga ? ga.refused : undefined
      const lRefused = refusal(la)
      if (gRefused !== undefined && lRefused !== undefined) agreed.hotadd++
      else if (gRefused !== undefined || lRefused !== undefined) out.push({ check: 'hotadd', part: kind, ganeti: gRefused ?? ('hvinfo' in ga ? ga.hvinfo : null), library: lRefused ?? (la._tag === 'ok' ? la.value : null) })
      else if ('hvinfo' in ga && la._tag === 'ok' && same(ga.hvinfo, la.value)) agreed.hotadd++
      else out.push({ check: 'hotadd', part: kind, ganeti: 'hvinfo' in ga ? ga.hvinfo : null, library: la._tag === 'ok' ? la.value : null })
    }
  }
  return { index, desc, ganeti: g, hv, runtime, argv, plan, hotadd: hot, agreed, disagreements: out, rewritten: [...used] }
}
