/**
 * splitWords (kvm_extra) against the references it claims to follow: Python's shlex.split (what
 * Ganeti uses) where shlex and a POSIX shell agree, and dash itself where they do not
 * (backslash-newline, \r). One process spawn per reference for all generated cases.
 */
import { spawnSync } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { quoteWord, splitWords } from '../lib/shell.js'

type Ref = ReadonlyArray<string> | null

const shlexSplit = (cases: ReadonlyArray<string>): Ref[] => {
  const py = 'import json, shlex, sys\nout = []\nfor s in json.load(sys.stdin):\n    try:\n        out.append(shlex.split(s))\n    except ValueError:\n        out.append(None)\nprint(json.dumps(out))'
  const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(cases), encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as Ref[]
}

/**
 * What `sh` makes of each case as the words of a command: `eval "set -- <case>"` in a subshell
 * (a syntax error ends only the subshell), then every word NUL-terminated. Records start with
 * \x01; a failed case ends with \x02.
 */
const shSplit = (cases: ReadonlyArray<string>): Ref[] => {
  const script = `for c in "$@"; do printf '\\001'; ( eval "set -- $c" && for w; do printf '%s\\0' "$w"; done ) 2>/dev/null || printf '\\002'; done`
  const r = spawnSync('sh', ['-c', script, 'sh', ...cases], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`sh failed: ${r.stderr}`)
  return r.stdout
    .split('\x01')
    .slice(1)
    .map((rec) => (rec.endsWith('\x02') ? null : rec.split('\0').slice(0, -1)))
}

const ours = (s: string): Ref => {
  const r = splitWords(s)
  return E.isRight(r) ? r.right : null
}

const compare = (cases: ReadonlyArray<string>, reference: Ref[], name: string): void => {
  assert.is(reference.length, cases.length, `${name} answered ${reference.length} of ${cases.length} cases`)
  cases.forEach((c, i) => assert.equal(ours(c), reference[i], `${name} disagrees on ${JSON.stringify(c)}`))
}

const stringFrom = (alphabet: ReadonlyArray<string>, maxLength = 14): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...alphabet), { maxLength }).map((a) => a.join(''))

// Characters where shlex (posix mode) and a POSIX shell agree: no expansions, no operators,
// no newline (shlex keeps a backslash-escaped newline), no \r (shlex splits on it, sh does not).
const SHLEX_ALPHABET = ['a', 'b', 'é', '日', ' ', '  ', '\t', "'", '"', '\\', '=', ',', '-', '.', '/', ':', '\u00a0', '\u2028', '\v', '\f', '{', '}']

test('property: splitWords agrees with shlex.split on 250 generated strings', () => {
  const cases = fc.sample(stringFrom(SHLEX_ALPHABET), { numRuns: 250, seed: 4242 })
  const extra = ['', ' ', 'a b', "'a b'", '"a b"', 'a\\ b', '"a\\"b"', "'a\\'", '"\\\\"', "a'b'c", 'a"b"c', "''", '""', '"', "'", 'a"', "a'", '\\', 'x\\']
  const all = [...cases, ...extra]
  compare(all, shlexSplit(all), 'shlex')
})

// Only as part of "\\\n" does a backslash appear, so sh never meets a bare newline (a new command).
const SH_ALPHABET = ['a', 'é', ' ', '\t', "'", '"', '\\\n', '\r', '=', ',', '\u00a0', '-']

test('property: splitWords agrees with sh on 150 strings with line continuations and \\r', () => {
  const cases = fc.sample(stringFrom(SH_ALPHABET), { numRuns: 150, seed: 977 })
  const extra = ['a \\\n  b', 'a\\\nb', '\\\n', '"a\\\nb"', "'a\\\nb'", 'a\rb', '"a\\$b"', '"a\\`b"', '"a\\b"', 'a\u00a0b', 'a\vb']
  const all = [...cases, ...extra]
  compare(all, shSplit(all), 'sh')
})

test('unterminated quotes and a trailing backslash are Left with a reason', () => {
  for (const s of ["'abc", '"abc', 'a "b', "a 'b c", '"a\\"', 'abc\\']) {
    const r = splitWords(s)
    assert.ok(E.isLeft(r), JSON.stringify(s))
    if (E.isLeft(r)) assert.ok(r.left.length > 0)
  }
})

test('known splits', () => {
  assert.equal(ours("-cpu host -smbios 'type=1,serial=a b'"), ['-cpu', 'host', '-smbios', 'type=1,serial=a b'])
  assert.equal(ours('  a\t\tb  '), ['a', 'b'])
  assert.equal(ours('a \\\n  b'), ['a', 'b'])
  assert.equal(ours('""'), [''])
  assert.equal(ours(''), [])
})

test('property: quoteWord then splitWords gives the word back, alone', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (w) => {
      assert.equal(ours(quoteWord(w)), [w])
    }),
    { numRuns: 300 }
  )
})

test('quoteWord leaves plain words alone and quotes the rest', () => {
  assert.is(quoteWord('-device'), '-device')
  assert.is(quoteWord('guest=vm1,debug-threads=on'), 'guest=vm1,debug-threads=on')
  assert.is(quoteWord(''), "''")
  assert.is(quoteWord('a b'), "'a b'")
  assert.is(quoteWord("it's"), "'it'\\''s'")
})

test.run()
