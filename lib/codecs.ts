/**
 * Small io-ts building blocks shared by the input codecs: enumerations with helpful messages,
 * bounded integers, strings that cannot smuggle a NUL byte.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { fromValidationErrors, invalidInput, showValue, type DevplanError, type FieldError } from './errors.js'
import { chain } from './hot.js'

/**
 * One of a fixed set of strings; the message lists what is allowed.
 *
 * @since 0.1.0
 */
export const oneOf = <const A extends readonly [string, ...string[]]>(name: string, values: A): t.Type<A[number], A[number], unknown> =>
  new t.Type<A[number], A[number], unknown>(
    name,
    (u): u is A[number] => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) =>
      typeof u === 'string' && (values as readonly string[]).includes(u)
        ? t.success(u as A[number])
        : t.failure(u, c, `${showValue(u)} is not one of ${values.map((v) => JSON.stringify(v)).join(', ')}`),
    t.identity
  )

/**
 * An integer within `[min, max]`.
 *
 * @since 0.1.0
 */
export const intIn = (min: number, max: number): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    `integer ${min}..${max}`,
    (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max,
    (u, c) =>
      typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max
        ? t.success(u)
        : t.failure(u, c, `expected an integer from ${min} to ${max}`),
    t.identity
  )

/**
 * A string matching `re`; `what` names it in the message.
 *
 * @since 0.1.0
 */
export const matching = (what: string, re: RegExp): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(
    what,
    (u): u is string => typeof u === 'string' && re.test(u) && wellFormed(u),
    (u, c) =>
      typeof u !== 'string' || !re.test(u)
        ? t.failure(u, c, `expected ${what}`)
        : !wellFormed(u)
          ? t.failure(u, c, 'contains a lone UTF-16 surrogate: it cannot be passed to QEMU unchanged (it would become U+FFFD and name another file)')
          : t.success(u),
    t.identity
  )

/** A string QEMU receives unchanged: no lone surrogate that UTF-8 encoding would replace. */
const wellFormed = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)

/**
 * Any string without a NUL byte: QEMU's C strings would silently cut it there.
 *
 * @since 0.1.0
 */
export const text = matching('a string without NUL bytes', /^[^\0]*$/)

/**
 * An absolute host path.
 *
 * @since 0.1.0
 */
export const absolutePath = matching('an absolute path (starting with "/", no NUL bytes)', /^\/[^\0]*$/)

/**
 * Fills `undefined` with a default, so decoded values are always complete.
 *
 * @since 0.1.0
 */
export const withDefault = <A, O>(codec: t.Type<A, O, unknown>, fallback: A): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    codec.name,
    codec.is,
    (u, c) => (u === undefined ? t.success(fallback) : codec.validate(u, c)),
    codec.encode
  )

/**
 * Like `t.type` but refuses keys it does not know, naming them: a misspelt field must not
 * silently fall back to its default.
 *
 * @since 0.1.0
 */
export const closed = <P extends t.Props>(props: P, name: string): t.Type<t.TypeOf<t.TypeC<P>>, t.OutputOf<t.TypeC<P>>, unknown> => {
  const inner = t.type(props, name)
  const keys = Object.keys(props)
  const types = keys.map((k) => props[k] as t.Mixed)
  const worded = (u: object, c: t.Context): t.Validation<t.TypeOf<t.TypeC<P>>> => {
    const unknownKeys = Object.keys(u).filter((k) => !Object.prototype.hasOwnProperty.call(props, k))
    const checked = inner.validate(u, c)
    if (unknownKeys.length === 0) return checked
    // An unknown field (often a typo) is reported with every other error of the object, not
    // instead of them: a caller fixing the typo must not meet the next error only then.
    return t.failures([
      ...unknownKeys.map((k) => ({
        value: Reflect.get(u, k),
        context: [...c, { key: k, type: t.never, actual: Reflect.get(u, k) }],
        message: `unknown field (known: ${Object.keys(props).join(', ')})`
      })),
      ...(E.isLeft(checked) ? checked.left : [])
    ])
  }
  return new t.Type<t.TypeOf<t.TypeC<P>>, t.OutputOf<t.TypeC<P>>, unknown>(
    name,
    inner.is,
    (u, c) => {
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, `expected an object (${name})`)
      // The fast path, for valid input: every member checked without the context entry io-ts
      // allocates per key (the most of a decode's time). The first problem hands the whole
      // object to io-ts, which finds every error again with its path: checks are pure, so the
      // second pass gives what a single one would.
      const record = u as Record<string, unknown>
      for (const k of Object.keys(record)) if (!Object.prototype.hasOwnProperty.call(props, k)) return worded(u, c)
      let a = record
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string
        const uk = record[k]
        const r = (types[i] as t.Mixed).validate(uk, c)
        if (E.isLeft(r)) return worded(u, c)
        const v: unknown = r.right
        // As io-ts's t.type: a copy only once a member decodes to another value (a default).
        if (v !== uk || (v === undefined && !Object.prototype.hasOwnProperty.call(record, k))) {
          // Object.assign, as io-ts: a spread copy here is several times slower in V8 once the
          // defaults are added (measured), and every key is a known member, never __proto__.
          if (a === record) a = Object.assign({}, record)
          a[k] = v
        }
      }
      return t.success(a as t.TypeOf<t.TypeC<P>>)
    },
    inner.encode
  )
}

