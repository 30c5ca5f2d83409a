/**
 * A validator for QMP commands against QAPI introspection: the `SchemaInfo` list a running QEMU
 * returns from `query-qmp-schema` (qapi/introspect.json). It checks what QEMU's QObject input
 * visitor checks when it unmarshals a command's arguments — unknown command, missing required
 * members, unknown members, JSON types, enum values, flat unions (by their tag), alternates (by
 * the JSON type of the value), arrays — and reports every problem with a JSON path, e.g.
 * `arguments.cache.direct: expected boolean, got "on"`.
 *
 * Two things introspection cannot tell, handled here explicitly:
 * - Integer widths: every integer type is introspected as `int`, so a range is not checked.
 * - Commands declared with `'gen': false` (in QEMU 7.2 only `device_add`, qapi/qdev.json) are
 *   introspected with their fixed members (`driver`, `bus`, `id`) but take any further member:
 *   QEMU hands the whole dict to qdev, which sets the rest as device properties. Those extra
 *   members are returned by {@link extraArguments} and checked against the driver's
 *   `device-list-properties` by {@link validateDeviceProperties}.
 *
 * Members, enum values and commands QEMU marks `deprecated` or `unstable` are errors unless
 * allowed: `-compat deprecated-input=reject` would refuse them, and a library should not lean on
 * them.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

// ---------------------------------------------------------------------------------------------
// SchemaInfo, as qapi/introspect.json defines it.

const Features = t.partial({ features: t.readonlyArray(t.string) })

const MemberInfo = t.intersection([
  t.type({ name: t.string, type: t.string }),
  // `default` is present (always null) exactly when the member is optional.
  t.partial({ default: t.null }),
  Features
])

const CommandInfo = t.intersection([
  t.type({ name: t.string, 'meta-type': t.literal('command'), 'arg-type': t.string, 'ret-type': t.string }),
  t.partial({ 'allow-oob': t.boolean }),
  Features
])

const ObjectInfo = t.intersection([
  t.type({ name: t.string, 'meta-type': t.literal('object'), members: t.readonlyArray(MemberInfo) }),
  t.partial({ tag: t.string, variants: t.readonlyArray(t.type({ case: t.string, type: t.string })) }),
  Features
])

const EnumInfo = t.intersection([
  t.type({ name: t.string, 'meta-type': t.literal('enum'), values: t.readonlyArray(t.string) }),
  // `members` (QEMU ≥ 6.2) carries per-value features; `values` is the older, plain list.
  t.partial({ members: t.readonlyArray(t.intersection([t.type({ name: t.string }), Features])) }),
  Features
])

const AlternateInfo = t.intersection([
  t.type({ name: t.string, 'meta-type': t.literal('alternate'), members: t.readonlyArray(t.type({ type: t.string })) }),
  Features
])

const ArrayInfo = t.intersection([t.type({ name: t.string, 'meta-type': t.literal('array'), 'element-type': t.string }), Features])

const JsonType = t.keyof({ string: null, number: null, int: null, boolean: null, null: null, object: null, array: null, value: null })

const BuiltinInfo = t.intersection([t.type({ name: t.string, 'meta-type': t.literal('builtin'), 'json-type': JsonType }), Features])

const EventInfo = t.intersection([t.type({ name: t.string, 'meta-type': t.literal('event'), 'arg-type': t.string }), Features])

const SchemaInfo = t.union([CommandInfo, ObjectInfo, EnumInfo, AlternateInfo, ArrayInfo, BuiltinInfo, EventInfo])

type SchemaInfo = t.TypeOf<typeof SchemaInfo>
type CommandInfo = t.TypeOf<typeof CommandInfo>
type ObjectInfo = t.TypeOf<typeof ObjectInfo>
type JsonType = t.TypeOf<typeof JsonType>

/**
 * A decoded `query-qmp-schema` reply: commands by name, types by their (often numeric) name.
 */
export interface QapiSchema {
  readonly commands: ReadonlyMap<string, CommandInfo>
  readonly types: ReadonlyMap<string, SchemaInfo>
}

/**
 * Decodes a `query-qmp-schema` reply. `Left` lists the entries that do not fit SchemaInfo (a
 * QEMU newer than this validator, which should then be taught the new shape).
 */
