/**
 * The runtime file as JSON, and the one gate every value from a file passes: runtime files come
 * from disk (or from another node during a migration), so each value is checked to be plain JSON
 * and copied into fresh objects before anything reads it. Keys that can reach an object's
 * prototype (`__proto__`, `constructor`, `prototype`) are refused outright, nesting and sizes
 * are bounded, and nothing here throws: every problem is a {@link FieldError} naming its path.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { FieldError } from '../errors.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import type { CmdWord } from './types.js'

/**
 * One entry of `kvm_disks`: `[disk_dict, link_path, uri_or_null]`.
 *
 * @since 0.1.0
 * @category runtime
 */
export type RuntimeDiskJson = readonly [disk: JsonObject, link: string | null, uri: string | null]

/**
 * A runtime file: `[kvm_cmd, kvm_nics, hvparams, kvm_disks]`, plus the format stamp as a fifth
 * element in files this library wrote. Older readers (Ganeti) read the first four elements only.
 *
 * @since 0.1.0
 * @category runtime
 */
export type RuntimeJson = readonly [
  cmd: ReadonlyArray<CmdWord>,
  nics: ReadonlyArray<JsonObject>,
  hvparams: JsonObject,
  disks: ReadonlyArray<RuntimeDiskJson>,
  stamp?: JsonObject
]

/**
 * How deep a value inside a runtime file may nest. Ganeti's deepest values (`nicparams`,
 * `logical_id`) are two levels down; the bound keeps a hostile file from exhausting the stack.
 *
 * @since 0.1.0
 */
export const MAX_DEPTH = 32

/**
 * The longest array accepted anywhere inside a runtime file (disks and NICs have their own,
 * smaller bounds).
 *
 * @since 0.1.0
 */
export const MAX_ARRAY = 65536

/**
 * Keys refused at any depth: assigning them can replace an object's prototype.
 *
 * @since 0.1.0
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * `disks[0].hvinfo.addr`; keys that are not identifiers are quoted (`x["a b"]`).
 *
 * @since 0.1.0
 */
export const child = (path: string, key: string | number): string =>
  typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)
      ? path === ''
        ? key
        : `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`

const problem = (path: string, value: unknown, message: string): E.Either<FieldError, never> => E.left({ path, value, message })

/** Whether `u` is an object literal (or a null-prototype object), not an array, class or box. */
export const isPlainObject = (u: unknown): u is Readonly<Record<string, unknown>> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return false
  const proto: unknown = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * A problem {@link copy} found: the keys from the value where the copy began down to the bad
 * one, innermost first (each level pushes its own as the problem goes up). The path is spelled
 * only then: a valid file, the usual case, never builds a path string.
 */
interface Found {
  readonly keys: Array<string | number>
  readonly value: unknown
  readonly message: string
}

/**
 * Where a copy leaves the problem it found: one per {@link toJson}, instead of an Either per
 * value copied (a runtime file has some dozen objects and arrays, and every one took a Right).
 */
interface Box {
  found: Found | undefined
}

/** Records the problem; the copy's answer that goes with it is never read. */
const found = (box: Box, value: unknown, message: string, key?: string | number): null => {
  box.found = { keys: key === undefined ? [] : [key], value, message }
  return null
}

/**
 * A fresh array of `items` (empty without), for one that leaves the library: a copy, a
 * rewritten command, a runtime file's lists and tuples. Not an array literal: V8 gives a
 * literal an allocation site, and once a caller keeps what some thousand calls returned (a cache
 * of upgraded runtimes; the bench's floor does), it pretenures that site. Every later call's
 * arrays are then allocated old, and each keeps whatever young value it holds (the parsed file's
 * strings, the dicts) alive through the next scavenge, even when the caller drops the answer at
 * once: the bench's upgrade of a legacy file took 1.4 times as long. A rest parameter is the
 * same array without a site.
 *
 * @since 0.3.0
 */
export const youngArray = <T extends ReadonlyArray<unknown>>(...items: T): T => items

/** {@link FORBIDDEN_KEYS}, compared directly: a copy asks it of every key of a file. */
const forbidden = (key: string): boolean => key === '__proto__' || key === 'constructor' || key === 'prototype'

