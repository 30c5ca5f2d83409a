/**
 * qemu-devplan: pure planning of QEMU/KVM virtual hardware.
 *
 * decode → plan → render: `decodeInstance` (unknown JSON → Instance), `planDevices`
 * (Instance + Target → DeviceTree with every placement), `renderArgv` (DeviceTree → argv).
 *
 * @since 0.1.0
 */
export { decodeInstance, type Instance } from './instance.js'
export type { Disk } from './disk.js'
export type { Nic, NicBackend } from './nic.js'
export { decodeTarget, toTarget, type Target, type TargetInput, type MachineFamily } from './target.js'
export { planDevices } from './plan.js'
export { renderArgv, renderSections, joinSections, showArgv, type RenderOptions, type ArgvSections } from './argv.js'
export {
  allDevices,
  deviceOptions,
  netdevOptions,
  type Boot,
  type BlockDevice,
  type Device,
  type DeviceTree,
  type MachineDevice,
  type NicDevice,
  type ScsiController
} from './devices.js'
export { addressProperties, placedProperties, showAddress, type Address, type Placed } from './bus/address.js'
export { decodeHvinfo, encodeHvinfo, type HvinfoOrder } from './runtime/hvinfo.js'
export { CATALOG, driverInfo, isDriver, type Driver, type DriverInfo, type DeviceRole, type BusKind } from './devices/catalog.js'
export type { BlockdevOptions, BlockGraph, FormatNode, FilterNode, ProtocolNode, ImageSource, ImageFormat, SourceObject } from './block/node.js'
export { backingFilename } from './block/filename.js'
export { MASTER_KEY_ID, type SecretInput, type SourceInput } from './block/source.js'
export type { ObjectOptions, ThrottleGroupObject, SecretObject, TlsCredsObject } from './block/object.js'
export { THROTTLE_KEYS, type ThrottleKey, type ThrottleLimits } from './block/throttle.js'
export type { BusState } from './bus/state.js'
export type { Json, JsonObject } from './qemu-opts.js'
export type { SocketAddress, RemoteSource, InetAddress, IscsiHeaderDigest } from './block/uri.js'
export { type Hvparams, type DiskAio, type DiskCache, type DiskType, type NicType, type ScsiControllerType, type BootOrder, DISK_TYPES, NIC_TYPES, SCSI_CONTROLLER_TYPES, DISK_CACHES, DISK_AIOS, BOOT_ORDERS } from './hvparams.js'
export { SOUND_MODELS, VGA_TYPES, SPICE_IMAGE_COMPRESSIONS, SPICE_WAN_COMPRESSIONS, SPICE_STREAMING_VIDEOS, SPICE_TLS_CIPHERS_DEFAULT, type SoundModel, type VgaType } from './hvparams-machine.js'
export { diskDriver, cdromDriver, cdromDriverOf, nicDriver } from './devices/drivers.js'
export { formatError, type DevplanError, type FieldError } from './errors.js'
export { parseVersion, features, type QemuVersion, type Features } from './qemu-version.js'
export { CHANGES, lifecycle, type Change, type ChangeName, type Lifecycle, type Release, type DeprecatedWarning } from './qemu-changes.js'
export type { PlanWarning, NotModelledWarning, IgnoredWarning, IoSpaceWarning } from './warnings.js'
export type { MachineOptions, Vnc, VncListen, VncTls, Spice, SpiceTls, Confinement } from './machine/options.js'
export type { HostFacts } from './machine/plan.js'
export { PC, PC_SLOTS } from './machine/pc.js'
export { Q35, Q35_SLOTS } from './machine/q35.js'
export { SPARE_PORTS_HVPARAM, type PortLayout } from './bus/ports.js'
export type { MachineDescription, MachineRole } from './machine/description.js'
export { describeMachine } from './machine/machines.js'
export type { Executor, QmpCommand, QmpReply, QmpEvent, TransportError } from './qmp/executor.js'
export { decodeDisk, localSource } from './disk.js'
export { decodeNic } from './nic.js'
export { planHotAdd, type HotAddRequest, type HotplugOptions } from './qmp/hotplug.js'
export { planHotRemove } from './qmp/unplug.js'
export { planThrottle, decodeLimits } from './qmp/throttle.js'
export { planResize } from './qmp/resize.js'
export { planSnapshot, type SnapshotRequest, type SnapshotRequestInput, type SnapshotOptions } from './qmp/snapshot.js'
export { planMirror } from './qmp/mirror.js'
export type { JobOptions } from './qmp/copy-target.js'
export { planClone } from './qmp/clone.js'
export type { CopyRequest, CopyRequestInput } from './qmp/copy-target.js'
export { runPlan, type RunOutcome, type StepError, type Leftover, type LogEntry } from './qmp/runner.js'
export type { QmpPlan, PlanStep, CommandStep, UnplugStep, WaitStep, ReplyCheck, Undo, AlreadyDone } from './qmp/plan.js'
export { stepCommand, undoCommands } from './qmp/plan.js'
export type { EventMatch, EventValue } from './qmp/event.js'
/**
 * Typed QMP commands and the codecs of the replies and events the library reads.
 *
 * @since 0.1.0
 * @category executor
 */
export * as qmp from './qmp/commands.js'
export { runtimeBusState, runtimeCmdDevices, runtimeHvparams, type ReadDevice } from './runtime/bus.js'
export type { CmdWord, CmdDevice, CmdLayout, Runtime, RuntimeDisk, RuntimeNic, RuntimeStamp } from './runtime/types.js'
export { makeRuntime, decodeRuntimeParams } from './runtime/params.js'
export { cmdArgv } from './runtime/cmd.js'
export { planChangeMedium, type MediumOptions } from './qmp/media.js'
export { planMigrate, tcpUri, type MigrateInput, type MigrateOptions, type Destination, type MigrationRecord } from './qmp/migrate.js'
export { migrationFigures, type MigrationFigures } from './qmp/migration-status.js'
export { incomingArgv, planIncoming, type Incoming, type IncomingOptions, type IncomingInput, type IncomingPlans } from './qmp/incoming.js'
export { decodeMigrationSettings, MIGRATION_CAPABILITIES, type MigrationSettings, type MigrationCapability, type CapabilityLife } from './hvparams-migration.js'
export type { MigrationVersions } from './runtime/migratable.js'
export { planStart, startFacts, runtimeStartFacts, passwordProtocols, type StartFacts, type StartInput, type Passwords, type Displays } from './qmp/start.js'
export { secret, isSecret, redactCommand, REDACTED, type Secret } from './qmp/secret.js'
/**
 * A display QEMU can protect with a password (the same type as `qmp.DisplayProtocol`).
 *
 * @since 0.2.0
 * @category executor
 */
export type { DisplayProtocol } from './qmp/commands.js'
export { decodeRuntime, encodeRuntime, parseRuntime } from './runtime/codec.js'
export { upgradeRuntime } from './runtime/upgrade.js'
export { downgradeRuntime, type DowngradeTarget, type Downgraded, type LostDevice } from './runtime/downgrade.js'
export { toRuntime, type RecordOptions } from './runtime/record.js'
export { runtimeArgv, runtimeBlockDevices, runtimeNicDevices, type RebuildOptions } from './runtime/rebuild.js'
export { RUNTIME_FORMAT, RUNTIME_WRITER } from './runtime/file.js'
export type { RuntimeJson, RuntimeDiskJson } from './runtime/json.js'
