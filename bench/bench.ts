/**
 * `npm run bench`: how fast the library is, each figure beside its JSON floor, as one Markdown
 * table. Speed is measured here and reported, never asserted: a target that does not hold is a
 * "no" in the table, not a failing exit code. `spec/bench.spec.ts` runs this file with
 * BENCH_SMOKE=1 (one sample of everything) to keep it working.
 *
 * Environment:
 * - BENCH_SMOKE=1: a handful of iterations, for the smoke test; the figures mean nothing.
 * - BENCH_ONLY=<regex>: only the rows whose operation matches (e.g. for `node --cpu-prof`).
 * - BENCH_IMPORT_RUNS=<n>: child processes per cold-import figure (default 15, smoke 1).
 *
 * Timing is mitata's `measure` (batched for sub-µs operations, the mean of its samples). Heap
 * per operation is this file's own: `gc()`, `heapUsed`, K operations, `heapUsed` again, divided
 * by K, with a young generation large enough (`--min-semi-space-size`) that no GC runs inside
 * the window; a window that saw a GC anyway is retried smaller and, failing that, marked `≥`.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import * as E from 'fp-ts/lib/Either.js'
import { do_not_optimize, measure } from 'mitata'
import { LIB_FROM, MAX_INSTANCE_DEVICES, ROOT, hostile, instanceSpec, legacyFiles, lib, pipeline, right, runtimeOf, uuid } from './data.js'

const { decodeDisk, decodeInstance, decodeRuntime, encodeRuntime, formatError, planHotAdd, planHotRemove, upgradeRuntime } = lib

const SMOKE = process.env['BENCH_SMOKE'] === '1'
const ONLY = process.env['BENCH_ONLY'] === undefined ? undefined : new RegExp(process.env['BENCH_ONLY'])
const IMPORT_RUNS = Number(process.env['BENCH_IMPORT_RUNS'] ?? (SMOKE ? 1 : 15))
const gc: () => void =
  typeof globalThis.gc === 'function'
    ? globalThis.gc
    : () => {
        throw new Error('run with node --expose-gc (npm run bench does)')
      }


// ---------------------------------------------------------------------------------------------
// Measuring

interface Figure {
  /** nanoseconds per operation (mean of mitata's samples) */
  readonly ns: number
  /** bytes allocated per operation; `atLeast` when a GC ran inside every window tried */
  readonly bytes: number
  readonly atLeast: boolean
}

/**
 * The clock: this process's CPU time (user + system, all its threads) in ns, not wall time. On a
 * shared machine (other sessions' test suites on the same 2 CPUs) wall time counts the waits
 * for a CPU; CPU time does not, and still counts the GC and JIT threads' work.
 */
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}
const CLOCK = process.env['BENCH_CLOCK'] === 'wall' ? {} : { now: cpuNow }

const MITATA = SMOKE
  ? { ...CLOCK, min_samples: 1, max_samples: 1, min_cpu_time: 0, warmup_samples: 0, batch_samples: 1, batch_threshold: 0 }
  : { ...CLOCK, min_cpu_time: 250e6 }
const ROUNDS = 3

// When each GC started, on the performance timeline (entries arrive later than the GC itself).
const gcStarts: number[] = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcStarts.push(e.startTime)
  if (gcStarts.length > 1000) gcStarts.splice(0, gcStarts.length - 1000)
}).observe({ entryTypes: ['gc'] })
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))

/** Allocation per call of f: the heap grows by what K calls allocate when no GC runs between. */
const heapPerOp = async (f: () => unknown): Promise<{ bytes: number; atLeast: boolean }> => {
  // Budget: well under the young generation (--min-semi-space-size=64 in npm run bench).
  const budget = 24 * 1024 * 1024
  gc()
  const p0 = process.memoryUsage().heapUsed
  do_not_optimize(f())
  const pilot = Math.max(1, process.memoryUsage().heapUsed - p0)
  let k = SMOKE ? 2 : Math.max(1, Math.min(2000, Math.floor(budget / pilot)))
  let last = { bytes: pilot, atLeast: true }
  for (let attempt = 0; attempt < 4; attempt++) {
    gc()
    const w0 = performance.now()
    const h0 = process.memoryUsage().heapUsed
    for (let i = 0; i < k; i++) do_not_optimize(f())
    const h1 = process.memoryUsage().heapUsed
    const w1 = performance.now()
    await settle()
    last = { bytes: Math.max(0, (h1 - h0) / k), atLeast: gcStarts.some((t) => t >= w0 && t <= w1) }
    if (!last.atLeast) return last
    k = Math.max(1, Math.floor(k / 4))
  }
  return last
}

