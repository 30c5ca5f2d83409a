/**
 * The target: which QEMU the plan is for (version decides syntax and features) and, unless the
 * instance's `machine_version` says otherwise, which machine type.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { closed, guarded, matching, withDefault } from './codecs.js'
import { fromValidationErrors, invalidInput, showValue, type DevplanError } from './errors.js'
import { isRecord, totalE } from './total.js'
import { ipFamily, isInterfaceName } from './ip.js'
import { NO_HOST, type HostFacts } from './machine/plan.js'
import { QemuVersionFromString, showVersion, type QemuVersion } from './qemu-version.js'

/**
 * A checked target: the QEMU version to render for and, optionally, the machine type. The
 * version is an input, never probed, so the same plan comes out on every host.
 *
 * @since 0.1.0
 * @category decode
 */
export interface Target {
  readonly qemu: QemuVersion
  /** Machine type used when hvparams.machine_version is empty; `pc` when absent. */
  readonly machine?: string
  /** What the host says the plan needs: the chroot directory, the pool user, SPICE's certificates and interfaces. */
  readonly host?: HostFacts
}

const predicate = (what: string, ok: (s: string) => boolean): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(what, (u): u is string => typeof u === 'string' && ok(u), (u, c) => (typeof u === 'string' && ok(u) ? t.success(u) : t.failure(u, c, `expected ${what}`)), t.identity)

const InterfaceName = predicate('a network interface name such as "eth0" or "br-lan"', isInterfaceName)
const IpAddress = predicate('an IPv4 or IPv6 address', (s) => ipFamily(s) !== undefined)

/** name → address; a bad name is reported under its own path, with the name as the value. */
const Interfaces = new t.Type<Readonly<Record<string, string>>, Readonly<Record<string, string>>, unknown>(
  'Interfaces',
  (u): u is Readonly<Record<string, string>> => t.record(InterfaceName, IpAddress).is(u),
  (u, c) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, 'expected an object of interface name → address')
    const entries = Object.entries(u)
    const errors = entries.flatMap(([k, v]): t.Errors =>
      !isInterfaceName(k)
        ? [{ value: k, context: [...c, { key: k, type: InterfaceName, actual: k }], message: `${showValue(k)} is not a network interface name` }]
        : typeof v === 'string' && ipFamily(v) !== undefined
          ? []
          : [{ value: v, context: [...c, { key: k, type: IpAddress, actual: v }], message: `expected ${IpAddress.name}` }]
    )
    // fromEntries defines own properties: a "__proto__" name stays a name.
    return errors.length > 0 ? t.failures(errors) : t.success(Object.fromEntries(entries.flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as const] : []))))
  },
  t.identity
)

const HostInput = closed(
  {
    chrootDir: withDefault(matching('"" or an absolute directory', /^(|\/[^\0,]*)$/), ''),
    poolUser: withDefault(matching('"" or a user name or uid:gid', /^(|[A-Za-z_][A-Za-z0-9_.-]{0,31}|\d{1,10}:\d{1,10})$/), ''),
    spiceCertDir: withDefault(matching('"" or an absolute directory', /^(|\/[^\0]*)$/), ''),
    interfaces: withDefault(Interfaces, {}),
    secretMasterKey: withDefault(matching('"" or an absolute path', /^(|\/[^\0]*)$/), '')
  },
  'HostFacts'
)

const TargetInput = closed(
  {
    qemu: QemuVersionFromString,
    machine: withDefault(matching('a machine type such as "pc" or "pc-i440fx-7.2"', /^[a-z0-9][a-z0-9._-]*$/), 'pc'),
    host: withDefault(HostInput, NO_HOST)
  },
  'Target'
)

/**
 * Decodes `{"qemu": "7.2", "machine": "pc"}`.
 *
 * @since 0.1.0
 * @category decode
 */
export const decodeTarget = (input: unknown): E.Either<DevplanError, Target> =>
  guarded(() => pipe(TargetInput.decode(input), E.mapLeft((errs) => invalidInput(fromValidationErrors(errs)))))

/**
 * A target as callers write it: the version as a structure or as a string such as `"7.2"`.
 *
 * @since 0.1.0
 * @category decode
 */
export type TargetInput =
  | Target
  | {
      readonly qemu: string
      readonly machine?: string
      readonly host?: { readonly chrootDir?: string; readonly poolUser?: string; readonly spiceCertDir?: string; readonly interfaces?: Readonly<Record<string, string>>; readonly secretMasterKey?: string }
    }

const underTarget = (e: DevplanError): DevplanError =>
  e._tag === 'InvalidInput' ? invalidInput(e.errors.map((f) => ({ ...f, path: `target.${f.path}` }))) : e

const isVersion = (v: unknown): v is QemuVersion =>
  typeof v === 'object' &&
  v !== null &&
  ['major', 'minor', 'micro'].every((k) => {
    const n = (v as Record<string, unknown>)[k]
    return typeof n === 'number' && Number.isInteger(n) && n >= 0
  })

/**
 * Checks a target given in code: a version string is parsed, a version structure must hold
 * three non-negative integers, the machine must be a machine type.
 *
 * @since 0.1.0
 * @category decode
 */
export const toTarget = (input: TargetInput): E.Either<DevplanError, Target> =>
  isRecord(input)
    ? totalE('target', () => checkTarget(input))
    : E.left(invalidInput([{ path: 'target', value: input, message: 'expected a target such as {"qemu": "7.2"}' }]))

const checkTarget = (input: TargetInput): E.Either<DevplanError, Target> =>
  typeof input.qemu === 'string'
    ? pipe(decodeTarget(input), E.mapLeft(underTarget))
    : isVersion(input.qemu)
      ? input.machine === undefined && input.host === undefined
        ? E.right({ qemu: input.qemu })
        : pipe(
            decodeTarget({ qemu: showVersion(input.qemu), ...(input.machine === undefined ? {} : { machine: input.machine }), ...(input.host === undefined ? {} : { host: input.host }) }),
            E.bimap(underTarget, (t) => ({ ...t, qemu: input.qemu as QemuVersion }))
          )
      : E.left(invalidInput([{ path: 'target.qemu', value: input.qemu, message: 'expected a QEMU version such as "7.2" or {"major": 7, "minor": 2, "micro": 0}' }]))

/**
 * The machine families the planner knows: pc (i440fx) and q35 (PCIe, devices behind root ports).
 *
 * @since 0.1.0
 * @category decode
 */
export type MachineFamily = 'pc' | 'q35'

/**
 * The family of a machine type (`pc-i440fx-7.2` is `pc`), which decides the bus layout;
 * `undefined` for a machine the planner does not know, which `planDevices` refuses.
 *
 * @since 0.1.0
 */
export const machineFamily = (machine: string): MachineFamily | undefined =>
  /^(pc|pc-i440fx-[0-9.]+|pc-[0-9.]+)$/.test(machine) ? 'pc' : /^(q35|pc-q35-[0-9.]+)$/.test(machine) ? 'q35' : undefined
