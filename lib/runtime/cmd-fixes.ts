/**
 * The command-line rewrites of Ganeti's runtime upgrade (`_upgrade_serialized_runtime` in
 * `lib/hypervisor/hv_kvm/kvm_runtime.py`, ganeti/ganeti 3.1): options a newer QEMU no longer
 * accepts, rewritten in a file written for an older one: which rewrites (cmd-rewrites.ts) run,
 * in which order, until nothing changes. Each rewrite is Ganeti's, word for word; the differences are listed on {@link fixCmd}. Beyond Ganeti's, the forms that Ganeti
 * 2.x/3.x write and that QEMU 7.2 or 10.0 refuse or warn about (measured on both) are
 * rewritten too, so that an upgraded Ganeti runtime starts on either with nothing on stderr.
 *
 * @since 0.1.0
 */
import type { CmdWord } from './types.js'
import { balloon, chardevBooleans, localtime, monitorSocket, noAcpi, serialSocket, soundhw, spiceBooleans, usbdevice, vncBooleans, vncTls } from './cmd-rewrites.js'

type Cmd = ReadonlyArray<CmdWord>

/** The word each rewrite looks for (its early return is on that word's absence), as a bit. */
const TRIGGERS: ReadonlyMap<string, number> = new Map([
  ['-localtime', 1],
  ['-balloon', 2],
  ['-vnc', 4],
  ['-serial', 8],
  ['-monitor', 16],
  ['-chardev', 32],
  ['-spice', 64],
  ['-usbdevice', 128],
  ['-soundhw', 256],
  ['-no-acpi', 512]
])

/** A hole, `null` or `undefined` among the words. */
const HOLE = 1024

/** Ganeti's order first, then the forms QEMU 7.2 or 10.0 refuse or warn about. */
const REWRITES: ReadonlyArray<readonly [number, (cmd: Cmd) => Cmd]> = [
  [1, localtime],
  [2, balloon],
  [4, vncTls],
  [4, vncBooleans],
  [8, serialSocket],
  [16, monitorSocket],
  [32, chardevBooleans],
  [64, spiceBooleans],
  [128, usbdevice],
  [256, soundhw],
  [512, noAcpi]
]

/** Which of the {@link TRIGGERS} the command has, in one scan instead of one per rewrite. */
const triggers = (cmd: ReadonlyArray<CmdWord | undefined | null>): number => {
  let bits = 0
  for (let i = 0; i < cmd.length; i++) {
    const w = cmd[i]
    if (typeof w === 'string') {
      if (w.charCodeAt(0) === 45) bits |= TRIGGERS.get(w) ?? 0
    } else if (w === undefined || w === null) bits |= HOLE
  }
  return bits
}

const same = (a: Cmd, b: Cmd): boolean => a === b || (a.length === b.length && a.every((w, i) => w === b[i]))

/** More rounds than any rewrite chain can take (each round removes an old option). */
const MAX_ROUNDS = 16

/**
 * Ganeti's rewrites of `kvm_cmd`, in Ganeti's order: `-localtime`, `-balloon`, `-vnc` TLS; then
 * (since 0.2.0) the forms QEMU 7.2 or 10.0 refuse or warn about: short-form
 * booleans of `-vnc`, `-spice`, `-chardev socket` and the `-serial`/`-monitor` sockets,
 * `-usbdevice tablet|mouse|keyboard`, `-soundhw`, `-no-acpi`. Differences from Ganeti, all
 * intentional:
 * - every occurrence is rewritten, not only the first (`list.index`), and the rounds are
 *   repeated until nothing changes, so that an upgrade is idempotent even where one rewrite
 *   exposes another;
 * - Ganeti 3.1 also removes `-chroot` (it adds the confinement when it executes the command);
 *   Ganeti 3.0.2 keeps it, and so does this upgrade: `runtimeArgv` renders the
 *   confinement in the target's form, so a restart or migration never loses it;
 * - a trailing `-balloon`/`-vnc` without a value is left alone (Ganeti raises IndexError);
 * - `-balloon none` is dropped (see above).
 *
 * @since 0.1.0
 */
export const fixCmd = (cmd: Cmd): Cmd => {
  // A rewrite that finds nothing returns its input, where a full pass drops holes (flatMap) and
  // makes null and undefined '' (eachPair): do both first (a decoded runtime has neither).
  const words: ReadonlyArray<CmdWord | undefined | null> = cmd
  let bits = triggers(words)
  let current: Cmd = cmd
  if ((bits & HOLE) !== 0) {
    current = words.flatMap((w) => [w ?? ''])
    bits = triggers(current)
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let next = current
    for (const [bit, rewrite] of REWRITES) {
      // Skipped exactly when the rewrite would find no word of its own and return its input.
      if ((bits & bit) === 0) continue
      const r = rewrite(next)
      if (r === next) continue
      next = r
      bits = triggers(next)
    }
    if (same(next, current)) return current
    current = next
  }
  return current
}

/**
 * What an older reader loses by the rewrites of {@link fixCmd}, for a runtime Ganeti wrote
 * (one without a stamp) and this library upgraded: the file keeps only the new forms, and that
 * reader runs them as they are. Rewrites whose new form every QEMU the reader may run accepts
 * (`-rtc`, `-device virtio-balloon`/`usb-tablet`, `key=on|off`) lose nothing and are not listed.
 *
 * @since 0.2.0
 */
export const rewriteLosses = (cmd: Cmd, hvparams: { readonly [key: string]: unknown }): ReadonlyArray<string> => {
  const reasons: string[] = []
  const sound = cmd.some((w, i) => (w === '-audio' && typeof cmd[i + 1] === 'string') || (w === '-audiodev' && typeof cmd[i + 1] === 'string' && /^none,id=soundhw\d+$/.test(String(cmd[i + 1]))))
  if (sound) {
    reasons.push('-soundhw became -audio driver=none,model=… (and -audiodev none with -device for further cards): a reader on a QEMU before 7.1, which has no -audio, cannot start it, and the card plays to no host backend')
  }
  return reasons
}
