/**
 * Editing `kvm_cmd` in place for the devices that live there rather than in the disk and NIC
 * records — CD-ROMs whose medium changed — so that a restart or migration brings back the
 * medium the instance has now, not the one it was started with.
 *
 * @since 0.1.0
 */
import type { BlockdevOptions } from '../block/node.js'
import { placedProperties } from '../bus/address.js'
import { parseStructured, toJson, toKeyval, type JsonObject } from '../qemu-opts.js'
import { cmdDevices } from './bus.js'
import type { CmdWord } from './types.js'
import { totalOr } from '../total.js'

const isJson = (value: string): boolean => value.startsWith('{')

/**
 * `kvm_cmd` as argv words: every number (Ganeti's `-m <maxmem>`) as its decimal string. The
 * only way a runtime's words reach a command line.
 *
 * @example
 * ```ts
 * import { cmdArgv } from 'qemu-devplan'
 *
 * console.log(cmdArgv(['/usr/bin/kvm', '-m', 512])) // [ '/usr/bin/kvm', '-m', '512' ]
 * ```
 *
 * @since 0.2.0
 * @category runtime
 */
export const cmdArgv = (cmd: ReadonlyArray<CmdWord>): ReadonlyArray<string> =>
  // Only strings and numbers are words of kvm_cmd; anything else (or a non-array) adds none.
  totalOr([], () => (Array.isArray(cmd) ? cmd.flatMap((w: unknown) => (typeof w === 'number' ? [String(w)] : typeof w === 'string' ? [w] : [])) : []))

/** The structured options of a word; a number has none. */
const structured = (w: CmdWord | undefined, implied?: string): ReturnType<typeof parseStructured> =>
  typeof w === 'string' ? parseStructured(w, implied) : undefined

const render = (json: boolean, o: JsonObject): string => (json ? toJson(o) : toKeyval(o))

/**
 * Where `-device … id=<id>` stands in `cmd` (the index of its value), or -1.
 *
 * @since 0.1.0
 */
export const deviceIndex = (cmd: ReadonlyArray<CmdWord>, id: string): number =>
  cmd.findIndex((w, i) => i > 0 && cmd[i - 1] === '-device' && structured(w)?.['id'] === id)

/**
 * The `drive` of a command-line device, if it has a medium.
 *
 * @since 0.1.0
 */
export const deviceDrive = (cmd: ReadonlyArray<CmdWord>, id: string): string | undefined => {
  const i = deviceIndex(cmd, id)
  const drive = i < 0 ? undefined : structured(cmd[i])?.['drive']
  return typeof drive === 'string' ? drive : undefined
}

/**
 * The recorded options of the `-blockdev` nodes named in `names`, in command-line order.
 *
 * @since 0.1.0
 */
export const cmdNodes = (cmd: ReadonlyArray<CmdWord>, names: ReadonlySet<string>): ReadonlyArray<JsonObject> =>
  cmd.flatMap((w, i) => {
    if (i === 0 || cmd[i - 1] !== '-blockdev') return []
    const o = structured(w, 'driver')
    return o !== undefined && typeof o['node-name'] === 'string' && names.has(o['node-name']) ? [o as JsonObject] : []
  })

/**
 * `cmd` with the medium of device `id` replaced: the old nodes' `-blockdev` options dropped,
 * `nodes` (children first; empty for "no medium") inserted before the device, and the device's
 * `drive` set to the last of them or removed. Syntax follows the device's own option.
 *
 * @since 0.1.0
 */
export const setMedium = (cmd: ReadonlyArray<CmdWord>, id: string, oldNodes: ReadonlySet<string>, nodes: ReadonlyArray<BlockdevOptions>): ReadonlyArray<CmdWord> => {
  const at = deviceIndex(cmd, id)
  const value = cmd[at]
  const dev = cmdDevices(cmd).find((d) => d.id === id)
  const placed = dev?.placed
  if (at < 0 || typeof value !== 'string' || placed === undefined) return cmd
  const head = placedProperties(placed)
  const json = isJson(value)
  const parsed = parseStructured(value) ?? {}
  const top = nodes[nodes.length - 1]
  // The place first, then drive, then the rest: the order renderArgv gives a device.
  const rest = Object.fromEntries(Object.entries(parsed).filter(([k]) => !(k in head) && k !== 'drive')) as JsonObject
  const device: JsonObject = { ...head, ...(top === undefined ? {} : { drive: top['node-name'] }), ...rest }
  const out: CmdWord[] = []
  for (let i = 0; i < cmd.length; i++) {
    const w = cmd[i] ?? ''
    const next = cmd[i + 1]
    if (w === '-blockdev' && next !== undefined) {
      const name = structured(next)?.['node-name']
      if (typeof name === 'string' && oldNodes.has(name)) {
        i++
        continue
      }
    }
    if (i === at - 1) out.push(...nodes.flatMap((n) => ['-blockdev', render(json, n)]))
    out.push(i === at ? render(json, device) : w)
  }
  return out
}
