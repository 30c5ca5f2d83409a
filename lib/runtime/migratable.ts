/**
 * Whether a runtime can migrate to a QEMU of a given version: the target must have the same
 * machine type and read every word of the command line rebuilt from the runtime. Checked before
 * anything is sent, because QEMU finds out only once the target is started (it exits with one
 * line on stderr) or, worse, mid-stream (a machine alias that means another machine there).
 *
 * @since 0.3.0
 * @category runtime
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { DevplanError } from '../errors.js'
import { lifecycle, type ChangeName } from '../qemu-changes.js'
import { atLeast, features, parseVersion, showVersion, type QemuVersion } from '../qemu-version.js'
import { runtimeHvparams, runtimeMachine } from './bus.js'
import { runtimeArgv, type RebuildOptions } from './rebuild.js'
import type { Runtime } from './types.js'

/**
 * The two QEMUs of a migration. `source` defaults to the version in the runtime's stamp; a
 * runtime Ganeti wrote has none, and then it must be given.
 *
 * @since 0.3.0
 * @category runtime
 */
export interface MigrationVersions {
  readonly target: QemuVersion
  readonly source?: QemuVersion
}

/**
 * `pc-i440fx-X.Y`, `pc-q35-X.Y`, `pc-X.Y` (and a micro part such as `pc-q35-4.0.1`): the release
 * a versioned machine type belongs to.
 */
const machineRelease = (machine: string): { readonly family: string; readonly major: number; readonly minor: number } | undefined => {
  const m = /^(pc-i440fx|pc-q35|pc)-(\d+)\.(\d+)(?:\.\d+)?$/.exec(machine)
  return m === null ? undefined : { family: m[1] ?? '', major: Number(m[2]), minor: Number(m[3]) }
}

const ALIASES: Readonly<Record<string, string>> = { pc: 'pc-i440fx', q35: 'pc-q35' }

/**
 * Since QEMU 9.1 versioned machine types are deleted after six years: QEMU 10.0 lists
 * pc-i440fx and pc-q35 from 2.4 on (measured; 7.2 still had pc-i440fx-1.4). Newer releases are
 * not modelled and are answered as 10.0.
 */
const oldestMachine = (v: QemuVersion): { readonly major: number; readonly minor: number } | undefined => (atLeast(9, 1)(v) ? { major: 2, minor: 4 } : undefined)

const sameRelease = (a: QemuVersion, b: QemuVersion): boolean => a.major === b.major && a.minor === b.minor

const machineProblems = (machine: string, source: QemuVersion | undefined, target: QemuVersion): ReadonlyArray<string> => {
  const rel = machineRelease(machine)
  const t = showVersion(target)
  if (rel !== undefined) {
    const oldest = oldestMachine(target)
    if (!atLeast(rel.major, rel.minor)(target)) return [`machine ${machine} is newer than the target's QEMU ${t}, which does not have it`]
    if (oldest !== undefined && (rel.major < oldest.major || (rel.major === oldest.major && rel.minor < oldest.minor)) && rel.family !== 'pc-q35') {
      return [`machine ${machine} is older than the oldest the target's QEMU ${t} keeps (${rel.family}-${oldest.major}.${oldest.minor})`]
    }
    return []
  }
  const family = ALIASES[machine]
  if (family === undefined) return []
  if (source === undefined) return [`machine ${machine} is an alias of the newest ${family} of each QEMU, and the source's QEMU version is not known (the runtime has no stamp: give source, the version of the source's QEMU)`]
  return sameRelease(source, target)
    ? []
    : [`machine ${machine} means ${family}-${source.major}.${source.minor} on the source's QEMU ${showVersion(source)} but ${family}-${target.major}.${target.minor} on the target's QEMU ${t}: set hvparams.machine_version to ${family}-${source.major}.${source.minor} (a restart) before migrating between versions`]
}

/** Options of the command line each QEMU release removed (lib/qemu-changes.ts). */
const REMOVED_OPTIONS: ReadonlyArray<readonly [string, ChangeName]> = [
  ['-runas', 'runas'],
  ['-chroot', 'chroot'],
  ['-no-acpi', 'noAcpi']
]

/** `-run-with`'s keys and the release that added each. */
const RUN_WITH_SINCE: ReadonlyArray<readonly [string, number, number]> = [
  ['chroot', 8, 1],
  ['user', 9, 1]
]

const argvProblems = (argv: ReadonlyArray<string>, target: QemuVersion): ReadonlyArray<string> => {
  const t = showVersion(target)
  const f = features(target)
  const out: string[] = []
  for (const [opt, change] of REMOVED_OPTIONS) if (argv.includes(opt) && lifecycle(change, target) === 'removed') out.push(`${opt} is gone from the target's QEMU ${t}`)
  argv.forEach((w, i) => {
    const v = argv[i + 1] ?? ''
    if (w === '-run-with') {
      for (const [key, major, minor] of RUN_WITH_SINCE) if (new RegExp(`(^|,)${key}=`).test(v) && !atLeast(major, minor)(target)) out.push(`-run-with ${key}= needs QEMU ${major}.${minor}; the target runs ${t}`)
    }
    if (w === '-device' && v.startsWith('{') && !f.jsonDevice) out.push(`-device is given as JSON, which the target's QEMU ${t} cannot read (6.2 and later)`)
    if (w === '-netdev' && v.startsWith('{') && !f.jsonNetdev) out.push(`-netdev is given as JSON, which the target's QEMU ${t} cannot read (7.1 and later)`)
    if (w === '-blockdev' && /io_uring/.test(v) && !f.ioUring) out.push(`a -blockdev uses aio io_uring, which the target's QEMU ${t} does not have (5.0 and later)`)
  })
  // One line per kind is enough to act on.
  return [...new Set(out)]
}

/**
 * The source's QEMU: `versions.source`, else the runtime's stamp.
 *
 * @since 0.3.0
 * @category runtime
 */
export const sourceVersion = (rt: Runtime, versions: MigrationVersions): QemuVersion | undefined =>
  versions.source ?? (rt.stamp === undefined ? undefined : parseVersion(rt.stamp.qemu))

/**
 * The command line the target runs, and `Left` `NotMigratable` with every reason the target's
 * QEMU cannot run it as the same machine. A runtime without stamp is rendered for the target's
 * version (as a restart there would be); a stamped one as recorded.
 *
 * @since 0.3.0
 * @category runtime
 */
export const migratableArgv = (rt: Runtime, versions: MigrationVersions, rebuild: RebuildOptions): E.Either<DevplanError, ReadonlyArray<string>> =>
  pipe(
    runtimeHvparams(rt),
    E.chain((h) =>
      E.chain((argv: ReadonlyArray<string>) => {
        const reasons = [...machineProblems(runtimeMachine(rt, h), sourceVersion(rt, versions), versions.target), ...argvProblems(argv, versions.target)]
        return reasons.length === 0 ? E.right(argv) : E.left<DevplanError>({ _tag: 'NotMigratable', target: showVersion(versions.target), reasons })
      })(runtimeArgv(rt, rt.stamp === undefined ? { ...rebuild, qemu: versions.target } : rebuild))
    )
  )
