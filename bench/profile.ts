/**
 * A CPU profile of one bench operation in its steady state: the operation runs for a warm-up
 * (not profiled), then for the profiled seconds, through node:inspector's Profiler, and the
 * profile is written as a .cpuprofile (Chrome DevTools, or bench/top-self.mjs for a summary).
 *
 *   npm run build && BENCH_LIB=dist node --import tsx bench/profile.ts pipeline:80 .tmp/prof/pipeline-80.cpuprofile
 *   node bench/top-self.mjs .tmp/prof/pipeline-80.cpuprofile 30
 *
 * Operations: pipeline:<devices> (decode+plan+render of the JSON text, argv text out),
 * upgrade (upgradeRuntime of the 10 000 legacy files, in turn), hotadd:<devices> and
 * hotremove:<devices> (planning on a runtime with that many devices), hostile-instance:<i> and
 * hostile-runtime:<i> (decodeInstance / decodeRuntime of the i-th hostile input of the table,
 * from 0: deep nesting, huge string, wrong types, unknown fields, prototype keys).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { hostile, instanceSpec, legacyFiles, lib, pipeline, right, runtimeOf, uuid } from './data.js'

const { decodeDisk, decodeInstance, decodeRuntime, formatError, planHotAdd, planHotRemove, upgradeRuntime } = lib

const [what = 'pipeline:80', out = `.tmp/prof/${what.replace(':', '-')}.cpuprofile`] = process.argv.slice(2)
const seconds = Number(process.env['PROFILE_SECONDS'] ?? 5)

const operation = (): (() => unknown) => {
  const [name, n] = what.split(':')
  const devices = Number(n)
  switch (name) {
    case 'pipeline': {
      const text = JSON.stringify(instanceSpec(devices))
      return () => pipeline(text)
    }
    case 'upgrade': {
      const files = legacyFiles(10_000)
      let i = 0
      return () => JSON.stringify(right('upgradeRuntime', upgradeRuntime(JSON.parse(files[i++ % files.length] as string))))
    }
    case 'hotadd': {
      const rt = runtimeOf(devices)
      const disk = right('decodeDisk', decodeDisk({ uuid: uuid(9999), path: '/dev/vg/extra' }))
      return () => right('planHotAdd', planHotAdd(rt, { disk }))
    }
    case 'hotremove': {
      const rt = runtimeOf(devices)
      const victim = rt.disks[Math.floor(rt.disks.length / 2)]?.placed?.id ?? ''
      return () => right('planHotRemove', planHotRemove(rt, victim))
    }
    case 'hostile-instance':
    case 'hostile-runtime': {
      const c = hostile()[devices]
      if (c === undefined) throw new Error(`${what}: the hostile inputs are numbered 0 to ${hostile().length - 1}`)
      const text = name === 'hostile-instance' ? c.instance : c.runtime
      const decode = name === 'hostile-instance' ? decodeInstance : decodeRuntime
      return () => {
        const r = decode(JSON.parse(text))
        return JSON.stringify(r._tag === 'Left' ? formatError(r.left) : r.right)
      }
    }
    default:
      throw new Error(`unknown operation ${what}: pipeline:<n>, upgrade, hotadd:<n>, hotremove:<n>, hostile-instance:<i>, hostile-runtime:<i>`)
  }
}

const f = operation()
const loop = (ms: number): number => {
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < ms) {
    f()
    n++
  }
  return n
}
loop(4000)
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: 100 })
await session.post('Profiler.start')
const t0 = performance.now()
const n = loop(seconds * 1000)
const ms = performance.now() - t0
const { profile } = await session.post('Profiler.stop')
session.disconnect()
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify(profile))
console.log(`${what}: ${n} operations in ${ms.toFixed(0)} ms (${((ms * 1000) / n).toFixed(1)} µs each, profiler on); ${out}`)
