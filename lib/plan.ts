/**
 * Planning: a decoded instance and a target → a device tree where every device has its place
 * (a tagged address) and its backend. Placement follows Ganeti: disks and NICs on `pci.0` from
 * `kvm_pci_reservations` upward, all disks first; one target per SCSI device; explicit IDE
 * bus/unit. Devices QEMU would place itself (the controller, CD-ROMs on PCI) get the slot QEMU
 * would choose, written out so that the plan is the whole truth.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { cacheSettings } from './block/cache.js'
import { blockGraph } from './block/node.js'
import { emptyBusState, place, placeAll, traverseSteps, type BusStep } from './bus/state.js'
import { CATALOG, driverInfo, type Driver } from './devices/catalog.js'
import { SCSI_CONTROLLER_ID } from './bus/scsi.js'
import type { Boot, BlockDevice, DeviceTree, NicDevice, ScsiController } from './devices.js'
import { fieldError, invalidInput, type DevplanError, type FieldError } from './errors.js'
import { type Hvparams } from './hvparams.js'
import { cdromDriverOf, diskDriver, nicDriver } from './devices/drivers.js'
import type { Disk } from './disk.js'
import type { Instance } from './instance.js'
import { nicWarnings, type Nic } from './nic.js'
import { ignored, notModelled, type IoSpaceWarning, type PlanWarning } from './warnings.js'
import { addSpares, portDevices, SPARE_PORTS_HVPARAM } from './bus/ports.js'
import { features, showVersion, type QemuVersion } from './qemu-version.js'
import { machineDevices, machineOptions, NO_HOST } from './machine/plan.js'
import { describeMachine } from './machine/machines.js'
import type { MachineDescription } from './machine/description.js'
import { checkExtra } from './extra.js'
import { instanceArg, totalE } from './total.js'
import { cdromSource, diskDevice, graphWarnings, nicDevice, passthroughCacheWarnings, unthrottledErrors } from './devices/build.js'
import { splitWords } from './shell.js'
import { limitsOf } from './block/throttle.js'
import { machineFamily, toTarget, type Target, type TargetInput } from './target.js'
import { chain, flatMapArray } from './hot.js'

type Step<A> = BusStep<A>

const planDisks =
  (h: Hvparams, qemu: QemuVersion, disks: ReadonlyArray<Disk>): Step<ReadonlyArray<BlockDevice>> =>
  (s) =>
    pipe(
      placeAll(
        diskDriver(h.disk_type),
        disks.map((d) => d.id)
      )(s),
      E.map(([placed, next]) => {
        // The instance's limits, read once for all its disks.
        const limits = limitsOf(h)
        return [placed.map((p, i) => diskDevice(disks[i] as Disk, p, h, qemu, limits)), next] as const
      })
    )

const planCdrom =
  (h: Hvparams) =>
  ([id, location]: readonly [string, string]): Step<BlockDevice> =>
  (s) => {
    const driver = cdromDriverOf(h)
    return pipe(
      place(driver, id, 'qemu')(s),
      E.map(([placed, next]) => [
        { kind: 'cdrom', uuid: '', ...placed, graph: blockGraph(id, { source: cdromSource(location), format: 'raw', backing: [], readOnly: true }) },
        next
      ] as const)
    )
  }

const planFloppy =
  (h: Hvparams) =>
  (path: string): Step<BlockDevice> =>
  (s) =>
    pipe(
      place('floppy', 'floppy0')(s),
      E.map(([placed, next]) => [
        {
          kind: 'floppy',
          uuid: '',
          ...placed,
          graph: blockGraph('floppy0', { source: { _tag: 'local', driver: 'file', path }, format: 'raw', backing: [], readOnly: false, cache: cacheSettings(h.disk_cache) }),
          writeCache: cacheSettings(h.disk_cache).writeCache
        },
        next
      ] as const)
    )

const planNics =
  (h: Hvparams, nics: ReadonlyArray<Nic>): Step<ReadonlyArray<NicDevice>> =>
  (s) =>
    pipe(
      placeAll(
        nicDriver(h.nic_type),
        nics.map((n) => n.id)
      )(s),
      E.map(([placed, next]) => [placed.map((p, i) => nicDevice(nics[i] as Nic, p, h)), next] as const)
    )

const bootOf = (inst: Instance, disks: ReadonlyArray<BlockDevice>, cdroms: ReadonlyArray<BlockDevice>, nics: ReadonlyArray<NicDevice>): Boot => {
  const h = inst.hvparams
  if (h.kernel_path !== '') {
    // Ganeti's order: the root, the serial console (at serial_speed), then kernel_args.
    const append = [h.root_path === '' ? '' : `root=${h.root_path}`, h.serial_console ? `console=ttyS0,${h.serial_speed}` : '', h.kernel_args].filter((a) => a !== '').join(' ')
    return { _tag: 'kernel', kernel: h.kernel_path, initrd: h.initrd_path, append }
  }
  // Ganeti boots the first CD-ROM only (cdrom_image_path); the floppy and the network by the
  // legacy boot order, which Ganeti sets for the network even without a NIC (-boot n).
  const first = { disk: disks[0], cdrom: cdroms.find((c) => c.id === 'cdrom1'), network: nics[0], floppy: undefined }[h.boot_order]
  if (h.boot_order === 'floppy') return h.floppy_image_path === '' ? { _tag: 'none' } : { _tag: 'floppy' }
  if (h.boot_order === 'network' && first === undefined) return { _tag: 'network' }
  return first === undefined ? { _tag: 'none' } : { _tag: 'device', id: first.id }
}

/**
 * The values of an instance that Ganeti 3.0.2 ignores (it starts the instance all the same), as
 * warnings: the plan ignores them too.
 */