/** The copy of `u`, or (with `box.found` set) `null`: see {@link toJson}. */
const copy = (u: unknown, depth: number, box: Box): Json => {
  switch (typeof u) {
    case 'string':
    case 'boolean':
      return u
    case 'number':
      return Number.isFinite(u) ? u : found(box, u, 'expected a finite number')
    case 'object': {
      if (u === null) return null
      if (depth >= MAX_DEPTH) return found(box, '…', `nested deeper than ${MAX_DEPTH} levels`)
      if (Array.isArray(u)) {
        if (u.length > MAX_ARRAY) return found(box, `(${u.length} entries)`, `at most ${MAX_ARRAY} entries`)
        const out: Json[] = youngArray()
        for (let i = 0; i < u.length; i++) {
          // A sparse array has holes JSON cannot hold.
          if (!Object.prototype.hasOwnProperty.call(u, i)) return found(box, undefined, 'expected a JSON value (the array has a hole)', i)
          const v: unknown = u[i]
          // Strings, booleans and null are copied as they are, without a call each.
          if (typeof v === 'string' || typeof v === 'boolean' || v === null) {
            out.push(v)
            continue
          }
          const r = copy(v, depth + 1, box)
          if (box.found !== undefined) {
            box.found.keys.push(i)
            return null
          }
          out.push(r)
        }
        return out
      }
      if (!isPlainObject(u)) return found(box, u, 'expected a JSON value (an object literal, not a class instance)')
      // Own data properties, assigned: no key reaching a setter (__proto__'s) gets this far.
      const out: { [key: string]: Json } = {}
      for (const key of Object.keys(u)) {
        if (forbidden(key)) return found(box, u[key], `the key ${JSON.stringify(key)} is not allowed (it could reach an object prototype)`, key)
        const v = u[key]
        if (typeof v === 'string' || typeof v === 'boolean' || v === null) {
          out[key] = v
          continue
        }
        const r = copy(v, depth + 1, box)
        if (box.found !== undefined) {
          box.found.keys.push(key)
          return null
        }
        out[key] = r
      }
      if (Object.getOwnPropertySymbols(u).length > 0) return found(box, u, 'expected a JSON value (symbol keys)')
      return out
    }
    default:
      return found(box, u, `expected a JSON value, got ${typeof u}`)
  }
}

/**
 * Checks that `u` is plain JSON and returns a fresh copy of it. Total: whatever `u` is (proxies
 * and throwing getters included), the answer is a value or a {@link FieldError}.
 *
 * @since 0.1.0
 */
export const toJson = (u: unknown, path: string): E.Either<FieldError, Json> => {
  try {
    const box: Box = { found: undefined }
    const r = copy(u, 0, box)
    const f = box.found
    return f === undefined ? E.right(r) : problem(f.keys.reduceRight<string>((p, k) => child(p, k), path), f.value, f.message)
  } catch (e) {
    return problem(path, undefined, `cannot be read as JSON (${e instanceof Error ? e.message : 'unknown error'})`)
  }
}

/**
 * Like {@link toJson} for a value that must be an object.
 *
 * @since 0.1.0
 */
export const toJsonObject = (u: unknown, path: string, what = 'an object'): E.Either<FieldError, JsonObject> => {
  if (!isPlainObject(u)) return problem(path, u, `expected ${what}`)
  const r = toJson(u, path)
  return E.isLeft(r) ? r : E.right(r.right as JsonObject)
}

/**
 * Whether a JSON value is an object (not an array, not null).
 *
 * @since 0.1.0
 */
export const isJsonObject = (j: Json | undefined): j is JsonObject => typeof j === 'object' && j !== null && !Array.isArray(j)

/**
 * The object without `keys`, the remaining keys in their order.
 *
 * @since 0.1.0
 */
export const omit = (o: JsonObject, keys: ReadonlySet<string>): { [key: string]: Json } => {
  const out: { [key: string]: Json } = {}
  for (const k of Object.keys(o)) {
    const v = o[k]
    // A JSON object holds no undefined; JSON would drop the key all the same.
    if (v === undefined || keys.has(k)) continue
    // An own __proto__ key stays a key, as fromEntries would keep it, never a prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    else out[k] = v
  }
  return out
}

/** QAPI member names: in key=value syntax a key cannot be escaped, so nothing else may pass. */
const MEMBER = /^[A-Za-z][A-Za-z0-9_-]*$/

/**
 * The path of the first key, at any depth, that is not a QAPI member name.
 *
 * @since 0.3.0
 */
export const foreignKey = (v: Json, at: string): string | undefined => {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const k = foreignKey(v[i] as Json, child(at, i))
      if (k !== undefined) return k
    }
    return undefined
  }
  if (!isJsonObject(v)) return undefined
  for (const [key, value] of Object.entries(v)) {
    if (!MEMBER.test(key)) return child(at, key)
    const k = foreignKey(value, child(at, key))
    if (k !== undefined) return k
  }
  return undefined
}
