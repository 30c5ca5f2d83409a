/**
 * What every command handler of the scripted QEMU gets: its arguments, the fd that came with it,
 * the QEMU version whose texts it speaks, and a way to emit events. Internal.
 */
import type { Draft } from 'immer'
import type { QmpReply } from '../qmp/executor.js'
import type { QemuVersion } from '../qemu-version.js'
import type { ScriptedState } from './state.js'

export type Args = Readonly<Record<string, unknown>>

export interface Ctx {
  readonly fd: number | undefined
  readonly qemu: QemuVersion
  readonly emit: (event: string, data: unknown) => void
  /** The virtual size of an image the model was not told (`ScriptedOptions.imageBytes`). */
  readonly imageBytes: number
  /** How long a job takes to its next step of its own (`ScriptedOptions.jobMs`). */
  readonly jobMs: number
}

export type Handler = (d: Draft<ScriptedState>, a: Args, ctx: Ctx) => QmpReply

export const ok = (value: unknown = {}): QmpReply => ({ _tag: 'Return', value })
export const generic = (desc: string): QmpReply => ({ _tag: 'Error', class: 'GenericError', desc })
export const notFound = (desc: string): QmpReply => ({ _tag: 'Error', class: 'DeviceNotFound', desc })

/** A string argument, or the reply QEMU gives when it is missing (measured: `getfd` without `fdname`). */
export const need = (a: Args, key: string): string | QmpReply => {
  const v = a[key]
  return typeof v === 'string' ? v : generic(v === undefined ? `Parameter '${key}' is missing` : `Invalid parameter type for '${key}', expected: string`)
}

export const isReply = (u: string | QmpReply): u is QmpReply => typeof u !== 'string'
