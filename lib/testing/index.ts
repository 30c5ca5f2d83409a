/**
 * `qemu-devplan/testing`: a scripted executor for users' own unit tests, so that code built on
 * this library can run its plans without a QEMU.
 *
 * @since 0.3.0
 */
export { scriptedExecutor } from './scripted.js'
export type { ScriptedExecutor, ScriptedOptions, Fault, SentCommand } from './types.js'
export { stateOfArgv, stateOfRuntime } from './seed.js'
export { emptyState, type ScriptedState, type ScriptedDevice, type ScriptedNode, type ScriptedJob, type ScriptedObject } from './state.js'