const ignoredWarnings = (inst: Instance): ReadonlyArray<PlanWarning> => {
  const h = inst.hvparams
  const out: PlanWarning[] = []
  if (inst.nics.length > 0) out.push(...nicWarnings(h))
  if (h.kernel_path === '') {
    if (h.initrd_path !== '') out.push(ignored('hvparams.initrd_path', h.initrd_path, 'an initrd is loaded with a kernel only, and hvparams.kernel_path is empty: ignored, as Ganeti 3.0.2 ignores it'))
    const lacks =
      h.boot_order === 'floppy' && h.floppy_image_path === ''
        ? 'no floppy (hvparams.floppy_image_path is empty)'
        : h.boot_order === 'network' && inst.nics.length === 0
          ? 'no NIC (the legacy boot order still asks for the network, -boot order=n, as Ganeti 3.0.2 renders -boot n)'
          : h.boot_order === 'disk' && inst.disks.length === 0
            ? 'no disk'
            : undefined
    if (lacks !== undefined) out.push(ignored('hvparams.boot_order', h.boot_order, `the instance has ${lacks}: the firmware picks the boot device, as under Ganeti 3.0.2`))
  }
  out.push(...passthroughCacheWarnings(h, inst.disks, 'each disk'))
  return out
}

const targetErrors = (inst: Instance, target: Target, machine: string): ReadonlyArray<FieldError> => {
  const f = features(target.qemu)
  const v = showVersion(target.qemu)
  const errors: FieldError[] = []
  if (!f.blockdev) errors.push({ path: 'target.qemu', value: v, message: 'QEMU before 2.9 has no stable -blockdev; the library plans for 2.9 and later' })
  if (inst.hvparams.disk_aio === 'io_uring' && !f.ioUring) errors.push({ path: 'hvparams.disk_aio', value: 'io_uring', message: `"io_uring" needs QEMU 5.0 or later (target is ${v})` })
  const family = machineFamily(machine)
  const field = inst.hvparams.machine_version === '' ? 'target.machine' : 'hvparams.machine_version'
  if (family === undefined) errors.push({ path: field, value: machine, message: 'expected a pc (i440fx) or q35 machine type' })
  return errors
}

/** A floppy on a machine without a floppy controller (q35): said at the hvparam, not as a full bus. */
const floppyErrors = (h: Hvparams, machine: string, description: MachineDescription): ReadonlyArray<FieldError> =>
  h.floppy_image_path !== '' && description.floppy.units === 0
    ? [{ path: 'hvparams.floppy_image_path', value: h.floppy_image_path, message: `machine ${machine} has no floppy controller: leave floppy_image_path empty, or use a pc machine` }]
    : []

