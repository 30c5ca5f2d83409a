/**
 * `kvm_extra` against the plan. QEMU ≥ 6.2 creates every `key=value` `-device` before every JSON
 * `-device`, wherever each stands on the command line, and the devices of machine init (`-vga`,
 * `-audio …,model=`, `-nic`, `-net nic`, `-drive` on a built-in bus) before both. A device of
 * `kvm_extra` that QEMU places itself therefore takes the lowest free place before any planned
 * device exists, and QEMU then refuses the planned one (`PCI: slot 2 function 0 not available
 * for lsi53c895a, in use by virtio-rng-pci,id=rng0`). The library renders planned devices as JSON
 * with explicit places, so the rule here is that `kvm_extra` places its devices explicitly too,
 * where the plan does not: QEMU's own placement is never predicted.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { PCI_BUS, PCI_SLOTS } from './bus/pci.js'
import { parsePciAddr, showPciAddr } from './bus/address.js'
import type { DeviceTree } from './devices.js'
import { busName, extraContext, type ExtraContext } from './extra-context.js'
import { invalidInput, showValue, type DevplanError, type FieldError } from './errors.js'
import { keyvalPairs, type KeyvalPair } from './qemu-opts.js'

const PATH = 'hvparams.kvm_extra'

/**
 * Devices that sit on no bus (measured with `-device help` on QEMU 7.2: their lines name no
 * `bus`); QEMU refuses them any `bus=` (`Device 'pc-dimm' can't go on PCI bus`), so they need
 * none here.
 */
const BUSLESS: ReadonlySet<string> = new Set([
  'pc-dimm', 'nvdimm', 'nvme-subsys', 'loader', 'guest-loader', 'vmcoreinfo', 'vmgenid', 'tpm-crb',
  'hv-syndbg', 'ipmi-bmc-sim', 'ipmi-bmc-extern'
])

const busless = (driver: string): boolean => BUSLESS.has(driver) || driver.endsWith('-x86_64-cpu')

/** The last value of a key, as QEMU's option dict keeps it (`addr=0x9,addr=0x2` is 0x2). */
const lastOf = (pairs: ReadonlyArray<KeyvalPair>, key: string): string | undefined => pairs.filter(([k]) => k === key).pop()?.[1]

const isHelp = (v: unknown): boolean => v === 'help' || v === '?'

/** A `-device` as far as placement goes; `string` when it cannot be read. */
interface DeviceWord {
  readonly driver: string
  readonly id: string | undefined
  readonly bus: unknown
  readonly addr: unknown
  readonly help: boolean
}

const readDevice = (value: string): DeviceWord | string => {
  if (value.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(value)
    } catch {
      return 'is not JSON this check can read (QEMU also takes single quotes; write the object in plain JSON)'
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'is not a JSON object'
    const o = new Map(Object.entries(parsed))
    const driver = o.get('driver')
    if (typeof driver !== 'string') return 'has no "driver" string'
    const id = o.get('id')
    return { driver, id: typeof id === 'string' ? id : undefined, bus: o.get('bus'), addr: o.get('addr'), help: isHelp(driver) }
  }
  const pairs = keyvalPairs(value, 'driver')
  // QEMU takes the id from the first `id=` (opts_parse_id), every other key from the last.
  const id = pairs.find(([k]) => k === 'id')?.[1]
  const driver = lastOf(pairs, 'driver') ?? ''
  return {
    driver,
    id,
    bus: lastOf(pairs, 'bus'),
    addr: lastOf(pairs, 'addr'),
    help: isHelp(driver) || pairs.some(([k, v]) => v === 'on' && isHelp(k))
  }
}

/**
 * An `addr` as QEMU's PCI property reads it: a string `slot[.function]` in hex (`%x[.%x]`), or
 * in JSON an integer devfn (slot·8 + function; -1 is "choose one"). `undefined` if invalid.
 */
const readAddr = (addr: unknown): { readonly slot: number; readonly fn: number } | undefined => {
  if (typeof addr === 'number') return Number.isInteger(addr) && addr >= 0 && addr < PCI_SLOTS * 8 ? { slot: addr >> 3, fn: addr & 7 } : undefined
  const p = typeof addr === 'string' ? parsePciAddr(addr) : undefined
  return p === undefined ? undefined : { slot: p.slot, fn: p.function }
}

/** The slots below the reservations that neither the plan nor an earlier extra device holds. */
const freeSlots = (ctx: ExtraContext, taken: ReadonlyMap<number, string>): ReadonlyArray<number> =>
  Array.from({ length: Math.min(ctx.reservations, PCI_SLOTS) }, (_, i) => i).filter((i) => !ctx.usedSlots.has(i) && !taken.has(i))