/**
 * An array of at most `max` entries: a huge input is refused before any entry is decoded.
 *
 * @since 0.1.0
 */
export const boundedArray = <C extends t.Mixed>(codec: C, max: number, name: string): t.Type<ReadonlyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown> => {
  const arr = t.readonlyArray(codec, name)
  // As closed's: each entry checked without a context entry of its own, io-ts's pass only for
  // the wording of a problem; a copy once an entry decodes to another value, as io-ts makes it.
  const entries = (u: ReadonlyArray<unknown>, c: t.Context): t.Validation<ReadonlyArray<t.TypeOf<C>>> => {
    let as: unknown[] | ReadonlyArray<unknown> = u
    for (let i = 0; i < u.length; i++) {
      const ui = u[i]
      const r = codec.validate(ui, c)
      if (E.isLeft(r)) return arr.validate(u, c)
      if (r.right !== ui) {
        if (as === u) as = u.slice()
        ;(as as unknown[])[i] = r.right
      }
    }
    return t.success(as as ReadonlyArray<t.TypeOf<C>>)
  }
  return new t.Type<ReadonlyArray<t.TypeOf<C>>, ReadonlyArray<t.OutputOf<C>>, unknown>(
    name,
    arr.is,
    (u, c) =>
      !Array.isArray(u)
        ? t.failure(u, c, `expected an array (of at most ${max} entries)`)
        : u.length > max
          ? t.failure(u, c, `at most ${max} entries (got ${u.length})`)
          : entries(u, c),
    arr.encode
  )
}


/**
 * The 8-4-4-4-12 hex form of a UUID (either case).
 *
 * @since 0.1.0
 */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/**
 * A device uuid (Ganeti's, a UUID): the device id is made from its first three groups, and a
 * shorter or odd string would silently give an id Ganeti never used.
 *
 * @since 0.1.0
 */
export const DeviceUuid = matching('a UUID such as "932df160-7a22-4067-a566-7e0ca8386133" (Ganeti\'s device ids are made from its first three groups)', UUID_PATTERN)

/**
 * Decodes one device with `codec`, then checks it with `convert`; errors are reported under `at`.
 *
 * @since 0.1.0
 */
export const decodeOne =
  <I, A>(codec: t.Decoder<unknown, I>, convert: (i: I, at: string) => E.Either<ReadonlyArray<FieldError>, A>, at: string) =>
  (input: unknown): E.Either<DevplanError, A> =>
    guarded(() =>
      pipe(
        codec.decode(input),
        E.mapLeft((errs) => fromValidationErrors(errs).map((e) => ({ ...e, path: e.path === '' ? at : `${at}.${e.path}` }))),
        chain((i) => convert(i, at)),
        E.mapLeft(invalidInput)
      )
    )


/**
 * Runs a decoder over input from outside. io-ts reads plain data; a hostile value (a throwing
 * getter, a Proxy) could still make it throw, and a decoder must answer with an error instead.
 *
 * @since 0.1.0
 */
export const guarded = <A>(decode: () => E.Either<DevplanError, A>): E.Either<DevplanError, A> => {
  try {
    return decode()
  } catch (e) {
    return E.left(invalidInput([{ path: '', value: undefined, message: `cannot be read as plain JSON data (${e instanceof Error ? e.message : 'it threw'})` }]))
  }
}

/**
 * A number, or `null` for "not given": one message instead of one per union member.
 *
 * @since 0.1.0
 */
export const numberOrNull = new t.Type<number | null, number | null, unknown>(
  'number or null',
  (u): u is number | null => u === null || (typeof u === 'number' && Number.isFinite(u)),
  (u, c) => (u === null || (typeof u === 'number' && Number.isFinite(u)) ? t.success(u) : t.failure(u, c, 'expected a number or null')),
  t.identity
)