const spareStep =
  (count: number): Step<void> =>
  (s) =>
    s.ports === undefined ? E.right([undefined, s] as const) : pipe(addSpares(count, s.pci, s.ports), E.map(([pci, ports]) => [undefined, { ...s, pci, ports }] as const))

/** SeaBIOS gives an empty port no IO window (measured on 7.2), and IO-BAR devices behind more than ~10 ports exhaust the 64K IO space. */
const ioSpaceWarnings = (h: Hvparams, q35: boolean, nics: number): ReadonlyArray<IoSpaceWarning> => {
  const driver = nicDriver(h.nic_type)
  if (!q35 || CATALOG[driver].sits !== 'pci' || driverInfo(driver)?.ioBar !== true) return []
  const spares = h.kvm_pcie_spare_ports
  const why = [
    ...(nics + spares > 10 ? [`${nics} NICs and ${spares} spare ports for hot-added ones need IO windows of 4K each behind their root ports: more than about 10 exhaust the IO space (QEMU docs/pcie.txt)`] : []),
    ...(spares > 0 ? ['a NIC hot-added into an empty spare port gets no IO BAR (the firmware gives empty ports no IO window)'] : [])
  ]
  return why.length === 0
    ? []
    : [{ _tag: 'IoSpace', path: 'hvparams.nic_type', value: h.nic_type, message: `${driver} needs an IO BAR on q35: ${why.join('; ')}. Use nic_type "paravirtual" (virtio needs none), or hvparams.${SPARE_PORTS_HVPARAM} 0` }]
}

/**
 * Plans an instance for a target (`{ qemu: '7.2' }`, or a version structure, plus an optional
 * machine type): every device placed, every backend built. `Left` on a bus
 * that is full (naming the device that did not fit), a feature the target lacks, or a
 * machine type the planner does not handle.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { allDevices, decodeInstance, formatError, planDevices, showAddress } from 'qemu-devplan'
 *
 * const tree = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { disk_type: 'scsi-hd' },
 *     disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 *   }),
 *   E.chain((instance) => planDevices(instance, { qemu: '7.2' }))
 * )
 * if (E.isLeft(tree)) throw new Error(formatError(tree.left))
 * for (const d of allDevices(tree.right)) console.log(d.id, d.driver, showAddress(d.address))
 * // scsi lsi pci.0 slot 0x6
 * // disk-932df160-7a22-4067 scsi-hd scsi.0 0:0:0
 * // balloon0 virtio-balloon-pci pci.0 slot 0x4
 * ```
 *
 * @since 0.1.0
 * @category plan
 */
export const planDevices = (instance: Instance, target: TargetInput): E.Either<DevplanError, DeviceTree> =>
  pipe(
    instanceArg('instance', instance),
    chain(() => toTarget(target)),
    chain((t) => totalE('instance', () => planFor(instance, t)))
  )

