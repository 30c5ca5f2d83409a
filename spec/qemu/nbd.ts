/**
 * A loopback qemu-nbd for the suites that open NBD exports: started on a unix socket in `dir`,
 * waited for, and stopped (and waited for) whatever the test does.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** Polls `cond` every 20 ms until it holds, or fails naming `what` after `ms`. */
export const waitFor = async (cond: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * qemu-nbd exporting `image` as raw bytes on `<dir>/<socketName>` while `fn` runs; `args` are
 * more options (an export name, TLS credentials, `--read-only`).
 */
export const withNbd = async <T>(dir: string, image: string, fn: (socket: string) => Promise<T>, opts: { readonly args?: ReadonlyArray<string>; readonly socketName?: string } = {}): Promise<T> => {
  const socket = join(dir, opts.socketName ?? 'nbd.sock')
  const child = spawn('qemu-nbd', [...(opts.args ?? []), `--socket=${socket}`, '--format=raw', '--persistent', image], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString()
  })
  let ended = false
  const exited = new Promise<void>((resolve) => {
    const end = (): void => {
      ended = true
      resolve()
    }
    child.once('exit', end)
    child.once('error', (e) => {
      stderr += e.message
      end()
    })
  })
  try {
    await waitFor(() => existsSync(socket) || ended, 5000, 'the qemu-nbd socket')
    if (!existsSync(socket)) throw new Error(`qemu-nbd did not start: ${stderr}`)
    return await fn(socket)
  } finally {
    if (!ended) child.kill('SIGTERM')
    await exited
  }
}
