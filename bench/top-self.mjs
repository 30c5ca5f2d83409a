// The functions with the most self time in a V8 CPU profile (`node --cpu-prof`), for finding
// where a bench row's time goes:
//
//   BENCH_LIB=dist node --import tsx bench/profile.ts hotadd:200 .tmp/prof/hotadd-200.cpuprofile  (steady state)
//   or: BENCH_ONLY='planHotAdd' node --cpu-prof --cpu-prof-dir=.tmp/prof --expose-gc \
//     --min-semi-space-size=64 --max-semi-space-size=64 --import tsx bench/bench.ts >/dev/null
//   node bench/top-self.mjs .tmp/prof/*.cpuprofile [count] [--by-file]
//
// Self time is per function and source line; --by-file sums it per file instead; --callers NAME
// splits the self time of the functions called NAME by their nearest caller outside node_modules.
import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const byFile = args.includes('--by-file')
const callersAt = args.indexOf('--callers')
const callersOf = callersAt === -1 ? undefined : args[callersAt + 1]
const rest = args.filter((a, i) => a !== '--by-file' && (callersAt === -1 || (i !== callersAt && i !== callersAt + 1)))
const file = rest[0]
const count = Number(rest[1] ?? 25)
if (file === undefined) {
  console.error('usage: node bench/top-self.mjs PROFILE.cpuprofile [count] [--by-file]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8'))

// dist/ is bundled, so a frame there is shown at its place in lib/, through the bundle's map.
const maps = new Map()
const mapOf = (url) => {
  if (!maps.has(url)) {
    const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(fileURLToPath(url), 'utf8'))?.[1]
    const at = ref === undefined ? undefined : new URL(ref, url)
    maps.set(url, at === undefined ? undefined : { at, map: new SourceMap(JSON.parse(readFileSync(at, 'utf8'))) })
  }
  return maps.get(url)
}
const short = (url) => url.replace(/^file:\/\/.*?\/(lib|dist|bench|node_modules)\//, '$1/')
/** Where a frame's function is: its file (short) and line, in lib/ for the build. */
const placeOf = (f) => {
  const m = /^file:.*\/dist\/.*\.js$/.test(f.url) ? mapOf(f.url) : undefined
  const e = m?.map.findEntry(f.lineNumber, f.columnNumber)
  return e?.originalSource === undefined ? { where: short(f.url), line: f.lineNumber + 1 } : { where: short(new URL(e.originalSource, m.at).href), line: e.originalLine + 1 }
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map()
const deltas = profile.timeDeltas
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i])
  const dt = deltas[i] ?? 0
  total += dt
  const f = node.callFrame
  const { where, line } = placeOf(f)
  const key = byFile ? where || `(${f.functionName || 'native'})` : `${f.functionName || '(anonymous)'}  ${where}${where ? `:${line}` : ''}`
  self.set(key, (self.get(key) ?? 0) + dt)
}
if (callersOf !== undefined) {
  // Self time of the functions named callersOf, by the nearest caller outside immer/fp-ts/io-ts
  // (the frames of the library that asked for it).
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const isDep = (f) => /node_modules\//.test(f.url) || f.url === ''
  const by = new Map()
  let sum = 0
  for (let i = 0; i < profile.samples.length; i++) {
    let node = byId.get(profile.samples[i])
    if (node.callFrame.functionName !== callersOf) continue
    const dt = deltas[i] ?? 0
    sum += dt
    let id = parent.get(node.id)
    while (id !== undefined && isDep(byId.get(id).callFrame)) id = parent.get(id)
    const f = id === undefined ? undefined : byId.get(id).callFrame
    const at = f === undefined ? undefined : placeOf(f)
    const key = f === undefined ? '(root)' : `${f.functionName || '(anonymous)'}  ${at.where}:${at.line}`
    by.set(key, (by.get(key) ?? 0) + dt)
  }
  console.log(`${callersOf}: ${(sum / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled, by nearest library caller`)
  for (const [key, us] of [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
  process.exit(0)
}
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)
console.log(`${(total / 1000).toFixed(0)} ms sampled`)
for (const [key, us] of top) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