/**
 * Steady state first: the JIT takes seconds of calls to settle on this much code (a 4-device
 * decode+plan+render starts at ~550 µs and settles near ~125 µs after ~3 s), so each group of
 * rows runs all of its operations in turn for a while before any is measured.
 */
const warm = (fs: ReadonlyArray<() => unknown>, ms: number): void => {
  if (SMOKE) return
  const t0 = performance.now()
  while (performance.now() - t0 < ms) for (const f of fs) do_not_optimize(f())
}

/**
 * An operation and its floor, timed in alternating rounds so that a busy moment of a shared
 * machine falls on both: per round the median of mitata's samples, per figure the lowest of
 * the rounds' medians. `per` divides a sample that runs `per` operations.
 */
const timePair = async (op: () => unknown, floor: () => unknown, options: { mitata?: object; rounds?: number } = {}): Promise<{ op: number; floor: number }> => {
  const opts = SMOKE ? MITATA : { ...MITATA, ...options.mitata }
  const rounds = SMOKE ? 1 : (options.rounds ?? ROUNDS)
  let opNs = Infinity
  let floorNs = Infinity
  for (let r = 0; r < rounds; r++) {
    opNs = Math.min(opNs, (await measure(() => do_not_optimize(op()), opts)).p50)
    floorNs = Math.min(floorNs, (await measure(() => do_not_optimize(floor()), opts)).p50)
  }
  return { op: opNs, floor: floorNs }
}

const pair = async (op: () => unknown, floor: () => unknown): Promise<{ op: Figure; floor: Figure }> => {
  const t = await timePair(op, floor)
  const opHeap = await heapPerOp(op)
  const floorHeap = await heapPerOp(floor)
  return { op: { ns: t.op, ...opHeap }, floor: { ns: t.floor, ...floorHeap } }
}

// ---------------------------------------------------------------------------------------------
// Rows

interface Row {
  readonly operation: string
  readonly size: string
  readonly op: Figure
  readonly floor: Figure
  readonly unit?: 'ms'
  curve?: string
  target?: string
  holds?: boolean
}

const rows: Row[] = []
const wanted = (operation: string): boolean => ONLY === undefined || ONLY.test(operation)
const log = (s: string): void => {
  process.stderr.write(`${s}\n`)
}

const pipelineRows = async (): Promise<void> => {
  const op = 'decode+plan+render'
  if (!wanted(op)) return
  const done: Array<{ devices: number; ns: number }> = []
  const sizes = [1, 4, 16, 64, MAX_INSTANCE_DEVICES]
  const texts = sizes.map((devices) => JSON.stringify(instanceSpec(devices)))
  log(`${op}: warming up`)
  warm(texts.map((t) => () => pipeline(t)), 5000)
  for (const [k, devices] of sizes.entries()) {
    log(`${op}: ${devices} devices`)
    const text = texts[k] as string
    const out = pipeline(text)
    const outValue = JSON.parse(out) as unknown
    const row: Row = {
      operation: op,
      size: devices === MAX_INSTANCE_DEVICES ? `${devices} (the most: 64 disks + 16 NICs)` : `${devices}`,
      ...(await pair(
        () => pipeline(text),
        () => [JSON.parse(text), JSON.stringify(outValue)]
      ))
    }
    // What no plan can avoid: the JSON of its -blockdev/-device/-netdev/-object options, which
    // JSON targets (6.2 on) read. Timed alone beside the same floor, it says how much of the
    // ratio is left to the rest.
    const options = (outValue as ReadonlyArray<string>).filter((w) => w.startsWith('{')).map((w) => JSON.parse(w) as unknown)
    const optionsTime = await timePair(
      () => options.map((o) => JSON.stringify(o)),
      () => [JSON.parse(text), JSON.stringify(outValue)]
    )
    const perDevice = row.op.ns / devices / 1000
    const ratio = row.op.ns / row.floor.ns
    // The growth from the largest row at most a quarter this size (64 → 16, 80 → 16): a step
    // of ×1.25 would let noise decide the exponent.
    const base = [...done].reverse().find((d) => d.devices * 4 <= devices)
    const growth = base === undefined ? undefined : { by: devices / base.devices, time: row.op.ns / base.ns, exponent: Math.log(row.op.ns / base.ns) / Math.log(devices / base.devices) }
    row.curve = `${perDevice.toFixed(2)} µs/device${growth === undefined ? '' : `; from ${base?.devices}: ×${growth.by} devices → ×${growth.time.toFixed(2)} time (n^${growth.exponent.toFixed(2)})`}; \`JSON.stringify\` of its ${options.length} JSON options alone: ${time(optionsTime.op)} (${(optionsTime.op / optionsTime.floor).toFixed(2)}× floor)`
    row.target = '≤ 3× floor, linear (n^≤1.15)'
    row.holds = ratio <= 3 && (growth === undefined || growth.exponent <= 1.15)
    done.push({ devices, ns: row.op.ns })
    rows.push(row)
  }
}

