/**
 * kvm_extra against the plan (lib/extra.ts, DOMAIN §3 "Creation order is not argv order"): which
 * words are accepted and which refused, read with QEMU's own option syntax (QemuOpts: `,,` is a
 * comma, the first bare element is the driver, `id` from the first `id=`, other keys from the
 * last; JSON when the value starts with `{`). Expected values are written from the rule and from
 * what QEMU 7.2 and 10.0 were measured to do, never computed by the module's own helpers.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { extraDeviceErrors } from '../lib/extra.js'
import type { ExtraContext } from '../lib/extra-context.js'
import { allDevices, formatError, renderArgv, type FieldError } from '../lib/index.js'
import { fail, planE, planOk, showLeft, spec } from './support/fixtures.js'
import { hv } from './support/placed.js'

/** A plan as a context: the machine's slots 0 and 1, a controller at 0x2, a CD-ROM at 0x6. */
const CTX: ExtraContext = {
  reservations: 16,
  usedSlots: new Map([
    [0, 'host bridge'],
    [1, 'PIIX3'],
    [2, 'scsi'],
    [6, 'cdrom1']
  ]),
  usedBuses: new Map([['scsi.0', 'disk-a0000000-0000-4000']]),
  usedIds: new Set(['scsi', 'cdrom1', 'disk-a0000000-0000-4000'])
}

const errorsOf = (extra: ReadonlyArray<string>, ctx: ExtraContext = CTX): ReadonlyArray<FieldError> => extraDeviceErrors(extra, ctx)

const one = (extra: ReadonlyArray<string>, ctx: ExtraContext = CTX): FieldError => {
  const errors = errorsOf(extra, ctx)
  if (errors.length !== 1) return fail(`expected one error for ${JSON.stringify(extra)}, got ${JSON.stringify(errors)}`)
  return errors[0] ?? fail('no error')
}

const accepted = (extra: ReadonlyArray<string>, ctx: ExtraContext = CTX): void => {
  assert.equal(errorsOf(extra, ctx), [], `expected ${JSON.stringify(extra)} to be accepted`)
}

