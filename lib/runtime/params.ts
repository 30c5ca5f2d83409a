/**
 * A runtime's hvparams, decoded once: when a file is read or an instance is recorded. Lenient
 * for the values Ganeti retired, so that every file Ganeti wrote is read.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { fieldError, fromValidationErrors, invalidInput, type DevplanError } from '../errors.js'
import { HvparamsLenientCodec, type Hvparams } from '../hvparams.js'
import type { JsonObject } from '../qemu-opts.js'
import type { Runtime } from './types.js'
import { isRecord, prop, totalOr } from '../total.js'
import { guarded } from '../codecs.js'

/**
 * The hvparams a runtime runs with, defaults filled, with Ganeti's own override of the cache
 * mode under native aio applied. Errors name `hvparams.<key>`.
 *
 * @since 0.2.0
 * @category runtime
 */
export const decodeRuntimeParams = (hvparams: JsonObject): E.Either<DevplanError, Hvparams> => paramsFrom(hvparams)

const paramsFrom = (hvparams: unknown): E.Either<DevplanError, Hvparams> =>
  guarded(() => (isRecord(hvparams) ? paramsOf(hvparams) : E.left(fieldError('hvparams', hvparams, 'expected the hvparams dict of a runtime file'))))

const paramsOf = (hvparams: Readonly<Record<string, unknown>>): E.Either<DevplanError, Hvparams> =>
  pipe(
    HvparamsLenientCodec.decode(hvparams),
    E.mapLeft((errs) => invalidInput(fromValidationErrors(errs).map((e) => ({ ...e, path: `hvparams.${e.path}` })))),
    // Ganeti runs disk_aio=native with any other cache as cache=none ("overriding disk_cache
    // setting … to prevent QEMU failures in version 2.6+"): that is what its instances run with,
    // and QEMU refuses native aio without O_DIRECT.
    E.map((h) => (h.disk_aio === 'native' && h.disk_cache !== 'none' && h.disk_cache !== 'directsync' ? { ...h, disk_cache: 'none' } : h))
  )

/**
 * A runtime from its parts, its hvparams decoded: for callers that build one in memory rather
 * than reading a file.
 *
 * @since 0.2.0
 * @category runtime
 */
export const makeRuntime = (parts: Omit<Runtime, 'params'>): Runtime =>
  // The type has no room for an error: parts that are not an object give a runtime whose params
  // are a Left naming hvparams, which every function taking a runtime then refuses.
  totalOr(
    { cmd: [], nics: [], hvparams: {}, disks: [], stamp: undefined, params: E.left(fieldError('parts', undefined, 'cannot be read as the parts of a runtime')) },
    () => ({ ...parts, params: paramsFrom(prop(parts, 'hvparams')) })
  )
