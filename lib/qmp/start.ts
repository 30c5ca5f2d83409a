/**
 * The start plan: what runs while a freshly started QEMU is still paused (`-S`), in the order of
 * Ganeti's `_ExecuteKVMRuntime` — each display's password, the balloon down to the startup
 * memory, then `cont`. It needs only a few facts of the machine ({@link StartFacts}), read from
 * the plan ({@link startFacts}) or from the runtime of a restart ({@link runtimeStartFacts}); the
 * password and the startup memory are the caller's inputs (the caller reads the password file
 * and decides, from what the node has free, how much memory to give).
 *
 * @since 0.2.0
 */
import { sequenceS } from 'fp-ts/lib/Apply.js'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as RA from 'fp-ts/lib/ReadonlyArray.js'
import { guarded, text } from '../codecs.js'
import type { DeviceTree } from '../devices.js'
import { fieldError, invalidInput, type DevplanError, type FieldError } from '../errors.js'
import { keyvalPairs } from '../qemu-opts.js'
import { runtimeCmdDevices } from '../runtime/bus.js'
import type { CmdWord, Runtime } from '../runtime/types.js'
import { balloon, cont, setPassword, type DisplayProtocol } from './commands.js'
import { commandStep, type CommandStep, type QmpPlan } from './plan.js'
import { isSecret, type Secret } from './secret.js'
import { isRecord, isTreeShape, prop, runtimeArg, totalE, totalOr } from '../total.js'

/**
 * What a start plan needs to know of the machine.
 *
 * @since 0.2.0
 * @category executor
 */
export interface StartFacts {
  /** `-m`: the most memory the instance has, MiB (Ganeti's `maxmem`). */
  readonly memory: number
  /** The displays QEMU waits for a password on, in the order their `set_password`s go. */
  readonly passwords: ReadonlyArray<DisplayProtocol>
  /** Whether the machine has a balloon device, without which QEMU refuses `balloon`. */
  readonly balloon: boolean
}

/**
 * A password for each display that waits for one, as {@link Secret}s.
 *
 * @since 0.2.0
 * @category executor
 */
export type Passwords = { readonly [P in DisplayProtocol]?: Secret }

/**
 * The caller's inputs of a start.
 *
 * @since 0.2.0
 * @category executor
 */
export interface StartInput {
  /**
   * The memory the instance starts with, MiB: at most {@link StartFacts.memory}; below it, the
   * balloon takes the rest back. What the node can give is the caller's decision (Ganeti's
   * `minmem`..`maxmem`).
   */
  readonly startupMemory: number
  /** Exactly the displays of {@link StartFacts.passwords}, no more, no fewer. */
  readonly passwords?: Passwords
}

/**
 * The displays of a machine, as far as passwords go: `MachineOptions` is one.
 *
 * @since 0.2.0
 * @category executor
 */
export type Displays = { readonly [P in DisplayProtocol]?: { readonly password: boolean } | undefined }

/** In the order Ganeti sets them. */
const PROTOCOLS: ReadonlyArray<DisplayProtocol> = ['vnc', 'spice']

const LABEL: Readonly<Record<DisplayProtocol, string>> = { vnc: 'VNC', spice: 'SPICE' }

const isProtocol = (k: string): k is DisplayProtocol => PROTOCOLS.some((p) => p === k)

/**
 * The displays that wait for a password: VNC started with `password=on`, SPICE without
 * `disable-ticketing=on`. The one rule of the start plan, over `MachineOptions`' `password` flags.
 *
 * @since 0.2.0
 * @category executor
 */
export const passwordProtocols = (displays: Displays): ReadonlyArray<DisplayProtocol> =>
  // What is not a displays record protects no display.
  totalOr([], () => (isRecord(displays) ? PROTOCOLS.filter((p) => prop(displays[p], 'password') === true) : []))

const isBalloon = (driver: string): boolean => /^virtio-balloon(-|$)/.test(driver)

/**
 * The start facts of a planned machine.
 *
 * @since 0.2.0
 * @category executor
 */
export const startFacts = (tree: DeviceTree): StartFacts =>
  // What is not a tree gives facts planStart refuses (memory 0), rather than facts it would run.
  totalOr(NO_FACTS, () => (isTreeShape(tree) ? startFactsOfTree(tree) : NO_FACTS))

const NO_FACTS: StartFacts = { memory: 0, passwords: [], balloon: false }

const startFactsOfTree = (tree: DeviceTree): StartFacts => ({
  memory: tree.memory,
  passwords: passwordProtocols(tree.machineOptions),
  balloon: tree.machineDevices.some((d) => isBalloon(d.driver))
})

const MIB_PER: Readonly<Record<string, number>> = { '': 1, m: 1, g: 1024, t: 1024 * 1024 }

