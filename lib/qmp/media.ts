/**
 * Changing the medium of a CD-ROM on a running instance: open the tray, take the old medium
 * out and delete its nodes, add the new nodes, insert, close. The drive stays where it is; the
 * runtime's `kvm_cmd` is rewritten so that a restart or migration gets the new medium.
 *
 * @since 0.1.0
 * @category media
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { blockGraph, type BlockdevOptions } from '../block/node.js'
import { fieldError, type DevplanError } from '../errors.js'
import { protocolNodeName } from '../ids.js'
import { driverInfo } from '../devices/catalog.js'
import { ImageLocation, type Hvparams } from '../hvparams.js'
import { cdromSource } from '../devices/build.js'
import { cmdDevices } from '../runtime/bus.js'
import { cmdNodes, deviceDrive, setMedium } from '../runtime/cmd.js'
import { cmdSections } from '../runtime/cmd-devices.js'
import { parseVersion } from '../qemu-version.js'
import type { Runtime } from '../runtime/types.js'
import { blockdevAdd, blockdevCloseTray, blockdevDel, blockdevInsertMedium, blockdevOpenTray, blockdevRemoveMedium } from './commands.js'
import { commandStep, type CommandStep, type QmpPlan, type Undo } from './plan.js'
import { optionsArg, runtimeArg, totalE } from '../total.js'
import { notMigrating } from './hotplug.js'

/** Media steps undo by the opposite tray or medium command. */
const undo = (command: CommandStep['command']): Undo => ({ command, alreadyDone: [] })

const IMAGE_PARAM: Readonly<Record<string, string>> = { cdrom1: 'cdrom_image_path', cdrom2: 'cdrom2_image_path' }

/**
 * Options of {@link planChangeMedium}.
 *
 * @since 0.3.0
 * @category media
 */
export interface MediumOptions {
  /**
   * The status of the instance's migration (`query-migrate`'s): while one is in progress the
   * change is refused (`MigrationInProgress`) — QEMU accepts tray commands then, but the target
   * was started with the old medium and would not get the new one.
   */
  readonly migration?: string
}

/**
 * Plans a medium change of CD-ROM `id` (`cdrom1`, `cdrom2`): `location` is an absolute path or
 * an http(s) URL, or `null` to eject. Only drives with a tray (ide-cd, scsi-cd) have removable
 * media; a CD-ROM on virtio-blk is refused. `options` since 0.3.0.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { decodeInstance, formatError, planChangeMedium, planDevices, toRuntime } from 'qemu-devplan'
 *
 * const runtime = pipe(
 *   decodeInstance({
 *     name: 'vm1', uuid: '7f3c2a9e-52d1-4c6b-9b0e-2f1d8a6c4e10', memory: 512,
 *     hvparams: { cdrom_image_path: '/srv/iso/debian-12.iso', cdrom_disk_type: 'ide' }
 *   }),
 *   E.chain((instance) => pipe(planDevices(instance, { qemu: '7.2' }), E.chain((tree) => toRuntime(instance, tree, { qmpSocket: '/run/qemu/vm1.qmp' }))))
 * )
 * const plan = pipe(runtime, E.chain((rt) => planChangeMedium(rt, 'cdrom1', '/srv/iso/debian-13.iso')))
 * if (E.isLeft(plan)) throw new Error(formatError(plan.left))
 * console.log(plan.right.steps.map((s) => s.description).join('; '))
 * // open the tray of cdrom1; remove the medium of cdrom1; blockdev-del cdrom1; … ; close the tray of cdrom1
 * ```
 *
 * @since 0.1.0
 * @category media
 */
export const planChangeMedium = (runtime: Runtime, id: string, location: string | null, options?: MediumOptions): E.Either<DevplanError, QmpPlan> =>
  pipe(
    runtimeArg('runtime', runtime),
    E.chain(() => optionsArg('options', options)),
    E.chain((o) => notMigrating(typeof id === 'string' ? id : 'medium', o)),
    E.chain(() => (typeof id === 'string' ? E.right(true) : E.left(fieldError('id', id, 'expected the id of a CD-ROM or floppy of the runtime')))),
    E.chain(() => (location === null || typeof location === 'string' ? E.right(true) : E.left(fieldError('location', location, 'expected the new medium, or null to eject')))),
    E.chain(() => totalE('runtime', () => changeMediumOf(runtime, id, location)))
  )

