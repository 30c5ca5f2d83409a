/**
 * The command line, as a function: arguments and the text of the inputs they name in, what to
 * print and which file to write out. Pure like the library: every host fact (file or block
 * device kinds, fds, the QEMU version, the QMP socket, the chroot directory) comes from the
 * inputs and flags; nothing is statted, opened or reserved. `cli.ts` does the reading and
 * writing, so that this file can be judged by its arguments alone.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import {
  allDevices,
  decodeDisk,
  decodeInstance,
  decodeNic,
  decodeTarget,
  downgradeRuntime,
  encodeRuntime,
  formatError,
  parseRuntime,
  parseVersion,
  planChangeMedium,
  planDevices,
  planHotAdd,
  planHotRemove,
  renderArgv,
  runtimeArgv,
  showAddress,
  runtimeCmdDevices,
  toRuntime,
  RUNTIME_WRITER,
  upgradeRuntime,
  type Address,
  type DeviceTree,
  type DevplanError,
  type DowngradeTarget,
  type FieldError,
  type Instance,
  type NicBackend,
  type PlanWarning,
  type QmpPlan,
  type RebuildOptions,
  type RenderOptions,
  type Runtime,
  type RuntimeNic
} from 'qemu-devplan'
import { HELP } from './help.js'

/** Every failure class has its own exit code; `diff` uses 1 for "something moved", as diff(1) does. */
export const EXIT = { ok: 0, moved: 1, usage: 2, decode: 3, placement: 4, unsupported: 5, internal: 70 } as const

/** What a run asks the shell to do. After an error, `stdout` is empty and nothing is written. */
export interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** Files to write, only ever the one `--out` names. */
  readonly writes: ReadonlyArray<{ readonly path: string; readonly text: string }>
}

/** Reads an input named on the command line (`-` is stdin); `Left` carries the reason. */
export type Reader = (path: string) => E.Either<string, string>

/** A failure: its class (the exit code) and its lines, each already naming where it is. */
interface Failure {
  readonly code: number
  readonly lines: ReadonlyArray<string>
}

type Result<A> = E.Either<Failure, A>

const usage = (message: string): Failure => ({ code: EXIT.usage, lines: `${message} (see qemu-devplan --help)`.split('\n') })

const codeOf = (e: DevplanError): number => {
  switch (e._tag) {
    case 'InvalidInput':
      return EXIT.decode
    case 'BusFull':
    case 'PlaceTaken':
    case 'NoSuchPlace':
    case 'DuplicateId':
    case 'UnknownDevice':
    case 'NoSparePort':
      return EXIT.placement
    case 'Unsupported':
    case 'MigrationInProgress':
    case 'NotMigratable':
      return EXIT.unsupported
  }
}

/** A library error about `source` (a file name or a flag); each of its lines names the field path. */
const failed = (source: string) => (e: DevplanError): Failure => ({ code: codeOf(e), lines: formatError(e).split('\n').map((l) => `${source}: ${l}`) })

/** Field paths of a document's part are given from the top of the file (`instance.disks[0].uuid`). */
const under = (prefix: string) => (e: DevplanError): DevplanError =>
  prefix === '' || e._tag !== 'InvalidInput' ? e : { _tag: 'InvalidInput', errors: e.errors.map((f) => ({ ...f, path: f.path === '' ? prefix : `${prefix}.${f.path}` })) }

/** A flag's value the library refused: a decode error, named by the flag. */
const flagFailed = (flag: string, value: unknown, message: string): Failure => ({ code: EXIT.decode, lines: [formatError(invalid([{ path: flag, value, message }]))] })

const invalid = (errors: ReadonlyArray<FieldError>): DevplanError => ({ _tag: 'InvalidInput', errors })

const read = (reader: Reader, path: string): Result<string> => pipe(reader(path), E.mapLeft((reason) => usage(`${path === '-' ? 'stdin' : path}: cannot read: ${reason}`)))