export const decodeSchema = (reply: unknown): E.Either<ReadonlyArray<string>, QapiSchema> => {
  if (!Array.isArray(reply)) return E.left([`query-qmp-schema: expected an array, got ${show(reply)}`])
  const problems: string[] = []
  const commands = new Map<string, CommandInfo>()
  const types = new Map<string, SchemaInfo>()
  reply.forEach((entry: unknown, i) => {
    const r = SchemaInfo.decode(entry)
    if (E.isLeft(r)) {
      problems.push(`query-qmp-schema[${i}]: not a SchemaInfo: ${show(entry)}`)
      return
    }
    const info = r.right
    if (info['meta-type'] === 'command') commands.set(info.name, info)
    else if (info['meta-type'] !== 'event') types.set(info.name, info)
  })
  // Every type a command, member, variant or element names must be defined.
  const missing = (name: string, from: string): void => {
    if (!types.has(name)) problems.push(`${from} refers to the undefined type ${JSON.stringify(name)}`)
  }
  for (const c of commands.values()) missing(c['arg-type'], `command ${c.name}`)
  for (const info of types.values()) {
    switch (info['meta-type']) {
      case 'object':
        info.members.forEach((m) => missing(m.type, `type ${info.name} member ${m.name}`))
        info.variants?.forEach((v) => missing(v.type, `type ${info.name} variant ${v.case}`))
        break
      case 'alternate':
        info.members.forEach((m) => missing(m.type, `alternate ${info.name}`))
        break
      case 'array':
        missing(info['element-type'], `array ${info.name}`)
        break
      default:
        break
    }
  }
  return problems.length > 0 ? E.left(problems) : E.right({ commands, types })
}

// ---------------------------------------------------------------------------------------------
// Validation.

/**
 * One problem with a command: where (a JSON path starting at `execute` or `arguments`) and what.
 */
export interface ValidationError {
  readonly path: string
  readonly message: string
}

/**
 * `arguments.cache.direct: expected boolean, got "on"`.
 */
export const showError = (e: ValidationError): string => `${e.path}: ${e.message}`

/**
 * Commands QEMU declares with `'gen': false`: introspection lists their fixed members only, and
 * QEMU accepts any further member (in 7.2, `device_add`: the device properties).
 */
export const OPEN_COMMANDS: ReadonlySet<string> = new Set(['device_add'])

/**
 * @property openCommands Commands whose arguments may carry members their arg-type does not list.
 * @property allowDeprecated Accept commands, members and enum values marked `deprecated`.
 * @property allowUnstable Accept those marked `unstable` (`x-` names).
 */
export interface ValidateOptions {
  readonly openCommands?: ReadonlySet<string>
  readonly allowDeprecated?: boolean
  readonly allowUnstable?: boolean
}

/**
 * A command as sent on the wire.
 */
