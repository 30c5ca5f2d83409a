/**
 * A minimal QMP client over a Unix socket, and an {@link Executor} built on it. It lives in
 * `examples/` because the library itself performs no I/O: this is one way a caller can implement
 * the executor contract, and the transport the integration tests use against a real QEMU.
 *
 * @since 0.1.0
 */
import * as net from 'node:net'
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type {
  Executor,
  QmpCommand,
  QmpEvent,
  QmpReply,
  TransportError
} from '../lib/qmp/executor.js'

/**
 * Options of {@link connectQmp}.
 *
 * @since 0.1.0
 */
export interface ConnectOptions {
  /** Delay between attempts while QEMU has not created or not yet accepted on the socket. */
  readonly retryMs?: number
  /** Overall budget for connecting, the greeting and capability negotiation. */
  readonly connectTimeoutMs?: number
  /** Gives up early, e.g. when the QEMU process being waited for has already exited. */
  readonly signal?: AbortSignal
  /**
   * Let the socket hold the Node event loop only while a command is awaiting its reply. Test
   * harnesses want this so that a forgotten VM cannot keep the test process alive; a long-lived
   * event listener does not.
   */
  readonly unrefWhenIdle?: boolean
}

/**
 * A connected QMP session (capabilities already negotiated).
 *
 * @since 0.1.0
 */
export interface QmpClient {
  /** Sends one command; rejects only on transport failure, a QMP error is a resolved reply. */
  readonly execute: (command: string, args?: object) => Promise<QmpReply>
  /** Like `execute` but rejects on a QMP error reply too: assertions in tests read better. */
  readonly executeOk: (command: string, args?: object) => Promise<unknown>
  /** Every event seen since the greeting, in arrival order. */
  readonly events: () => readonly QmpEvent[]
  /** Called for each event as it arrives; returns the unsubscribe function. */
  readonly onEvent: (listener: (event: QmpEvent) => void) => () => void
  /** Called once when the session ends (by `close` or by the peer); returns the unsubscribe. */
  readonly onClose: (listener: (reason: string) => void) => () => void
  /** Why the session ended, or `undefined` while it is open. */
  readonly closedReason: () => string | undefined
  /** Ends the session; resolves once the socket is fully closed. Idempotent. */
  readonly close: () => Promise<void>
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

const errorCode = (e: unknown): string | undefined =>
  isRecord(e) && typeof e['code'] === 'string' ? e['code'] : undefined

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const toEvent = (msg: Record<string, unknown>): QmpEvent | undefined => {
  const event = msg['event']
  if (typeof event !== 'string') return undefined
  const ts = msg['timestamp']
  const seconds = isRecord(ts) && typeof ts['seconds'] === 'number' ? ts['seconds'] : 0
  const microseconds =
    isRecord(ts) && typeof ts['microseconds'] === 'number' ? ts['microseconds'] : 0
  return { event, data: msg['data'], timestamp: { seconds, microseconds } }
}

const toReply = (msg: Record<string, unknown>): QmpReply | undefined => {
  if ('return' in msg) return { _tag: 'Return', value: msg['return'] }
  const err = msg['error']
  if (isRecord(err)) {
    return {
      _tag: 'Error',
      class: typeof err['class'] === 'string' ? err['class'] : 'GenericError',
      desc: typeof err['desc'] === 'string' ? err['desc'] : JSON.stringify(err)
    }
  }
  return undefined
}

/**
 * Splits a stream of text into lines, keeping the unfinished tail: QEMU's JSON messages may be
 * cut anywhere by the socket, including inside a string.
 */
const lineSplitter = (onLine: (line: string) => void): ((chunk: string) => void) => {
  let pending = ''
  return (chunk) => {
    pending += chunk
    let nl = pending.indexOf('\n')
    while (nl >= 0) {
      const line = pending.slice(0, nl).trim()
      pending = pending.slice(nl + 1)
      if (line.length > 0) onLine(line)
      nl = pending.indexOf('\n')
    }
  }
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t)
      resolve()
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/** One connection attempt; ENOENT/ECONNREFUSED are left to the caller to retry. */
const dial = (path: string): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const sock = net.createConnection({ path })
    const onError = (e: Error): void => {
      sock.destroy()
      reject(e)
    }
    sock.once('error', onError)
    sock.once('connect', () => {
      sock.off('error', onError)
      resolve(sock)
    })
  })

const RETRYABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN'])

interface Pending {
  readonly resolve: (reply: QmpReply) => void
  readonly reject: (e: Error) => void
}

/**
 * Connects to QEMU's QMP socket, waits for the greeting and negotiates capabilities. Retries
 * while the socket is not there yet, since QEMU creates it only while parsing its options.
 *
 * @since 0.1.0
 */
export const connectQmp = async (path: string, opts: ConnectOptions = {}): Promise<QmpClient> => {
  const retryMs = opts.retryMs ?? 50
  const timeoutMs = opts.connectTimeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  const signal = opts.signal

  let sock: net.Socket | undefined
  for (;;) {
    if (signal?.aborted === true) throw new Error(`QMP connect to ${path} aborted`)
    try {
      sock = await dial(path)
      break
    } catch (e) {
      const code = errorCode(e)
      if (code === undefined || !RETRYABLE.has(code)) {
        throw new Error(`QMP connect to ${path} failed: ${describe(e)}`)
      }
      if (Date.now() + retryMs > deadline) {
        throw new Error(`QMP connect to ${path} timed out after ${timeoutMs} ms (${code})`)
      }
      await sleep(retryMs, signal)
    }
  }
  const socket = sock
  socket.setEncoding('utf8')

  const events: QmpEvent[] = []
  const eventListeners = new Set<(event: QmpEvent) => void>()
  const closeListeners = new Set<(reason: string) => void>()
  const pending = new Map<number, Pending>()
  let nextId = 1
  let closed: string | undefined
  let greeted: (() => void) | undefined
  let greetingFailed: ((e: Error) => void) | undefined

  // Holding the loop only while replies are owed is what lets a leaked session not pin the process.
  const updateRef = (): void => {
    if (opts.unrefWhenIdle !== true || closed !== undefined) return
    if (pending.size > 0 || greeted !== undefined) socket.ref()
    else socket.unref()
  }

  const finish = (reason: string): void => {
    if (closed !== undefined) return
    closed = reason
    const err = new Error(`QMP session closed: ${reason}`)
    for (const p of pending.values()) p.reject(err)
    pending.clear()
    greetingFailed?.(err)
    for (const l of closeListeners) l(reason)
    closeListeners.clear()
    eventListeners.clear()
  }

  const onMessage = (line: string): void => {
    let msg: unknown
    try {
      msg = JSON.parse(line)
    } catch {
      return // QEMU only writes JSON; a garbled line has no id to blame, so it cannot be routed.
    }
    if (!isRecord(msg)) return
    if ('QMP' in msg) {
      const g = greeted
      greeted = undefined
      g?.()
      return
    }
    const ev = toEvent(msg)
    if (ev !== undefined) {
      events.push(ev)
      for (const l of [...eventListeners]) l(ev)
      return
    }
    const id = msg['id']
    const reply = toReply(msg)
    if (typeof id !== 'number' || reply === undefined) return
    const p = pending.get(id)
    if (p === undefined) return
    pending.delete(id)
    updateRef()
    p.resolve(reply)
  }

  socket.on('data', lineSplitter(onMessage))
  socket.on('error', (e) => finish(`socket error: ${e.message}`))
  socket.on('close', () => finish('socket closed by peer'))

  const execute = (command: string, args?: object): Promise<QmpReply> =>
    new Promise<QmpReply>((resolve, reject) => {
      if (closed !== undefined) {
        reject(new Error(`QMP session closed: ${closed}`))
        return
      }
      const id = nextId++
      const msg = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id }
      pending.set(id, { resolve, reject })
      updateRef()
      socket.write(JSON.stringify(msg) + '\n', (e) => {
        if (e == null) return
        const p = pending.get(id)
        if (p === undefined) return
        pending.delete(id)
        updateRef()
        p.reject(new Error(`QMP write failed: ${e.message}`))
      })
    })

  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      finish('closed by client')
      if (socket.destroyed && socket.closed) {
        resolve()
        return
      }
      socket.once('close', () => resolve())
      socket.destroy()
    })

  const client: QmpClient = {
    execute,
    executeOk: async (command, args) => {
      const reply = await execute(command, args)
      if (reply._tag === 'Error') throw new Error(`${command}: ${reply.class}: ${reply.desc}`)
      return reply.value
    },
    events: () => events,
    onEvent: (listener) => {
      if (closed === undefined) eventListeners.add(listener)
      return () => {
        eventListeners.delete(listener)
      }
    },
    onClose: (listener) => {
      if (closed !== undefined) listener(closed)
      else closeListeners.add(listener)
      return () => {
        closeListeners.delete(listener)
      }
    },
    closedReason: () => closed,
    close
  }

  // The greeting and capabilities share the connect budget: QEMU accepts on the socket before it
  // has finished parsing options and may still exit without ever greeting.
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`QMP greeting on ${path} timed out after ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now())
      )
      const onAbort = (): void => reject(new Error(`QMP connect to ${path} aborted`))
      signal?.addEventListener('abort', onAbort, { once: true })
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      greeted = () => {
        done()
        resolve()
      }
      greetingFailed = (e) => {
        done()
        reject(e)
      }
      if (closed !== undefined) greetingFailed(new Error(`QMP session closed: ${closed}`))
    })
    greetingFailed = undefined
    await client.executeOk('qmp_capabilities')
  } catch (e) {
    greeted = undefined
    greetingFailed = undefined
    await close()
    throw e instanceof Error ? e : new Error(describe(e))
  }
  updateRef()
  return client
}

const transportError = (message: string): TransportError => ({ _tag: 'TransportError', message })

/**
 * Adapts a {@link QmpClient} to the library's {@link Executor} contract. Failures of the socket
 * become `Left`; nothing here throws.
 *
 * @since 0.1.0
 */
export const toExecutor = (client: QmpClient): Executor => {
  // Index into the event buffer at the moment the latest send was issued: waitEvent looks from
  // there, so an event that raced ahead of the caller's waitEvent call is still found.
  let cursor = client.events().length

  const send =
    (command: QmpCommand, fd?: number): TE.TaskEither<TransportError, QmpReply> =>
    async () => {
      if (fd !== undefined) {
        return E.left(
          transportError(
            `cannot pass file descriptor '${fd}' with ${command.execute}: Node's net module cannot ` +
              'send file descriptors over a Unix socket (SCM_RIGHTS) without a native module, ' +
              'so fd steps are refused by this transport'
          )
        )
      }
      cursor = client.events().length
      try {
        return E.right(await client.execute(command.execute, command.arguments))
      } catch (e) {
        return E.left(transportError(describe(e)))
      }
    }

  const waitEvent =
    (
      predicate: (event: QmpEvent) => boolean,
      timeoutMs: number
    ): TE.TaskEither<TransportError, O.Option<QmpEvent>> =>
    () =>
      new Promise((resolve) => {
        // A throwing predicate is the caller's bug, but it must surface as a Left rather than as
        // an exception inside the socket's data handler.
        const matches = (ev: QmpEvent): E.Either<TransportError, boolean> => {
          try {
            return E.right(predicate(ev))
          } catch (e) {
            return E.left(transportError(`waitEvent predicate threw: ${describe(e)}`))
          }
        }
        for (const ev of client.events().slice(cursor)) {
          const m = matches(ev)
          if (E.isLeft(m)) return resolve(m)
          if (m.right) return resolve(E.right(O.some(ev)))
        }
        const closedReason = client.closedReason()
        if (closedReason !== undefined) {
          return resolve(E.left(transportError(`QMP session closed: ${closedReason}`)))
        }
        const settle = (result: E.Either<TransportError, O.Option<QmpEvent>>): void => {
          clearTimeout(timer)
          offEvent()
          offClose()
          resolve(result)
        }
        const timer = setTimeout(() => settle(E.right(O.none)), timeoutMs)
        const offEvent = client.onEvent((ev) => {
          const m = matches(ev)
          if (E.isLeft(m)) settle(m)
          else if (m.right) settle(E.right(O.some(ev)))
        })
        const offClose = client.onClose((reason) =>
          settle(E.left(transportError(`QMP session closed: ${reason}`)))
        )
      })

  return { send, waitEvent }
}
