/**
 * The instance spec: what an orchestrator knows about a VM before QEMU runs. `decodeInstance`
 * turns unknown JSON into a complete, checked {@link Instance} or a list of readable errors.
 *
 * @since 0.1.0
 */
import { limitsOf, throttleErrors, throttleHvparam } from './block/throttle.js'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { boundedArray, closed, guarded, intIn, matching, UUID_PATTERN, withDefault } from './codecs.js'
import { DiskInput, passthroughErrors, toDisk, type Disk } from './disk.js'
import { fromValidationErrors, invalidInput, type DevplanError, type FieldError } from './errors.js'
import { HvparamsCodec, IGNORED_HVPARAMS, type Hvparams } from './hvparams.js'
import { diskDriver } from './devices/drivers.js'
import { ipFamily } from './ip.js'
import { nicErrors, NicInput, toNic, type Nic } from './nic.js'
import { chain, flatMapArray } from './hot.js'

const UUID = matching('a UUID such as "932df160-7a22-4067-a566-7e0ca8386133"', UUID_PATTERN)
const Hostname = matching('an instance name (letters, digits, ".", "_", "-", at most 253)', /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/)

const InstanceInput = closed(
  {
    name: Hostname,
    uuid: UUID,
    memory: intIn(16, 16 * 1024 * 1024),
    vcpus: withDefault(intIn(1, 255), 1),
    network_port: withDefault(intIn(0, 65535), 0),
    hvparams: HvparamsCodec,
    disks: withDefault(boundedArray(DiskInput, 64, 'disks'), []),
    nics: withDefault(boundedArray(NicInput, 32, 'nics'), [])
  },
  'Instance'
)

/**
 * A decoded instance: every field present, every default filled.
 *
 * @since 0.1.0
 * @category decode
 */
export interface Instance {
  readonly name: string
  readonly uuid: string
  /** MiB */
  readonly memory: number
  readonly vcpus: number
  /** Ganeti's network port of the instance: VNC's display is `network_port − 5900`; SPICE listens on it. 0: none. */
  readonly network_port: number
  readonly hvparams: Hvparams
  readonly disks: ReadonlyArray<Disk>
  readonly nics: ReadonlyArray<Nic>
  /** The hvparams the input set that the library does not model, with their values, in input order. */
  readonly unmodelled: ReadonlyArray<{ readonly hvparam: string; readonly value: unknown }>
}

const duplicates = <A>(items: ReadonlyArray<A>, key: (a: A) => string, path: (i: number) => string, what: string): ReadonlyArray<FieldError> =>
{
  // The first index of each key, as findIndex would find it: one pass, not one per item.
  const firsts = new Map<string, number>()
  return flatMapArray(items, (a, i) => {
    const k = key(a)
    const first = firsts.get(k)
    if (first === undefined) {
      firsts.set(k, i)
      return []
    }
    return [{ path: path(i), value: k, message: `${what} is the same as ${path(first)}'s` }]
  })
}

/** Rules that span fields; each error names the field a user would change. */
const crossFieldErrors = (inst: Instance): ReadonlyArray<FieldError> => {
  const h = inst.hvparams
  const errors: FieldError[] = []
  if (h.disk_aio === 'native' && h.disk_cache !== 'none' && h.disk_cache !== 'directsync') {
    errors.push({ path: 'hvparams.disk_aio', value: h.disk_aio, message: `"native" needs O_DIRECT: set disk_cache to "none" or "directsync" (it is ${JSON.stringify(h.disk_cache)})` })
  }
  // Ganeti's check_boot_parameters refuses this one. A boot_order naming a floppy, NIC or disk
  // the instance lacks, an initrd without a kernel, the second CD-ROM alone and vhost_net on a
  // NIC other than paravirtual are values Ganeti 3.0.2 ignores and starts the instance anyway:
  // the plan warns about them (lib/plan.ts) instead.
  if (h.kernel_path === '' && h.boot_order === 'cdrom' && h.cdrom_image_path === '') errors.push({ path: 'hvparams.boot_order', value: h.boot_order, message: '"cdrom" needs hvparams.cdrom_image_path' })
  inst.nics.forEach((n, i) => errors.push(...nicErrors(n, h, `nics[${i}]`)))
  inst.disks.forEach((d, i) => errors.push(...passthroughErrors(d, diskDriver(h.disk_type), `disks[${i}]`)))
  if (h.disk_type === 'ide') {
    inst.disks.forEach((d, i) => {
      // QEMU refuses ide-hd on a read-only node ("Block node is read-only"): IDE disks are writable.
      if (d.readOnly) errors.push({ path: `disks[${i}].mode`, value: 'ro', message: 'an ide disk cannot be read-only in QEMU; use disk_type "scsi-hd" or "paravirtual" for read-only disks' })
    })
  }
  errors.push(...machineErrors(inst))
  errors.push(...throttleErrors(limitsOf(h), (k) => `hvparams.${throttleHvparam(k)}`))
  errors.push(...duplicates(inst.disks, (d) => d.id, (i) => `disks[${i}].uuid`, 'the device id it gives'))
  errors.push(...duplicates(inst.nics, (n) => n.id, (i) => `nics[${i}].uuid`, 'the device id it gives'))
  errors.push(...duplicates(inst.nics, (n) => n.mac, (i) => `nics[${i}].mac`, 'the MAC address'))
  // One fd can back one queue of one NIC only: QEMU would share the tap and confuse both.
  const fds = flatMapArray(inst.nics, (n, i) => (n.backend.type === 'tap' && 'fds' in n.backend ? [...n.backend.fds, ...n.backend.vhostfds].map((fd) => ({ fd, at: `nics[${i}].backend` })) : []))
  errors.push(...duplicates(fds, (f) => String(f.fd), (i) => fds[i]?.at ?? '', 'an fd it uses'))
  return errors
}