/** `0x6, 0x9–0xf`. */
const showSlots = (slots: ReadonlyArray<number>): string =>
  slots
    .reduce<ReadonlyArray<readonly [number, number]>>((acc, n) => {
      const last = acc[acc.length - 1]
      return last !== undefined && last[1] === n - 1 ? [...acc.slice(0, -1), [last[0], n]] : [...acc, [n, n]]
    }, [])
    .map(([a, b]) => (a === b ? showPciAddr(a) : `${showPciAddr(a)}–${showPciAddr(b)}`))
    .join(', ')

/**
 * What to write instead: the value with `bus=pci.0,addr=` set to the lowest free slot (key=value
 * or JSON, as it was written), and the list of free slots; or, when none is free, the hvparam
 * that makes room.
 */
const pciAdvice = (word: string, value: string, ctx: ExtraContext, taken: ReadonlyMap<number, string>): string => {
  const free = freeSlots(ctx, taken)
  const first = free[0]
  if (first === undefined) return `no slot below kvm_pci_reservations (${ctx.reservations}) is free for it: raise kvm_pci_reservations`
  const addr = showPciAddr(first)
  const json = ((): string | undefined => {
    try {
      const o: unknown = JSON.parse(value)
      return typeof o === 'object' && o !== null && !Array.isArray(o) ? JSON.stringify({ ...o, bus: PCI_BUS, addr }) : undefined
    } catch {
      return undefined
    }
  })()
  const fixed = value.startsWith('{')
    ? (json ?? `{…,"bus":"pci.0","addr":"${addr}"}`)
    : keyvalPairs(value, 'driver').filter(([k]) => k !== 'bus' && k !== 'addr').map(([k, v]) => (k === 'driver' ? v : `${k}=${v}`).replace(/,/g, ',,')).concat([`bus=pci.0`, `addr=${addr}`]).join(',')
  return `write it as ${word} ${fixed} (free below kvm_pci_reservations ${ctx.reservations}: ${showSlots(free)})`
}

/** Options that take a value, with what to write instead when the value is refused. */
type Check = (value: string) => string | undefined

const DRIVE_BUSES = new Set(['ide', 'scsi', 'virtio', 'floppy'])
const driveInstead = 'use disks[], cdrom_image_path or floppy_image_path, or -blockdev with a -device that names its bus and place'

const OTHER: Readonly<Record<string, Check>> = {
  vga: (v) => (v === 'none' ? undefined : 'creates a display at machine init, on the lowest free PCI slot, before any planned device: use hvparams.vga'),
  audio: (v) =>
    keyvalPairs(v, 'driver').some(([k]) => k === 'model')
      ? 'creates its sound card at machine init, on the lowest free PCI slot, before any planned device: use hvparams.soundhw'
      : undefined,
  soundhw: () => 'is gone from QEMU (7.1 removed it): use hvparams.soundhw',
  usbdevice: () => 'adds a USB device outside the plan: use hvparams.usb_mouse for a mouse or tablet, hvparams.usb_devices for a host device',
  nic: (v) => {
    const type = lastOf(keyvalPairs(v, 'type'), 'type')
    return type === 'none' ? undefined : 'creates a NIC at machine init, on the lowest free PCI slot, before any planned device: use nics[]'
  },
  net: (v) =>
    lastOf(keyvalPairs(v, 'type'), 'type') === 'nic'
      ? 'creates a NIC at machine init, on the lowest free PCI slot, before any planned device: use nics[]'
      : undefined,
  drive: (v) => {
    const iface = lastOf(keyvalPairs(v, undefined), 'if') ?? 'ide'
    return DRIVE_BUSES.has(iface)
      ? `puts a device on ${iface === 'ide' ? 'the built-in IDE bus (if=ide is the default on pc)' : `if=${iface}`} at machine init, where planned devices go: ${driveInstead}; with if=none it is a backend only`
      : undefined
  },
  ...Object.fromEntries(['hda', 'hdb', 'hdc', 'hdd', 'cdrom', 'fda', 'fdb'].map((o) => [o, (): string => `puts a drive on a built-in bus at machine init, where planned devices go: ${driveInstead}`]))
}

/** Folds over the `-device`s: slots and ids that earlier words of kvm_extra took. */
interface Seen {
  readonly slots: ReadonlyMap<number, string>
  readonly functions: ReadonlySet<string>
  readonly ids: ReadonlySet<string>
}

