/**
 * A device's place in the flat `-device` form DOMAIN writes (`driver, id, bus, addr` …), so that
 * specs compare with the documents rather than with the library's own tagged Address.
 */
import { placedProperties, type Placed } from '../../lib/index.js'

export interface Flat {
  readonly driver: string
  readonly id: string
  readonly bus: string
  readonly addr?: string
  readonly channel?: number
  readonly 'scsi-id'?: number
  readonly lun?: number
  readonly unit?: number
  readonly iobase?: number
  readonly irq?: number
  readonly port?: string
  readonly nr?: number
}

const flat = (p: Placed): Flat => {
  const o = placedProperties(p)
  return { ...o, driver: p.driver, id: p.id, bus: p.address.bus } as Flat
}

/** The flat form of a device (always placed) or of a runtime record (maybe not). */
export function hv(x: Placed | undefined): Flat
export function hv(x: { readonly placed: Placed | undefined } | undefined): Flat | undefined
export function hv(x: Placed | { readonly placed: Placed | undefined } | undefined): Flat | undefined {
  // A missing device fails the spec that looked for it.
  if (x === undefined) throw new Error('expected a device, found none')
  if ('address' in x) return flat(x)
  return x.placed === undefined ? undefined : flat(x.placed)
}