const IGNORED: ReadonlySet<string> = new Set(IGNORED_HVPARAMS)

/** The decoder has checked the shape already: this only reads which ignored keys were set. */
const unmodelledOf = (input: unknown): Instance['unmodelled'] => {
  const hv = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['hvparams'] : undefined
  if (typeof hv !== 'object' || hv === null) return []
  return flatMapArray(Object.entries(hv), ([hvparam, value]) => (IGNORED.has(hvparam) ? [{ hvparam, value }] : []))
}

/** The machine hvparams that only make sense together. */
const machineErrors = (inst: Instance): ReadonlyArray<FieldError> => {
  const h = inst.hvparams
  const errors: FieldError[] = []
  const topology = ([['cpu_sockets', h.cpu_sockets], ['cpu_cores', h.cpu_cores], ['cpu_threads', h.cpu_threads]] as const).filter(([, n]) => n > 0)
  const product = topology.reduce((p, [, n]) => p * n, 1)
  // QEMU fills the members left out; what is given must still fit vcpus exactly.
  if (topology.length > 0 && (topology.length === 3 ? product !== inst.vcpus : inst.vcpus % product !== 0)) {
    const [first] = topology
    errors.push({
      path: `hvparams.${first?.[0] ?? 'cpu_sockets'}`,
      value: first?.[1],
      message: `the CPU topology ${topology.map(([k, n]) => `${k.slice(4)}=${n}`).join(', ')} does not make vcpus=${inst.vcpus} (${topology.length === 3 ? 'their product must equal it' : 'their product must divide it'})`
    })
  }
  if (h.security_model === 'user' && h.security_domain === '') errors.push({ path: 'hvparams.security_domain', value: '', message: 'security_model "user" needs the user to run QEMU as' })
  if (h.security_model !== 'user' && h.security_domain !== '') errors.push({ path: 'hvparams.security_domain', value: h.security_domain, message: `is only used with security_model "user" (it is ${JSON.stringify(h.security_model)})` })
  const vnc = h.vnc_bind_address
  if (vnc !== '' && !vnc.startsWith('/') && inst.network_port === 0) errors.push({ path: 'network_port', value: 0, message: `VNC on ${vnc} needs the instance's network_port (display = network_port - 5900)` })
  if (vnc === '' && (h.vnc_tls || h.vnc_password_file !== '')) errors.push({ path: h.vnc_tls ? 'hvparams.vnc_tls' : 'hvparams.vnc_password_file', value: h.vnc_tls ? true : h.vnc_password_file, message: 'needs hvparams.vnc_bind_address (VNC is off)' })
  if (h.vnc_x509_path !== '' && !h.vnc_tls) errors.push({ path: 'hvparams.vnc_x509_path', value: h.vnc_x509_path, message: 'needs hvparams.vnc_tls' })
  if (h.vnc_x509_verify && h.vnc_x509_path === '') errors.push({ path: 'hvparams.vnc_x509_verify', value: true, message: 'verifying clients needs their CA: set hvparams.vnc_x509_path' })
  errors.push(...spiceErrors(inst))
  return errors
}

/**
 * Ganeti's `check_spice_parameters` and `validate_spice_parameters`: the other spice_* need
 * spice_bind; an address must be of spice_ip_version's family; VNC and SPICE exclude each other.
 * The three with a non-empty default (playback compression, ciphers, vdagent) are exempt there
 * too, so a cluster's filled-in defaults still decode.
 */