const hotplugRows = async (): Promise<void> => {
  for (const devices of [31, 200]) {
    const addOp = 'planHotAdd (one SCSI disk)'
    const removeOp = 'planHotRemove (a SCSI disk)'
    if (!wanted(addOp) && !wanted(removeOp)) continue
    const rt = runtimeOf(devices)
    const fileText = JSON.stringify(encodeRuntime(rt))
    const disk = right('decodeDisk', decodeDisk({ uuid: uuid(9999), path: '/dev/vg/extra' }))
    const request = { disk }
    const requestText = JSON.stringify({ disk: { uuid: uuid(9999), path: '/dev/vg/extra' } })
    const victim = rt.disks[Math.floor(rt.disks.length / 2)]?.placed?.id
    if (victim === undefined) throw new Error('bench runtime: the disk to remove has no id')
    const addPlan = right('planHotAdd', planHotAdd(rt, request))
    const removePlan = right('planHotRemove', planHotRemove(rt, victim))
    warm([() => planHotAdd(rt, request), () => planHotRemove(rt, victim)], 3000)
    const floorOf = (plan: unknown, input: string) => (): unknown => [JSON.parse(fileText), JSON.parse(input), JSON.stringify(plan)]
    const target = devices === 200 ? '< 50 µs' : undefined
    if (wanted(addOp)) {
      log(`${addOp}: ${devices} devices`)
      const row: Row = { operation: addOp, size: `${devices}`, ...(await pair(() => planHotAdd(rt, request), floorOf(addPlan, requestText))) }
      if (target !== undefined) Object.assign(row, { target, holds: row.op.ns < 50_000 })
      rows.push(row)
    }
    if (wanted(removeOp)) {
      log(`${removeOp}: ${devices} devices`)
      const row: Row = { operation: removeOp, size: `${devices}`, ...(await pair(() => planHotRemove(rt, victim), floorOf(removePlan, JSON.stringify(victim)))) }
      if (target !== undefined) Object.assign(row, { target, holds: row.op.ns < 50_000 })
      rows.push(row)
    }
  }
}

const upgradeRows = async (): Promise<void> => {
  const op = 'upgradeRuntime, per legacy file'
  if (!wanted(op)) return
  const count = 10_000
  log(`${op}: ${count} files`)
  const files = legacyFiles(count)
  const outputs = files.map((t) => right('upgradeRuntime', upgradeRuntime(JSON.parse(t))))
  let i = 0
  // The heap is measured file by file (cycling through all of them), the time over all 10 000.
  const one = (): string => {
    const t = files[i++ % count] as string
    return JSON.stringify(right('upgradeRuntime', upgradeRuntime(JSON.parse(t))))
  }
  const oneFloor = (): unknown => {
    const k = i++ % count
    return [JSON.parse(files[k] as string), JSON.stringify(outputs[k])]
  }
  warm([one], 3000)
  const all = (f: () => unknown) => () => {
    let last: unknown
    for (let n = 0; n < count; n++) last = f()
    return last
  }
  const t = await timePair(all(one), all(oneFloor), { mitata: { min_samples: 5, min_cpu_time: 0 }, rounds: 2 })
  const opH = await heapPerOp(one)
  const floorH = await heapPerOp(oneFloor)
  const row: Row = {
    operation: op,
    size: `${count.toLocaleString('en-US').replace(',', ' ')} files`,
    op: { ns: t.op / count, ...opH },
    floor: { ns: t.floor / count, ...floorH },
    curve: `all 10 000 files: ${(t.op / 1e6).toFixed(1)} ms (floor ${(t.floor / 1e6).toFixed(1)} ms)`,
    target: '≤ 2× floor'
  }
  row.holds = row.op.ns / row.floor.ns <= 2
  rows.push(row)
}

