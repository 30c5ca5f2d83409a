/**
 * The second walk of spec/qemu/scripted-texts.spec.ts: a disk as main plans it (a throttle filter
 * `d0` over qcow2 `d0-a` over file `d0-a-p`, its own throttle group), then the commands that
 * reconfigure a running graph: limits, resize, snapshots, transactions, mirror and backup jobs.
 * An entry whose command starts with `#` is a lever of the model only (QEMU meets the same
 * situation by itself: the failing mirror's target is a blkdebug node that fails every write).
 */
import type { ScriptedExecutor } from '../../lib/testing/index.js'

export type Cmd = readonly [string, Readonly<Record<string, unknown>>?]

/** The images the walk uses: `a` holds data (so that a mirror writes), `g` names another image as its backing file, `r` is raw. */
export type Images = Readonly<Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'r' | 'u' | 'w', string>>

export const graphArgv = (img: Images): ReadonlyArray<string> => [
  '-device', JSON.stringify({ driver: 'virtio-scsi-pci', id: 'scsi', bus: 'pci.0', addr: '0x6' }),
  '-object', JSON.stringify({ 'qom-type': 'throttle-group', id: 'throttle-d0', limits: {} }),
  '-blockdev', JSON.stringify({ driver: 'file', 'node-name': 'd0-a-p', filename: img.a }),
  '-blockdev', JSON.stringify({ driver: 'qcow2', 'node-name': 'd0-a', file: 'd0-a-p', backing: null }),
  '-blockdev', JSON.stringify({ driver: 'throttle', 'node-name': 'd0', 'throttle-group': 'throttle-d0', file: 'd0-a' }),
  '-device', JSON.stringify({ driver: 'scsi-hd', id: 'disk0', bus: 'scsi.0', channel: 0, 'scsi-id': 0, lun: 0, drive: 'd0' })
]

/** A model lever as a script entry. */
export const lever = (sx: ScriptedExecutor, [execute, args]: Cmd): boolean => {
  if (execute === '#failJob') sx.failJob(String(args?.['id']), String(args?.['error']))
  return execute.startsWith('#')
}

const limits = (value: Readonly<Record<string, unknown>>): Cmd => ['qom-set', { path: '/objects/throttle-d0', property: 'limits', value }]
const getLimits: Cmd = ['qom-get', { path: '/objects/throttle-d0', property: 'limits' }]
const file = (name: string, filename: string): Cmd => ['blockdev-add', { driver: 'file', 'node-name': name, filename }]
const qcow2 = (name: string, fileNode: string): Cmd => ['blockdev-add', { driver: 'qcow2', 'node-name': name, file: fileNode, backing: null }]
const mirror = (id: string, device: string, target: string, replaces: string): Cmd => ['blockdev-mirror', { 'job-id': id, device, target, replaces, sync: 'full', 'auto-dismiss': false }]
const snap = (node: string, overlay: string) => ({ type: 'blockdev-snapshot', data: { node, overlay } })
const nodes: Cmd = ['query-named-block-nodes']
const jobs: Cmd = ['query-jobs']