const parseJson = (source: string, text: string): Result<unknown> => {
  try {
    return E.right(JSON.parse(text))
  } catch (e) {
    return E.left(failed(source)(invalid([{ path: '', value: undefined, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` }])))
  }
}

const sourceName = (path: string): string => (path === '-' ? 'stdin' : path)

const isObject = (u: unknown): u is object => typeof u === 'object' && u !== null && !Array.isArray(u)

// ---------------------------------------------------------------------------------------------
// Arguments

type Values = Readonly<Record<string, string | boolean | ReadonlyArray<string | boolean> | undefined>>

const args = (words: ReadonlyArray<string>, options: NonNullable<ParseArgsConfig['options']>): Result<{ readonly values: Values; readonly positionals: ReadonlyArray<string> }> => {
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...words], options: { ...options, help: { type: 'boolean' } }, allowPositionals: true, strict: true, tokens: true })
    // parseArgs keeps the last of a flag given twice: a second --qemu is more likely a slip than
    // a wish, and must not pass unnoticed.
    const seen = new Set<string>()
    for (const t of tokens) {
      if (t.kind !== 'option' || options[t.name]?.multiple === true) continue
      if (seen.has(t.name)) return E.left(usage(`--${t.name} is given twice`))
      seen.add(t.name)
    }
    return E.right({ values, positionals })
  } catch (e) {
    // parseArgs reports a bad command line by throwing; that is a usage error, not a crash.
    return E.left(usage(e instanceof Error ? e.message : String(e)))
  }
}

const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined)
const strs = (v: Values[string]): ReadonlyArray<string> => (typeof v === 'object' ? v.filter((s): s is string => typeof s === 'string') : [])

const oneOf = <T extends string>(flag: string, value: string | undefined, allowed: ReadonlyArray<T>, fallback: T): Result<T> => {
  if (value === undefined) return E.right(fallback)
  const found = allowed.find((a) => a === value)
  return found === undefined ? E.left(usage(`${flag}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`)) : E.right(found)
}

const positionalCount = (command: string, positionals: ReadonlyArray<string>, names: ReadonlyArray<string>): Result<ReadonlyArray<string>> =>
  positionals.length === names.length ? E.right(positionals) : E.left(usage(`${command} takes ${names.length === 0 ? 'no arguments' : names.join(' ')}, got ${positionals.length === 0 ? 'none' : positionals.map((p) => JSON.stringify(p)).join(' ')}`))

const stdinOnce = (paths: ReadonlyArray<string | undefined>): Result<undefined> =>
  paths.filter((p) => p === '-').length > 1 ? E.left(usage('only one input can be - (stdin)')) : E.right(undefined)

const qemuFlag = (value: string | undefined): Result<RebuildOptions['qemu']> => {
  if (value === undefined) return E.right(undefined)
  const v = parseVersion(value)
  return v === undefined ? E.left(flagFailed('--qemu', value, 'expected a QEMU version such as "7.2" or "10.0.1"')) : E.right(v)
}

// ---------------------------------------------------------------------------------------------
// Output forms

/** A word `sh` reads back as itself: bare when it holds only safe characters, else in single quotes. */
export const shellWord = (w: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

type ArgvFormat = 'json' | 'shell' | 'lines'

const argvText = (argv: ReadonlyArray<string>, format: ArgvFormat): string =>
  format === 'json' ? `${JSON.stringify(argv)}\n` : format === 'shell' ? `${argv.map(shellWord).join(' ')}\n` : argv.map((w) => `${w}\n`).join('')

export const placeOf = (a: Address | undefined): string => (a === undefined ? 'unplaced (QEMU chooses)' : showAddress(a))

const table = (rows: ReadonlyArray<ReadonlyArray<string>>, head: ReadonlyArray<string>): string => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (r: ReadonlyArray<string>): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].map((l) => `${l}\n`).join('')
}

const deviceTable = (tree: DeviceTree): string =>
  table(
    allDevices(tree).map((d) => [d.kind, d.id, d.driver, placeOf(d.address)]),
    ['kind', 'id', 'driver', 'placement']
  )

/** Warnings name their field from the file's top, as errors do; a message that names it already is kept as it is. */
const warningLines = (source: string, prefix: string, ws: ReadonlyArray<PlanWarning>): ReadonlyArray<string> =>
  ws.map((w) => {
    const path = prefix === '' ? w.path : `${prefix}.${w.path}`
    return `warning: ${source}: ${w.message.startsWith(w.path) ? `${prefix === '' ? '' : `${prefix}.`}${w.message}` : `${path}: ${w.message}`}`
  })

/**
 * A plan as the executor sees it, one line per step: the QMP command (`execute`, `arguments`),
 * plus `fd` when a descriptor travels with it (SCM_RIGHTS) and `waitFor` when the step then
 * waits for the guest to release the device.
 */
const planLines = (plan: QmpPlan<unknown>): string =>
  plan.steps
    .map((s) => {
      if (s._tag === 'wait') return `${JSON.stringify({ waitFor: { until: s.until, failOn: s.failOn, timeoutMs: s.timeoutMs } })}\n`
      const base = { execute: s.command.execute, ...(s.command.arguments === undefined ? {} : { arguments: s.command.arguments }) }
      const line = s._tag === 'command' ? { ...base, ...(s.fd === undefined ? {} : { fd: s.fd }) } : { ...base, waitFor: { event: 'DEVICE_DELETED', id: s.id, timeoutMs: s.timeoutMs } }
      return `${JSON.stringify(line)}\n`
    })
    .join('')

// ---------------------------------------------------------------------------------------------
// Inputs

/** A spec file: an instance, or `{instance, target?, render?}` as in examples/instance.json. */
interface SpecDoc {
  readonly instance: unknown
  readonly prefix: string
  readonly target: unknown
  readonly render: unknown
}

const specDoc = (doc: unknown): SpecDoc =>
  isObject(doc) && 'instance' in doc
    ? { instance: doc.instance, prefix: 'instance', target: 'target' in doc ? doc.target : undefined, render: 'render' in doc ? doc.render : undefined }
    : { instance: doc, prefix: '', target: undefined, render: undefined }

interface TargetFlags {
  readonly qemu: string | undefined
  readonly machine: string | undefined
  readonly chrootDir: string | undefined
}

const FLAG_OF: ReadonlyArray<readonly [string, keyof TargetFlags, string]> = [
  ['qemu', 'qemu', '--qemu'],
  ['machine', 'machine', '--machine'],
  ['host.chrootDir', 'chrootDir', '--chroot-dir']
]

/** A target's field errors, each named where its value came from: a flag, or the spec's target. */
const targetFailure = (source: string, flags: TargetFlags, e: DevplanError): Failure => {
  if (e._tag !== 'InvalidInput') return failed(source)(e)
  const lines = e.errors.flatMap((f) => {
    const flag = FLAG_OF.find(([path, key]) => f.path === path && flags[key] !== undefined)
    return flag === undefined ? failed(source)(under('target')(invalid([f]))).lines : flagFailed(flag[2], f.value, f.message).lines
  })
  return { code: EXIT.decode, lines }
}

/** The document's target with the flags over it; decoded by the library, paths from the file's top. */
const specTree = (source: string, doc: SpecDoc, flags: TargetFlags): Result<DeviceTree> => E.map((p: Planned) => p.tree)(specPlanned(source, doc, flags))

/** A spec's instance and its tree. */
interface Planned {
  readonly inst: Instance
  readonly tree: DeviceTree
}

const specPlanned = (source: string, doc: SpecDoc, flags: TargetFlags): Result<Planned> => {
  const given = doc.target === undefined ? {} : doc.target
  if (!isObject(given)) return E.left(failed(source)(invalid([{ path: 'target', value: given, message: 'expected an object such as {"qemu": "7.2"}' }])))
  const host = 'host' in given ? given.host : undefined
  const target = {
    ...given,
    ...(flags.qemu === undefined ? {} : { qemu: flags.qemu }),
    ...(flags.machine === undefined ? {} : { machine: flags.machine }),
    ...(flags.chrootDir === undefined ? {} : { host: { ...(isObject(host) ? host : {}), chrootDir: flags.chrootDir } })
  }
  if (!('qemu' in target)) return E.left(usage(`${source}: the QEMU version is needed: pass --qemu (or give target.qemu in the spec)`))
  return pipe(
    E.Do,
    E.apS('target', pipe(decodeTarget(target), E.mapLeft((e) => targetFailure(source, flags, e)))),
    E.apS('inst', pipe(decodeInstance(doc.instance), E.mapLeft((e) => failed(source)(under(doc.prefix)(e))))),
    E.chain(({ target: t, inst }) => pipe(planDevices(inst, t), E.bimap(failed(source), (tree) => ({ inst, tree }))))
  )
}

const renderOptions = (source: string, tree: DeviceTree, render: unknown, flags: { readonly qmpSocket: string | undefined; readonly accel: 'kvm' | 'tcg' | undefined; readonly controlDir: string | undefined }): Result<RenderOptions> => {
  const r = render === undefined ? {} : render
  const bad = (path: string, value: unknown, message: string): Result<RenderOptions> => E.left(failed(source)(invalid([{ path, value, message }])))
  if (!isObject(r)) return bad('render', r, 'expected an object such as {"qmpSocket": "/run/vm1.qmp"}')
  const qmp = 'qmpSocket' in r ? r.qmpSocket : undefined
  const accel = 'accel' in r ? r.accel : undefined
  const control = 'controlDir' in r ? r.controlDir : undefined
  if (qmp !== undefined && typeof qmp !== 'string') return bad('render.qmpSocket', qmp, 'expected a path')
  if (accel !== undefined && accel !== 'kvm' && accel !== 'tcg') return bad('render.accel', accel, 'expected "kvm" or "tcg"')
  if (control !== undefined && typeof control !== 'string') return bad('render.controlDir', control, 'expected a directory')
  const accelOf = flags.accel ?? accel
  const controlDir = flags.controlDir ?? control
  return E.right({
    // A default name, never a probe: the socket is wherever the caller's QEMU is told to put it.
    qmpSocket: flags.qmpSocket ?? qmp ?? `/run/qemu-devplan/${tree.name}.qmp`,
    ...(accelOf === undefined ? {} : { accel: accelOf }),
    ...(controlDir === undefined ? {} : { controlDir })
  })
}

const runtimeOf = (reader: Reader, path: string): Result<Runtime> =>
  pipe(
    read(reader, path),
    E.chain((text) => pipe(parseRuntime(text), E.mapLeft(failed(sourceName(path)))))
  )

/**
 * `--nic-backend` answers for a runtime Ganeti wrote (its NICs record no netdev): one JSON
 * backend for every such NIC, or one per NIC in order. Each is decoded as a spec's NIC
 * backend is, before the library asks for it.
 */
const nicBackends = (rt: Runtime, given: ReadonlyArray<string>): Result<RebuildOptions['nicBackend']> => {
  if (given.length === 0) return E.right(undefined)
  const parsed = E.sequenceArray(given.map((g, i) => parseJson(`--nic-backend[${i}]`, g)))
  return pipe(
    parsed,
    E.chain((json) => {
      if (json.length !== 1 && json.length !== rt.nics.length) return E.left(usage(`--nic-backend: give one for every NIC or one per NIC (${rt.nics.length}), got ${json.length}`))
      const decoded = rt.nics.map((n: RuntimeNic, i) =>
        pipe(
          decodeNic({ uuid: n.uuid, mac: n.mac, backend: json.length === 1 ? json[0] : json[i] }),
          // The uuid and MAC are the runtime's own: only the backend can be at fault, so its paths start there.
          E.bimap((e) => failed(`--nic-backend[${json.length === 1 ? 0 : i}]`)(e._tag === 'InvalidInput' ? invalid(e.errors.map((f) => ({ ...f, path: f.path.replace(/^nic\.backend\.?/, '') }))) : e), (nic): NicBackend => nic.backend)
        )
      )
      return pipe(
        E.sequenceArray(decoded),
        E.map((backends) => (_n: RuntimeNic, i: number): NicBackend => backends[i] ?? { type: 'user' })
      )
    })
  )
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Printed {
  readonly stdout: string
  readonly stderr?: ReadonlyArray<string>
  readonly code?: number
  readonly writes?: Outcome['writes']
}

const ARGV_FORMATS = ['json', 'shell', 'lines'] as const
const PLAN_FORMATS = [...ARGV_FORMATS, 'table', 'plan'] as const

const planCommand = (words: ReadonlyArray<string>, reader: Reader): Result<Printed> =>
  pipe(
    args(words, {
      qemu: { type: 'string' },
      machine: { type: 'string' },
      'qmp-socket': { type: 'string' },
      accel: { type: 'string' },
      'control-dir': { type: 'string' },
      'chroot-dir': { type: 'string' },
      runtime: { type: 'string' },
      'nic-backend': { type: 'string', multiple: true },
      format: { type: 'string' },
      out: { type: 'string' }
    }),
    E.chain(({ values: v, positionals }) => {
      const runtimePath = str(v['runtime'])
      if (runtimePath !== undefined) {
        if (v['out'] !== undefined) return E.left(usage('plan --runtime: --out is for a spec; the runtime file is already written'))
        for (const flag of ['machine', 'qmp-socket', 'accel', 'control-dir'] as const) {
          if (v[flag] !== undefined) return E.left(usage(`plan --runtime: --${flag} is the runtime's own; it cannot be given`))
        }
        return pipe(
          E.Do,
          E.apS('none', positionalCount('plan --runtime FILE', positionals, [])),
          E.apS('format', oneOf('--format', str(v['format']), ARGV_FORMATS, 'json')),
          E.apS('qemu', qemuFlag(str(v['qemu']))),
          E.apS('rt', runtimeOf(reader, runtimePath)),
          E.bind('nicBackend', ({ rt }) => nicBackends(rt, strs(v['nic-backend']))),
          E.chain(({ format, qemu, rt, nicBackend }) => {
            // Said in the flag's words: the library's own message names its option.
            if (rt.stamp === undefined && qemu === undefined) return E.left(usage(`${sourceName(runtimePath)}: a runtime Ganeti wrote does not name its QEMU: pass --qemu`))
            const without = rt.nics.flatMap((n, i) => (n.netdev === undefined && n.placed !== undefined ? [i] : []))
            if (without.length > 0 && nicBackend === undefined) {
              return E.left(usage(`${sourceName(runtimePath)}: nics[${without.join('], nics[')}] record no netdev (a runtime Ganeti wrote): pass --nic-backend to say how each reaches the host`))
            }
            // A flag that changes nothing is said to, never dropped in silence.
            const unused = nicBackend !== undefined && without.length === 0 ? [`--nic-backend is not used: every NIC of ${sourceName(runtimePath)} records its netdev, which the argv keeps`] : []
            const chrootDir = str(v['chroot-dir'])
            const options: RebuildOptions = { ...(qemu === undefined ? {} : { qemu }), ...(chrootDir === undefined ? {} : { chrootDir }), ...(nicBackend === undefined ? {} : { nicBackend }) }
            return pipe(runtimeArgv(rt, options), E.bimap(failed(sourceName(runtimePath)), (argv) => ({ stdout: argvText(argv, format), stderr: unused })))
          })
        )
      }
      if (v['nic-backend'] !== undefined) return E.left(usage('plan SPEC: --nic-backend is for --runtime; a spec gives each NIC its backend'))
      return pipe(
        E.Do,
        E.apS('path', pipe(positionalCount('plan', positionals, ['SPEC']), E.map((p) => p[0] ?? '-'))),
        E.apS('format', oneOf('--format', str(v['format']), PLAN_FORMATS, 'json')),
        E.apS('accel', oneOf<'kvm' | 'tcg' | ''>('--accel', str(v['accel']), ['kvm', 'tcg'], '')),
        E.bind('doc', ({ path }) => pipe(read(reader, path), E.chain((text) => parseJson(sourceName(path), text)), E.map(specDoc))),
        E.apS('out', pipe(outFlag(v), E.map(() => str(v['out'])))),
        E.bind('planned', ({ path, doc }) => specPlanned(sourceName(path), doc, { qemu: str(v['qemu']), machine: str(v['machine']), chrootDir: str(v['chroot-dir']) })),
        E.bind('render', ({ path, doc, planned, accel }) =>
          renderOptions(sourceName(path), planned.tree, doc.render, { qmpSocket: str(v['qmp-socket']), accel: accel === '' ? undefined : accel, controlDir: str(v['control-dir']) })
        ),
        // --out: the runtime the instance starts with (toRuntime), what hotplug, media and
        // plan --runtime read; written only when everything else succeeded.
        E.bind('runtime', ({ path, planned, render, out }) =>
          out === undefined ? E.right(undefined) : pipe(toRuntime(planned.inst, planned.tree, render), E.bimap(failed(sourceName(path)), (rt) => `${JSON.stringify(encodeRuntime(rt))}\n`))
        ),
        E.map(({ path, doc, format, planned: { tree }, render, out, runtime }) => {
          const stdout = format === 'table' ? deviceTable(tree) : format === 'plan' ? `${JSON.stringify(tree, null, 2)}\n` : argvText(renderArgv(tree, render), format)
          return { stdout, stderr: warningLines(sourceName(path), doc.prefix, tree.warnings), writes: out === undefined || runtime === undefined ? [] : [{ path: out, text: runtime }] }
        })
      )
    })
  )

const hotplugOptions = {
  out: { type: 'string' },
  qemu: { type: 'string' },
  'unplug-timeout': { type: 'string' },
  format: { type: 'string' }
} as const

/** A plan's output: its lines, its warnings, and the runtime after it, to `--out` or not at all. */
const printPlan = (source: string, plan: QmpPlan, values: Values): Result<Printed> =>
  pipe(
    oneOf('--format', str(values['format']), ['lines', 'plan'] as const, 'lines'),
    E.map((format) => {
      const out = str(values['out'])
      const after = `${JSON.stringify(encodeRuntime(plan.after))}\n`
      return {
        stdout: format === 'lines' ? planLines(plan) : `${JSON.stringify({ title: plan.title, steps: plan.steps, warnings: plan.warnings }, null, 2)}\n`,
        stderr: [...warningLines(source, '', plan.warnings), ...(out === undefined ? ['note: the runtime after the plan is not written: pass --out FILE to keep it (write it once the plan has run)'] : [])],
        writes: out === undefined ? [] : [{ path: out, text: after }]
      }
    })
  )

const outFlag = (values: Values): Result<undefined> =>
  str(values['out']) === '-' ? E.left(usage('--out -: stdout holds the plan; name a file')) : E.right(undefined)

const timeoutFlag = (values: Values): Result<number | undefined> => {
  const s = str(values['unplug-timeout'])
  if (s === undefined) return E.right(undefined)
  return /^\d+$/.test(s) ? E.right(Number(s)) : E.left(usage(`--unplug-timeout: ${JSON.stringify(s)} is not a whole number of milliseconds`))
}

const hotplugCommand = (words: ReadonlyArray<string>, reader: Reader): Result<Printed> => {
  const [sub, ...rest] = words
  if (sub !== 'add' && sub !== 'remove') return E.left(usage(`hotplug: expected add or remove, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`))
  return pipe(
    args(rest, sub === 'add' ? { ...hotplugOptions, disk: { type: 'string' }, nic: { type: 'string' } } : hotplugOptions),
    E.chain(({ values: v, positionals }) =>
      pipe(
        E.Do,
        E.apS('pos', positionalCount(`hotplug ${sub}`, positionals, sub === 'add' ? ['RUNTIME'] : ['RUNTIME', 'ID'])),
        E.apS('out', outFlag(v)),
        E.apS('timeout', timeoutFlag(v)),
        E.apS('qemu', qemuFlag(str(v['qemu']))),
        E.bind('stdin', ({ pos }) => stdinOnce([pos[0], str(v['disk']), str(v['nic'])])),
        E.bind('rt', ({ pos }) => runtimeOf(reader, pos[0] ?? '-')),
        E.chain(({ pos, rt, timeout, qemu }) => {
          const options = { ...(timeout === undefined ? {} : { unplugTimeoutMs: timeout }), ...(qemu === undefined ? {} : { qemu }) }
          const source = sourceName(pos[0] ?? '-')
          if (sub === 'remove') return pipe(planHotRemove(rt, pos[1] ?? '', options), E.mapLeft(failed(source)))
          const disk = str(v['disk'])
          const nic = str(v['nic'])
          if ((disk === undefined) === (nic === undefined)) return E.left(usage('hotplug add: give exactly one of --disk DISK.json and --nic NIC.json'))
          const path = disk ?? nic ?? '-'
          return pipe(
            read(reader, path),
            E.chain((text) => parseJson(sourceName(path), text)),
            E.chain((json) =>
              disk !== undefined
                ? pipe(decodeDisk(json), E.mapLeft(failed(sourceName(path))), E.chain((d) => pipe(planHotAdd(rt, { disk: d }, options), E.mapLeft(failed(source)))))
                : pipe(decodeNic(json), E.mapLeft(failed(sourceName(path))), E.chain((n) => pipe(planHotAdd(rt, { nic: n }, options), E.mapLeft(failed(source)))))
            )
          )
        }),
        E.chain((plan) => printPlan(sourceName(positionals[0] ?? '-'), plan, v))
      )
    )
  )
}

const mediaCommand = (words: ReadonlyArray<string>, reader: Reader): Result<Printed> =>
  pipe(
    args(words, { out: { type: 'string' }, format: { type: 'string' }, eject: { type: 'boolean' } }),
    E.chain(({ values: v, positionals }) => {
      const eject = v['eject'] === true
      return pipe(
        E.Do,
        E.apS('pos', positionalCount(eject ? 'media --eject' : 'media', positionals, eject ? ['RUNTIME', 'CDROM'] : ['RUNTIME', 'CDROM', 'LOCATION'])),
        E.apS('out', outFlag(v)),
        E.bind('rt', ({ pos }) => runtimeOf(reader, pos[0] ?? '-')),
        E.chain(({ pos, rt }) => pipe(planChangeMedium(rt, pos[1] ?? '', eject ? null : (pos[2] ?? '')), E.mapLeft(failed(sourceName(pos[0] ?? '-'))))),
        E.chain((plan) => printPlan(sourceName(positionals[0] ?? '-'), plan, v))
      )
    })
  )

const DOWNGRADE_FORMATS: ReadonlyArray<DowngradeTarget['format']> = ['pre-hvinfo', 'ganeti-2.15', 'ganeti-2.16']

const runtimeCommand = (words: ReadonlyArray<string>, reader: Reader): Result<Printed> => {
  const [sub, ...rest] = words
  if (sub !== 'upgrade' && sub !== 'downgrade') return E.left(usage(`runtime: expected upgrade or downgrade, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`))
  return pipe(
    args(rest, sub === 'downgrade' ? { format: { type: 'string' } } : {}),
    E.chain(({ values: v, positionals }) =>
      pipe(
        positionalCount(`runtime ${sub}`, positionals, ['FILE']),
        E.map((p) => p[0] ?? '-'),
        E.chain((path): Result<Printed> => {
          const source = sourceName(path)
          if (sub === 'upgrade') {
            return pipe(
              read(reader, path),
              E.chain((text) => parseJson(source, text)),
              E.chain((json) => pipe(upgradeRuntime(json), E.mapLeft(failed(source)))),
              E.map((json) => ({ stdout: `${JSON.stringify(json)}\n` }))
            )
          }
          const format = str(v['format'])
          if (format === undefined) return E.left(usage(`runtime downgrade: --format is needed: ${DOWNGRADE_FORMATS.join(', ')}`))
          return pipe(
            E.Do,
            E.apS('format', oneOf('--format', format, DOWNGRADE_FORMATS, 'ganeti-2.16')),
            E.apS('rt', runtimeOf(reader, path)),
            E.chain(({ format: f, rt }) => E.mapLeft(failed(sourceName(path)))(downgradeRuntime(rt, { format: f }))),
            E.map(({ json, lost }) => ({ stdout: `${JSON.stringify(json)}\n`, stderr: lost.map((l) => `lost: ${l.device}: ${l.reason}`) }))
          )
        })
      )
    )
  )
}

/** A device as `diff` compares it: disks and NICs by uuid (their ids differ between Ganeti's generations), the rest by id. */
interface Located {
  readonly key: string
  readonly id: string
  readonly driver: string
  readonly address: Address | undefined
}

const runtimeDevices = (rt: Runtime): ReadonlyArray<Located> => [
  ...rt.disks.map((d) => ({ key: `disk ${d.uuid}`, id: d.placed?.id ?? d.uuid, driver: d.placed?.driver ?? '?', address: d.placed?.address })),
  ...rt.nics.map((n) => ({ key: `nic ${n.uuid}`, id: n.placed?.id ?? n.uuid, driver: n.placed?.driver ?? '?', address: n.placed?.address })),
  ...runtimeCmdDevices(rt).map((d) => ({ key: d.id ?? `(${d.driver})`, id: d.id ?? `(${d.driver})`, driver: d.driver, address: d.placed?.address }))
]

const treeDevices = (tree: DeviceTree): ReadonlyArray<Located> =>
  allDevices(tree).map((d) => ({ key: d.kind === 'disk' || d.kind === 'nic' ? `${d.kind} ${d.uuid}` : d.id, id: d.id, driver: d.driver, address: d.address }))

const sameAddress = (a: Address | undefined, b: Address | undefined): boolean => JSON.stringify(a) === JSON.stringify(b)

const diffCommand = (words: ReadonlyArray<string>, reader: Reader): Result<Printed> =>
  pipe(
    args(words, { qemu: { type: 'string' }, machine: { type: 'string' }, 'chroot-dir': { type: 'string' }, format: { type: 'string' } }),
    E.chain(({ values: v, positionals }) =>
      pipe(
        E.Do,
        E.apS('pos', positionalCount('diff', positionals, ['OLD', 'NEW'])),
        E.apS('format', oneOf('--format', str(v['format']), ['text', 'json'] as const, 'text')),
        E.bind('stdin', ({ pos }) => stdinOnce(pos)),
        E.bind('texts', ({ pos }) => E.sequenceArray(pos.map((p) => pipe(read(reader, p), E.chain((text) => pipe(parseJson(sourceName(p), text), E.map((json) => ({ p, text, json })))))))),
        E.chain(({ texts, format }) => {
          const flags = { qemu: str(v['qemu']), machine: str(v['machine']), chrootDir: str(v['chroot-dir']) }
          // A runtime file is a JSON array; a spec is an object.
          const devicesOf = (x: { readonly p: string; readonly text: string; readonly json: unknown }, side: 'OLD' | 'NEW'): Result<ReadonlyArray<Located>> =>
            Array.isArray(x.json)
              ? side === 'NEW'
                ? E.left(usage(`diff: NEW (${sourceName(x.p)}) is a runtime file; NEW must be a spec (OLD may be either)`))
                : pipe(parseRuntime(x.text), E.bimap(failed(sourceName(x.p)), runtimeDevices))
              : pipe(specTree(sourceName(x.p), specDoc(x.json), flags), E.map(treeDevices))
          const [oldIn, newIn] = texts
          if (oldIn === undefined || newIn === undefined) return E.left(usage('diff takes OLD NEW'))
          // A runtime this library wrote names its QEMU: the NEW spec is planned for it unless
          // --qemu or the spec's own target says otherwise.
          const oldQemu = Array.isArray(oldIn.json) ? pipe(parseRuntime(oldIn.text), E.match(() => undefined, (rt) => rt.stamp?.qemu)) : undefined
          const newDoc = specDoc(newIn.json)
          const newGivesQemu = isObject(newDoc.target) && 'qemu' in newDoc.target
          const newFlags = flags.qemu === undefined && !newGivesQemu && oldQemu !== undefined ? { ...flags, qemu: oldQemu } : flags
          return pipe(
            E.Do,
            E.apS('old', devicesOf(oldIn, 'OLD')),
            E.apS('new', Array.isArray(newIn.json) ? devicesOf(newIn, 'NEW') : pipe(specTree(sourceName(newIn.p), newDoc, newFlags), E.map(treeDevices))),
            E.map(({ old, new: next }) => {
              const oldBy = new Map(old.map((d) => [d.key, d]))
              const newBy = new Map(next.map((d) => [d.key, d]))
              const moved = next.flatMap((n) => {
                const o = oldBy.get(n.key)
                return o === undefined || sameAddress(o.address, n.address) ? [] : [{ old: o, new: n }]
              })
              const added = next.filter((n) => !oldBy.has(n.key))
              const removed = old.filter((o) => !newBy.has(o.key))
              const show = (d: Located) => ({ id: d.id, driver: d.driver, address: d.address ?? null })
              const stdout =
                format === 'json'
                  ? `${JSON.stringify({ moved: moved.map((m) => ({ id: m.new.id, ...(m.old.id === m.new.id ? {} : { oldId: m.old.id }), driver: m.new.driver, old: m.old.address ?? null, new: m.new.address ?? null })), added: added.map(show), removed: removed.map(show) })}\n`
                  : [
                      ...moved.map((m) => `moved    ${m.old.id === m.new.id ? m.new.id : `${m.old.id} → ${m.new.id}`}  ${placeOf(m.old.address)} → ${placeOf(m.new.address)}\n`),
                      ...added.map((d) => `added    ${d.id}  ${placeOf(d.address)}\n`),
                      ...removed.map((d) => `removed  ${d.id}  ${placeOf(d.address)}\n`)
                    ].join('')
              return { stdout, code: moved.length > 0 ? EXIT.moved : EXIT.ok }
            })
          )
        })
      )
    )
  )

const COMMANDS: Readonly<Record<string, (words: ReadonlyArray<string>, reader: Reader) => Result<Printed>>> = {
  plan: planCommand,
  hotplug: hotplugCommand,
  media: mediaCommand,
  runtime: runtimeCommand,
  diff: diffCommand
}

const lines = (ls: ReadonlyArray<string>): string => ls.map((l) => `qemu-devplan: ${l}\n`).join('')

/** One run: never throws; a library bug is exit 70 with the exception on stderr. */
export const main = (argv: ReadonlyArray<string>, reader: Reader): Outcome => {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    return { code: command === undefined ? EXIT.usage : EXIT.ok, stdout: command === undefined ? '' : HELP, stderr: command === undefined ? HELP : '', writes: [] }
  }
  if (command === '--version') return { code: EXIT.ok, stdout: `${RUNTIME_WRITER}\n`, stderr: '', writes: [] }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
  if (run === undefined) return { code: EXIT.usage, stdout: '', stderr: lines(usage(`unknown command ${JSON.stringify(command)}`).lines), writes: [] }
  let result: Result<Printed>
  try {
    result = run(rest, reader)
  } catch (e) {
    // The library never throws; if it does, that is a bug to report, not an input to blame.
    return { code: EXIT.internal, stdout: '', stderr: lines([`internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`]), writes: [] }
  }
  return E.isLeft(result)
    ? { code: result.left.code, stdout: '', stderr: lines(result.left.lines), writes: [] }
    : { code: result.right.code ?? EXIT.ok, stdout: result.right.stdout, stderr: lines(result.right.stderr ?? []), writes: result.right.writes ?? [] }
}
