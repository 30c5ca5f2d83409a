/**
 * Helpers for integration tests that start a real QEMU (no guest, paused with `-S`) and read back
 * what it built. The plan's argv goes in unchanged apart from the QMP socket and `-S -display
 * none`, so a test checks the very command line the library produced.
 *
 * @since 0.1.0
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { suite, type Test } from 'uvu'
import * as assert from 'uvu/assert'
import { connectQmp, type QmpClient } from '../../examples/qmp-client.js'
import type { QemuVersion } from '../../lib/index.js'

const execFileP = promisify(execFile)

/**
 * The emulator the tests start: the first `qemu-system-x86_64` on PATH. `scripts/test.mjs` runs
 * the real-QEMU suites once per QEMU, each time with that QEMU's directory first on PATH, so the
 * same name reaches the QEMU under test (and its qemu-img, qemu-nbd, qemu-io where it has them).
 *
 * @since 0.1.0
 */
export const qemuBinary = 'qemu-system-x86_64'

const onPath = (name: string): boolean =>
  (process.env['PATH'] ?? '')
    .split(delimiter)
    .some((dir) => dir.length > 0 && existsSync(join(dir, name)))

/**
 * The absolute path of qemu-system-x86_64 on PATH (`kvm_path` must be absolute).
 *
 * @since 0.1.0
 */
export const qemuPath = (): string =>
  (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((d) => d.startsWith('/'))
    .map((d) => join(d, qemuBinary))
    .find((p) => existsSync(p)) ?? `/usr/bin/${qemuBinary}`

let qemuPresent: boolean | undefined

/**
 * Whether both `qemu-system-x86_64` and `qemu-img` are on PATH (memoised: PATH does not change
 * during a test run).
 *
 * @since 0.1.0
 */
export const hasQemu = (): boolean => {
  qemuPresent ??= onPath(qemuBinary) && onPath('qemu-img')
  return qemuPresent
}

/**
 * The QEMU that judges this run, as it says itself (`query-version`).
 *
 * @since 0.2.0
 */
export interface QemuUnderTest {
  readonly path: string
  readonly version: QemuVersion
  /** Its package string, such as `Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`. */
  readonly package: string
  /** `QEMU 10.0.2 (Debian …)`: what every suite name carries. */
  readonly label: string
}

const isRec = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** Asks the binary its version over QMP; the reason instead when it cannot be asked. */
const probeQemu = async (): Promise<QemuUnderTest | string> => {
  if (!hasQemu()) return `${qemuBinary} or qemu-img not on PATH`
  const path = qemuPath()
  try {
    const reply = await withQemu([path, '-machine', 'none', '-nodefaults'], (vm) => vm.qmp.executeOk('query-version'))
    const q = isRec(reply) && isRec(reply['qemu']) ? reply['qemu'] : {}
    const [major, minor, micro] = [q['major'], q['minor'], q['micro']]
    if (typeof major !== 'number' || typeof minor !== 'number' || typeof micro !== 'number') return `query-version of ${path} answered ${JSON.stringify(reply)}`
    const pkg = isRec(reply) && typeof reply['package'] === 'string' ? reply['package'] : ''
    return { path, version: { major, minor, micro }, package: pkg, label: `QEMU ${major}.${minor}.${micro}${pkg === '' ? '' : ` (${pkg})`}` }
  } catch (e) {
    return `${path} did not answer query-version: ${e instanceof Error ? e.message : String(e)}`
  }
}

let probed: Promise<QemuUnderTest | string> | undefined

/**
 * The QEMU under test, asked once per test process; a string says why there is none.
 *
 * @since 0.2.0
 */
export const qemuUnderTest = (): Promise<QemuUnderTest | string> => {
  probed ??= probeQemu()
  return probed
}


// Any registration is swallowed; only `run` reaches uvu so the suite still shows up in the report.
const inertSuite = <T>(real: Test<T>): Test<T> => {
  const noop = (): void => {}
  const hook = Object.assign(noop, { each: noop })
  const t: Test<T> = Object.assign((_name: string, _fn: unknown): void => {}, {
    only: noop,
    skip: noop,
    before: hook,
    after: hook,
    run: () => real.run()
  })
  return t
}

/**
 * A uvu suite for tests needing QEMU, named after the QEMU that judges it. Without QEMU, a CI run (`CI=true`) gets one failing test
 * instead — a silently skipped integration suite in CI would hide that nothing was checked —
 * while a local run prints a loud SKIPPED line and registers nothing.
 *
 * @since 0.1.0
 */
export const qemuSuite = (name: string): Test => {
  if (typeof known !== 'string') return suite(`${name} [${known.label}]`)
  const real = suite(name)
  if (process.env['CI'] === 'true') {
    real('QEMU is available', () => {
      assert.unreachable(`no QEMU to judge: ${known} (CI=true requires it)`)
    })
  } else {
    process.stderr.write(`SKIPPED ${name}: ${known}\n`)
  }
  return inertSuite(real)
}

/**
 * A scratch directory under the OS temp dir.
 *
 * @since 0.1.0
 */
export interface TempDir {
  readonly path: string
  readonly cleanup: () => Promise<void>
}

/**
 * Creates a fresh {@link TempDir}.
 *
 * @since 0.1.0
 */
export const tempDir = async (): Promise<TempDir> => {
  const path = await mkdtemp(join(tmpdir(), 'qemu-devplan-'))
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) }
}

