/**
 * The QOM objects a block graph names: a disk's `throttle-group`, the `secret`s its protocol node
 * authenticates with, the `tls-creds-x509` an NBD client uses. One object serves `-object` (JSON)
 * and `object-add` alike, as one node serves `-blockdev` and `blockdev-add`.
 *
 * @since 0.3.0
 * @category plan
 */
import type { ThrottleLimits } from './throttle.js'

/**
 * A `throttle-group`: the limits every `throttle` node naming it shares.
 *
 * @since 0.3.0
 * @category plan
 */
export type ThrottleGroupObject = {
  readonly 'qom-type': 'throttle-group'
  readonly id: string
  readonly limits: ThrottleLimits
}

/**
 * A `secret`, never in clear on the command line: read by QEMU from `file`, or `data` encrypted by
 * the caller (AES-256-CBC under the secret `keyid`, with `iv`; a pure library cannot make an IV).
 *
 * @since 0.3.0
 * @category plan
 */
export type SecretObject =
  | { readonly 'qom-type': 'secret'; readonly id: string; readonly file: string; readonly format?: 'raw' | 'base64' }
  | { readonly 'qom-type': 'secret'; readonly id: string; readonly data: string; readonly iv: string; readonly keyid: string; readonly format: 'base64' }

/**
 * x509 credentials of a TLS client (an NBD connection), from the files in `dir`.
 *
 * @since 0.3.0
 * @category plan
 */
export type TlsCredsObject = {
  readonly 'qom-type': 'tls-creds-x509'
  readonly id: string
  readonly dir: string
  readonly endpoint: 'client'
  readonly 'verify-peer': boolean
}

/**
 * Any object a graph needs.
 *
 * @since 0.3.0
 * @category plan
 */
export type ObjectOptions = ThrottleGroupObject | SecretObject | TlsCredsObject

/**
 * The id of a disk's throttle group: `throttle-<disk id>` (QOM ids have no 31-character limit).
 *
 * @since 0.3.0
 * @category plan
 */
export const throttleGroupId = (top: string): string => `throttle-${top}`