const planFor = (instance: Instance, target: Target): E.Either<DevplanError, DeviceTree> => {
  const h = instance.hvparams
  const machine = h.machine_version !== '' ? h.machine_version : (target.machine ?? 'pc')
  const description = describeMachine(machine)
  const errors = [...targetErrors(instance, target, machine), ...(description === undefined ? [] : floppyErrors(h, machine, description))]
  if (errors.length > 0 || description === undefined) return E.left(invalidInput(errors))
  const extra = splitWords(h.kvm_extra)
  if (E.isLeft(extra)) return E.left(fieldError('hvparams.kvm_extra', h.kvm_extra, extra.left))

  // Each CD-ROM keeps its id whether or not the other is there, so that a medium change by id
  // finds it; the second alone is placed where the first would be, as Ganeti's lone -drive is.
  const cdromLocations = ([['cdrom1', h.cdrom_image_path], ['cdrom2', h.cdrom2_image_path]] as const).filter(([, p]) => p !== '')
  const cdDriver = cdromDriverOf(h)
  // Like Ganeti, a SCSI disk_type brings its controller even with no disk yet, so that disks can
  // be hot-added to the running instance.
  const onScsi = (d: Driver): boolean => CATALOG[d].sits === 'scsi'
  const needsScsi = onScsi(diskDriver(h.disk_type)) || (cdromLocations.length > 0 && onScsi(cdDriver))

  const controllerStep: Step<ReadonlyArray<ScsiController>> = (s) =>
    needsScsi
      ? pipe(
          place(h.scsi_controller_type, SCSI_CONTROLLER_ID, 'qemu')(s),
          E.map(([placed, next]) => [[{ kind: 'scsi-controller', ...placed }], next] as const)
        )
      : E.right([[], s] as const)

  // Order matters: Ganeti placed all disks, then all NICs; CD-ROMs and the floppy come after so
  // that disk and NIC slots stay the ones Ganeti would give.
  // The machine's own devices come last: inside the reserved range their slots are held for
  // them from the start, and below it they must not take the slots Ganeti gives disks and NICs.
  const unthrottled = unthrottledErrors(h, target.qemu, diskDriver(h.disk_type))
  // Step by step, each Left returned as it comes (the same first error as a chain of them,
  // without an accumulator object spread again at every step).
  if (unthrottled.length > 0 && instance.disks.length > 0) return E.left(invalidInput(unthrottled))
  const options = machineOptions(instance, target.host ?? NO_HOST)
  if (E.isLeft(options)) return options
  const placed = controllerStep(emptyBusState(description, h.kvm_pci_reservations, h.scsi_controller_type))
  if (E.isLeft(placed)) return placed
  const [controllers, s0] = placed.right
  const disksStep = planDisks(h, target.qemu, instance.disks)(s0)
  if (E.isLeft(disksStep)) return disksStep
  const [disks, s1] = disksStep.right
  const nicsStep = planNics(h, instance.nics)(s1)
  if (E.isLeft(nicsStep)) return nicsStep
  const [nics, s2] = nicsStep.right
  const cdromsStep = traverseSteps(cdromLocations, planCdrom(h))(s2)
  if (E.isLeft(cdromsStep)) return cdromsStep
  const [cdroms, s3] = cdromsStep.right
  const floppiesStep = traverseSteps(h.floppy_image_path === '' ? [] : [h.floppy_image_path], planFloppy(h))(s3)
  if (E.isLeft(floppiesStep)) return floppiesStep
  const [floppies, s4] = floppiesStep.right
  // q35: the spare ports after every planned device's port, so that their count never moves one.
  const spares = spareStep(h.kvm_pcie_spare_ports)(s4)
  if (E.isLeft(spares)) return spares
  const machineStep = machineDevices(h, description)(spares.right[1])
  if (E.isLeft(machineStep)) return machineStep
  const [machineDevs, s5] = machineStep.right
  const rootPorts = s5.ports === undefined ? [] : portDevices(s5.pci.bus, s5.ports)
  const tree: DeviceTree = {
    qemu: target.qemu,
    machine,
    name: instance.name,
    uuid: instance.uuid,
    memory: instance.memory,
    vcpus: instance.vcpus,
    binary: h.kvm_path,
    accel: h.kvm_flag === 'disabled' ? 'tcg' : 'kvm',
    rootPorts,
    controllers,
    disks,
    cdroms,
    floppies,
    nics,
    boot: bootOf(instance, disks, cdroms, nics),
    extra: extra.right,
    machineDevices: machineDevs,
    machineOptions: options.right,
    warnings: [
      ...flatMapArray(instance.disks, (d) => d.warnings ?? []),
      ...flatMapArray(disks, (d, i) => graphWarnings(d.graph, `disks[${i}].${instance.disks[i]?.from === 'source' ? 'source' : 'uri'}`, target.qemu)),
      ...notModelled(instance.unmodelled),
      ...ignoredWarnings(instance),
      ...ioSpaceWarnings(h, rootPorts.length > 0, nics.length)
    ]
  }
  // Last, once every device has its place: kvm_extra must leave the plan's places alone, as
  // QEMU creates its key=value devices before the plan's JSON ones (see lib/extra.ts).
  return checkExtra(h.kvm_pci_reservations)(tree)
}