/**
 * Creates an empty disk image with `qemu-img create` (no guest ever reads it, so it can stay
 * empty) and returns its path.
 *
 * @since 0.1.0
 */
export const makeImage = async (
  dir: string,
  name: string,
  format: 'raw' | 'qcow2',
  sizeMiB = 1,
  backing?: { readonly path: string; readonly format: 'raw' | 'qcow2' }
): Promise<string> => {
  const path = join(dir, name)
  const backingArgs = backing === undefined ? [] : ['-b', backing.path, '-F', backing.format]
  await execFileP('qemu-img', ['create', '-q', '-f', format, ...backingArgs, path, `${sizeMiB}M`])
  return path
}

/**
 * A running (paused) QEMU with its QMP session.
 *
 * @since 0.1.0
 */
export interface Vm {
  readonly qmp: QmpClient
  readonly pid: number
  /** Everything QEMU wrote to stderr so far. */
  readonly stderr: () => string
  /** Closes QMP, SIGKILLs QEMU and waits for it to be gone. Idempotent. */
  readonly kill: () => Promise<void>
}

// Safety net: whatever a failing test forgot, no QEMU outlives the test process.
const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

const hasFlag = (argv: readonly string[], flag: string): boolean =>
  argv.some((a) => a === flag || a === `-${flag}`)

const qmpSocketOf = (argv: readonly string[]): string | undefined => {
  for (let i = 0; i < argv.length - 1; i++) {
    const a = argv[i]
    const v = argv[i + 1]
    if ((a === '-qmp' || a === '--qmp') && v !== undefined && v.startsWith('unix:')) {
      return v.slice('unix:'.length).split(',')[0]
    }
  }
  return undefined
}

/** Adds what the harness needs (QMP socket, paused, no display) unless the caller chose already. */
const completeArgv = (
  argv: readonly string[],
  dir: string
): { readonly argv: readonly string[]; readonly socket: string } => {
  const extra: string[] = []
  let socket = qmpSocketOf(argv)
  if (socket === undefined) {
    socket = join(dir, 'qmp.sock')
    extra.push('-qmp', `unix:${socket},server=on,wait=off`)
  }
  if (!hasFlag(argv, '-S')) extra.push('-S')
  if (!hasFlag(argv, '-display') && !hasFlag(argv, '-nographic')) extra.push('-display', 'none')
  return { argv: [...argv, ...extra], socket }
}

let spawnCount = 0

interface Spawned {
  readonly child: ChildProcess
  readonly stderr: () => string
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>
}

