/**
 * Upgrading a runtime file written by an older Ganeti: Ganeti's own `_UpgradeSerializedRuntime`
 * (2.16) / `_upgrade_serialized_runtime` (3.1), applied to the JSON so that the result is the
 * file Ganeti's upgrade produces, key order included. Devices that carried a `pci` slot get the
 * hvinfo they were started with (legacy id `hot<kind>-<uuid group>-pci-<slot>`), so that they can
 * be addressed, migrated and hot-removed by that id.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { PCI_BUS } from '../bus/pci.js'
import { pciAddress } from '../bus/address.js'
import { encodeHvinfo } from './hvinfo.js'
import { invalidInput, type DevplanError } from '../errors.js'
import { legacyDeviceId } from '../ids.js'
import type { Json, JsonObject } from '../qemu-opts.js'
import { fixCmd } from './cmd-fixes.js'
import { readRuntimeJson } from './file.js'
import { omit, youngArray, type RuntimeDiskJson, type RuntimeJson } from './json.js'
import { chain } from '../hot.js'

const PCI_KEY: ReadonlySet<string> = new Set(['pci'])

/**
 * Ganeti's `_DEVICE_DRIVER`: `paravirtual` is the virtio device, any other type is its own
 * driver name, verbatim (so `ide` stays `ide`: Ganeti only ever recorded `pci` for paravirtual
 * disks, and every NIC type is its QEMU driver).
 *
 * @since 0.1.0
 */
export const legacyDriver = (kind: 'disk' | 'nic', type: string): string =>
  type === 'paravirtual' ? (kind === 'disk' ? 'virtio-blk-pci' : 'virtio-net-pci') : type

/**
 * A uuid for a NIC from before Ganeti 2.8, which had none. Ganeti draws a random one; a pure
 * library cannot, so the NIC's position gives a fixed, well-formed uuid instead.
 *
 * @since 0.1.0
 */
export const placeholderUuid = (index: number): string => `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`

const fail = (path: string, value: unknown, message: string): E.Either<DevplanError, never> => E.left(invalidInput([{ path, value, message }]))

const typeParam = (hvparams: JsonObject, key: 'disk_type' | 'nic_type'): E.Either<DevplanError, string> => {
  const v = hvparams[key]
  // Ganeti's hvparams always hold both; a file without one takes Ganeti's default.
  if (v === undefined) return E.right('paravirtual')
  return typeof v === 'string' ? E.right(v) : fail(`hvparams.${key}`, v, 'expected a string')
}

/**
 * A device dict as the reader returns it: its own fresh copy of the file's (see `toJson`), which
 * nothing else holds, so the upgrade adds its keys to it instead of spreading it into another.
 */
type Fresh = { [key: string]: Json }

/** `disks[1]`, `nics[0]`: spelled only for a problem, never for a dict that upgrades. */
const at = (kind: 'disk' | 'nic', i: number): string => `${kind === 'disk' ? 'disks' : 'nics'}[${i}]`

/**
 * Ganeti's `update_hvinfo`: a dict without `hvinfo` gets one — built from `pci` (which is then
 * removed) or empty. Python appends the new key, so `hvinfo` comes last; a dict that has an
 * `hvinfo` already is left untouched, a stale `pci` next to it included.
 */
const updateHvinfo = (dict: Fresh, kind: 'disk' | 'nic', hvparams: JsonObject, i: number): E.Either<DevplanError, Fresh> => {
  if ('hvinfo' in dict) return E.right(dict)
  if (!('pci' in dict)) {
    dict['hvinfo'] = {}
    return E.right(dict)
  }
  const uuid = dict['uuid']
  if (typeof uuid !== 'string') return fail(`${at(kind, i)}.uuid`, uuid, 'expected the device uuid (the legacy id is made from it)')
  const pci = dict['pci']
  if (typeof pci !== 'number' || !Number.isInteger(pci) || pci < 0 || pci > 31) return fail(`${at(kind, i)}.pci`, pci, 'expected a PCI slot (an integer from 0 to 31)')
  const type = typeParam(hvparams, kind === 'disk' ? 'disk_type' : 'nic_type')
  if (E.isLeft(type)) return type
  // Python appends the new key last; Ganeti's upgrade writes addr before bus.
  const hvinfo = encodeHvinfo({ driver: legacyDriver(kind, type.right), id: legacyDeviceId(kind, uuid, pci), address: pciAddress(PCI_BUS, pci) }, 'addr-bus')
  // Without pci, not by delete (which would leave the dict slow to read and to stringify).
  const upgraded = omit(dict, PCI_KEY)
  upgraded['hvinfo'] = hvinfo
  return E.right(upgraded)
}

const upgradeNic =
  (hvparams: JsonObject) =>
  (nic: JsonObject, i: number): E.Either<DevplanError, JsonObject> => {
    const dict = nic as Fresh
    if (!('uuid' in dict)) dict['uuid'] = placeholderUuid(i)
    return updateHvinfo(dict, 'nic', hvparams, i)
  }

