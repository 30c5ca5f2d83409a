// Runs every spec with uvu (TypeScript through tsx), passes its output through, and ends with
// one plain summary line ("N passed, N failed, N skipped") that CI can read. Exit code is uvu's.
import { spawn } from 'node:child_process'

const args = ['--import', 'tsx', 'node_modules/uvu/bin.js', 'spec', process.argv[2] ?? '\\.spec\\.ts$']
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
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
    console.log('tests: no summary from uvu (it crashed before reporting)')
    process.exit(code || 1)
  }
  const failed = total - passed - skipped
  console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exit(code ?? (failed > 0 ? 1 : 0))
})
