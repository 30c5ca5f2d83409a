/**
 * The machine descriptions the planner knows, by `-machine type=`.
 *
 * @since 0.2.0
 */
import { machineFamily } from '../target.js'
import type { MachineDescription } from './description.js'
import { PC } from './pc.js'
import { Q35 } from './q35.js'

/**
 * The description of a machine type (`pc`, `pc-i440fx-7.2`, `q35`, `pc-q35-7.2`); `undefined`
 * for one the planner does not place devices on.
 *
 * @since 0.2.0
 * @category plan
 */
export const describeMachine = (type: string): MachineDescription | undefined => {
  if (typeof type !== 'string') return undefined
  const family = machineFamily(type)
  return family === 'pc' ? PC : family === 'q35' ? Q35 : undefined
}
