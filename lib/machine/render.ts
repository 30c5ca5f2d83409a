/**
 * The machine options on the command line, in the target QEMU's form: booleans always as
 * `key=on|off` (QEMU warns on the short forms), every string escaped as `-device` values are,
 * and the options a release removed replaced by theirs (`-run-with`, `-machine acpi=off`).
 *
 * @since 0.2.0
 */
import { lifecycle } from '../qemu-changes.js'
import { escapeValue, toJson, toKeyval, type JsonObject } from '../qemu-opts.js'
import { MASTER_KEY_ID } from '../block/source.js'
import { features } from '../qemu-version.js'
import { audiodevArgs } from './sound.js'
import type { QemuVersion } from '../qemu-version.js'
import { QGA_CHARDEV, SERIAL_CHARDEV, VDAGENT_CHARDEV, VNC_TLS_ID, type MachineOptions, type Spice, type Vnc } from './options.js'

/**
 * `-machine`'s extra properties: `acpi=off` where `-no-acpi` is no longer current.
 *
 * @since 0.2.0
 */
export const machineProperties = (m: MachineOptions, qemu: QemuVersion): string =>
  !m.acpi && lifecycle('noAcpi', qemu) !== 'current' ? ',acpi=off' : ''

/**
 * `-smp`'s value: the vcpus, then the topology members given.
 *
 * @since 0.2.0
 */
export const smpValue = (vcpus: number, m: MachineOptions): string =>
  [String(vcpus), ...(['sockets', 'cores', 'threads'] as const).flatMap((k) => (m.topology[k] === undefined ? [] : [`${k}=${m.topology[k]}`]))].join(',')

const confinementArgs = (m: MachineOptions, qemu: QemuVersion): ReadonlyArray<string> => {
  const { user, chroot } = m.confinement
  const oldUser = user !== undefined && lifecycle('runas', qemu) === 'current'
  const oldChroot = chroot !== undefined && lifecycle('chroot', qemu) === 'current'
  const runWith = [
    ...(user !== undefined && !oldUser ? [`user=${escapeValue(user)}`] : []),
    ...(chroot !== undefined && !oldChroot ? [`chroot=${escapeValue(chroot)}`] : [])
  ]
  return [
    ...(oldUser ? ['-runas', user] : []),
    ...(oldChroot ? ['-chroot', chroot] : []),
    ...(runWith.length === 0 ? [] : ['-run-with', runWith.join(',')])
  ]
}

/**
 * The options that go with `-machine`: CPU model, firmware and clock flags, memory backing,
 * keymap and confinement.
 *
 * @since 0.2.0
 */
export const machineHeadArgs = (m: MachineOptions, qemu: QemuVersion): ReadonlyArray<string> => [
  // Before every disk's secrets, which name it as their keyid (and before any hot-added one).
  ...(m.masterKey === undefined
    ? []
    : ['-object', features(qemu).jsonDevice ? toJson({ 'qom-type': 'secret', id: MASTER_KEY_ID, format: 'raw', file: m.masterKey }) : `secret,${toKeyval({ id: MASTER_KEY_ID, format: 'raw', file: m.masterKey })}`]),
  ...(m.cpu === undefined ? [] : ['-cpu', m.cpu]),
  ...(!m.acpi && lifecycle('noAcpi', qemu) === 'current' ? ['-no-acpi'] : []),
  ...(m.noReboot ? ['-no-reboot'] : []),
  ...(m.memPath === undefined ? [] : ['-mem-path', m.memPath, '-mem-prealloc']),
  ...(m.localtime ? ['-rtc', 'base=localtime'] : []),
  ...(m.keymap === undefined ? [] : ['-k', m.keymap]),
  ...confinementArgs(m, qemu)
]

const socketChardev = (id: string, path: string): ReadonlyArray<string> => ['-chardev', `socket,id=${id},path=${escapeValue(path)},server=on,wait=off`]

const vncArgs = (vnc: Vnc): ReadonlyArray<string> => {
  const tls = vnc.tls
  const object =
    tls === undefined
      ? []
      : tls._tag === 'anon'
        ? ['-object', `tls-creds-anon,id=${VNC_TLS_ID},endpoint=server`]
        : ['-object', `tls-creds-x509,id=${VNC_TLS_ID},endpoint=server,dir=${escapeValue(tls.dir)},verify-peer=${tls.verifyPeer ? 'on' : 'off'}`]
  const listen = vnc.listen._tag === 'inet' ? `${vnc.listen.host}:${vnc.listen.display}` : vnc.listen._tag === 'unix' ? `unix:${escapeValue(vnc.listen.path)}` : 'none'
  const opts = [...(vnc.password ? ['password=on'] : []), ...(tls === undefined ? [] : [`tls-creds=${VNC_TLS_ID}`])]
  return [...object, '-vnc', [listen, ...opts].join(',')]
}

const given = (key: string, value: string | undefined): JsonObject => (value === undefined ? {} : { [key]: value })

/**
 * `-spice` in Ganeti's order of keys. -spice has no JSON form: the values are escaped as
 * `-device` key=value ones, and every boolean is `key=on|off`.
 */
const spiceArgs = (spice: Spice): ReadonlyArray<string> => {
  const tls = spice.tls
  const listen: JsonObject =
    tls === undefined
      ? { port: spice.port }
      : { 'tls-port': spice.port, 'x509-cacert-file': tls.caCertFile, 'x509-key-file': tls.keyFile, 'x509-cert-file': tls.certFile, ...given('tls-ciphers', tls.ciphers) }
  const opts: JsonObject = {
    addr: spice.addr,
    ...listen,
    ...(spice.password ? {} : { 'disable-ticketing': true }),
    ...(spice.ipVersion === undefined ? {} : { [`ipv${spice.ipVersion}`]: true }),
    ...given('image-compression', spice.imageCompression),
    ...given('jpeg-wan-compression', spice.jpegWanCompression),
    ...given('zlib-glz-wan-compression', spice.zlibGlzWanCompression),
    ...given('streaming-video', spice.streamingVideo),
    ...(spice.playbackCompression ? {} : { 'playback-compression': false }),
    ...(spice.vdagent ? {} : { 'agent-mouse': false })
  }
  return [...(spice.vdagent ? ['-chardev', `spicevmc,id=${VDAGENT_CHARDEV},name=vdagent`] : []), '-spice', toKeyval(opts)]
}

/**
 * The consoles and display: the serial console's and guest agent's sockets in `controlDir`, and
 * VNC or SPICE (with the vdagent's channel). The devices that use them are rendered with the
 * other devices.
 *
 * @since 0.2.0
 */
export const machineTailArgs = (m: MachineOptions, controlDir: string): ReadonlyArray<string> => [
  ...(m.serial === undefined ? [] : [...socketChardev(SERIAL_CHARDEV, `${controlDir}/${m.serial.socket}`), '-serial', `chardev:${SERIAL_CHARDEV}`]),
  ...(m.guestAgent === undefined ? [] : socketChardev(QGA_CHARDEV, `${controlDir}/${m.guestAgent.socket}`)),
  ...(m.vnc === undefined ? [] : vncArgs(m.vnc)),
  ...(m.spice === undefined ? [] : spiceArgs(m.spice)),
  ...audiodevArgs(m.audio)
]