const spawnQemu = (argv: readonly string[], dir: string): Spawned => {
  const [bin, ...args] = argv
  if (bin === undefined) throw new Error('startQemu: empty argv')
  // stderr goes to a file rather than a pipe: it outlives the process, and no pipe handle can
  // keep the test process alive.
  const errPath = join(dir, `qemu-${process.pid}-${spawnCount++}.stderr`)
  const errFd = openSync(errPath, 'w')
  let child: ChildProcess
  try {
    child = spawn(bin, args, { stdio: ['ignore', 'ignore', errFd], shell: false })
  } finally {
    closeSync(errFd)
  }
  live.add(child)
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve(code ?? signal ?? 'unknown')
    })
    child.once('error', (e) => {
      live.delete(child)
      resolve(`spawn error: ${e.message}`)
    })
  })
  const stderr = (): string => {
    try {
      return readFileSync(errPath, 'utf8')
    } catch {
      return ''
    }
  }
  return { child, stderr, exited }
}

/** `p`'s value, or `undefined` if it takes longer than `ms`; leaves no timer behind. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

type Launch =
  | { readonly tag: 'up'; readonly vm: Vm }
  | { readonly tag: 'exited'; readonly status: number | string; readonly stderr: string }
  | { readonly tag: 'no-qmp'; readonly error: string; readonly stderr: string }

const launch = async (
  argv: readonly string[],
  opts: { readonly dir: string; readonly connectTimeoutMs?: number }
): Promise<Launch & { readonly argv: readonly string[] }> => {
  const full = completeArgv(argv, opts.dir)
  const { child, stderr, exited } = spawnQemu(full.argv, opts.dir)
  const abort = new AbortController()

  type Outcome =
    | { readonly tag: 'up'; readonly qmp: QmpClient }
    | { readonly tag: 'exited'; readonly status: number | string }
    | { readonly tag: 'failed'; readonly error: unknown }
  const up = connectQmp(full.socket, {
    signal: abort.signal,
    unrefWhenIdle: true,
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000
  }).then(
    (qmp): Outcome => ({ tag: 'up', qmp }),
    (error: unknown): Outcome => ({ tag: 'failed', error })
  )
  const outcome = await Promise.race([
    up,
    exited.then((status): Outcome => ({ tag: 'exited', status }))
  ])

  const killChild = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
    child.ref()
    child.kill('SIGKILL')
    await exited
  }

  if (outcome.tag === 'up' && child.pid !== undefined) {
    // From here on only an awaited QMP reply holds the event loop, so a VM a test forgot to kill
    // cannot stop the test process from exiting (and the exit hook then kills it).
    child.unref()
    const qmp = outcome.qmp
    const vm: Vm = {
      qmp,
      pid: child.pid,
      stderr,
      kill: async () => {
        await qmp.close()
        await killChild()
      }
    }
    return { tag: 'up', vm, argv: full.argv }
  }

  abort.abort()
  const late = await up
  if (late.tag === 'up') await late.qmp.close()
  // QEMU may accept on the socket before it reaches a bad option; the connection then drops
  // shortly before the exit is reported, so give the exit a moment to win.
  const status = outcome.tag === 'exited' ? outcome.status : await within(exited, 2000)
  if (status !== undefined) return { tag: 'exited', status, stderr: stderr(), argv: full.argv }
  // QEMU is alive but QMP never answered: a harness problem, not a refusal.
  await killChild()
  const error = outcome.tag === 'failed' ? String(outcome.error) : 'spawned process has no pid'
  return { tag: 'no-qmp', error, stderr: stderr(), argv: full.argv }
}

/**
 * Starts QEMU with `argv` (argv[0] is the binary) and connects to its QMP socket. Rejects with
 * QEMU's stderr when it exits before greeting, which is how QEMU refuses a bad option.
 *
 * @since 0.1.0
 */
export const startQemu = async (
  argv: readonly string[],
  opts: { readonly dir: string; readonly connectTimeoutMs?: number }
): Promise<Vm> => {
  const r = await launch(argv, opts)
  switch (r.tag) {
    case 'up':
      return r.vm
    case 'exited':
      throw new Error(
        `QEMU exited (${String(r.status)}) before QMP came up: ${r.stderr.trim()}\nargv: ${JSON.stringify(r.argv)}`
      )
    case 'no-qmp':
      throw new Error(
        `QEMU started but QMP did not come up (${r.error}); stderr: ${r.stderr.trim()}\nargv: ${JSON.stringify(r.argv)}`
      )
  }
}