const upgradeDisk =
  (hvparams: JsonObject) =>
  (entry: RuntimeDiskJson, i: number): E.Either<DevplanError, RuntimeDiskJson> => {
    const dict = updateHvinfo(entry[0] as Fresh, 'disk', hvparams, i)
    if (E.isLeft(dict)) return dict
    return E.right(dict.right === entry[0] ? entry : youngArray(dict.right, entry[1], entry[2]))
  }

const all = <A>(items: ReadonlyArray<A>, f: (a: A, i: number) => E.Either<DevplanError, A>): E.Either<DevplanError, ReadonlyArray<A>> => {
  const out: A[] = youngArray()
  for (let i = 0; i < items.length; i++) {
    const r = f(items[i] as A, i)
    if (E.isLeft(r)) return r
    out.push(r.right)
  }
  return E.right(out)
}

const upgradeFile = (file: RuntimeJson): E.Either<DevplanError, RuntimeJson> => {
  const [cmd, nicsIn, hvIn, disksIn, stamp] = file
  const nics = all(nicsIn, upgradeNic(hvIn))
  if (E.isLeft(nics)) return nics
  const disks = all(disksIn, upgradeDisk(hvIn))
  if (E.isLeft(disks)) return disks
  if (stamp !== undefined) {
    // A stamped file was written by this library, which never writes the old options: its
    // kvm_cmd is left exactly as rendered (kvm_extra may legitimately hold any word).
    return E.right(youngArray(cmd, nics.right, hvIn, disks.right, stamp))
  }
  return E.right(youngArray(fixCmd(cmd), nics.right, hvIn, disks.right))
}

/**
 * Upgrades a runtime file of any generation (the parsed JSON value) to the current one, with
 * Ganeti's semantics:
 * - a 3-element file gets `kvm_disks = []`;
 * - a NIC without `uuid` (before 2.8) gets one (`placeholderUuid`: Ganeti's is random);
 * - a disk or NIC dict with `"pci": N` and no `hvinfo` gets `hvinfo = {"driver": <from the
 *   file's own disk_type / nic_type>, "id": "hot<disk|nic>-<first uuid group>-pci-<N>",
 *   "addr": "0x<N hex>", "bus": "pci.0"}` in that key order, and loses `pci`; without `pci` it
 *   gets `hvinfo = {}`; a dict with `hvinfo` is not touched;
 * - `kvm_cmd` and hvparams get Ganeti's rewrites (`fixCmd`, `fixedDiscard`) — all
 *   of them, whether or not the command has a `-vnc` (Ganeti skips two without it) — unless the
 *   file carries a stamp (this library wrote it; its command line is exactly as rendered).
 *
 * Where Ganeti would crash, the upgrade goes on: a file whose hvparams lack `disk_type` /
 * `nic_type` takes Ganeti's default (`paravirtual`) for the driver (Ganeti: KeyError); a
 * 3-element file is upgraded as Ganeti 2.16 and 3.0 did (Ganeti 3.1's reader indexes the
 * missing fourth element and fails).
 *
 * Idempotent: upgrading an upgraded file returns it unchanged. The stamp, when present, is
 * checked first: a file from a newer format is `Unsupported`. Never throws; hostile JSON
 * (prototype keys, wrong types, huge arrays) is `InvalidInput` naming the path.
 *
 * @example
 * ```ts
 * import * as E from 'fp-ts/lib/Either.js'
 * import { formatError, upgradeRuntime } from 'qemu-devplan'
 *
 * // A Ganeti 2.7 runtime file: [kvm_cmd, kvm_nics, hvparams], a NIC without uuid, no kvm_disks.
 * const text = `[["/usr/bin/kvm", "-name", "vm1", "-m", 512],
 *   [{"mac": "aa:00:00:35:d5:1f", "ip": null, "nicparams": {"mode": "bridged", "link": "br0"}}],
 *   {"kvm_path": "/usr/bin/kvm", "disk_type": "paravirtual", "nic_type": "paravirtual"}]`
 * const upgraded = upgradeRuntime(JSON.parse(text))
 * if (E.isLeft(upgraded)) throw new Error(formatError(upgraded.left))
 * const [, nics, , disks] = upgraded.right // [kvm_cmd, kvm_nics, hvparams, kvm_disks]
 * console.log(nics[0]?.['uuid'], disks.length) // 00000000-0000-4000-8000-000000000000 0
 * ```
 *
 * @since 0.1.0
 * @category runtime
 */
export const upgradeRuntime = (json: unknown): E.Either<DevplanError, RuntimeJson> => {
  try {
    return chain(upgradeFile)(readRuntimeJson(json))
  } catch (e) {
    // Only a hostile value (a proxy, a throwing getter) can get here.
    return fail('', undefined, `cannot be read as a runtime file (${e instanceof Error ? e.message : 'unknown error'})`)
  }
}