/** The last value of option `opt`: QEMU merges repeated `-m` and `-vnc`, the last value winning. */
const lastValue = (cmd: ReadonlyArray<CmdWord>, opt: string, key: string, implied: string | undefined): { readonly at: number; readonly value: string } | undefined => {
  let found: { readonly at: number; readonly value: string } | undefined
  cmd.forEach((w, i) => {
    const v = cmd[i + 1]
    if (w !== opt || v === undefined) return
    const pair = [...keyvalPairs(String(v), implied)].reverse().find(([k]) => k === key)
    if (pair !== undefined) found = { at: i + 1, value: pair[1] }
  })
  return found
}

/** `-m`'s size as QEMU reads it: MiB when it ends in a digit, else by its suffix. */
const cmdMemory = (cmd: ReadonlyArray<CmdWord>): E.Either<DevplanError, number> => {
  const last = cmd.lastIndexOf('-m')
  if (last < 0 || last + 1 >= cmd.length) return E.left(fieldError('cmd', '-m', 'has no -m <MiB>: the start plan needs the memory the instance was started with'))
  const m = lastValue(cmd, '-m', 'size', 'size') ?? { at: last + 1, value: '' }
  const r = /^(\d+)([mgt]?)$/i.exec(m.value)
  const mib = r === null ? NaN : Number(r[1]) * (MIB_PER[(r[2] ?? '').toLowerCase()] ?? NaN)
  return Number.isSafeInteger(mib) && mib > 0
    ? E.right(mib)
    : E.left(fieldError(`cmd[${m.at}]`, cmd[m.at], 'expected the size of -m as MiB (such as 512, 512M or 2G)'))
}

const QEMU_TRUE = new Set(['on', 'yes', 'true', 'y'])

/** Is boolean `key` of option `opt` on? `-spice` has no implied key: a bare first word is a flag. */
const flag = (cmd: ReadonlyArray<CmdWord>, opt: string, key: string, implied: string | undefined): boolean => {
  const v = lastValue(cmd, opt, key, implied)
  return v !== undefined && QEMU_TRUE.has(v.value)
}

const present = (cmd: ReadonlyArray<CmdWord>, opt: string): boolean => cmd.some((w, i) => w === opt && i + 1 < cmd.length)

/**
 * The start facts of a runtime, from its command line: the last `-m`, the `password` flag of
 * `-vnc` and the `disable-ticketing` flag of `-spice` (not the hvparams: a runtime Ganeti wrote
 * for a VNC unix socket has a password file but no `password=on`, and QEMU then refuses
 * `set_password`), and a `virtio-balloon` device.
 *
 * @since 0.2.0
 * @category executor
 */
export const runtimeStartFacts = (rt: Runtime): E.Either<DevplanError, StartFacts> =>
  pipe(
    runtimeArg('runtime', rt),
    E.chain(() => totalE('runtime', () => startFactsOf(rt)))
  )

const startFactsOf = (rt: Runtime): E.Either<DevplanError, StartFacts> =>
  E.map((memory: number): StartFacts => {
    const cmd = rt.cmd
    return {
      memory,
      passwords: passwordProtocols({
        vnc: present(cmd, '-vnc') ? { password: flag(cmd, '-vnc', 'password', 'vnc') } : undefined,
        spice: present(cmd, '-spice') ? { password: !flag(cmd, '-spice', 'disable-ticketing', undefined) } : undefined
      }),
      balloon: runtimeCmdDevices(rt).some((d) => isBalloon(d.driver))
    }
  })(cmdMemory(rt.cmd))


/** Never the value itself: a plain string where a Secret belongs may well be the password. */
const HIDDEN = '<not shown>'

