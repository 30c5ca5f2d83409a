/**
 * The machine descriptions the planner knows, by `-machine type=`.
 *
 * @since 0.2.0
 */
import { machineFamily } from '../target.js'
import type { MachineDescription } from './description.js'
import { PC } from './pc.js'

/**
 * The description of a machine type (`pc`, `pc-i440fx-7.2`); `undefined` for one the planner
 * does not place devices on (q35 comes with its own description).
 *
 * @since 0.2.0
 */
export const describeMachine = (type: string): MachineDescription | undefined => (machineFamily(type) === 'pc' ? PC : undefined)
