/**
 * The rewrites `fixCmd` (cmd-fixes.ts) applies to a runtime's `kvm_cmd`, one per old form: Ganeti's own
 * (`-localtime`, `-balloon`, `-vnc` TLS) and the forms that Ganeti 2.x/3.x write and QEMU 7.2
 * or 10.0 refuse or warn about (measured on both). Each returns its command as it is when it
 * finds nothing to do, and `fixCmd` relies on that to skip it.
 *
 * @since 0.3.0
 */
import { youngArray } from './json.js'
import type { CmdWord } from './types.js'

type Cmd = ReadonlyArray<CmdWord>

/** `-localtime` → `-rtc base=localtime` (QEMU removed `-localtime`). */
export const localtime = (cmd: Cmd): Cmd => replaceWord(cmd, '-localtime', ['-rtc', 'base=localtime'])

/** Every `word` of the command replaced by the words `by`; the command itself when it has none. */
const replaceWord = (cmd: Cmd, word: string, by: ReadonlyArray<string>): Cmd => {
  if (!cmd.includes(word)) return cmd
  const out: CmdWord[] = youngArray()
  for (const w of cmd) {
    if (w === word) out.push(...by)
    else out.push(w)
  }
  return out
}

/**
 * Applies `f` to every `flag value` pair, left to right; a trailing flag, or one whose value
 * is a number (never an option value Ganeti wrote), stays as it is. `f` answers `undefined` for
 * a pair it keeps as it is, so that the usual answer allocates nothing. A command without the
 * flag is returned as it is: most rewrites find nothing to do, and a copy each costs a pass.
 */
const eachPair =
  (flag: string, f: (value: string) => Cmd | undefined) =>
  (cmd: Cmd): Cmd => {
    if (!cmd.includes(flag)) return cmd
    // Copied from the first pair `f` changes on; until then the words are the command's own.
    let out: CmdWord[] | undefined
    for (let i = 0; i < cmd.length; i++) {
      const w = cmd[i] ?? ''
      const value = cmd[i + 1]
      if (w === flag && typeof value === 'string') {
        const by = f(value)
        if (by === undefined || (out === undefined && by.length === 2 && by[0] === w && by[1] === value)) {
          if (out !== undefined) out.push(w, value)
          i++
          continue
        }
        out ??= cmd.slice(0, i)
        for (const b of by) out.push(b)
        i++
      } else if (out !== undefined) out.push(w)
    }
    return out ?? cmd
  }

/**
 * `-balloon virtio[,opts]` → `-device virtio-balloon[,opts]`: Ganeti keeps everything after
 * the first comma. `-balloon none` (QEMU's "no balloon") is dropped instead of becoming a
 * balloon device as Ganeti's rewrite would make it.
 */
export const balloon = eachPair('-balloon', (value) => {
  if (value === 'none') return []
  const args = value.split(',').slice(1)
  return ['-device', args.length > 0 ? `virtio-balloon,${args.join(',')}` : 'virtio-balloon']
})

/** An argument of `value.split(',')` in vncTls that is `tls`, or starts `x509=` or `x509verify=`. */
const VNC_TLS_ARG = /(?:^|,)(?:tls(?:,|$)|x509(?:verify)?=)/

/**
 * `-vnc …,tls,x509verify=DIR` → `-object tls-creds-x509,id=vnctls0,endpoint=server,dir=DIR,
 * verify-peer=yes -vnc …,tls-creds=vnctls0` (and `tls-creds-anon` for `tls` alone), exactly
 * as Ganeti's loop builds it, quirks included: an `x509=` without `tls` gets no `tls-creds`.
 */
export const vncTls = eachPair('-vnc', (value) => {
  // Only a `tls` or `x509…` argument makes the object (a rewritten `tls-creds=` is neither).
  if (!VNC_TLS_ARG.test(value)) return undefined
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
  return tlsObj === undefined ? undefined : ['-object', `${tlsObj},${tlsObjArgs.join(',')}`, '-vnc', vncArgs.join(',')]
})

/**
 * An option value split at its commas, QemuOpts-style: `,,` is a literal comma (a path may
 * hold one), so `unix:/a,,b,server` is `["unix:/a,,b", "server"]`. Joined again with `,`.
 */
