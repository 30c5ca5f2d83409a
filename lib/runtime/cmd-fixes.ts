/**
 * The command-line rewrites of Ganeti's runtime upgrade (`_upgrade_serialized_runtime` in
 * `lib/hypervisor/hv_kvm/kvm_runtime.py`, ganeti/ganeti 3.1): options a newer QEMU no longer
 * accepts, rewritten in a file written for an older one. Each rewrite is Ganeti's, word for
 * word; the differences are listed on {@link fixCmd}.
 *
 * @since 0.1.0
 */

/** `-localtime` → `-rtc base=localtime` (QEMU removed `-localtime`). */
const localtime = (cmd: ReadonlyArray<string>): ReadonlyArray<string> =>
  cmd.flatMap((w) => (w === '-localtime' ? ['-rtc', 'base=localtime'] : [w]))

/** Applies `f` to every `flag value` pair, left to right; a trailing flag stays as it is. */
const eachPair =
  (flag: string, f: (value: string) => ReadonlyArray<string>) =>
  (cmd: ReadonlyArray<string>): ReadonlyArray<string> => {
    const out: string[] = []
    for (let i = 0; i < cmd.length; i++) {
      const w = cmd[i] ?? ''
      const value = cmd[i + 1]
      if (w === flag && value !== undefined) {
        out.push(...f(value))
        i++
      } else out.push(w)
    }
    return out
  }

/**
 * `-balloon virtio[,opts]` → `-device virtio-balloon[,opts]`: Ganeti keeps everything after
 * the first comma. `-balloon none` (QEMU's "no balloon") is dropped instead of becoming a
 * balloon device as Ganeti's rewrite would make it.
 */
const balloon = eachPair('-balloon', (value) => {
  if (value === 'none') return []
  const args = value.split(',').slice(1)
  return ['-device', args.length > 0 ? `virtio-balloon,${args.join(',')}` : 'virtio-balloon']
})

/**
 * `-vnc …,tls,x509verify=DIR` → `-object tls-creds-x509,id=vnctls0,endpoint=server,dir=DIR,
 * verify-peer=yes -vnc …,tls-creds=vnctls0` (and `tls-creds-anon` for `tls` alone), exactly
 * as Ganeti's loop builds it, quirks included: an `x509=` without `tls` gets no `tls-creds`.
 */
const vncTls = eachPair('-vnc', (value) => {
  const vncArgs: string[] = []
  let tlsObj: string | undefined
  const tlsObjArgs = ['id=vnctls0', 'endpoint=server']
  for (const arg of value.split(',')) {
    if (arg === 'tls') {
      tlsObj = 'tls-creds-anon'
      vncArgs.push('tls-creds=vnctls0')
    } else if (arg.startsWith('x509verify=') || arg.startsWith('x509=')) {
      tlsObj = 'tls-creds-x509'
      tlsObjArgs.push(`dir=${arg.slice(arg.indexOf('=') + 1)}`)
      tlsObjArgs.push(arg.startsWith('x509verify=') ? 'verify-peer=yes' : 'verify-peer=no')
    } else vncArgs.push(arg)
  }
  return tlsObj === undefined ? ['-vnc', value] : ['-object', `${tlsObj},${tlsObjArgs.join(',')}`, '-vnc', vncArgs.join(',')]
})

/**
 * `-chroot DIR` is removed: Ganeti ≥ 3.1 adds the confinement when it executes the command
 * (`-run-with chroot=` from QEMU 9, where `-chroot` is gone), from hvparams `use_chroot`. A
 * trailing `-chroot` is removed alone, as Python's `del cmd[i:i+2]` does.
 */
const chroot = (cmd: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out: string[] = []
  for (let i = 0; i < cmd.length; i++) {
    if (cmd[i] === '-chroot') i++
    else out.push(cmd[i] ?? '')
  }
  return out
}

const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => a.length === b.length && a.every((w, i) => w === b[i])

/** More rounds than any rewrite chain can take (each round removes an old option). */
const MAX_ROUNDS = 16

/**
 * Ganeti's rewrites of `kvm_cmd`, in Ganeti's order: `-localtime`, `-balloon`, `-vnc` TLS,
 * `-chroot`. Differences from Ganeti, all intentional:
 * - every occurrence is rewritten, not only the first (`list.index`), and the rounds are
 *   repeated until nothing changes, so that an upgrade is idempotent even where one rewrite
 *   exposes another;
 * - Ganeti removes `-chroot` only when the command has a `-vnc` (its code sits inside the
 *   `-vnc` branch by mistake); here always;
 * - a trailing `-balloon`/`-vnc` without a value is left alone (Ganeti raises IndexError);
 * - `-balloon none` is dropped (see above).
 *
 * @since 0.1.0
 */
export const fixCmd = (cmd: ReadonlyArray<string>): ReadonlyArray<string> => {
  let current = cmd
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = chroot(vncTls(balloon(localtime(current))))
    if (same(next, current)) return current
    current = next
  }
  return current
}

/** Ganeti 3.1's valid `disk_discard` values; 3.1 dropped `default`. */
const DISCARD = ['ignore', 'unmap']

/**
 * The hvparams rewrite of Ganeti 3.1: a `disk_discard` that is present but not `ignore` or
 * `unmap` (the dropped `default`) becomes `ignore`. Ganeti applies it only when the command has
 * a `-vnc` (the same misplaced branch); here always. `undefined` when nothing changes.
 *
 * @since 0.1.0
 */
export const fixedDiscard = (hvparams: { readonly [key: string]: unknown }): 'ignore' | undefined =>
  'disk_discard' in hvparams && !DISCARD.includes(hvparams['disk_discard'] as string) ? 'ignore' : undefined
