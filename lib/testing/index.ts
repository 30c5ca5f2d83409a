/**
 * `qemu-devplan/testing`: a scripted executor for users' own unit tests, so that code built on
 * this library can run its plans without a QEMU.
 *
 * @since 0.3.0
 */
export { scriptedExecutor, type ScriptedExecutor, type ScriptedOptions, type Fault, type SentCommand } from './scripted.js'
export { emptyState, stateOfArgv, stateOfRuntime, type ScriptedState, type ScriptedDevice, type ScriptedNode, type ScriptedJob, type ScriptedObject } from './state.js'