const hostileRows = async (): Promise<void> => {
  const cases = hostile()
  for (const [what, decode] of [
    ['decodeInstance', decodeInstance],
    ['decodeRuntime', decodeRuntime]
  ] as const) {
    for (const c of cases) {
      const operation = `${what}, hostile: ${c.name}`
      if (!wanted(operation)) continue
      log(operation)
      const text = what === 'decodeInstance' ? c.instance : c.runtime
      const run = (): string => {
        const r = decode(JSON.parse(text))
        // The error text, as a caller shows it: JSON.stringify of the Left itself overflows the
        // stack on the deep input, since the error holds the offending value.
        return JSON.stringify(E.isLeft(r) ? formatError(r.left) : r.right)
      }
      const outValue = JSON.parse(run()) as unknown
      warm([run], 1000)
      rows.push({
        operation,
        size: `${(text.length / 1024).toFixed(0)} KiB`,
        ...(await pair(run, () => [JSON.parse(text), JSON.stringify(outValue)]))
      })
    }
  }
}

/** One fresh node per figure: the time and heap of `await import(spec)` inside it, not node's start. */
const coldImport = (specifiers: ReadonlyArray<string>): { ms: number; wall: number; bytes: number } => {
  const code = [
    'const h0 = process.memoryUsage().heapUsed; const c0 = process.cpuUsage(); const t0 = performance.now();',
    ...specifiers.map((s) => `await import(${JSON.stringify(s)});`),
    'const t1 = performance.now(); const c1 = process.cpuUsage(c0); const h1 = process.memoryUsage().heapUsed;',
    'console.log(JSON.stringify({ ms: (c1.user + c1.system) / 1000, wall: t1 - t0, bytes: h1 - h0 }))'
  ].join('\n')
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['NODE_OPTIONS']
  delete env['NODE_COMPILE_CACHE']
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`cold import of ${specifiers.join(', ')} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim()) as { ms: number; wall: number; bytes: number }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const importRows = (): void => {
  const operation = 'cold import of the package root'
  if (!wanted(operation)) return
  log(`${operation}: ${IMPORT_RUNS} children each`)
  if (!existsSync(join(ROOT, 'dist/esm/index.js'))) {
    rows.push({
      operation,
      size: 'no dist/ (npm run build)',
      op: { ns: NaN, bytes: NaN, atLeast: false },
      floor: { ns: NaN, bytes: NaN, atLeast: false },
      target: '≤ 2× fp-ts + io-ts'
    })
    return
  }
  const lib: Array<{ ms: number; wall: number; bytes: number }> = []
  const deps: Array<{ ms: number; wall: number; bytes: number }> = []
  // Interleaved, so that a slow moment of the machine falls on both.
  for (let i = 0; i < IMPORT_RUNS; i++) {
    lib.push(coldImport(['qemu-devplan']))
    deps.push(coldImport(['fp-ts', 'io-ts']))
  }
  const op = { ns: median(lib.map((r) => r.ms)) * 1e6, bytes: median(lib.map((r) => r.bytes)), atLeast: false }
  const floor = { ns: median(deps.map((r) => r.ms)) * 1e6, bytes: median(deps.map((r) => r.bytes)), atLeast: false }
  rows.push({
    operation,
    size: `median of ${IMPORT_RUNS}`,
    op,
    floor,
    unit: 'ms',
    curve: `floor: \`import("fp-ts")\` + \`import("io-ts")\`; wall time ${median(lib.map((r) => r.wall)).toFixed(1)} ms vs ${median(deps.map((r) => r.wall)).toFixed(1)} ms`,
    target: '≤ 2× fp-ts + io-ts',
    holds: op.ns / floor.ns <= 2
  })
}

// ---------------------------------------------------------------------------------------------
// The table

