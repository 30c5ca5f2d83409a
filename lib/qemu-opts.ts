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
 * `key=value,…` with every value escaped. Keys are the library's own, never user input.
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
