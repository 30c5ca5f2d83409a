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
 * @category render
 */
export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * A JSON object whose key order is kept: rendering is byte-stable.
 *
 * @since 0.1.0
 * @category render
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
 * One `key=value` element as QemuOpts reads it: a bare one after the first is a flag.
 *
 * @since 0.2.0
 */
export type KeyvalPair = readonly [string, string]

/** A value up to the next single `,`; `,,` is a comma. Returns the value and where it stopped. */
const optValue = (s: string, from: number): readonly [string, number] => {
  let v = ''
  let i = from
  while (i < s.length) {
    const c = s.charAt(i)
    if (c === ',') {
      if (s.charAt(i + 1) !== ',') break
      v += ','
      i += 2
    } else {
      v += c
      i++
    }
  }
  return [v, i]
}

/**
 * QemuOpts' parser (`get_opt_name_value` of util/qemu-option.c): a name ends at the first `=`
 * or `,`; an element without `=` is the implied key's value when first (the driver of
 * `-device`), a flag otherwise (`x` is `x=on`, `nox` is `x=off`). Every element, in order.
 *
 * @since 0.2.0
 */
export const keyvalPairs = (s: string, implied: string | undefined): ReadonlyArray<KeyvalPair> => {
  const pairs: KeyvalPair[] = []
  let i = 0
  while (i < s.length) {
    const rest = s.slice(i)
    const cut = rest.search(/[=,]/)
    const len = cut < 0 ? rest.length : cut
    if (rest.charAt(len) === '=') {
      const [v, end] = optValue(s, i + len + 1)
      pairs.push([rest.slice(0, len), v])
      i = end + 1
    } else if (pairs.length === 0 && implied !== undefined && i === 0) {
      const [v, end] = optValue(s, 0)
      pairs.push([implied, v])
      i = end + 1
    } else {
      const name = rest.slice(0, len)
      pairs.push(name.startsWith('no') && name !== 'no' ? [name.slice(2), 'off'] : [name, 'on'])
      i += len + 1
    }
  }
  return pairs
}

/**
 * Reads a QemuOpts/keyval string back: `a=b,,c,d` → `{a: "b,c", d: "on"}`. A first element
 * without `=` is the implied key (`driver` for `-device`). Values stay strings. As in QEMU, the
 * last value of a key wins, except `id`, which QEMU takes from the first `id=`.
 *
 * @since 0.1.0
 */
export const parseKeyval = (s: string, impliedKey = 'driver'): Readonly<Record<string, string>> => {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [k, v] of keyvalPairs(s, impliedKey)) if (!(k === 'id' && k in out)) out[k] = v
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