const spiceErrors = (inst: Instance): ReadonlyArray<FieldError> => {
  const h = inst.hvparams
  const bind = h.spice_bind
  if (bind === '') {
    const needBind = [
      ['spice_ip_version', h.spice_ip_version !== 0],
      ['spice_password_file', h.spice_password_file !== ''],
      ['spice_image_compression', h.spice_image_compression !== ''],
      ['spice_jpeg_wan_compression', h.spice_jpeg_wan_compression !== ''],
      ['spice_zlib_glz_wan_compression', h.spice_zlib_glz_wan_compression !== ''],
      ['spice_streaming_video', h.spice_streaming_video !== ''],
      ['spice_use_tls', h.spice_use_tls]
    ] as const
    return flatMapArray(needBind, ([k, set]) => (set ? [{ path: `hvparams.${k}`, value: h[k], message: 'needs hvparams.spice_bind (SPICE is off)' }] : []))
  }
  const errors: FieldError[] = []
  if (h.vnc_bind_address !== '') errors.push({ path: 'hvparams.spice_bind', value: bind, message: `SPICE and VNC (vnc_bind_address ${JSON.stringify(h.vnc_bind_address)}) cannot both be on, as in Ganeti: clear one of them` })
  const family = ipFamily(bind)
  if (family !== undefined && h.spice_ip_version !== 0 && family !== h.spice_ip_version) {
    errors.push({ path: 'hvparams.spice_ip_version', value: h.spice_ip_version, message: `spice_bind ${JSON.stringify(bind)} is an IPv${family} address` })
  }
  // QEMU starts SPICE on port 0 too, listening nowhere (measured on 7.2 and 10.0).
  if (inst.network_port === 0) errors.push({ path: 'network_port', value: 0, message: `SPICE on ${bind} needs the instance's network_port (its ${h.spice_use_tls ? 'TLS ' : ''}port)` })
  return errors
}

const collect = <A, B>(items: ReadonlyArray<A>, f: (a: A, i: number) => E.Either<ReadonlyArray<FieldError>, B>): E.Either<ReadonlyArray<FieldError>, ReadonlyArray<B>> => {
  const results = items.map(f)
  const errors = flatMapArray(results, (r) => (E.isLeft(r) ? r.left : []))
  return errors.length > 0 ? E.left(errors) : E.right(flatMapArray(results, (r) => (E.isRight(r) ? [r.right] : [])))
}

/**
 * Decodes and checks an instance spec. Never throws: every problem comes back as an
 * `InvalidInput` error listing each field path with its value and what is wrong.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { decodeInstance, formatError } from 'qemu-devplan'
 *
 * const instance = decodeInstance({
 *   name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *   hvparams: { disk_type: 'scsi-hd' },
 *   disks: [{ uuid: '932df160-7a22-4067-a566-7e0ca8386133', path: '/dev/vg/vm1-root' }]
 * })
 * if (E.isLeft(instance)) throw new Error(formatError(instance.left))
 * console.log(instance.right.disks.length) // 1
 *
 * const wrong = decodeInstance({ name: 'vm1', memory: -1 })
 * if (E.isLeft(wrong)) console.log(formatError(wrong.left))
 * // uuid: is required: expected a UUID such as "932df160-7a22-4067-a566-7e0ca8386133"
 * // memory: expected an integer from 16 to 16777216, got -1
 * ```
 *
 * @since 0.1.0
 * @category decode
 */
export const decodeInstance = (input: unknown): E.Either<DevplanError, Instance> =>
  guarded(() =>
    pipe(
      InstanceInput.decode(input),
      E.mapLeft(fromValidationErrors),
      chain((i) => {
        const disks = collect(i.disks, (d, n) => toDisk(d, `disks[${n}]`))
        const nics = collect(i.nics, (x, n) => toNic(x, `nics[${n}]`))
        const errors = [...(E.isLeft(disks) ? disks.left : []), ...(E.isLeft(nics) ? nics.left : [])]
        if (E.isLeft(disks) || E.isLeft(nics)) return E.left(errors)
        const inst: Instance = {
          name: i.name,
          uuid: i.uuid.toLowerCase(),
          memory: i.memory,
          vcpus: i.vcpus,
          network_port: i.network_port,
          hvparams: i.hvparams,
          disks: disks.right,
          nics: nics.right,
          unmodelled: unmodelledOf(input)
        }
        const cross = crossFieldErrors(inst)
        return cross.length > 0 ? E.left(cross) : E.right(inst)
      }),
      E.mapLeft(invalidInput)
    )
  )
