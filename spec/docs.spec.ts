/**
 * The API documentation cannot drift from the API:
 * - every `@example` in lib/ is a whole program that imports from `qemu-devplan` (resolved to
 *   this checkout, as spec/readme.spec.ts does for the README): all of them typecheck together
 *   under the project's compiler options, then each one runs and must exit 0;
 * - typedoc converts and validates its entry points (lib/index.ts, lib/testing/index.ts; the options
 *   of typedoc.json) without a warning,
 *   and every export it documents, namespace members included, is in one of the seven categories;
 * - the main entry points each carry an example.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import ts from 'typescript'
import { Application, ReflectionKind, type ContainerReflection, type DeclarationReflection, type ProjectReflection } from 'typedoc'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const execFileP = promisify(execFile)
const root = fileURLToPath(new URL('../', import.meta.url))

/** The categories of the API docs (issue 11); `@category` takes exactly these names. */
const CATEGORIES = ['decode', 'plan', 'render', 'hotplug', 'media', 'runtime', 'executor'] as const

/** The entry points a reader starts from: each has at least one `@example`. */
const MAIN = ['decodeInstance', 'planDevices', 'renderArgv', 'planHotAdd', 'planHotRemove', 'planChangeMedium', 'runPlan', 'upgradeRuntime', 'downgradeRuntime', 'planStart', 'toRuntime', 'decodeRuntime']

interface Example {
  /** The file (relative to the checkout) and the line of the code's first line, for messages. */
  readonly file: string
  readonly line: number
  readonly code: string
}

const libFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? libFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))

/**
 * The `@example` blocks of one file, read as typedoc reads them: the fenced code blocks of the
 * tag (the rest of the tag's first line is the example's title), or, when the tag has no fence,
 * the tag's whole text as code.
 */
const examplesOf = (file: string, text: string): ReadonlyArray<Example> => {
  const out: Example[] = []
  for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, m.index).split('\n').length
    const lines = m[0]
      .replace(/^\/\*\*/, '')
      .replace(/\*\/$/, '')
      .split('\n')
      .map((l, i) => ({ n: firstLine + i, text: i === 0 ? l.replace(/^ /, '') : l.replace(/^\s*\* ?/, '').replace(/^\s*\*$/, '') }))
    let i = 0
    while (i < lines.length) {
      const head = lines[i]
      if (head === undefined || !/^@example\b/.test(head.text)) {
        i++
        continue
      }
      // The tag runs to the next block tag outside a fence.
      const body: Array<{ n: number; text: string }> = [{ n: head.n, text: head.text.replace(/^@example\s?/, '') }]
      let fenced = false
      for (i++; i < lines.length; i++) {
        const l = lines[i]
        if (l === undefined) break
        if (/^```/.test(l.text)) fenced = !fenced
        if (!fenced && /^@\w+/.test(l.text)) break
        body.push(l)
      }
      if (body.some((l) => /^```/.test(l.text))) {
        let block: Array<{ n: number; text: string }> | undefined
        for (const l of body.slice(1)) {
          if (block === undefined && /^```(ts|typescript)?\s*$/.test(l.text)) block = []
          else if (block !== undefined && /^```\s*$/.test(l.text)) {
            out.push({ file: relative(root, file), line: block[0]?.n ?? l.n, code: block.map((b) => b.text).join('\n') })
            block = undefined
          } else if (block !== undefined) block.push(l)
        }
      } else {
        out.push({ file: relative(root, file), line: head.n, code: body.map((b) => b.text).join('\n').trim() })
      }
    }
  }
  return out
}

const allExamples = (): ReadonlyArray<Example> => libFiles(join(root, 'lib')).flatMap((f) => examplesOf(f, readFileSync(f, 'utf8')))

test('examplesOf reads fenced and unfenced @example blocks, and stops at the next tag', () => {
  const text = ['/**', ' * Doc.', ' *', ' * @example A title', ' * ```ts', " * import { x } from 'qemu-devplan'", ' * x()', ' * ```', ' *', ' * @example', ' * y()', ' * @since 0.1.0', ' */'].join('\n')
  const ex = examplesOf(join(root, 'lib/f.ts'), text)
  assert.equal(ex.map((e) => e.code), ["import { x } from 'qemu-devplan'\nx()", 'y()'])
  assert.equal(ex.map((e) => `${e.file}:${e.line}`), ['lib/f.ts:6', 'lib/f.ts:10'])
})

