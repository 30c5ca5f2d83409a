/**
 * Sound (Ganeti's `soundhw`): the card at the sound slot of the machine, its codec, and the
 * audio backend it plays to. Ganeti's `-soundhw` is gone from QEMU 7.2, and its replacement
 * `-audio model=` creates the card at machine init in the first free slot, with no id: it cannot
 * be placed. The plan gives the card its `-device` at the sound slot and an explicit
 * `-audiodev`: `spice` with SPICE on (as Ganeti), else `none` (without any, QEMU opens ALSA and
 * writes its errors on stderr).
 *
 * @since 0.2.0
 */
import type { Hvparams } from '../hvparams.js'
import { fixed, none, onRoleSlot, sequence, type MachineBuilder } from './step.js'

/**
 * The audio backend the card plays to.
 *
 * @since 0.2.0
 */
export interface Audiodev {
  readonly driver: 'none' | 'spice'
  readonly id: string
}

/**
 * The id of the audio backend.
 *
 * @since 0.2.0
 */
export const AUDIODEV_ID = 'audio0'

/**
 * The audio backend of these hvparams, if they have a sound card.
 *
 * @since 0.2.0
 */
export const audiodevOf = (h: Hvparams): Audiodev | undefined =>
  h.soundhw === '' ? undefined : { driver: h.spice_bind === '' ? 'none' : 'spice', id: AUDIODEV_ID }

/**
 * `-audiodev`.
 *
 * @since 0.2.0
 */
export const audiodevArgs = (a: Audiodev | undefined): ReadonlyArray<string> => (a === undefined ? [] : ['-audiodev', `${a.driver},id=${a.id}`])

/**
 * The card (`sound0`) at the sound slot; for `hda`, its duplex codec at address 0 of the card's
 * bus.
 *
 * @since 0.2.0
 */
export const sound: MachineBuilder = (h) => {
  const audiodev = { audiodev: AUDIODEV_ID }
  switch (h.soundhw) {
    case '':
      return none
    case 'hda':
      return sequence([
        onRoleSlot('sound', 'intel-hda', 'sound0'),
        fixed([{ kind: 'machine', driver: 'hda-duplex', id: 'sound0-codec0', address: { _tag: 'port', kind: 'hda', bus: 'sound0.0', port: 0 }, properties: audiodev }])
      ])
    case 'ac97':
      return onRoleSlot('sound', 'AC97', 'sound0', audiodev)
    case 'es1370':
      return onRoleSlot('sound', 'ES1370', 'sound0', audiodev)
  }
}
