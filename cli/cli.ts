#!/usr/bin/env node
/**
 * The `qemu-devplan` bin: the only place of the command line that touches the system. It reads
 * the input files named on the command line (- is stdin), writes the one file --out names, and
 * prints; everything else is main.ts, which is pure.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import * as E from 'fp-ts/lib/Either.js'
import { EXIT, main, type Reader } from './main.js'

const reader: Reader = (path) => {
  try {
    // fd 0 for '-': the one input a pipe gives.
    return E.right(readFileSync(path === '-' ? 0 : path, 'utf8'))
  } catch (e) {
    return E.left(e instanceof Error ? e.message : String(e))
  }
}

const outcome = main(process.argv.slice(2), reader)
let code = outcome.code
let stdout = outcome.stdout
let stderr = outcome.stderr
for (const w of outcome.writes) {
  try {
    writeFileSync(w.path, w.text)
  } catch (e) {
    // The plan is only useful with its runtime after: without the file, print nothing.
    code = EXIT.usage
    stdout = ''
    stderr += `qemu-devplan: --out ${w.path}: cannot write: ${e instanceof Error ? e.message : String(e)}\n`
  }
}
// A reader that stops early (`| head`) closes the pipe: that ends the output, it is not a failure to report.
process.stdout.on('error', (e: Error) => {
  if (!('code' in e) || e.code !== 'EPIPE') throw e
})
process.stderr.write(stderr)
process.stdout.write(stdout)
process.exitCode = code