const changeMediumOf = (runtime: Runtime, id: string, location: string | null): E.Either<DevplanError, QmpPlan> => {
  const typed = runtime.stamp?.devices
  const dev = typed !== undefined ? typed.find((d) => d.device.id === id)?.device : cmdDevices(runtime.cmd).find((d) => d.id === id)
  if (dev === undefined) return E.left({ _tag: 'UnknownDevice', id })
  if (driverInfo(dev.driver)?.tray !== true || driverInfo(dev.driver)?.role !== 'cdrom') return E.left({ _tag: 'Unsupported', device: id, reason: `${dev.driver} has no removable medium (only ide-cd and scsi-cd have a tray)` })
  // The same rule as hvparams.cdrom_image_path, where the location is recorded.
  if (location !== null && (location === '' || !ImageLocation.is(location))) {
    return E.left({ _tag: 'InvalidInput', errors: [{ path: 'location', value: location, message: 'expected an absolute path or an http:// or https:// URL (no NUL, no lone surrogate)' }] })
  }
  const typedGraph = 'graph' in dev ? dev.graph : undefined
  const current = typedGraph !== undefined ? (typedGraph.nodes.length === 0 ? undefined : typedGraph.top) : deviceDrive(runtime.cmd, id)
  const oldNames = new Set(current === undefined ? [] : [current, protocolNodeName(current)])
  // Without typed devices (a format-1 file) the old medium's nodes are rebuilt from the location
  // the runtime records, typed as blockdev-add needs them; read back from a key=value command
  // line every value is a string.
  const recorded = IMAGE_PARAM[id] === undefined ? undefined : runtime.hvparams[IMAGE_PARAM[id] ?? '']
  const oldNodes: ReadonlyArray<BlockdevOptions> =
    typedGraph !== undefined
      ? typedGraph.nodes
      : current === id && typeof recorded === 'string' && recorded !== ''
        ? blockGraph(id, { source: cdromSource(recorded), format: 'raw', backing: [], readOnly: true }).nodes
        : (cmdNodes(runtime.cmd, oldNames) as ReadonlyArray<BlockdevOptions>)
  const byName = new Map(oldNodes.map((n) => [n['node-name'], n]))
  const fresh = location === null ? [] : blockGraph(id, { source: cdromSource(location), format: 'raw', backing: [], readOnly: true }).nodes
  const top = fresh[fresh.length - 1]

  const eject: ReadonlyArray<CommandStep> =
    current === undefined
      ? []
      : [
          commandStep(`remove the medium of ${id}`, blockdevRemoveMedium(id), undo(blockdevInsertMedium(id, current))),
          ...[current, protocolNodeName(current)].flatMap((name) => {
            const node = byName.get(name)
            return node === undefined ? [] : [commandStep(`blockdev-del ${name}`, blockdevDel(name), undo(blockdevAdd(node)))]
          })
        ]
  const insert: ReadonlyArray<CommandStep> =
    top === undefined
      ? []
      : [
          ...fresh.map((n) => commandStep(`blockdev-add ${n['node-name']} (${n.driver})`, blockdevAdd(n), undo(blockdevDel(n['node-name'])))),
          commandStep(`insert ${top['node-name']} into ${id}`, blockdevInsertMedium(id, top['node-name']), undo(blockdevRemoveMedium(id)))
        ]
  return pipe(
    E.right<DevplanError, QmpPlan>({
      title: location === null ? `eject ${id}` : `change the medium of ${id} to ${location}`,
      steps: [
        // force: open even if the guest locked the tray, as a change requested by the host must.
        commandStep(`open the tray of ${id}`, blockdevOpenTray(id, true), undo(blockdevCloseTray(id))),
        ...eject,
        ...insert,
        commandStep(`close the tray of ${id}`, blockdevCloseTray(id), undo(blockdevOpenTray(id, true)))
      ],
      before: runtime,
      after: withMedium(runtime, id, oldNames, fresh, location),
      // CD-ROM media are file, host_cdrom or http(s): nothing any target deprecates yet.
      warnings: []
    })
  )
}

/** The runtime once the medium is changed: the typed device and its words, or (format 1) the words. */
const withMedium = (runtime: Runtime, id: string, oldNames: ReadonlySet<string>, fresh: ReadonlyArray<BlockdevOptions>, location: string | null): Runtime => {
  const key = IMAGE_PARAM[id]
  // The hvparams the instance runs with say which image each drive holds.
  const params = key === undefined ? runtime.params : E.map((h: Hvparams): Hvparams => ({ ...h, [key]: location ?? '' }))(runtime.params)
  const hvparams = key === undefined ? runtime.hvparams : { ...runtime.hvparams, [key]: location ?? '' }
  const stamp = runtime.stamp
  const layout = stamp?.layout
  const qemu = stamp === undefined ? undefined : parseVersion(stamp.qemu)
  if (stamp === undefined || layout === undefined || stamp.devices === undefined || qemu === undefined) {
    return { ...runtime, cmd: setMedium(runtime.cmd, id, oldNames, fresh), hvparams, params }
  }
  const top = fresh[fresh.length - 1]
  const devices = stamp.devices.map((d) =>
    d.device.id === id && 'graph' in d.device ? { ...d, device: { ...d.device, graph: { top: top?.['node-name'] ?? '', nodes: fresh } } } : d
  )
  const words = cmdSections(qemu, devices).devices
  const from = layout.head + layout.controllers
  return {
    ...runtime,
    cmd: [...runtime.cmd.slice(0, from), ...words, ...runtime.cmd.slice(from + layout.devices)],
    hvparams,
    params,
    stamp: { ...stamp, layout: { ...layout, devices: words.length }, devices }
  }
}
