/**
 * kvm_extra against a real QEMU (DOMAIN §3, "Creation order is not argv order"). First the hazard
 * itself, on a command line built by hand from a plan without kvm_extra plus the words appended
 * (what the library rendered before it checked them): QEMU creates key=value `-device`s and the
 * devices of machine init before the plan's JSON `-device`s, and refuses the planned device whose
 * slot the extra one took. Then the same words through planDevices, refused; and the form the
 * refusal asks for, accepted, with QEMU putting every device where the plan says.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as assert from 'uvu/assert'
import { allDevices, decodeInstance, formatError, planDevices, renderArgv, type DeviceTree, type FieldError, type Instance } from '../../lib/index.js'
import { makeImage, pciSlots, qemuPath, qemuSuite, qemuVersion, startQemuExpectFailure, tempDir, withQemu, type TempDir } from './harness.js'
import { hv } from '../support/placed.js'

const test = qemuSuite('kvm_extra')

const fail = (message: string): never => {
  assert.unreachable(message)
  throw new Error(message)
}

type Hv = Readonly<Record<string, string | number>>

/** One SCSI disk on the controller and a CD-ROM on PCI (virtio-blk-pci): two planned PCI devices. */
const instance = async (tmp: TempDir, hv: Hv): Promise<Instance> => {
  const disk = await makeImage(tmp.path, 'disk0.raw', 'raw')
  const iso = await makeImage(tmp.path, 'cd.iso', 'raw')
  const r = decodeInstance({
    name: 'vm1',
    uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10',
    memory: 64,
    hvparams: { kvm_path: qemuPath(), disk_type: 'scsi-hd', cdrom_image_path: iso, cdrom_disk_type: 'paravirtual', ...hv },
    disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: disk }],
    nics: []
  })
  return E.isLeft(r) ? fail(formatError(r.left)) : r.right
}

const plan = (inst: Instance): E.Either<FieldError[], DeviceTree> => {
  const r = planDevices(inst, { qemu: qemuVersion })
  if (E.isRight(r)) return E.right(r.right)
  return r.left._tag === 'InvalidInput' ? E.left([...r.left.errors]) : fail(formatError(r.left))
}

const planned = (inst: Instance): DeviceTree => {
  const r = plan(inst)
  return E.isRight(r) ? r.right : fail(`expected a plan: ${JSON.stringify(r.left)}`)
}

const argvOf = (tree: DeviceTree, tmp: TempDir): ReadonlyArray<string> => renderArgv(tree, { qmpSocket: `${tmp.path}/qmp.sock`, accel: 'tcg' })

/** The pci.0 slot of every planned device, read from its hvinfo whatever kind it is. */
const plannedSlots = (tree: DeviceTree): ReadonlyArray<{ readonly id: string; readonly slot: number }> =>
  allDevices(tree).flatMap((d) => {
    const h = hv(d)
    return 'addr' in h && typeof h.addr === 'string' && h.bus === 'pci.0' ? [{ id: h.id, slot: parseInt(h.addr.replace(/^0x/, '').split('.')[0] ?? '', 16) }] : []
  })

const withTmp = async (fn: (tmp: TempDir) => Promise<void>): Promise<void> => {
  const tmp = await tempDir()
  try {
    await fn(tmp)
  } finally {
    await tmp.cleanup()
  }
}

// kvm_pci_reservations 2 leaves nothing reserved, so the plan's first device QEMU would place
// itself (the controller) takes 0x2, the very slot QEMU gives the first device it places itself
// on a -nodefaults pc.
const LOW: Hv = { kvm_pci_reservations: 2 }

/** Words that make a device QEMU places itself, and the device QEMU then names as the holder. */
const HAZARDS: ReadonlyArray<{ readonly words: (tmp: TempDir) => ReadonlyArray<string>; readonly holder: string }> = [
  { words: () => ['-device', 'virtio-rng-pci,id=rng0'], holder: 'in use by virtio-rng-pci,id=rng0' },
  { words: () => ['-vga', 'std'], holder: 'in use by VGA' },
  { words: () => ['-nic', 'user'], holder: 'in use by e1000' },
  { words: () => ['-audio', 'driver=none,model=hda'], holder: 'in use by intel-hda' },
  { words: (tmp) => ['-drive', `file=${tmp.path}/disk0.raw,format=raw,if=virtio`], holder: 'in use by virtio-blk-pci' }
]