/** Refused with one error at hvparams.kvm_extra whose value is the word and its value. */
const refused = (extra: readonly [string, string], ...says: ReadonlyArray<string | RegExp>): FieldError => {
  const e = one(extra)
  assert.is(e.path, 'hvparams.kvm_extra')
  assert.is(e.value, `${extra[0]} ${extra[1]}`)
  for (const s of says) {
    if (typeof s === 'string') assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} should say ${JSON.stringify(s)}`)
    else assert.match(e.message, s)
  }
  return e
}

test('accepted: a device with its bus and a free addr below kvm_pci_reservations, in each spelling QEMU takes', () => {
  accepted(['-device', 'virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9'])
  accepted(['--device', 'virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9'])
  accepted(['-device', 'driver=virtio-rng-pci,bus=pci.0,addr=0x9'])
  // QEMU reads addr as %x[.%x]: without 0x, and with a function.
  accepted(['-device', 'virtio-rng-pci,bus=pci.0,addr=9'])
  accepted(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x9.1'])
  accepted(['-device', 'virtio-rng-pci,bus=pci.0,addr=0xf'])
  // A bus path names its last part (measured: /i440FX-pcihost/pci.0 is pci.0).
  accepted(['-device', 'virtio-rng-pci,bus=/i440FX-pcihost/pci.0,addr=0x9'])
  accepted(['-device', '{"driver":"virtio-rng-pci","id":"rng0","bus":"pci.0","addr":"0x9"}'])
  // A JSON integer addr is QEMU's devfn: 0x48 is slot 9, function 0.
  accepted(['-device', '{"driver":"virtio-rng-pci","id":"rng0","bus":"pci.0","addr":72}'])
  // Buses the plan does not use, and devices with no bus at all (QEMU refuses them any bus=).
  accepted(['-device', 'pci-bridge,id=br1,chassis_nr=1,bus=pci.0,addr=0x5', '-device', 'virtio-rng-pci,bus=br1,addr=0x10'])
  accepted(['-device', 'usb-tablet,bus=myusb.0'])
  accepted(['-device', 'pc-dimm,id=dimm1,memdev=m1'])
  accepted(['-device', 'host-x86_64-cpu,socket-id=1'])
  // Several extra devices, on slots of their own.
  accepted(['-device', 'virtio-rng-pci,id=r1,bus=pci.0,addr=0x9', '-device', 'virtio-rng-pci,id=r2,bus=pci.0,addr=0xa'])
})

test('accepted: options that create no device, or none outside the plan', () => {
  accepted(['-vga', 'none', '--vga', 'none'])
  accepted(['-nic', 'none', '-nic', 'type=none'])
  accepted(['-net', 'user', '-net', 'none'])
  accepted(['-audio', 'none', '-audiodev', 'none,id=snd0'])
  accepted(['-drive', 'if=none,id=d0,file=/x', '-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd'])
  accepted(['-cpu', 'host', '-smbios', 'type=1,serial=a b', '-usb', '-object', 'rng-random,id=rng,filename=/dev/urandom'])
  accepted([])
})

test('refused: a device that names no bus, key=value and JSON, with the fix spelled out', () => {
  const kv = refused(['-device', 'virtio-rng-pci,id=rng0'], 'names no bus', 'bus=')
  // The free slots here are 0x3–0x5 and 0x7–0xf: the lowest is the one suggested.
  assert.ok(kv.message.includes('write it as -device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x3'), kv.message)
  assert.ok(kv.message.includes('0x3–0x5, 0x7–0xf'), kv.message)
  const json = refused(['-device', '{"driver":"virtio-rng-pci","id":"rng0"}'], 'names no bus')
  assert.ok(json.message.includes('write it as -device {"driver":"virtio-rng-pci","id":"rng0","bus":"pci.0","addr":"0x3"}'), json.message)
  refused(['--device', 'virtio-rng-pci'], 'names no bus')
  refused(['-device', 'usb-tablet'], 'names no bus')
})

test('refused: a device on pci.0 without addr, or with one that is no slot', () => {
  refused(['-device', 'virtio-rng-pci,id=rng0,bus=pci.0'], 'has no addr', 'addr=0x3')
  refused(['-device', '{"driver":"virtio-rng-pci","bus":"pci.0"}'], 'has no addr')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x20'], 'no PCI slot')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=zz'], 'no PCI slot')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x9.8'], 'no PCI slot')
  // -1 is QEMU's "choose one yourself", exactly what is refused.
  refused(['-device', '{"driver":"virtio-rng-pci","bus":"pci.0","addr":-1}'], 'no PCI slot')
  refused(['-device', '{"driver":"virtio-rng-pci","bus":"pci.0","addr":true}'], 'no PCI slot')
})

test('refused: addr at or above kvm_pci_reservations, where disks, NICs and hot-adds go', () => {
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x10'], 'at or above kvm_pci_reservations (16)')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x1f'], 'at or above kvm_pci_reservations (16)')
  const low: ExtraContext = { ...CTX, reservations: 8 }
  assert.ok(one(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x9'], low).message.includes('at or above kvm_pci_reservations (8)'))
  accepted(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x7'], low)
  // Nothing is free below the reservations: the advice is to raise them.
  const none: ExtraContext = { ...CTX, reservations: 2 }
  assert.ok(one(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x2'], none).message.includes('raise kvm_pci_reservations'))
})

test('refused: a slot the plan uses, by any function, and the machine slots', () => {
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x2'], 'slot 0x2', 'the plan gives scsi')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x6.3'], 'slot 0x6', 'cdrom1')
  refused(['-device', '{"driver":"virtio-rng-pci","bus":"pci.0","addr":"0x2"}'], 'the plan gives scsi')
  // devfn 16 is slot 2 (measured: QEMU reports "slot 2 function 0 not available").
  refused(['-device', '{"driver":"virtio-rng-pci","bus":"pci.0","addr":16}'], 'the plan gives scsi')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x1'], 'the plan gives PIIX3')
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0'], 'the plan gives host bridge')
})

test('refused: two extra devices on one slot and function, or with one id; a planned id; a planned bus', () => {
  const two = errorsOf(['-device', 'virtio-rng-pci,id=r1,bus=pci.0,addr=0x9', '-device', 'virtio-rng-pci,id=r2,bus=pci.0,addr=0x9'])
  assert.is(two.length, 1)
  assert.ok(two[0]?.message.includes('like an earlier -device of kvm_extra (r1)'), JSON.stringify(two))
  assert.is(two[0]?.value, '-device virtio-rng-pci,id=r2,bus=pci.0,addr=0x9')
  // Another function of the same slot is a multifunction device: not the plan's business.
  accepted(['-device', 'virtio-rng-pci,id=r1,bus=pci.0,addr=0x9.0,multifunction=on', '-device', 'virtio-rng-pci,id=r2,bus=pci.0,addr=0x9.1'])
  const ids = errorsOf(['-device', 'virtio-rng-pci,id=r1,bus=pci.0,addr=0x9', '-device', 'virtio-rng-pci,id=r1,bus=pci.0,addr=0xa'])
  assert.ok(ids.length === 1 && ids[0]?.message.includes('"r1" of an earlier -device'), JSON.stringify(ids))
  refused(['-device', 'virtio-rng-pci,id=scsi,bus=pci.0,addr=0x9'], 'the id "scsi" of a planned device')
  refused(['-device', 'scsi-hd,bus=scsi.0,scsi-id=5,drive=d0'], 'goes on scsi.0', 'disk-a0000000-0000-4000')
})

test('escaping: ,, is a comma inside a value, so a bus there is no bus', () => {
  // serial is "a,bus=pci.0,addr=0x9": no bus, no addr.
  refused(['-device', 'virtio-rng-pci,serial=a,,bus=pci.0,,addr=0x9'], 'names no bus')
  accepted(['-device', 'virtio-rng-pci,serial=a,,b,bus=pci.0,addr=0x9'])
  // The fix keeps the escaped value escaped.
  const e = refused(['-device', 'virtio-rng-pci,serial=a,,b'], 'names no bus')
  assert.ok(e.message.includes('-device virtio-rng-pci,serial=a,,b,bus=pci.0,addr=0x3'), e.message)
  // addr's value is "0x9,0x2", no slot.
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x9,,0x2'], 'no PCI slot')
})

test('QEMU reads the last addr and bus, but the first id (measured on 7.2 and 10.0)', () => {
  refused(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x9,addr=0x2'], 'the plan gives scsi')
  accepted(['-device', 'virtio-rng-pci,bus=pci.0,addr=0x2,addr=0x9'])
  refused(['-device', 'virtio-rng-pci,bus=pci.0,bus=scsi.0,addr=0x9'], 'goes on scsi.0')
  refused(['-device', 'virtio-rng-pci,id=scsi,id=r1,bus=pci.0,addr=0x9'], 'the id "scsi"')
  accepted(['-device', 'virtio-rng-pci,id=r1,id=scsi,bus=pci.0,addr=0x9'])
})

test('refused: help, which prints and exits; a missing value; JSON that cannot be read', () => {
  refused(['-device', 'help'], 'help')
  refused(['-device', '?'], 'help')
  refused(['-device', 'virtio-rng-pci,help'], 'help')
  refused(['--device', 'virtio-rng-pci,?'], 'help')
  const last = one(['-cpu', 'host', '-device'])
  assert.is(last.value, '-device')
  assert.ok(last.message.includes('needs a value'))
  refused(['-device', "{'driver':'virtio-rng-pci'}"], 'not JSON')
  refused(['-device', '{"bus":"pci.0"}'], 'no "driver"')
  refused(['-device', '{"driver":"virtio-rng-pci","bus":5}'], 'bus that is not a string')
})

test('refused: options that create devices at machine init, naming the hvparam to use', () => {
  refused(['-vga', 'std'], 'hvparams.vga')
  refused(['--vga', 'qxl'], 'hvparams.vga')
  refused(['-audio', 'driver=none,model=hda'], 'hvparams.soundhw')
  refused(['-audio', 'none,model=ac97'], 'hvparams.soundhw')
  refused(['-soundhw', 'hda'], 'hvparams.soundhw')
  refused(['-usbdevice', 'tablet'], 'hvparams.usb_mouse', 'hvparams.usb_devices')
  refused(['-nic', 'user'], 'nics[]')
  refused(['-nic', 'tap,model=virtio-net-pci'], 'nics[]')
  refused(['-net', 'nic'], 'nics[]')
  refused(['-net', 'nic,model=e1000'], 'nics[]')
  refused(['-net', 'type=nic'], 'nics[]')
  refused(['-drive', 'file=/srv/x.img,format=raw'], 'if=ide is the default', 'if=none')
  refused(['-drive', 'file=/srv/x.img,if=virtio'], 'if=virtio', 'disks[]')
  refused(['-drive', 'file=/srv/x.img,if=floppy'], 'floppy_image_path')
  refused(['-hda', '/srv/x.img'], 'disks[]')
  refused(['-cdrom', '/srv/x.iso'], 'cdrom_image_path')
  refused(['-fda', '/srv/x.img'], 'floppy_image_path')
})

test('every error is at hvparams.kvm_extra, names the word and its value, and formats once', () => {
  const errors = errorsOf(['-cpu', 'host', '-device', 'virtio-rng-pci,id=rng0', '-vga', 'std', '-device', 'virtio-rng-pci,id=ok,bus=pci.0,addr=0x9'])
  assert.equal(errors.map((e) => [e.path, e.value]), [
    ['hvparams.kvm_extra', '-device virtio-rng-pci,id=rng0'],
    ['hvparams.kvm_extra', '-vga std']
  ])
  for (const e of errors) assert.ok(e.message.startsWith(JSON.stringify(e.value)), e.message)
  const line = formatError({ _tag: 'InvalidInput', errors: errors.slice(0, 1) })
  assert.ok(line.startsWith('hvparams.kvm_extra: "-device virtio-rng-pci,id=rng0" names no bus'), line)
  assert.not.ok(line.includes(', got '), 'the value is named once, in the message')
})

// ---------------------------------------------------------------------------------------------
// Through planDevices: the context comes from the planned tree.

const invalidAtExtra = (input: unknown): ReadonlyArray<FieldError> => {
  const r = planE(input)
  if (E.isRight(r)) return fail('expected the plan to be refused')
  if (r.left._tag !== 'InvalidInput') return fail(`expected InvalidInput, got ${showLeft(r.left)}`)
  assert.ok(r.left.errors.every((e) => e.path === 'hvparams.kvm_extra'), JSON.stringify(r.left.errors))
  return r.left.errors
}

const SCSI_AND_CD = { disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso', cdrom_disk_type: 'paravirtual' }

const pciOf = (h: { readonly bus: string }): string | undefined => ('addr' in h && typeof h.addr === 'string' && h.bus === 'pci.0' ? h.addr : undefined)

test('planDevices refuses an addr-less kvm_extra device, and renders an explicit one last', () => {
  const errors = invalidAtExtra(spec({ ...SCSI_AND_CD, kvm_extra: '-device virtio-rng-pci,id=rng0' }, 1, 1))
  assert.is(errors.length, 1)
  assert.is(errors[0]?.value, '-device virtio-rng-pci,id=rng0')
  const tree = planOk(spec({ ...SCSI_AND_CD, kvm_extra: '-device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9' }, 1, 1))
  assert.equal(tree.extra, ['-device', 'virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9'])
  assert.equal(renderArgv(tree, { qmpSocket: '/run/q.sock' }).slice(-2), ['-device', 'virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9'])
})

test('planDevices refuses kvm_extra on the slot of every PCI device the tree holds, naming it', () => {
  // Whether below the reservations or above, a planned slot is named as the plan's.
  const rich = spec({ ...SCSI_AND_CD, cdrom2_image_path: '/iso/b.iso' }, 2, 2)
  const tree = planOk(rich)
  const planned = allDevices(tree).flatMap((d) => {
    const addr = pciOf(hv(d))
    return addr === undefined ? [] : [{ id: hv(d).id, addr }]
  })
  // The controller, two CD-ROMs, two NICs at least (the SCSI disks take no slot).
  assert.ok(planned.length >= 5, JSON.stringify(planned))
  for (const p of planned) {
    const errors = invalidAtExtra({ ...rich, hvparams: { ...(rich['hvparams'] as object), kvm_extra: `-device virtio-rng-pci,id=rng0,bus=pci.0,addr=${p.addr}` } })
    assert.ok(errors.length === 1 && errors[0]?.message.includes(`which the plan gives ${p.id}`), `${p.id} at ${p.addr}: ${JSON.stringify(errors)}`)
  }
  // And the machine's own slots.
  for (const addr of ['0x0', '0x1']) assert.is(invalidAtExtra({ ...rich, hvparams: { ...(rich['hvparams'] as object), kvm_extra: `-device virtio-rng-pci,bus=pci.0,addr=${addr}` } }).length, 1)
})

test('planDevices refuses kvm_extra at or above kvm_pci_reservations and on the planned SCSI bus and ids', () => {
  // 0x10 holds the disk; 0x1f nothing, and is still the disks' and NICs'.
  const at = invalidAtExtra(spec({ kvm_extra: '-device virtio-rng-pci,bus=pci.0,addr=0x1f' }, 1, 0))
  assert.ok(at[0]?.message.includes('at or above kvm_pci_reservations (16)'), JSON.stringify(at))
  // The controller's bus is the plan's even with no disk yet: disks are hot-added there.
  const bus = invalidAtExtra(spec({ disk_type: 'scsi-hd', boot_order: 'network', kvm_extra: '-device scsi-cd,bus=scsi.0,scsi-id=3,drive=d0' }, 0, 1))
  assert.ok(bus[0]?.message.includes('goes on scsi.0'), JSON.stringify(bus))
  const tree = planOk(spec({}, 1, 0))
  const id = hv(tree.disks[0]).id ?? fail('no disk')
  const dup = invalidAtExtra(spec({ kvm_extra: `-device virtio-rng-pci,id=${id},bus=pci.0,addr=0x9` }, 1, 0))
  assert.ok(dup[0]?.message.includes(`the id "${id}" of a planned device`), JSON.stringify(dup))
})

test('planDevices gives every kvm_extra error at once, and keeps the quoting error first', () => {
  const errors = invalidAtExtra(spec({ kvm_extra: '-vga std -device virtio-rng-pci -nic user' }, 1, 0))
  assert.equal(errors.map((e) => e.value), ['-vga std', '-device virtio-rng-pci', '-nic user'])
  const quote = planE(spec({ kvm_extra: "-device 'virtio-rng-pci" }, 1, 0))
  assert.ok(E.isLeft(quote) && formatError(quote.left).includes('unterminated single quote'), JSON.stringify(quote))
})

test.run()