/**
 * For tests expecting QEMU to refuse an argv: resolves with its stderr when it exits non-zero,
 * rejects when it came up (or exited with 0, or never answered on QMP).
 *
 * @since 0.1.0
 */
export const startQemuExpectFailure = async (
  argv: readonly string[],
  opts: { readonly dir: string; readonly connectTimeoutMs?: number }
): Promise<string> => {
  const r = await launch(argv, opts)
  switch (r.tag) {
    case 'up':
      await r.vm.kill()
      throw new Error(`QEMU accepted an argv expected to be refused: ${JSON.stringify(r.argv)}`)
    case 'exited':
      // A refusal is a non-zero exit code; a signal or a failed spawn is something else.
      if (typeof r.status !== 'number' || r.status === 0) {
        throw new Error(
          `QEMU ended with ${String(r.status)} instead of refusing: ${r.stderr.trim()}\nargv: ${JSON.stringify(r.argv)}`
        )
      }
      return r.stderr
    case 'no-qmp':
      throw new Error(`QEMU neither came up nor exited (${r.error}): ${JSON.stringify(r.argv)}`)
  }
}

/**
 * Starts QEMU and reports how it went, without judging: `up` (killed again at once) with what it
 * wrote on stderr meanwhile, or `exited` with its status and stderr. For probes of what a QEMU
 * accepts, where either outcome may be the expected one.
 *
 * @since 0.2.0
 */
export const tryQemu = async (
  argv: readonly string[],
  opts: { readonly dir: string; readonly connectTimeoutMs?: number }
): Promise<{ readonly _tag: 'up'; readonly stderr: string } | { readonly _tag: 'exited'; readonly status: number | string; readonly stderr: string }> => {
  const r = await launch(argv, opts)
  switch (r.tag) {
    case 'up': {
      // A query first, so that whatever QEMU warns about at start is on stderr before the kill.
      await r.vm.qmp.executeOk('query-status')
      const stderr = r.vm.stderr()
      await r.vm.kill()
      return { _tag: 'up', stderr }
    }
    case 'exited':
      return { _tag: 'exited', status: r.status, stderr: r.stderr }
    case 'no-qmp':
      throw new Error(`QEMU neither came up nor exited (${r.error}): ${JSON.stringify(r.argv)}`)
  }
}

/**
 * Runs `fn` against a fresh QEMU and always kills it afterwards. Without `opts.dir` a temp dir is
 * created for the socket and removed again.
 *
 * @since 0.1.0
 */