for (const h of HAZARDS) {
  test(`hazard: ${h.words({ path: '/tmp', cleanup: async () => {} }).join(' ')} appended to a plan takes a planned device's slot, and QEMU refuses it`, () =>
    withTmp(async (tmp) => {
      const tree = planned(await instance(tmp, LOW))
      assert.ok(plannedSlots(tree).some((p) => p.slot === 2), 'the plan puts a device at 0x2, where QEMU puts the first device it places itself')
      const stderr = await startQemuExpectFailure([...argvOf(tree, tmp), ...h.words(tmp)], { dir: tmp.path })
      assert.ok(stderr.includes('PCI: slot 2 function 0 not available for') && stderr.includes(h.holder), stderr)
    }))

  test(`refused: the same words as kvm_extra, through planDevices`, () =>
    withTmp(async (tmp) => {
      const words = h.words(tmp)
      const r = plan(await instance(tmp, { ...LOW, kvm_extra: words.join(' ') }))
      assert.ok(E.isLeft(r), 'planDevices must refuse it')
      if (E.isLeft(r)) assert.equal(r.left.map((e) => [e.path, e.value]), [['hvparams.kvm_extra', words.join(' ')]])
    }))
}

test('a planned PCI CD-ROM fails the same way', () =>
  withTmp(async (tmp) => {
    // No controller: the CD-ROM is the first device on the command line that sits in the
    // reserved range (the machine's own devices come after it).
    const tree = planned(await instance(tmp, { disk_type: 'paravirtual' }))
    const cd = plannedSlots(tree).find((p) => p.id === 'cdrom1') ?? fail('no PCI CD-ROM planned')
    // Explicit extra devices on every slot below the CD-ROM's, then one without addr: QEMU gives
    // it the CD-ROM's slot, before the CD-ROM exists.
    const below = Array.from({ length: cd.slot - 2 }, (_, i) => ['-device', `virtio-rng-pci,id=fill${i},bus=pci.0,addr=0x${(i + 2).toString(16)}`]).flat()
    const stderr = await startQemuExpectFailure([...argvOf(tree, tmp), ...below, '-device', 'virtio-rng-pci,id=rng1'], { dir: tmp.path })
    assert.ok(stderr.includes(`PCI: slot ${cd.slot} function 0 not available for virtio-blk-pci, in use by virtio-rng-pci,id=rng1`), stderr)
  }))

/** Starts the plan, and checks that QEMU put every planned device, and each extra one, at its slot. */
const startsAsPlanned = async (tmp: TempDir, tree: DeviceTree, extra: ReadonlyArray<{ readonly id: string; readonly slot: number }>): Promise<void> => {
  await withQemu(argvOf(tree, tmp), async (vm) => {
    const slots = await pciSlots(vm)
    assert.is(vm.stderr(), '', 'QEMU says nothing')
    const at = (id: string): number | undefined => slots.find((s) => s.qdev_id === id && s.function === 0)?.slot
    const expected = [...plannedSlots(tree), ...extra]
    assert.ok(expected.length >= 3, JSON.stringify(expected))
    assert.equal(
      expected.map((p) => [p.id, at(p.id)]),
      expected.map((p) => [p.id, p.slot])
    )
  }, { dir: tmp.path })
}

test('accepted: -device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9 with a SCSI controller and a CD-ROM planned', () =>
  withTmp(async (tmp) => {
    const tree = planned(await instance(tmp, { kvm_extra: '-device virtio-rng-pci,id=rng0,bus=pci.0,addr=0x9' }))
    assert.ok(plannedSlots(tree).some((p) => p.id === 'scsi') && plannedSlots(tree).some((p) => p.id === 'cdrom1'))
    await startsAsPlanned(tmp, tree, [{ id: 'rng0', slot: 9 }])
  }))

test('accepted: the JSON form, and the rewrite the refusal itself suggests', () =>
  withTmp(async (tmp) => {
    const refused = plan(await instance(tmp, { kvm_extra: '-device virtio-rng-pci,id=rng0' }))
    const message = E.isLeft(refused) ? (refused.left[0]?.message ?? '') : fail('an addr-less device must be refused')
    const fix = /write it as -device (\S+)/.exec(message)?.[1] ?? fail(`no rewrite in ${message}`)
    const slot = parseInt(/addr=0x([0-9a-f]+)$/.exec(fix)?.[1] ?? fail(`no addr in ${fix}`), 16)
    const json = JSON.stringify({ driver: 'virtio-rng-pci', id: 'rng1', bus: 'pci.0', addr: '0xa' })
    const tree = planned(await instance(tmp, { kvm_extra: `-device ${fix} -device '${json}'` }))
    await startsAsPlanned(tmp, tree, [{ id: 'rng0', slot }, { id: 'rng1', slot: 0xa }])
  }))

test.run()