const time = (ns: number, unit?: 'ms'): string => {
  if (Number.isNaN(ns)) return 'n/a'
  if (unit === 'ms' || ns >= 10e6) return `${(ns / 1e6).toFixed(1)} ms`
  const us = ns / 1000
  return `${us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2)} µs`
}
const bytes = (f: Figure): string => {
  if (Number.isNaN(f.bytes)) return 'n/a'
  const b = f.bytes
  const s = b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b.toFixed(0)} B`
  return f.atLeast ? `≥ ${s}` : s
}
const ratio = (r: Row): string => (Number.isNaN(r.op.ns) ? 'n/a' : `${(r.op.ns / r.floor.ns).toFixed(2)}×`)
const cell = (s: string): string => s.replace(/\|/g, '\\|')

const cpuModel = (): string => {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m?.[1] !== undefined) return m[1].trim()
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown CPU'
}

const loadavg = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'n/a'
  }
}

const main = async (): Promise<void> => {
  const started = Date.now()
  const loadBefore = loadavg()
  await pipelineRows()
  await hotplugRows()
  await upgradeRows()
  await hostileRows()
  importRows()
  const header = ['operation', 'devices / input', 'time / op', 'JSON floor', 'ratio', 'heap / op', 'floor heap / op', 'curve', 'target', 'holds']
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i >= 2 && i <= 6 ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) =>
      `| ${[
        r.operation,
        r.size,
        time(r.op.ns, r.unit),
        time(r.floor.ns, r.unit),
        ratio(r),
        bytes(r.op),
        bytes(r.floor),
        r.curve ?? '',
        r.target ?? '—',
        r.target === undefined ? '—' : r.holds === undefined ? 'n/a' : r.holds ? 'yes' : '**no**'
      ]
        .map(cell)
        .join(' | ')} |`
    )
  ]
  const judged = rows.filter((r) => r.holds !== undefined)
  const holding = judged.filter((r) => r.holds === true).length
  const out = [
    `qemu-devplan bench${SMOKE ? ' (BENCH_SMOKE=1: one sample each, figures meaningless)' : ''} — ${LIB_FROM}, node ${process.version}, ${cpuModel()}, ${cpus().length} CPUs (nproc), ${process.platform}/${process.arch}`,
    '',
    ...lines,
    '',
    `Targets: ${holding} of ${judged.length} hold. Load average before: ${loadBefore}, after: ${loadavg()}.`,
    '',
    `decode+plan+render stops at ${MAX_INSTANCE_DEVICES} devices, not 256: decodeInstance takes at most 64 disks and 32 NICs, and pci.0 holds 16 NICs beside the rest; the hot-plug runtimes reach 200 devices by hot-adding SCSI disks to a planned one.`,
    '',
    '- Time / op: CPU time of the bench process (`process.cpuUsage()`, user + system, all threads, so GC and JIT threads count) as mitata `measure`\'s clock (`BENCH_CLOCK=wall` for wall time), in 3 rounds alternating with the floor (2 for the upgrade); per round the median of its samples (mitata batches sub-µs calls), and the lowest round\'s median is shown, which keeps other load of a shared machine out of both.',
    '- Text in, text out: decode+plan+render, upgradeRuntime and the hostile decodes include `JSON.parse` of the input and `JSON.stringify` of the output, so their ratio to the floor is at least 1 (noise aside).',
    '- Every operation first runs for seconds (not timed) until the JIT has settled: these are steady-state figures, and a first call, as in a one-shot CLI run, is several times slower.',
    '- The hot-plug rows time the planning call alone on a decoded `Runtime` (an orchestrator keeps it decoded); their floor is `JSON.parse` of the runtime file and the request plus `JSON.stringify` of the plan.',
    '- JSON floor: `JSON.parse` of the same input text plus `JSON.stringify` of the same output, in the same run.',
    '- Heap / op: `process.memoryUsage().heapUsed` after K operations minus before, over K, after `gc()` (`--expose-gc`), with a 64 MiB young generation so that no GC runs in the window (`≥`: one did, the figure is a lower bound). It counts what is allocated, garbage included, not what is retained.',
    '- Cold import: median over fresh `node` children of the CPU time (wall time in the curve column) and heap of `await import(...)` inside the child (node\'s own start-up excluded), interleaved with the fp-ts + io-ts children; no compile cache.',
    ''
  ]
  process.stdout.write(out.join('\n'))
  log(`bench: ${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

await main()