const splitOpts = (value: string): ReadonlyArray<string> => {
  // By indexOf, not character by character: a `,,` is skipped over, a lone `,` ends a part.
  const parts: string[] = []
  let start = 0
  let i = value.indexOf(',')
  while (i !== -1) {
    if (value.charAt(i + 1) === ',') {
      i = value.indexOf(',', i + 2)
      continue
    }
    parts.push(value.slice(start, i))
    start = i + 1
    i = value.indexOf(',', start)
  }
  parts.push(value.slice(start))
  return parts
}

/**
 * Short-form booleans (`password`, `server`, `nowait`) as `key=on|off`: QEMU 6.0 deprecated
 * them, and 7.2 and 10.0 warn on each (`warning: short-form boolean option 'password'
 * deprecated`). Only the named keys are touched, and `skip` leading parts (the VNC display,
 * the chardev backend) never: a bare word there is not a boolean.
 */
const longBooleans = (value: string, names: Booleans, skip: number): string | undefined => {
  // A part that is a short form stands between commas (or an end): without one, nothing to do.
  if (!names.anywhere.test(value)) return undefined
  const out = splitOpts(value)
    .map((p, i) => (i < skip ? p : names.long.get(p) ?? p))
    .join(',')
  return out === value ? undefined : out
}

interface Booleans {
  readonly long: ReadonlyMap<string, string>
  /** Matches wherever one of the short forms could be a part (never missing one). */
  readonly anywhere: RegExp
}

const booleans = (on: ReadonlyArray<string>, off: ReadonlyArray<readonly [string, string]> = []): Booleans => {
  const long = new Map([...on.map((k) => [k, `${k}=on`] as const), ...off.map(([short, k]) => [short, `${k}=off`] as const)])
  const names = [...long.keys()].map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return { long, anywhere: new RegExp(`(?:^|,)(?:${names.join('|')})(?:,|$)`) }
}

/** The boolean keys of `-vnc` (Ganeti writes `password`; `tls` is {@link vncTls}'s). */
const VNC_BOOLEANS = booleans(['password', 'reverse', 'lossy', 'non-adaptive', 'sasl', 'power-control'])

/** `-vnc :1,tls-creds=vnctls0,password` → `…,password=on`; the display is never touched. */
export const vncBooleans = eachPair('-vnc', (value) => pairOf('-vnc', longBooleans(value, VNC_BOOLEANS, 1)))

/** `flag value`, or `undefined` (the pair as it is) for no new value. */
const pairOf = (flag: string, value: string | undefined): Cmd | undefined => (value === undefined ? undefined : [flag, value])

/** The boolean keys of a socket chardev (`server,nowait` is what Ganeti writes). */
const SOCKET_BOOLEANS = booleans(['server', 'telnet', 'tn3270', 'websocket', 'ipv4', 'ipv6'], [['nowait', 'wait'], ['nodelay', 'delay']])

/** The compat forms of `-serial`/`-monitor` that open a socket chardev. */
const SOCKET_COMPAT = /^(unix|tcp|telnet|websocket):/

/**
 * `-serial unix:P,server,nowait` (and `-monitor`, Ganeti's form for both) → `server=on,wait=off`.
 * QEMU's compat parser of these two options accepts the short forms silently on 7.2 and 10.0,
 * but they are the deprecated spelling: rewritten so that one form stands in every socket.
 */
const compatSocket = (flag: string) => eachPair(flag, (value) => (SOCKET_COMPAT.test(value) ? pairOf(flag, longBooleans(value, SOCKET_BOOLEANS, 1)) : undefined))

export const serialSocket = compatSocket('-serial')
export const monitorSocket = compatSocket('-monitor')

/** `-chardev socket,path=P,server,nowait,id=qga0` (Ganeti's guest agent) → `server=on,wait=off`: both QEMUs warn. */
export const chardevBooleans = eachPair('-chardev', (value) => (value.startsWith('socket,') ? pairOf('-chardev', longBooleans(value, SOCKET_BOOLEANS, 1)) : undefined))

/** The boolean keys of `-spice` Ganeti writes short (`disable-ticketing`, `ipv4`/`ipv6`): 7.2 warns. */
const SPICE_BOOLEANS = booleans(['disable-ticketing', 'disable-copy-paste', 'disable-agent-file-xfer', 'ipv4', 'ipv6', 'unix', 'sasl'])

export const spiceBooleans = eachPair('-spice', (value) => pairOf('-spice', longBooleans(value, SPICE_BOOLEANS, 0)))

