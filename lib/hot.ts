/**
 * Helpers for hot paths, where the usual ones are slow (measured with `bench/profile.ts`):
 * `Array.prototype.flatMap` costs about 0.2 µs per element in V8 (it is not inlined), and
 * fp-ts's `E.chain` goes through its `dual` wrapper, which copies its arguments into an array
 * (and spreads them again) on every call, the most of a hot-add's fixed cost.
 *
 * @since 0.3.0
 */
import * as E from 'fp-ts/lib/Either.js'

/**
 * `as.flatMap(f)` for an `f` that gives arrays, as a loop: the same elements in the same order,
 * holes of `as` skipped as flatMap skips them (forEach skips them too).
 *
 * @since 0.3.0
 */
export const flatMapArray = <A, B>(as: ReadonlyArray<A>, f: (a: A, i: number) => ReadonlyArray<B>): Array<B> => {
  const out: Array<B> = []
  as.forEach((a, i) => {
    for (const b of f(a, i)) out.push(b)
  })
  return out
}

/**
 * fp-ts's `E.chain(f)` (a Left as it is, else `f` of the Right), without the `dual` wrapper.
 *
 * @since 0.3.0
 */
export const chain =
  <L, A, B>(f: (a: A) => E.Either<L, B>) =>
  (ma: E.Either<L, A>): E.Either<L, B> =>
    E.isLeft(ma) ? ma : f(ma.right)