export interface WireCommand {
  readonly execute: string
  readonly arguments?: unknown
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

const show = (u: unknown): string => {
  const s = u === undefined ? 'undefined' : JSON.stringify(u)
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** The JSON kind of a value, in introspection's `json-type` words. */
type Kind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array'

const kindOf = (u: unknown): Kind | undefined =>
  typeof u === 'string'
    ? 'string'
    : typeof u === 'number' && Number.isFinite(u)
      ? 'number'
      : typeof u === 'boolean'
        ? 'boolean'
        : u === null
          ? 'null'
          : Array.isArray(u)
            ? 'array'
            : isObject(u)
              ? 'object'
              : undefined

const BUILTIN_WORD: Readonly<Record<JsonType, string>> = {
  string: 'string',
  number: 'number',
  int: 'integer',
  boolean: 'boolean',
  null: 'null',
  object: 'object',
  array: 'array',
  value: 'any JSON value'
}

const fitsBuiltin = (jsonType: JsonType, u: unknown): boolean => {
  switch (jsonType) {
    case 'string':
      return typeof u === 'string'
    case 'int':
      return typeof u === 'number' && Number.isSafeInteger(u)
    case 'number':
      return typeof u === 'number' && Number.isFinite(u)
    case 'boolean':
      return typeof u === 'boolean'
    case 'null':
      return u === null
    case 'object':
      return isObject(u)
    case 'array':
      return Array.isArray(u)
    case 'value':
      return kindOf(u) !== undefined
  }
}

/** Which JSON kinds a type accepts at all (how QEMU picks an alternate's branch). */
const kindsOf = (schema: QapiSchema, name: string): ReadonlyArray<Kind> => {
  const info = schema.types.get(name)
  if (info === undefined) return []
  switch (info['meta-type']) {
    case 'builtin': {
      const j = info['json-type']
      return j === 'int' ? ['number'] : j === 'value' ? ['string', 'number', 'boolean', 'null', 'object', 'array'] : [j]
    }
    case 'enum':
      return ['string']
    case 'object':
      return ['object']
    case 'array':
      return ['array']
    case 'alternate':
      return info.members.flatMap((m) => kindsOf(schema, m.type))
    default:
      return []
  }
}

/** A type in words, for "expected …": numeric type names mean nothing to a reader. */
const describe = (schema: QapiSchema, name: string): string => {
  const info = schema.types.get(name)
  if (info === undefined) return `type ${name}`
  switch (info['meta-type']) {
    case 'builtin':
      return BUILTIN_WORD[info['json-type']]
    case 'enum':
      return `one of ${info.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'object':
      return 'object'
    case 'array':
      return `array of ${describe(schema, info['element-type'])}`
    case 'alternate':
      return info.members.map((m) => describe(schema, m.type)).join(' or ')
    default:
      return info['meta-type']
  }
}

interface Ctx {
  readonly schema: QapiSchema
  readonly allowDeprecated: boolean
  readonly allowUnstable: boolean
}

const featureErrors = (ctx: Ctx, features: ReadonlyArray<string> | undefined, path: string, what: string): ReadonlyArray<ValidationError> => [
  ...(!ctx.allowDeprecated && features?.includes('deprecated') === true ? [{ path, message: `${what} is deprecated in this QEMU` }] : []),
  ...(!ctx.allowUnstable && features?.includes('unstable') === true ? [{ path, message: `${what} is unstable in this QEMU` }] : [])
]

const join = (path: string, member: string): string => (path === '' ? member : `${path}.${member}`)

/**
 * The members of object type `name` (with the members of the variant its tag selects, and so on
 * down nested unions) checked in `value`; `known` collects every member name the type defines.
 */
const checkMembers = (ctx: Ctx, name: string, value: Readonly<Record<string, unknown>>, path: string, known: Set<string>): ReadonlyArray<ValidationError> => {
  const info = ctx.schema.types.get(name)
  if (info === undefined || info['meta-type'] !== 'object') return [{ path, message: `schema type ${name} is not an object type` }]
  const errors: ValidationError[] = []
  for (const m of info.members) {
    known.add(m.name)
    const at = join(path, m.name)
    if (Object.prototype.hasOwnProperty.call(value, m.name)) {
      errors.push(...featureErrors(ctx, m.features, at, `member ${JSON.stringify(m.name)}`))
      errors.push(...checkValue(ctx, m.type, value[m.name], at))
    } else if (!('default' in m)) {
      errors.push({ path: at, message: `missing required member (${describe(ctx.schema, m.type)})` })
    }
  }
  if (info.tag !== undefined) {
    const tagValue = value[info.tag]
    // A wrong or missing tag has been reported with the members above.
    const variant = typeof tagValue === 'string' ? info.variants?.find((v) => v.case === tagValue) : undefined
    if (variant !== undefined) errors.push(...checkMembers(ctx, variant.type, value, path, known))
  }
  return errors
}

const checkObject = (ctx: Ctx, name: string, value: unknown, path: string, open: boolean): ReadonlyArray<ValidationError> => {
  if (!isObject(value)) return [{ path, message: `expected object, got ${show(value)}` }]
  const known = new Set<string>()
  const errors = [...checkMembers(ctx, name, value, path, known)]
  if (!open) {
    for (const key of Object.keys(value)) {
      if (!known.has(key)) errors.push({ path: join(path, key), message: `unknown member (QEMU rejects it: "Parameter '${key}' is unexpected")` })
    }
  }
  return errors
}

const checkValue = (ctx: Ctx, name: string, value: unknown, path: string): ReadonlyArray<ValidationError> => {
  const info = ctx.schema.types.get(name)
  if (info === undefined) return [{ path, message: `schema type ${name} is not defined` }]
  switch (info['meta-type']) {
    case 'builtin':
      return fitsBuiltin(info['json-type'], value) ? [] : [{ path, message: `expected ${BUILTIN_WORD[info['json-type']]}, got ${show(value)}` }]
    case 'enum': {
      if (typeof value !== 'string' || !info.values.includes(value)) return [{ path, message: `expected ${describe(ctx.schema, name)}, got ${show(value)}` }]
      const member = info.members?.find((m) => m.name === value)
      return featureErrors(ctx, member?.features, path, `value ${JSON.stringify(value)}`)
    }
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((v: unknown, i) => checkValue(ctx, info['element-type'], v, `${path}[${i}]`))
        : [{ path, message: `expected ${describe(ctx.schema, name)}, got ${show(value)}` }]
    case 'object':
      return checkObject(ctx, name, value, path, false)
    case 'alternate': {
      // QEMU picks the branch by the value's JSON type; only int/number can both take a number.
      const kind = kindOf(value)
      const branches = info.members.filter((m) => kind !== undefined && kindsOf(ctx.schema, m.type).includes(kind))
      if (branches.length === 0) return [{ path, message: `expected ${describe(ctx.schema, name)}, got ${show(value)}` }]
      const results = branches.map((b) => checkValue(ctx, b.type, value, path))
      return results.find((r) => r.length === 0) ?? results[0] ?? []
    }
    default:
      return [{ path, message: `schema type ${name} is a ${info['meta-type']}, not a data type` }]
  }
}

/**
 * Every reason QEMU's QMP would refuse `command` (empty when it would unmarshal the arguments).
 * For an open command (`device_add`) the members its arg-type does not define are left to
 * {@link validateDeviceProperties}.
 */
export const validateCommand = (schema: QapiSchema, command: WireCommand, options: ValidateOptions = {}): ReadonlyArray<ValidationError> => {
  const ctx: Ctx = { schema, allowDeprecated: options.allowDeprecated ?? false, allowUnstable: options.allowUnstable ?? false }
  const info = schema.commands.get(command.execute)
  if (info === undefined) return [{ path: 'execute', message: `unknown command ${JSON.stringify(command.execute)} (not in query-qmp-schema)` }]
  const open = (options.openCommands ?? OPEN_COMMANDS).has(command.execute)
  return [
    ...featureErrors(ctx, info.features, 'execute', `command ${JSON.stringify(command.execute)}`),
    // QMP treats absent arguments as {}.
    ...checkObject(ctx, info['arg-type'], command.arguments ?? {}, 'arguments', open)
  ]
}

/**
 * The members of an open command's arguments that its arg-type does not define (for
 * `device_add`: the device properties beyond `driver`, `bus` and `id`).
 */
export const extraArguments = (schema: QapiSchema, command: WireCommand): Readonly<Record<string, unknown>> => {
  const info = schema.commands.get(command.execute)
  const args = command.arguments ?? {}
  if (info === undefined || !isObject(args)) return {}
  const known = new Set<string>()
  checkMembers({ schema, allowDeprecated: true, allowUnstable: true }, info['arg-type'], args, '', known)
  return Object.fromEntries(Object.entries(args).filter(([k]) => !known.has(k)))
}

// ---------------------------------------------------------------------------------------------
// Device properties (`device-list-properties`).

const DevicePropertyInfo = t.intersection([
  t.type({ name: t.string, type: t.string }),
  t.partial({ description: t.string, 'default-value': t.unknown })
])

/**
 * One entry of `device-list-properties` (qapi/qom.json ObjectPropertyInfo).
 */
export type DeviceProperty = t.TypeOf<typeof DevicePropertyInfo>

/**
 * Decodes a `device-list-properties` reply.
 */
export const decodeDeviceProperties = (reply: unknown): E.Either<string, ReadonlyArray<DeviceProperty>> => {
  const r = t.readonlyArray(DevicePropertyInfo).decode(reply)
  return E.isRight(r) ? E.right(r.right) : E.left(`device-list-properties: unexpected reply ${show(reply)}`)
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n]
}

/** QEMU's enum-typed qdev properties the library may set, with their values (qapi/*.json). */
const PROPERTY_ENUMS: Readonly<Record<string, ReadonlyArray<string>>> = {
  OnOffAuto: ['on', 'off', 'auto'],
  BlockdevOnError: ['report', 'ignore', 'enospc', 'stop', 'auto']
}

/** An integer as QEMU's keyval visitor reads a string (`qemu_strtoi64(…, 0)`: decimal or 0x). */
const parseInteger = (v: unknown): bigint | undefined => {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined
  if (typeof v !== 'string' || !/^-?(0x[0-9a-fA-F]+|0|[1-9][0-9]*)$/.test(v)) return undefined
  return v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v)
}

/** The PCI devfn property: its description names the slot syntax. 7.2 lists it as int32, 10.0 as str. */
const isPciDevfn = (p: DeviceProperty): boolean => p.name === 'addr' && (p.type === 'int32' || p.type === 'str') && (p.description ?? '').startsWith('Slot and optional function number')

/**
 * Whether QEMU takes `value` for property `p` from `device_add`. QEMU 7.2 turns the extra
 * members into QemuOpts strings (numbers printed, booleans as on/off) and parses them with the
 * property's own parser, so a number or a numeric string fits an integer property.
 */
const propertyValueError = (p: DeviceProperty, value: unknown): string | undefined => {
  const kind = kindOf(value)
  if (kind === 'object' || kind === 'array' || kind === 'null' || kind === undefined) return `expected a scalar for a qdev property, got ${show(value)}`
  if (isPciDevfn(p)) {
    // As a number QemuOpts would print it in decimal and QEMU read it back as hex slot digits.
    const m = typeof value === 'string' ? /^(?:0x)?([0-9a-fA-F]{1,2})(?:\.([0-7]))?$/.exec(value) : null
    return m?.[1] !== undefined && parseInt(m[1], 16) <= 0x1f ? undefined : `expected a PCI address string "<slot>[.<function>]" (slot 0..0x1f in hex), got ${show(value)}`
  }
  const range = INT_RANGES[p.type]
  if (range !== undefined) {
    const n = parseInteger(value)
    if (n === undefined) return `expected ${p.type} (a number or a numeric string), got ${show(value)}`
    return n < range[0] || n > range[1] ? `${show(value)} is out of range for ${p.type}` : undefined
  }
  const choices = PROPERTY_ENUMS[p.type]
  if (choices !== undefined) return typeof value === 'string' && choices.includes(value) ? undefined : `expected ${p.type} (${choices.map((c) => JSON.stringify(c)).join(', ')}), got ${show(value)}`
  switch (p.type) {
    case 'bool':
      return typeof value === 'boolean' || value === 'on' || value === 'off' ? undefined : `expected bool (true/false or "on"/"off"), got ${show(value)}`
    case 'str':
      return typeof value === 'string' ? undefined : `expected str, got ${show(value)}`
    case 'size':
      return (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\d+(\.\d+)?[kKMGTPE]?$/.test(value))
        ? undefined
        : `expected size (bytes, or a string such as "4k"), got ${show(value)}`
    default:
      if (/^link<.+>$/.test(p.type)) return typeof value === 'string' ? undefined : `expected the QOM path or id of a ${p.type.slice(5, -1)}, got ${show(value)}`
      if (/^child<.+>$/.test(p.type)) return `${p.type} is created by the device and cannot be set`
      return `no rule to check a property of type ${p.type} (teach spec/support/qapi-schema.ts)`
  }
}

/**
 * Checks device properties (the extra `device_add` members) against the driver's
 * `device-list-properties`: each must exist on that driver and have a value of its type.
 */
export const validateDeviceProperties = (
  driver: string,
  properties: ReadonlyArray<DeviceProperty>,
  values: Readonly<Record<string, unknown>>,
  path = 'arguments'
): ReadonlyArray<ValidationError> => {
  const byName = new Map(properties.map((p) => [p.name, p]))
  return Object.entries(values).flatMap(([name, value]): ReadonlyArray<ValidationError> => {
    const p = byName.get(name)
    if (p === undefined) return [{ path: join(path, name), message: `driver ${driver} has no property ${JSON.stringify(name)}` }]
    const why = propertyValueError(p, value)
    return why === undefined ? [] : [{ path: join(path, name), message: why }]
  })
}