/** `-usbdevice` names and the device each makes. */
const USB_DEVICES: ReadonlyMap<string, string> = new Map([
  ['tablet', 'usb-tablet'],
  ['mouse', 'usb-mouse'],
  ['keyboard', 'usb-kbd']
])

/**
 * `-usbdevice tablet|mouse|keyboard` → `-device usb-tablet|usb-mouse|usb-kbd`, with `-usb` put
 * before the first when the command has none: `-usbdevice` turns the machine's USB on itself
 * (Ganeti 2.x writes it without `-usb` when VNC is on), while `-device usb-tablet` alone fails
 * (`No 'usb-bus' bus found`). 7.2 and 10.0 still accept `-usbdevice` silently; the rewrite gives
 * the device the `-device` form every other device has. Other `-usbdevice` values (`disk:`,
 * `host:`, from hvparams `usb_devices`) are left as they are.
 */
export const usbdevice = (cmd: Cmd): Cmd => {
  if (!cmd.includes('-usbdevice')) return cmd
  let usb = cmd.includes('-usb')
  const out: CmdWord[] = youngArray()
  for (let i = 0; i < cmd.length; i++) {
    const w = cmd[i] ?? ''
    const value = cmd[i + 1]
    const driver = w === '-usbdevice' && typeof value === 'string' ? USB_DEVICES.get(value) : undefined
    if (driver === undefined) {
      out.push(w)
      continue
    }
    if (!usb) out.push('-usb')
    usb = true
    out.push('-device', driver)
    i++
  }
  return out
}

/**
 * The cards `-audio model=` makes (QEMU 7.2 and 10.0 name the same ones), and for a second card
 * the `-device`s it is made of (`hda` is a controller and a codec).
 */
const SOUND_CARDS: ReadonlyMap<string, (audiodev: string) => ReadonlyArray<string>> = new Map([
  ['ac97', (a: string) => ['-device', `AC97,audiodev=${a}`]],
  ['adlib', (a: string) => ['-device', `adlib,audiodev=${a}`]],
  ['cs4231a', (a: string) => ['-device', `cs4231a,audiodev=${a}`]],
  ['es1370', (a: string) => ['-device', `ES1370,audiodev=${a}`]],
  ['gus', (a: string) => ['-device', `gus,audiodev=${a}`]],
  ['hda', (a: string) => ['-device', 'intel-hda', '-device', `hda-duplex,audiodev=${a}`]],
  ['sb16', (a: string) => ['-device', `sb16,audiodev=${a}`]]
])

/**
 * `-soundhw X` (removed in QEMU 7.1: `-soundhw: invalid option` on 7.2 and 10.0) →
 * `-audio driver=none,model=X`. `-audio` creates the card where `-soundhw` did, at machine
 * init before every `-device`, so the guest finds it in the same PCI slot; its host backend is
 * `none` (a daemonized QEMU has no one to play to). `-audio` is allowed once (`only one
 * -soundhw option is allowed`): further cards of a list (`-soundhw hda,ac97`) become
 * `-audiodev none` + `-device`, and `pcspk` becomes `-machine pcspk-audiodev=` (it is no
 * `-audio` model). A value naming an unknown card, or `all`, is left for QEMU to refuse.
 */
export const soundhw = (cmd: Cmd): Cmd => {
  let audio = cmd.includes('-audio')
  let n = 0
  const card = (model: string): ReadonlyArray<string> | undefined => {
    if (model === 'pcspk') {
      const id = `soundhw${n++}`
      return ['-audiodev', `none,id=${id}`, '-machine', `pcspk-audiodev=${id}`]
    }
    const device = SOUND_CARDS.get(model)
    if (device === undefined) return undefined
    if (!audio) {
      audio = true
      return ['-audio', `driver=none,model=${model}`]
    }
    const id = `soundhw${n++}`
    return ['-audiodev', `none,id=${id}`, ...device(id)]
  }
  return eachPair('-soundhw', (value) => {
    const models = value.split(',')
    const known = models.every((m) => m === 'pcspk' || SOUND_CARDS.has(m))
    return known ? models.flatMap((m) => card(m) ?? []) : ['-soundhw', value]
  })(cmd)
}

/** `-no-acpi` (removed in QEMU 9.0: `-no-acpi: invalid option` on 10.0) → `-machine acpi=off`, which QEMU merges with the other `-machine`. */
export const noAcpi = (cmd: Cmd): Cmd => replaceWord(cmd, '-no-acpi', ['-machine', 'acpi=off'])

