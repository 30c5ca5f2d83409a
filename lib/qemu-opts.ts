/**
 * The two syntaxes QEMU accepts for structured options: JSON (`-blockdev {…}`, `-device {…}` from
 * 6.2, `-netdev {…}` from 7.1) and the older `key=value,…` (QemuOpts / keyval), where a `,` inside
 * a value is written `,,`. Without that doubling a path such as `/srv/a,file.driver=nbd` would add
 * an option, so every value goes through {@link escapeValue}.
 *
 * @since 0.1.0
 */

/**
 * A JSON value as QEMU reads it.
 *
 * @since 0.1.0
 */
export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * A JSON object whose key order is kept: rendering is byte-stable.
 *
 * @since 0.1.0
 */
export type JsonObject = { readonly [key: string]: Json }

/**
 * Doubles every `,` in a key=value option value, so that a path or name from the spec stays one
 * value: `/srv/a,file.driver=nbd` would otherwise add an option.
 *
 * @since 0.1.0
 */
export const escapeValue = (value: string): string => value.replace(/,/g, ',,')

const scalar = (v: Json): string =>
  typeof v === 'boolean' ? (v ? 'on' : 'off') : typeof v === 'string' ? escapeValue(v) : String(v)

/**
 * Flattens a JSON object to keyval pairs: nested objects and lists become dotted keys
 * (`cache.direct=on`, `server.0.host=…`), as `-blockdev` accepts them.
 *
 * @since 0.1.0
 */
export const flatten = (obj: JsonObject, prefix = ''): ReadonlyArray<readonly [string, string]> =>
  Object.entries(obj).flatMap(([k, v]): ReadonlyArray<readonly [string, string]> => {
    const key = `${prefix}${k}`
    if (v === null) return []
    if (Array.isArray(v)) {
      return (v as ReadonlyArray<Json>).flatMap((item, i) =>
        typeof item === 'object' && item !== null
          ? flatten(item as JsonObject, `${key}.${i}.`)
          : [[`${key}.${i}`, scalar(item)] as const]
      )
    }
    if (typeof v === 'object') return flatten(v as JsonObject, `${key}.`)
    return [[key, scalar(v)]]
  })

/**
 * `key=value,…` with every value escaped. Keys are the library's own or, from a runtime file,
 * checked to be QAPI member names when decoded: key=value syntax has no escape for keys.
 *
 * @since 0.1.0
 */
export const toKeyval = (obj: JsonObject): string =>
  flatten(obj)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')

/**
 * JSON with keys in insertion order. JSON's own string escaping makes every value inert.
 *
 * @since 0.1.0
 */
export const toJson = (obj: JsonObject): string => JSON.stringify(obj)

/**
 * Reads a QemuOpts/keyval string back: `a=b,,c,d` → `{a: "b,c", d: …}`. A first element
 * without `=` is the implied key (`driver` for `-device`). Values stay strings.
 *
 * @since 0.1.0
 */
export const parseKeyval = (s: string, impliedKey = 'driver'): Readonly<Record<string, string>> => {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  let i = 0
  let first = true
  while (i <= s.length) {
    let part = ''
    while (i < s.length) {
      const c = s.charAt(i)
      if (c === ',') {
        if (s.charAt(i + 1) === ',') {
          part += ','
          i += 2
          continue
        }
        break
      }
      part += c
      i++
    }
    i++
    const eq = part.indexOf('=')
    if (eq < 0) {
      if (first) out[impliedKey] = part
      else if (part !== '') out[part] = 'on'
    } else out[part.slice(0, eq)] = part.slice(eq + 1)
    first = false
  }
  return out
}

/**
 * A structured option as QEMU reads it, whichever syntax it is in. `undefined` when JSON is
 * malformed or not an object.
 *
 * @since 0.1.0
 */
export const parseStructured = (s: string, impliedKey = 'driver'): Readonly<Record<string, unknown>> | undefined => {
  if (!s.startsWith('{')) return parseKeyval(s, impliedKey)
  try {
    const v: unknown = JSON.parse(s)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
