// Runs every spec with uvu (TypeScript through tsx) against the first QEMU, then the real-QEMU
// suites (spec/qemu) again against each further QEMU, passes uvu's output through, and ends with
// one plain summary line ("N passed, N failed, N skipped") that CI can read.
//
// QEMU_DEVPLAN_QEMUS lists the QEMUs to judge, separated by ':': each is a directory holding
// qemu-system-x86_64 (and qemu-img, qemu-nbd, qemu-io where it has its own), put first on PATH
// for its pass. Unset, the one QEMU is whatever PATH finds. Under CI=true, fewer than two QEMUs,
// or a listed one that is missing, is a failure: a missing second QEMU must not pass unnoticed.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

const pattern = process.argv[2] ?? '\\.spec\\.ts$'
const listed = (process.env.QEMU_DEVPLAN_QEMUS ?? '').split(':').filter((d) => d !== '')
const ci = process.env.CI === 'true'

const totals = { passed: 0, failed: 0, skipped: 0 }
const problems = []
if (ci && listed.length < 2) problems.push(`CI=true needs two QEMUs in QEMU_DEVPLAN_QEMUS (7.2 and 10.0), got ${JSON.stringify(listed)}`)
for (const dir of listed) {
  if (!existsSync(join(dir, 'qemu-system-x86_64'))) problems.push(`${dir}/qemu-system-x86_64 does not exist`)
}

// Later passes take the same pattern, narrowed to the real-QEMU suites (paths are relative to spec/).
const qemuOnly = `^(?=qemu/)(?=.*?(?:${pattern}))`

const runUvu = (filePattern, qemuDir) =>
  new Promise((resolve) => {
    const env = { ...process.env }
    if (qemuDir !== undefined) env.PATH = `${qemuDir}${delimiter}${process.env.PATH ?? ''}`
    const args = ['--import', 'tsx', 'node_modules/uvu/bin.js', 'spec', filePattern]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
    let out = ''
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk)
      out += chunk.toString()
    })
    child.on('close', (code) => {
      const plain = out.replace(/\x1b\[[0-9;]*m/g, '')
      const num = (label) => Number((new RegExp(`${label}:\\s+(\\d+)`).exec(plain) ?? [])[1] ?? NaN)
      const total = num('Total')
      const passed = num('Passed')
      const skipped = num('Skipped')
      if (Number.isNaN(total)) {
        problems.push(`uvu ${filePattern} crashed before reporting (exit ${code})`)
        resolve()
        return
      }
      totals.passed += passed
      totals.skipped += skipped
      totals.failed += total - passed - skipped
      if (code !== 0 && total - passed - skipped === 0) problems.push(`uvu ${filePattern} exited ${code}`)
      resolve()
    })
  })

const passes = listed.length === 0 ? [undefined] : listed.filter((d) => existsSync(join(d, 'qemu-system-x86_64')))
for (const [i, qemuDir] of passes.entries()) {
  console.log(`\n== ${i === 0 ? 'every spec' : 'the real-QEMU suites'} with ${qemuDir === undefined ? 'the QEMU on PATH' : `${qemuDir}/qemu-system-x86_64`}\n`)
  await runUvu(i === 0 ? pattern : qemuOnly, qemuDir)
}

for (const p of problems) console.log(`tests: ${p}`)
totals.failed += problems.length
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`)
process.exit(totals.failed > 0 ? 1 : 0)