export const graphScript = (img: Images): ReadonlyArray<Cmd> => [
  // limits: merged, checked as throttle_is_valid checks
  getLimits,
  limits({ 'iops-total': 100 }),
  limits({ 'bps-read': 1000 }),
  getLimits,
  limits({ 'iops-read': 5 }),
  limits({ 'iops-total': 0, 'iops-read': 5 }),
  getLimits,
  limits({ 'iops-total-max': 10 }),
  limits({ 'iops-read-max': 10, 'iops-read-max-length': 0 }),
  limits({ 'iops-read-max': 1 }),
  limits({ 'iops-read-max-length': 5 }),
  limits({ 'iops-size': 4096, 'iops-read': 0 }),
  limits({ 'bps-read': -1 }),
  limits({ nope: 1 }),
  ['qom-set', { path: '/objects/nope', property: 'limits', value: {} }],
  ['qom-get', { path: '/objects/nope', property: 'limits' }],
  ['qom-get', { path: '/objects/throttle-d0', property: 'nope' }],
  ['qom-get', { path: '/objects/throttle-d0', property: 'x-bps-read' }],
  ['object-del', { id: 'throttle-d0' }],
  ['object-add', { 'qom-type': 'throttle-group', id: 'tg2', limits: { 'iops-total': 1, 'iops-read': 1 } }],
  ['object-add', { 'qom-type': 'throttle-group', id: 'tg2', limits: { 'bps-write': 5 } }],
  ['qom-get', { path: '/objects/tg2', property: 'limits' }],
  ['object-del', { id: 'tg2' }],
  // no limits again: the jobs below read through the filter
  limits({ 'iops-read': 0, 'bps-read': 0 }),
  getLimits,
  // resize: the top node and what is below it; a lower node leaves the top's size
  ['block_resize', { 'node-name': 'd0', size: 2097152 }],
  nodes,
  ['block_resize', { 'node-name': 'd0-a', size: 4194304 }],
  nodes,
  ['block_resize', { 'node-name': 'd0-a-p', size: 8388608 }],
  ['block_resize', { 'node-name': 'nope', size: 8388608 }],
  ['block_resize', { device: 'nope', size: 8388608 }],
  ['block_resize', { 'node-name': 'd0', size: 1000 }],
  ['block_resize', { 'node-name': 'd0', size: -1 }],
  ['block_resize', { 'node-name': 'd0', size: 1048576 }],
  nodes,
  // snapshots
  file('r-p', img.r),
  ['blockdev-add', { driver: 'raw', 'node-name': 'r', file: 'r-p' }],
  file('o2-p', img.b),
  qcow2('o2', 'o2-p'),
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'r' }],
  ['blockdev-snapshot', { node: 'nope', overlay: 'o2' }],
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'nope' }],
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'd0-a' }],
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'd0' }],
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'o2' }],
  nodes,
  ['query-block'],
  ['blockdev-snapshot', { node: 'd0-a', overlay: 'o2' }],
  ['blockdev-snapshot', { node: 'o2', overlay: 'o2' }],
  ['blockdev-del', { 'node-name': 'd0-a' }],
  ['blockdev-del', { 'node-name': 'o2' }],
  file('o3-p', img.d),
  qcow2('o3', 'o3-p'),
  file('o4-p', img.e),
  qcow2('o4', 'o4-p'),
  ['transaction', { actions: [snap('o2', 'o3'), snap('nope', 'o4')] }],
  ['transaction', { actions: [snap('o2', 'o3'), snap('o2', 'o4')] }],
  nodes,
  ['transaction', { actions: [snap('o2', 'o3')] }],
  ['transaction', { actions: [] }],
  ['transaction', { actions: [{ type: 'nope', data: {} }] }],
  nodes,
  // mirror: to a new image, replacing the filter's child; completed, the filter reads the target
  file('t-p', img.c),
  qcow2('t', 't-p'),
  mirror('m1', 'o3', 't', 'o3'),
  mirror('m1', 'nope', 't', 'o3'),
  mirror('m1', 'd0', 'nope', 'o3'),
  ['job-complete', { id: 'm1' }],
  ['job-cancel', { id: 'm1' }],
  ['job-dismiss', { id: 'm1' }],
  jobs,
  mirror('m1', 'd0', 't', 'o3'),
  jobs,
  mirror('m2', 'd0', 't', 'o3'),
  ['job-dismiss', { id: 'm1' }],
  ['blockdev-del', { 'node-name': 't' }],
  ['job-complete', { id: 'm1' }],
  jobs,
  ['job-complete', { id: 'm1' }],
  ['job-cancel', { id: 'm1' }],
  ['job-dismiss', { id: 'm1' }],
  jobs,
  ['job-dismiss', { id: 'm1' }],
  nodes,
  ['query-block'],
  // backup, a cancelled mirror, a failing mirror
  file('k-p', img.f),
  qcow2('k', 'k-p'),
  ['blockdev-backup', { 'job-id': 'b1', device: 'd0', target: 'k', sync: 'full', 'auto-dismiss': false }],
  jobs,
  ['job-complete', { id: 'b1' }],
  ['job-dismiss', { id: 'b1' }],
  file('u-p', img.u),
  qcow2('u', 'u-p'),
  mirror('m2', 'd0', 'u', 't'),
  ['job-cancel', { id: 'm2' }],
  jobs,
  ['job-dismiss', { id: 'm2' }],
  ['blockdev-add', { driver: 'qcow2', 'node-name': 'w', backing: null, file: { driver: 'blkdebug', 'node-name': 'w-dbg', 'inject-error': [{ event: 'pwritev', errno: 5 }], image: { driver: 'file', 'node-name': 'w-p', filename: img.w } } }],
  ['#failJob', { id: 'm3', error: 'Input/output error' }],
  mirror('m3', 'd0', 'w', 't'),
  jobs,
  ['job-complete', { id: 'm3' }],
  ['job-dismiss', { id: 'm3' }],
  jobs,
  nodes,
  // last, as QEMU opens g's backing file as nodes of its own: an overlay with a backing image
  file('o1-p', img.g),
  ['blockdev-add', { driver: 'qcow2', 'node-name': 'o1', file: 'o1-p' }],
  ['blockdev-snapshot', { node: 't', overlay: 'o1' }]
]
