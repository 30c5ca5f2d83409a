/**
 * `npm run bench` keeps working: bench/bench.ts runs in its smoke mode (BENCH_SMOKE=1, one sample
 * of each figure) as a child process, and its Markdown table must have every row, each with a
 * figure in every column. Nothing here looks at how fast anything is.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = fileURLToPath(new URL('../', import.meta.url))

const run = spawnSync(
  process.execPath,
  ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', '--import', 'tsx', join(root, 'bench/bench.ts')],
  { cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_SMOKE: '1', BENCH_IMPORT_RUNS: '1' }, timeout: 60_000 }
)

const HEADER = ['operation', 'devices / input', 'time / op', 'JSON floor', 'ratio', 'heap / op', 'floor heap / op', 'curve', 'target', 'holds']

/** The table's rows as cells (a `\|` inside a cell is not a separator). */
const table = (): ReadonlyArray<ReadonlyArray<string>> =>
  run.stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim())
    )

const EXPECTED: ReadonlyArray<readonly [string, string]> = [
  ['decode+plan+render', '1'],
  ['decode+plan+render', '4'],
  ['decode+plan+render', '16'],
  ['decode+plan+render', '64'],
  ['decode+plan+render', '80 (the most: 64 disks + 16 NICs)'],
  ['planHotAdd (one SCSI disk)', '31'],
  ['planHotRemove (a SCSI disk)', '31'],
  ['planHotAdd (one SCSI disk)', '200'],
  ['planHotRemove (a SCSI disk)', '200'],
  ['upgradeRuntime, per legacy file', '10 000 files'],
  ...['decodeInstance', 'decodeRuntime'].flatMap((d) =>
    ['deep nesting (10 000 levels)', 'huge string (4 MiB)', 'wrong types everywhere', 'unknown fields (10 000 keys)', '`__proto__` and `constructor` keys'].map(
      (h) => [`${d}, hostile: ${h}`, ''] as const
    )
  ),
  ['cold import of the package root', '']
]

test('the smoke run exits 0 and names the machine', () => {
  assert.is(run.error, undefined, String(run.error))
  assert.is(run.status, 0, run.stderr)
  assert.match(run.stdout, /^qemu-devplan bench \(BENCH_SMOKE=1[^\n]*node v\d+\.\d+\.\d+, .+, \d+ CPUs \(nproc\)/)
  assert.match(run.stdout, /^Targets: \d+ of \d+ hold\. /m)
})

test('the table has its header and every row, in order', () => {
  const [header, rule, ...rows] = table()
  assert.equal(header, HEADER)
  assert.is(rule?.length, HEADER.length)
  assert.is(rows.length, EXPECTED.length, rows.map((r) => r[0]).join('\n'))
  EXPECTED.forEach(([operation, size], i) => {
    assert.is(rows[i]?.[0], operation)
    if (size !== '') assert.is(rows[i]?.[1], size)
  })
})

test('every cell parses: times, ratios, heap figures and the verdict', () => {
  const built = existsSync(join(root, 'dist/esm/index.js'))
  for (const row of table().slice(2)) {
    assert.is(row.length, HEADER.length, row.join(' | '))
    const [operation, , opTime, floorTime, ratio, opHeap, floorHeap, , target, holds] = row
    // Without a build there is no package root to import; `npm test` builds first.
    const na = operation === 'cold import of the package root' && !built
    const time = na ? /^n\/a$/ : /^\d+(\.\d+)? (µs|ms)$/
    const heap = na ? /^n\/a$/ : /^(≥ )?\d+(\.\d+)? (B|KiB|MiB)$/
    assert.match(opTime ?? '', time, operation)
    assert.match(floorTime ?? '', time, operation)
    assert.match(ratio ?? '', na ? /^n\/a$/ : /^\d+\.\d\d×$/, operation)
    assert.match(opHeap ?? '', heap, operation)
    assert.match(floorHeap ?? '', heap, operation)
    if (target === '—') assert.is(holds, '—', operation)
    else assert.match(holds ?? '', na ? /^n\/a$/ : /^(yes|\*\*no\*\*)$/, operation)
  }
})

test('each target the issue sets has its verdict', () => {
  const rows = table().slice(2)
  const targetOf = (operation: string, size?: string): ReadonlyArray<string | undefined> =>
    rows.filter((r) => r[0] === operation && (size === undefined || r[1] === size)).map((r) => r[8])
  assert.ok(targetOf('decode+plan+render').every((t) => t?.startsWith('≤ 3× floor')))
  assert.equal(targetOf('planHotAdd (one SCSI disk)', '200'), ['< 50 µs'])
  assert.equal(targetOf('planHotRemove (a SCSI disk)', '200'), ['< 50 µs'])
  assert.equal(targetOf('upgradeRuntime, per legacy file'), ['≤ 2× floor'])
  assert.equal(targetOf('cold import of the package root'), ['≤ 2× fp-ts + io-ts'])
})

test.run()
