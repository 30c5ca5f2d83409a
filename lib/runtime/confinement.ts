/**
 * The chroot of a Ganeti `kvm_cmd`, in the form the target QEMU reads. Ganeti 3.0 writes
 * `-chroot <dir>` into the file; Ganeti 3.1 removes it and adds the confinement when it executes
 * the command, from hvparams `use_chroot`. Either way a restart or migration from the runtime
 * must run confined: a command line without it would start QEMU with the host's root.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { fieldError, type DevplanError } from '../errors.js'
import type { Hvparams } from '../hvparams.js'
import { escapeValue } from '../qemu-opts.js'
import { lifecycle } from '../qemu-changes.js'
import type { QemuVersion } from '../qemu-version.js'

const hasRunWithChroot = (cmd: ReadonlyArray<string>): boolean =>
  cmd.some((w, i) => cmd[i - 1] === '-run-with' && /(^|,)chroot=/.test(w))

/**
 * `cmd` confined as hvparams `use_chroot` asks, for `qemu`: an existing `-chroot <dir>` becomes
 * `-run-with chroot=<dir>` where `-chroot` is no longer current (deprecated in 8.1, gone in 9.0);
 * a missing one is added from `chrootDir`. `Left` when `use_chroot` is on, the command has no
 * chroot, and no directory is given: starting unconfined is never the answer.
 *
 * @since 0.2.0
 */
export const confinedCmd = (cmd: ReadonlyArray<string>, h: Hvparams, qemu: QemuVersion, chrootDir: string | undefined): E.Either<DevplanError, ReadonlyArray<string>> => {
  const modern = lifecycle('chroot', qemu) !== 'current'
  const at = cmd.indexOf('-chroot')
  const dir = at >= 0 ? cmd[at + 1] : undefined
  if (at >= 0 && dir !== undefined) {
    return E.right(modern ? [...cmd.slice(0, at), '-run-with', `chroot=${escapeValue(dir)}`, ...cmd.slice(at + 2)] : cmd)
  }
  if (!h.use_chroot || hasRunWithChroot(cmd)) return E.right(cmd)
  if (chrootDir === undefined || !chrootDir.startsWith('/') || chrootDir.includes('\0')) {
    return E.left(
      fieldError(
        'options.chrootDir',
        chrootDir,
        'hvparams.use_chroot is on and kvm_cmd has no -chroot (Ganeti 3.1 leaves it out of the file and adds it at start): give the absolute directory to confine QEMU to, such as /var/run/ganeti/kvm-hypervisor/chroot/<name>'
      )
    )
  }
  return E.right([...cmd, ...(modern ? ['-run-with', `chroot=${escapeValue(chrootDir)}`] : ['-chroot', chrootDir])])
}
