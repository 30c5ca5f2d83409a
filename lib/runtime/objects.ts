/**
 * Recorded objects of a disk (key `objects` of its dict): checked per type, since they are
 * rendered into `-object` and `object-add` as they are.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { ObjectOptions } from '../block/object.js'
import { THROTTLE_KEYS, THROTTLE_VALUE_MAX } from '../block/throttle.js'
import type { FieldError } from '../errors.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import { child, foreignKey, isJsonObject } from './json.js'

const MAX_OBJECTS = 16
/** QOM ids: QEMU's `id_wellformed`, without the 31-character limit of node-names. */
const OBJECT_ID = /^[A-Za-z][A-Za-z0-9._-]{0,127}$/
const THROTTLE_KEY_SET: ReadonlySet<string> = new Set(THROTTLE_KEYS)

const err = (path: string, value: unknown, message: string): ReadonlyArray<FieldError> => [{ path, value, message }]

const isLimit = (v: Json | undefined): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= THROTTLE_VALUE_MAX

/** Why `o` is not an object of its type, as the member at fault and the message. */
const fault = (o: JsonObject): readonly [string, string] | undefined => {
  const str = (k: string): boolean => typeof o[k] === 'string'
  switch (o['qom-type']) {
    case 'throttle-group': {
      const limits = o['limits']
      if (!isJsonObject(limits)) return ['limits', 'expected the limits object']
      const bad = Object.keys(limits).find((k) => !THROTTLE_KEY_SET.has(k) || !isLimit(limits[k]))
      return bad === undefined ? undefined : [`limits.${bad}`, `expected one of ${THROTTLE_KEYS.join(', ')}, a whole number up to ${THROTTLE_VALUE_MAX}`]
    }
    case 'secret':
      if (o['format'] !== undefined && o['format'] !== 'raw' && o['format'] !== 'base64') return ['format', 'expected "raw" or "base64"']
      if (str('file') && o['data'] === undefined) return undefined
      return str('data') && str('iv') && str('keyid') && o['format'] === 'base64' && o['file'] === undefined ? undefined : ['file', 'expected a file, or data with its iv and keyid (format "base64")']
    case 'tls-creds-x509':
      return str('dir') && o['endpoint'] === 'client' && typeof o['verify-peer'] === 'boolean' ? undefined : ['dir', 'expected dir, endpoint "client" and verify-peer']
    default:
      return ['qom-type', 'expected "throttle-group", "secret" or "tls-creds-x509"']
  }
}

const isObject = (o: JsonObject): o is JsonObject & ObjectOptions => fault(o) === undefined && typeof o['id'] === 'string'

/**
 * Recorded objects: each of a type this library writes, with its members, a well-formed id used
 * once, and every key a QAPI member name.
 *
 * @since 0.3.0
 */
export const decodeObjects = (u: Json, at: string): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<ObjectOptions>> => {
  if (!Array.isArray(u) || u.length === 0 || u.length > MAX_OBJECTS) return E.left(err(at, u, `expected the list of objects (1 to ${MAX_OBJECTS})`))
  const seen = new Set<string>()
  const out: ObjectOptions[] = []
  for (let i = 0; i < u.length; i++) {
    const o: Json | undefined = u[i]
    const p = child(at, i)
    if (!isJsonObject(o)) return E.left(err(p, o, 'expected an object'))
    const id = o['id']
    if (typeof id !== 'string' || !OBJECT_ID.test(id) || seen.has(id)) return E.left(err(child(p, 'id'), id, 'expected a well-formed id, not used by an earlier object'))
    const f = fault(o)
    if (f !== undefined || !isObject(o)) return E.left(err(child(p, f?.[0] ?? 'qom-type'), o, f?.[1] ?? 'not an object this library writes'))
    const badKey = foreignKey(o, p)
    if (badKey !== undefined) return E.left(err(badKey, undefined, 'is not a QAPI member name: recorded objects are rendered into -object, where such a key would change the options'))
    seen.add(id)
    out.push(o)
  }
  return E.right(out)
}