export const withQemu = async <T>(
  argv: readonly string[],
  fn: (vm: Vm) => Promise<T>,
  opts: { readonly dir?: string; readonly connectTimeoutMs?: number } = {}
): Promise<T> => {
  const tmp = opts.dir === undefined ? await tempDir() : undefined
  const dir = opts.dir ?? tmp?.path ?? tmpdir()
  try {
    const vm = await startQemu(
      argv,
      opts.connectTimeoutMs === undefined ? { dir } : { dir, connectTimeoutMs: opts.connectTimeoutMs }
    )
    try {
      return await fn(vm)
    } finally {
      await vm.kill()
    }
  } finally {
    await tmp?.cleanup()
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

const asArray = (u: unknown, what: string): readonly unknown[] => {
  if (!Array.isArray(u)) throw new Error(`${what}: expected an array, got ${JSON.stringify(u)}`)
  return u
}

const asRecord = (u: unknown, what: string): Record<string, unknown> => {
  if (!isRecord(u)) throw new Error(`${what}: expected an object, got ${JSON.stringify(u)}`)
  return u
}

const field = <T>(
  r: Record<string, unknown>,
  key: string,
  guard: (u: unknown) => u is T,
  what: string
): T => {
  const v = r[key]
  if (!guard(v)) throw new Error(`${what}: field '${key}' has unexpected value ${JSON.stringify(v)}`)
  return v
}

const isString = (u: unknown): u is string => typeof u === 'string'
const isNumber = (u: unknown): u is number => typeof u === 'number'
const isBoolean = (u: unknown): u is boolean => typeof u === 'boolean'

/**
 * The user-created devices: id → QOM type, from `qom-list /machine/peripheral`.
 *
 * @since 0.1.0
 */
export const peripheral = async (vm: Vm): Promise<Map<string, string>> => {
  const props = asArray(
    await vm.qmp.executeOk('qom-list', { path: '/machine/peripheral' }),
    'qom-list'
  )
  const out = new Map<string, string>()
  for (const p of props) {
    const r = asRecord(p, 'qom-list entry')
    const m = /^child<(.+)>$/.exec(field(r, 'type', isString, 'qom-list entry'))
    if (m?.[1] !== undefined) out.set(field(r, 'name', isString, 'qom-list entry'), m[1])
  }
  return out
}

/**
 * One QOM property, e.g. `addr` (devfn) or `scsi-id` of `/machine/peripheral/<id>`.
 *
 * @since 0.1.0
 */
export const qomGet = (vm: Vm, path: string, property: string): Promise<unknown> =>
  vm.qmp.executeOk('qom-get', { path, property })

/**
 * A device on PCI bus 0 as `query-pci` reports it.
 *
 * @since 0.1.0
 */
export interface PciSlot {
  readonly slot: number
  readonly function: number
  readonly qdev_id: string
  readonly desc: string
}

/**
 * The devices on PCI bus 0 (the root bus; devices behind bridges are not numbered while paused).
 *
 * @since 0.1.0
 */
export const pciSlots = async (vm: Vm): Promise<PciSlot[]> => {
  const buses = asArray(await vm.qmp.executeOk('query-pci'), 'query-pci')
  const bus0 = buses.map((b) => asRecord(b, 'query-pci bus')).find((b) => b['bus'] === 0)
  if (bus0 === undefined) return []
  return asArray(bus0['devices'], 'query-pci devices').map((d) => {
    const r = asRecord(d, 'query-pci device')
    const classInfo = isRecord(r['class_info']) ? r['class_info'] : {}
    return {
      slot: field(r, 'slot', isNumber, 'query-pci device'),
      function: field(r, 'function', isNumber, 'query-pci device'),
      qdev_id: field(r, 'qdev_id', isString, 'query-pci device'),
      desc: isString(classInfo['desc']) ? classInfo['desc'] : ''
    }
  })
}

/**
 * A block node as `query-named-block-nodes` reports it, with QEMU's dashes turned into
 * underscores.
 *
 * @since 0.1.0
 */
export interface NamedNode {
  readonly node_name: string
  readonly drv: string
  readonly ro: boolean
  readonly file: string
  readonly cache: { readonly direct: boolean; readonly no_flush: boolean; readonly writeback: boolean }
}

/**
 * Every named block node (`flat: true`, so child nodes are listed on their own).
 *
 * @since 0.1.0
 */
export const namedNodes = async (vm: Vm): Promise<NamedNode[]> => {
  const nodes = asArray(
    await vm.qmp.executeOk('query-named-block-nodes', { flat: true }),
    'query-named-block-nodes'
  )
  return nodes.map((n) => {
    const what = 'query-named-block-nodes entry'
    const r = asRecord(n, what)
    const cache = asRecord(r['cache'], `${what} cache`)
    return {
      node_name: field(r, 'node-name', isString, what),
      drv: field(r, 'drv', isString, what),
      ro: field(r, 'ro', isBoolean, what),
      file: field(r, 'file', isString, what),
      cache: {
        direct: field(cache, 'direct', isBoolean, what),
        no_flush: field(cache, 'no-flush', isBoolean, what),
        writeback: field(cache, 'writeback', isBoolean, what)
      }
    }
  })
}

// Asked here, at the end, once everything it uses is defined.
const known = await qemuUnderTest()

/**
 * The version of the QEMU under test, which the real-QEMU suites plan for. Only meaningful
 * where {@link qemuSuite} registered the tests (7.2.0 stands in when there is no QEMU).
 *
 * @since 0.2.0
 */
export const qemuVersion: QemuVersion = typeof known === 'string' ? { major: 7, minor: 2, micro: 0 } : known.version

/** A TCP port nobody listens on right now, on `host`. */
export const freePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error(`no port from ${JSON.stringify(addr)}`))))
    })
  })