const revealed = (s: Secret): string | undefined => {
  try {
    const v: unknown = s.reveal()
    return typeof v === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

/** The outer shape of {@link StartFacts} (its members have their own checks and messages). */
const isStartFacts = (u: unknown): u is StartFacts => isRecord(u) && Array.isArray(u['passwords'])

const checkPasswords = (facts: StartFacts, given: unknown): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<readonly [DisplayProtocol, string]>> => {
  if (given !== undefined && !isRecord(given)) return E.left([{ path: 'passwords', value: HIDDEN, message: 'expected a record of Secrets by display, such as { vnc: secret(…) }' }])
  const record = given ?? {}
  const errors: FieldError[] = []
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue
    if (!isProtocol(k)) errors.push({ path: `passwords.${k}`, value: HIDDEN, message: `is not a display QEMU sets passwords of (${PROTOCOLS.join(', ')})` })
    else if (!facts.passwords.some((p) => p === k)) errors.push({ path: `passwords.${k}`, value: HIDDEN, message: `is given, but QEMU was not started to wait for a ${LABEL[k]} password: set_password would fail` })
  }
  facts.passwords.forEach((p, i) => {
    if (!isProtocol(p)) errors.push({ path: `facts.passwords[${i}]`, value: p, message: `expected a display QEMU sets passwords of (${PROTOCOLS.join(', ')})` })
  })
  const out: Array<readonly [DisplayProtocol, string]> = []
  for (const p of new Set(facts.passwords.filter(isProtocol))) {
    const v = record[p]
    if (v === undefined) {
      errors.push({ path: `passwords.${p}`, value: undefined, message: `is needed: QEMU was started to wait for a ${LABEL[p]} password, and nobody can connect until it is set` })
      continue
    }
    const pw = isSecret(v) ? revealed(v) : undefined
    if (pw === undefined) errors.push({ path: `passwords.${p}`, value: HIDDEN, message: 'expected a Secret made by secret(password)' })
    else if (pw === '' || !text.is(pw)) errors.push({ path: `passwords.${p}`, value: HIDDEN, message: 'expected a non-empty password without NUL bytes or lone surrogates' })
    else out.push([p, pw])
  }
  return errors.length === 0 ? E.right(out) : E.left(errors)
}

const positiveMiB = (path: string, v: unknown): E.Either<ReadonlyArray<FieldError>, number> =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? E.right(v) : E.left([{ path, value: v, message: 'expected a positive whole number of MiB' }])

/** The startup memory, checked against the maximum when that one is sound. */
const startupOf = (facts: StartFacts, v: unknown): E.Either<ReadonlyArray<FieldError>, number> =>
  pipe(
    positiveMiB('startupMemory', v),
    E.chain((start) => {
      const max = facts.memory
      if (E.isLeft(positiveMiB('facts.memory', max))) return E.right(start)
      if (start > max) return E.left([{ path: 'startupMemory', value: start, message: `is above the instance's memory (-m ${max} MiB): the balloon can only take memory back` }])
      if (start < max && !facts.balloon) return E.left([{ path: 'startupMemory', value: start, message: `is below the instance's memory (-m ${max} MiB), and the machine has no balloon device to take the rest back` }])
      return E.right(start)
    })
  )

const MIB = 1024 * 1024

const Validation = E.getApplicativeValidation(RA.getSemigroup<FieldError>())

/**
 * The start plan of a machine paused at start: `set_password` for each display in
 * `facts.passwords`, `balloon` when `input.startupMemory` is below `facts.memory`, then `cont`.
 *
 * Undo: `set_password` has none (the password stays set, a rollback lists it as left over);
 * `balloon`'s sets the target back to all of `-m`, which a freshly started QEMU has; `cont` is
 * last, so only a transport failure leaves it open whether the guest runs, and the rollback
 * reports it as left over. Run again, every step is harmless: QEMU answers `cont` of a running
 * guest with success. Not for an incoming migration: there QEMU accepts `cont` and keeps the
 * guest `inmigrate` until the migration completes (measured on 7.2 and 10.0).
 *
 * The plan's `set_password` carries the password, as QEMU must receive it; the runner's log
 * shows it redacted.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as O from 'fp-ts/lib/Option.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, formatError, planDevices, planStart, runPlan, startFacts, type Executor } from 'qemu-devplan'
 *
 * const executor: Executor = { send: () => TE.right({ _tag: 'Return', value: {} }), waitEvent: () => TE.right(O.none) }
 *
 * const plan = pipe(
 *   decodeInstance({ name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512 }),
 *   E.chain((instance) => planDevices(instance, { qemu: '7.2' })),
 *   // QEMU was started from renderArgv(tree, …), paused; start it with 384 MiB of its 512.
 *   E.chain((tree) => planStart(startFacts(tree), { startupMemory: 384 }))
 * )
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * console.log(plan.right.steps.map((s) => s.description)) // the balloon step, then cont
 * const outcome = await runPlan(plan.right, executor)()
 * if (E.isRight(outcome)) console.log(outcome.right._tag) // Done
 * ```
 *
 * @since 0.2.0
 * @category executor
 */
export const planStart = (facts: StartFacts, input: StartInput): E.Either<DevplanError, QmpPlan<undefined>> =>
  // Inputs of untyped callers are read as unknown; a hostile one must end in an error.
  guarded(() => {
    const factsGiven: unknown = facts
    if (!isStartFacts(factsGiven)) return E.left(invalidInput([{ path: 'facts', value: factsGiven, message: 'expected start facts { memory, passwords, balloon }, as startFacts(tree) or runtimeStartFacts(runtime) give them' }]))
    const given: unknown = input
    const record = isRecord(given) ? given : {}
    return pipe(
      sequenceS(Validation)({
        max: positiveMiB('facts.memory', facts.memory),
        start: isRecord(given) ? startupOf(facts, record['startupMemory']) : E.left([{ path: 'input', value: HIDDEN, message: 'expected { startupMemory, passwords? }' }]),
        passwords: checkPasswords(facts, record['passwords'])
      }),
      E.bimap(invalidInput, ({ max, start, passwords }): QmpPlan<undefined> => {
        const steps: ReadonlyArray<CommandStep> = [
          ...passwords.map(([p, pw]) => commandStep(`set the ${LABEL[p]} password`, setPassword(p, pw))),
          ...(start < max ? [commandStep(`balloon to ${start} of ${max} MiB`, balloon(start * MIB), { command: balloon(max * MIB), alreadyDone: [] })] : []),
          commandStep('resume the guest (cont)', cont())
        ]
        return { title: `start: ${steps.map((s) => s.description).join(', ')}`, steps, before: undefined, after: undefined, warnings: [] }
      })
    )
  })
