/**
 * QOM objects of the scripted QEMU: `object-add`/`object-del` (a throttle group named by a node
 * cannot go), and `qom-set`/`qom-get` of a throttle group's `limits` under `/objects/<id>`: QEMU
 * merges a partial `limits` into the current ones and refuses what `throttle_is_valid` refuses,
 * in its order. Texts measured on QEMU 7.2 and 10.0 (they agree) unless a comment says otherwise.
 */
import { THROTTLE_KEYS, THROTTLE_VALUE_MAX } from '../block/throttle.js'
import type { QmpReply } from '../qmp/executor.js'
import { generic, isReply, need, notFound, ok, type Handler } from './context.js'

type Limits = { readonly [key: string]: number }
const KEYS: ReadonlyArray<string> = THROTTLE_KEYS

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** Every member, as `qom-get` shows a group: the given ones over QEMU's defaults (lengths 1, the rest 0). */
export const fullLimits = (given: Readonly<Record<string, unknown>>, base?: Limits): Limits =>
  Object.fromEntries(
    THROTTLE_KEYS.map((k) => {
      const v = given[k]
      return [k, typeof v === 'number' ? v : base?.[k] ?? (k.endsWith('-max-length') ? 1 : 0)]
    })
  )

const BUCKETS = ['bps-total', 'bps-read', 'bps-write', 'iops-total', 'iops-read', 'iops-write'] as const

/** QEMU's `throttle_is_valid`, check by check. */
const invalid = (l: Limits): string | undefined => {
  const v = (k: string): number => l[k] ?? 0
  const mixed = (kind: 'bps' | 'iops', suffix: string): boolean => v(`${kind}-total${suffix}`) !== 0 && (v(`${kind}-read${suffix}`) !== 0 || v(`${kind}-write${suffix}`) !== 0)
  if (mixed('bps', '') || mixed('iops', '') || mixed('bps', '-max') || mixed('iops', '-max')) return 'bps/iops/max total values and read/write values cannot be used at the same time'
  if (v('iops-size') !== 0 && v('iops-total') === 0 && v('iops-read') === 0 && v('iops-write') === 0) return 'iops size requires an iops value to be set'
  for (const b of BUCKETS) {
    const [avg, max, length] = [v(b), v(`${b}-max`), v(`${b}-max-length`)]
    if (avg < 0 || max < 0 || avg > THROTTLE_VALUE_MAX || max > THROTTLE_VALUE_MAX) return `bps/iops/max values must be within [0, ${THROTTLE_VALUE_MAX}]`
    if (length === 0) return 'the burst length cannot be 0'
    if (length > 1 && max === 0) return 'burst length set without burst rate'
    if (max !== 0 && length > THROTTLE_VALUE_MAX / max) return 'burst length too high for this burst rate' // not measured
    if (max !== 0 && avg === 0) return 'bps_max/iops_max require corresponding bps/iops values'
    if (max !== 0 && max < avg) return 'bps_max/iops_max cannot be lower than bps/iops'
  }
  return undefined
}

/** `given` merged into `base`, or QEMU's refusal. */
const merged = (given: unknown, base?: Limits): Limits | QmpReply => {
  if (!isRecord(given)) return generic("Invalid parameter type for 'limits', expected: object") // not measured
  const unknown = Object.keys(given).find((k) => !KEYS.includes(k))
  if (unknown !== undefined) return generic(`Parameter 'limits.${unknown}' is unexpected`)
  const l = fullLimits(given, base)
  const bad = invalid(l)
  return bad === undefined ? l : generic(bad)
}

const isLimits = (u: Limits | QmpReply): u is Limits => !('_tag' in u)

const objectAdd: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  const qomType = need(a, 'qom-type')
  if (isReply(qomType)) return qomType
  const limits = qomType === 'throttle-group' ? merged(a['limits'] ?? {}) : undefined
  if (limits !== undefined && !isLimits(limits)) return limits
  if (d.objects.some((o) => o.id === id)) return generic(`attempt to add duplicate property '${id}' to object (type 'container')`)
  d.objects.push({ id, qomType, ...(limits === undefined ? {} : { limits }) })
  return ok()
}

const objectDel: Handler = (d, a) => {
  const id = need(a, 'id')
  if (isReply(id)) return id
  if (!d.objects.some((o) => o.id === id)) return generic(`object '${id}' not found`)
  if (d.nodes.some((n) => n.group === id)) return generic(`object '${id}' is in use, can not be deleted`)
  d.objects = d.objects.filter((o) => o.id !== id)
  return ok()
}

/** The legacy names a throttle group also answers to (`x-iops-total`…). */
const member = (property: string): string | undefined => {
  const k = property.replace(/^x-/, '')
  return property.startsWith('x-') && KEYS.includes(k) ? k : undefined
}

/** `qom-get`/`qom-set` under `/objects/`; `undefined` for any other path (a device's, handled elsewhere). */
export const objectProperty = (set: boolean): ((...p: Parameters<Handler>) => QmpReply | undefined) => (d, a) => {
  const path = a['path']
  if (typeof path !== 'string' || !path.startsWith('/objects/')) return undefined
  const property = need(a, 'property')
  if (isReply(property)) return property
  const i = d.objects.findIndex((o) => `/objects/${o.id}` === path)
  const obj = d.objects[i]
  if (obj === undefined) return notFound(`Device '${path}' not found`)
  const limits = obj.limits
  const key = member(property)
  if (limits === undefined || (property !== 'limits' && key === undefined)) return generic(`Property '${obj.qomType}.${property}' not found`)
  // A copy: the draft is revoked once the command is done.
  if (!set) return ok(key === undefined ? { ...limits } : limits[key])
  const next = merged(key === undefined ? a['value'] : { [key]: a['value'] }, limits)
  if (!isLimits(next)) return next
  obj.limits = next
  return ok()
}

export const OBJECTS: Readonly<Record<string, Handler>> = {
  'object-add': objectAdd,
  'object-del': objectDel
}
