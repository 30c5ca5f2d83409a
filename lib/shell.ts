/**
 * POSIX-shell words: splitting `kvm_extra` the way Ganeti does (`shlex.split`), and quoting an
 * argv for display so that it can be pasted into a shell unchanged.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'

/**
 * Splits a string into words like a POSIX shell without expansions: quotes, backslashes and
 * whitespace only. `Left` carries the reason (an unterminated quote).
 *
 * @since 0.1.0
 */
export const splitWords = (s: string): E.Either<string, ReadonlyArray<string>> => {
  const words: string[] = []
  let word = ''
  let inWord = false
  let i = 0
  while (i < s.length) {
    const c = s.charAt(i)
    if (c === "'") {
      const end = s.indexOf("'", i + 1)
      if (end < 0) return E.left(`unterminated single quote at offset ${i}`)
      word += s.slice(i + 1, end)
      inWord = true
      i = end + 1
    } else if (c === '"') {
      i++
      let closed = false
      while (i < s.length) {
        const d = s.charAt(i)
        if (d === '"') {
          closed = true
          i++
          break
        }
        if (d === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s.charAt(i + 1))) {
          if (s.charAt(i + 1) !== '\n') word += s.charAt(i + 1)
          i += 2
        } else {
          word += d
          i++
        }
      }
      if (!closed) return E.left('unterminated double quote')
      inWord = true
    } else if (c === '\\') {
      if (i + 1 >= s.length) return E.left('trailing backslash')
      // Backslash-newline is a line continuation: it vanishes and starts no word.
      if (s.charAt(i + 1) !== '\n') {
        word += s.charAt(i + 1)
        inWord = true
      }
      i += 2
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      i++
    } else {
      word += c
      inWord = true
      i++
    }
  }
  if (inWord) words.push(word)
  return E.right(words)
}

/**
 * Quotes one word for a POSIX shell; plain words stay as they are.
 *
 * @since 0.1.0
 */
export const quoteWord = (w: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`