const deviceError = (word: string, value: string, ctx: ExtraContext, seen: Seen): readonly [string | undefined, Seen] => {
  const d = readDevice(value)
  if (typeof d === 'string') return [d, seen]
  if (d.help) return ['asks QEMU for help: it prints and exits, and starts no instance', seen]
  if (d.id !== undefined && ctx.usedIds.has(d.id)) return [`uses the id ${JSON.stringify(d.id)} of a planned device (QEMU refuses a duplicate id): choose another id`, seen]
  if (d.id !== undefined && seen.ids.has(d.id)) return [`uses the id ${JSON.stringify(d.id)} of an earlier -device of kvm_extra: choose another id`, seen]
  const ids = d.id === undefined ? seen.ids : new Set([...seen.ids, d.id])
  const advice = pciAdvice(word, value, ctx, seen.slots)
  if (d.bus === undefined) {
    if (busless(d.driver)) return [undefined, { ...seen, ids }]
    return [
      `names no bus: QEMU creates key=value devices before the plan's JSON ones, so a device it places itself can take a place the plan gives another device. Name its bus (bus=); a PCI device goes on pci.0 with an explicit addr: ${advice}`,
      seen
    ]
  }
  if (typeof d.bus !== 'string') return [`has a bus that is not a string (${showValue(d.bus)})`, seen]
  const bus = busName(d.bus)
  if (bus !== PCI_BUS) {
    const holder = ctx.usedBuses.get(bus)
    return holder === undefined
      ? [undefined, { ...seen, ids }]
      : [`goes on ${bus}, a bus the plan places devices on (${holder}): QEMU would give it a place there before the planned devices exist, and hot-adds do not know it. Put it on a bus of a controller that kvm_extra adds itself`, seen]
  }
  if (d.addr === undefined) return [`has no addr on pci.0, so QEMU gives it the lowest free slot before any planned device exists: ${advice}`, seen]
  const a = readAddr(d.addr)
  if (a === undefined) return [`has addr ${showValue(d.addr)}, which is no PCI slot (0x00–0x1f, optional .function 0–7): ${advice}`, seen]
  const planned = ctx.usedSlots.get(a.slot)
  if (planned !== undefined) return [`takes slot ${showPciAddr(a.slot)}, which the plan gives ${planned}: ${advice}`, seen]
  if (a.slot >= ctx.reservations) {
    return [`takes slot ${showPciAddr(a.slot)}, at or above kvm_pci_reservations (${ctx.reservations}), where disks, NICs and hot-adds go: ${advice}`, seen]
  }
  const fn = `${a.slot}.${a.fn}`
  if (seen.functions.has(fn)) return [`takes ${showPciAddr(a.slot)}.${a.fn} like an earlier -device of kvm_extra (${seen.slots.get(a.slot) ?? ''}): ${advice}`, seen]
  return [undefined, { slots: new Map([...seen.slots, [a.slot, d.id ?? d.driver]]), functions: new Set([...seen.functions, fn]), ids }]
}

/**
 * Checks the words of `kvm_extra` against a plan: every `-device` (`--device`, key=value or
 * JSON) names its bus, and one on `pci.0` has an `addr` below `kvm_pci_reservations` in a slot
 * the plan leaves free; none goes on another bus the plan places devices on or reuses a planned
 * id. `-vga` (but `none`), `-audio …,model=`, `-soundhw`, `-usbdevice`, `-nic` (but `none`),
 * `-net nic`, and `-drive` on a built-in bus (with `-hda` … `-fdb`, `-cdrom`) are refused: they
 * create devices at machine init, before any planned one. Every error is at
 * `hvparams.kvm_extra`, names the word and its value, and says what to write instead. Total.
 *
 * For example, `extraDeviceErrors(['-device', 'virtio-rng-pci'], ctx)` is one error: the
 * `-device` names no bus.
 *
 * @since 0.2.0
 */
export const extraDeviceErrors = (words: ReadonlyArray<string>, ctx: ExtraContext): ReadonlyArray<FieldError> => {
  const errors: FieldError[] = []
  let seen: Seen = { slots: new Map(), functions: new Set(), ids: new Set() }
  let i = 0
  while (i < words.length) {
    const word = words[i] ?? ''
    // QEMU reads `--x` as `-x`; `--x=v` is no option of its (it refuses it as invalid).
    const name = /^--?[a-z]/.test(word) ? word.replace(/^--?/, '') : undefined
    const check = name === undefined ? undefined : name === 'device' ? 'device' : OTHER[name]
    if (check === undefined) {
      i++
      continue
    }
    const value = words[i + 1]
    const shown = value === undefined ? word : `${word} ${value}`
    const fail = (why: string): void => {
      errors.push({ path: PATH, value: shown, message: `${showValue(shown)} ${why}` })
    }
    if (value === undefined) fail('needs a value: QEMU refuses an option without its argument')
    else if (check === 'device') {
      const [why, next] = deviceError(word, value, ctx, seen)
      seen = next
      if (why !== undefined) fail(why)
    } else {
      const why = check(value)
      if (why !== undefined) fail(why)
    }
    i += 2
  }
  return errors
}

/**
 * The planned tree when its `kvm_extra` passes {@link extraDeviceErrors}, else `InvalidInput`
 * with every error.
 *
 * @since 0.2.0
 */
export const checkExtra =
  (reservations: number) =>
  (tree: DeviceTree): E.Either<DevplanError, DeviceTree> => {
    if (tree.extra.length === 0) return E.right(tree) // nothing to check: no context (a pass over every device)
    const errors = extraDeviceErrors(tree.extra, extraContext(tree, reservations))
    return errors.length === 0 ? E.right(tree) : E.left(invalidInput(errors))
  }