test('every @example in lib/ typechecks as a program importing qemu-devplan, and runs', async () => {
  const examples = allExamples()
  assert.ok(examples.length >= MAIN.length, `found ${examples.length} examples`)
  const dir = mkdtempSync(join(root, 'spec', '.docs-'))
  try {
    const entry = JSON.stringify(join(root, 'lib/index.js'))
    const testing = JSON.stringify(join(root, 'lib/testing/index.js'))
    const files = examples.map((ex, i) => {
      const where = `${ex.file}:${ex.line}`
      const imports = [...ex.code.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '')
      for (const spec of imports) {
        assert.ok(spec === 'qemu-devplan' || spec === 'qemu-devplan/testing' || /^(fp-ts|io-ts|immer)(\/|$)/.test(spec) || spec.startsWith('node:'), `${where}: an example imports from the package root (or fp-ts, io-ts, immer, node:), not ${spec}`)
      }
      const file = join(dir, `example-${i}.ts`)
      const code = ex.code.replace(/from\s+['"]qemu-devplan['"]/g, `from ${entry}`).replace(/from\s+['"]qemu-devplan\/testing['"]/g, `from ${testing}`)
      writeFileSync(file, `${code}\n${/^\s*(import|export)\s/m.test(code) ? '' : 'export {}\n'}`)
      return { ...ex, where, path: file }
    })
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), { noEmit: true, noUnusedLocals: false }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
    assert.ok(config !== undefined)
    const program = ts.createProgram(files.map((f) => f.path), config?.options ?? {})
    const problems = files.flatMap((f) => {
      const source = program.getSourceFile(f.path)
      return ts.getPreEmitDiagnostics(program, source).map((d) => {
        const line = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0
        return `${f.file}:${f.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
      })
    })
    assert.equal(problems, [], problems.join('\n'))
    for (const f of files) {
      try {
        await execFileP(process.execPath, ['--import', 'tsx', f.path], { cwd: root, timeout: 30_000 })
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string }
        assert.unreachable(`${f.where}: the example exits non-zero\n${err.stderr ?? ''}${err.stdout ?? ''}`)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** typedoc's view of lib/index.ts, with the options of typedoc.json, converted and validated. */
const docs = (async (): Promise<{ readonly project: ProjectReflection; readonly warnings: boolean }> => {
  const app = await Application.bootstrapWithPlugins({ options: join(root, 'typedoc.json') })
  const project = await app.convert()
  if (project === undefined) throw new Error('typedoc could not convert lib/index.ts')
  app.validate(project)
  return { project, warnings: app.logger.hasErrors() || app.logger.hasWarnings() }
})()
// Awaited by the tests below; a failed conversion fails them rather than the whole process.
docs.catch(() => undefined)

/** Every documented export with its category; members of namespaces (`qmp.…`) too. */
const categorized = (c: ContainerReflection, prefix = ''): ReadonlyArray<{ readonly name: string; readonly category: string | undefined }> => {
  const of = new Map<number, string>()
  for (const g of c.categories ?? []) for (const r of g.children) of.set(r.id, g.title)
  return (c.children ?? []).flatMap((r: DeclarationReflection) =>
    // With several entry points (package subpaths) each is a module: its exports are what counts.
    r.kindOf(ReflectionKind.Module)
      ? categorized(r, `${r.name}:`)
      : [{ name: prefix + r.name, category: of.get(r.id) }, ...(r.kindOf(ReflectionKind.Namespace) ? categorized(r, `${prefix}${r.name}.`) : [])]
  )
}

test('the docs document exactly the package.json exports subpaths (each lib/ source of a dist/ entry)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
  const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: ReadonlyArray<string> }
  const sourceOf = (target: unknown): string | undefined => {
    const file = /"\.\/dist\/esm\/([^"]+)\.js"/.exec(JSON.stringify(target))?.[1]
    return file === undefined ? undefined : `lib/${file}.ts`
  }
  const exported = Object.entries(pkg.exports)
    .filter(([path]) => path !== './package.json')
    .map(([path, target]) => ({ path, source: sourceOf(target) }))
  for (const e of exported) assert.ok(e.source !== undefined, `exports[${e.path}] has an ESM build under dist/esm`)
  assert.equal([...config.entryPoints].sort(), exported.map((e) => e.source ?? '').sort(), 'typedoc.json entryPoints are the lib/ sources of the exports map')
})

test('typedoc converts and validates lib/index.ts without a warning', async () => {
  const { warnings } = await docs
  assert.not.ok(warnings, 'typedoc logged warnings (run npm run docs to see them)')
})

test('every export the docs document has @category with one of the seven names', async () => {
  const { project } = await docs
  const all = categorized(project)
  assert.ok(all.length > 100, `typedoc documents ${all.length} exports`)
  const allowed: ReadonlyArray<string> = CATEGORIES
  const wrong = all.filter((e) => e.category === undefined || !allowed.includes(e.category)).map((e) => `${e.name}: ${e.category ?? 'no category'}`)
  assert.equal(wrong, [], `exports without an allowed @category (${CATEGORIES.join(', ')}):\n${wrong.join('\n')}`)
  for (const c of CATEGORIES) assert.ok(all.some((e) => e.category === c), `category ${c} has exports`)
})

test('the main entry points each have an @example', async () => {
  const { project } = await docs
  for (const name of MAIN) {
    // Found by name wherever it is: with several entry points, exports sit in their module.
    const r = project.getReflectionsByKind(ReflectionKind.Function).find((f): f is DeclarationReflection => f.name === name && f.parent?.kindOf(ReflectionKind.Namespace) !== true)
    assert.ok(r !== undefined, `${name} is a documented function`)
    const comments = [r?.comment, ...(r?.signatures ?? []).map((s) => s.comment)]
    assert.ok(
      comments.some((c) => c?.blockTags.some((t) => t.tag === '@example')),
      `${name} has an @example`
    )
  }
})

test.run()
