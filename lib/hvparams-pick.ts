/**
 * Picking the modelled hvparams out of a Ganeti hvparams dict in one pass over valid input: the
 * fast path of `HvparamsCodec` (hvparams.ts), which falls back to io-ts to word a problem.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'

/**
 * A picker over `full`, every hvparam that is checked (modelled, ignored, `migration_*`), that
 * keeps those of `modelled`: the same object that validating all of them and then stripping the
 * others gives (the given ones in their order, then the defaults in the codec's), without
 * building the object of all of them that a strip copies again. `undefined` for anything but
 * valid input: io-ts's pass then words the problem. Most of a small instance's decode.
 *
 * @since 0.3.0
 */
export const modelledPicker = <A>(full: t.Props, modelled: t.Props): ((u: unknown, c: t.Context) => A | undefined) => {
  const keys = Object.keys(full)
  const types = keys.map((k) => full[k] as t.Mixed)
  const index: ReadonlyMap<string, number> = new Map(keys.map((k, i) => [k, i]))
  const modelledIndices = keys.flatMap((k, i) => (Object.prototype.hasOwnProperty.call(modelled, k) ? [i] : []))
  return (u, c) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return undefined
    const record = u as Record<string, unknown>
    const given = Object.keys(record)
    for (const k of given) if (!index.has(k)) return undefined
    const decoded: unknown[] = []
    for (let i = 0; i < keys.length; i++) {
      const r = (types[i] as t.Mixed).validate(record[keys[i] as string], c)
      if (E.isLeft(r)) return undefined
      decoded.push(r.right)
    }
    const out: Record<string, unknown> = {}
    for (const k of given) if (Object.prototype.hasOwnProperty.call(modelled, k)) out[k] = decoded[index.get(k) as number]
    for (const i of modelledIndices) {
      const k = keys[i] as string
      if (!Object.prototype.hasOwnProperty.call(record, k)) out[k] = decoded[i]
    }
    return out as A
  }
}
